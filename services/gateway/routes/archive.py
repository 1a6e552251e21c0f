"""Routes of the archive service (A1–A3)."""
from werkzeug.wrappers import Response

from services.gateway import schemas
from services.gateway.access import org_for_read, require_meeting
from services.gateway.http import route

CHAIN_KEEPERS = ("secretary", "office", "discipline")


class ArchiveRoutes:

    @route("GET", "/api/v1/records", query=schemas.RecordsQuery,
           summary="archived records, searchable by kind, meeting, date and person (A1)", tag="archive")
    def list_records(self, actor, query):
        if query["meeting_id"]:
            require_meeting(self.meetings, actor, query["meeting_id"])     # another organization's: 404
        return self.archive.list_records(actor.to_dict(), org_for_read(actor, query["org_id"]), query["limit"],
                                         query["offset"], query["kind"], query["meeting_id"], query["from"],
                                         query["to"], query["person_id"])

    @route("GET", "/api/v1/records/verify", query=schemas.VerifyQuery,
           summary="verify the archive's hash chain (A2)", tag="archive")
    def verify_records(self, actor, query):
        return self.archive.verify(actor.to_dict(), org_for_read(actor, query["org_id"]))

    @route("GET", "/api/v1/records/export", query=schemas.VerifyQuery, content_type="application/x-ndjson",
           summary="the chain as JSON lines with a signed checkpoint, for offline verification (A2)",
           tag="archive")
    def export_records(self, actor, query):
        org_id = org_for_read(actor, query["org_id"])
        text = self.archive.export(actor.to_dict(), org_id)
        return Response(text, content_type="application/x-ndjson; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="archive-{org_id}.jsonl"'})

    @route("GET", "/api/v1/records/<record_id>", summary="a record with its versions and proof of inclusion",
           tag="archive")
    def get_record(self, actor, record_id):
        return self.archive.get_record(actor.to_dict(), record_id)

    @route("POST", "/api/v1/records/<record_id>/corrections", body=schemas.CorrectionIn, status=201, rule="A1",
           summary="append a corrected version (the old one stays)", tag="archive")
    def correct_record(self, actor, record_id, body):
        return self.archive.correct_record(actor.to_dict(), record_id, body)

    @route("GET", "/api/v1/decisions/<decision_id>/record", summary="the archived record of a decision",
           tag="archive")
    def decision_record(self, actor, decision_id):
        return self.archive.record_for_decision(actor.to_dict(), decision_id)

    @route("POST", "/api/v1/checkpoints", roles=CHAIN_KEEPERS, rule="A2", query=schemas.VerifyQuery, status=201,
           summary="sign the chain's current head (Ed25519) to hand to a higher body", tag="archive")
    def sign_checkpoint(self, actor, query):
        return self.archive.sign_checkpoint(actor.to_dict(), org_for_read(actor, query["org_id"]))

    @route("GET", "/api/v1/archive/public-key", summary="the key that signs checkpoints", tag="archive")
    def archive_public_key(self, actor):
        return self.archive.public_key()

    @route("GET", "/api/v1/archive/read-log", query=schemas.RecordsQuery, rule="A3",
           summary="who read confidential records, when (A3)", tag="archive")
    def read_log(self, actor, query):
        return self.archive.read_log(actor.to_dict(), org_for_read(actor, query["org_id"]), query["limit"],
                                     query["offset"])

    @route("GET", "/api/v1/archive/hash-algorithm", query=schemas.VerifyQuery,
           summary="the hash algorithm of new records (sha256 or sm3)", tag="archive")
    def hash_algorithm(self, actor, query):
        return self.archive.hash_algorithm(actor.to_dict(), org_for_read(actor, query["org_id"]))

    @route("PUT", "/api/v1/archive/hash-algorithm", roles=("secretary", "office"), rule="A2",
           body=schemas.AlgorithmBody, summary="hash new records with sha256 or sm3", tag="archive")
    def set_hash_algorithm(self, actor, body):
        return self.archive.set_hash_algorithm(actor.to_dict(), org_for_read(actor, None), body["algorithm"])
