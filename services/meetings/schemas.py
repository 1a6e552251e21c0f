"""marshmallow schemas of the meetings RPC payloads (also used by the gateway's OpenAPI)."""
from marshmallow import Schema, fields, validate

from services.meetings.domain import GROUP_ROLES, MEETING_KINDS, STAFF_ROLES, TOPIC_CATEGORIES

NAME = validate.Length(min=1, max=200)
ID = validate.Length(min=1, max=64)


class OrganizationIn(Schema):
    name = fields.String(required=True, validate=NAME)
    timezone = fields.String(load_default="Asia/Shanghai", validate=validate.Length(min=1, max=64))
    org_id = fields.String(load_default=None, validate=ID)


class PersonIn(Schema):
    name = fields.String(required=True, validate=NAME)
    person_id = fields.String(load_default=None, validate=ID)


class AppointmentIn(Schema):
    org_id = fields.String(required=True, validate=ID)
    person_id = fields.String(required=True, validate=ID)
    role = fields.String(required=True, validate=validate.OneOf(GROUP_ROLES + STAFF_ROLES))
    start_date = fields.Date(required=True)
    end_date = fields.Date(load_default=None)
    division_of_work = fields.String(load_default=None, validate=validate.Length(max=2000))


class MeetingIn(Schema):
    org_id = fields.String(required=True, validate=ID)
    kind = fields.String(required=True, validate=validate.OneOf(MEETING_KINDS))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    scheduled_at = fields.AwareDateTime(required=True)
    delegate_to = fields.String(load_default=None, validate=ID)


class TopicIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    category = fields.String(required=True, validate=validate.OneOf(TOPIC_CATEGORIES))


class LeaveIn(Schema):
    person_id = fields.String(required=True, validate=ID)
    # M9: an opinion per topic, written or oral (recorded as text)
    opinions = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(max=5000)),
                           load_default=dict)


class OpenIn(Schema):
    present = fields.List(fields.String(validate=ID), required=True)
    leave = fields.List(fields.Nested(LeaveIn), load_default=list)
