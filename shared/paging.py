"""Keyset paging: an opaque cursor for lists that grow for decades.

A list ordered by ``(time DESC, id)`` pages by the last key seen, not by an offset:
the database walks its index from that key, so page 1,000 costs what page 1 costs,
and a row added meanwhile neither repeats nor skips a row.

The cursor is URL-safe base64 (no padding) of the JSON sort key of the last row of a page
(``[iso time, id]``, or ``[seq]`` for a list in chain order).  It is opaque to callers:
they pass back the ``next_cursor`` the previous page gave.  Anything else is refused with
a 400 naming ``cursor``.
"""
import base64
import binascii
import datetime as dt
import json

import sqlalchemy as sa

from shared.clock import as_utc, iso
from shared.errors import ValidationFailed

MAX_CURSOR = 200            # characters; a cursor this code makes is well under it


def encode_cursor(*key):
    """The cursor after a row whose sort key is ``key`` (datetimes, ids, sequence numbers)."""
    raw = json.dumps([iso(v) if isinstance(v, dt.datetime) else v for v in key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, kinds=("time", "id"), rule=None, field="cursor"):
    """The key a cursor holds, None for no cursor; ``kinds`` names each part: ``time`` (an aware
    UTC datetime), ``id`` (a non-empty string) or ``seq`` (an integer >= 0).  A cursor this module
    did not make for such a key is a ValidationFailed naming ``field``."""
    if cursor is None:
        return None
    try:
        if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR:
            raise ValueError(cursor)
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError(cursor)
        key = tuple(_PARTS[kind](part) for kind, part in zip(kinds, parts))
        return key[0] if len(key) == 1 else key
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        prefix = f"{rule}: " if rule else ""
        raise ValidationFailed(f"{prefix}{field}: not a cursor this list gave", field=field, rule=rule) from None


def _time(part):
    if not isinstance(part, str):
        raise ValueError(part)
    moment = dt.datetime.fromisoformat(part.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(part)
    return as_utc(moment)


def _id(part):
    if not isinstance(part, str) or not part:
        raise ValueError(part)
    return part


def _seq(part):
    if not isinstance(part, int) or isinstance(part, bool) or not 0 <= part < 2 ** 63:
        raise ValueError(part)
    return part


_PARTS = {"time": _time, "id": _id, "seq": _seq}


def after(time_col, id_col, key):
    """The rows after ``key`` in ``(time_col DESC, id_col ASC)`` order.

    ``time_col <= at`` is stated on its own so that the database bounds its index range
    scan by it; the OR only sorts out the rows that share the cursor's time."""
    at, row_id = key
    return sa.and_(time_col <= at, sa.or_(time_col < at, id_col > row_id))


def page_of(rows, limit, key_of):
    """(the page, its ``next_cursor``) from up to ``limit + 1`` rows (the statement asks one
    more than it shows, so the cursor is None exactly at the end, never on an empty page);
    ``key_of(row)`` is the row's sort key as a tuple."""
    rows = list(rows)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(*key_of(rows[-1]))


SEARCH_LIMIT = 20           # matches per kind a search returns


SEARCH_MAX = 100            # characters of a search text


def search_text(text):
    """The text searched for, stripped; a 400 naming ``q`` when it is not 1–100 characters."""
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= SEARCH_MAX:
        raise ValidationFailed(f"q: the text to search for, 1 to {SEARCH_MAX} characters", field="q")
    return text.strip()


def contains(column, text):
    """``column`` contains ``text`` literally (case-insensitive for Latin letters): the search of
    titles (issue 19).  ``%``, ``_`` and ``\\`` in the text are matched as themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
