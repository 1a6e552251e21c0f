"""shared/paging.py: the keyset cursor of the lists (issue 20)."""
import base64
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from shared.errors import ValidationFailed
from shared.paging import after, decode_cursor, encode_cursor, page_of

AT = dt.datetime(2026, 6, 1, 8, 0, 0, 123456, tzinfo=dt.timezone.utc)


def b64(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_a_cursor_holds_the_last_key_and_reads_back():
    assert decode_cursor(encode_cursor(AT, "abc")) == (AT, "abc")          # microseconds kept
    assert decode_cursor(encode_cursor(41), ("seq",)) == 41
    assert decode_cursor(None) is None
    shifted = dt.datetime(2026, 6, 1, 16, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert decode_cursor(encode_cursor(shifted, "abc")) == (AT, "abc")     # the same instant, in UTC


@pytest.mark.parametrize("cursor, kinds", [
    ("not a cursor", ("time", "id")), ("%%%", ("time", "id")), ("", ("time", "id")), ("x" * 300, ("time", "id")),
    (b64(["2026-06-01T08:00:00Z"]), ("time", "id")),                       # a part missing
    (b64(["2026-06-01T08:00:00", "abc"]), ("time", "id")),                 # no zone
    (b64(["yesterday", "abc"]), ("time", "id")), (b64(["2026-06-01T08:00:00Z", ""]), ("time", "id")),
    (b64(["2026-06-01T08:00:00Z", 7]), ("time", "id")), (b64({"a": 1}), ("time", "id")),
    (b64([-1]), ("seq",)), (b64(["1"]), ("seq",)), (b64([True]), ("seq",)), (b64([2 ** 63]), ("seq",)),
    (12, ("seq",)),
])
def test_a_cursor_the_list_did_not_give_is_a_400_naming_cursor(cursor, kinds):
    with pytest.raises(ValidationFailed) as err:
        decode_cursor(cursor, kinds, rule="A1")
    assert (err.value.field, err.value.rule, err.value.status) == ("cursor", "A1", 400)


def test_a_page_asks_one_row_more_so_the_end_is_known():
    rows = [(i, f"id{i}") for i in range(5)]
    page, cursor = page_of(rows, 4, lambda r: r)
    assert page == rows[:4] and decode_cursor(cursor, ("seq", "id")) == (3, "id3")
    assert page_of(rows[:4], 4, lambda r: r) == (rows[:4], None)
    assert page_of([], 4, lambda r: r) == ([], None)


def test_after_bounds_the_index_range_by_the_time_and_orders_ties_by_id():
    t = sa.table("t", sa.column("at"), sa.column("id"))
    text = str(after(t.c.at, t.c.id, (AT, "abc")).compile(compile_kwargs={"literal_binds": False}))
    assert text.startswith("t.at <= :at_1 AND (t.at < :at_2 OR t.id > :id_1)")
