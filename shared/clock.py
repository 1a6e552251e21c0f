"""Time in UTC (ARCHITECTURE §Time); the 48 h / 24 h rules compare instants."""
from datetime import datetime, timezone


def utcnow():
    return datetime.now(timezone.utc)


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
