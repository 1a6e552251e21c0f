"""Time in UTC (ARCHITECTURE §Time); the 48 h / 24 h rules compare instants.

``now()`` is the suite's clock for its timing rules (M5 notice and opening, the
24 h objection window, …).  It is the wall clock, unless the setting
``CONTROLLED_CLOCK_FILE`` names a file: then ``now()`` is the wall clock plus the
number of seconds written in that file (missing or empty file: 0).  Tests and
acceptance runs move time forward with ``advance()`` (in process) or by writing
the file (services run as processes read it on every call), so the 48 h, 24 h,
monthly and yearly rules run end to end in seconds.  ``deploy/`` never sets it:
in production the clock cannot be moved.
"""
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

CONTROLLED_CLOCK_SETTING = "CONTROLLED_CLOCK_FILE"


def utcnow():
    return datetime.now(timezone.utc)


def _clock_file():
    path = os.environ.get(CONTROLLED_CLOCK_SETTING)
    return Path(path) if path else None


def offset():
    """Seconds the controlled clock is ahead of the wall clock (0 when it is not enabled)."""
    path = _clock_file()
    if path is None:
        return 0.0
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return 0.0
    return float(text) if text else 0.0


def now():
    """The suite's current instant (aware UTC): the wall clock, moved only when enabled."""
    moved = offset()
    return utcnow() + timedelta(seconds=moved) if moved else utcnow()


def advance(delta):
    """Move the controlled clock forward by ``delta`` (a timedelta) -> the new ``now()``.

    Refused unless ``CONTROLLED_CLOCK_FILE`` is set, so production code cannot move time."""
    path = _clock_file()
    if path is None:
        raise RuntimeError(f"the clock is controlled only when {CONTROLLED_CLOCK_SETTING} is set")
    if delta < timedelta(0):
        raise ValueError("the clock only moves forward")
    moved = offset() + delta.total_seconds()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(repr(moved), encoding="ascii")
    tmp.replace(path)         # atomic: a reader sees the old or the new offset, never half of it
    return now()


def as_utc(value):
    """Aware UTC datetime from an aware or naive (taken as UTC) datetime."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def iso(value):
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None
