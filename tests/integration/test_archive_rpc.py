"""The archive on a real RabbitMQ, on SQLite and PostgreSQL: decisions archived once in
each organization's hash chain (A1, A2), tampering named by verify, reads kept to the
organization (A3), poison dead-lettered without stopping the consumer (SPEC §5)."""
import os
import subprocess
import sys
import time
from pathlib import Path

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection

from services.archive.service import ArchiveService
from shared.amqp import EventPublisher
from shared.db import make_engine
from shared.envelope import dumps, make_envelope
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.topology import declare_all, event_exchange
from tests.support.roster import actor

pytestmark = pytest.mark.integration
QUEUE = "evt-voting-result_decided--archive.on_result_decided"
DLQ = QUEUE + ".dlq"
ROOT = Path(__file__).resolve().parents[2]
ORG_A, ORG_B = "org-a", "org-b"
SEC_A = actor("p-sec-a", ORG_A, "secretary")
MEMBER_A = actor("p-mem-a", ORG_A, "member")
SEC_B = actor("p-sec-b", ORG_B, "secretary")


def wait_for(predicate, timeout=10, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        eventlet.sleep(interval)


def ready_count(amqp_uri, queue):
    with Connection(amqp_uri) as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def decision(i, **extra):
    data = {
        "decision_id": f"d-{i}", "ballot_id": f"b-{i}", "meeting_id": "m-1", "agenda_item_id": f"t-{i}",
        "title": f"2027年度工作计划（{i}）", "category": "work_plan", "method": "named", "emergency": False,
        "n": 9, "present": 7, "yes": 5, "no": 1, "abstain": 1, "threshold": 5, "outcome": "passed",
        "superseded_decision_id": None, "decided_at": "2026-11-28T10:00:00Z",
        "members": [
            {"person_id": "p1", "presence": "present", "voted": True, "stance": "yes",
             "reserved_opinion": None, "written_opinion": None},
            {"person_id": "p4", "presence": "present", "voted": True, "stance": "no",
             "reserved_opinion": "资金来源需进一步论证", "written_opinion": None},
            {"person_id": "p6", "presence": "leave", "voted": False, "stance": None,
             "reserved_opinion": None, "written_opinion": "同意，建议加强督办"},
            {"person_id": "p7", "presence": "absent", "voted": False, "stance": None,
             "reserved_opinion": None, "written_opinion": None},
        ],
    }
    data.update(extra)
    return data


def result_decided(org_id, data):
    return make_envelope("voting", "result_decided", org_id, data)


@pytest.fixture
def publish(amqp_uri):
    with Connection(amqp_uri) as conn:
        declare_all(conn)
    publisher = EventPublisher(amqp_uri, "voting")
    yield publisher.publish
    publisher.close()


def raw_publish(amqp_uri, body):
    with Connection(amqp_uri) as conn:
        conn.Producer().publish(body, exchange=event_exchange("voting"), routing_key="result_decided",
                                content_type="application/json", content_encoding="utf-8",
                                declare=[event_exchange("voting")])


@pytest.fixture
def archive(container_factory, rpc_client, database_url):
    container = container_factory(ArchiveService, database_url=database_url)
    container.start()
    return rpc_client().archive


@pytest.fixture
def db(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def total(archive, who, org_id):
    return archive.list_records(who, org_id)["total"]


def archive_decisions(archive, publish, org_id, count):
    envelopes = [result_decided(org_id, decision(i)) for i in range(1, count + 1)]
    for env in envelopes:
        publish(env)
    wait_for(lambda: total(archive, SEC_A, org_id) == count)
    return envelopes


def run_cli(database_url, *args):
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env["ARCHIVE_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "services.archive.verify", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


# ------------------------------------------------------------------ A1, A2: once per event, in order


def test_a1_a2_each_decision_archived_once_in_its_org_chain(container_factory, rpc_client, database_url,
                                                             publish, amqp_uri, db):
    container = container_factory(ArchiveService, database_url=database_url)
    container.start()
    archive = rpc_client().archive
    envs = [result_decided(ORG_A, decision(i)) for i in (1, 2, 3)]
    other = result_decided(ORG_B, decision(9, title="另一个党组的决定"))
    for env in (envs[0], envs[1], envs[1], envs[2], other, envs[0]):     # two duplicates
        publish(env)
    wait_for(lambda: total(archive, SEC_A, ORG_A) == 3 and total(archive, SEC_B, ORG_B) == 1)
    # stopping waits for running workers and returns unacked messages: an empty queue then
    # means every delivery, duplicates included, was handled
    container.stop()
    assert ready_count(amqp_uri, QUEUE) == 0 and ready_count(amqp_uri, DLQ) == 0
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT org_id, seq FROM records ORDER BY org_id, seq")).all() == [
            (ORG_A, 1), (ORG_A, 2), (ORG_A, 3), (ORG_B, 1)]

    container = container_factory(ArchiveService, database_url=database_url)    # restart: same data
    container.start()
    listing = archive.list_records(MEMBER_A, ORG_A)
    assert listing["total"] == 3 and [r["seq"] for r in listing["items"]] == [1, 2, 3]
    by_source = {r["source_event_id"]: r for r in listing["items"]}
    assert set(by_source) == {e["event_id"] for e in envs}
    for env in envs:
        record = by_source[env["event_id"]]
        # A1: the whole decision is kept: tally, members, reserved and written opinions, Chinese text
        assert record["content"] == env["data"]
        assert record["kind"] == "decision" and record["org_id"] == ORG_A
        assert record["classification"] == "internal"                          # A3 default
        assert len(record["hash"]) == 64 and record["algorithm"] == "sha256"
    assert listing["items"][0]["prev_hash"] == "0" * 64
    assert listing["items"][1]["prev_hash"] == listing["items"][0]["hash"]
    page = archive.list_records(SEC_A, ORG_A, limit=2, offset=2)
    assert page["total"] == 3 and [r["seq"] for r in page["items"]] == [3]
    first = archive.list_records(SEC_A, ORG_A, limit=2)                  # keyset paging, in chain order
    assert [r["seq"] for r in first["items"]] == [1, 2] and first["next_cursor"]
    rest = archive.list_records(SEC_A, ORG_A, limit=2, cursor=first["next_cursor"])
    assert [r["seq"] for r in rest["items"]] == [3] and rest["next_cursor"] is None
    assert archive.list_records(SEC_A, ORG_A, limit=3)["next_cursor"] is None     # null exactly at the end
    for forged in ("not a cursor", "WzEsMl0", "WyJhIl0", "Wy0xXQ"):    # "[1,2]", '["a"]', "[-1]"
        with pytest.raises(ValidationFailed) as err:
            archive.list_records(SEC_A, ORG_A, limit=2, cursor=forged)
        assert (err.value.field, err.value.rule) == ("cursor", "A1")

    record = archive.record_for_decision(SEC_A, "d-2")
    assert record["content"]["decision_id"] == "d-2" and record["content"]["yes"] == 5
    assert record["content"]["members"][1]["reserved_opinion"] == "资金来源需进一步论证"
    assert archive.get_record(MEMBER_A, record["record_id"]) == record
    assert archive.find_by_source(SEC_A, envs[1]["event_id"])["record_id"] == record["record_id"]

    assert archive.verify(SEC_A, ORG_A) == {"org_id": ORG_A, "ok": True, "records": 3, "first_bad": None}
    assert archive.verify(SEC_B, ORG_B)["ok"] is True
    auditor = actor("p-audit", "org-dept", "org_department")
    assert archive.verify(auditor, "org-without-records") == {
        "org_id": "org-without-records", "ok": True, "records": 0, "first_bad": None}
    cli = run_cli(database_url)
    assert cli.returncode == 0, cli.stderr
    assert f"{ORG_A}: ok (3 records)" in cli.stdout and f"{ORG_B}: ok (1 records)" in cli.stdout


def test_a3_reads_stay_in_the_organization(archive, publish):
    archive_decisions(archive, publish, ORG_A, 1)
    record = archive.record_for_decision(SEC_A, "d-1")
    # another organization's record is not revealed to exist
    for call in (lambda: archive.get_record(SEC_B, record["record_id"]),
                 lambda: archive.record_for_decision(SEC_B, "d-1"),
                 lambda: archive.find_by_source(SEC_B, record["source_event_id"])):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(Forbidden) as err:
        archive.list_records(SEC_B, ORG_A)
    assert err.value.field == "org_id"
    with pytest.raises(Forbidden):
        archive.verify(SEC_B, ORG_A)
    # auditors of a higher body read and verify across organizations (SPEC §1)
    auditor = actor("p-audit", "org-dept", "discipline_commission")
    assert archive.verify(auditor, ORG_A)["records"] == 1
    assert archive.get_record(auditor, record["record_id"])["content"]["decision_id"] == "d-1"
    with pytest.raises(NotFound) as err:
        archive.record_for_decision(SEC_A, "no-such-decision")
    assert err.value.field == "decision_id"


def test_bad_rpc_input_names_the_field(archive):
    cases = [
        (lambda: archive.list_records(SEC_A, ORG_A, limit=0), "limit"),
        (lambda: archive.list_records(SEC_A, ORG_A, offset=-1), "offset"),
        (lambda: archive.list_records(SEC_A, ORG_A, limit="10"), "limit"),
        (lambda: archive.get_record(SEC_A, 42), "record_id"),
        (lambda: archive.verify(SEC_A, ""), "org_id"),
        (lambda: archive.record_for_decision(SEC_A, None), "decision_id"),
    ]
    for call, field in cases:
        with pytest.raises(ValidationFailed) as err:
            call()
        assert err.value.field == field
    with pytest.raises(ValidationFailed) as err:
        archive.verify({"org_id": ORG_A}, ORG_A)          # an actor without person_id
    assert err.value.field == "person_id"


# ------------------------------------------------------------------ A2: tampering is named


def test_a2_tampering_with_the_stored_chain_is_named_by_verify(archive, publish, db, database_url):
    archive_decisions(archive, publish, ORG_A, 4)
    assert archive.verify(SEC_A, ORG_A)["ok"] is True
    ids = {r["seq"]: r["record_id"] for r in archive.list_records(SEC_A, ORG_A)["items"]}

    def run(sql, **params):
        with db.begin() as conn:
            return conn.execute(sa.text(sql), params)

    def first_bad():
        result = archive.verify(SEC_A, ORG_A)
        assert result["ok"] is False
        return result["first_bad"]

    # 1. one byte of a decision's tally changed in place
    original = run("SELECT content FROM records WHERE org_id = :o AND seq = 2", o=ORG_A).scalar_one()
    assert '"yes":5' in original
    run("UPDATE records SET content = :c WHERE org_id = :o AND seq = 2", c=original.replace('"yes":5', '"yes":6'),
        o=ORG_A)
    assert first_bad() == {"seq": 2, "record_id": ids[2], "reason": "content_altered"}
    cli = run_cli(database_url, "--org", ORG_A)
    assert cli.returncode == 1 and f"BROKEN at seq 2 (record {ids[2]}): content_altered" in cli.stdout
    # even an edit that leaves invalid JSON behind is reported, not a failure of verify
    run("UPDATE records SET content = :c WHERE org_id = :o AND seq = 2", c=original[:-3], o=ORG_A)
    assert first_bad() == {"seq": 2, "record_id": ids[2], "reason": "content_altered"}
    run("UPDATE records SET content = :c WHERE org_id = :o AND seq = 2", c=original, o=ORG_A)
    assert archive.verify(SEC_A, ORG_A)["ok"] is True

    # 2. a middle record deleted
    row = run("SELECT * FROM records WHERE org_id = :o AND seq = 3", o=ORG_A).mappings().one()
    run("DELETE FROM records WHERE org_id = :o AND seq = 3", o=ORG_A)
    assert first_bad() == {"seq": 3, "record_id": ids[4], "reason": "seq_gap"}
    run("INSERT INTO records (" + ", ".join(row) + ") VALUES (" + ", ".join(":" + k for k in row) + ")", **row)
    assert archive.verify(SEC_A, ORG_A)["ok"] is True

    # 3. two records swapped (their seq exchanged)
    run("UPDATE records SET seq = -2 WHERE org_id = :o AND seq = 2", o=ORG_A)
    run("UPDATE records SET seq = 2 WHERE org_id = :o AND seq = 3", o=ORG_A)
    run("UPDATE records SET seq = 3 WHERE org_id = :o AND seq = -2", o=ORG_A)
    assert first_bad() == {"seq": 2, "record_id": ids[3], "reason": "prev_link_broken"}
    run("UPDATE records SET seq = -2 WHERE org_id = :o AND seq = 2", o=ORG_A)
    run("UPDATE records SET seq = 2 WHERE org_id = :o AND seq = 3", o=ORG_A)
    run("UPDATE records SET seq = 3 WHERE org_id = :o AND seq = -2", o=ORG_A)
    assert archive.verify(SEC_A, ORG_A)["ok"] is True

    # 4. the last record removed: only the chain head tells
    run("DELETE FROM records WHERE org_id = :o AND seq = 4", o=ORG_A)
    assert first_bad() == {"seq": 4, "record_id": None, "reason": "truncated"}
    cli = run_cli(database_url)
    assert cli.returncode == 1 and f"{ORG_A}: BROKEN at seq 4: truncated" in cli.stdout

    # 5. the head removed too: the records left are no longer vouched for
    run("DELETE FROM chain_heads WHERE org_id = :o", o=ORG_A)
    assert first_bad() == {"seq": 1, "record_id": ids[1], "reason": "head_mismatch"}


# ------------------------------------------------------------------ SPEC §5: poison never stops the consumer


def test_malformed_and_refused_events_are_dead_lettered_and_consumer_continues(archive, publish, amqp_uri, db):
    raw_publish(amqp_uri, dumps({"data": decision(1)}))                        # no event_id etc.
    raw_publish(amqp_uri, b"{not json")
    publish(result_decided(ORG_A, {k: v for k, v in decision(2).items() if k != "decision_id"}))
    publish(result_decided(ORG_A, decision(3, yes="5")))                       # tally not an integer
    publish(result_decided(None, decision(4)))                                 # no organization
    secret = decision(5, method="secret")                                      # V8: stances on a secret ballot
    publish(result_decided(ORG_A, secret))
    publish(result_decided(ORG_A, decision(6, huge=2 ** 60)))                  # no canonical form (A2)
    wait_for(lambda: ready_count(amqp_uri, DLQ) == 7)
    good = result_decided(ORG_A, decision(7))
    publish(good)
    wait_for(lambda: total(archive, SEC_A, ORG_A) == 1)
    assert archive.list_records(SEC_A, ORG_A)["items"][0]["source_event_id"] == good["event_id"]
    assert archive.verify(SEC_A, ORG_A)["ok"] is True
    with db.connect() as conn:      # nothing of the refused events was written
        assert conn.execute(sa.text("SELECT count(*) FROM records")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one() == 1
    with Connection(amqp_uri) as conn:          # the original messages are kept, intact
        channel = conn.channel()
        raw = []
        for _ in range(7):
            message = channel.basic_get(DLQ, no_ack=True)
            raw.append(message.body if isinstance(message.body, bytes) else message.body.encode("utf-8"))
    assert any(b'"d-5"' in body for body in raw) and b"{not json" in raw


# ------------------------------------------------------------------ A2: two replicas append safely


def test_a2_two_replicas_append_to_one_chain_without_gaps_on_postgresql(container_factory, rpc_client, pg_url,
                                                                       publish):
    for _ in range(2):
        container_factory(ArchiveService, database_url=pg_url).start()
    archive = rpc_client().archive
    envelopes = [result_decided(ORG_A, decision(i)) for i in range(1, 31)]
    envelopes += [result_decided(ORG_B, decision(100 + i)) for i in range(1, 6)]
    for env in envelopes:
        publish(env)
    wait_for(lambda: total(archive, SEC_A, ORG_A) == 30 and total(archive, SEC_B, ORG_B) == 5, timeout=20)
    items = archive.list_records(SEC_A, ORG_A, limit=100)["items"]
    assert [r["seq"] for r in items] == list(range(1, 31))
    assert len({r["source_event_id"] for r in items}) == 30
    assert archive.verify(SEC_A, ORG_A) == {"org_id": ORG_A, "ok": True, "records": 30, "first_bad": None}
    assert archive.verify(SEC_B, ORG_B)["records"] == 5

