"""Keyset paging: an opaque cursor for lists that grow for decades.

A list ordered by ``(time DESC, id)`` pages by the last key seen, not by an offset:
the database walks its index from that key, so page 1,000 costs what page 1 costs,
and a row added meanwhile neither repeats nor skips a row.

The cursor is URL-safe base64 (no padding) of the JSON ``[iso time, id]`` of the last
row of a page.  It is opaque to callers: they pass back the ``next_cursor`` the
previous page gave.  Anything else is refused with a 400 naming ``cursor``.
"""
import base64
import binascii
import datetime as dt
import json

import sqlalchemy as sa

from shared.clock import as_utc, iso
from shared.errors import ValidationFailed

MAX_CURSOR = 200            # characters; a cursor this code makes is well under it


def encode_cursor(at, row_id):
    """The cursor after a row whose key is (``at``, ``row_id``)."""
    raw = json.dumps([iso(at), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, rule=None, field="cursor"):
    """(aware UTC datetime, id) from a cursor, None for no cursor; a cursor this module did
    not make is a ValidationFailed naming ``field``."""
    if cursor is None:
        return None
    try:
        if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        if not isinstance(at, str) or not isinstance(row_id, str) or not row_id:
            raise ValueError(cursor)
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError(cursor)
        return as_utc(moment), row_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        prefix = f"{rule}: " if rule else ""
        raise ValidationFailed(f"{prefix}{field}: not a cursor this list gave", field=field, rule=rule) from None


def after(time_col, id_col, key):
    """The rows after ``key`` in ``(time_col DESC, id_col ASC)`` order.

    ``time_col <= at`` is stated on its own so that the database bounds its index range
    scan by it; the OR only sorts out the rows that share the cursor's time."""
    at, row_id = key
    return sa.and_(time_col <= at, sa.or_(time_col < at, id_col > row_id))


def page_of(rows, limit, time_of, id_of):
    """(the page, its ``next_cursor``) from up to ``limit + 1`` rows (the statement asks one
    more than it shows, so the cursor is None exactly at the end, never on an empty page)."""
    rows = list(rows)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(time_of(rows[-1]), id_of(rows[-1]))
