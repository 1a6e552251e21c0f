"""Routes of the voting service (V1–V9)."""
from services.gateway import schemas
from services.gateway.access import CHAIRS, GROUP_ROLES
from services.gateway.http import route


class VotingRoutes:

    @route("POST", "/api/v1/ballots", roles=CHAIRS, rule="M1", body=schemas.OpenBallotIn, status=201,
           summary="open a ballot on an agenda item", tag="voting")
    def open_ballot(self, actor, body):
        return self.voting.open_ballot(actor.to_dict(), body)

    @route("GET", "/api/v1/ballots/<ballot_id>", summary="a ballot", tag="voting")
    def get_ballot(self, actor, ballot_id):
        return self.voting.get_ballot(actor.to_dict(), ballot_id)

    @route("POST", "/api/v1/ballots/<ballot_id>/votes", roles=GROUP_ROLES, rule="V1", body=schemas.CastVoteIn,
           status=201, summary="cast one's vote", tag="voting")
    def cast_vote(self, actor, ballot_id, body):
        return self.voting.cast_vote(actor.to_dict(), ballot_id, body)

    @route("POST", "/api/v1/ballots/<ballot_id>/close", roles=CHAIRS, rule="M1",
           summary="close a ballot: the decision", tag="voting")
    def close_ballot(self, actor, ballot_id):
        return self.voting.close_ballot(actor.to_dict(), ballot_id)

    @route("GET", "/api/v1/decisions/<decision_id>", summary="a decision", tag="voting")
    def get_decision(self, actor, decision_id):
        return self.voting.get_decision(actor.to_dict(), decision_id)
