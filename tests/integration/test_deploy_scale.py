"""Scaling out (`docker compose up --scale notifications=2`): two processes of one
service on one vhost and one database are competing consumers of one quorum queue;
between them every event is handled exactly once.

How "both did some of the work" is proven, without timing guesses:
  - before publishing, the broker reports two consumers on the queue (a passive
    declare returns the live consumer count), so round-robin dispatch applies;
  - each process runs at LOG_LEVEL=DEBUG, where nameko logs one
    "calling handler for <WorkerContext [notifications.on_meeting_noticed] ...>"
    line per handled delivery: the two logs' counts must each be above zero
    and add up to exactly the number of events (no delivery handled twice);
  - the database holds exactly one inbox row per event and exactly one
    notification per event and recipient.
"""
import os
import re
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from kombu import Connection

from shared.amqp import EventPublisher
from shared.db import make_engine
from shared.envelope import make_envelope
from shared.topology import declare_all, queue_name
from tests.support.processes import Suite, free_port

pytestmark = pytest.mark.integration

QUEUE = queue_name("meetings", "meeting_noticed", "notifications", "on_meeting_noticed")
HANDLED = re.compile(r"calling handler for <WorkerContext \[notifications\.on_meeting_noticed\]")
EVENTS = 40


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not reached within {timeout}s")


def queue_state(amqp_uri, name):
    with Connection(amqp_uri) as conn:
        ok = conn.default_channel.queue_declare(queue=name, passive=True)
        return ok.message_count, ok.consumer_count


def notice(org_id, recipients):
    data = {"meeting_id": str(uuid.uuid4()), "kind": "regular", "title": "党组会议",
            "scheduled_at": "2026-12-10T02:00:00Z", "noticed_at": "2026-12-07T02:00:00Z",
            "objection_deadline": "2026-12-09T02:00:00Z", "chair_person_id": "p0",
            "agenda": [{"topic_id": "t1", "title": "2027年度工作计划", "category": "work_plan"}],
            "recipients": recipients}
    return make_envelope("meetings", "meeting_noticed", org_id, data)


@pytest.fixture
def replicas(amqp_uri, pg_url, tmp_path):
    env = dict(os.environ, AMQP_URI=amqp_uri, DATABASE_URL=pg_url, DATA_DIR=str(tmp_path / "data"),
               GATEWAY_PORT=str(free_port()), LOG_LEVEL="DEBUG", MAX_WORKERS="4")
    env.pop("NOTIFICATIONS_DATABASE_URL", None)
    logs = []
    suites = []
    for i in (1, 2):
        folder = tmp_path / f"replica{i}"
        folder.mkdir()
        suite = Suite(env, folder)
        suites.append(suite)
        logs.append(folder / "notifications.log")
    for suite in suites:                 # started together: they also race to migrate the shared database
        suite.start("notifications")
    try:
        for suite, log in zip(suites, logs):
            def ready(suite=suite, log=log):
                proc = suite.procs["notifications"]
                if proc.poll() is not None:
                    raise AssertionError(f"a replica exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                return log.exists() and "notifications ready" in log.read_text()
            wait_for(ready, 60, "replica ready")
        yield logs
    finally:
        for suite in suites:
            suite.stop_all()


def test_two_replicas_share_the_queue_and_handle_every_event_exactly_once(replicas, amqp_uri, pg_url):
    # both replicas consume the one queue before anything is published
    wait_for(lambda: queue_state(amqp_uri, QUEUE)[1] == 2, 30, "two consumers on the queue")

    org = "org-scale"
    envelopes = [notice(org, [f"p{i}", f"p{i + 1}", f"p{i + 2}"][: 2 + i % 2]) for i in range(EVENTS)]
    expected = {(e["event_id"], pid) for e in envelopes for pid in e["data"]["recipients"]}
    with Connection(amqp_uri) as conn:
        declare_all(conn)
    publisher = EventPublisher(amqp_uri, "meetings")
    try:
        for envelope in envelopes:
            publisher.publish(envelope)
    finally:
        publisher.close()

    engine = make_engine(pg_url)
    try:
        def inbox_count():
            with engine.connect() as conn:
                return conn.execute(sa.text("SELECT count(*) FROM inbox WHERE handler = :h"),
                                    {"h": "notifications.on_meeting_noticed"}).scalar_one()
        wait_for(lambda: inbox_count() == EVENTS, 60, f"{EVENTS} events processed")
        wait_for(lambda: queue_state(amqp_uri, QUEUE)[0] == 0, 30, "queue drained")

        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT source_event_id, person_id, org_id FROM notifications")).all()
            processed = conn.execute(sa.text("SELECT event_id FROM inbox WHERE handler = :h"),
                                     {"h": "notifications.on_meeting_noticed"}).scalars().all()
    finally:
        engine.dispose()

    # (a) every event produced exactly its recipients' notifications, once each
    assert len(rows) == len(expected)
    assert {(r.source_event_id, r.person_id) for r in rows} == expected
    assert {r.org_id for r in rows} == {org}
    assert sorted(processed) == sorted(e["event_id"] for e in envelopes)
    assert queue_state(amqp_uri, QUEUE + ".dlq")[0] == 0, "nothing was dead-lettered"

    # (b) both replicas handled some, and no delivery was handled twice
    counts = [len(HANDLED.findall(Path(log).read_text(errors="replace"))) for log in replicas]
    assert sum(counts) == EVENTS, counts
    assert all(c > 0 for c in counts), f"one replica did all the work: {counts}"
    assert queue_state(amqp_uri, QUEUE)[1] == 2
