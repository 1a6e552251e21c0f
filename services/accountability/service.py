"""Accountability service: thin nameko entrypoints over ``domain``.

Consumes ``voting.result_decided`` and keeps, for ever, who took part in each
decision and how (C1, C2); answers who would bear responsibility if the
decision were judged a major error (C3).
"""
import logging
from pathlib import Path

import sqlalchemy as sa

from services.accountability import domain, models, schemas
from shared.actor import Actor
from shared.clock import iso, utcnow
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.nameko_ext import Database, HealthMixin, PoisonMessage, durable_event_handler, rpc
from shared.validation import load

log = logging.getLogger(__name__)

HANDLER = "accountability.on_result_decided"


class AccountabilityService(HealthMixin):
    name = "accountability"
    db = Database(models, Path(__file__).parent / "migrations")

    # ------------------------------------------------------------ events

    @durable_event_handler("voting", "result_decided")
    def on_result_decided(self, envelope):
        """C1: link the decision to every group member, once, whatever the redeliveries."""
        try:
            if not envelope.get("org_id"):
                raise ValidationFailed("C1: org_id: a decision belongs to an organization",
                                       field="org_id", rule="C1")
            data = load(schemas.ResultDecidedIn(), envelope["data"], rule="C1")
            links = domain.links_from_result(data)
        except ValidationFailed as exc:
            # never retried: a malformed result goes to the dead-letter queue at once
            raise PoisonMessage(f"result_decided {envelope['event_id']}: {exc.message}") from None
        org_id = envelope["org_id"]
        with self.db.uow() as uow:
            if not uow.first_time(envelope["event_id"], HANDLER):
                return
            s = uow.session
            if s.get(models.Decision, data["decision_id"]) is not None:
                # the same decision under another event: links are never rewritten (C2)
                log.warning("decision %s already linked; event %s ignored",
                            data["decision_id"], envelope["event_id"])
                return
            s.add(models.Decision(
                id=data["decision_id"], org_id=org_id, meeting_id=data["meeting_id"],
                ballot_id=data["ballot_id"], agenda_item_id=data["agenda_item_id"],
                title=data["title"], category=data["category"], method=data["method"],
                emergency=data["emergency"], outcome=data["outcome"], n=data["n"],
                present=data["present"], yes=data["yes"], no=data["no"], abstain=data["abstain"],
                superseded_decision_id=data["superseded_decision_id"], decided_at=data["decided_at"],
                source_event_id=envelope["event_id"], recorded_at=utcnow()))
            s.flush()   # the decision row before its links (foreign key)
            for link in links:
                s.add(models.ResponsibilityLink(decision_id=data["decision_id"], org_id=org_id,
                                                decided_at=data["decided_at"], **link))
            uow.emit("responsibility_linked", org_id, {
                "decision_id": data["decision_id"], "links": len(links),
            })

    # ------------------------------------------------------------ queries

    @rpc
    def decision_links(self, actor, decision_id):
        """C1/C3: the decision and each member's link, with the C3 proposal."""
        actor = Actor.from_dict(actor)
        with self.db.read() as s:
            decision = s.get(models.Decision, decision_id) if isinstance(decision_id, str) else None
            if decision is None:
                raise NotFound("C1: decision_id: no such decision", field="decision_id", rule="C1")
            try:
                actor.require_org(decision.org_id, cross_org_read=True)
            except Forbidden:
                # another organization's decision is not revealed to exist
                raise NotFound("C1: decision_id: no such decision", field="decision_id", rule="C1") from None
            links = s.execute(sa.select(models.ResponsibilityLink)
                              .where(models.ResponsibilityLink.decision_id == decision.id)
                              .order_by(models.ResponsibilityLink.person_id)).scalars().all()
            return {"decision": _decision(decision), "links": [_link(link, decision.method) for link in links]}

    @rpc
    def person_record(self, actor, person_id, limit=50, offset=0):
        """C2: a person's lifetime record across organizations, newest first."""
        actor = Actor.from_dict(actor)
        if not isinstance(person_id, str) or not person_id:
            raise ValidationFailed("C2: person_id: required", field="person_id", rule="C2")
        domain.check_page(limit, offset)
        org_scope = domain.record_scope(actor, person_id)
        L, D = models.ResponsibilityLink, models.Decision
        where = [L.person_id == person_id]
        if org_scope is not None:
            where.append(L.org_id == org_scope)
        with self.db.read() as s:
            total = s.execute(sa.select(sa.func.count()).select_from(L).where(*where)).scalar_one()
            rows = s.execute(sa.select(L, D).join(D, D.id == L.decision_id).where(*where)
                             .order_by(L.decided_at.desc(), L.decision_id.desc())
                             .limit(limit).offset(offset)).all()
            items = [{
                "decision_id": d.id, "org_id": d.org_id, "meeting_id": d.meeting_id, "title": d.title,
                "category": d.category, "method": d.method, "outcome": d.outcome,
                "decided_at": iso(d.decided_at), "presence": link.presence,
                "stance": domain.stance_label(_as_dict(link), d.method),
                "reserved_opinion": link.reserved_opinion, "written_opinion": link.written_opinion,
                "participant": link.participant,
            } for link, d in rows]
        return {"person_id": person_id, "total": total, "limit": limit, "offset": offset, "items": items}


# ---------------------------------------------------------------- views

def _as_dict(link):
    return {"person_id": link.person_id, "presence": link.presence, "stance": link.stance, "voted": link.voted,
            "reserved_opinion": link.reserved_opinion, "written_opinion": link.written_opinion,
            "participant": link.participant}


def _link(link, method):
    view = _as_dict(link)
    view["stance"] = domain.stance_label(view, method)
    view["proposed_if_major_error"] = domain.proposed_responsibility(_as_dict(link), method)
    return view


def _decision(d):
    return {"decision_id": d.id, "org_id": d.org_id, "meeting_id": d.meeting_id, "ballot_id": d.ballot_id,
            "agenda_item_id": d.agenda_item_id, "title": d.title, "category": d.category, "method": d.method,
            "emergency": d.emergency, "outcome": d.outcome, "n": d.n, "present": d.present, "yes": d.yes,
            "no": d.no, "abstain": d.abstain, "superseded_decision_id": d.superseded_decision_id,
            "decided_at": iso(d.decided_at)}
