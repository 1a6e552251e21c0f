"""Notifications on every channel over a real RabbitMQ, on SQLite and PostgreSQL (N1, N2, M5).

A real SMTP server on loopback receives the e-mails, a real HTTP server on
loopback receives the webhooks and checks their signatures; the service is
killed between receiving an event and sending it, and run as two replicas.
"""
import datetime as dt
import uuid

import eventlet
import pytest
import sqlalchemy as sa

from services.notifications.service import NotificationsService
from shared.clock import iso, utcnow
from shared.db import make_engine
from shared.envelope import make_envelope
from shared.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from tests.support.events import publish, wait_for
from tests.support.roster import ADMIN, actor
from tests.support.smtp_sink import SmtpSink
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
ORG = "org-a"
OFFICE = actor("o1", ORG, "office")
SENDER = "党组通知 <notify@example.org>"


def meeting_noticed(recipients, title="党组会议", **extra):
    data = {
        "meeting_id": str(uuid.uuid4()), "kind": "regular", "title": title,
        "scheduled_at": "2026-12-10T02:00:00Z", "noticed_at": "2026-12-07T02:00:00Z",
        "objection_deadline": "2026-12-09T02:00:00Z", "chair_person_id": "p0",
        "agenda": [{"topic_id": "t1", "title": "2027年度工作计划", "category": "work_plan"}],
        "recipients": recipients,
    }
    data.update(extra)
    return make_envelope("meetings", "meeting_noticed", ORG, data)


def ballot_opened(eligible, meeting_id="m-1"):
    return make_envelope("voting", "ballot_opened", ORG, {
        "ballot_id": str(uuid.uuid4()), "meeting_id": meeting_id, "agenda_item_id": "t1", "title": "干部任免",
        "category": "personnel", "method": "named", "n": 9, "present": 7, "eligible": eligible})


def result_decided(members, meeting_id="m-1"):
    return make_envelope("voting", "result_decided", ORG, {
        "decision_id": str(uuid.uuid4()), "ballot_id": "b-1", "meeting_id": meeting_id, "agenda_item_id": "t1",
        "title": "干部任免", "category": "personnel", "method": "named", "emergency": False, "n": 9,
        "present": 7, "yes": 6, "no": 1, "abstain": 0, "threshold": 5, "outcome": "passed",
        "superseded_decision_id": None, "decided_at": "2026-12-10T03:00:00Z",
        "members": [{"person_id": p, "presence": "present", "voted": True, "stance": "yes",
                     "reserved_opinion": None, "written_opinion": None} for p in members]})


def sql(database_url, statement, **params):
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return result.all() if result.returns_rows else result.rowcount
    finally:
        engine.dispose()


def smtp_config(sink, **extra):
    return {"SMTP_HOST": sink.host, "SMTP_PORT": sink.port, "SMTP_TLS": "none", "SMTP_SENDER": SENDER,
            "SMTP_TIMEOUT_SECONDS": 2, "WEBHOOK_TIMEOUT_SECONDS": 2, "DELIVERY_POLL_SECONDS": 0.1, **extra}


@pytest.fixture
def sink():
    s = SmtpSink().start()
    yield s
    s.stop()


# ------------------------------------------------------------------------------ e-mail

def test_n1_n2_email_reaches_each_attendee_once_in_chinese_multipart_utf8(container_factory, rpc_client,
                                                                         database_url, amqp_uri, sink):
    container_factory(NotificationsService, database_url=database_url, **smtp_config(sink)).start()
    svc = rpc_client().notifications
    for pid in ("p1", "p2", "p3", "p4"):
        svc.set_contact(ADMIN, pid, {"email": f"{pid}@example.org"})
    svc.set_preferences(actor("p2", ORG, "member"), {"language": "en"})
    svc.set_preferences(actor("p3", ORG, "member"), {"channels": {"email": False}})
    notice = meeting_noticed(["p1", "p2", "p3"])
    publish(amqp_uri, "meetings", notice, notice)          # delivered twice
    wait_for(lambda: len(sink.messages) >= 2)
    eventlet.sleep(1.0)                                      # room for a wrong second copy to arrive

    assert sorted(m.rcpt_tos[0] for m in sink.messages) == ["p1@example.org", "p2@example.org"]
    [p1] = sink.to("p1@example.org")
    assert p1.mail_from == "notify@example.org"
    assert p1.subject == "会议通知：党组会议"                   # decoded from RFC 2047
    assert b"=?utf-8?" in p1.raw.split(b"\r\n\r\n", 1)[0]
    assert p1.message.get_content_type() == "multipart/alternative"
    text, html = p1.body("plain"), p1.body("html")
    assert "2027年度工作计划" in text and "2026-12-10T02:00:00Z" in text
    assert "<li>2027年度工作计划</li>" in html and "<h1>会议通知：党组会议</h1>" in html
    assert p1.message.get_body(("plain",)).get_content_charset() == "utf-8"
    [p2] = sink.to("p2@example.org")
    assert p2.subject == "Meeting notice: 党组会议" and "Agenda:" in p2.body("plain")
    # the inbox still has the notice for everybody, whatever their e-mail preference
    assert len(svc.inbox(actor("p3", ORG, "member"))["items"]) == 1
    # every delivery is tracked; the Message-ID is derived from the delivery id
    mails = svc.deliveries(OFFICE, {"channel": "email"})["items"]
    assert {(d["recipient"], d["status"], d["attempts"]) for d in mails} == {("p1", "sent", 1), ("p2", "sent", 1)}
    by_person = {d["recipient"]: d for d in mails}
    assert p1.message_id == f"<{by_person['p1']['delivery_id']}@example.org>"
    assert by_person["p1"]["log"][0]["ok"] is True
    inbox = svc.deliveries(OFFICE, {"channel": "inbox"})["items"]
    assert sorted(d["recipient"] for d in inbox) == ["p1", "p2", "p3"]
    assert sql(database_url, "SELECT count(*) FROM deliveries")[0][0] == 5
    # keyset paging (issue 20): pages of 2 by cursor give every delivery once, newest first
    whole = svc.deliveries(OFFICE, {}, 50)
    assert len(whole["items"]) == 5 and whole["next_cursor"] is None
    walked, cursor = [], None
    while True:
        page = svc.deliveries(OFFICE, {}, 2, 0, cursor)
        walked += [d["delivery_id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == [d["delivery_id"] for d in whole["items"]]
    with pytest.raises(ValidationFailed) as err:
        svc.deliveries(OFFICE, {}, 2, 0, "not-a-cursor")
    assert err.value.field == "cursor"
    with pytest.raises(ValidationFailed) as err:
        svc.deliveries(OFFICE, {}, 2, 1, svc.deliveries(OFFICE, {}, 2)["next_cursor"])
    assert err.value.field == "offset"


def test_n2_contact_and_preferences_refusals_write_nothing(container_factory, rpc_client, database_url):
    container_factory(NotificationsService, database_url=database_url).start()
    svc = rpc_client().notifications
    with pytest.raises(Forbidden) as err:
        svc.set_contact(actor("p2", ORG, "secretary"), "p1", {"email": "p1@example.org"})
    assert err.value.rule == "N2"
    with pytest.raises(ValidationFailed) as err:
        svc.set_contact(actor("p1", ORG, "member"), "p1", {"email": "not-an-address"})
    assert (err.value.field, err.value.rule) == ("email", "N2")
    with pytest.raises(ValidationFailed) as err:
        svc.set_preferences(actor("p1", ORG, "member"), {"channels": {"email": "no"}})
    assert err.value.field == "channels.email"
    assert sql(database_url, "SELECT count(*) FROM recipients")[0][0] == 0

    me = actor("p1", ORG, "member")
    assert svc.set_contact(me, "p1", {"email": "p1@example.org"}) == {"person_id": "p1", "email": "p1@example.org"}
    assert svc.set_preferences(me, {"channels": {"inbox": False}}) == {
        "person_id": "p1", "email": "p1@example.org", "language": "zh-CN",
        "channels": {"email": True, "inbox": False}}
    assert svc.get_preferences(me)["channels"] == {"email": True, "inbox": False}
    assert svc.set_contact(ADMIN, "p1", {"email": None})["email"] is None


# ------------------------------------------------------------------------------ webhooks

def test_n2_webhook_is_signed_retried_with_backoff_and_succeeds_exactly_once(container_factory, rpc_client,
                                                                            database_url, amqp_uri):
    with WebhookReceiver(fail_first=2) as receiver:
        container_factory(NotificationsService, database_url=database_url, WEBHOOK_ALLOW_PRIVATE="1",
                          DELIVERY_POLL_SECONDS=0.05, DELIVERY_BACKOFF_SECONDS=0.4,
                          WEBHOOK_TIMEOUT_SECONDS=2).start()
        svc = rpc_client().notifications
        hook = svc.register_webhook(OFFICE, {"url": receiver.url, "event_types": ["meeting_notice", "ballot_opened"]})
        assert hook["secret"].startswith("whsec_") and hook["org_id"] == ORG
        receiver.secret = hook["secret"]
        notice = meeting_noticed(["p1", "p2"])
        publish(amqp_uri, "meetings", notice, notice)                     # delivered twice
        publish(amqp_uri, "voting", ballot_opened(["p1"]), result_decided(["p1"]))   # the decision: not subscribed
        wait_for(lambda: len(receiver.successes()) >= 2)
        eventlet.sleep(1.5)

        requests = receiver.requests
        assert all(r["signature_ok"] for r in requests)
        assert all(r["path"] == "/hooks/party" for r in requests)
        by_id = {}
        for r in requests:
            by_id.setdefault(r["id"], []).append(r)
        assert len(by_id) == 2                                          # one delivery per event, not per copy
        assert sorted([r["status"] for r in attempts] for attempts in by_id.values()) == [[500, 500, 204]] * 2
        kinds = sorted(p["type"] for p in receiver.payloads())
        assert kinds == ["ballot_opened", "meeting_notice"]
        body = [p for p in receiver.payloads() if p["type"] == "meeting_notice"][0]
        assert body["data"]["source_event_id"] == notice["event_id"]
        assert body["data"]["recipients"] == ["p1", "p2"] and body["data"]["title"] == "会议通知：党组会议"
        assert body["data"]["event"]["meeting_id"] == notice["data"]["meeting_id"]

        # the delivery log: three attempts each, spaced by the exponential back-off
        log = svc.deliveries(OFFICE, {"channel": "webhook", "source_event_id": notice["event_id"]})["items"]
        [delivery] = log
        assert delivery["status"] == "sent" and delivery["attempts"] == 3 and delivery["recipient"] == hook["webhook_id"]
        assert [(a["attempt"], a["ok"], a["status_code"]) for a in delivery["log"]] == [
            (1, False, 500), (2, False, 500), (3, True, 204)]
        assert delivery["delivery_id"] == by_id[delivery["delivery_id"]][0]["id"]
        at = [dt.datetime.fromisoformat(a["at"].replace("Z", "+00:00")) for a in delivery["log"]]
        assert (at[1] - at[0]).total_seconds() >= 0.35 and (at[2] - at[1]).total_seconds() >= 0.75
        # the secret is shown once only
        assert "secret" not in svc.list_webhooks(OFFICE)["items"][0]


def test_n2_webhook_gives_up_after_the_last_attempt(container_factory, rpc_client, database_url, amqp_uri):
    with WebhookReceiver(fail_first=100) as receiver:
        container_factory(NotificationsService, database_url=database_url, WEBHOOK_ALLOW_PRIVATE="1",
                          DELIVERY_POLL_SECONDS=0.05, DELIVERY_BACKOFF_SECONDS=0.05, DELIVERY_MAX_ATTEMPTS=3,
                          WEBHOOK_TIMEOUT_SECONDS=2).start()
        svc = rpc_client().notifications
        hook = svc.register_webhook(OFFICE, {"url": receiver.url, "event_types": ["meeting_notice"]})
        receiver.secret = hook["secret"]
        publish(amqp_uri, "meetings", meeting_noticed(["p1"]))
        wait_for(lambda: svc.deliveries(OFFICE, {"channel": "webhook", "status": "failed"})["items"])
        eventlet.sleep(0.5)
        assert len(receiver.requests) == 3
        [failed] = svc.deliveries(OFFICE, {"channel": "webhook"})["items"]
        assert failed["attempts"] == 3 and failed["last_error"] == "HTTP 500" and failed["next_attempt_at"] is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.8/hook",
                                 "http://192.168.1.20/hook", "http://169.254.169.254/latest/meta-data",
                                 "ftp://93.184.216.34/hook", "file:///etc/passwd"])
def test_n2_webhook_targets_on_loopback_private_link_local_or_other_schemes_are_refused(
        container_factory, rpc_client, database_url, url):
    container_factory(NotificationsService, database_url=database_url).start()
    svc = rpc_client().notifications
    with pytest.raises(ValidationFailed) as err:
        svc.register_webhook(OFFICE, {"url": url, "event_types": ["meeting_notice"]})
    assert (err.value.field, err.value.rule) == ("url", "N2")
    assert svc.list_webhooks(OFFICE) == {"items": []}


def test_n2_webhooks_are_for_the_office_or_an_administrator_of_the_organization(container_factory, rpc_client,
                                                                             database_url):
    container_factory(NotificationsService, database_url=database_url).start()
    svc = rpc_client().notifications
    data = {"url": "https://93.184.216.34/hook", "event_types": ["meeting_notice"]}
    with pytest.raises(Forbidden) as err:
        svc.register_webhook(actor("p1", ORG, "secretary"), data)
    assert err.value.rule == "N2"
    with pytest.raises(Forbidden):
        svc.register_webhook(OFFICE, {**data, "org_id": "org-b"})
    with pytest.raises(ValidationFailed) as err:
        svc.register_webhook(OFFICE, {**data, "event_types": ["meeting_cancelled"]})
    assert err.value.field == "event_types.0"
    with pytest.raises(ValidationFailed) as err:
        svc.register_webhook(OFFICE, {**data, "secret": "plain-text-secret"})
    assert err.value.field == "secret"
    assert sql(database_url, "SELECT count(*) FROM webhooks")[0][0] == 0

    mine = svc.register_webhook(OFFICE, {**data, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    assert mine["secret"] == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    theirs = svc.register_webhook(ADMIN, {**data, "org_id": "org-b"})
    assert [w["webhook_id"] for w in svc.list_webhooks(OFFICE)["items"]] == [mine["webhook_id"]]
    with pytest.raises(NotFound):
        svc.remove_webhook(OFFICE, theirs["webhook_id"])
    assert svc.remove_webhook(OFFICE, mine["webhook_id"])["active"] is False


# ------------------------------------------------------------------------------ at most once across restarts

def test_n2_service_killed_before_sending_each_recipient_gets_the_notice_exactly_once(
        container_factory, rpc_client, database_url, amqp_uri):
    sink = SmtpSink()                                    # the mail server is down at first
    config = smtp_config(sink, DELIVERY_BACKOFF_SECONDS=0.2, DELIVERY_BACKOFF_MAX_SECONDS=0.5,
                         DELIVERY_MAX_ATTEMPTS=100, DELIVERY_LEASE_SECONDS=3)
    first = container_factory(NotificationsService, database_url=database_url, **config)
    first.start()
    svc = rpc_client().notifications
    people = ["p1", "p2", "p3", "p4"]
    for pid in people:
        svc.set_contact(ADMIN, pid, {"email": f"{pid}@example.org"})
    notice = meeting_noticed(people)
    publish(amqp_uri, "meetings", notice)
    # received and stored, but not sent: every e-mail is pending and has failed at least once
    wait_for(lambda: sql(database_url, "SELECT count(*) FROM deliveries WHERE channel = 'email' "
                                       "AND status = 'pending' AND attempts >= 1")[0][0] == 4)
    first.kill()
    # one row as if a replica had died between claiming and marking it: its lease must expire first
    claimed = sql(database_url, "UPDATE deliveries SET claimed_by = 'dead-replica', claimed_at = :now "
                                "WHERE channel = 'email' AND recipient = 'p4'", now=utcnow().replace(tzinfo=None)
                  if database_url.startswith("sqlite") else utcnow())
    assert claimed == 1
    sink.start()
    try:
        eventlet.sleep(0.5)
        assert sink.messages == []                         # nobody sends while the service is down
        container_factory(NotificationsService, database_url=database_url, **config).start()
        wait_for(lambda: len(sink.messages) >= 4, timeout=20)
        publish(amqp_uri, "meetings", notice)              # and the event arrives once more
        eventlet.sleep(2.0)
        assert sorted(m.rcpt_tos[0] for m in sink.messages) == [f"{p}@example.org" for p in people]
        assert len({m.message_id for m in sink.messages}) == 4
        assert all(m.subject == "会议通知：党组会议" for m in sink.messages)
        rows = sql(database_url, "SELECT recipient, status, claimed_by FROM deliveries WHERE channel = 'email'")
        assert sorted(rows) == [(p, "sent", None) for p in people]
        assert sql(database_url, "SELECT count(*) FROM notifications")[0][0] == 4
    finally:
        sink.stop()


def test_n2_two_replicas_send_each_email_once(container_factory, rpc_client, database_url, amqp_uri, sink):
    config = smtp_config(sink, DELIVERY_POLL_SECONDS=0.05, DELIVERY_BATCH=2)
    for _ in range(2):
        container_factory(NotificationsService, database_url=database_url, **config).start()
    svc = rpc_client().notifications
    people = [f"p{i}" for i in range(1, 9)]
    for pid in people:
        svc.set_contact(ADMIN, pid, {"email": f"{pid}@example.org"})
    publish(amqp_uri, "meetings", meeting_noticed(people))
    wait_for(lambda: len(sink.messages) >= 8)
    eventlet.sleep(1.0)
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted(f"{p}@example.org" for p in people)


# ------------------------------------------------------------------------------ other events and reminders

def test_n1_ballot_opened_reaches_eligible_voters_and_the_decision_every_member(container_factory, rpc_client,
                                                                              database_url, amqp_uri):
    container_factory(NotificationsService, database_url=database_url).start()
    svc = rpc_client().notifications
    ballot, decision = ballot_opened(["p1", "p2"]), result_decided(["p1", "p2", "p3"])
    publish(amqp_uri, "voting", ballot, ballot, decision, decision)
    wait_for(lambda: len(svc.inbox(actor("p1", ORG, "member"))["items"]) == 2
             and len(svc.inbox(actor("p3", ORG, "member"))["items"]) == 1)
    eventlet.sleep(0.5)
    p1 = svc.inbox(actor("p1", ORG, "member"))["items"]
    assert sorted((i["kind"], i["title"], i["ref_id"]) for i in p1) == [
        ("ballot_opened", "表决已开始：干部任免", ballot["data"]["ballot_id"]),
        ("decision_distributed", "决定：干部任免（通过）", decision["data"]["decision_id"])]
    assert [i["kind"] for i in svc.inbox(actor("p3", ORG, "member"))["items"]] == ["decision_distributed"]
    assert svc.inbox(actor("p9", ORG, "member")) == {"items": [], "unread": 0, "next_cursor": None}
    assert sql(database_url, "SELECT count(*) FROM notifications")[0][0] == 5
    assert sql(database_url, "SELECT count(*) FROM outbox WHERE event_type = 'notification_delivered'")[0][0] == 2


def test_m5_a_meeting_notice_is_acknowledged_by_its_recipient_only(container_factory, rpc_client, database_url,
                                                                  amqp_uri):
    container_factory(NotificationsService, database_url=database_url).start()
    svc = rpc_client().notifications
    notice = meeting_noticed(["p1", "p2"])
    publish(amqp_uri, "meetings", notice)
    publish(amqp_uri, "voting", result_decided(["p1"]))
    p1 = actor("p1", ORG, "member")
    items = wait_for(lambda: (lambda i: i if len(i) == 2 else None)(svc.inbox(p1)["items"]))
    mine = {i["kind"]: i["notification_id"] for i in items}
    with pytest.raises(NotFound):
        svc.acknowledge(actor("p2", ORG, "member"), mine["meeting_notice"])
    with pytest.raises(RuleViolation) as err:
        svc.acknowledge(p1, mine["decision_distributed"])
    assert (err.value.rule, err.value.field) == ("M5", "notification_id")
    ack = svc.acknowledge(p1, mine["meeting_notice"])
    assert ack["acknowledged_at"] is not None and ack["read_at"] is not None
    assert svc.acknowledge(p1, mine["meeting_notice"])["acknowledged_at"] == ack["acknowledged_at"]

    with pytest.raises(Forbidden):
        svc.notice_receipts(p1, notice["data"]["meeting_id"])
    receipts = svc.notice_receipts(actor("p0", ORG, "secretary"), notice["data"]["meeting_id"])["items"]
    assert [(r["person_id"], r["acknowledged_at"] is not None, r["email"]) for r in receipts] == [
        ("p1", True, None), ("p2", False, None)]
    assert svc.notice_receipts(actor("x", "org-b", "secretary"), notice["data"]["meeting_id"])["items"] == []


def test_m5_objection_reminder_goes_once_per_recipient_across_two_replicas(container_factory, rpc_client,
                                                                           database_url, amqp_uri, sink):
    config = smtp_config(sink, REMINDER_POLL_SECONDS=0.2, OBJECTION_REMINDER_LEAD_SECONDS=3600)
    for _ in range(2):
        container_factory(NotificationsService, database_url=database_url, **config).start()
    svc = rpc_client().notifications
    svc.set_contact(ADMIN, "p1", {"email": "p1@example.org"})
    now = utcnow()
    soon = meeting_noticed(["p1", "p2"], title="近期会议", noticed_at=iso(now),
                           objection_deadline=iso(now + dt.timedelta(seconds=5)),
                           scheduled_at=iso(now + dt.timedelta(days=1, seconds=5)))
    later = meeting_noticed(["p1", "p2"], title="下月会议", noticed_at=iso(now),
                            objection_deadline=iso(now + dt.timedelta(days=30)),
                            scheduled_at=iso(now + dt.timedelta(days=31)))
    publish(amqp_uri, "meetings", soon, later, soon)

    def reminders(pid):
        return [i for i in svc.inbox(actor(pid, ORG, "member"))["items"] if i["kind"] == "objection_reminder"]
    wait_for(lambda: reminders("p1") and reminders("p2"))
    assert utcnow() >= now + dt.timedelta(seconds=2)           # halfway to the deadline, not with the notice
    eventlet.sleep(max(0.0, (now + dt.timedelta(seconds=6) - utcnow()).total_seconds()) + 0.5)
    for pid in ("p1", "p2"):
        [reminder] = reminders(pid)
        assert reminder["title"] == "异议截止提醒：近期会议" and reminder["meeting_id"] == soon["data"]["meeting_id"]
        assert "逾期不予受理" in reminder["body"]
    subjects = sorted(m.subject for m in sink.to("p1@example.org"))
    assert subjects == ["会议通知：下月会议", "会议通知：近期会议", "异议截止提醒：近期会议"]
    assert sql(database_url, "SELECT count(*) FROM meeting_reminders WHERE sent_at IS NOT NULL")[0][0] == 1
