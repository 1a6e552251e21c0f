"""Facts the rules say to record that had no event before (issue 18), over a real RabbitMQ,
on SQLite and PostgreSQL, each service with its own database:

- C5 §三(十二): a postponement and a declaration that a decision cannot be carried out are
  explained to the group (the secretary among them) by notification, and kept by the archive;
- N2: a delivery that finally fails on its channel is said once (``notification_failed``) and
  kept by the archive as a ``notification_failure`` record.
"""
import datetime as dt
import json

import eventlet
import pytest
import sqlalchemy as sa

from services.accountability.service import AccountabilityService
from services.archive.service import ArchiveService
from services.notifications.service import NotificationsService
from shared.db import make_engine
from tests.integration.test_accountability_tracking import OFFICE, SECRETARY, decided, member, today
from tests.integration.test_notifications_channels import meeting_noticed
from tests.support.events import publish, wait_for
from tests.support.roster import actor
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
ORG = "org-a"
LEADER = actor("y1", ORG, "member")
DISSENTER = actor("n1", ORG, "member")
GROUP = [member("sec", stance="yes"), member("y1", stance="yes"), member("y2", stance="yes"),
         member("n1", stance="no"), member("l1", presence="leave")]


@pytest.fixture
def database_for(request, database_url, tmp_path):
    """One database per service, on the backend of ``database_url``."""
    made = []

    def make(name):
        if database_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        postgres = request.getfixturevalue("postgres")
        url = postgres.create_database()
        made.append((postgres, url))
        return url
    yield make
    for postgres, url in made:
        try:
            postgres.drop_database(url)
        except Exception:
            pass


def outbox_events(url, event_type):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT body FROM outbox WHERE event_type = :t ORDER BY id"),
                                {"t": event_type}).all()
    finally:
        engine.dispose()
    return [json.loads(r[0]) for r in rows]


def records(archive, kind):
    return archive.list_records(SECRETARY, ORG, limit=100, kind=kind)["items"]


def test_c5_postponement_and_non_execution_are_explained_to_the_group_and_archived(
        container_factory, rpc_client, amqp_uri, database_for):
    container_factory(AccountabilityService, database_url=database_for("accountability")).start()
    container_factory(NotificationsService, database_url=database_for("notifications")).start()
    container_factory(ArchiveService, database_url=database_for("archive")).start()
    proxy = rpc_client()
    accountability, notifications, archive = proxy.accountability, proxy.notifications, proxy.archive

    decision_id = decided(accountability, amqp_uri, members=GROUP)
    deadline = today() + dt.timedelta(days=30)
    task_id = accountability.assign_implementation(SECRETARY, decision_id, {
        "leader_person_id": "y1", "units": ["规划处"], "deadline": deadline.isoformat()})["task_id"]
    later = deadline + dt.timedelta(days=30)
    accountability.postpone(LEADER, task_id, {"new_deadline": later.isoformat(),
                                              "explanation": "资金下达推迟，向党组说明"})
    accountability.declare_not_executable(OFFICE, task_id, {"explanation": "上级政策调整，无法执行"})

    # the group, the secretary among them, reads both explanations in their inbox
    def kinds_of(person):
        return [n["kind"] for n in notifications.inbox(person)["items"]
                if n["kind"].startswith("implementation_")]
    for person in (SECRETARY, DISSENTER, LEADER, actor("l1", ORG, "member")):
        wait_for(lambda: len(kinds_of(person)) == 2, timeout=20)
        assert kinds_of(person) == ["implementation_not_executable", "implementation_postponed"], person
    stopped, moved = [n for n in notifications.inbox(SECRETARY)["items"] if n["kind"].startswith("implementation_")]
    assert moved["ref_id"] == task_id and moved["title"] == "落实延期：老旧小区改造方案"
    assert f"由 {deadline.isoformat()} 延至 {later.isoformat()}" in moved["body"]
    assert "说明：资金下达推迟，向党组说明" in moved["body"]
    assert stopped["title"] == "决定无法执行：老旧小区改造方案" and "上级政策调整，无法执行" in stopped["body"]
    # a person outside the decision's group hears nothing
    assert kinds_of(actor("outsider", ORG, "member")) == []

    # the archive keeps both, 30 years, with the explanation and who was told
    wait_for(lambda: records(archive, "implementation_postponement")
             and records(archive, "implementation_non_execution"), timeout=20)
    (postponed,) = records(archive, "implementation_postponement")
    (declared,) = records(archive, "implementation_non_execution")
    assert postponed["retention"] == declared["retention"] == "30y"
    c = postponed["content"]
    assert (c["task_id"], c["decision_id"], c["old_deadline"], c["new_deadline"], c["postponed_by"]) == (
        task_id, decision_id, deadline.isoformat(), later.isoformat(), "y1")
    assert c["explanation"] == "资金下达推迟，向党组说明"
    assert c["recipients"] == ["sec", "y1", "y2", "n1", "l1"]
    assert (declared["content"]["explanation"], declared["content"]["declared_by"]) == ("上级政策调整，无法执行", "off")
    assert archive.verify(SECRETARY, ORG)["ok"] is True


def test_n2_a_delivery_that_finally_fails_is_said_once_and_archived(
        container_factory, rpc_client, amqp_uri, database_for):
    notifications_db = database_for("notifications")
    with WebhookReceiver(fail_first=100) as receiver:
        # two replicas: each delivery is claimed by one, and only the claim holder marks it failed
        for _ in range(2):
            container_factory(NotificationsService, database_url=notifications_db, WEBHOOK_ALLOW_PRIVATE="1",
                              DELIVERY_POLL_SECONDS=0.05, DELIVERY_BACKOFF_SECONDS=0.05, DELIVERY_MAX_ATTEMPTS=3,
                              WEBHOOK_TIMEOUT_SECONDS=2).start()
        container_factory(ArchiveService, database_url=database_for("archive")).start()
        proxy = rpc_client()
        notifications, archive = proxy.notifications, proxy.archive
        hook = notifications.register_webhook(OFFICE, {"url": receiver.url, "event_types": ["meeting_notice"]})
        receiver.secret = hook["secret"]
        notice = meeting_noticed(["p1"])
        publish(amqp_uri, "meetings", notice)
        wait_for(lambda: notifications.deliveries(OFFICE, {"channel": "webhook", "status": "failed"})["items"],
                 timeout=20)
        eventlet.sleep(1.0)                     # any further pass would have to say it again
        (failed,) = notifications.deliveries(OFFICE, {"channel": "webhook"})["items"]
        assert len(receiver.requests) == 3

    (event,) = outbox_events(notifications_db, "notification_failed")
    data = event["data"]
    assert event["org_id"] == ORG and event["producer"] == "notifications"
    assert (data["delivery_id"], data["source_event_id"], data["kind"], data["channel"], data["recipient"]) == (
        failed["delivery_id"], notice["event_id"], "meeting_notice", "webhook", hook["webhook_id"])
    assert (data["attempts"], data["error"]) == (3, "HTTP 500")
    assert "payload" not in data and "body" not in data           # never the message itself
    # no failure is said for the inbox delivery, which was delivered
    assert all(e["data"]["channel"] != "inbox" for e in outbox_events(notifications_db, "notification_failed"))

    wait_for(lambda: records(archive, "notification_failure"), timeout=20)
    (record,) = records(archive, "notification_failure")
    assert record["source_event_id"] == event["event_id"] and record["retention"] == "10y"
    assert record["content"]["delivery_id"] == failed["delivery_id"]


def test_c5_c7_c4_reminders_alerts_acknowledgements_and_proposals_reach_people_and_the_archive(
        container_factory, rpc_client, amqp_uri, database_for):
    """C5 §三(七): a near deadline reminds the leader and the office once, an overdue task tells
    them; C7: the alert reaches the discipline inspector (who holds the role, from
    ``staff_appointment_changed``) and its acknowledgement is archived; C3/C4: a case's proposals are
    archived as a confidential record (A1, A3)."""
    from shared.clock import utcnow
    from shared.envelope import make_envelope
    from tests.integration.test_accountability_tracking import INSPECTOR, SYSTEM
    container_factory(AccountabilityService, database_url=database_for("accountability")).start()
    container_factory(NotificationsService, database_url=database_for("notifications")).start()
    container_factory(ArchiveService, database_url=database_for("archive")).start()
    proxy = rpc_client()
    accountability, notifications, archive = proxy.accountability, proxy.notifications, proxy.archive
    # the meetings service says who the discipline inspector is (and a former one, whose term ended)
    publish(amqp_uri, "meetings", make_envelope("meetings", "staff_appointment_changed", ORG, {
        "person_id": "ins", "role": "discipline", "start_date": "2020-01-01", "end_date": None,
        "division_of_work": None}))
    publish(amqp_uri, "meetings", make_envelope("meetings", "staff_appointment_changed", ORG, {
        "person_id": "ins-old", "role": "discipline", "start_date": "2015-01-01", "end_date": "2019-12-31",
        "division_of_work": None, "end_reason": "transfer"}))

    def inbox_kinds(person, prefix):
        return [n["kind"] for n in notifications.inbox(person)["items"] if n["kind"].startswith(prefix)]

    decision_id = decided(accountability, amqp_uri, members=GROUP)
    deadline = today() + dt.timedelta(days=2)
    task_id = accountability.assign_implementation(OFFICE, decision_id, {
        "leader_person_id": "y1", "units": ["规划处"], "deadline": deadline.isoformat()})["task_id"]
    far = accountability.assign_implementation(OFFICE, decision_id, {
        "leader_person_id": "y2", "units": ["财务处"], "deadline": (today() + dt.timedelta(days=40)).isoformat()})
    assert accountability.run_checks(SYSTEM)["implementation_due_soon"] == 1
    assert accountability.run_checks(SYSTEM)["implementation_due_soon"] == 0        # once per deadline
    for person in (LEADER, OFFICE):
        wait_for(lambda: inbox_kinds(person, "implementation_") == ["implementation_due_soon"], timeout=20)
    (reminder,) = [n for n in notifications.inbox(LEADER)["items"] if n["kind"] == "implementation_due_soon"]
    assert reminder["ref_id"] == task_id and reminder["title"] == "落实即将到期：老旧小区改造方案"
    assert f"落实期限为 {deadline.isoformat()}，还剩 2 天" in reminder["body"]
    assert inbox_kinds(actor("y2", ORG, "member"), "implementation_") == []       # 40 days away: not yet

    # ten days on: overdue, told to the leader and the office; the C5 alert reaches the inspector
    later = (utcnow() + dt.timedelta(days=10)).isoformat()
    accountability.run_checks(SYSTEM, later)
    for person in (LEADER, OFFICE):
        wait_for(lambda: "implementation_overdue" in inbox_kinds(person, "implementation_"), timeout=20)
    wait_for(lambda: inbox_kinds(INSPECTOR, "compliance_alert"), timeout=20)
    (alert_notice,) = [n for n in notifications.inbox(INSPECTOR)["items"] if n["kind"] == "compliance_alert"]
    assert alert_notice["title"] == "合规提醒（C5）"
    assert inbox_kinds(actor("ins-old", ORG, "discipline"), "compliance_alert") == []   # term ended
    (alert,) = [a for a in accountability.list_alerts(INSPECTOR, ORG)["items"] if a["rule"] == "C5"]
    assert alert_notice["ref_id"] == alert["alert_id"]
    accountability.acknowledge_alert(INSPECTOR, alert["alert_id"], {"note": "已督促分管领导落实"})

    case = accountability.open_case(INSPECTOR, {"org_id": ORG, "trigger": 2, "decision_id": decision_id,
                                                "summary": "决策失误", "major_error": True})

    wait_for(lambda: records(archive, "implementation_reminder") and records(archive, "alert_acknowledgement")
             and records(archive, "case_proposal"), timeout=20)
    (kept,) = records(archive, "implementation_reminder")
    assert kept["retention"] == "10y" and kept["content"]["task_id"] == task_id
    assert kept["content"]["recipients"] == ["y1", "off"] and far["task_id"] != task_id
    (ack,) = records(archive, "alert_acknowledgement")
    assert (ack["content"]["alert_id"], ack["content"]["acknowledged_by"], ack["content"]["note"]) == (
        alert["alert_id"], "ins", "已督促分管领导落实")
    (proposal,) = records(archive, "case_proposal")
    assert proposal["classification"] == "confidential" and proposal["retention"] == "permanent"
    assert {p["person_id"]: p["proposal"] for p in proposal["content"]["persons"]} == {
        "sec": "responsible", "y1": "responsible", "y2": "responsible", "n1": "may_be_exempted",
        "l1": "not_participant"}
    assert proposal["content"]["case_id"] == case["case_id"]
    assert archive.verify(SECRETARY, ORG)["ok"] is True


def test_a1_materials_democratic_life_steps_and_staff_terms_are_kept_with_their_classification(
        container_factory, rpc_client, amqp_uri, database_for):
    """A1: a topic's preparation records and a material's name, size and SHA-256 (confidential for a
    personnel topic, A3), each
    democratic life step and its rectification's completion (permanent), and a staff term (§二)
    are records of the chain, filed under their meeting where they have one."""
    from shared.envelope import make_envelope
    container_factory(ArchiveService, database_url=database_for("archive")).start()
    archive = rpc_client().archive
    meeting_id = "m-dl-1"
    publish(amqp_uri, "meetings",
            make_envelope("meetings", "material_attached", ORG, {
                "material_id": "mat-1", "topic_id": "t-1", "meeting_id": "m-1", "topic_title": "干部任免",
                "category": "personnel", "filename": "考察材料.pdf", "content_type": "application/pdf",
                "size": 109, "sha256": "a" * 64, "prepared_as": "hr", "uploaded_by": "hr-1",
                "uploaded_at": "2027-01-05T02:00:00Z"}),
            make_envelope("meetings", "democratic_life_step_recorded", ORG, {
                "step_id": "st-1", "meeting_id": meeting_id, "theme": "强化理论武装", "step": "rectification",
                "person_id": None, "text": "整改措施1", "data": None, "recorded_by": "off",
                "recorded_at": "2027-01-20T02:00:00Z"}),
            make_envelope("meetings", "rectification_completed", ORG, {
                "step_id": "st-1", "meeting_id": meeting_id, "theme": "强化理论武装", "measure": "整改措施1",
                "completion": "已完成", "completed_by": "off", "completed_at": "2027-03-01T02:00:00Z"}),
            make_envelope("meetings", "staff_appointment_changed", ORG, {
                "person_id": "ins", "role": "discipline", "start_date": "2020-01-01", "end_date": None,
                "division_of_work": None}),
            make_envelope("meetings", "topic_preparation_recorded", ORG, {
                "topic_id": "t-2", "meeting_id": None, "title": "安置房项目", "category": "major_decision",
                "part": "preparation", "research": "调研报告", "opinions_from": ["住建委"],
                "risk_assessment": "中等", "legal_review": "合法合规", "subordinate_opinion": None,
                "recorded_by": "off", "recorded_at": "2027-01-04T02:00:00Z"}),
            make_envelope("meetings", "topic_preparation_recorded", ORG, {
                "topic_id": "t-1", "meeting_id": "m-1", "title": "干部任免", "category": "personnel",
                "part": "precoordination", "leader_person_id": "p-2", "with_whom": ["组织部"],
                "outcome": "意见一致", "recorded_by": "p-2", "recorded_at": "2027-01-04T03:00:00Z"}))
    wait_for(lambda: records(archive, "material") and len(records(archive, "democratic_life")) == 2
             and records(archive, "term") and len(records(archive, "topic_preparation")) == 2, timeout=20)
    # M3/A1: a topic's preparation records, each under its topic; personnel ones confidential (A3)
    preparation = {r["subject_id"]: r for r in records(archive, "topic_preparation")}
    assert preparation["t-2"]["classification"] == "internal" and preparation["t-2"]["retention"] == "30y"
    assert preparation["t-2"]["content"]["legal_review"] == "合法合规"
    assert preparation["t-1"]["classification"] == "confidential"
    assert preparation["t-1"]["content"]["with_whom"] == ["组织部"]
    (material,) = records(archive, "material")
    assert material["classification"] == "confidential" and material["retention"] == "30y"
    assert (material["content"]["sha256"], material["content"]["size"]) == ("a" * 64, 109)
    steps = records(archive, "democratic_life")
    assert [r["subject_id"] for r in steps] == ["st-1", "st-1"] and {r["retention"] for r in steps} == {"permanent"}
    assert steps[1]["content"]["completion"] == "已完成"
    by_meeting = archive.list_records(SECRETARY, ORG, limit=10, meeting_id=meeting_id)["items"]
    assert [r["kind"] for r in by_meeting] == ["democratic_life", "democratic_life"]
    (term,) = records(archive, "term")
    assert (term["content"]["person_id"], term["content"]["role"]) == ("ins", "discipline")
    assert archive.verify(SECRETARY, ORG)["ok"] is True
