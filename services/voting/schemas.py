"""marshmallow schemas of the voting RPC payloads and of the events it publishes."""
from marshmallow import EXCLUDE, Schema, fields, validate

from services.voting.domain import CHOICES, METHODS, OPINION_MAX, OUTCOMES, PRESENCES

ID = validate.Length(min=1, max=64)
COUNT = validate.Range(min=0)


# ---------------------------------------------------------------- RPC input

class OpenBallotIn(Schema):
    meeting_id = fields.String(required=True, validate=ID)
    topic_id = fields.String(required=True, validate=ID)
    method = fields.String(load_default="named", validate=validate.OneOf(METHODS))   # V2


class CastVoteIn(Schema):
    choice = fields.String(required=True, validate=validate.OneOf(CHOICES))          # V2
    reserved_opinion = fields.String(load_default=None, allow_none=True,
                                     validate=validate.Length(max=OPINION_MAX))      # V6


# ---------------------------------------------------------------- the meetings snapshot (RPC answer)

class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class SnapshotMember(_Lenient):
    person_id = fields.String(required=True, validate=ID)
    role = fields.String(load_default="member", allow_none=True)
    presence = fields.String(required=True, validate=validate.OneOf(PRESENCES))
    written_opinion = fields.String(load_default=None, allow_none=True)


class SnapshotTopic(_Lenient):
    topic_id = fields.String(required=True, validate=ID)
    title = fields.String(required=True)
    category = fields.String(required=True)


class AttendanceSnapshot(_Lenient):
    org_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    emergency = fields.Boolean(required=True)
    chair_person_id = fields.String(required=True, validate=ID)
    topic = fields.Nested(SnapshotTopic, required=True)
    n = fields.Integer(required=True, allow_none=True, strict=True)
    present = fields.Integer(load_default=None, allow_none=True)
    members = fields.List(fields.Nested(SnapshotMember), required=True)


# ---------------------------------------------------------------- events (SPEC §4, voting.events)

class BallotOpenedData(Schema):
    ballot_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    agenda_item_id = fields.String(required=True, validate=ID)
    title = fields.String(required=True)
    category = fields.String(required=True)
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    n = fields.Integer(required=True, strict=True, validate=COUNT)
    present = fields.Integer(required=True, strict=True, validate=COUNT)
    eligible = fields.List(fields.String(validate=ID), required=True)


class BallotClosedData(Schema):
    ballot_id = fields.String(required=True, validate=ID)
    decision_id = fields.String(required=True, validate=ID)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))


class ResultMember(Schema):
    person_id = fields.String(required=True, validate=ID)
    presence = fields.String(required=True, validate=validate.OneOf(PRESENCES))
    voted = fields.Boolean(required=True)
    stance = fields.String(required=True, allow_none=True, validate=validate.OneOf(CHOICES))   # null if secret (V8)
    reserved_opinion = fields.String(required=True, allow_none=True)                          # V6
    written_opinion = fields.String(required=True, allow_none=True)                           # M9


class ResultDecidedData(Schema):
    """``voting.result_decided`` data, the contract with archive and accountability."""
    decision_id = fields.String(required=True, validate=ID)
    ballot_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    agenda_item_id = fields.String(required=True, validate=ID)
    title = fields.String(required=True)
    category = fields.String(required=True)
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    emergency = fields.Boolean(required=True)
    n = fields.Integer(required=True, strict=True, validate=COUNT)
    present = fields.Integer(required=True, strict=True, validate=COUNT)
    yes = fields.Integer(required=True, strict=True, validate=COUNT)
    no = fields.Integer(required=True, strict=True, validate=COUNT)
    abstain = fields.Integer(required=True, strict=True, validate=COUNT)
    threshold = fields.Integer(required=True, strict=True, validate=COUNT)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    superseded_decision_id = fields.String(required=True, allow_none=True, validate=ID)
    decided_at = fields.String(required=True)
    members = fields.List(fields.Nested(ResultMember), required=True)
