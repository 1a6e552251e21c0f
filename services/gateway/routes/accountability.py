"""Routes of the accountability service (C1–C7)."""
from services.gateway import schemas
from services.gateway.http import route


class AccountabilityRoutes:
    @route("GET", "/api/v1/decisions/<decision_id>/responsibility",
           summary="who answers for a decision (C1)", tag="accountability")
    def decision_responsibility(self, actor, decision_id):
        return self.accountability.decision_links(actor.to_dict(), decision_id)

    @route("GET", "/api/v1/persons/<person_id>/record", query=schemas.PageQuery,
           summary="a person's lifetime responsibility record (C2)", tag="accountability")
    def person_record(self, actor, person_id, query):
        return self.accountability.person_record(actor.to_dict(), person_id, query["limit"], query["offset"])
