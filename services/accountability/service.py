"""Accountability service: thin nameko entrypoints over ``domain`` and ``compliance``.

Consumes ``voting.result_decided`` and keeps, for ever, who took part in each
decision and how (C1, C2); answers who would bear responsibility if the
decision were judged a major error (C3); tracks implementation (C5), cases
(C4), duty reports (C6); raises compliance alerts from meeting and voting
events and from a timer (C7).
"""
import base64
import datetime as dt
import json
import logging
import uuid
from pathlib import Path

import sqlalchemy as sa
from nameko.dependency_providers import Config
from nameko.timer import Timer

from services.accountability import compliance, domain, models, schemas
from shared.actor import Actor
from shared.clock import as_utc, iso, utcnow
from shared.errors import Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from shared.nameko_ext import Database, HealthMixin, PoisonMessage, durable_event_handler, rpc
from shared.validation import check_page, load

log = logging.getLogger(__name__)

HANDLER = "accountability.on_result_decided"
SWEEP_SECONDS = 300          # C7/C5: how often the timer checks (config COMPLIANCE_SWEEP_SECONDS)
FACT_WINDOW = dt.timedelta(days=366 * (compliance.YEAR_LOOKBACK + 1))


class ConfiguredTimer(Timer):
    """nameko's timer with its interval taken from the service config when set."""

    def __init__(self, interval, config_key=None, **kwargs):
        self.config_key = config_key
        super().__init__(interval, **kwargs)

    def setup(self):
        if self.config_key and self.container.config.get(self.config_key):
            self.interval = float(self.container.config[self.config_key])
        super().setup()


sweep_timer = ConfiguredTimer.decorator


class AccountabilityService(HealthMixin):
    name = "accountability"
    db = Database(models, Path(__file__).parent / "migrations")
    config = Config()

    # ------------------------------------------------------------ events

    @durable_event_handler("voting", "result_decided")
    def on_result_decided(self, envelope):
        """C1: link the decision to every group member, once, whatever the redeliveries;
        C7/V7: a reconsideration without the secretary's approval raises an alert."""
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
            _raise_alerts(uow, org_id, compliance.evaluate("result_decided", compliance.fact_decision(data)))

    @durable_event_handler("voting", "reserved_opinion_recorded")
    def on_reserved_opinion_recorded(self, envelope):
        """C1/V6: a reserved opinion kept after the decision goes on the member's responsibility link
        (it counts for an exemption, C3).  Links are never rewritten: an opinion already on the link
        stays.  Before the decision is linked (events of one exchange may arrive out of order) the
        event is retried with back-off, then dead-lettered for replay."""
        data = _event_data(envelope, schemas.ReservedOpinionRecordedIn(), "C1")
        with self.db.uow() as uow:
            s = uow.session
            link = s.execute(sa.select(models.ResponsibilityLink).where(
                models.ResponsibilityLink.decision_id == data["decision_id"],
                models.ResponsibilityLink.person_id == data["person_id"]).with_for_update()).scalar()
            if link is None:
                if s.get(models.Decision, data["decision_id"]) is None:
                    raise ServiceUnavailable(f"C1: decision {data['decision_id']} not linked yet; "
                                             "the reserved opinion waits for it", rule="C1")
                log.warning("reserved opinion of %s on decision %s: no link for that person; ignored",
                            data["person_id"], data["decision_id"])
                return
            if link.org_id != envelope["org_id"]:
                raise PoisonMessage(f"reserved_opinion_recorded {envelope['event_id']}: "
                                    "the decision belongs to another organization")
            if not uow.first_time(envelope["event_id"], "accountability.on_reserved_opinion_recorded"):
                return
            if not link.reserved_opinion:
                link.reserved_opinion = data["reserved_opinion"]

    @durable_event_handler("archive", "checkpoint_signed")
    def on_checkpoint_signed(self, envelope):
        """A2 (rollback): witness the archive's signed checkpoint outside its database; a second,
        different head at a seq already witnessed (the chain was rewritten) raises an alert."""
        data = _event_data(envelope, schemas.CheckpointSignedIn(), "A2")
        with self.db.uow() as uow:
            if not uow.first_time(envelope["event_id"], "accountability.on_checkpoint_signed"):
                return
            s = uow.session
            consistency = data.pop("consistency")
            kept = s.get(models.WitnessedCheckpoint, (data["org_id"], data["seq"]))
            problem = domain.checkpoint_inconsistency(
                data, kept and {"head_hash": kept.head_hash, "tree_root": kept.tree_root},
                consistency, _witnessed_root(s, data["org_id"], consistency),
                s.execute(sa.select(sa.func.max(models.WitnessedCheckpoint.seq)).where(
                    models.WitnessedCheckpoint.org_id == data["org_id"],
                    models.WitnessedCheckpoint.seq < data["seq"])).scalar_one_or_none())
            if kept is None:
                s.add(models.WitnessedCheckpoint(**data, received_at=utcnow()))
            if problem:
                _raise_alerts(uow, data["org_id"], [compliance.Alert(
                    "A2", "checkpoint", f"{data['seq']}:{data['head_hash'][:16]}", problem,
                    "A2：档案签名检查点与此前见证的不一致，档案链可能被回滚或改写（详见英文原文）")])

    @durable_event_handler("meetings", "meeting_scheduled")
    def on_meeting_scheduled(self, envelope):
        """C7: keep the meeting's kind and date (M2, M11 are checked by the timer)."""
        data = _event_data(envelope, schemas.MeetingScheduledIn(), "M2")
        with self.db.uow() as uow:
            if uow.first_time(envelope["event_id"], "accountability.on_meeting_scheduled"):
                _meeting_fact(uow.session, envelope["org_id"], data["meeting_id"], kind=data["kind"],
                              title=data["title"], scheduled_at=data["scheduled_at"])

    @durable_event_handler("meetings", "meeting_noticed")
    def on_meeting_noticed(self, envelope):
        """C7/M5: a regular meeting noticed less than 48 h ahead raises an alert."""
        data = _event_data(envelope, schemas.MeetingNoticedIn(), "M5")
        with self.db.uow() as uow:
            if not uow.first_time(envelope["event_id"], "accountability.on_meeting_noticed"):
                return
            _meeting_fact(uow.session, envelope["org_id"], data["meeting_id"], kind=data["kind"],
                          title=data["title"], scheduled_at=data["scheduled_at"], noticed_at=data["noticed_at"])
            _raise_alerts(uow, envelope["org_id"],
                          compliance.evaluate("meeting_noticed", compliance.fact_meeting_noticed(data)))

    @durable_event_handler("meetings", "meeting_opened")
    def on_meeting_opened(self, envelope):
        """C7/M8: a meeting opened without two thirds present raises an alert; C7/M6: so does every
        emergency meeting opened (for the discipline inspector); M2/M11 facts."""
        data = _event_data(envelope, schemas.MeetingOpenedIn(), "M8")
        with self.db.uow() as uow:
            if not uow.first_time(envelope["event_id"], "accountability.on_meeting_opened"):
                return
            _meeting_fact(uow.session, envelope["org_id"], data["meeting_id"], opened_at=data["opened_at"],
                          n=data["n"], present=data["present"])
            _raise_alerts(uow, envelope["org_id"],
                          compliance.evaluate("meeting_opened", compliance.fact_meeting_opened(data)))

    @durable_event_handler("meetings", "topic_accepted")
    def on_topic_accepted(self, envelope):
        """C7/M4: a topic raised at the meeting when the rules forbid it (refused upstream)."""
        data = _event_data(envelope, schemas.TopicAcceptedIn(), "M4")
        if not compliance.topic_may_raise_alert(data):
            # nearly every topic: placed on an agenda before the meeting; M4 cannot fire, nothing is
            # written (not even the inbox row: a redelivery finds nothing to do either)
            return
        with self.db.uow() as uow:
            if not uow.first_time(envelope["event_id"], "accountability.on_topic_accepted"):
                return
            fact = uow.session.get(models.MeetingFact, data["meeting_id"]) if data["meeting_id"] else None
            kind = fact.kind if fact is not None else None
            _raise_alerts(uow, envelope["org_id"],
                          compliance.evaluate("topic_accepted", compliance.fact_topic_accepted(data, kind)))

    @durable_event_handler("voting", "ballot_opened")
    def on_ballot_opened(self, envelope):
        """C7/M8 at each ballot; V4 when the event reports several personnel candidates."""
        data = _event_data(envelope, schemas.BallotOpenedIn(), "M8")
        with self.db.uow() as uow:
            if uow.first_time(envelope["event_id"], "accountability.on_ballot_opened"):
                _raise_alerts(uow, envelope["org_id"],
                              compliance.evaluate("ballot_opened", compliance.fact_ballot_opened(data)))

    # ------------------------------------------------------------ timer (C5, C6, C7)

    @sweep_timer(interval=SWEEP_SECONDS, config_key="COMPLIANCE_SWEEP_SECONDS")
    def compliance_sweep(self):
        """Runs in every replica: each alert and overdue row is unique, so only one insert wins."""
        try:
            self._sweep(utcnow())
        except Exception:   # a failed pass is retried at the next tick
            log.exception("compliance sweep failed")

    @rpc
    def witnessed_checkpoints(self, actor, org_id):
        """A2: the archive's checkpoints this service witnessed for ``org_id``, in seq order
        (``[{"org_id", "seq", "head_hash", "created_at", "signature", "public_key", "algorithm"}]``)."""
        actor = Actor.from_dict(actor)
        if not isinstance(org_id, str) or not 0 < len(org_id) <= 64:
            raise ValidationFailed("org_id: required", field="org_id", rule="A2")
        actor.require_org(org_id, cross_org_read=True)
        W = models.WitnessedCheckpoint
        with self.db.read() as s:
            rows = s.execute(sa.select(W).where(W.org_id == org_id).order_by(W.seq)).scalars().all()
            return [_witness_view(r) for r in rows]

    @rpc
    def run_checks(self, actor, at=None):
        """The timer's checks, now (operators, tests): system only; ``at`` an ISO instant."""
        actor = Actor.from_dict(actor)
        actor.require("system", rule="AUTH", action="running the compliance checks")
        now = utcnow()
        if at is not None:
            try:
                now = as_utc(dt.datetime.fromisoformat(str(at).replace("Z", "+00:00")))
            except ValueError:
                raise ValidationFailed("at: an ISO 8601 instant", field="at") from None
        return self._sweep(now)

    def _sweep(self, now):
        today = domain.local_date(now)
        M, T, D = models.MeetingFact, models.ImplementationTask, models.Duty
        with self.db.read() as s:
            first = dict(s.execute(sa.select(M.org_id, sa.func.min(sa.func.coalesce(M.scheduled_at, M.opened_at)))
                                   .group_by(M.org_id)).all())
            since = now - FACT_WINDOW
            rows = s.execute(sa.select(M.org_id, M.kind, M.scheduled_at, M.opened_at)
                             .where(sa.or_(M.scheduled_at >= since, M.opened_at >= since))).all()
            tasks = [{"task_id": t.id, "org_id": t.org_id, "decision_id": t.decision_id, "state": t.state,
                      "deadline": t.deadline, "leader_person_id": t.leader_person_id}
                     for t in s.execute(sa.select(T).where(T.state == domain.OPEN, T.deadline < today)
                                        .order_by(T.id)).scalars()]
            # C5 §三(七): tasks whose deadline is near (today .. today + lead), for the reminder
            soon = s.execute(sa.select(T.id, T.org_id, T.deadline).where(
                T.state == domain.OPEN, T.deadline >= today,
                T.deadline <= today + dt.timedelta(days=self._reminder_days())).order_by(T.id)).all()
            duties = [{"duty_id": d.id, "org_id": d.org_id, "kind": d.kind, "person_id": d.person_id,
                       "year": d.year, "due_date": d.due_date, "filed": d.filed_at is not None}
                      for d in s.execute(sa.select(D).where(D.filed_at.is_(None), D.due_date < today)
                                         .order_by(D.id)).scalars()]
        meetings = {org: [] for org in first}
        for org, earliest in first.items():
            if earliest is not None:
                meetings[org].append({"kind": None, "scheduled_at": earliest, "opened_at": None})
        for r in rows:
            meetings[r.org_id].append({"kind": r.kind, "scheduled_at": r.scheduled_at, "opened_at": r.opened_at})
        found = compliance.sweep(meetings, tasks, duties, today, domain.local_date)

        overdue = 0
        for t in tasks:   # C5: one implementation_overdue per (task, deadline), whichever replica wins
            with self.db.uow() as uow:
                if _insert_once(uow.session, models.ImplementationOverdue.__table__,
                                task_id=t["task_id"], deadline=t["deadline"], detected_at=now):
                    task = uow.session.get(models.ImplementationTask, t["task_id"])
                    # C5 §三(七): the responsible leader and the office that follows it up hear of it
                    uow.emit("implementation_overdue", t["org_id"], {
                        **_follow_up_fact(uow.session, task), "deadline": t["deadline"], "detected_at": now})
                    overdue += 1
        reminded = 0
        for task_id, org_id, deadline in soon:   # C5: one reminder per (task, deadline)
            with self.db.uow() as uow:
                if _insert_once(uow.session, models.ImplementationReminder.__table__,
                                task_id=task_id, deadline=deadline, reminded_at=now):
                    task = uow.session.get(models.ImplementationTask, task_id)
                    uow.emit("implementation_due_soon", org_id, {
                        **_follow_up_fact(uow.session, task), "deadline": deadline,
                        "days_left": (deadline - today).days, "reminded_at": now})
                    reminded += 1
        raised = 0
        with self.db.read() as s:
            A = models.ComplianceAlert
            known = set(s.execute(sa.select(A.org_id, A.rule, A.subject_type, A.subject_id)
                                  .where(A.rule.in_(("M2", "M11", "C5", "C6")))).all())
        by_org = {}
        for org_id, alert in found:
            if (org_id, alert.rule, alert.subject_type, alert.subject_id) not in known:
                by_org.setdefault(org_id, []).append(alert)
        for org_id in sorted(by_org):
            with self.db.uow() as uow:
                raised += _raise_alerts(uow, org_id, by_org[org_id], now)
        return {"today": today.isoformat(), "alerts_raised": raised, "implementation_overdue": overdue,
                "implementation_due_soon": reminded}

    def _reminder_days(self):
        """C5: how many days before its deadline a task's reminder goes (IMPLEMENTATION_REMINDER_DAYS)."""
        value = self.config.get("IMPLEMENTATION_REMINDER_DAYS")
        return domain.REMINDER_DAYS if value in (None, "") else int(value)

    # ------------------------------------------------------------ queries (C1, C2)

    @rpc
    def decision_links(self, actor, decision_id):
        """C1/C3: the decision and each member's link, with the C3 proposal."""
        actor = Actor.from_dict(actor)
        with self.db.read() as s:
            decision = _visible_decision(s, actor, decision_id)
            links = s.execute(sa.select(models.ResponsibilityLink)
                              .where(models.ResponsibilityLink.decision_id == decision.id)
                              .order_by(models.ResponsibilityLink.person_id)).scalars().all()
            return {"decision": _decision(decision), "links": [_link(link, decision.method) for link in links]}

    @rpc
    def person_record(self, actor, person_id, limit=50, offset=0, cursor=None):
        """C2: a person's lifetime record across organizations, newest first.

        Offset paging, or keyset paging with ``cursor`` (the ``next_cursor`` of the
        previous page), which stays fast however deep the record goes."""
        actor = Actor.from_dict(actor)
        if not isinstance(person_id, str) or not person_id:
            raise ValidationFailed("C2: person_id: required", field="person_id", rule="C2")
        check_page(limit, offset)
        after = _decode_cursor(cursor, offset)
        org_scope = domain.record_scope(actor, person_id)
        with self.db.read() as s:
            total, items, next_cursor = record_page(s, person_id, org_scope, limit, offset, after)
        return {"person_id": person_id, "total": total, "limit": limit, "offset": offset, "items": items,
                "next_cursor": next_cursor}

    # ------------------------------------------------------------ C5 implementation

    @rpc
    def assign_implementation(self, actor, decision_id, data):
        """C5 §三(七): a passed decision gets a responsible leader, units and a deadline."""
        actor = Actor.from_dict(actor)
        data = load(schemas.AssignImplementationIn(), data, rule="C5")
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            decision = _visible_decision(s, actor, decision_id)
            actor.require_org(decision.org_id)
            actor.require(*domain.TASK_ASSIGN_ROLES, rule="C5", action="assigning implementation")
            domain.check_assignment(decision.outcome, data["deadline"], domain.local_date(now))
            task = models.ImplementationTask(
                id=str(uuid.uuid4()), org_id=decision.org_id, decision_id=decision.id,
                leader_person_id=data["leader_person_id"], units=data["units"], deadline=data["deadline"],
                important=data["important"], state=domain.OPEN, percent=0, special_report_filed=False,
                assigned_by=actor.person_id, assigned_at=now)
            s.add(task)
            uow.emit("implementation_assigned", decision.org_id, {
                "task_id": task.id, "decision_id": decision.id, "leader_person_id": task.leader_person_id,
                "units": task.units, "deadline": task.deadline, "important": task.important,
                "assigned_by": actor.person_id, "assigned_at": now})
        return self.get_task(actor.to_dict(), task.id)

    @rpc
    def report_progress(self, actor, task_id, data):
        """C5 §三(十一): the responsible leader reports; important items need a special report."""
        actor = Actor.from_dict(actor)
        data = load(schemas.ReportProgressIn(), data, rule="C5")
        now = utcnow()
        with self.db.uow() as uow:
            task = _locked_task(uow.session, actor, task_id)
            domain.require_task_actor(actor, _task_dict(task))
            domain.check_report(_task_dict(task), data["percent"], data["special_report"])
            special = domain._text(data["special_report"])
            task.percent = data["percent"]
            task.special_report_filed = task.special_report_filed or bool(special)
            if data["percent"] == 100:
                task.state, task.closed_at = domain.COMPLETED, now
            _entry(uow.session, task, "progress", actor, now, text=data["text"], percent=data["percent"],
                   special_report=special)
            uow.emit("implementation_reported", task.org_id, {
                "task_id": task.id, "decision_id": task.decision_id, "leader_person_id": task.leader_person_id,
                "percent": task.percent, "special_report": bool(special), "completed": task.state == domain.COMPLETED,
                "reported_at": now})
        return self.get_task(actor.to_dict(), task_id)

    @rpc
    def supervise(self, actor, task_id, data):
        """C5: the office checks, urges and gives feedback (§三(七)); discipline inspectors
        supervise implementation (§三(十一))."""
        actor = Actor.from_dict(actor)
        data = load(schemas.SuperviseIn(), data, rule="C5")
        now = utcnow()
        with self.db.uow() as uow:
            task = _locked_task(uow.session, actor, task_id)
            actor.require_org(task.org_id)
            actor.require(domain.SUPERVISION_KINDS[data["kind"]], rule="C5",
                          action=f"{data['kind']} supervision")
            _entry(uow.session, task, "supervision", actor, now, supervision=data["kind"], note=data["note"],
                   feedback=data["feedback"])
        return self.get_task(actor.to_dict(), task_id)

    @rpc
    def postpone(self, actor, task_id, data):
        """C5 §三(十二): a postponement needs an explanation to the group."""
        actor = Actor.from_dict(actor)
        data = load(schemas.PostponeIn(), data, rule="C5")
        now = utcnow()
        with self.db.uow() as uow:
            task = _locked_task(uow.session, actor, task_id)
            domain.require_task_actor(actor, _task_dict(task), explain=True)
            domain.check_explanation(data["explanation"])
            domain.check_postpone(_task_dict(task), data["new_deadline"], domain.local_date(now))
            old_deadline = task.deadline
            _entry(uow.session, task, "postponement", actor, now, old_deadline=old_deadline,
                   new_deadline=data["new_deadline"], explanation=data["explanation"].strip())
            task.deadline = data["new_deadline"]
            # C5 §三(十二): the postponement is explained to the group (notified) and kept (A1)
            uow.emit("implementation_postponed", task.org_id, {
                **_c5_fact(uow.session, task), "old_deadline": old_deadline, "new_deadline": task.deadline,
                "explanation": data["explanation"].strip(), "postponed_by": actor.person_id,
                "postponed_at": now})
        return self.get_task(actor.to_dict(), task_id)

    @rpc
    def declare_not_executable(self, actor, task_id, data):
        """C5 §三(十二): a decision that cannot be executed is closed only with an explanation."""
        actor = Actor.from_dict(actor)
        data = load(schemas.NotExecutableIn(), data, rule="C5")
        now = utcnow()
        with self.db.uow() as uow:
            task = _locked_task(uow.session, actor, task_id)
            domain.require_task_actor(actor, _task_dict(task), explain=True)
            domain.check_explanation(data["explanation"])
            domain.check_open(task.state)
            task.state, task.closed_at = domain.NOT_EXECUTABLE, now
            _entry(uow.session, task, "not_executable", actor, now, explanation=data["explanation"].strip())
            # C5 §三(十二): the group hears why the decision cannot be carried out (notified), and it is kept (A1)
            uow.emit("implementation_not_executable", task.org_id, {
                **_c5_fact(uow.session, task), "explanation": data["explanation"].strip(),
                "declared_by": actor.person_id, "declared_at": now})
        return self.get_task(actor.to_dict(), task_id)

    @rpc
    def get_task(self, actor, task_id):
        """C5: a task with its status and history."""
        actor = Actor.from_dict(actor)
        today = domain.local_date(utcnow())
        with self.db.read() as s:
            task = s.get(models.ImplementationTask, task_id) if isinstance(task_id, str) else None
            if task is None:
                raise NotFound("C5: task_id: no such task", field="task_id", rule="C5")
            _require_task_read(actor, task)
            entries = s.execute(sa.select(models.ImplementationEntry)
                                .where(models.ImplementationEntry.task_id == task.id)
                                .order_by(models.ImplementationEntry.id)).scalars().all()
            view = _task(task, today)
            view["entries"] = [{"kind": e.kind, "author_person_id": e.author_person_id, "at": iso(e.at),
                                **e.content} for e in entries]
            return view

    @rpc
    def list_tasks(self, actor, org_id, status=None):
        """C5: an organization's tasks, most urgent first; ``status`` red|yellow|green|closed."""
        actor = Actor.from_dict(actor)
        if status is not None and status not in domain.TASK_STATUSES:
            raise ValidationFailed(f"C5: status: one of {', '.join(domain.TASK_STATUSES)}",
                                   field="status", rule="C5")
        domain.require_read(actor, org_id, domain.TASK_READ_ROLES + ("org_department", "discipline_commission"),
                            "C5", "implementation tasks")
        today = domain.local_date(utcnow())
        T = models.ImplementationTask
        with self.db.read() as s:
            tasks = s.execute(sa.select(T).where(T.org_id == org_id).order_by(T.deadline, T.id)).scalars().all()
            items = [_task(t, today) for t in tasks]
        if status is not None:
            items = [i for i in items if i["status"] == status]
        return {"org_id": org_id, "today": today.isoformat(), "items": items}

    # ------------------------------------------------------------ C4 cases

    @rpc
    def open_case(self, actor, data):
        """C4 §五(二): a discipline inspector opens a case on a decision or a member."""
        actor = Actor.from_dict(actor)
        data = load(schemas.OpenCaseIn(), data, rule="C4")
        actor.require(*domain.CASE_ROLES, rule="C4", action="opening a case")
        actor.require_org(data["org_id"])
        trigger = domain.check_trigger(data["trigger"])
        domain.check_case_subject(data)
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            links, method = [], None
            if data["decision_id"]:
                decision = _visible_decision(s, actor, data["decision_id"])
                if decision.org_id != data["org_id"]:
                    raise NotFound("C4: decision_id: no such decision", field="decision_id", rule="C4")
                method = decision.method
                links = [_as_dict(link) for link in s.execute(
                    sa.select(models.ResponsibilityLink).where(models.ResponsibilityLink.decision_id == decision.id)
                    .order_by(models.ResponsibilityLink.person_id)).scalars()]
            proposals = domain.case_proposals(links, method, data["major_error"], data["group_broke_rules"],
                                              data["secretary_person_id"], data["person_id"])
            case = models.Case(
                id=str(uuid.uuid4()), org_id=data["org_id"], trigger=trigger, decision_id=data["decision_id"],
                person_id=data["person_id"], summary=data["summary"], major_error=data["major_error"],
                group_broke_rules=data["group_broke_rules"], secretary_person_id=data["secretary_person_id"],
                proposals=proposals, status="open", opened_by=actor.person_id, opened_at=now)
            s.add(case)
            uow.emit("case_opened", case.org_id, {
                "case_id": case.id, "trigger": {"code": trigger, "name": domain.TRIGGERS[trigger][0]},
                "decision_id": case.decision_id, "person_id": case.person_id, "major_error": case.major_error,
                "opened_by": actor.person_id, "opened_at": now})
            # A1/C3: what the case proposes for each person it concerns, kept (confidential) apart
            uow.emit("case_proposed", case.org_id, {
                "case_id": case.id, "decision_id": case.decision_id, "person_id": case.person_id,
                "persons": [{"person_id": pid, **proposals[pid]} for pid in sorted(proposals)],
                "proposed_at": now})
            return _case(case)

    @rpc
    def conclude_case(self, actor, case_id, data):
        """C4 §五(三): the outcome per person, from the ladder; the conclusion goes to the
        archive through ``case_concluded`` with the full content."""
        actor = Actor.from_dict(actor)
        data = load(schemas.ConcludeCaseIn(), data, rule="C4")
        actor.require(*domain.CASE_ROLES, rule="C4", action="concluding a case")
        now = utcnow()
        with self.db.uow() as uow:
            case = _locked_case(uow.session, actor, case_id)
            actor.require_org(case.org_id)
            if case.status != "open":
                raise domain.RuleViolation("C4: case_id: the case is already concluded", field="case_id",
                                           rule="C4")
            outcomes = domain.normalize_outcomes(data["outcomes"], case.proposals)
            case.outcomes, case.note, case.status = outcomes, data["note"], "concluded"
            case.concluded_by, case.concluded_at = actor.person_id, now
            view = _case(case)
            uow.emit("case_concluded", case.org_id, view)
            return view

    @rpc
    def get_case(self, actor, case_id):
        actor = Actor.from_dict(actor)
        actor.require(*domain.CASE_READ_ROLES, rule="C4", action="reading cases")
        with self.db.read() as s:
            case = s.get(models.Case, case_id) if isinstance(case_id, str) else None
            if case is None:
                raise NotFound("C4: case_id: no such case", field="case_id", rule="C4")
            try:
                actor.require_org(case.org_id, cross_org_read=True)
            except Forbidden:
                raise NotFound("C4: case_id: no such case", field="case_id", rule="C4") from None
            return _case(case)

    @rpc
    def list_cases(self, actor, org_id, status=None):
        """C4: an organization's cases, newest first; ``status`` open|concluded."""
        actor = Actor.from_dict(actor)
        if status is not None and status not in ("open", "concluded"):
            raise ValidationFailed("C4: status: open or concluded", field="status", rule="C4")
        domain.require_read(actor, org_id, domain.CASE_READ_ROLES, "C4", "cases")
        C = models.Case
        where = [C.org_id == org_id] + ([C.status == status] if status else [])
        with self.db.read() as s:
            cases = s.execute(sa.select(C).where(*where).order_by(C.opened_at.desc(), C.id)).scalars().all()
            return {"org_id": org_id, "items": [_case(c) for c in cases]}

    # ------------------------------------------------------------ C6 duties

    @rpc
    def create_duty(self, actor, data):
        """C6 §五(一), §二(二): a report owed, with its due date."""
        actor = Actor.from_dict(actor)
        data = load(schemas.CreateDutyIn(), data, rule="C6")
        actor.require(*domain.DUTY_CREATE_ROLES, rule="C6", action="creating a duty")
        if "org_department" not in actor.roles:
            actor.require_org(data["org_id"])
        domain.check_duty(data)
        now = utcnow()
        with self.db.uow() as uow:
            duty = models.Duty(id=str(uuid.uuid4()), org_id=data["org_id"], kind=data["kind"],
                               person_id=data["person_id"], year=data["year"], due_date=data["due_date"],
                               created_by=actor.person_id, created_at=now)
            uow.session.add(duty)
        return _duty(duty, domain.local_date(now))

    @rpc
    def file_duty(self, actor, duty_id, data):
        """C6: the report is filed (a reference to the document in the archive)."""
        actor = Actor.from_dict(actor)
        data = load(schemas.FileDutyIn(), data, rule="C6")
        now = utcnow()
        with self.db.uow() as uow:
            duty = _locked(uow.session, models.Duty, duty_id, "duty_id", "C6", "duty")
            domain.require_duty_filer(actor, {"org_id": duty.org_id, "person_id": duty.person_id})
            if duty.filed_at is not None:
                raise domain.RuleViolation("C6: duty_id: already filed", field="duty_id", rule="C6")
            duty.document_ref, duty.filed_at, duty.filed_by = data["document_ref"], now, actor.person_id
        return _duty(duty, domain.local_date(now))

    @rpc
    def list_duties(self, actor, org_id, year=None, status=None):
        """C6: an organization's duties; ``status`` due|overdue|filed."""
        actor = Actor.from_dict(actor)
        if status is not None and status not in domain.DUTY_STATUSES:
            raise ValidationFailed(f"C6: status: one of {', '.join(domain.DUTY_STATUSES)}",
                                   field="status", rule="C6")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
            raise ValidationFailed("C6: year: an integer", field="year", rule="C6")
        domain.require_read(actor, org_id, domain.DUTY_READ_ROLES, "C6", "duties")
        today = domain.local_date(utcnow())
        D = models.Duty
        where = [D.org_id == org_id] + ([D.year == year] if year is not None else [])
        with self.db.read() as s:
            duties = s.execute(sa.select(D).where(*where).order_by(D.due_date, D.id)).scalars().all()
            items = [_duty(d, today) for d in duties]
        if status is not None:
            items = [i for i in items if i["status"] == status]
        return {"org_id": org_id, "items": items}

    # ------------------------------------------------------------ C7 alerts

    @rpc
    def list_alerts(self, actor, org_id, open_only=True):
        """C7: an organization's alerts, newest first (open = not acknowledged)."""
        actor = Actor.from_dict(actor)
        if not isinstance(open_only, bool):
            raise ValidationFailed("C7: open_only: true or false", field="open_only", rule="C7")
        domain.require_read(actor, org_id, domain.ALERT_READ_ROLES, "C7", "compliance alerts")
        A = models.ComplianceAlert
        where = [A.org_id == org_id] + ([A.acknowledged_at.is_(None)] if open_only else [])
        with self.db.read() as s:
            alerts = s.execute(sa.select(A).where(*where).order_by(A.raised_at.desc(), A.id)).scalars().all()
            return {"org_id": org_id, "items": [_alert(a) for a in alerts]}

    @rpc
    def acknowledge_alert(self, actor, alert_id, data):
        """C7: the secretary or a discipline inspector acknowledges an alert, with a note;
        the alert itself is kept."""
        actor = Actor.from_dict(actor)
        data = load(schemas.AcknowledgeAlertIn(), data, rule="C7")
        actor.require(*domain.ALERT_ACK_ROLES, rule="C7", action="acknowledging an alert")
        now = utcnow()
        with self.db.uow() as uow:
            alert = _locked(uow.session, models.ComplianceAlert, alert_id, "alert_id", "C7", "alert")
            try:
                actor.require_org(alert.org_id)
            except Forbidden:
                raise NotFound("C7: alert_id: no such alert", field="alert_id", rule="C7") from None
            if alert.acknowledged_at is not None:
                raise domain.RuleViolation("C7: alert_id: already acknowledged", field="alert_id", rule="C7")
            alert.acknowledged_at, alert.acknowledged_by = now, actor.person_id
            alert.acknowledgement_note = data["note"]
            # A1: the acknowledgement is part of the record, like the alert
            uow.emit("alert_acknowledged", alert.org_id, {
                "alert_id": alert.id, "rule": alert.rule, "subject_type": alert.subject_type,
                "subject_id": alert.subject_id, "acknowledged_by": actor.person_id, "acknowledged_at": now,
                "note": alert.acknowledgement_note})
            return _alert(alert)


# ---------------------------------------------------------------- helpers

def record_page(session, person_id, org_scope, limit, offset=0, after=None):
    """C2: one page of a person's record, newest first -> (total, items, next_cursor).

    Both statements are range scans of ix_responsibility_links_person_recent
    (person_id, decided_at DESC, decision_id); ``after`` = (decided_at, decision_id)
    of the last row already seen (keyset paging)."""
    L, D = models.ResponsibilityLink, models.Decision
    where = [L.person_id == person_id]
    if org_scope is not None:
        where.append(L.org_id == org_scope)
    page = list(where)
    if after is not None:
        at, decision_id = after
        page.append(sa.or_(L.decided_at < at, sa.and_(L.decided_at == at, L.decision_id > decision_id)))
    total = session.execute(sa.select(sa.func.count()).select_from(L).where(*where)).scalar_one()
    rows = session.execute(sa.select(L, D).join(D, D.id == L.decision_id).where(*page)
                           .order_by(L.decided_at.desc(), L.decision_id)
                           .limit(limit).offset(offset)).all()
    items = [{
        "decision_id": d.id, "org_id": d.org_id, "meeting_id": d.meeting_id, "title": d.title,
        "category": d.category, "method": d.method, "outcome": d.outcome,
        "decided_at": iso(d.decided_at), "presence": link.presence,
        "stance": domain.stance_label(_as_dict(link), d.method),
        "reserved_opinion": link.reserved_opinion, "written_opinion": link.written_opinion,
        "participant": link.participant,
    } for link, d in rows]
    next_cursor = _encode_cursor(rows[-1][0]) if len(rows) == limit else None
    return total, items, next_cursor


def _witnessed_root(session, org_id, consistency):
    """The tree root this witness kept for the checkpoint a consistency proof starts from."""
    if not isinstance(consistency, dict) or not isinstance(consistency.get("from_seq"), int):
        return None
    row = session.get(models.WitnessedCheckpoint, (org_id, consistency["from_seq"]))
    return row.tree_root if row is not None else None


def _witness_view(row):
    return {"org_id": row.org_id, "seq": row.seq, "head_hash": row.head_hash, "created_at": row.created_at,
            "signature": row.signature, "public_key": row.public_key, "algorithm": row.algorithm,
            "tree_root": row.tree_root}


def _event_data(envelope, schema, rule):
    """A consumed event's data, or PoisonMessage (dead-lettered at once, nothing written)."""
    try:
        if not envelope.get("org_id"):
            raise ValidationFailed(f"{rule}: org_id: required", field="org_id", rule=rule)
        return load(schema, envelope["data"], rule=rule)
    except ValidationFailed as exc:
        raise PoisonMessage(f"{envelope['event_type']} {envelope['event_id']}: {exc.message}") from None


def _meeting_fact(session, org_id, meeting_id, **values):
    """The meeting's facts, made on the first event that names the meeting.  Events of one meeting
    (scheduled, noticed, opened, …) may be handled at once by two workers or replicas, or one of
    them again after a restore: the row is inserted once (ON CONFLICT DO NOTHING), never twice."""
    fact = session.get(models.MeetingFact, meeting_id)
    if fact is None:
        _insert_once(session, models.MeetingFact.__table__, meeting_id=meeting_id, org_id=org_id)
        fact = session.get(models.MeetingFact, meeting_id)
    for key, value in values.items():
        if value is not None:
            setattr(fact, key, value)
    return fact


def _insert_once(session, table, **values):
    """INSERT … ON CONFLICT DO NOTHING; True when this insert made the row."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return session.execute(insert(table).values(**values).on_conflict_do_nothing()).rowcount == 1


def _raise_alerts(uow, org_id, alerts, now=None):
    """C7: keep each alert once per (org, rule, subject); emit only the new ones."""
    now = now or utcnow()
    raised = 0
    for alert in sorted(alerts, key=lambda a: (a.rule, a.subject_type, a.subject_id)):
        alert_id = str(uuid.uuid4())
        if _insert_once(uow.session, models.ComplianceAlert.__table__, id=alert_id, org_id=org_id,
                        rule=alert.rule, subject_type=alert.subject_type, subject_id=alert.subject_id,
                        message=alert.message, message_zh=alert.message_zh, raised_at=now):
            uow.emit("compliance_alert_raised", org_id, {"alert_id": alert_id, **alert.to_dict(), "raised_at": now})
            raised += 1
    return raised


def _visible_decision(session, actor, decision_id):
    decision = session.get(models.Decision, decision_id) if isinstance(decision_id, str) else None
    if decision is None:
        raise NotFound("C1: decision_id: no such decision", field="decision_id", rule="C1")
    try:
        actor.require_org(decision.org_id, cross_org_read=True)
    except Forbidden:
        # another organization's decision is not revealed to exist
        raise NotFound("C1: decision_id: no such decision", field="decision_id", rule="C1") from None
    return decision


def _locked(session, model, key, field, rule, what):
    row = None
    if isinstance(key, str):
        row = session.execute(sa.select(model).where(model.id == key).with_for_update()).scalar_one_or_none()
    if row is None:
        raise NotFound(f"{rule}: {field}: no such {what}", field=field, rule=rule)
    return row


def _locked_task(session, actor, task_id):
    task = _locked(session, models.ImplementationTask, task_id, "task_id", "C5", "task")
    try:
        actor.require_org(task.org_id, cross_org_read=True)
    except Forbidden:
        raise NotFound("C5: task_id: no such task", field="task_id", rule="C5") from None
    return task


def _locked_case(session, actor, case_id):
    case = _locked(session, models.Case, case_id, "case_id", "C4", "case")
    try:
        actor.require_org(case.org_id, cross_org_read=True)
    except Forbidden:
        raise NotFound("C4: case_id: no such case", field="case_id", rule="C4") from None
    return case


def _require_task_read(actor, task):
    if actor.person_id == task.leader_person_id and actor.org_id == task.org_id:
        return
    try:
        domain.require_read(actor, task.org_id, domain.TASK_READ_ROLES + ("org_department", "discipline_commission"),
                            "C5", "implementation tasks")
    except Forbidden:
        raise NotFound("C5: task_id: no such task", field="task_id", rule="C5") from None


def _c5_fact(session, task):
    """C5: what a postponement or non-execution event says of its task, and to whom it is explained:
    the group that made the decision (every member linked to it, the secretary among them, C1)
    and the responsible leader."""
    decision = session.get(models.Decision, task.decision_id)
    group = session.execute(sa.select(models.ResponsibilityLink.person_id)
                            .where(models.ResponsibilityLink.decision_id == task.decision_id)
                            .order_by(models.ResponsibilityLink.id)).scalars().all()
    recipients = list(dict.fromkeys([*group, task.leader_person_id]))
    return {"task_id": task.id, "decision_id": task.decision_id, "meeting_id": decision.meeting_id,
            "title": decision.title, "leader_person_id": task.leader_person_id, "recipients": recipients}


def _follow_up_fact(session, task):
    """C5 §三(七): what a reminder or an overdue notice says of its task, and to whom: the
    responsible leader and the office (or secretary) that assigned it and follows it up."""
    decision = session.get(models.Decision, task.decision_id)
    return {"task_id": task.id, "decision_id": task.decision_id, "title": decision.title,
            "leader_person_id": task.leader_person_id, "assigned_by": task.assigned_by,
            "recipients": list(dict.fromkeys([task.leader_person_id, task.assigned_by]))}


def _entry(session, task, kind, actor, now, **content):
    session.add(models.ImplementationEntry(task_id=task.id, kind=kind, author_person_id=actor.person_id,
                                           content=json.loads(_dumps(content)), at=now))


def _dumps(value):
    from shared.envelope import dumps
    return dumps(value)


def _encode_cursor(link):
    raw = json.dumps([iso(link.decided_at), link.decision_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor, offset):
    if cursor is None:
        return None
    if offset:
        raise ValidationFailed("C2: offset: not with a cursor", field="offset", rule="C2")
    try:
        at, decision_id = json.loads(base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4)))
        return as_utc(dt.datetime.fromisoformat(at.replace("Z", "+00:00"))), str(decision_id)
    except (ValueError, TypeError, AttributeError):
        raise ValidationFailed("C2: cursor: not a cursor this query gave", field="cursor", rule="C2") from None


def _task_dict(task):
    return {"org_id": task.org_id, "leader_person_id": task.leader_person_id, "state": task.state,
            "percent": task.percent, "important": task.important,
            "special_report_filed": task.special_report_filed, "deadline": task.deadline}


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


def _task(t, today):
    return {"task_id": t.id, "org_id": t.org_id, "decision_id": t.decision_id,
            "leader_person_id": t.leader_person_id, "units": list(t.units), "deadline": t.deadline.isoformat(),
            "important": t.important, "state": t.state, "percent": t.percent,
            "special_report_filed": t.special_report_filed,
            "status": domain.task_status(t.state, t.deadline, t.percent, today),
            "days_left": (t.deadline - today).days, "assigned_by": t.assigned_by,
            "assigned_at": iso(t.assigned_at), "closed_at": iso(t.closed_at)}


def _case(c):
    outcomes = c.outcomes or {}
    persons = [{"person_id": pid, "proposal": c.proposals.get(pid), "outcome": outcomes.get(pid)}
               for pid in sorted(set(c.proposals) | set(outcomes))]
    return {"case_id": c.id, "org_id": c.org_id, "trigger": domain.trigger_view(c.trigger),
            "decision_id": c.decision_id, "person_id": c.person_id, "summary": c.summary,
            "major_error": c.major_error, "group_broke_rules": c.group_broke_rules,
            "secretary_person_id": c.secretary_person_id, "status": c.status, "persons": persons,
            "note": c.note, "opened_by": c.opened_by, "opened_at": iso(c.opened_at),
            "concluded_by": c.concluded_by, "concluded_at": iso(c.concluded_at)}


def _duty(d, today):
    return {"duty_id": d.id, "org_id": d.org_id, "kind": d.kind, "person_id": d.person_id, "year": d.year,
            "due_date": d.due_date.isoformat(), "status": domain.duty_status(d.filed_at is not None, d.due_date, today),
            "document_ref": d.document_ref, "filed_at": iso(d.filed_at), "filed_by": d.filed_by,
            "created_by": d.created_by, "created_at": iso(d.created_at)}


def _alert(a):
    return {"alert_id": a.id, "org_id": a.org_id, "rule": a.rule, "subject_type": a.subject_type,
            "subject_id": a.subject_id, "message": a.message, "message_zh": a.message_zh,
            "raised_at": iso(a.raised_at),
            "acknowledged": a.acknowledged_at is not None, "acknowledged_at": iso(a.acknowledged_at),
            "acknowledged_by": a.acknowledged_by, "note": a.acknowledgement_note}
