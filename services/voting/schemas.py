"""marshmallow schemas of the voting RPC payloads and of the events it publishes."""
from marshmallow import EXCLUDE, Schema, fields, validate

from services.voting.domain import CHOICES, DECISION_STATUSES, METHODS, OPINION_MAX, OUTCOMES, PRESENCES, REASON_MAX

ID = validate.Length(min=1, max=64)
COUNT = validate.Range(min=0)


# ---------------------------------------------------------------- RPC input

class OpenBallotIn(Schema):
    meeting_id = fields.String(required=True, validate=ID)
    topic_id = fields.String(required=True, validate=ID)
    method = fields.String(load_default="named", validate=validate.OneOf(METHODS))   # V2
    candidates = fields.List(fields.String(validate=ID), load_default=None, allow_none=True,
                             validate=validate.Length(max=100))                         # V4
    previous_ballot_id = fields.String(load_default=None, allow_none=True, validate=ID)  # V5 re-vote


class CloseBallotIn(Schema):
    confirm_reason = fields.String(load_default=None, allow_none=True,
                                   validate=validate.Length(max=REASON_MAX))            # V5


class DeferBallotIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(max=REASON_MAX))     # V5


class VoteCounts(Schema):
    yes = fields.Integer(required=True, strict=True, validate=COUNT)
    no = fields.Integer(required=True, strict=True, validate=COUNT)
    abstain = fields.Integer(required=True, strict=True, validate=COUNT)


class RecordVotesIn(Schema):
    """V2: per person ``{choices: {person_id: choice}}`` or, if the organization chooses, ``{counts}``."""
    choices = fields.Dict(keys=fields.String(validate=ID), values=fields.String(validate=validate.OneOf(CHOICES)),
                          load_default=None, allow_none=True)
    counts = fields.Nested(VoteCounts, load_default=None, allow_none=True)


class ReservedOpinionIn(Schema):
    text = fields.String(required=True, validate=validate.Length(max=OPINION_MAX))      # V6


class ConflictIn(Schema):
    """V4 回避: a group member declares a conflict of interest on an agenda item, before voting."""
    meeting_id = fields.String(required=True, validate=ID)
    topic_id = fields.String(required=True, validate=ID)
    reason = fields.String(required=True, validate=validate.Length(max=REASON_MAX))


class ReconsiderationIn(Schema):
    """V7: reconsider a decision at a meeting, with the secretary's approval."""
    decision_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    topic_id = fields.String(required=True, validate=ID)
    approved_by_secretary = fields.Boolean(required=True)
    reason = fields.String(required=True, validate=validate.Length(max=REASON_MAX))
    method = fields.String(load_default="named", validate=validate.OneOf(METHODS))
    candidates = fields.List(fields.String(validate=ID), load_default=None, allow_none=True,
                             validate=validate.Length(max=100))
    previous_ballot_id = fields.String(load_default=None, allow_none=True, validate=ID)


class PolicyIn(Schema):
    disagreement_ratio = fields.String(required=True, validate=validate.Length(min=3, max=16))   # V5 "a/b"


class OrgIn(Schema):
    org_id = fields.String(required=True, validate=ID)


class MeetingIn(Schema):
    meeting_id = fields.String(required=True, validate=ID)


class ListDecisionsIn(Schema):
    org_id = fields.String(required=True, validate=ID)
    limit = fields.Integer(load_default=50, strict=True, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=2 ** 31 - 1))


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
    candidate_person_id = fields.String(load_default=None, allow_none=True, validate=ID)   # V4: the item's own


class AttendanceSnapshot(_Lenient):
    org_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    emergency = fields.Boolean(required=True)
    chair_person_id = fields.String(required=True, validate=ID)
    topic = fields.Nested(SnapshotTopic, required=True)
    n = fields.Integer(required=True, allow_none=True, strict=True)
    present = fields.Integer(load_default=None, allow_none=True)
    members = fields.List(fields.Nested(SnapshotMember), required=True)


class PresenceNow(_Lenient):
    """meetings.presence_now: the meeting's status and one person's presence at this moment (V1, M8)."""
    meeting_id = fields.String(required=True, validate=ID)
    meeting_status = fields.String(required=True)
    presence = fields.String(required=True, allow_none=True)


class MinutesApprovedIn(_Lenient):
    """meetings.minutes_approved, as voting reads it (V6: the reserved-opinion window closes)."""
    meeting_id = fields.String(required=True, validate=ID)
    approved_at = fields.AwareDateTime(required=True)


class MeetingClosedIn(_Lenient):
    """meetings.meeting_closed, as voting reads it (the V1 backstop)."""
    meeting_id = fields.String(required=True, validate=ID)


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
    recused = fields.List(fields.String(validate=ID), required=True)                  # V4 回避


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
    recorded_by = fields.String(required=True, allow_none=True)        # V2: who recorded this vote, if not cast
    recused = fields.Boolean(required=True)                            # V4 回避: no part in the item


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
    # additive (0002) ------------------------------------------------------
    candidate_person_id = fields.String(required=True, allow_none=True, validate=ID)   # V4
    previous_ballot_id = fields.String(required=True, allow_none=True, validate=ID)    # V5 re-vote link
    reconsidered_decision_id = fields.String(required=True, allow_none=True, validate=ID)   # V7, any outcome
    reconsideration_approved = fields.Boolean(required=True)                          # V7: by the secretary
    serious_disagreement = fields.Boolean(required=True)                              # V5
    confirm_reason = fields.String(required=True, allow_none=True)                    # V5
    deferred_reason = fields.String(required=True, allow_none=True)                   # V5
    counts_only = fields.Boolean(required=True)                                       # V2
    recorded_by = fields.List(fields.String(validate=ID), required=True)              # V2
    # additive (0003) ------------------------------------------------------
    recused = fields.List(fields.String(validate=ID), required=True)                  # V4 回避


class BallotDeferredData(Schema):
    """V5: the chair deferred the ballot for more research; a later ballot may vote again."""
    ballot_id = fields.String(required=True, validate=ID)
    decision_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    agenda_item_id = fields.String(required=True, validate=ID)
    title = fields.String(required=True)
    category = fields.String(required=True)
    reason = fields.String(required=True)
    deferred_by = fields.String(required=True, validate=ID)
    deferred_at = fields.String(required=True)


class ReservedOpinionRecordedData(Schema):
    """V6: never a choice (V8) — the member's own words and the fact that they took part."""
    decision_id = fields.String(required=True, validate=ID)
    ballot_id = fields.String(required=True, validate=ID)
    person_id = fields.String(required=True, validate=ID)
    reserved_opinion = fields.String(required=True)
    recorded_at = fields.String(required=True)


class BallotLapsedData(Schema):
    """V1: a ballot still open when its meeting closed: no decision."""
    ballot_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    agenda_item_id = fields.String(required=True, validate=ID)
    title = fields.String(required=True)
    votes_cast = fields.Integer(required=True, strict=True, validate=COUNT)
    lapsed_at = fields.String(required=True)
    reason = fields.String(required=True)


class DecisionSupersededData(Schema):
    """V7: the old decision stays kept, linked to the one that replaced it."""
    decision_id = fields.String(required=True, validate=ID)
    superseded_by = fields.String(required=True, validate=ID)
    ballot_id = fields.String(required=True, validate=ID)
    superseded_at = fields.String(required=True)


class DecisionView(ResultDecidedData):
    """``get_decision`` / ``close_ballot`` answer: the event data plus what may change or is derived."""
    explanation = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(DECISION_STATUSES))   # V5, V7
    superseded_by = fields.String(required=True, allow_none=True, validate=ID)              # V7
    warnings = fields.List(fields.String(), required=True)                                   # V8
