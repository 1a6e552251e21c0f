"""marshmallow schemas of the events accountability consumes (SPEC §4)."""
from marshmallow import EXCLUDE, Schema, fields, validate

from services.accountability.domain import METHODS, OUTCOMES, PRESENCES, STANCES

ID = validate.Length(min=1, max=64)
COUNT = validate.Range(min=0)
OPINION = validate.Length(max=5000)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE   # producers may add fields in a compatible version


class ResultMemberIn(_Lenient):
    person_id = fields.String(required=True, validate=ID)
    presence = fields.String(required=True, validate=validate.OneOf(PRESENCES))
    voted = fields.Boolean(load_default=False)
    stance = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STANCES))
    reserved_opinion = fields.String(load_default=None, allow_none=True, validate=OPINION)
    written_opinion = fields.String(load_default=None, allow_none=True, validate=OPINION)


class ResultDecidedIn(_Lenient):
    """``voting.result_decided`` data (V9, C1)."""
    decision_id = fields.String(required=True, validate=ID)
    ballot_id = fields.String(load_default=None, allow_none=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    agenda_item_id = fields.String(load_default=None, allow_none=True, validate=ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    emergency = fields.Boolean(load_default=False)
    n = fields.Integer(required=True, strict=True, validate=COUNT)
    present = fields.Integer(required=True, strict=True, validate=COUNT)
    yes = fields.Integer(required=True, strict=True, validate=COUNT)
    no = fields.Integer(required=True, strict=True, validate=COUNT)
    abstain = fields.Integer(required=True, strict=True, validate=COUNT)
    threshold = fields.Raw(load_default=None, allow_none=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    superseded_decision_id = fields.String(load_default=None, allow_none=True, validate=ID)
    decided_at = fields.AwareDateTime(required=True)
    members = fields.List(fields.Nested(ResultMemberIn), required=True)
