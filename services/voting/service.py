"""Voting service: thin nameko entrypoints over ``domain``.

Each command: validate (marshmallow) -> check the actor -> domain rules ->
write state and its events in one transaction (outbox).  Nothing here logs a
voter's id together with anything about a secret ballot (V8); a secret choice is stored
only sealed under the ballot key (``ballot_key``), which is never in the database.
"""
import logging
import os
import random
import uuid
from pathlib import Path

import sqlalchemy as sa
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from sqlalchemy.exc import IntegrityError

from services.voting import ballot_key, domain, models, schemas
from shared.actor import Actor
from shared.clock import iso, utcnow
from shared.errors import Conflict, NotFound, RuleViolation, ServiceUnavailable, ValidationFailed
from shared.nameko_ext import Database, HealthMixin, PoisonMessage, ServiceRpc, durable_event_handler, rpc
from shared.paging import SEARCH_LIMIT, after, contains, decode_cursor, page_of, search_text
from shared.validation import load


log = logging.getLogger(__name__)


def _new_id():
    return str(uuid.uuid4())


class BallotKeyProvider(DependencyProvider):
    """V8: the Paillier key pair that seals secret choices, read (or made) when the service
    starts, before any entrypoint runs; never stored in the voting database.

    ``VOTING_BALLOT_KEY_FILE`` names the secret file holding it (what deployments provide,
    shared by every replica); ``VOTING_REQUIRE_BALLOT_KEY`` set and no file named stops the
    service; unset (development), a key file ``voting-ballot.key`` (mode 0600) is made once in
    ``DATA_DIR``.  ``VOTING_BALLOT_KEY_BITS`` (default 2048): the size of a key made, and the
    least a key file may hold.  A missing, malformed or too short key stops the service.
    Read from the service configuration, else the environment.
    """

    def setup(self):
        config = self.container.config

        def setting(name):
            return config.get(name) or os.environ.get(name) or None

        try:
            bits = int(setting("VOTING_BALLOT_KEY_BITS") or ballot_key.DEFAULT_BITS)
        except ValueError:
            raise ballot_key.BallotKeyError("V8: VOTING_BALLOT_KEY_BITS must be a whole number of bits") from None
        if bits < ballot_key.MIN_BITS:
            raise ballot_key.BallotKeyError(f"V8: VOTING_BALLOT_KEY_BITS must be at least {ballot_key.MIN_BITS}")
        key_file = setting("VOTING_BALLOT_KEY_FILE")
        if key_file:
            self.key = ballot_key.key_from_file(key_file, bits=bits)
        elif str(setting("VOTING_REQUIRE_BALLOT_KEY") or "").lower() in ("1", "true", "yes"):
            raise ballot_key.BallotKeyError("V8: VOTING_BALLOT_KEY_FILE must name the ballot key's secret file")
        else:
            data_dir = Path(setting("DATA_DIR") or Path(__file__).resolve().parents[2] / "data")
            self.key = ballot_key.key_from_file(data_dir / "voting-ballot.key", create=True, bits=bits)
        log.info("secret ballots are sealed under ballot key %s (%d bits)", self.key.key_id, self.key.bits)

    def get_dependency(self, worker_ctx):
        return self.key


class VotingService(HealthMixin):
    name = "voting"
    db = Database(models, Path(__file__).parent / "migrations")
    meetings = ServiceRpc("meetings")
    config = Config()
    ballot_key = BallotKeyProvider()

    @rpc
    def open_ballot(self, actor, data):
        """Open a ballot on one agenda item: chair only (M1), one open per item (V4), quorum again (M8),
        one candidate per personnel ballot (V4), optionally re-voting a deferred ballot (V5).

        The attendance snapshot is taken from meetings (outside the transaction) and copied
        into the ballot's electorate: N, who is present, who is on leave with which opinion.
        """
        actor = Actor.from_dict(actor)
        data = load(schemas.OpenBallotIn(), data)
        return self._open(actor, data)

    @rpc
    def open_reconsideration(self, actor, data):
        """V7: with the secretary's approval, open a ballot reconsidering a decision in force.

        The old decision stays in force until this ballot passes (see ``close_ballot``).
        """
        actor = Actor.from_dict(actor)
        data = load(schemas.ReconsiderationIn(), data, rule="V7")
        with self.db.read() as s:
            old = s.get(models.Decision, data["decision_id"])
            if old is None or not _may_see(actor, old.org_id):
                raise NotFound("decision_id: no such decision", field="decision_id")
            open_id = s.execute(sa.select(models.Ballot.id)
                                .where(models.Ballot.open_reconsideration_of == old.id)).scalar()
            reason = domain.check_reconsideration(actor.roles, data["approved_by_secretary"], {
                "outcome": old.outcome, "superseded_by": old.superseded_by, "open_reconsideration": open_id},
                data["reason"])
            old_id = old.id
        # the unique ``open_reconsideration_of`` refuses a concurrent second one; ``_conclude`` checks
        # the old decision again under a row lock before superseding it
        return self._open(actor, data, reconsiders=(old_id, reason))

    def _open(self, actor, data, reconsiders=None):
        snapshot = _snapshot(self.meetings.attendance_snapshot(actor.to_dict(), data["meeting_id"],
                                                               data["topic_id"]))
        if snapshot["org_id"] != actor.org_id and "system" not in actor.roles:
            raise NotFound("meeting_id: no such meeting", field="meeting_id")
        electorate = domain.electorate_from_snapshot(snapshot["members"])
        topic = snapshot["topic"]
        candidate = domain.check_candidates(topic["category"], data["candidates"], topic["candidate_person_id"])
        now = utcnow()
        ballot_id = _new_id()
        with self.db.uow() as uow:
            s = uow.session
            open_id = s.execute(sa.select(models.Ballot.id)
                                .where(models.Ballot.open_item_id == topic["topic_id"])).scalar()
            # V4 回避: the item's candidate and the members who declared a conflict take no part in it
            declared = set(s.execute(sa.select(models.ConflictDeclaration.person_id).where(
                models.ConflictDeclaration.agenda_item_id == topic["topic_id"])).scalars())
            electorate = domain.with_recusals(electorate, domain.recused_members(electorate, candidate, declared))
            present = domain.check_open(actor.person_id, actor.roles, snapshot["chair_person_id"],
                                        data["method"], snapshot["n"], electorate, open_id)
            n_item, _ = domain.item_figures(snapshot["n"], electorate)
            if data["previous_ballot_id"] is not None:
                domain.check_revote(snapshot["org_id"], _previous(s, data["previous_ballot_id"]),
                                    snapshot["meeting_id"], topic["category"])
            if reconsiders and s.execute(sa.select(models.Decision.superseded_by)
                                         .where(models.Decision.id == reconsiders[0])).scalar():
                raise RuleViolation("V7: the decision was superseded meanwhile", field="decision_id", rule="V7")
            policy = s.get(models.Policy, snapshot["org_id"])
            ballot = models.Ballot(
                id=ballot_id, org_id=snapshot["org_id"], meeting_id=snapshot["meeting_id"],
                agenda_item_id=topic["topic_id"], open_item_id=topic["topic_id"], title=topic["title"],
                category=topic["category"], method=data["method"], emergency=snapshot["emergency"],
                chair_person_id=snapshot["chair_person_id"], n=n_item, present=present,
                status=domain.OPEN, opened_by=actor.person_id, opened_at=now,
                candidate_person_id=candidate, previous_ballot_id=data["previous_ballot_id"],
                reconsiders_decision_id=reconsiders[0] if reconsiders else None,
                open_reconsideration_of=reconsiders[0] if reconsiders else None,
                reconsideration_reason=reconsiders[1] if reconsiders else None,
                disagreement_ratio=policy.disagreement_ratio if policy else domain.DEFAULT_DISAGREEMENT_RATIO,
                # V8: the key a secret box is sealed under (its public fingerprint)
                box_key=self.ballot_key.key_id if data["method"] == "secret" else None)
            s.add(ballot)
            try:
                s.flush()   # the unique keys refuse concurrent duplicates (V4 item, V5 re-vote, V7)
            except IntegrityError:
                s.rollback()
                raise _open_conflict(s, ballot) from None
            # V5, V7 (I2): checked after the insert, which waits on the item's unique key while another
            # ballot on it closes, so the decision that ballot wrote is seen here
            domain.check_item_open(snapshot["meeting_id"], _item_decisions(s, topic["topic_id"]),
                                   reconsiders[0] if reconsiders else None)
            s.add_all(models.Elector(ballot_id=ballot_id, person_id=e.person_id, role=e.role,
                                     presence=e.presence, written_opinion=e.written_opinion, recused=e.recused)
                      for e in electorate.values())
            uow.emit("ballot_opened", ballot.org_id, {
                "ballot_id": ballot_id, "meeting_id": ballot.meeting_id, "agenda_item_id": ballot.agenda_item_id,
                "title": ballot.title, "category": ballot.category, "method": ballot.method,
                "n": ballot.n, "present": present,
                "eligible": sorted(pid for pid, e in electorate.items() if e.may_vote),
                "recused": sorted(pid for pid, e in electorate.items() if e.recused),
            })
        with self.db.read() as s:
            return _ballot_view(s, s.get(models.Ballot, ballot_id))

    @rpc
    def cast_vote(self, actor, ballot_id, data):
        """V1: a present group member votes once; V8: a secret choice goes into the box sealed
        under the ballot key (a randomised Paillier ciphertext), never in clear.

        Returns only the count of votes cast, never anyone's choice.
        """
        actor = Actor.from_dict(actor)
        data = load(schemas.CastVoteIn(), data)
        opinion = domain.clean_opinion(data["reserved_opinion"])
        with self.db.read() as s:
            known = _ballot_for(s, actor, ballot_id)
            meeting_id, secret = known.meeting_id, known.method == "secret"
        # V8: sealed before the transaction (a few ms of CPU), so no lock waits on it
        sealed = self.ballot_key.seal(data["choice"]) if secret else None
        # V1, M8 (I3): the meeting open and the voter present at this moment, as meetings knows it now
        now = self._presence_now(actor, meeting_id, actor.person_id)
        domain.check_in_session(now["meeting_status"], now["presence"])
        with self.db.uow() as uow:
            s = uow.session
            # shared lock: votes go in side by side, but not past a closing ballot (V9)
            ballot = _ballot_for(s, actor, ballot_id, lock="share")
            if secret:
                _check_box_key(ballot, self.ballot_key)
            row = s.get(models.Elector, (ballot.id, actor.person_id))
            elector = domain.Elector(row.person_id, row.role, row.presence, row.written_opinion, row.recused) if row else None
            already = s.get(models.Participation, (ballot.id, actor.person_id)) is not None
            domain.check_can_vote(elector, ballot.status, already, data["choice"],
                                  counts_recorded=ballot.count_yes is not None)
            s.add(models.Participation(ballot_id=ballot.id, person_id=actor.person_id, reserved_opinion=opinion))
            if secret:
                s.add(models.BoxEntry(id=_new_id(), ballot_id=ballot.id, sealed=sealed))
            else:
                s.add(models.OpenVote(ballot_id=ballot.id, person_id=actor.person_id, choice=data["choice"]))
            try:
                s.flush()   # V1: the roll's key (ballot_id, person_id) refuses a concurrent second vote
            except IntegrityError:
                raise Conflict("V1: one person, one vote: you have already voted on this ballot",
                               field="actor", rule="V1") from None
            votes_cast = _votes_cast(s, ballot)
        return {"ballot_id": ballot.id, "votes_cast": votes_cast}

    @rpc
    def record_votes(self, actor, ballot_id, data):
        """V2: the chair (or a confidential secretary) records an oral / show-of-hands vote —
        per person ``{choices: {person_id: choice}}`` (V1 still holds for each), or only
        ``{counts: {yes, no, abstain}}`` if the organization chooses.  All or nothing."""
        actor = Actor.from_dict(actor)
        data = load(schemas.RecordVotesIn(), data, rule="V2")
        if (data["choices"] is None) == (data["counts"] is None):
            raise ValidationFailed("choices: give either choices per person or counts, not both",
                                   field="choices", rule="V2")
        # V1, M8: recorded only while the meeting is open, each named member present at this moment
        meeting_id = self._meeting_of(actor, ballot_id)
        domain.check_in_session(self._presence_now(actor, meeting_id, actor.person_id)["meeting_status"],
                                voter=False)
        for pid in sorted(data["choices"] or ()):
            now = self._presence_now(actor, meeting_id, pid)
            domain.check_in_session(now["meeting_status"], now["presence"], field=f"choices.{pid}")
        with self.db.uow() as uow:
            s = uow.session
            ballot = _ballot_for(s, actor, ballot_id, lock="update")
            domain.check_recorder(actor.person_id, actor.roles, ballot.chair_person_id, ballot.method, ballot.status)
            counted = ballot.count_yes is not None
            if data["choices"] is not None:
                voted = set(s.execute(sa.select(models.Participation.person_id)
                                      .where(models.Participation.ballot_id == ballot.id)).scalars())
                domain.check_record_choices(_electorate(s, ballot.id), voted, data["choices"], counted)
                for pid, choice in sorted(data["choices"].items()):
                    s.add(models.Participation(ballot_id=ballot.id, person_id=pid, reserved_opinion=None))
                    s.add(models.OpenVote(ballot_id=ballot.id, person_id=pid, choice=choice,
                                          recorded_by=actor.person_id))
                try:
                    s.flush()
                except IntegrityError:
                    raise Conflict("V1: one person, one vote: a member named has already voted on this ballot",
                                   field="choices", rule="V1") from None
            else:
                counts = data["counts"]
                domain.check_record_counts(counts, ballot.present, _votes_cast(s, ballot), counted)
                ballot.count_yes, ballot.count_no, ballot.count_abstain = counts["yes"], counts["no"], counts["abstain"]
                ballot.counts_recorded_by = actor.person_id
                s.flush()
            return _ballot_view(s, ballot)

    @rpc
    def close_ballot(self, actor, ballot_id, data=None):
        """V9: the chair closes; the system tallies the stored votes; V3 decides; closed is final.

        V5: a major item with serious disagreement needs ``{confirm_reason}`` (or an emergency
        meeting), else the chair defers.  V7: a passing reconsideration supersedes the old decision.
        V8: a unanimous secret ballot is closed with a warning.
        """
        actor = Actor.from_dict(actor)
        data = load(schemas.CloseBallotIn(), data, rule="V5")
        return self._conclude(actor, ballot_id, confirm_reason=data["confirm_reason"])

    @rpc
    def defer_ballot(self, actor, ballot_id, data):
        """V5: the chair defers a ballot for more research: it closes with outcome "deferred";
        a later ballot may vote the item again (``open_ballot`` with ``previous_ballot_id``)."""
        actor = Actor.from_dict(actor)
        data = load(schemas.DeferBallotIn(), data, rule="V5")
        return self._conclude(actor, ballot_id, defer_reason=data["reason"])

    def _conclude(self, actor, ballot_id, confirm_reason=None, defer_reason=None):
        # V1, M8: a ballot is closed or deferred only while its meeting is open
        domain.check_in_session(self._presence_now(actor, self._meeting_of(actor, ballot_id),
                                                   actor.person_id)["meeting_status"], voter=False)
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            ballot = _ballot_for(s, actor, ballot_id, lock="update")
            if defer_reason is not None:
                defer_reason = domain.check_defer(actor.person_id, actor.roles, ballot.chair_person_id,
                                                  ballot.status, defer_reason)
            else:
                domain.check_close(actor.person_id, actor.roles, ballot.chair_person_id, ballot.status)
            counts = _tally(s, ballot, self.ballot_key)
            if defer_reason is not None:
                figures = dict(domain.decide(counts, ballot.n, ballot.present), outcome="deferred")
                figures["explanation"] = (f"V5: deferred by the chair for more research ({defer_reason}); "
                                          f"votes so far: yes {counts['yes']}, no {counts['no']}, "
                                          f"abstain {counts['abstain']}")
                serious = ballot.category in domain.MAJOR_CATEGORIES and domain.serious_disagreement(
                    counts, ballot.disagreement_ratio or domain.DEFAULT_DISAGREEMENT_RATIO)
            else:
                figures = domain.decide(counts, ballot.n, ballot.present)
                serious, confirm_reason = domain.check_disagreement(
                    ballot.category, ballot.emergency, counts,
                    ballot.disagreement_ratio or domain.DEFAULT_DISAGREEMENT_RATIO, confirm_reason)
            old = None
            if ballot.reconsiders_decision_id and figures["outcome"] == "passed":
                old = s.execute(sa.select(models.Decision).where(models.Decision.id == ballot.reconsiders_decision_id)
                                .with_for_update()).scalar_one()
                old = old if old.superseded_by is None else None   # V7: supersede only a decision in force
            decision = models.Decision(
                id=_new_id(), ballot_id=ballot.id, org_id=ballot.org_id, meeting_id=ballot.meeting_id,
                agenda_item_id=ballot.agenda_item_id, title=ballot.title, category=ballot.category,
                method=ballot.method, emergency=ballot.emergency, n=figures["n"], present=figures["present"],
                yes=figures["yes"], no=figures["no"], abstain=figures["abstain"], threshold=figures["threshold"],
                outcome=figures["outcome"], superseded_decision_id=old.id if old is not None else None,
                explanation=figures["explanation"], decided_at=now,
                candidate_person_id=ballot.candidate_person_id, previous_ballot_id=ballot.previous_ballot_id,
                reconsidered_decision_id=ballot.reconsiders_decision_id, serious_disagreement=serious,
                confirm_reason=confirm_reason, deferred_reason=defer_reason,
                counts_only=ballot.count_yes is not None)
            s.add(decision)
            ballot.status = domain.CLOSED
            ballot.open_item_id = None
            ballot.open_reconsideration_of = None
            ballot.closed_at = now
            if old is not None:
                old.superseded_by, old.superseded_at = decision.id, now     # V7: both kept, linked
            s.flush()
            view = _decision_view(s, decision, ballot)
            if defer_reason is not None:
                uow.emit("ballot_deferred", ballot.org_id, {
                    "ballot_id": ballot.id, "decision_id": decision.id, "meeting_id": ballot.meeting_id,
                    "agenda_item_id": ballot.agenda_item_id, "title": ballot.title, "category": ballot.category,
                    "reason": defer_reason, "deferred_by": actor.person_id, "deferred_at": iso(now)})
            uow.emit("ballot_closed", ballot.org_id, {
                "ballot_id": ballot.id, "decision_id": decision.id, "outcome": decision.outcome})
            uow.emit("result_decided", ballot.org_id, _event_data(view))
            if old is not None:
                uow.emit("decision_superseded", ballot.org_id, {
                    "decision_id": old.id, "superseded_by": decision.id, "ballot_id": ballot.id,
                    "superseded_at": iso(now)})
        return view

    @rpc
    def record_reserved_opinion(self, actor, decision_id, data):
        """V6: a member present at the ballot keeps a reserved opinion on its decision, after the
        decision too, for every method.  V8: neither the row nor the event carries a choice."""
        actor = Actor.from_dict(actor)
        data = load(schemas.ReservedOpinionIn(), data, rule="V6")
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            decision = s.get(models.Decision, decision_id) if isinstance(decision_id, str) else None
            if decision is None or not _may_see(actor, decision.org_id):
                raise NotFound("decision_id: no such decision", field="decision_id")
            row = s.get(models.Elector, (decision.ballot_id, actor.person_id))
            elector = domain.Elector(row.person_id, row.role, row.presence, row.written_opinion, row.recused) if row else None
            at_vote = s.get(models.Participation, (decision.ballot_id, actor.person_id))
            existing = (at_vote is not None and at_vote.reserved_opinion) or \
                s.get(models.ReservedOpinion, (decision.id, actor.person_id)) is not None
            text = domain.check_reserved_opinion(elector, decision.outcome, existing, data["text"])
            approval = s.get(models.MinutesApproval, decision.meeting_id)
            domain.check_opinion_window(decision.decided_at, now, approval.approved_at if approval else None,
                                        domain.opinion_window_days(self.config.get("RESERVED_OPINION_WINDOW_DAYS")))
            s.add(models.ReservedOpinion(decision_id=decision.id, person_id=actor.person_id, text=text,
                                         recorded_at=now))
            try:
                s.flush()
            except IntegrityError:
                raise Conflict("V6: your reserved opinion on this decision is already recorded",
                               field="text", rule="V6") from None
            uow.emit("reserved_opinion_recorded", decision.org_id, {
                "decision_id": decision.id, "ballot_id": decision.ballot_id, "person_id": actor.person_id,
                "reserved_opinion": text, "recorded_at": iso(now)})
            return {"decision_id": decision.id, "person_id": actor.person_id, "reserved_opinion": text,
                    "recorded_at": iso(now)}

    @rpc
    def declare_conflict(self, actor, data):
        """V4 回避: a group member of the meeting declares a conflict of interest on one of its items,
        before voting on it.  They are recused for that item: no vote, not counted in its N nor
        present (``domain.item_figures``), listed as recused in the decision.  A ballot already open
        on the item is updated at once; a later one starts with the recusal."""
        actor = Actor.from_dict(actor)
        data = load(schemas.ConflictIn(), data, rule="V4")
        snapshot = _snapshot(self.meetings.attendance_snapshot(actor.to_dict(), data["meeting_id"],
                                                               data["topic_id"]))
        if snapshot["org_id"] != actor.org_id:
            raise NotFound("meeting_id: no such meeting", field="meeting_id")
        electorate = domain.electorate_from_snapshot(snapshot["members"])
        me = electorate.get(actor.person_id)
        topic_id = snapshot["topic"]["topic_id"]
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            ballot = s.execute(sa.select(models.Ballot).where(models.Ballot.open_item_id == topic_id)
                               .with_for_update()).scalar()
            voted = ballot is not None and s.get(models.Participation, (ballot.id, actor.person_id)) is not None
            declared = s.get(models.ConflictDeclaration, (topic_id, actor.person_id)) is not None
            reason = domain.check_declaration(me is not None and me.role in domain.GROUP_ROLES, data["reason"],
                                              declared, voted, ballot is not None and ballot.count_yes is not None)
            s.add(models.ConflictDeclaration(agenda_item_id=topic_id, person_id=actor.person_id,
                                             org_id=snapshot["org_id"], meeting_id=snapshot["meeting_id"],
                                             reason=reason, declared_at=now))
            row = s.get(models.Elector, (ballot.id, actor.person_id)) if ballot is not None else None
            if row is not None and not row.recused:
                row.recused = True
                ballot.n -= 1                                     # the item's N and present (V4, V3)
                ballot.present -= 1 if row.presence == "present" else 0
            try:
                s.flush()
            except IntegrityError:
                raise Conflict("V4: your conflict of interest on this item is already declared",
                               field="topic_id", rule="V4") from None
        return {"meeting_id": snapshot["meeting_id"], "topic_id": topic_id, "person_id": actor.person_id,
                "reason": reason, "declared_at": iso(now), "ballot_id": ballot.id if ballot is not None else None}

    @rpc
    def open_ballots(self, actor, meeting_id):
        """V1, M8: the ids of a meeting's ballots still open, in the order they opened (meetings asks
        before it closes a meeting).  Another organization's ballots are not listed."""
        actor = Actor.from_dict(actor)
        meeting_id = load(schemas.MeetingIn(), {"meeting_id": meeting_id})["meeting_id"]
        with self.db.read() as s:
            rows = s.execute(sa.select(models.Ballot.id, models.Ballot.org_id)
                             .where(models.Ballot.meeting_id == meeting_id, models.Ballot.status == domain.OPEN)
                             .order_by(models.Ballot.opened_at, models.Ballot.id)).all()
        return [r.id for r in rows if _may_see(actor, r.org_id)]

    @durable_event_handler("meetings", "meeting_closed")
    def on_meeting_closed(self, envelope):
        """V1, M8 backstop: a ballot still open when its meeting closed (a race with the close) lapses —
        no decision, ``ballot_lapsed`` — and takes no further vote or close."""
        try:
            meeting_id = load(schemas.MeetingClosedIn(), envelope["data"], rule="V1")["meeting_id"]
        except ValidationFailed as exc:
            raise PoisonMessage(f"meeting_closed {envelope['event_id']}: {exc.message}") from None
        now = utcnow()
        with self.db.uow() as uow:
            if not uow.first_time(envelope["event_id"], "voting.on_meeting_closed"):
                return
            s = uow.session
            ballots = s.execute(sa.select(models.Ballot).where(models.Ballot.meeting_id == meeting_id,
                                                               models.Ballot.status == domain.OPEN)
                                .order_by(models.Ballot.id).with_for_update()).scalars().all()
            for ballot in ballots:
                ballot.status, ballot.closed_at = domain.LAPSED, now
                ballot.open_item_id = ballot.open_reconsideration_of = None
                uow.emit("ballot_lapsed", ballot.org_id, {
                    "ballot_id": ballot.id, "meeting_id": ballot.meeting_id,
                    "agenda_item_id": ballot.agenda_item_id, "title": ballot.title,
                    "votes_cast": _votes_cast(s, ballot), "lapsed_at": iso(now),
                    "reason": "the meeting closed while the ballot was open"})

    @durable_event_handler("meetings", "minutes_approved")
    def on_minutes_approved(self, envelope):
        """M10 → V6: the meeting's minutes are approved; reserved opinions after its decisions close
        (the default window)."""
        try:
            data = load(schemas.MinutesApprovedIn(), envelope["data"], rule="V6")
        except ValidationFailed as exc:
            raise PoisonMessage(f"minutes_approved {envelope['event_id']}: {exc.message}") from None
        with self.db.uow() as uow:
            if uow.first_time(envelope["event_id"], "voting.on_minutes_approved") and \
                    uow.session.get(models.MinutesApproval, data["meeting_id"]) is None:
                uow.session.add(models.MinutesApproval(meeting_id=data["meeting_id"], org_id=envelope["org_id"],
                                                       approved_at=data["approved_at"]))

    def _meeting_of(self, actor, ballot_id):
        with self.db.read() as s:
            return _ballot_for(s, actor, ballot_id).meeting_id

    def _presence_now(self, actor, meeting_id, person_id):
        """meetings' answer now: {meeting_id, meeting_status, presence}; malformed is upstream's fault."""
        try:
            raw = self.meetings.presence_now(actor.to_dict(), meeting_id, person_id)
        except Exception as exc:
            if "MethodNotFound" not in (type(exc).__name__, getattr(exc, "exc_type", None)):
                raise
            # a meetings service older than the presence_now contract: refuse cleanly (503), never guess
            raise ServiceUnavailable("V1: the meetings service cannot tell who is present now (presence_now); "
                                     "votes wait for it", field=None, rule="V1") from None
        try:
            return load(schemas.PresenceNow(), raw)
        except ValidationFailed as exc:
            raise ServiceUnavailable(f"the meetings service gave a malformed presence ({exc.message})",
                                     field=None, rule=None) from None

    @rpc
    def set_policy(self, actor, org_id, data):
        """V5: an organization's serious-disagreement ratio (default "1/3"); secretary or admin.
        A ballot keeps the ratio in force when it opened."""
        actor = Actor.from_dict(actor)
        org_id = load(schemas.OrgIn(), {"org_id": org_id})["org_id"]
        data = load(schemas.PolicyIn(), data, rule="V5")
        actor.require(*domain.POLICY_ROLES, rule="V5", action="setting the voting policy")
        if "admin" not in actor.roles:
            actor.require_org(org_id)
        num, den = domain.parse_ratio(data["disagreement_ratio"])
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            policy = s.get(models.Policy, org_id)
            if policy is None:
                policy = models.Policy(org_id=org_id)
                s.add(policy)
            policy.disagreement_ratio, policy.updated_by, policy.updated_at = f"{num}/{den}", actor.person_id, now
            s.flush()
            return _policy_view(org_id, policy)

    @rpc
    def get_policy(self, actor, org_id):
        actor = Actor.from_dict(actor)
        org_id = load(schemas.OrgIn(), {"org_id": org_id})["org_id"]
        actor.require_org(org_id, cross_org_read=True)
        with self.db.read() as s:
            return _policy_view(org_id, s.get(models.Policy, org_id))

    @rpc
    def list_ballots(self, actor, meeting_id):
        """A meeting's ballots in the order they opened (another organization's: none)."""
        actor = Actor.from_dict(actor)
        meeting_id = load(schemas.MeetingIn(), {"meeting_id": meeting_id})["meeting_id"]
        with self.db.read() as s:
            rows = s.execute(sa.select(models.Ballot).where(models.Ballot.meeting_id == meeting_id)
                             .order_by(models.Ballot.opened_at, models.Ballot.id)).scalars().all()
            return [_ballot_view(s, b) for b in rows if _may_see(actor, b.org_id, cross_org_read=True)]

    @rpc
    def list_decisions(self, actor, org_id, limit=50, offset=0, cursor=None):
        """An organization's decisions, newest first (``decided_at`` desc, then id):
        ``{items, limit, offset, next_cursor}``; each item is the decision without its member lines.

        Keyset paging: pass the previous page's ``next_cursor`` as ``cursor`` (None at the end).
        One statement per page, a range scan of ix_decisions_org_recent: a page costs the same
        however many decisions the organization has.  ``offset`` is kept for old callers only
        (it costs what it skips) and is refused together with a cursor."""
        actor = Actor.from_dict(actor)
        args = load(schemas.ListDecisionsIn(), {"org_id": org_id, "limit": limit, "offset": offset})
        key = decode_cursor(cursor)
        if key is not None and args["offset"]:
            raise ValidationFailed("offset: not with a cursor", field="offset")
        actor.require_org(args["org_id"], cross_org_read=True)
        with self.db.read() as s:
            rows = s.execute(decision_list_statement(args["org_id"], args["limit"], key, args["offset"])).all()
        rows, next_cursor = page_of(rows, args["limit"], lambda r: (r.decided_at, r.id))
        items = [_decision_summary(r, _split(r.recorders) | ({r.counts_recorded_by} - {None}), _split(r.recused))
                 for r in rows]
        return {"items": items, "limit": args["limit"], "offset": args["offset"], "next_cursor": next_cursor}

    @rpc
    def search_decisions(self, actor, org_id, text):
        """Issue 19: the organization's decisions whose title contains ``text``, newest first."""
        actor = Actor.from_dict(actor)
        text = search_text(text)
        actor.require_org(org_id, cross_org_read=True)
        with self.db.read() as s:
            rows = s.execute(sa.select(*_LIST_COLUMNS, _B.counts_recorded_by, _RECORDERS, _RECUSED)
                             .join(_B, _B.id == _D.ballot_id)
                             .where(_D.org_id == org_id, contains(_D.title, text))
                             .order_by(_D.decided_at.desc(), _D.id).limit(SEARCH_LIMIT)).all()
        return {"items": [_decision_summary(r, _split(r.recorders) | ({r.counts_recorded_by} - {None}),
                                            _split(r.recused)) for r in rows]}

    @rpc
    def get_ballot(self, actor, ballot_id):
        """A ballot as its reader sees it, with ``you_voted``: whether the caller is on its roll
        (V1), so any browser or device shows the vote as cast, not only the tab that cast it.
        An open ballot (named, oral, show of hands) lists in ``voted`` who is on the roll, so
        whoever records votes (V2) sees who is left on any device; a secret ballot does not
        (``None``): it tells the caller about themselves only.  Never a choice (V8)."""
        actor = Actor.from_dict(actor)
        with self.db.read() as s:
            ballot = _ballot_for(s, actor, ballot_id, cross_org_read=True)
            view = _ballot_view(s, ballot)
            view["you_voted"] = s.get(models.Participation, (ballot.id, actor.person_id)) is not None
            view["voted"] = None if ballot.method == "secret" else sorted(s.execute(
                sa.select(models.Participation.person_id).where(models.Participation.ballot_id == ballot.id)).scalars())
            return view

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
    ballot = s.execute(_BALLOT_BY_ID[lock], {"ballot_id": ballot_id}).scalar()
    if ballot is None or not _may_see(actor, ballot.org_id, cross_org_read=cross_org_read):
        raise NotFound("ballot_id: no such ballot", field="ballot_id")
    return ballot


# Statements of every vote, made once: building a select costs about as much as running it.
_BY_ID = sa.select(models.Ballot).where(models.Ballot.id == sa.bindparam("ballot_id"))
_BALLOT_BY_ID = {None: _BY_ID, "share": _BY_ID.with_for_update(read=True), "update": _BY_ID.with_for_update()}
_ROLL_COUNT = (sa.select(sa.func.count()).select_from(models.Participation)
               .where(models.Participation.ballot_id == sa.bindparam("ballot_id")))


def _votes_cast(s, ballot):
    """Votes on the roll, or the recorded counts' total (V2)."""
    if ballot.count_yes is not None:
        return ballot.count_yes + ballot.count_no + ballot.count_abstain
    return s.execute(_ROLL_COUNT, {"ballot_id": ballot.id}).scalar_one()


def _tally(s, ballot, key):
    """V9: the tally computed from the stored votes (box, open votes, or the recorded counts, V2).

    V8: a secret box is counted by decrypting only the homomorphic sum of its sealed entries;
    entries stored in clear by a version before sealing (a ballot opened before the upgrade)
    are counted as they are, then sealed when the box is rewritten."""
    if ballot.count_yes is not None:
        return {"yes": ballot.count_yes, "no": ballot.count_no, "abstain": ballot.count_abstain}
    roll = _votes_cast(s, ballot)
    if ballot.method == "secret":
        _check_box_key(ballot, key)
        rows = s.execute(sa.select(models.BoxEntry.choice, models.BoxEntry.sealed)
                         .where(models.BoxEntry.ballot_id == ballot.id)).all()
        plain = [r.choice for r in rows if r.sealed is None]
        sealed = [r.sealed for r in rows if r.sealed is not None]
        try:
            counts = key.count(sealed)
        except ballot_key.SealedBoxError as exc:
            if exc.rule == "V8":
                raise ServiceUnavailable(f"{exc}: the ballot cannot be counted until the service has its key "
                                         "(VOTING_BALLOT_KEY_FILE)", field=None, rule="V8") from None
            raise RuleViolation(f"{exc}; the ballot cannot be closed", field="ballot_id", rule="V9") from None
        for choice, k in domain.tally(plain).items():
            counts[choice] += k
        _reshuffle_box(s, ballot.id, sealed + [key.seal(c) for c in plain])
    else:
        choices = s.execute(sa.select(models.OpenVote.choice)
                            .where(models.OpenVote.ballot_id == ballot.id)).scalars().all()
        counts = domain.tally(choices)
    domain.check_tally(counts, roll)
    return counts


def _check_box_key(ballot, key):
    """V8: a secret ballot is sealed and counted under the key it opened with; a replica holding
    another key file refuses (503) rather than seal votes nobody could count together."""
    if ballot.box_key is not None and ballot.box_key != key.key_id:
        raise ServiceUnavailable(f"V8: this ballot's box is sealed under ballot key {ballot.box_key}, but this "
                                 f"service holds key {key.key_id} (VOTING_BALLOT_KEY_FILE)", field=None, rule="V8")


def _previous(s, ballot_id):
    """V5: what a re-vote needs to know of the deferred ballot it follows."""
    prev = s.get(models.Ballot, ballot_id)
    if prev is None:
        return None
    outcome = s.execute(sa.select(models.Decision.outcome).where(models.Decision.ballot_id == prev.id)).scalar()
    followed_by = s.execute(sa.select(models.Ballot.id).where(models.Ballot.previous_ballot_id == prev.id)).scalar()
    return {"org_id": prev.org_id, "outcome": outcome, "followed_by": followed_by,
            "meeting_id": prev.meeting_id, "category": prev.category}


def _item_decisions(s, item_id):
    """V5, V7: every decision taken on one agenda item."""
    D = models.Decision
    rows = s.execute(sa.select(D.id, D.meeting_id, D.outcome, D.superseded_by, D.reconsidered_decision_id)
                     .where(D.agenda_item_id == item_id)).all()
    return [{"decision_id": r.id, "meeting_id": r.meeting_id, "outcome": r.outcome, "superseded_by": r.superseded_by,
             "reconsidered_decision_id": r.reconsidered_decision_id} for r in rows]


def _open_conflict(s, ballot):
    """The concurrent duplicate a unique key refused, named by its rule."""
    if ballot.previous_ballot_id and s.execute(sa.select(models.Ballot.id).where(
            models.Ballot.previous_ballot_id == ballot.previous_ballot_id)).scalar():
        return Conflict("V5: the deferred ballot was already voted again", field="previous_ballot_id", rule="V5")
    if ballot.open_reconsideration_of and s.execute(sa.select(models.Ballot.id).where(
            models.Ballot.open_reconsideration_of == ballot.open_reconsideration_of)).scalar():
        return Conflict("V7: another ballot already reconsiders this decision", field="decision_id", rule="V7")
    return Conflict("V4: another ballot on this agenda item is open; items are voted "
                    "one ballot at a time", field="topic_id", rule="V4")


def _policy_view(org_id, policy):
    return {"org_id": org_id,
            "disagreement_ratio": policy.disagreement_ratio if policy else domain.DEFAULT_DISAGREEMENT_RATIO,
            "updated_by": policy.updated_by if policy else None,
            "updated_at": iso(policy.updated_at) if policy else None}


def _reshuffle_box(s, ballot_id, sealed):
    """V8: rewrite the closed secret ballot's box, every entry sealed, with fresh random keys in
    key order, so neither the storage order nor the writing transaction ties an entry to the
    vote that cast it.  The entries are sealed already; the rewrite still matters to whoever
    holds the key file and a later copy of the database (not its WAL): it cannot be lined up
    with the roll; and entries a version before sealing left in clear are sealed here."""
    box = models.BoxEntry.__table__
    s.execute(box.delete().where(box.c.ballot_id == ballot_id))
    shuffled = list(sealed)
    random.SystemRandom().shuffle(shuffled)
    rows = sorted(({"id": _new_id(), "ballot_id": ballot_id, "choice": None, "sealed": c} for c in shuffled),
                  key=lambda r: r["id"])
    if rows:
        s.execute(box.insert(), rows)


def _electorate(s, ballot_id):
    rows = s.execute(sa.select(models.Elector).where(models.Elector.ballot_id == ballot_id)).scalars()
    return {r.person_id: domain.Elector(r.person_id, r.role, r.presence, r.written_opinion, r.recused)
            for r in rows}


def _ballot_view(s, ballot):
    electorate = _electorate(s, ballot.id)
    decision_id = s.execute(sa.select(models.Decision.id)
                            .where(models.Decision.ballot_id == ballot.id)).scalar()
    return {
        "ballot_id": ballot.id, "org_id": ballot.org_id, "meeting_id": ballot.meeting_id,
        "agenda_item_id": ballot.agenda_item_id, "title": ballot.title, "category": ballot.category,
        "method": ballot.method, "emergency": ballot.emergency, "status": ballot.status,
        "chair_person_id": ballot.chair_person_id, "n": ballot.n, "present": ballot.present,
        "votes_cast": _votes_cast(s, ballot),
        "eligible": sorted(pid for pid, e in electorate.items() if e.may_vote),
        "recused": sorted(pid for pid, e in electorate.items() if e.recused),          # V4 回避
        "opened_at": iso(ballot.opened_at), "closed_at": iso(ballot.closed_at),
        "decision_id": decision_id,
        "candidate_person_id": ballot.candidate_person_id,                 # V4
        "previous_ballot_id": ballot.previous_ballot_id,                   # V5
        "disagreement_ratio": ballot.disagreement_ratio or domain.DEFAULT_DISAGREEMENT_RATIO,
        "reconsiders_decision_id": ballot.reconsiders_decision_id,         # V7
        "reconsideration_reason": ballot.reconsideration_reason,
        "counts_recorded": ballot.count_yes is not None,                   # V2
        "counts_recorded_by": ballot.counts_recorded_by,
    }


def _decision_view(s, decision, ballot):
    """The ``result_decided`` payload plus the V3 explanation, the V7 status and V8 warnings."""
    secret = decision.method == "secret"
    roll = s.execute(sa.select(models.Participation)
                     .where(models.Participation.ballot_id == ballot.id)).scalars().all()
    open_votes = [] if secret else s.execute(
        sa.select(models.OpenVote).where(models.OpenVote.ballot_id == ballot.id)).scalars().all()
    reserved = {p.person_id: p.reserved_opinion for p in roll if p.reserved_opinion}
    reserved.update(s.execute(sa.select(models.ReservedOpinion.person_id, models.ReservedOpinion.text)
                              .where(models.ReservedOpinion.decision_id == decision.id)).all())
    electorate = _electorate(s, ballot.id)
    members = domain.member_lines(electorate, {p.person_id for p in roll}, reserved,
                                  {v.person_id: v.choice for v in open_votes}, secret,
                                  recorded_by={v.person_id: v.recorded_by for v in open_votes if v.recorded_by})
    recorders = {v.recorded_by for v in open_votes if v.recorded_by}
    if ballot.counts_recorded_by:
        recorders.add(ballot.counts_recorded_by)
    return _decision_summary(decision, recorders, {pid for pid, e in electorate.items() if e.recused}, members)


def _decision_summary(decision, recorders, recused, members=None):
    """A decision as viewed: its columns (a model or a row of decision_list_statement), who
    recorded the votes, who was recused, and ``members`` when given (the list leaves them out)."""
    counts = {"yes": decision.yes, "no": decision.no, "abstain": decision.abstain}
    view = {
        "decision_id": decision.id, "ballot_id": decision.ballot_id, "meeting_id": decision.meeting_id,
        "agenda_item_id": decision.agenda_item_id, "title": decision.title, "category": decision.category,
        "method": decision.method, "emergency": decision.emergency, "n": decision.n,
        "present": decision.present, "yes": decision.yes, "no": decision.no, "abstain": decision.abstain,
        "threshold": decision.threshold, "outcome": decision.outcome,
        "superseded_decision_id": decision.superseded_decision_id, "decided_at": iso(decision.decided_at),
    }
    if members is not None:
        view["members"] = members
    view.update({
        "candidate_person_id": decision.candidate_person_id,
        "previous_ballot_id": decision.previous_ballot_id,
        "reconsidered_decision_id": decision.reconsidered_decision_id,
        # V7: a reconsideration ballot opens only with the secretary's approval (check_reconsideration)
        "reconsideration_approved": decision.reconsidered_decision_id is not None,
        "serious_disagreement": decision.serious_disagreement,
        "confirm_reason": decision.confirm_reason,
        "deferred_reason": decision.deferred_reason,
        "counts_only": decision.counts_only,
        "recorded_by": sorted(recorders),
        "recused": sorted(recused),          # V4 回避
        "explanation": decision.explanation,
        "status": domain.decision_status(decision.superseded_by, decision.outcome,
                                         decision.reconsidered_decision_id is not None),
        "superseded_by": decision.superseded_by,
        "warnings": domain.secrecy_warnings(decision.method, counts),
    })
    return view


# The list's columns: the decision's own, the ballot's counts recorder, and who recorded open
# votes and who was recused as one string each (correlated subqueries on the primary keys of
# open_votes and electorate, bounded by the page): one statement a page, no query per row.
_SEP = "\x1f"
_D, _B = models.Decision, models.Ballot
_LIST_COLUMNS = [getattr(_D, c.key) for c in models.Decision.__table__.columns
                 if c.key not in ("superseded_at",)]
_RECORDERS = (sa.select(sa.func.aggregate_strings(models.OpenVote.recorded_by, _SEP))
              .where(models.OpenVote.ballot_id == _D.ballot_id, models.OpenVote.recorded_by.is_not(None))
              .correlate(_D).scalar_subquery().label("recorders"))
_RECUSED = (sa.select(sa.func.aggregate_strings(models.Elector.person_id, _SEP))
            .where(models.Elector.ballot_id == _D.ballot_id, models.Elector.recused.is_(True))
            .correlate(_D).scalar_subquery().label("recused"))


def decision_list_statement(org_id, limit, key=None, offset=0):
    """The page of ``list_decisions``: ``limit + 1`` rows of an organization's decisions after
    ``key`` (decided_at, id) in (decided_at desc, id) order, a range scan of ix_decisions_org_recent."""
    where = [_D.org_id == org_id]
    if key is not None:
        where.append(after(_D.decided_at, _D.id, key))
    stmt = (sa.select(*_LIST_COLUMNS, _B.counts_recorded_by, _RECORDERS, _RECUSED)
            .join(_B, _B.id == _D.ballot_id).where(*where)
            .order_by(_D.decided_at.desc(), _D.id).limit(limit + 1))
    return stmt.offset(offset) if offset else stmt


def _split(joined):
    return set(joined.split(_SEP)) if joined else set()


VIEW_ONLY = ("explanation", "status", "superseded_by", "warnings")


def _event_data(view):
    """``result_decided`` data: the decision as decided, without what is derived or changes later."""
    return {k: v for k, v in view.items() if k not in VIEW_ONLY}
