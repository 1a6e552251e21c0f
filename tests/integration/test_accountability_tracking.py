"""Accountability C4–C7 over a real RabbitMQ, on SQLite and PostgreSQL: implementation
tracking, cases, duties and compliance alerts, fed by events and by the timer."""
import datetime as dt
import json
import time
import uuid

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection, Queue

from services.accountability.service import AccountabilityService
from shared.actor import Actor
from shared.clock import utcnow
from shared.db import make_engine
from shared.envelope import make_envelope
from shared.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from shared.topology import event_exchange
from tests.support.events import publish, wait_for
from tests.support.roster import actor

pytestmark = pytest.mark.integration
SYSTEM = Actor.system().to_dict()
ORG = "org-a"
SECRETARY = actor("sec", ORG, "secretary")
OFFICE = actor("off", ORG, "office")
LEADER = actor("y1", ORG, "member")
INSPECTOR = actor("ins", ORG, "discipline")


def member(pid, presence="present", stance=None, reserved=None, voted=None):
    return {"person_id": pid, "presence": presence, "voted": stance is not None if voted is None else voted,
            "stance": stance, "reserved_opinion": reserved, "written_opinion": None}


NAMED = [member("y1", stance="yes"), member("y2", stance="yes"), member("y3", stance="yes"),
         member("y4", stance="yes", reserved="建议分期实施"), member("n1", stance="no"),
         member("a1", stance="abstain"), member("l1", presence="leave")]


def result_decided(org_id=ORG, members=NAMED, method="named", outcome="passed", **extra):
    data = {
        "decision_id": str(uuid.uuid4()), "ballot_id": str(uuid.uuid4()), "meeting_id": str(uuid.uuid4()),
        "agenda_item_id": str(uuid.uuid4()), "title": "老旧小区改造方案", "category": "major_decision",
        "method": method, "emergency": False, "n": len(members),
        "present": sum(1 for m in members if m["presence"] == "present"),
        "yes": sum(1 for m in members if m["stance"] == "yes"), "no": sum(1 for m in members if m["stance"] == "no"),
        "abstain": sum(1 for m in members if m["stance"] == "abstain"), "threshold": len(members) // 2 + 1,
        "outcome": outcome, "superseded_decision_id": None, "decided_at": "2026-12-10T03:00:00Z",
        "members": members,
    }
    data.update(extra)
    return make_envelope("voting", "result_decided", org_id, data)


def decided(svc, amqp_uri, **kw):
    event = result_decided(**kw)
    publish(amqp_uri, "voting", event)
    decision_id = event["data"]["decision_id"]

    def ready():
        try:
            return svc.decision_links(SECRETARY, decision_id)
        except NotFound:
            return None
    wait_for(ready)
    return decision_id


def rows(database_url, sql, **params):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()
    finally:
        engine.dispose()


def outbox(database_url, event_type):
    return [json.loads(r[0])["data"] for r in
            rows(database_url, "SELECT body FROM outbox WHERE event_type = :t ORDER BY id", t=event_type)]


def today():
    from services.accountability.domain import local_date
    return local_date(utcnow())


@pytest.fixture
def service(container_factory, rpc_client, database_url):
    container_factory(AccountabilityService, database_url=database_url, max_workers=1).start()
    return rpc_client().accountability


# ------------------------------------------------------------------ C5

def test_c5_implementation_is_assigned_reported_supervised_and_completed(service, amqp_uri, database_url):
    decision_id = decided(service, amqp_uri)
    deadline = today() + dt.timedelta(days=5)
    task = service.assign_implementation(OFFICE, decision_id, {
        "leader_person_id": "y1", "units": ["住房保障处", "物业管理处"], "deadline": deadline.isoformat(),
        "important": True})
    task_id = task["task_id"]
    assert (task["status"], task["state"], task["percent"], task["days_left"]) == ("yellow", "open", 0, 5)

    # only the responsible leader reports
    with pytest.raises(Forbidden) as err:
        service.report_progress(actor("y2", ORG, "member"), task_id, {"text": "进展", "percent": 10})
    assert err.value.rule == "C5"
    service.report_progress(LEADER, task_id, {"text": "已完成方案细化", "percent": 60})
    # an important item is not completed without a written special report, and nothing is written
    with pytest.raises(RuleViolation) as err:
        service.report_progress(LEADER, task_id, {"text": "全部完成", "percent": 100})
    assert (err.value.field, err.value.rule) == ("special_report", "C5")
    assert service.get_task(LEADER, task_id)["percent"] == 60

    service.supervise(OFFICE, task_id, {"kind": "office", "note": "已督办", "feedback": "请加快进度"})
    service.supervise(INSPECTOR, task_id, {"kind": "discipline", "note": "纪检组督察"})
    with pytest.raises(Forbidden):
        service.supervise(OFFICE, task_id, {"kind": "discipline", "note": "越权"})
    with pytest.raises(ValidationFailed) as err:
        service.supervise(OFFICE, task_id, {"kind": "office"})
    assert (err.value.field, err.value.rule) == ("note", "C5")

    done = service.report_progress(LEADER, task_id, {"text": "全部完成", "percent": 100,
                                                     "special_report": "关于老旧小区改造的专题报告"})
    assert (done["state"], done["status"], done["special_report_filed"]) == ("completed", "closed", True)
    view = service.get_task(SECRETARY, task_id)
    assert [e["kind"] for e in view["entries"]] == ["progress", "supervision", "supervision", "progress"]
    assert view["entries"][1]["feedback"] == "请加快进度"

    assert [t["task_id"] for t in service.list_tasks(SECRETARY, ORG, "closed")["items"]] == [task_id]
    assert service.list_tasks(SECRETARY, ORG, "yellow")["items"] == []
    with pytest.raises(Forbidden):
        service.list_tasks(actor("x", "org-b", "secretary"), ORG)

    assigned = outbox(database_url, "implementation_assigned")
    assert assigned == [{"task_id": task_id, "decision_id": decision_id, "leader_person_id": "y1",
                         "units": ["住房保障处", "物业管理处"], "deadline": deadline.isoformat(), "important": True,
                         "assigned_by": "off", "assigned_at": assigned[0]["assigned_at"]}]
    reported = outbox(database_url, "implementation_reported")
    assert [(r["percent"], r["completed"], r["special_report"]) for r in reported] == \
        [(60, False, False), (100, True, True)]


def test_c5_postponement_and_non_execution_need_an_explanation(service, amqp_uri, database_url):
    decision_id = decided(service, amqp_uri)
    deadline = today() + dt.timedelta(days=30)
    task_id = service.assign_implementation(SECRETARY, decision_id, {
        "leader_person_id": "y1", "units": ["规划处"], "deadline": deadline.isoformat()})["task_id"]
    later = (deadline + dt.timedelta(days=30)).isoformat()
    with pytest.raises(RuleViolation) as err:
        service.postpone(LEADER, task_id, {"new_deadline": later})
    assert (err.value.field, err.value.rule) == ("explanation", "C5")
    with pytest.raises(RuleViolation) as err:
        service.declare_not_executable(OFFICE, task_id, {"explanation": "  "})
    assert err.value.field == "explanation"
    assert service.get_task(LEADER, task_id)["entries"] == []          # nothing written
    moved = service.postpone(LEADER, task_id, {"new_deadline": later, "explanation": "资金下达推迟，向党组说明"})
    assert moved["deadline"] == later and moved["entries"][0]["old_deadline"] == deadline.isoformat()
    closed = service.declare_not_executable(OFFICE, task_id, {"explanation": "上级政策调整，无法执行"})
    assert (closed["state"], closed["status"]) == ("not_executable", "closed")
    with pytest.raises(RuleViolation):
        service.report_progress(LEADER, task_id, {"text": "x", "percent": 50})


def test_c5_bad_assignments_are_refused_and_write_nothing(service, amqp_uri, database_url):
    failed = decided(service, amqp_uri, outcome="failed")
    passed = decided(service, amqp_uri)
    ahead = (today() + dt.timedelta(days=10)).isoformat()
    good = {"leader_person_id": "y1", "units": ["规划处"], "deadline": ahead}
    with pytest.raises(RuleViolation) as err:
        service.assign_implementation(OFFICE, failed, good)
    assert (err.value.field, err.value.rule) == ("decision_id", "C5")
    with pytest.raises(RuleViolation) as err:
        service.assign_implementation(OFFICE, passed, {**good, "deadline": "2020-01-01"})
    assert err.value.field == "deadline"
    with pytest.raises(ValidationFailed) as err:
        service.assign_implementation(OFFICE, passed, {**good, "deadline": "soon"})
    assert (err.value.field, err.value.rule) == ("deadline", "C5")
    with pytest.raises(ValidationFailed) as err:
        service.assign_implementation(OFFICE, passed, {**good, "units": []})
    assert err.value.field == "units"
    with pytest.raises(Forbidden) as err:
        service.assign_implementation(LEADER, passed, good)
    assert err.value.rule == "C5"
    with pytest.raises(NotFound):
        service.assign_implementation(actor("o", "org-b", "office"), passed, good)
    assert rows(database_url, "SELECT count(*) FROM implementation_tasks")[0][0] == 0
    assert outbox(database_url, "implementation_assigned") == []


def test_c5_overdue_detected_once_by_the_checks_and_alerted(service, amqp_uri, database_url):
    decision_id = decided(service, amqp_uri)
    deadline = today() + dt.timedelta(days=3)
    task_id = service.assign_implementation(OFFICE, decision_id, {
        "leader_person_id": "y1", "units": ["规划处"], "deadline": deadline.isoformat()})["task_id"]
    service.create_duty(SECRETARY, {"org_id": ORG, "kind": "special_report", "year": deadline.year,
                                    "due_date": (deadline + dt.timedelta(days=30)).isoformat()})
    later = (utcnow() + dt.timedelta(days=10)).isoformat()
    first = service.run_checks(SYSTEM, later)
    again = service.run_checks(SYSTEM, later)
    assert first["implementation_overdue"] == 1 and again == {**first, "alerts_raised": 0, "implementation_overdue": 0}
    assert [(o["task_id"], o["deadline"]) for o in outbox(database_url, "implementation_overdue")] == \
        [(task_id, deadline.isoformat())]
    alerts = [a for a in service.list_alerts(SECRETARY, ORG)["items"] if a["rule"] == "C5"]
    assert [a["subject_id"] for a in alerts] == [f"{task_id}@{deadline.isoformat()}"]
    with pytest.raises(Forbidden):
        service.run_checks(SECRETARY)


# ------------------------------------------------------------------ C4

def test_c4_case_on_a_major_error_proposes_by_c3_and_concludes_to_the_archive(service, amqp_uri, database_url):
    decision_id = decided(service, amqp_uri)
    data = {"org_id": ORG, "trigger": 2, "decision_id": decision_id, "summary": "决策失误造成重大损失",
            "major_error": True, "group_broke_rules": True, "secretary_person_id": "n1"}
    with pytest.raises(Forbidden) as err:
        service.open_case(SECRETARY, data)
    assert err.value.rule == "C4"
    with pytest.raises(ValidationFailed) as err:
        service.open_case(INSPECTOR, {**data, "trigger": 9})
    assert (err.value.field, err.value.rule) == ("trigger", "C4")
    case = service.open_case(INSPECTOR, data)
    proposals = {p["person_id"]: p["proposal"]["proposal"] for p in case["persons"]}
    assert proposals == {"y1": "responsible", "y2": "responsible", "y3": "responsible", "y4": "may_be_exempted",
                         "n1": "responsible", "a1": "responsible", "l1": "not_participant"}
    assert case["trigger"]["code"] == 2 and case["trigger"]["name"] == "decision_error"

    with pytest.raises(RuleViolation) as err:
        service.conclude_case(INSPECTOR, case["case_id"], {"outcomes": {"y1": "exempted"}, "note": "x"})
    assert (err.value.field, err.value.rule) == ("outcomes.y1", "C3")
    assert service.get_case(INSPECTOR, case["case_id"])["status"] == "open"      # nothing written
    outcomes = {"y1": "admonishment_talk", "y2": "circulated_criticism", "y3": "criticism_education",
                "y4": "exempted", "n1": "ordered_self_examination", "a1": "criticism_education",
                "l1": "no_action"}
    concluded = service.conclude_case(INSPECTOR, case["case_id"], {"outcomes": outcomes, "note": "经集体研究"})
    assert concluded["status"] == "concluded"
    assert {p["person_id"]: p["outcome"] for p in concluded["persons"]} == {k: [v] for k, v in outcomes.items()}
    with pytest.raises(RuleViolation):
        service.conclude_case(INSPECTOR, case["case_id"], {"outcomes": outcomes, "note": "again"})

    [event] = outbox(database_url, "case_concluded")
    assert event == concluded and event["summary"] == "决策失误造成重大损失"
    assert event["persons"][0]["proposal"]["rule"] in ("C1", "C3")
    [opened] = outbox(database_url, "case_opened")
    assert opened["case_id"] == case["case_id"] and "summary" not in opened
    assert [c["case_id"] for c in service.list_cases(INSPECTOR, ORG, "concluded")["items"]] == [case["case_id"]]
    assert service.list_cases(actor("dc", "org-up", "discipline_commission"), ORG)["items"][0]["status"] == "concluded"
    with pytest.raises(Forbidden):
        service.list_cases(SECRETARY, ORG)
    with pytest.raises(NotFound):
        service.get_case(actor("ins-b", "org-b", "discipline"), case["case_id"])


def test_c4_case_on_a_secret_ballot_and_on_a_member(service, amqp_uri):
    members = [member("s1", voted=True), member("s2", voted=True, reserved="不同意"), member("s3", presence="leave")]
    decision_id = decided(service, amqp_uri, members=members, method="secret")
    case = service.open_case(INSPECTOR, {"org_id": ORG, "trigger": 2, "decision_id": decision_id,
                                         "summary": "无记名表决的重大失误", "major_error": True})
    assert {p["person_id"]: p["proposal"]["proposal"] for p in case["persons"]} == \
        {"s1": "responsible", "s2": "may_be_exempted", "s3": "not_participant"}
    person = service.open_case(INSPECTOR, {"org_id": ORG, "trigger": 7, "person_id": "p9", "summary": "泄露会议内容"})
    assert [(p["person_id"], p["proposal"]["proposal"]) for p in person["persons"]] == [("p9", "subject")]
    assert person["trigger"]["name"] == "confidentiality_breach"


# ------------------------------------------------------------------ C6

def test_c6_duties_are_tracked_due_overdue_filed(service, database_url):
    with pytest.raises(ValidationFailed) as err:
        service.create_duty(SECRETARY, {"org_id": ORG, "kind": "member_assessment", "year": 2026,
                                        "due_date": "2027-01-31"})
    assert (err.value.field, err.value.rule) == ("person_id", "C6")
    with pytest.raises(Forbidden):
        service.create_duty(LEADER, {"org_id": ORG, "kind": "special_report", "year": 2026, "due_date": "2027-01-31"})
    past = service.create_duty(SECRETARY, {"org_id": ORG, "kind": "annual_comprehensive_report", "year": 2020,
                                           "due_date": "2021-01-31"})
    mine = service.create_duty(actor("od", "org-up", "org_department"), {
        "org_id": ORG, "kind": "secretary_duty_report", "person_id": "sec", "year": 2099, "due_date": "2100-01-31"})
    assert (past["status"], mine["status"]) == ("overdue", "due")
    with pytest.raises(Forbidden):
        service.file_duty(LEADER, mine["duty_id"], {"document_ref": "doc-1"})
    filed = service.file_duty(SECRETARY, mine["duty_id"], {"document_ref": "archive:rec-1"})
    assert (filed["status"], filed["document_ref"], filed["filed_by"]) == ("filed", "archive:rec-1", "sec")
    with pytest.raises(RuleViolation):
        service.file_duty(SECRETARY, mine["duty_id"], {"document_ref": "archive:rec-2"})
    assert [d["duty_id"] for d in service.list_duties(INSPECTOR, ORG, status="overdue")["items"]] == [past["duty_id"]]
    assert len(service.list_duties(actor("od", "org-up", "org_department"), ORG)["items"]) == 2
    # the overdue annual report becomes a C6 alert
    service.run_checks(SYSTEM)
    assert [(a["rule"], a["subject_id"]) for a in service.list_alerts(INSPECTOR, ORG)["items"]] == \
        [("C6", past["duty_id"])]


# ------------------------------------------------------------------ C7 from events

def test_c7_alerts_from_meeting_and_voting_events_kept_once(service, amqp_uri, database_url):
    with Connection(amqp_uri) as conn:
        watch = Queue(f"watch-{uuid.uuid4().hex[:8]}", exchange=event_exchange("accountability"),
                      routing_key="compliance_alert_raised", exclusive=True)
        watch(conn.default_channel).declare()
        late = make_envelope("meetings", "meeting_noticed", ORG, {
            "meeting_id": "m-late", "kind": "regular", "title": "月度会议", "scheduled_at": "2026-03-10T02:00:00Z",
            "noticed_at": "2026-03-09T02:00:00Z", "objection_deadline": "2026-03-09T02:00:00Z",
            "chair_person_id": "sec", "agenda": [], "recipients": []})
        timely = make_envelope("meetings", "meeting_noticed", ORG, {
            "meeting_id": "m-ok", "kind": "regular", "title": "月度会议", "scheduled_at": "2026-03-10T02:00:00Z",
            "noticed_at": "2026-03-07T02:00:00Z", "objection_deadline": "2026-03-09T02:00:00Z",
            "chair_person_id": "sec", "agenda": [], "recipients": []})
        thin = make_envelope("meetings", "meeting_opened", ORG, {
            "meeting_id": "m-late", "opened_at": "2026-03-10T02:05:00Z", "n": 9, "present": 5, "quorum": 6})
        full = make_envelope("meetings", "meeting_opened", ORG, {
            "meeting_id": "m-ok", "opened_at": "2026-03-10T02:05:00Z", "n": 9, "present": 6, "quorum": 6})
        publish(amqp_uri, "meetings", late, late, timely, thin, thin, full)
        reconsidered = result_decided(superseded_decision_id="d-old")
        approved = result_decided(superseded_decision_id="d-older", reconsideration_approved_by="sec")
        publish(amqp_uri, "voting", reconsidered, reconsidered, approved)

        def alerts():
            items = service.list_alerts(SECRETARY, ORG)["items"]
            return items if len(items) >= 3 else None
        wait_for(alerts)
        wait_for(lambda: service.decision_links(SECRETARY, approved["data"]["decision_id"]) if rows(
            database_url, "SELECT count(*) FROM decisions")[0][0] == 2 else None)
        items = service.list_alerts(INSPECTOR, ORG)["items"]
        assert sorted((a["rule"], a["subject_type"], a["subject_id"]) for a in items) == [
            ("M5", "meeting", "m-late"), ("M8", "meeting", "m-late"),
            ("V7", "decision", reconsidered["data"]["decision_id"])]

        received = []
        consumer = conn.SimpleQueue(watch)
        deadline = time.monotonic() + 10
        while len(received) < 3 and time.monotonic() < deadline:
            try:
                msg = consumer.get(timeout=1)
            except consumer.Empty:
                continue
            received.append(msg.payload)
            msg.ack()
        consumer.close()
    assert sorted(e["data"]["rule"] for e in received) == ["M5", "M8", "V7"]
    assert {e["data"]["alert_id"] for e in received} == {a["alert_id"] for a in items}
    assert set(received[0]["data"]) == {"alert_id", "rule", "subject_type", "subject_id", "message", "message_zh",
                                        "raised_at"}
    assert rows(database_url, "SELECT count(*) FROM compliance_alerts")[0][0] == 3

    # acknowledged by the secretary or an inspector, kept, hidden from the open list
    m5 = next(a for a in items if a["rule"] == "M5")
    with pytest.raises(Forbidden):
        service.acknowledge_alert(LEADER, m5["alert_id"], {"note": "知悉"})
    with pytest.raises(ValidationFailed) as err:
        service.acknowledge_alert(SECRETARY, m5["alert_id"], {})
    assert (err.value.field, err.value.rule) == ("note", "C7")
    with pytest.raises(NotFound):
        service.acknowledge_alert(actor("sec-b", "org-b", "secretary"), m5["alert_id"], {"note": "知悉"})
    ack = service.acknowledge_alert(SECRETARY, m5["alert_id"], {"note": "已补发通知并说明"})
    assert (ack["acknowledged"], ack["acknowledged_by"], ack["note"]) == (True, "sec", "已补发通知并说明")
    assert m5["alert_id"] not in {a["alert_id"] for a in service.list_alerts(SECRETARY, ORG)["items"]}
    assert m5["alert_id"] in {a["alert_id"] for a in service.list_alerts(SECRETARY, ORG, False)["items"]}
    with pytest.raises(Forbidden):
        service.list_alerts(LEADER, ORG)
    with pytest.raises(Forbidden):
        service.list_alerts(actor("sec-b", "org-b", "secretary"), ORG)


def test_c7_m4_only_a_topic_raised_at_the_meeting_is_checked_and_kept(service, amqp_uri, database_url):
    opened = make_envelope("meetings", "meeting_scheduled", ORG, {
        "meeting_id": "m-topics", "kind": "regular", "title": "月度会议", "scheduled_at": "2026-03-10T02:00:00Z"})
    placed = make_envelope("meetings", "topic_accepted", ORG, {
        "meeting_id": "m-topics", "topic_id": "t-placed", "category": "personnel", "raised_at_meeting": False})
    raised = make_envelope("meetings", "topic_accepted", ORG, {
        "meeting_id": "m-topics", "topic_id": "t-raised", "category": "work_plan", "raised_at_meeting": True})
    publish(amqp_uri, "meetings", opened)
    wait_for(lambda: rows(database_url,
                          "SELECT 1 FROM meeting_facts WHERE meeting_id = 'm-topics' AND kind = 'regular'"))
    publish(amqp_uri, "meetings", placed, placed, raised, raised)
    wait_for(lambda: service.list_alerts(SECRETARY, ORG)["items"] or None)
    # the raised topic at a regular meeting: one M4 alert, whatever the redelivery
    assert [(a["rule"], a["subject_id"]) for a in service.list_alerts(SECRETARY, ORG)["items"]] == \
        [("M4", "t-raised")]
    # the placed topic (the common case) was consumed without a transaction: no inbox row, no alert
    handled = rows(database_url, "SELECT event_id FROM inbox WHERE handler = 'accountability.on_topic_accepted'")
    assert [r[0] for r in handled] == [raised["event_id"]]


def test_c7_month_without_meeting_and_year_without_democratic_life_from_the_checks(service, amqp_uri, database_url):
    scheduled = [make_envelope("meetings", "meeting_scheduled", ORG, {
        "meeting_id": mid, "kind": kind, "title": "会议", "scheduled_at": when, "chair_person_id": "sec",
        "delegated_by": None}) for mid, kind, when in (
        ("m-jan", "regular", "2025-01-15T02:00:00Z"), ("m-mar", "regular", "2025-03-15T02:00:00Z"))]
    opened = [make_envelope("meetings", "meeting_opened", ORG, {
        "meeting_id": mid, "opened_at": when, "n": 5, "present": 5, "quorum": 4}) for mid, when in (
        ("m-jan", "2025-01-15T02:00:00Z"), ("m-mar", "2025-03-15T02:00:00Z"))]
    publish(amqp_uri, "meetings", *scheduled, *opened)
    wait_for(lambda: rows(database_url, "SELECT count(*) FROM meeting_facts "
                                        "WHERE opened_at IS NOT NULL AND kind IS NOT NULL")[0][0] == 2)
    assert service.run_checks(SYSTEM, "2025-04-02T00:00:00Z")["alerts_raised"] == 1
    alerts = service.list_alerts(SECRETARY, ORG)["items"]
    assert [(a["rule"], a["subject_id"]) for a in alerts] == [("M2", "2025-02")]
    assert service.run_checks(SYSTEM, "2025-04-02T00:00:00Z")["alerts_raised"] == 0
    # later: every month from April 2025 to December 2026, and the year 2026 (2025 was the first year seen)
    found = service.run_checks(SYSTEM, "2027-01-05T00:00:00Z")
    rules = sorted((a["rule"], a["subject_id"]) for a in service.list_alerts(SECRETARY, ORG)["items"])
    assert ("M11", "2026") in rules and ("M11", "2025") not in rules
    assert [r for r in rules if r[0] == "M2"] == [("M2", f"{y}-{m:02d}") for y, m in
                                                  [(2025, 2)] + [(2025, m) for m in range(4, 13)]
                                                  + [(2026, m) for m in range(1, 13)]]
    assert found["alerts_raised"] == 22


def test_c7_malformed_meeting_event_is_dead_lettered_and_writes_nothing(service, amqp_uri, database_url):
    from shared.topology import queue_name
    bad = make_envelope("meetings", "meeting_opened", ORG, {"meeting_id": "m-x", "opened_at": "yesterday",
                                                            "n": 9, "present": 1, "quorum": 6})
    good = make_envelope("meetings", "meeting_opened", ORG, {"meeting_id": "m-y", "opened_at": "2026-03-10T02:05:00Z",
                                                             "n": 9, "present": 1, "quorum": 6})
    publish(amqp_uri, "meetings", bad, good)
    wait_for(lambda: service.list_alerts(SECRETARY, ORG)["items"])
    dlq = queue_name("meetings", "meeting_opened", "accountability", "on_meeting_opened") + ".dlq"

    def dead():
        with Connection(amqp_uri) as conn:
            return conn.default_channel.queue_declare(queue=dlq, passive=True).message_count == 1
    wait_for(dead)
    assert [a["subject_id"] for a in service.list_alerts(SECRETARY, ORG)["items"]] == ["m-y"]
    assert rows(database_url, "SELECT meeting_id FROM meeting_facts") == [("m-y",)]


# ------------------------------------------------------------------ C2 keyset paging

def test_c2_person_record_keyset_paging_walks_the_whole_record(service, amqp_uri):
    events = [result_decided(members=[member("p-k", stance="yes")], decided_at=f"20{10 + i}-05-01T02:00:00Z")
              for i in range(5)]
    publish(amqp_uri, "voting", *events)
    me = actor("p-k", ORG, "member")
    wait_for(lambda: service.person_record(me, "p-k")["total"] == 5)
    seen, cursor = [], None
    while True:
        page = service.person_record(me, "p-k", limit=2, cursor=cursor)
        seen += [i["decided_at"][:4] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["2014", "2013", "2012", "2011", "2010"]
    with pytest.raises(ValidationFailed) as err:
        service.person_record(me, "p-k", cursor="garbage!")
    assert (err.value.field, err.value.rule) == ("cursor", "C2")


# ------------------------------------------------------------------ timer, replicas

def test_c7_timer_raises_overdue_duty_alert_once_across_two_replicas(container_factory, rpc_client, pg_url,
                                                                     amqp_uri):
    for _ in range(2):   # two replicas on one database, each with its own timer
        container_factory(AccountabilityService, database_url=pg_url, COMPLIANCE_SWEEP_SECONDS="0.2").start()
    svc = rpc_client().accountability
    duty = svc.create_duty(SECRETARY, {"org_id": ORG, "kind": "annual_comprehensive_report", "year": 2020,
                                       "due_date": "2021-01-31"})
    wait_for(lambda: svc.list_alerts(SECRETARY, ORG)["items"])
    eventlet.sleep(1.0)   # several more ticks in both replicas
    items = svc.list_alerts(SECRETARY, ORG)["items"]
    assert [(a["rule"], a["subject_id"]) for a in items] == [("C6", duty["duty_id"])]
    assert len(outbox(pg_url, "compliance_alert_raised")) == 1


def test_c7_v5_a_decision_confirmed_despite_serious_disagreement_alerts_the_inspector(service, amqp_uri):
    reason = "岗位空缺影响工作，需即时决定"
    overridden = result_decided(serious_disagreement=True, confirm_reason=reason)
    emergency = result_decided(serious_disagreement=True, confirm_reason=None, emergency=True)
    calm = result_decided(serious_disagreement=False, confirm_reason=None)
    publish(amqp_uri, "voting", overridden, overridden, emergency, calm)
    wait_for(lambda: rows_linked(service, calm, emergency, overridden))
    items = service.list_alerts(INSPECTOR, ORG)["items"]
    assert [(a["rule"], a["subject_type"], a["subject_id"]) for a in items] == [
        ("V5", "decision", overridden["data"]["decision_id"])]               # once, whatever the redelivery
    assert reason in items[0]["message"]


def rows_linked(svc, *events):
    try:
        return all(svc.decision_links(SECRETARY, e["data"]["decision_id"]) for e in events)
    except Exception:
        return False


def test_c7_two_events_of_one_meeting_handled_at_once_keep_one_fact(pg_url):
    """Two workers (or replicas) handle a meeting's scheduled and opened events at once, or one is
    handled again after a restore: the meeting's facts are made once and carry both, instead of a
    duplicate-key failure sending the event to the dead letters."""
    from sqlalchemy.orm import Session

    from services.accountability import models
    from services.accountability.service import _meeting_fact

    engine = make_engine(pg_url)
    models.MeetingFact.__table__.create(engine)
    first = Session(engine)
    _meeting_fact(first, ORG, "m-race", kind="regular", title="党组会议")
    first.flush()                                         # inserted, not committed: the row is locked

    def second():
        with Session(engine) as s, s.begin():
            _meeting_fact(s, ORG, "m-race", n=9, present=7)

    worker = eventlet.spawn(second)
    eventlet.sleep(0.3)                                   # the second insert now waits on the first
    first.commit()
    first.close()
    worker.wait()                                         # raised IntegrityError before the fix
    [row] = rows(pg_url, "SELECT kind, title, n, present FROM meeting_facts WHERE meeting_id = 'm-race'")
    assert tuple(row) == ("regular", "党组会议", 9, 7)
    engine.dispose()
