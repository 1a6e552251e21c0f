"""Routes of the archive service (A1–A3)."""
from services.gateway import schemas
from services.gateway.access import org_for_read
from services.gateway.http import route


class ArchiveRoutes:
    @route("GET", "/api/v1/decisions/<decision_id>/record", summary="the archived record of a decision",
           tag="archive")
    def decision_record(self, actor, decision_id):
        return self.archive.record_for_decision(actor.to_dict(), decision_id)

    @route("GET", "/api/v1/records", query=schemas.RecordsQuery, summary="archived records", tag="archive")
    def list_records(self, actor, query):
        org_id = org_for_read(actor, query["org_id"])
        return self.archive.list_records(actor.to_dict(), org_id, query["limit"], query["offset"])

    @route("GET", "/api/v1/records/verify", query=schemas.VerifyQuery,
           summary="verify the archive's hash chain (A2)", tag="archive")
    def verify_records(self, actor, query):
        return self.archive.verify(actor.to_dict(), org_for_read(actor, query["org_id"]))
