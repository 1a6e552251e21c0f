"""marshmallow schemas of the events notifications consumes (SPEC §4)."""
from marshmallow import EXCLUDE, Schema, fields, validate

ID = validate.Length(min=1, max=64)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE   # producers may add fields in a compatible version


class AgendaItemIn(_Lenient):
    topic_id = fields.String(load_default=None, allow_none=True, validate=ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    category = fields.String(load_default=None, allow_none=True)


class MeetingNoticedIn(_Lenient):
    """``meetings.meeting_noticed`` data (M5, N1)."""
    meeting_id = fields.String(required=True, validate=ID)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=20))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    scheduled_at = fields.AwareDateTime(required=True)
    noticed_at = fields.AwareDateTime(load_default=None, allow_none=True)
    objection_deadline = fields.AwareDateTime(load_default=None, allow_none=True)
    chair_person_id = fields.String(load_default=None, allow_none=True, validate=ID)
    agenda = fields.List(fields.Nested(AgendaItemIn), load_default=list)
    recipients = fields.List(fields.String(validate=ID), required=True)
