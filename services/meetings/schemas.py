"""marshmallow schemas of the meetings RPC payloads (also used by the gateway's OpenAPI)."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.meetings.domain import (DL_STEPS, DOCUMENT_KINDS, END_REASONS, GROUP_ROLES, MEETING_KINDS, PREPARERS,
                                      STAFF_ROLES, TOPIC_CATEGORIES)
from shared.validation import Line

NAME = validate.Length(min=1, max=200)
ID = validate.Length(min=1, max=64)


class OrganizationIn(Schema):
    name = Line(required=True, validate=NAME)
    timezone = fields.String(load_default="Asia/Shanghai", validate=validate.Length(min=1, max=64))
    org_id = fields.String(load_default=None, validate=ID)


class PersonIn(Schema):
    name = Line(required=True, validate=NAME)
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
    title = Line(required=True, validate=validate.Length(min=1, max=300))
    scheduled_at = fields.AwareDateTime(required=True)
    delegate_to = fields.String(load_default=None, validate=ID)
    theme = Line(load_default=None, validate=validate.Length(min=1, max=300))   # M11
    # M6: why the meeting cannot wait for a 48 h notice (required for an emergency meeting)
    emergency_reason = fields.String(load_default=None, validate=validate.Length(max=5000))


class EndTermIn(Schema):
    """§二: an appointment ends on a day (inclusive) for a reason; it is never deleted."""
    end_date = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(END_REASONS))


TEXT = validate.Length(min=1, max=20000)


class PrecoordinationIn(Schema):
    """M3: the leader in charge's pre-coordination of a broad/major topic."""
    leader_person_id = fields.String(required=True, validate=ID)
    with_whom = fields.List(Line(validate=NAME), required=True, validate=validate.Length(min=1))
    outcome = fields.String(required=True, validate=TEXT)


class PreparationIn(Schema):
    """M3 (§三(二), §二(五)): the preparation record of a major-decision topic."""
    research = fields.String(required=True, validate=TEXT)
    opinions_from = fields.List(Line(validate=NAME), required=True, validate=validate.Length(min=1))
    risk_assessment = fields.String(required=True, validate=TEXT)
    legal_review = fields.String(required=True, validate=TEXT)
    subordinate_opinion = fields.String(load_default=None, validate=validate.Length(max=20000))


class TopicIn(Schema):
    title = Line(required=True, validate=validate.Length(min=1, max=300))
    category = fields.String(required=True, validate=validate.OneOf(TOPIC_CATEGORIES))
    description = fields.String(load_default=None, validate=validate.Length(max=20000))
    broad = fields.Boolean(load_default=False)                         # M3: needs pre-coordination
    prepared_by = fields.String(load_default=None, validate=validate.OneOf(PREPARERS))
    candidate_person_ids = fields.List(fields.String(validate=ID), load_default=list,
                                       validate=validate.Length(max=50))   # V4: one topic per candidate
    subordinate_org = Line(load_default=None, validate=NAME)
    precoordination = fields.Nested(PrecoordinationIn, load_default=None)
    preparation = fields.Nested(PreparationIn, load_default=None)


class DecideTopicIn(Schema):
    accept = fields.Boolean(required=True)
    reason = fields.String(load_default=None, validate=validate.Length(max=5000))
    meeting_id = fields.String(load_default=None, validate=ID)


class MaterialIn(Schema):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_type = fields.String(required=True, validate=validate.Length(min=1, max=120))
    content_base64 = fields.String(required=True, validate=validate.Length(min=1, max=15 * 1024 * 1024))


class ObjectionIn(Schema):
    text = fields.String(required=True, validate=TEXT)
    topic_id = fields.String(load_default=None, validate=ID)


class ObjectionDispositionIn(Schema):
    """M5: the chair's answer to an objection."""
    disposition = fields.String(required=True, validate=validate.OneOf(("accepted", "not_accepted")))
    reply = fields.String(required=True, validate=TEXT)


class LeaveRequestIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    opinions = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(max=5000)),
                           load_default=dict)


class LeaveDecisionIn(Schema):
    approve = fields.Boolean(required=True)
    reason = fields.String(load_default=None, validate=validate.Length(max=5000))


class ProvisionalIn(Schema):
    org_id = fields.String(required=True, validate=ID)
    title = Line(required=True, validate=validate.Length(min=1, max=300))
    description = fields.String(required=True, validate=TEXT)
    # M6: no approver is typed in; the secretary approves by acting (approve_provisional_handling)


class ObserverIn(Schema):
    """M7: a registered person (``person_id``), or for an expanded meeting someone from outside the
    bureau named here (``name``, with their unit), registered as a person by the invitation."""
    person_id = fields.String(load_default=None, validate=ID)
    name = Line(load_default=None, validate=NAME)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _one_of(self, data, **kwargs):
        if (data.get("person_id") is None) == (data.get("name") is None):
            raise ValidationError("give either person_id (a registered person) or name (someone from outside "
                                  "the bureau, expanded meetings only), not both", field_name="person_id")


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class RescheduleIn(Schema):
    scheduled_at = fields.AwareDateTime(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class MinutesIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=500000))


class DocumentIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(DOCUMENT_KINDS))
    title = Line(required=True, validate=validate.Length(min=1, max=300))
    body = fields.String(required=True, validate=validate.Length(min=1, max=500000))
    scope = fields.List(Line(validate=NAME), required=True, validate=validate.Length(min=1))


class DemocraticLifeStepIn(Schema):
    step = fields.String(required=True, validate=validate.OneOf(DL_STEPS))
    text = fields.String(required=True, validate=TEXT)
    person_id = fields.String(load_default=None, validate=ID)
    data = fields.Dict(load_default=dict)


class CompletionIn(Schema):
    text = fields.String(required=True, validate=TEXT)


class LeaveIn(Schema):
    person_id = fields.String(required=True, validate=ID)
    # M9: an opinion per topic, written or oral (recorded as text)
    opinions = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(max=5000)),
                           load_default=dict)


class OpenIn(Schema):
    present = fields.List(fields.String(validate=ID), required=True)
    leave = fields.List(fields.Nested(LeaveIn), load_default=list)
