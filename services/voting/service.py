"""Voting service: thin nameko entrypoints over ``domain``.

Each command: validate (marshmallow) -> check the actor -> domain rules ->
write state and its events in one transaction (outbox).  Nothing here logs a
voter's id together with anything about a secret ballot (V8).
"""
import random
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services.voting import domain, models, schemas
from shared.actor import Actor
from shared.clock import iso, utcnow
from shared.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from shared.nameko_ext import Database, HealthMixin, ServiceRpc, rpc
from shared.validation import load


def _new_id():
    return str(uuid.uuid4())


class VotingService(HealthMixin):
    name = "voting"
    db = Database(models, Path(__file__).parent / "migrations")
    meetings = ServiceRpc("meetings")

    @rpc
    def open_ballot(self, actor, data):
        """Open a ballot on one agenda item: chair only (M1), one open per item (V4), quorum again (M8).

        The attendance snapshot is taken from meetings (outside the transaction) and copied
        into the ballot's electorate: N, who is present, who is on leave with which opinion.
        """
        actor = Actor.from_dict(actor)
        data = load(schemas.OpenBallotIn(), data)
        snapshot = _snapshot(self.meetings.attendance_snapshot(actor.to_dict(), data["meeting_id"],
                                                               data["topic_id"]))
        if snapshot["org_id"] != actor.org_id and "system" not in actor.roles:
            raise NotFound("meeting_id: no such meeting", field="meeting_id")
        electorate = domain.electorate_from_snapshot(snapshot["members"])
        topic = snapshot["topic"]
        now = utcnow()
        ballot_id = _new_id()
        with self.db.uow() as uow:
            s = uow.session
            open_id = s.execute(sa.select(models.Ballot.id)
                                .where(models.Ballot.open_item_id == topic["topic_id"])).scalar()
            present = domain.check_open(actor.person_id, actor.roles, snapshot["chair_person_id"],
                                        data["method"], snapshot["n"], electorate, open_id)
            ballot = models.Ballot(
                id=ballot_id, org_id=snapshot["org_id"], meeting_id=snapshot["meeting_id"],
                agenda_item_id=topic["topic_id"], open_item_id=topic["topic_id"], title=topic["title"],
                category=topic["category"], method=data["method"], emergency=snapshot["emergency"],
                chair_person_id=snapshot["chair_person_id"], n=snapshot["n"], present=present,
                status=domain.OPEN, opened_by=actor.person_id, opened_at=now)
            s.add(ballot)
            try:
                s.flush()   # V4: the unique open_item_id refuses a concurrent second open ballot
            except IntegrityError:
                raise Conflict("V4: another ballot on this agenda item is open; items are voted "
                               "one ballot at a time", field="topic_id", rule="V4") from None
            s.add_all(models.Elector(ballot_id=ballot_id, person_id=e.person_id, role=e.role,
                                     presence=e.presence, written_opinion=e.written_opinion)
                      for e in electorate.values())
            uow.emit("ballot_opened", ballot.org_id, {
                "ballot_id": ballot_id, "meeting_id": ballot.meeting_id, "agenda_item_id": ballot.agenda_item_id,
                "title": ballot.title, "category": ballot.category, "method": ballot.method,
                "n": ballot.n, "present": present,
                "eligible": sorted(pid for pid, e in electorate.items() if e.may_vote),
            })
        with self.db.read() as s:
            return _ballot_view(s, s.get(models.Ballot, ballot_id))

    @rpc
    def cast_vote(self, actor, ballot_id, data):
        """V1: a present group member votes once; V8: a secret choice goes into the box, unlinked.

        Returns only the count of votes cast, never anyone's choice.
        """
        actor = Actor.from_dict(actor)
        data = load(schemas.CastVoteIn(), data)
        opinion = domain.clean_opinion(data["reserved_opinion"])
        with self.db.uow() as uow:
            s = uow.session
            # shared lock: votes go in side by side, but not past a closing ballot (V9)
            ballot = _ballot_for(s, actor, ballot_id, lock="share")
            row = s.get(models.Elector, (ballot.id, actor.person_id))
            elector = domain.Elector(row.person_id, row.role, row.presence, row.written_opinion) if row else None
            already = s.get(models.Participation, (ballot.id, actor.person_id)) is not None
            domain.check_can_vote(elector, ballot.status, already, data["choice"])
            s.add(models.Participation(ballot_id=ballot.id, person_id=actor.person_id, reserved_opinion=opinion))
            if ballot.method == "secret":
                s.add(models.BoxEntry(id=_new_id(), ballot_id=ballot.id, choice=data["choice"]))
            else:
                s.add(models.OpenVote(ballot_id=ballot.id, person_id=actor.person_id, choice=data["choice"]))
            try:
                s.flush()   # V1: the roll's key (ballot_id, person_id) refuses a concurrent second vote
            except IntegrityError:
                raise Conflict("V1: one person, one vote: you have already voted on this ballot",
                               field="actor", rule="V1") from None
            votes_cast = _votes_cast(s, ballot.id)
        return {"ballot_id": ballot.id, "votes_cast": votes_cast}

    @rpc
    def close_ballot(self, actor, ballot_id):
        """V9: the chair closes; the system tallies the stored votes; V3 decides; closed is final."""
        actor = Actor.from_dict(actor)
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            ballot = _ballot_for(s, actor, ballot_id, lock="update")
            domain.check_close(actor.person_id, actor.roles, ballot.chair_person_id, ballot.status)
            secret = ballot.method == "secret"
            roll = s.execute(sa.select(models.Participation)
                             .where(models.Participation.ballot_id == ballot.id)).scalars().all()
            if secret:
                choices = s.execute(sa.select(models.BoxEntry.choice)
                                    .where(models.BoxEntry.ballot_id == ballot.id)).scalars().all()
                _reshuffle_box(s, ballot.id, choices)
            else:
                choices = s.execute(sa.select(models.OpenVote.choice)
                                    .where(models.OpenVote.ballot_id == ballot.id)).scalars().all()
            counts = domain.tally(choices)
            domain.check_tally(counts, len(roll))
            figures = domain.decide(counts, ballot.n, ballot.present)
            decision = models.Decision(
                id=_new_id(), ballot_id=ballot.id, org_id=ballot.org_id, meeting_id=ballot.meeting_id,
                agenda_item_id=ballot.agenda_item_id, title=ballot.title, category=ballot.category,
                method=ballot.method, emergency=ballot.emergency, n=figures["n"], present=figures["present"],
                yes=figures["yes"], no=figures["no"], abstain=figures["abstain"], threshold=figures["threshold"],
                outcome=figures["outcome"], superseded_decision_id=None, explanation=figures["explanation"],
                decided_at=now)
            s.add(decision)
            ballot.status = domain.CLOSED
            ballot.open_item_id = None
            ballot.closed_at = now
            s.flush()
            view = _decision_view(s, decision, ballot)
            uow.emit("ballot_closed", ballot.org_id, {
                "ballot_id": ballot.id, "decision_id": decision.id, "outcome": decision.outcome})
            result = {k: v for k, v in view.items() if k != "explanation"}
            uow.emit("result_decided", ballot.org_id, result)
        return view

    @rpc
    def get_ballot(self, actor, ballot_id):
        actor = Actor.from_dict(actor)
        with self.db.read() as s:
            return _ballot_view(s, _ballot_for(s, actor, ballot_id, cross_org_read=True))

    @rpc
    def get_decision(self, actor, decision_id):
        actor = Actor.from_dict(actor)
        with self.db.read() as s:
            decision = s.get(models.Decision, decision_id) if isinstance(decision_id, str) else None
            if decision is None or not _may_see(actor, decision.org_id, cross_org_read=True):
                raise NotFound("decision_id: no such decision", field="decision_id")
            return _decision_view(s, decision, s.get(models.Ballot, decision.ballot_id))


# ---------------------------------------------------------------- helpers

def _snapshot(raw):
    """The meetings answer, checked: a malformed one is the upstream's fault, not the caller's."""
    try:
        return load(schemas.AttendanceSnapshot(), raw)
    except ValidationFailed as exc:
        raise ServiceUnavailable(f"the meetings service gave a malformed attendance snapshot ({exc.message})",
                                 field=None, rule=None) from None


def _may_see(actor, org_id, cross_org_read=False):
    try:
        actor.require_org(org_id, cross_org_read=cross_org_read)
        return True
    except Exception:
        return False


def _ballot_for(s, actor, ballot_id, lock=None, cross_org_read=False):
    """The ballot, or NotFound (also for another organization's ballot, which is not revealed)."""
    if not isinstance(ballot_id, str) or not ballot_id:
        raise NotFound("ballot_id: no such ballot", field="ballot_id")
    query = sa.select(models.Ballot).where(models.Ballot.id == ballot_id)
    if lock == "share":
        query = query.with_for_update(read=True)
    elif lock == "update":
        query = query.with_for_update()
    ballot = s.execute(query).scalar()
    if ballot is None or not _may_see(actor, ballot.org_id, cross_org_read=cross_org_read):
        raise NotFound("ballot_id: no such ballot", field="ballot_id")
    return ballot


def _votes_cast(s, ballot_id):
    return s.execute(sa.select(sa.func.count()).select_from(models.Participation)
                     .where(models.Participation.ballot_id == ballot_id)).scalar_one()


def _reshuffle_box(s, ballot_id, choices):
    """V8: rewrite the closed secret ballot's box with fresh random keys in key order, so neither
    the storage order nor the writing transaction ties an entry to the vote that cast it."""
    box = models.BoxEntry.__table__
    s.execute(box.delete().where(box.c.ballot_id == ballot_id))
    shuffled = list(choices)
    random.SystemRandom().shuffle(shuffled)
    rows = sorted(({"id": _new_id(), "ballot_id": ballot_id, "choice": c} for c in shuffled),
                  key=lambda r: r["id"])
    if rows:
        s.execute(box.insert(), rows)


def _electorate(s, ballot_id):
    rows = s.execute(sa.select(models.Elector).where(models.Elector.ballot_id == ballot_id)).scalars()
    return {r.person_id: domain.Elector(r.person_id, r.role, r.presence, r.written_opinion) for r in rows}


def _ballot_view(s, ballot):
    electorate = _electorate(s, ballot.id)
    decision_id = s.execute(sa.select(models.Decision.id)
                            .where(models.Decision.ballot_id == ballot.id)).scalar()
    return {
        "ballot_id": ballot.id, "org_id": ballot.org_id, "meeting_id": ballot.meeting_id,
        "agenda_item_id": ballot.agenda_item_id, "title": ballot.title, "category": ballot.category,
        "method": ballot.method, "emergency": ballot.emergency, "status": ballot.status,
        "chair_person_id": ballot.chair_person_id, "n": ballot.n, "present": ballot.present,
        "votes_cast": _votes_cast(s, ballot.id),
        "eligible": sorted(pid for pid, e in electorate.items() if e.may_vote),
        "opened_at": iso(ballot.opened_at), "closed_at": iso(ballot.closed_at),
        "decision_id": decision_id,
    }


def _decision_view(s, decision, ballot):
    """The ``result_decided`` payload plus the V3 explanation."""
    secret = decision.method == "secret"
    roll = s.execute(sa.select(models.Participation)
                     .where(models.Participation.ballot_id == ballot.id)).scalars().all()
    stances = {} if secret else dict(
        s.execute(sa.select(models.OpenVote.person_id, models.OpenVote.choice)
                  .where(models.OpenVote.ballot_id == ballot.id)).all())
    members = domain.member_lines(_electorate(s, ballot.id), {p.person_id for p in roll},
                                  {p.person_id: p.reserved_opinion for p in roll}, stances, secret)
    return {
        "decision_id": decision.id, "ballot_id": decision.ballot_id, "meeting_id": decision.meeting_id,
        "agenda_item_id": decision.agenda_item_id, "title": decision.title, "category": decision.category,
        "method": decision.method, "emergency": decision.emergency, "n": decision.n,
        "present": decision.present, "yes": decision.yes, "no": decision.no, "abstain": decision.abstain,
        "threshold": decision.threshold, "outcome": decision.outcome,
        "superseded_decision_id": decision.superseded_decision_id, "decided_at": iso(decision.decided_at),
        "members": members, "explanation": decision.explanation,
    }
