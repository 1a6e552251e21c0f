"""Archive service: thin nameko entrypoints over ``domain`` and ``chain``.

Consumes ``voting.result_decided`` into each organization's hash chain (A1, A2)
and answers reads and verification (A2, A3).
"""
import uuid
from pathlib import Path

from services.archive import chain, domain, models, schemas
from shared.actor import Actor
from shared.clock import utcnow
from shared.errors import DomainError, Forbidden, NotFound
from shared.nameko_ext import Database, HealthMixin, PoisonMessage, durable_event_handler, rpc
from shared.validation import load

HANDLER = "archive.on_result_decided"


class ArchiveService(HealthMixin):
    name = "archive"
    db = Database(models, Path(__file__).parent / "migrations")

    # ------------------------------------------------------------ events in (A1, A2)

    @durable_event_handler("voting", "result_decided")
    def on_result_decided(self, envelope):
        """A1: keep the decision (tally, members, reserved opinions) for ever, once per event."""
        org_id = envelope.get("org_id")
        data = envelope["data"]
        try:
            if not isinstance(org_id, str) or not org_id:
                raise PoisonMessage("A2: a decision without org_id has no chain to join")
            load(schemas.ResultDecidedData(), data, rule="A1")
            domain.check_secrecy(data)                      # V8
            domain.canonical_json(data)                     # A2: hashable, or refused now
        except (DomainError, domain.CanonicalizationError) as exc:
            raise PoisonMessage(str(exc)) from None
        now = utcnow()
        with self.db.uow() as uow:
            if not uow.first_time(envelope["event_id"], HANDLER):
                return                                       # duplicate delivery: already archived
            rec = chain.append(uow.session, org_id=org_id, kind="decision", subject_id=data["decision_id"],
                               source_event_id=str(envelope["event_id"]), content=data,
                               record_id=str(uuid.uuid4()), now=now)
            uow.emit("record_archived", org_id, {
                "record_id": rec["record_id"], "seq": rec["seq"], "kind": rec["kind"],
                "classification": rec["classification"], "source_event_id": rec["source_event_id"],
                "subject_id": data["decision_id"], "hash": rec["hash"], "algorithm": rec["algorithm"],
            })

    # ------------------------------------------------------------ reads (A3)

    @rpc
    def list_records(self, actor, org_id, limit=50, offset=0):
        """An organization's records in chain order; content only where A3 allows it."""
        actor = Actor.from_dict(actor)
        args = load(schemas.ListIn(), {"org_id": org_id, "limit": limit, "offset": offset})
        actor.require_org(args["org_id"], cross_org_read=True)
        with self.db.read() as s:
            total = chain.count(s, args["org_id"])
            rows = chain.page(s, args["org_id"], args["limit"], args["offset"])
            items = [chain.view(r, with_content=domain.may_read_content(r.classification)) for r in rows]
        return {"items": items, "total": total}

    @rpc
    def get_record(self, actor, record_id):
        actor = Actor.from_dict(actor)
        args = load(schemas.RecordIdIn(), {"record_id": record_id})
        with self.db.read() as s:
            row = _readable(actor, chain.get(s, args["record_id"]), "record_id", "no such record")
            return chain.view(row)

    @rpc
    def find_by_source(self, actor, source_event_id):
        """The record made from one event (e.g. a ``result_decided`` event id)."""
        actor = Actor.from_dict(actor)
        args = load(schemas.SourceIn(), {"source_event_id": source_event_id})
        with self.db.read() as s:
            row = _readable(actor, chain.by_source(s, args["source_event_id"]), "source_event_id",
                            "no record from this event")
            return chain.view(row)

    @rpc
    def record_for_decision(self, actor, decision_id):
        """A1: the archived decision (tally, members, reserved opinions)."""
        actor = Actor.from_dict(actor)
        args = load(schemas.DecisionIdIn(), {"decision_id": decision_id})
        with self.db.read() as s:
            row = _readable(actor, chain.latest_for_subject(s, "decision", args["decision_id"]), "decision_id",
                            "no archived record for this decision")
            return chain.view(row)

    # ------------------------------------------------------------ verification (A2)

    @rpc
    def verify(self, actor, org_id):
        """A2: ``{"org_id", "ok", "records", "first_bad": None | {"seq", "record_id", "reason"}}``."""
        actor = Actor.from_dict(actor)
        args = load(schemas.OrgIn(), {"org_id": org_id})
        actor.require_org(args["org_id"], cross_org_read=True)
        with self.db.read() as s:
            return chain.verify_org(s, args["org_id"])


def _readable(actor, row, field, message):
    """Another organization's record is not revealed to exist (AUTH); A3 guards the content."""
    if row is None:
        raise NotFound(f"{field}: {message}", field=field)
    try:
        actor.require_org(row.org_id, cross_org_read=True)
    except Forbidden:
        raise NotFound(f"{field}: {message}", field=field) from None
    domain.check_read(row.classification)
    return row
