"""Routes of the voting service (V1–V9)."""
from services.gateway import schemas
from services.gateway.access import CHAIRS, GROUP_ROLES, org_for_read, own_org, require_meeting
from services.gateway.http import route

RECORDERS = CHAIRS + ("confidential_secretary",)


class VotingRoutes:

    @route("POST", "/api/v1/ballots", roles=CHAIRS, rule="M1", body=schemas.OpenBallotIn, status=201,
           summary="open a ballot on an agenda item (one candidate per personnel ballot, V4)", tag="voting")
    def open_ballot(self, actor, body):
        return self.voting.open_ballot(actor.to_dict(), body)

    @route("GET", "/api/v1/ballots", query=schemas.BallotListQuery, summary="the ballots of a meeting",
           tag="voting")
    def list_ballots(self, actor, query):
        require_meeting(self.meetings, actor, query["meeting_id"])     # another organization's: 404
        return {"items": self.voting.list_ballots(actor.to_dict(), query["meeting_id"])}

    @route("GET", "/api/v1/ballots/<ballot_id>", summary="a ballot", tag="voting")
    def get_ballot(self, actor, ballot_id):
        return self.voting.get_ballot(actor.to_dict(), ballot_id)

    @route("POST", "/api/v1/ballots/<ballot_id>/votes", roles=GROUP_ROLES, rule="V1", body=schemas.CastVoteIn,
           status=201, summary="cast one's vote", tag="voting")
    def cast_vote(self, actor, ballot_id, body):
        return self.voting.cast_vote(actor.to_dict(), ballot_id, body)

    @route("POST", "/api/v1/ballots/<ballot_id>/recorded-votes", roles=RECORDERS, rule="V2",
           body=schemas.RecordVotesIn, summary="record an oral or show-of-hands vote (per person or counts)",
           tag="voting")
    def record_votes(self, actor, ballot_id, body):
        return self.voting.record_votes(actor.to_dict(), ballot_id, body)

    @route("POST", "/api/v1/ballots/<ballot_id>/close", roles=CHAIRS, rule="M1", body=schemas.CloseBallotIn,
           summary="close a ballot: the decision (V3; V5 asks to defer or confirm on serious disagreement)",
           tag="voting")
    def close_ballot(self, actor, ballot_id, body):
        return self.voting.close_ballot(actor.to_dict(), ballot_id, body)

    @route("POST", "/api/v1/ballots/<ballot_id>/defer", roles=CHAIRS, rule="V5", body=schemas.DeferBallotIn,
           summary="defer a ballot for more research (V5)", tag="voting")
    def defer_ballot(self, actor, ballot_id, body):
        return self.voting.defer_ballot(actor.to_dict(), ballot_id, body)

    @route("GET", "/api/v1/decisions", query=schemas.DecisionListQuery,
           summary=("decisions, newest first; page on with cursor = the answer's next_cursor "
                    "(null on the last page); offset is for old callers only"), tag="voting")
    def list_decisions(self, actor, query):
        return self.voting.list_decisions(actor.to_dict(), org_for_read(actor, query["org_id"]),
                                          query["limit"], query["offset"], query["cursor"])

    @route("GET", "/api/v1/decisions/<decision_id>", summary="a decision", tag="voting")
    def get_decision(self, actor, decision_id):
        return self.voting.get_decision(actor.to_dict(), decision_id)

    @route("POST", "/api/v1/decisions/<decision_id>/reserved-opinions", roles=GROUP_ROLES, rule="V6",
           body=schemas.ReservedOpinionIn, status=201, summary="keep a reserved opinion on a decision (V6)",
           tag="voting")
    def record_reserved_opinion(self, actor, decision_id, body):
        return self.voting.record_reserved_opinion(actor.to_dict(), decision_id, body)

    @route("POST", "/api/v1/conflicts-of-interest", roles=GROUP_ROLES, rule="V4", body=schemas.ConflictIn,
           status=201, summary="declare a conflict of interest on an agenda item before voting: recused (回避, V4)",
           tag="voting")
    def declare_conflict(self, actor, body):
        return self.voting.declare_conflict(actor.to_dict(), body)

    @route("POST", "/api/v1/reconsiderations", roles=("secretary",), rule="V7", body=schemas.ReconsiderationIn,
           status=201, summary="reconsider a decision at a meeting, with the secretary's approval (V7)",
           tag="voting")
    def open_reconsideration(self, actor, body):
        return self.voting.open_reconsideration(actor.to_dict(), body)

    @route("GET", "/api/v1/voting-policy", summary="the organization's disagreement threshold (V5)", tag="voting")
    def get_policy(self, actor):
        return self.voting.get_policy(actor.to_dict(), own_org(actor))

    @route("PUT", "/api/v1/voting-policy", roles=("secretary", "admin"), rule="V5", body=schemas.PolicyIn,
           summary="set the disagreement threshold, e.g. 1/3 (V5)", tag="voting")
    def set_policy(self, actor, body):
        return self.voting.set_policy(actor.to_dict(), own_org(actor), body)
