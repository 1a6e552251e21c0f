"""The archive's record kinds, corrections, confidentiality and search on a real RabbitMQ, on
SQLite and PostgreSQL: notices archived once (A1), corrections as new linked versions (A1),
per-record classification with every confidential read logged (A3), search by kind, meeting,
date and person (A1)."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa
from kombu import Connection

from services.archive.service import ArchiveService
from shared.amqp import EventPublisher
from shared.db import make_engine
from shared.envelope import make_envelope
from shared.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from shared.topology import queue_name
from tests.integration.test_archive_rpc import ORG_A, ORG_B, SEC_A, SEC_B, decision, ready_count, wait_for
from tests.support.roster import actor

pytestmark = pytest.mark.integration
NOTICE_QUEUE = queue_name("meetings", "meeting_noticed", "archive", "on_meeting_noticed")
MEMBER_A = actor("p-mem-a", ORG_A, "member")
OFFICE_A = actor("p-office-a", ORG_A, "office")
CONF_SEC_A = actor("p-conf-a", ORG_A, "confidential_secretary")
DISCIPLINE_A = actor("p-disc-a", ORG_A, "discipline")


def notice(meeting_id="m-1", recipients=("p1", "p4", "p9")):
    return {"meeting_id": meeting_id, "kind": "regular", "title": "党组会议（第12次）",
            "scheduled_at": "2026-12-03T01:00:00Z", "noticed_at": "2026-11-28T01:00:00Z",
            "objection_deadline": "2026-12-02T01:00:00Z", "chair_person_id": "p0",
            "agenda": [{"topic_id": "t-1", "title": "2027年度工作计划", "category": "work_plan"},
                       {"topic_id": "t-2", "title": "干部任免", "category": "personnel"}],
            "recipients": list(recipients)}


@pytest.fixture
def send(amqp_uri):
    publishers = {}

    def send(source, event_type, org_id, data):
        if source not in publishers:
            publishers[source] = EventPublisher(amqp_uri, source)
        envelope = make_envelope(source, event_type, org_id, data)
        publishers[source].publish(envelope)
        return envelope
    yield send
    for publisher in publishers.values():
        publisher.close()


@pytest.fixture
def archive(container_factory, rpc_client, database_url):
    container_factory(ArchiveService, database_url=database_url).start()
    return rpc_client().archive


@pytest.fixture
def db(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def count(db, sql, **params):
    with db.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def archived(archive, who, org_id, n):
    # a member's listing hands out no confidential content, so waiting logs no read (A3)
    lister = actor("p-waiter", org_id, "member")
    wait_for(lambda: archive.list_records(lister, org_id)["total"] == n)


# ------------------------------------------------------------------ A1: notices, once


def test_a1_a_meeting_notice_is_archived_once_even_when_delivered_twice(container_factory, rpc_client,
                                                                       database_url, send, amqp_uri, db):
    container = container_factory(ArchiveService, database_url=database_url)
    container.start()
    archive = rpc_client().archive
    first = send("meetings", "meeting_noticed", ORG_A, notice())
    publisher = EventPublisher(amqp_uri, "meetings")
    publisher.publish(first)                                        # the same event delivered again
    publisher.close()
    second = send("meetings", "meeting_noticed", ORG_A, notice("m-2"))
    archived(archive, SEC_A, ORG_A, 2)
    container.stop()
    assert ready_count(amqp_uri, NOTICE_QUEUE) == 0 and ready_count(amqp_uri, NOTICE_QUEUE + ".dlq") == 0
    assert count(db, "SELECT count(*) FROM records") == 2
    assert count(db, "SELECT count(*) FROM inbox WHERE handler = 'archive.on_meeting_noticed'") == 2

    container_factory(ArchiveService, database_url=database_url).start()
    record = archive.find_by_source(MEMBER_A, first["event_id"])
    assert record["kind"] == "notice" and record["classification"] == "internal"
    assert record["content"] == first["data"] and record["subject_id"] == "m-1" and record["meeting_id"] == "m-1"
    assert [v["record_id"] for v in record["versions"]] == [record["record_id"]]
    assert archive.find_by_source(MEMBER_A, second["event_id"])["seq"] == 2
    assert archive.verify(SEC_A, ORG_A)["ok"] is True


def test_a1_a_malformed_notice_is_dead_lettered_and_nothing_is_written(archive, send, amqp_uri, db):
    send("meetings", "meeting_noticed", ORG_A, {k: v for k, v in notice().items() if k != "agenda"})
    send("meetings", "meeting_noticed", ORG_A, dict(notice(), recipients="p1"))
    wait_for(lambda: ready_count(amqp_uri, NOTICE_QUEUE + ".dlq") == 2)
    assert count(db, "SELECT count(*) FROM records") == 0 and count(db, "SELECT count(*) FROM inbox") == 0


# ------------------------------------------------------------------ A1: search


def test_a1_search_by_kind_meeting_archiving_date_and_person(archive, send):
    send("voting", "result_decided", ORG_A, decision(1))                            # meeting m-1, p1 p4 p6 p7
    send("voting", "result_decided", ORG_A, decision(2, meeting_id="m-2"))
    send("meetings", "meeting_noticed", ORG_A, notice("m-2", recipients=("p1", "p9")))
    send("voting", "result_decided", ORG_B, decision(3))
    archived(archive, SEC_A, ORG_A, 3)

    def seqs(**filters):
        page = archive.list_records(SEC_A, ORG_A, **filters)
        assert page["total"] == len(page["items"])
        return [r["seq"] for r in page["items"]]

    by_kind = {r["kind"]: r["seq"] for r in archive.list_records(SEC_A, ORG_A)["items"]}
    assert seqs(kind="notice") == [by_kind["notice"]]
    assert sorted(seqs(kind="decision")) == sorted(s for s in seqs() if s != by_kind["notice"])
    assert len(seqs(meeting_id="m-2")) == 2 and len(seqs(meeting_id="m-1")) == 1
    assert len(seqs(meeting_id="m-2", kind="decision")) == 1
    assert seqs(person_id="p9") == [by_kind["notice"]]                  # a recipient of the notice
    assert len(seqs(person_id="p4")) == 2                                # a member of both decisions
    assert len(seqs(person_id="p0")) == 1                                # the notice's chair
    assert seqs(person_id="nobody") == []
    today = dt.datetime.now(dt.timezone.utc).date()
    assert len(seqs(date_from=today.isoformat(), date_to=today.isoformat())) == 3
    assert seqs(date_to=(today - dt.timedelta(days=1)).isoformat()) == []
    assert seqs(date_from=(today + dt.timedelta(days=1)).isoformat()) == []
    page = archive.list_records(SEC_A, ORG_A, limit=1, offset=1, kind="decision")
    assert page["total"] == 2 and len(page["items"]) == 1
    assert archive.list_records(SEC_B, ORG_B, person_id="p4")["total"] == 1  # chains stay apart

    for filters, field in (({"kind": "gossip"}, "kind"), ({"date_from": "next week"}, "date_from"),
                           ({"date_from": "2026-12-02", "date_to": "2026-12-01"}, "date_from"),
                           ({"person_id": ""}, "person_id"), ({"meeting_id": 5}, "meeting_id")):
        with pytest.raises(ValidationFailed) as err:
            archive.list_records(SEC_A, ORG_A, **filters)
        assert err.value.field == field, filters


# ------------------------------------------------------------------ A1: corrections


def test_a1_a_correction_is_a_new_version_linked_to_the_old_which_stays(archive, send, db):
    send("voting", "result_decided", ORG_A, decision(1))
    archived(archive, SEC_A, ORG_A, 1)
    original = archive.record_for_decision(SEC_A, "d-1")
    fixed_content = dict(original["content"], yes=6, abstain=0)

    # refused corrections write nothing
    with pytest.raises(Forbidden) as err:
        archive.correct_record(MEMBER_A, original["record_id"], {"content": fixed_content, "reason": "笔误"})
    assert err.value.rule == "A1" and err.value.field == "actor.roles"
    with pytest.raises(NotFound):
        archive.correct_record(SEC_B, original["record_id"], {"content": fixed_content, "reason": "笔误"})
    for data, field in (({"content": fixed_content}, "reason"), ({"content": [1], "reason": "x"}, "content"),
                        ({"content": fixed_content, "reason": ""}, "reason"),
                        ({"content": fixed_content, "reason": "x", "classification": "secret"}, "classification")):
        with pytest.raises(ValidationFailed) as err:
            archive.correct_record(SEC_A, original["record_id"], data)
        assert err.value.field == field and err.value.rule == "A1"
    with pytest.raises(RuleViolation) as err:
        archive.correct_record(SEC_A, original["record_id"], {"content": {"n": 2 ** 60}, "reason": "x"})
    assert err.value.field == "content" and err.value.rule == "A2"
    assert count(db, "SELECT count(*) FROM records") == 1

    fixed = archive.correct_record(CONF_SEC_A, original["record_id"],
                                   {"content": fixed_content, "reason": "计票笔误，以监票记录为准"})
    assert fixed["corrects"] == original["record_id"] and fixed["seq"] == 2 and fixed["kind"] == "decision"
    assert fixed["reason"] == "计票笔误，以监票记录为准" and fixed["recorded_by"] == "p-conf-a"
    assert fixed["content"]["yes"] == 6 and fixed["classification"] == original["classification"]
    # the old version is unchanged, and both know the whole history
    old = archive.get_record(SEC_A, original["record_id"])
    assert old["content"] == original["content"] and old["hash"] == original["hash"]
    for view in (old, fixed):
        assert [v["record_id"] for v in view["versions"]] == [original["record_id"], fixed["record_id"]]
        assert view["latest_record_id"] == fixed["record_id"]
    assert old["versions"][1]["reason"] == "计票笔误，以监票记录为准"
    assert archive.record_for_decision(MEMBER_A, "d-1")["record_id"] == fixed["record_id"]

    # history is one line: only the latest version is corrected
    with pytest.raises(RuleViolation) as err:
        archive.correct_record(SEC_A, original["record_id"], {"content": fixed_content, "reason": "再改"})
    assert err.value.rule == "A1" and fixed["record_id"] in err.value.message
    third = archive.correct_record(OFFICE_A, fixed["record_id"], {"content": dict(fixed_content, no=0),
                                                                  "reason": "再核", "classification": "public"})
    assert [v["record_id"] for v in third["versions"]] == [original["record_id"], fixed["record_id"],
                                                           third["record_id"]]
    assert third["classification"] == "public"
    assert archive.verify(SEC_A, ORG_A) == {"org_id": ORG_A, "ok": True, "records": 3, "first_bad": None}
    # the reason is hashed: changing it in place is tampering
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE records SET reason = 'x' WHERE id = :i"), {"i": fixed["record_id"]})
    assert archive.verify(SEC_A, ORG_A)["first_bad"] == {"seq": 2, "record_id": fixed["record_id"],
                                                         "reason": "content_altered"}


# ------------------------------------------------------------------ A3: confidential records, logged reads


def read_log_rows(db):
    with db.connect() as conn:
        return [(p, r, a, bool(g)) for p, r, a, g in conn.execute(sa.text(
            "SELECT person_id, record_id, action, granted FROM read_log ORDER BY id")).all()]


def test_a3_personnel_decisions_are_confidential_and_every_read_is_logged(archive, send, db):
    send("voting", "result_decided", ORG_A, decision(1, category="personnel", title="关于张三同志任职的决定"))
    send("voting", "result_decided", ORG_A, decision(2))
    archived(archive, SEC_A, ORG_A, 2)
    items = archive.list_records(MEMBER_A, ORG_A)["items"]
    secret, plain = (items[0], items[1]) if items[0]["classification"] == "confidential" else (items[1], items[0])
    assert secret["classification"] == "confidential" and plain["classification"] == "internal"
    # a member lists it without content, and that hands nothing out: nothing logged
    assert secret["content"] is None and plain["content"]["decision_id"] == "d-2"
    assert read_log_rows(db) == []

    with pytest.raises(Forbidden) as err:
        archive.get_record(MEMBER_A, secret["record_id"])
    assert err.value.rule == "A3" and err.value.field == "record_id"
    with pytest.raises(Forbidden):
        archive.record_for_decision(OFFICE_A, "d-1")
    with pytest.raises(NotFound):                              # another organization: not revealed
        archive.get_record(SEC_B, secret["record_id"])
    assert archive.get_record(SEC_A, secret["record_id"])["content"]["title"] == "关于张三同志任职的决定"
    listed = archive.list_records(CONF_SEC_A, ORG_A)["items"]
    assert all(r["content"] is not None for r in listed)
    auditor = actor("p-cdi", "cdi", "discipline_commission")
    assert archive.find_by_source(auditor, secret["source_event_id"])["record_id"] == secret["record_id"]
    assert archive.get_record(MEMBER_A, plain["record_id"])["content"]["decision_id"] == "d-2"   # not logged
    with pytest.raises(Forbidden) as err:
        archive.export(OFFICE_A, ORG_A)                       # the chain holds a confidential record
    assert err.value.rule == "A3"

    rid = secret["record_id"]
    expected = [("p-mem-a", rid, "get_record", False), ("p-office-a", rid, "record_for_decision", False),
                ("p-sec-b", rid, "get_record", False), ("p-sec-a", rid, "get_record", True),
                ("p-conf-a", rid, "list_records", True), ("p-cdi", rid, "find_by_source", True),
                ("p-office-a", rid, "export", False)]
    assert read_log_rows(db) == expected

    # the log is read by discipline inspectors and the secretary, newest first
    log = archive.read_log(DISCIPLINE_A, ORG_A)
    assert log["total"] == 7
    assert [(e["person_id"], e["record_id"], e["action"], e["granted"]) for e in log["items"]] == expected[::-1]
    assert log["items"][0]["roles"] == ["office"] and log["items"][0]["actor_org_id"] == ORG_A
    assert archive.read_log(SEC_A, ORG_A, limit=2, offset=1)["items"][0]["action"] == "find_by_source"
    # keyset paging (issue 20): pages of 3 by cursor walk the whole log once, newest first
    walked, cursor, totals = [], None, []
    while True:
        page = archive.read_log(SEC_A, ORG_A, limit=3, cursor=cursor)
        walked += [(e["person_id"], e["record_id"], e["action"], e["granted"]) for e in page["items"]]
        totals.append(page["total"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == expected[::-1] and totals == [7, None, None]
    for bad in ("not-a-cursor", "WyJ4Il0"):
        with pytest.raises(ValidationFailed) as err:
            archive.read_log(SEC_A, ORG_A, cursor=bad)
        assert err.value.field == "cursor"
    with pytest.raises(ValidationFailed) as err:
        archive.read_log(SEC_A, ORG_A, offset=1, cursor=page_one_cursor(archive))
    assert err.value.field == "offset"
    assert archive.read_log(auditor, ORG_A)["total"] == 7
    for who in (MEMBER_A, OFFICE_A, CONF_SEC_A):
        with pytest.raises(Forbidden) as err:
            archive.read_log(who, ORG_A)
        assert err.value.rule == "A3"
    with pytest.raises(Forbidden):
        archive.read_log(actor("p-disc-b", ORG_B, "discipline"), ORG_A)
    with pytest.raises(ValidationFailed) as err:
        archive.read_log(SEC_A, ORG_A, limit=0)
    assert err.value.field == "limit"
    # reads of the log itself are not reads of a record
    assert count(db, "SELECT count(*) FROM read_log") == 7


def test_a3_correcting_a_confidential_record_needs_a_confidential_role(archive, send, db):
    send("voting", "result_decided", ORG_A, decision(1, category="personnel"))
    archived(archive, SEC_A, ORG_A, 1)
    rid = archive.list_records(MEMBER_A, ORG_A)["items"][0]["record_id"]
    with pytest.raises(Forbidden) as err:
        archive.correct_record(OFFICE_A, rid, {"content": {"decision_id": "d-1"}, "reason": "x"})
    assert err.value.rule == "A3"
    fixed = archive.correct_record(CONF_SEC_A, rid, {"content": {"decision_id": "d-1", "yes": 6}, "reason": "笔误"})
    assert fixed["classification"] == "confidential"
    assert count(db, "SELECT count(*) FROM records") == 2
    assert read_log_rows(db) == [("p-office-a", rid, "correct_record", False),
                                 ("p-conf-a", rid, "correct_record", True)]
    # declassifying by correction is a correction too (the old version stays confidential)
    public = archive.correct_record(SEC_A, fixed["record_id"], {"content": {"decision_id": "d-1"},
                                                                "reason": "解密", "classification": "public"})
    assert archive.get_record(MEMBER_A, public["record_id"])["classification"] == "public"
    with pytest.raises(Forbidden):
        archive.get_record(MEMBER_A, rid)


def test_read_rpcs_name_the_bad_field(archive):
    with pytest.raises(ValidationFailed) as err:
        archive.correct_record(SEC_A, None, {"content": {}, "reason": "x"})
    assert err.value.field == "record_id"
    with pytest.raises(ValidationFailed) as err:
        archive.correct_record(SEC_A, "r", "not an object")
    assert err.value.field == "data" and err.value.rule == "A1"
    with pytest.raises(ValidationFailed) as err:
        archive.read_log(SEC_A, "")
    assert err.value.field == "org_id"
    with pytest.raises(ValidationFailed) as err:
        archive.export(SEC_A, None)
    assert err.value.field == "org_id"


def test_a1_record_archived_names_the_correction(archive, send, amqp_uri):
    with Connection(amqp_uri) as conn:
        from kombu import Exchange, Queue
        Queue("spy-archived", exchange=Exchange("archive.events", type="topic", durable=True),
              routing_key="record_archived", durable=False, auto_delete=False)(conn.channel()).declare()
    send("voting", "result_decided", ORG_A, decision(1))
    archived(archive, SEC_A, ORG_A, 1)
    rid = archive.list_records(SEC_A, ORG_A)["items"][0]["record_id"]
    fixed = archive.correct_record(SEC_A, rid, {"content": {"decision_id": "d-1"}, "reason": "x"})
    wait_for(lambda: ready_count(amqp_uri, "spy-archived") == 2)
    with Connection(amqp_uri) as conn:
        bodies = [json.loads(conn.default_channel.basic_get("spy-archived", no_ack=True).body) for _ in range(2)]
    data = {b["data"]["record_id"]: b["data"] for b in bodies}
    assert data[rid]["corrects"] is None and data[rid]["subject_id"] == "d-1"
    assert data[fixed["record_id"]]["corrects"] == rid and data[fixed["record_id"]]["subject_id"] == "d-1"


def page_one_cursor(archive):
    return archive.read_log(SEC_A, ORG_A, limit=1)["next_cursor"]
