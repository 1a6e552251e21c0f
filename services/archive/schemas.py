"""marshmallow schemas of the archive's RPC arguments and of the events it consumes."""
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.archive.domain import CLASSIFICATIONS, HASH_ALGORITHMS, RECORD_KINDS

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


class AgendaItemIn(Schema):
    class Meta:
        unknown = INCLUDE

    topic_id = fields.String(load_default=None, allow_none=True, validate=ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    category = fields.String(load_default=None, allow_none=True)


class MeetingNoticedData(Schema):
    """``meetings.meeting_noticed`` data: the notice with its agenda (A1, M5).

    Other fields are kept as sent: the archive stores the whole ``data``.
    """
    class Meta:
        unknown = INCLUDE

    meeting_id = fields.String(required=True, validate=ID)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=20))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    scheduled_at = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agenda = fields.List(fields.Nested(AgendaItemIn), required=True)
    recipients = fields.List(fields.String(validate=ID), required=True)


class OrgIn(Schema):
    org_id = fields.String(required=True, validate=ID)


class PageIn(Schema):
    org_id = fields.String(required=True, validate=ID)
    limit = fields.Integer(load_default=50, strict=True, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=2 ** 31 - 1))


class ListIn(PageIn):
    """A1 search: by kind, meeting, archiving date (inclusive, UTC) and person named."""
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RECORD_KINDS))
    meeting_id = fields.String(load_default=None, allow_none=True, validate=ID)
    date_from = fields.Date(load_default=None, allow_none=True)
    date_to = fields.Date(load_default=None, allow_none=True)
    person_id = fields.String(load_default=None, allow_none=True, validate=ID)

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("must not be after date_to", field_name="date_from")


class CorrectionIn(Schema):
    """A1: a correction's new content and why; the classification may change with it (A3)."""
    content = fields.Dict(required=True, keys=fields.String())
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    classification = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(CLASSIFICATIONS))


class AlgorithmIn(Schema):
    org_id = fields.String(required=True, validate=ID)
    algorithm = fields.String(required=True, validate=validate.OneOf(HASH_ALGORITHMS))


class RecordIdIn(Schema):
    record_id = fields.String(required=True, validate=ID)


class SourceIn(Schema):
    source_event_id = fields.String(required=True, validate=ID)


class DecisionIdIn(Schema):
    decision_id = fields.String(required=True, validate=ID)


class TransferIn(Schema):
    org_id = fields.String(required=True, validate=ID)
    year = fields.Integer(required=True, strict=True)


class ConsistencyIn(Schema):
    org_id = fields.String(required=True, validate=ID)
    first_seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    second_seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
