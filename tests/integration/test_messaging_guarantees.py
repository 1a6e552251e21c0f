"""The shared package's promises, proven on a real RabbitMQ (and SQLite and PostgreSQL):
nothing is lost, duplicates are harmless, poison never stops a consumer (SPEC §5)."""
import time

import eventlet
import pytest
from kombu import Connection, Queue

from shared.amqp import EventPublisher
from shared.db import Store, migrate
from shared.envelope import make_envelope
from shared.outbox import pending_count
from shared.topology import DELIVERY_LIMIT, declare_handler_queue, event_exchange
from tests.support import probe_service
from tests.support.probe_service import EVENT, HANDLER_QUEUE, SOURCE, ProbeService

pytestmark = pytest.mark.integration
DLQ = HANDLER_QUEUE + ".dlq"


def wait_for(predicate, timeout=15, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        eventlet.sleep(interval)
    raise AssertionError("condition not met within %ss" % timeout)


def message_count(amqp_uri, queue):
    with Connection(amqp_uri) as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def publish(amqp_uri, envelope):
    EventPublisher(amqp_uri, SOURCE).publish(envelope)


def raw_publish(amqp_uri, body, content_type):
    with Connection(amqp_uri) as conn:
        producer = conn.Producer()
        producer.publish(body, exchange=event_exchange(SOURCE), routing_key=EVENT,
                         content_type=content_type, content_encoding="utf-8", declare=[event_exchange(SOURCE)])


def thing(value, **extra):
    return make_envelope(SOURCE, EVENT, "org-1", {"value": value, **extra})


@pytest.fixture
def probe(container_factory, rpc_client):
    probe_service.ATTEMPTS.clear()
    container = container_factory(ProbeService)
    container.start()
    return rpc_client().probe


def test_failing_handler_ends_in_dead_letter_queue_not_lost(probe, amqp_uri):
    bad = thing("never", fail="always")
    publish(amqp_uri, bad)
    wait_for(lambda: message_count(amqp_uri, DLQ) == 1)
    # redelivered up to the quorum queue's delivery limit, then dead-lettered
    assert probe_service.ATTEMPTS[bad["event_id"]] >= DELIVERY_LIMIT
    assert message_count(amqp_uri, HANDLER_QUEUE) == 0
    # the consumer keeps working
    publish(amqp_uri, thing("after"))
    wait_for(lambda: ("after" in [v for _, v in probe.effects()]))
    with Connection(amqp_uri) as conn:
        msg = conn.SimpleQueue(Queue(DLQ, no_declare=True)).get(timeout=5)
        assert msg.payload["event_id"] == bad["event_id"]   # the original event, intact
        msg.ack()


def test_malformed_messages_are_dead_lettered_and_consumer_continues(probe, amqp_uri):
    raw_publish(amqp_uri, b"{not json", "application/json")
    raw_publish(amqp_uri, '{"data": {"value": "x"}}', "application/json")   # no event_id etc.
    raw_publish(amqp_uri, b"\x00\x01binary", "application/octet-stream")
    wait_for(lambda: message_count(amqp_uri, DLQ) == 3)
    publish(amqp_uri, thing("still-alive"))
    wait_for(lambda: ("still-alive" in [v for _, v in probe.effects()]))


def test_event_published_before_consumer_first_started_is_consumed(container_factory, rpc_client, amqp_uri):
    # the queue exists before anyone publishes (services declare the topology at start)
    with Connection(amqp_uri) as conn:
        declare_handler_queue(conn.default_channel, SOURCE, EVENT, "probe", "on_thing_happened")
    early = thing("early-bird")
    publish(amqp_uri, early)
    container_factory(ProbeService).start()
    probe = rpc_client().probe
    wait_for(lambda: (early["event_id"], "early-bird") in [tuple(e) for e in probe.effects()])


def test_same_event_delivered_twice_changes_state_once(probe, amqp_uri):
    envelope = thing("once")
    publish(amqp_uri, envelope)
    publish(amqp_uri, envelope)
    publish(amqp_uri, thing("marker"))
    wait_for(lambda: "marker" in [v for _, v in probe.effects()])
    wait_for(lambda: message_count(amqp_uri, HANDLER_QUEUE) == 0)
    eventlet.sleep(0.5)
    assert [v for _, v in probe.effects()].count("once") == 1


def test_crash_between_commit_and_publish_is_recovered_by_outbox_relay(container_factory, rpc_client,
                                                                       amqp_uri, database_url):
    # A process commits a state change and its event, then dies before publishing.
    store = Store(database_url, "probe", probe_service._Models.outbox, probe_service._Models.inbox)
    migrate(store.engine, probe_service.Path(probe_service.__file__).parent / "probe_migrations",
            "alembic_version_probe")
    with store.uow() as uow:
        uow.session.add(probe_service.Effect(event_id="local", value="committed-before-crash"))
        uow.emit(EVENT, "org-1", {"value": "relayed-after-restart"})
    assert pending_count(store) == 1
    store.dispose()
    # The service comes back on the same database: its relay publishes the pending event.
    container_factory(ProbeService, database_url=database_url).start()
    probe = rpc_client().probe
    wait_for(lambda: "relayed-after-restart" in [v for _, v in probe.effects()])
    store = Store(database_url, "probe", probe_service._Models.outbox, probe_service._Models.inbox)
    assert pending_count(store) == 0
    store.dispose()


def test_events_emitted_in_a_transaction_reach_consumers(probe):
    probe.make_thing("from-rpc")
    effects = wait_for(lambda: [e for e in probe.effects() if e[1] == "from-rpc" and e[0] != "local"])
    assert len(effects) == 1


def test_three_pg_sleeps_in_parallel_workers_take_about_one_second(container_factory, rpc_client, pg_url):
    container_factory(ProbeService, database_url=pg_url).start()
    probe = rpc_client().probe
    probe.pg_sleep(0)   # warm the pool
    start = time.monotonic()
    replies = [probe.pg_sleep.call_async(1) for _ in range(3)]
    assert [r.result() for r in replies] == [1, 1, 1]
    elapsed = time.monotonic() - start
    print(f"three pg_sleep(1) in parallel: {elapsed:.2f} s")
    assert elapsed < 1.8, f"psycopg2 blocked the process: {elapsed:.2f} s"
