"""Archive service: thin nameko entrypoints over ``domain`` and ``chain``.

Consumes ``voting.result_decided`` and ``meetings.meeting_noticed`` into each
organization's hash chain (A1, A2), appends corrections (A1), signs checkpoints
and exports chains (A2), and answers reads by role and organization, logging
every read of a confidential record (A3).
"""
import os
import uuid
from pathlib import Path

from nameko.extensions import DependencyProvider

from services.archive import chain, domain, models, schemas, signing
from shared.actor import Actor
from shared.clock import utcnow
from shared.errors import DomainError, Forbidden, NotFound, RuleViolation, ValidationFailed
from shared.nameko_ext import Database, HealthMixin, PoisonMessage, durable_event_handler, rpc
from shared.paging import decode_cursor
from shared.validation import load


# events whose payload the archive checks in full before keeping it (the others: their subject id)
EVENT_SCHEMAS = {
    ("voting", "result_decided"): schemas.ResultDecidedData,
    ("meetings", "meeting_noticed"): schemas.MeetingNoticedData,
}


class ArchiveSettings(DependencyProvider):
    """A2 settings, checked when the service starts (a bad key or algorithm stops it).

    ``ARCHIVE_HASH_ALGORITHM`` (sha256 | sm3) is the default of organizations that
    chose none.  The Ed25519 key that signs checkpoints is never kept in the archive's
    database (issue 17, defect 6: whoever holds the database could otherwise sign a
    rolled-back chain): ``ARCHIVE_SIGNING_KEY_FILE`` names a secret file holding it
    (base64 of the raw 32 bytes; what deployments provide), or ``ARCHIVE_SIGNING_KEY``
    holds it.  With neither, ``ARCHIVE_REQUIRE_SIGNING_KEY`` set stops the service;
    unset (development), a key file is made once in ``DATA_DIR``.  Read from the
    service configuration, else the environment.
    """

    def setup(self):
        config = self.container.config

        def setting(name):
            return config.get(name) or os.environ.get(name) or None

        self.algorithm = domain.check_algorithm(setting("ARCHIVE_HASH_ALGORITHM") or domain.DEFAULT_ALGORITHM)
        key, key_file = setting("ARCHIVE_SIGNING_KEY"), setting("ARCHIVE_SIGNING_KEY_FILE")
        if key:
            self.private_key = signing.load_private_key(key)
        elif key_file:
            self.private_key = signing.key_from_file(key_file)
        elif str(setting("ARCHIVE_REQUIRE_SIGNING_KEY") or "").lower() in ("1", "true", "yes"):
            raise ValueError("A2: ARCHIVE_SIGNING_KEY_FILE must name the checkpoint signing key's secret file")
        else:
            data_dir = Path(setting("DATA_DIR") or Path(__file__).resolve().parents[2] / "data")
            self.private_key = signing.key_from_file(data_dir / "archive-signing.key", create=True)

    def get_dependency(self, worker_ctx):
        return self


class ArchiveService(HealthMixin):
    name = "archive"
    db = Database(models, Path(__file__).parent / "migrations")
    settings = ArchiveSettings()

    # ------------------------------------------------------------ events in (A1, A2)

    # one durable handler per archived event type, ``on_<event_type>``: see _archiving_handler below

    def _archive(self, envelope, source, event_type):
        """A1: append the event's data to its organization's chain, once per event (inbox)."""
        spec = domain.archived_event(source, event_type)
        handler = f"archive.on_{event_type}"
        org_id = envelope.get("org_id")
        data = envelope["data"]
        try:
            if not isinstance(org_id, str) or not org_id:
                raise PoisonMessage(f"A2: a {event_type} event without org_id has no chain to join")
            schema = EVENT_SCHEMAS.get((source, event_type))
            if schema is not None:
                load(schema(), data, rule="A1")
            subject_id = domain.check_subject(spec, data)
            domain.check_secrecy(data)                      # V8
            domain.canonical_bytes(data)                    # A2: hashable, or refused now
        except (DomainError, domain.CanonicalizationError) as exc:
            raise PoisonMessage(str(exc)) from None
        now = utcnow()
        with self.db.uow() as uow:
            if not uow.first_time(envelope["event_id"], handler):
                return                                       # duplicate delivery: already archived
            rec = chain.append(uow.session, org_id=org_id, kind=spec.kind, subject_id=subject_id,
                               source_event_id=str(envelope["event_id"]), content=data,
                               record_id=str(uuid.uuid4()), now=now, classification=spec.classify(data),
                               algorithm=self._algorithm(uow.session, org_id))
            _emit_archived(uow, rec, subject_id)

    def _algorithm(self, session, org_id):
        """A2: the organization's algorithm, else the configured default."""
        return chain.org_algorithm(session, org_id) or self.settings.algorithm

    # ------------------------------------------------------------ corrections (A1)

    @rpc
    def correct_record(self, actor, record_id, data):
        """A1: append a corrected version of ``record_id`` (the old one stays); returns the new record."""
        actor = Actor.from_dict(actor)
        args = load(schemas.RecordIdIn(), {"record_id": record_id})
        if not isinstance(data, dict):
            raise ValidationFailed("data: must be an object {content, reason}", field="data", rule="A1")
        data = load(schemas.CorrectionIn(), data, rule="A1")
        try:
            domain.canonical_bytes(data["content"])
        except domain.CanonicalizationError as exc:
            raise RuleViolation(f"content: {exc}", field="content", rule="A2") from None
        now = utcnow()
        refusal = None
        with self.db.uow() as uow:
            s = uow.session
            old = chain.get(s, args["record_id"])
            if old is None or not _same_org(actor, old.org_id):
                raise NotFound("record_id: no such record", field="record_id")
            actor.require(*domain.CORRECTORS, rule="A1", action="correcting a record")
            classification = data["classification"] or old.classification
            confidential = "confidential" in (old.classification, classification)
            # A3: who may not read a confidential record may not rewrite it either (the attempt is logged)
            refusal = domain.read_refusal("confidential" if confidential else classification, actor)
            if confidential:
                chain.log_read(s, actor, old.org_id, old.id, "correct_record", refusal is None, now)
            if refusal is None:
                newer = chain.corrected_by(s, old.id)
                domain.check_correctable(newer.id if newer else None)
                rec = chain.append(s, org_id=old.org_id, kind=old.kind, subject_id=old.subject_id,
                                   source_event_id=str(uuid.uuid4()), content=data["content"],
                                   record_id=str(uuid.uuid4()), now=now, classification=classification,
                                   corrects=old.id, algorithm=self._algorithm(s, old.org_id),
                                   reason=data["reason"], recorded_by=actor.person_id)
                _emit_archived(uow, rec, old.subject_id or old.id)
                result = self._detail(s, chain.get(s, rec["record_id"]))
        if refusal is not None:
            raise refusal                   # after the commit: the refusal stays in the read log
        return result

    # ------------------------------------------------------------ reads (A3)

    @rpc
    def list_records(self, actor, org_id, limit=50, offset=0, kind=None, meeting_id=None, date_from=None,
                     date_to=None, person_id=None, cursor=None):
        """An organization's records in chain order, filtered (A1); content only where A3 allows it.

        ``{"items": [record view], "total", "next_cursor"}``; each confidential content handed out
        is logged.  Keyset paging: ``cursor`` is the previous page's ``next_cursor`` (None on the
        last page); ``offset`` is for old callers and is refused together with a cursor.
        """
        actor = Actor.from_dict(actor)
        args = load(schemas.ListIn(), {"org_id": org_id, "limit": limit, "offset": offset, "kind": kind,
                                       "meeting_id": meeting_id, "date_from": date_from, "date_to": date_to,
                                       "person_id": person_id})
        args["after_seq"] = decode_cursor(cursor, ("seq",), rule="A1")
        if args["after_seq"] is not None and args["offset"]:
            raise ValidationFailed("A1: offset: not with a cursor", field="offset", rule="A1")
        actor.require_org(args["org_id"], cross_org_read=True)
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            total, rows, next_cursor = chain.search(s, **args)
            items = []
            for row in rows:
                readable = domain.may_read_content(row.classification, actor)
                if readable and row.classification == "confidential":
                    chain.log_read(s, actor, row.org_id, row.id, "list_records", True, now)
                items.append(chain.view(row, with_content=readable))
        return {"items": items, "total": total, "next_cursor": next_cursor}

    @rpc
    def get_record(self, actor, record_id):
        """A record with its ``versions`` (A1) and ``proof`` (A2); confidential reads logged (A3)."""
        actor = Actor.from_dict(actor)
        args = load(schemas.RecordIdIn(), {"record_id": record_id})
        return self._read_one(actor, "get_record", lambda s: chain.get(s, args["record_id"]),
                              "record_id", "no such record")

    @rpc
    def find_by_source(self, actor, source_event_id):
        """The record made from one event (e.g. a ``result_decided`` event id)."""
        actor = Actor.from_dict(actor)
        args = load(schemas.SourceIn(), {"source_event_id": source_event_id})
        return self._read_one(actor, "find_by_source", lambda s: chain.by_source(s, args["source_event_id"]),
                              "source_event_id", "no record from this event")

    @rpc
    def record_for_decision(self, actor, decision_id):
        """A1: the archived decision's latest version (tally, members, reserved opinions)."""
        actor = Actor.from_dict(actor)
        args = load(schemas.DecisionIdIn(), {"decision_id": decision_id})
        return self._read_one(actor, "record_for_decision",
                              lambda s: chain.latest_for_subject(s, "decision", args["decision_id"]),
                              "decision_id", "no archived record for this decision")

    def _read_one(self, actor, action, find, field, message):
        """Another organization's record is not revealed to exist (AUTH); A3 guards the content
        and every attempt on a confidential record, granted or refused, is logged."""
        refusal = None
        with self.db.uow() as uow:
            s = uow.session
            row = find(s)
            if row is None:
                refusal = NotFound(f"{field}: {message}", field=field)
            else:
                if not _same_org(actor, row.org_id, cross_org_read=True):
                    refusal = NotFound(f"{field}: {message}", field=field)
                else:
                    refusal = domain.read_refusal(row.classification, actor)
                if row.classification == "confidential":
                    chain.log_read(s, actor, row.org_id, row.id, action, refusal is None, utcnow())
                if refusal is None:
                    result = self._detail(s, row)
        if refusal is not None:
            raise refusal                   # after the commit: the refusal stays in the read log
        return result

    def _detail(self, s, row):
        detail = chain.view(row)
        detail["versions"] = [chain.version_view(v) for v in chain.versions(s, row)]
        detail["latest_record_id"] = detail["versions"][-1]["record_id"]
        detail["proof"] = domain.proof(chain.as_record(row),
                                       chain.checkpoint_view(chain.latest_checkpoint(s, row.org_id)))
        return detail

    @rpc
    def read_log(self, actor, org_id, limit=50, offset=0, cursor=None):
        """A3: who read (or tried to read) the organization's confidential records, newest first:
        ``{items, total, next_cursor}``; pass ``next_cursor`` back as ``cursor`` for the next page
        (``total`` is given with the first page only)."""
        actor = Actor.from_dict(actor)
        args = load(schemas.PageIn(), {"org_id": org_id, "limit": limit, "offset": offset})
        before = decode_cursor(cursor, kinds=("seq",), rule="A3")
        if before is not None and args["offset"]:
            raise ValidationFailed("offset: not with a cursor", field="offset")
        actor.require_org(args["org_id"], cross_org_read=True)
        actor.require(*domain.READ_LOG_READERS, rule="A3", action="reading the read log")
        with self.db.read() as s:
            total, items, next_cursor = chain.read_log_page(s, args["org_id"], args["limit"], args["offset"], before)
        return {"items": items, "total": total, "next_cursor": next_cursor}

    # ------------------------------------------------------------ verification, checkpoints, export (A2)

    @rpc
    def verify(self, actor, org_id, witnessed=None):
        """A2: ``{"org_id", "ok", "records", "first_bad": None | {"seq", "record_id", "reason"}}``.

        The chain must reach and pass through every checkpoint signed: those stored here and
        ``witnessed`` (checkpoints a witness kept outside this database, e.g. accountability's
        ``witnessed_checkpoints``); a witnessed checkpoint counts when its signature is the
        archive's.  ``witnessed_checked`` says how many did.
        """
        actor = Actor.from_dict(actor)
        args = load(schemas.OrgIn(), {"org_id": org_id})
        actor.require_org(args["org_id"], cross_org_read=True)
        if witnessed is not None and not isinstance(witnessed, list):
            raise ValidationFailed("witnessed: a list of checkpoints", field="witnessed", rule="A2")
        public_key = signing.public_key_of(self._signing_key()) if witnessed else None
        trusted = domain.trusted_checkpoints(args["org_id"], witnessed or (), public_key, signing.verify_signature)
        with self.db.read() as s:
            result = chain.verify_org(s, args["org_id"], witnessed=trusted)
        if witnessed is not None:
            result["witnessed_checked"] = len(trusted)
        return result

    @rpc
    def public_key(self):
        """A2: the key that signs checkpoints: ``{"algorithm": "ed25519", "public_key": base64}``."""
        return {"algorithm": domain.SIGNATURE_ALGORITHM, "public_key": signing.public_key_of(self._signing_key())}

    def _signing_key(self):
        """The configured key (A2: never read from or written to the archive's database)."""
        return self.settings.private_key

    @rpc
    def sign_checkpoint(self, actor, org_id):
        """A2: sign the organization's current head (after verifying the chain); returns the checkpoint
        ``{"org_id", "seq", "head_hash", "created_at", "signature", "public_key", "algorithm"}``."""
        actor = Actor.from_dict(actor)
        args = load(schemas.OrgIn(), {"org_id": org_id})
        actor.require_org(args["org_id"])
        actor.require(*domain.SIGNERS, rule="A2", action="signing a checkpoint")
        key = self._signing_key()
        with self.db.uow() as uow:
            return self._checkpoint(uow, actor, args["org_id"], key)

    def _checkpoint(self, uow, actor, org_id, key, at_seq=None, snapshot=True):
        """The signed checkpoint of the current head (or of the record at ``at_seq``, which a verified
        chain vouches for): the existing one, else a new one (event)."""
        s = uow.session
        if snapshot:
            chain.begin_snapshot(s)      # one snapshot: the head signed is the head verified
        seq, head_hash = chain.head(s, org_id)
        if at_seq is not None and at_seq != seq:
            seq, head_hash = at_seq, chain.record_at(s, org_id, at_seq).hash
        existing = chain.checkpoint_at(s, org_id, seq)
        if existing is not None:
            if existing.head_hash != head_hash:
                raise RuleViolation(f"A2: the chain head at seq {seq} differs from the one signed there; "
                                    "run verify", field="org_id", rule="A2")
            return chain.checkpoint_view(existing)
        result = chain.verify_org(s, org_id, snapshot=False)
        if not result["ok"]:
            bad = result["first_bad"]
            raise RuleViolation(f"A2: the chain is broken at seq {bad['seq']} ({bad['reason']}); "
                                "a broken chain is not signed", field="org_id", rule="A2")
        now = utcnow()
        created_at = domain.timestamp(now)
        row = chain.add_checkpoint(
            s, org_id=org_id, seq=seq, head_hash=head_hash, created_at=now,
            signature=signing.sign(key, domain.checkpoint_payload(org_id, seq, head_hash, created_at)),
            public_key=signing.public_key_of(key), algorithm=domain.SIGNATURE_ALGORITHM,
            signed_by=actor.person_id)
        view = chain.checkpoint_view(row)
        # A2 (rollback): the RFC 6962 tree root of records 1..seq and a consistency proof from the
        # checkpoint signed before it, so a witness holding that root checks this one needs nothing more
        hashes = chain.record_hashes(s, org_id, seq)
        previous = chain.previous_checkpoint(s, org_id, seq)
        consistency = None
        if previous is not None:
            consistency = {"from_seq": previous.seq,
                           "from_tree_root": domain.merkle_root(hashes[:previous.seq]),
                           "proof": domain.consistency_proof(hashes, previous.seq)}
        uow.emit("checkpoint_signed", org_id, {
            "org_id": org_id, "seq": seq, "head_hash": head_hash, "created_at": view["created_at"],
            "signature": view["signature"], "public_key": view["public_key"], "algorithm": view["algorithm"],
            "tree_root": domain.merkle_root(hashes), "consistency": consistency,
        })
        return view

    @rpc
    def export(self, actor, org_id):
        """A2: the organization's chain as JSON lines (one canonical record per line, then a signed
        ``{"checkpoint": {...}}`` line), verifiable offline; confidential records exported are logged (A3)."""
        actor = Actor.from_dict(actor)
        args = load(schemas.OrgIn(), {"org_id": org_id})
        actor.require_org(args["org_id"], cross_org_read=True)
        actor.require(*domain.EXPORTERS, rule="A2", action="exporting the archive")
        refusal = None
        key = self._signing_key()
        with self.db.uow() as uow:
            s = uow.session
            checkpoint = self._checkpoint(uow, actor, args["org_id"], key)
            now = utcnow()
            records = []
            may_read_confidential = domain.may_read_content("confidential", actor)
            for row in chain.records_upto(s, args["org_id"], checkpoint["seq"]):
                if row.classification == "confidential":
                    chain.log_read(s, actor, row.org_id, row.id, "export", may_read_confidential, now)
                    if not may_read_confidential and refusal is None:
                        refusal = Forbidden("A3: the chain holds confidential records: exporting it needs a role "
                                            "that reads them", field="org_id", rule="A3")
                if refusal is None:
                    records.append(chain.as_record(row))
            text = None if refusal else domain.export_text(records, checkpoint)
        if refusal is not None:
            raise refusal
        return text

    @rpc
    def consistency_proof(self, actor, org_id, first_seq, second_seq):
        """A2: RFC 6962 proof that the chain up to ``first_seq`` is a prefix of the chain up to
        ``second_seq``: ``{"org_id", "first_seq", "second_seq", "first_tree_root", "second_tree_root",
        "proof": [hex]}`` (check with ``verify_consistency``; a witness keeps the roots it saw)."""
        actor = Actor.from_dict(actor)
        args = load(schemas.ConsistencyIn(), {"org_id": org_id, "first_seq": first_seq, "second_seq": second_seq},
                    rule="A2")
        actor.require_org(args["org_id"], cross_org_read=True)
        first, second = args["first_seq"], args["second_seq"]
        with self.db.read() as s:
            head_seq, _ = chain.head(s, args["org_id"])
            if not 0 <= first <= second <= head_seq:
                raise RuleViolation(f"A2: need 0 <= first_seq <= second_seq <= {head_seq} (the chain's length)",
                                    field="second_seq", rule="A2")
            hashes = chain.record_hashes(s, args["org_id"], second)
        return {"org_id": args["org_id"], "first_seq": first, "second_seq": second,
                "first_tree_root": domain.merkle_root(hashes[:first]), "second_tree_root": domain.merkle_root(hashes),
                "proof": domain.consistency_proof(hashes, first)}

    @rpc
    def transfer_package(self, actor, org_id, year):
        """A1/A2: every record an organization archived in ``year`` (UTC) for the records office.

        ``{"org_id", "year", "filename", "records", "first_seq", "last_seq", "package": JSON lines,
        "verifier": source of the standalone offline verifier, "public_key"}``; the package carries
        the year's signed checkpoints, the last (signed now if need be) at the year's last record.
        Confidential records need a role that reads them (A3; each logged).
        """
        actor = Actor.from_dict(actor)
        args = load(schemas.TransferIn(), {"org_id": org_id, "year": year}, rule="A1")
        domain.check_year(args["year"])
        actor.require_org(args["org_id"], cross_org_read=True)
        actor.require(*domain.EXPORTERS, rule="A2", action="handing over the archive")
        key = self._signing_key()
        refusal = None
        with self.db.uow() as uow:
            s = uow.session
            chain.begin_snapshot(s)
            span = chain.year_range(s, args["org_id"], args["year"])
            if span is None:
                raise NotFound(f"year: no record of {args['org_id']} archived in {args['year']}", field="year")
            first_seq, last_seq = span
            self._checkpoint(uow, actor, args["org_id"], key, at_seq=last_seq, snapshot=False)
            now = utcnow()
            may_read_confidential = domain.may_read_content("confidential", actor)
            records = []
            for row in chain.records_between(s, args["org_id"], first_seq, last_seq):
                if row.classification == "confidential":
                    chain.log_read(s, actor, row.org_id, row.id, "transfer_package", may_read_confidential, now)
                    if not may_read_confidential and refusal is None:
                        refusal = Forbidden("A3: the year holds confidential records: handing it over needs a role "
                                            "that reads them", field="org_id", rule="A3")
                if refusal is None:
                    records.append(chain.as_record(row))
            if refusal is None:
                previous = chain.record_at(s, args["org_id"], first_seq - 1) if first_seq > 1 else None
                header = {"format": domain.TRANSFER_FORMAT, "org_id": args["org_id"], "year": args["year"],
                          "first_seq": first_seq, "last_seq": last_seq, "records": len(records),
                          "prev_hash": previous.hash if previous else domain.GENESIS_HASH,
                          "generated_at": domain.timestamp(now),
                          "retention": {r["record_id"]: chain.retention_view_of(r["kind"], r["retention"])
                                        for r in records}}
                checkpoints = [chain.checkpoint_view(c)
                               for c in chain.checkpoints_between(s, args["org_id"], first_seq, last_seq)]
                text = domain.transfer_text(header, records, checkpoints)
        if refusal is not None:
            raise refusal
        return {"org_id": args["org_id"], "year": args["year"], "records": len(records),
                "first_seq": first_seq, "last_seq": last_seq,
                "filename": f"archive-{args['org_id']}-{args['year']}", "package": text,
                "verifier": verifier_source(), "public_key": signing.public_key_of(key)}

    # ------------------------------------------------------------ settings (A2)

    @rpc
    def hash_algorithm(self, actor, org_id):
        """A2: ``{"org_id", "algorithm", "configured": bool}`` (False: the service default applies)."""
        actor = Actor.from_dict(actor)
        args = load(schemas.OrgIn(), {"org_id": org_id})
        actor.require_org(args["org_id"], cross_org_read=True)
        with self.db.read() as s:
            chosen = chain.org_algorithm(s, args["org_id"])
        return {"org_id": args["org_id"], "algorithm": chosen or self.settings.algorithm,
                "configured": chosen is not None}

    @rpc
    def set_hash_algorithm(self, actor, org_id, algorithm):
        """A2: hash the organization's next records with ``algorithm`` (sha256 | sm3); earlier
        records keep theirs (verify handles mixed chains)."""
        actor = Actor.from_dict(actor)
        args = load(schemas.AlgorithmIn(), {"org_id": org_id, "algorithm": algorithm}, rule="A2")
        actor.require_org(args["org_id"])
        actor.require(*domain.SETTINGS_EDITORS, rule="A2", action="choosing the hash algorithm")
        with self.db.uow() as uow:
            chain.set_org_algorithm(uow.session, args["org_id"], args["algorithm"], actor.person_id, utcnow())
        return {"org_id": args["org_id"], "algorithm": args["algorithm"], "configured": True}


def _archiving_handler(source, event_type):
    def handler(self, envelope):
        self._archive(envelope, source, event_type)
    handler.__name__ = handler.__qualname__ = f"on_{event_type}"
    handler.__doc__ = f"A1: keep {source}.{event_type} as a {domain.archived_event(source, event_type).kind} record."
    return durable_event_handler(source, event_type)(handler)


# A1: one durable consumer (own quorum queue, inbox de-duplication) per archived event type,
# named as shared/topology.py subscribes it
for _source, _event_type in domain.ARCHIVED_EVENTS:
    setattr(ArchiveService, f"on_{_event_type}", _archiving_handler(_source, _event_type))


def verifier_source():
    """The standalone offline verifier handed over with every transfer package: the file anyone
    runs as ``tools/verify_export.py`` (a link to it), shipped inside this package so the image
    has it."""
    return (Path(__file__).parent / "offline_verifier.py").read_text(encoding="utf-8")


def _same_org(actor, org_id, cross_org_read=False):
    try:
        actor.require_org(org_id, cross_org_read=cross_org_read)
        return True
    except Forbidden:
        return False


def _emit_archived(uow, rec, subject_id):
    uow.emit("record_archived", rec["org_id"], {
        "record_id": rec["record_id"], "seq": rec["seq"], "kind": rec["kind"],
        "classification": rec["classification"], "source_event_id": rec["source_event_id"],
        "subject_id": subject_id, "hash": rec["hash"], "algorithm": rec["algorithm"],
        "corrects": rec["corrects"],
    })
