"""marshmallow schemas of the archive's RPC arguments and of the events it consumes."""
from marshmallow import INCLUDE, Schema, fields, validate

ID = validate.Length(min=1, max=64)
OUTCOMES = ("passed", "failed", "deferred")
METHODS = ("oral", "show_of_hands", "named", "secret")


class MemberIn(Schema):
    class Meta:
        unknown = INCLUDE

    person_id = fields.String(required=True, validate=ID)
    presence = fields.String(required=True, validate=validate.OneOf(("present", "leave", "absent")))
    reserved_opinion = fields.String(load_default=None, allow_none=True)    # V6, A1
    written_opinion = fields.String(load_default=None, allow_none=True)     # M9, A1


class ResultDecidedData(Schema):
    """``voting.result_decided`` data: what A1 needs to keep a decision (V9 tally, V6 opinions).

    Other fields are kept as sent: the archive stores the whole ``data``.
    """
    class Meta:
        unknown = INCLUDE

    decision_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    n = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    present = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    yes = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    no = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    abstain = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    members = fields.List(fields.Nested(MemberIn), required=True)


class OrgIn(Schema):
    org_id = fields.String(required=True, validate=ID)


class ListIn(Schema):
    org_id = fields.String(required=True, validate=ID)
    limit = fields.Integer(load_default=50, strict=True, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))


class RecordIdIn(Schema):
    record_id = fields.String(required=True, validate=ID)


class SourceIn(Schema):
    source_event_id = fields.String(required=True, validate=ID)


class DecisionIdIn(Schema):
    decision_id = fields.String(required=True, validate=ID)
