"""Issue 17, defect 4: bad text and dates are refused at the edge, by ``shared.validation.load``
(which the gateway and every service use), with a ValidationFailed naming the field."""
import pytest
from marshmallow import Schema, fields

from services.gateway import schemas as gateway_schemas
from services.meetings import schemas as meetings_schemas
from shared.errors import ValidationFailed
from shared.validation import DATE_MAX, DATE_MIN, Line, load


class Inner(Schema):
    label = Line(required=True)
    when = fields.Date(load_default=None)


class Sample(Schema):
    title = Line(required=True)
    note = fields.String(load_default=None)
    on = fields.Date(load_default=None, data_key="from")
    at = fields.AwareDateTime(load_default=None)
    inner = fields.Nested(Inner, load_default=None)
    tags = fields.List(fields.String(), load_default=list)
    extra = fields.Dict(load_default=dict)


def refused(data, field, schema=Sample):
    with pytest.raises(ValidationFailed) as info:
        load(schema(), data)
    assert info.value.field == field, info.value.to_dict()
    assert info.value.status == 400
    return info.value


@pytest.mark.parametrize("data,field", [
    ({"title": "a\ud800b"}, "title"),
    ({"title": "ok", "note": "x\udfff"}, "note"),
    ({"title": "ok", "tags": ["fine", "\ud83d"]}, "tags.1"),
    ({"title": "ok", "inner": {"label": "\udc00"}}, "inner.label"),
    ({"title": "ok", "extra": {"k\ud800": "v"}}, "extra"),
    ({"title": "ok", "extra": {"k": {"deep": "\ud800"}}}, "extra.k.deep"),
])
def test_a_lone_surrogate_anywhere_names_its_field(data, field):
    error = refused(data, field)
    assert "surrogate" in error.message


def test_a_nul_or_a_control_character_in_any_text_names_its_field():
    assert "NUL" in refused({"title": "ok", "note": "a\x00b"}, "note").message
    refused({"title": "ok", "note": "bell\x07"}, "note")
    refused({"title": "ok", "note": "c1\x85"}, "note")
    # line breaks and tabs are fine in multi-line text
    assert load(Sample(), {"title": "ok", "note": "line one\nline two\r\n\tindented"})["note"].startswith("line")


@pytest.mark.parametrize("title", ["two\nlines", "tab\there", "\u202eevil", "iso\u2066late\u2069", "rlm\u200f",
                                   "alm\u061c", "sep\u2028", "zw\u200bj"])
def test_one_line_fields_refuse_line_breaks_and_bidirectional_controls(title):
    refused({"title": title}, "title")
    refused({"title": "ok", "inner": {"label": title}}, "inner.label")


def test_ordinary_names_and_titles_pass():
    for title in ("关于2026年度预算的议题", "Ärzte & Co. — Q1 (draft)", "עברית ו-English", "emoji 🗳 ok"):
        assert load(Sample(), {"title": title})["title"] == title


@pytest.mark.parametrize("data,field", [
    ({"title": "ok", "from": "9999-12-31"}, "from"),
    ({"title": "ok", "from": "1000-01-01"}, "from"),
    ({"title": "ok", "at": "9999-12-31T23:59:59+00:00"}, "at"),
    ({"title": "ok", "at": "0001-01-01T00:00:00+00:00"}, "at"),
    ({"title": "ok", "inner": {"label": "x", "when": "9999-12-31"}}, "inner.when"),
])
def test_dates_outside_the_sane_range_are_refused(data, field):
    error = refused(data, field)
    assert str(DATE_MIN.year) in error.message and str(DATE_MAX.year) in error.message


def test_dates_inside_the_range_pass():
    out = load(Sample(), {"title": "ok", "from": "2026-05-01", "at": "2199-12-31T08:00:00+08:00"})
    assert out["on"].year == 2026 and out["at"].year == 2199


def test_the_services_schemas_mark_titles_and_names_one_line():
    """The request schemas the gateway and the meetings service share: titles and names are Line."""
    refused({"kind": "emergency", "title": "\u202e", "scheduled_at": "2030-01-01T10:00:00+00:00"}, "title",
            schema=gateway_schemas.MeetingBody)
    refused({"title": "a\nb", "category": "other"}, "title", schema=meetings_schemas.TopicIn)
    refused({"name": "张\u202e三"}, "name", schema=meetings_schemas.PersonIn)
    refused({"name": "局\u0007"}, "name", schema=meetings_schemas.OrganizationIn)
    refused({"kind": "emergency", "title": "t", "scheduled_at": "9999-12-31T10:00:00+00:00"}, "scheduled_at",
            schema=gateway_schemas.MeetingBody)
    refused({"username": "\ud800", "password": "x"}, "username", schema=gateway_schemas.LoginIn)
    refused({"username": "u", "password": "\ud800"}, "password", schema=gateway_schemas.LoginIn)
