"""Routes of the archive service (A1–A3)."""
import io
import zipfile

from marshmallow import Schema, fields, validate
from werkzeug.wrappers import Response

from services.gateway import schemas
from services.gateway.access import org_for_read, require_meeting
from services.gateway.http import route

CHAIN_KEEPERS = ("secretary", "office", "discipline")


class TransferQuery(Schema):
    org_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    year = fields.Integer(required=True, strict=False, validate=validate.Range(min=2000, max=2200))


TRANSFER_README = """年度移交包 — yearly transfer package of {org_id} for {year}

{name}.jsonl   every record archived in {year} (seq {first_seq}-{last_seq}, {records} records),
               each signed checkpoint after the record it signs, the last at seq {last_seq}
verify_export.py  the standalone verifier (Python 3.8+; the signature needs the
               'cryptography' package)
public_key.txt the archive's Ed25519 public key as the archive gave it: confirm it with the
               organization through another channel

Verify offline:   python verify_export.py {name}.jsonl --public-key $(cat public_key.txt)
It prints "ok: ..." and exits 0, or names the first bad line and exits 1.  The package's
first record links to the hash in its first line (prev_hash): the last record of the
previous year's package, so the years chain together.
"""


def transfer_zip(package):
    """The records office's download: the package, the verifier, the key and how to check."""
    buffer = io.BytesIO()
    name = package["filename"]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}/{name}.jsonl", package["package"])
        archive.writestr(f"{name}/verify_export.py", package["verifier"])
        archive.writestr(f"{name}/public_key.txt", package["public_key"] + "\n")
        archive.writestr(f"{name}/README.txt", TRANSFER_README.format(name=name, **{
            k: package[k] for k in ("org_id", "year", "first_seq", "last_seq", "records")}))
    return buffer.getvalue()


class ArchiveRoutes:

    @route("GET", "/api/v1/records", query=schemas.RecordSearchQuery,
           summary=("archived records in chain order, searchable by kind, meeting, date and person (A1); "
                    "page on with cursor = the answer's next_cursor (null on the last page)"), tag="archive")
    def list_records(self, actor, query):
        if query["meeting_id"]:
            require_meeting(self.meetings, actor, query["meeting_id"])     # another organization's: 404
        return self.archive.list_records(actor.to_dict(), org_for_read(actor, query["org_id"]), query["limit"],
                                         query["offset"], query["kind"], query["meeting_id"], query["from"],
                                         query["to"], query["person_id"], query["cursor"])

    @route("GET", "/api/v1/records/verify", query=schemas.VerifyQuery,
           summary="verify the archive's hash chain (A2)", tag="archive")
    def verify_records(self, actor, query):
        # A2 (rollback): the checkpoints accountability witnessed, outside the archive's database
        org_id = org_for_read(actor, query["org_id"])
        witnessed = self.accountability.witnessed_checkpoints(actor.to_dict(), org_id)
        return self.archive.verify(actor.to_dict(), org_id, witnessed)

    @route("GET", "/api/v1/records/export", query=schemas.VerifyQuery, content_type="application/x-ndjson",
           summary="the chain as JSON lines with a signed checkpoint, for offline verification (A2)",
           tag="archive")
    def export_records(self, actor, query):
        org_id = org_for_read(actor, query["org_id"])
        text = self.archive.export(actor.to_dict(), org_id)
        return Response(text, content_type="application/x-ndjson; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="archive-{org_id}.jsonl"'})

    @route("GET", "/api/v1/records/transfer-package", query=TransferQuery, content_type="application/zip",
           summary="a year's records with their checkpoints and the offline verifier, for the records office (A1, A2)",
           tag="archive")
    def transfer_package(self, actor, query):
        org_id = org_for_read(actor, query["org_id"])
        package = self.archive.transfer_package(actor.to_dict(), org_id, query["year"])
        return Response(transfer_zip(package), content_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{package["filename"]}.zip"'})

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

    @route("GET", "/api/v1/archive/read-log", query=schemas.RecordSearchQuery, rule="A3",
           summary="who read confidential records, when (A3), newest first; pages by cursor", tag="archive")
    def read_log(self, actor, query):
        return self.archive.read_log(actor.to_dict(), org_for_read(actor, query["org_id"]), query["limit"],
                                     query["offset"], query["cursor"])

    @route("GET", "/api/v1/archive/hash-algorithm", query=schemas.VerifyQuery,
           summary="the hash algorithm of new records (sha256 or sm3)", tag="archive")
    def hash_algorithm(self, actor, query):
        return self.archive.hash_algorithm(actor.to_dict(), org_for_read(actor, query["org_id"]))

    @route("PUT", "/api/v1/archive/hash-algorithm", roles=("secretary", "office"), rule="A2",
           body=schemas.AlgorithmBody, summary="hash new records with sha256 or sm3", tag="archive")
    def set_hash_algorithm(self, actor, body):
        return self.archive.set_hash_algorithm(actor.to_dict(), org_for_read(actor, None), body["algorithm"])
