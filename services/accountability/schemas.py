"""marshmallow schemas of the events accountability consumes (SPEC §4) and of its commands."""
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from services.accountability.domain import DUTY_KINDS, METHODS, OUTCOMES, PRESENCES, STANCES

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
    # V7: the secretary's approval of the reconsideration, when the producer reports it
    reconsideration_approved = fields.Boolean(load_default=False)
    reconsideration_approved_by = fields.String(load_default=None, allow_none=True, validate=ID)
    # V5: serious disagreement on a major item confirmed by the chair with a reason (C7 alert)
    serious_disagreement = fields.Boolean(load_default=False)
    confirm_reason = fields.String(load_default=None, allow_none=True)
    decided_at = fields.AwareDateTime(required=True)
    members = fields.List(fields.Nested(ResultMemberIn), required=True)


class ReservedOpinionRecordedIn(_Lenient):
    """``voting.reserved_opinion_recorded`` data (V6 → C1)."""
    decision_id = fields.String(required=True, validate=ID)
    person_id = fields.String(required=True, validate=ID)
    reserved_opinion = fields.String(required=True, validate=validate.Length(min=1, max=5000))


# ------------------------------------------------------------------ more consumed events (C7)

class MeetingScheduledIn(_Lenient):
    """``meetings.meeting_scheduled`` data (M1)."""
    meeting_id = fields.String(required=True, validate=ID)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=30))
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    scheduled_at = fields.AwareDateTime(required=True)


class MeetingNoticedIn(_Lenient):
    """``meetings.meeting_noticed`` data (M5)."""
    meeting_id = fields.String(required=True, validate=ID)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=30))
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    scheduled_at = fields.AwareDateTime(required=True)
    noticed_at = fields.AwareDateTime(required=True)


class MeetingOpenedIn(_Lenient):
    """``meetings.meeting_opened`` data (M8)."""
    meeting_id = fields.String(required=True, validate=ID)
    opened_at = fields.AwareDateTime(required=True)
    n = fields.Integer(required=True, strict=True, validate=COUNT)
    present = fields.Integer(required=True, strict=True, validate=COUNT)
    quorum = fields.Integer(load_default=None, allow_none=True, strict=True, validate=COUNT)
    # added compatibly (M6): an emergency meeting opened raises an alert for the discipline inspector
    kind = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=30))
    emergency_reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))


class TopicAcceptedIn(_Lenient):
    """``meetings.topic_accepted`` data (M4); ``meeting_id`` is null for a topic accepted but not yet placed."""
    meeting_id = fields.String(required=True, allow_none=True, validate=ID)
    topic_id = fields.String(required=True, validate=ID)
    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    raised_at_meeting = fields.Boolean(load_default=False)


class BallotOpenedIn(_Lenient):
    """``voting.ballot_opened`` data (M8 again at each ballot; V4 when candidates are reported)."""
    ballot_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    n = fields.Integer(required=True, strict=True, validate=COUNT)
    present = fields.Integer(required=True, strict=True, validate=COUNT)
    candidates = fields.List(fields.Raw(), load_default=None, allow_none=True)


# ------------------------------------------------------------------ commands (RPC)

TEXT = validate.Length(min=1, max=5000)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class AssignImplementationIn(_Strict):
    """C5 §三(七)."""
    leader_person_id = fields.String(required=True, validate=ID)
    units = fields.List(fields.String(validate=validate.Length(min=1, max=200)), required=True,
                        validate=validate.Length(min=1, max=50))
    deadline = fields.Date(required=True)
    important = fields.Boolean(load_default=False)


class ReportProgressIn(_Strict):
    """C5 §三(十一)."""
    text = fields.String(required=True, validate=TEXT)
    percent = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100))
    special_report = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20000))


class SuperviseIn(_Strict):
    """C5 §三(七) office, §三(十一) discipline."""
    kind = fields.String(required=True, validate=validate.OneOf(("office", "discipline")))
    note = fields.String(required=True, validate=TEXT)
    feedback = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class PostponeIn(_Strict):
    """C5 §三(十二)."""
    new_deadline = fields.Date(required=True)
    explanation = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class NotExecutableIn(_Strict):
    """C5 §三(十二)."""
    explanation = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class OpenCaseIn(_Strict):
    """C4 §五(二)."""
    org_id = fields.String(required=True, validate=ID)
    trigger = fields.Raw(required=True)
    decision_id = fields.String(load_default=None, allow_none=True, validate=ID)
    person_id = fields.String(load_default=None, allow_none=True, validate=ID)
    summary = fields.String(required=True, validate=TEXT)
    major_error = fields.Boolean(load_default=False)
    group_broke_rules = fields.Boolean(load_default=False)
    secretary_person_id = fields.String(load_default=None, allow_none=True, validate=ID)


class ConcludeCaseIn(_Strict):
    """C4 §五(三)."""
    outcomes = fields.Dict(keys=fields.String(validate=ID), values=fields.Raw(), required=True)
    note = fields.String(required=True, validate=TEXT)


class CreateDutyIn(_Strict):
    """C6 §五(一), §二(二)."""
    org_id = fields.String(required=True, validate=ID)
    kind = fields.String(required=True, validate=validate.OneOf(DUTY_KINDS))
    person_id = fields.String(load_default=None, allow_none=True, validate=ID)
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=1949, max=2200))
    due_date = fields.Date(required=True)


class FileDutyIn(_Strict):
    """C6."""
    document_ref = fields.String(required=True, validate=validate.Length(min=1, max=300))


class AcknowledgeAlertIn(_Strict):
    """C7."""
    note = fields.String(required=True, validate=TEXT)


class CheckpointSignedIn(_Lenient):
    """``archive.checkpoint_signed`` data, as the witness keeps it (A2)."""
    org_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    head_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    created_at = fields.String(required=True, validate=validate.Length(min=1, max=40))
    signature = fields.String(required=True, validate=validate.Length(min=1, max=120))
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=64))
    algorithm = fields.String(required=True, validate=validate.Length(min=1, max=20))
    tree_root = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    consistency = fields.Dict(load_default=None, allow_none=True)
