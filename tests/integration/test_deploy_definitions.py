"""The RabbitMQ definitions compose loads at boot, imported into a real broker.

deploy/rabbitmq/definitions.json goes into a fresh vhost through the management
API (the same import the broker runs at boot); every queue must then exist as
a quorum queue with its delivery limit and dead-letter queue, and a
``voting.result_decided`` event must reach both of its consumers' queues.
The users file the compose file's broker entrypoint writes is imported too:
its user can log in and use the vhost.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
import yaml
from kombu import Connection, Exchange, Producer, Queue

from shared.topology import DELIVERY_LIMIT, RPC_QUEUE_POLICY, SUBSCRIPTIONS, dead_letter_queue_name, queue_name

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"


def vhost_of(amqp_uri):
    return urllib.parse.unquote(urllib.parse.urlsplit(amqp_uri).path[1:])


def api(broker, method, path, **kwargs):
    r = requests.request(method, broker.management + path, auth=(broker.user, broker.password), timeout=15, **kwargs)
    assert r.status_code < 400, f"{method} {path}: {r.status_code} {r.text}"
    return r


def import_into(broker, vhost):
    """POST the file's exchanges, queues and bindings to /api/definitions/<vhost>."""
    defs = json.loads(DEFINITIONS.read_text())
    body = {key: [dict(item, vhost=vhost) for item in defs[key]]
            for key in ("exchanges", "queues", "bindings", "policies")}
    api(broker, "POST", f"/api/definitions/{urllib.parse.quote(vhost, safe='')}", json=body)
    return defs


def queue_info(broker, vhost, name):
    r = requests.get(broker.management + f"/api/queues/{urllib.parse.quote(vhost, safe='')}/"
                     f"{urllib.parse.quote(name, safe='')}", auth=(broker.user, broker.password), timeout=15)
    return r.json() if r.status_code == 200 else None


def wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout}s")


def test_definitions_declare_every_quorum_queue_with_its_dead_letter_queue(broker, amqp_uri):
    vhost = vhost_of(amqp_uri)
    defs = import_into(broker, vhost)
    assert defs["queues"], "the definitions file declares no queue"

    for source, event_type, service, method in SUBSCRIPTIONS:
        name = queue_name(source, event_type, service, method)
        info = queue_info(broker, vhost, name)
        assert info is not None, f"{name} was not declared"
        args = info["arguments"]
        assert args["x-queue-type"] == "quorum" and info["durable"] is True
        assert args["x-delivery-limit"] == DELIVERY_LIMIT
        assert args["x-dead-letter-exchange"] == "suite.dead-letter"
        assert args["x-dead-letter-routing-key"] == name
        dlq = queue_info(broker, vhost, dead_letter_queue_name(name))
        assert dlq is not None and dlq["arguments"]["x-queue-type"] == "quorum", f"{name} has no dead-letter queue"
        bindings = api(broker, "GET", f"/api/queues/{urllib.parse.quote(vhost, safe='')}/"
                                      f"{urllib.parse.quote(dlq['name'], safe='')}/bindings").json()
        assert any(b["source"] == "suite.dead-letter" and b["routing_key"] == name for b in bindings)
    # and no queue the topology does not know of
    names = {q["name"] for q in api(broker, "GET", f"/api/queues/{urllib.parse.quote(vhost, safe='')}").json()}
    expected = {queue_name(*s) for s in SUBSCRIPTIONS}
    assert names == expected | {dead_letter_queue_name(n) for n in expected}


def test_rpc_request_queues_take_the_policy_that_keeps_them_on_every_node(broker, amqp_uri):
    """A cluster node that goes down takes no service's RPC queue with it: a queue declared as
    nameko declares ``rpc-<service>`` gets the mirroring policy; reply and event queues do not."""
    vhost = vhost_of(amqp_uri)
    import_into(broker, vhost)
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        exchange = Exchange("nameko-rpc", type="topic", durable=True)
        exchange(channel).declare()
        Queue("rpc-voting", exchange, routing_key="voting.*", durable=True)(channel).declare()
        Queue(f"rpc.reply-gateway-{uuid.uuid4()}", exchange, auto_delete=True, exclusive=True)(channel).declare()
        info = wait_for(lambda: (queue_info(broker, vhost, "rpc-voting") or {}).get("policy"))
        assert info == RPC_QUEUE_POLICY
        replies = [q for q in api(broker, "GET", f"/api/queues/{urllib.parse.quote(vhost, safe='')}").json()
                   if q["name"].startswith("rpc.reply-")]
        assert replies and all(not q.get("policy") for q in replies)
    events = queue_info(broker, vhost, queue_name(*SUBSCRIPTIONS[0]))
    assert not events.get("policy")


def test_a_result_decided_event_lands_in_the_archive_and_accountability_queues_only(broker, amqp_uri):
    vhost = vhost_of(amqp_uri)
    import_into(broker, vhost)
    body = json.dumps({"event_id": str(uuid.uuid4()), "event_type": "result_decided"})
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())
        # passive: the exchange must come from the definitions, not from this test
        exchange = Exchange("voting.events", type="topic", passive=True)
        producer.publish(body, exchange=exchange, routing_key="result_decided", mandatory=True,
                         content_type="application/json", delivery_mode=2, declare=[exchange])

    receivers = {queue_name("voting", "result_decided", "archive", "on_result_decided"),
                 queue_name("voting", "result_decided", "accountability", "on_result_decided")}
    for name in receivers:
        wait_for(lambda name=name: (queue_info(broker, vhost, name) or {}).get("messages") == 1)
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for name in receivers:
            message = channel.basic_get(name, no_ack=True)
            assert message is not None and json.loads(message.body)["event_type"] == "result_decided"
        other = queue_name("meetings", "meeting_noticed", "notifications", "on_meeting_noticed")
        assert channel.queue_declare(other, passive=True).message_count == 0


def broker_entrypoint_script():
    """The shell script compose runs as the broker's entrypoint (compose turns $$ into $)."""
    spec = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]["rabbitmq"]
    assert spec["entrypoint"][:2] == ["/bin/bash", "-euc"]
    return spec["entrypoint"][2].replace("$$", "$")


def run_entrypoint(tmp_path, user, password):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "calls"
    for stub in ("chown", "docker-entrypoint.sh"):
        (bin_dir / stub).write_text(f'#!/bin/sh\necho "{stub} $*" >> "{calls}"\n')
        (bin_dir / stub).chmod(0o755)
    users_file = tmp_path / "20-users.json"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "SUITE_USERS_FILE": str(users_file),
           "SUITE_RABBITMQ_USER": user, "SUITE_RABBITMQ_PASSWORD": password}
    result = subprocess.run(["/bin/bash", "-euc", broker_entrypoint_script(), "rabbitmq-entrypoint", "rabbitmq-server"],
                            env=env, capture_output=True, text=True, timeout=30)
    return result, users_file, calls


def test_the_broker_entrypoint_writes_a_users_file_the_broker_accepts(broker, tmp_path):
    user, password = f"deploy-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    result, users_file, calls = run_entrypoint(tmp_path, user, password)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == [f"chown rabbitmq:rabbitmq {users_file}",
                                              "docker-entrypoint.sh rabbitmq-server"]
    assert users_file.stat().st_mode & 0o077 == 0, "the users file is readable by others"
    definitions = json.loads(users_file.read_text())
    try:
        api(broker, "POST", "/api/definitions", json=definitions)
        # the new user logs in over AMQP and may use the vhost the topology lives in
        uri = urllib.parse.urlunsplit(("amqp", f"{user}:{password}@{urllib.parse.urlsplit(broker.base_uri).netloc.split('@')[-1]}",
                                       "/", "", ""))
        with Connection(uri, connect_timeout=5) as conn:
            channel = conn.channel()
            name = f"deploy-test-{uuid.uuid4().hex[:8]}"
            channel.queue_declare(name, exclusive=True)
            channel.close()
        r = requests.get(broker.management + "/api/whoami", auth=(user, password), timeout=10)
        assert r.status_code == 200 and r.json()["name"] == user
    finally:
        requests.delete(broker.management + f"/api/users/{urllib.parse.quote(user, safe='')}",
                        auth=(broker.user, broker.password), timeout=10)


@pytest.mark.parametrize("user,password", [("suite", ""), ("suite", 'p"w'), ("", "secret"), ("suite", "a b")])
def test_the_broker_entrypoint_refuses_missing_or_unsafe_credentials(tmp_path, user, password):
    result, users_file, calls = run_entrypoint(tmp_path, user, password)
    assert result.returncode == 64 and "RABBITMQ_USER and RABBITMQ_PASSWORD" in result.stderr
    assert not users_file.exists() and not calls.exists()


def documented_replay_script():
    """The kombu replay snippet of docs/operations.md, as an operator would paste it."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    start = text.index("docker compose exec -T archive python - ")
    body = text[text.index("<<'EOF'\n", start) + len("<<'EOF'\n"):]
    return body[: body.index("\nEOF\n")]


def test_the_documented_replay_moves_dead_letters_back_to_their_own_queue_only(broker, amqp_uri):
    vhost = vhost_of(amqp_uri)
    import_into(broker, vhost)
    archive_q = queue_name("voting", "result_decided", "archive", "on_result_decided")
    accountability_q = queue_name("voting", "result_decided", "accountability", "on_result_decided")
    event_id = str(uuid.uuid4())
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())
        producer.publish(json.dumps({"event_id": event_id}), exchange="voting.events", routing_key="result_decided",
                         content_type="application/json", delivery_mode=2, headers={"event_id": event_id})
        channel = conn.channel()
        # the archive's handler gives up on it: dead-lettered
        message = wait_for(lambda: channel.basic_get(archive_q, no_ack=False))
        channel.basic_reject(message.delivery_tag, requeue=False)
    wait_for(lambda: (queue_info(broker, vhost, archive_q + ".dlq") or {}).get("messages") == 1)

    result = subprocess.run([sys.executable, "-", archive_q], input=documented_replay_script(),
                            env=dict(os.environ, AMQP_URI=amqp_uri), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"replayed 1 message(s) to {archive_q}" in result.stdout

    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        assert channel.queue_declare(archive_q + ".dlq", passive=True).message_count == 0
        replayed = wait_for(lambda: channel.basic_get(archive_q, no_ack=True))
        assert json.loads(replayed.body) == {"event_id": event_id}
        assert replayed.headers["event_id"] == event_id and "x-death" not in replayed.headers
        assert replayed.properties["delivery_mode"] == 2
        # the event's other consumer got no second copy
        assert channel.queue_declare(accountability_q, passive=True).message_count == 1


def test_the_documented_replay_moves_each_dead_letter_once_even_if_it_fails_again(broker, amqp_uri):
    """A message that is still failing comes straight back to the dead-letter queue; the
    replay moves only what the queue held when it started, instead of going round forever."""
    import threading

    vhost = vhost_of(amqp_uri)
    import_into(broker, vhost)
    archive_q = queue_name("voting", "result_decided", "archive", "on_result_decided")
    stop = threading.Event()

    def still_failing_consumer():
        # the handler is not fixed yet: everything it gets is dead-lettered again at once
        with Connection(amqp_uri) as conn:
            channel = conn.channel()
            channel.basic_consume(archive_q, no_ack=False,
                                  callback=lambda message: channel.basic_reject(message.delivery_tag, requeue=False))
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=0.05)
                except socket.timeout:
                    pass

    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())
        for _ in range(20):
            event_id = str(uuid.uuid4())
            producer.publish(json.dumps({"event_id": event_id}), exchange="voting.events",
                             routing_key="result_decided", content_type="application/json",
                             delivery_mode=2, headers={"event_id": event_id})
    consumer = threading.Thread(target=still_failing_consumer, daemon=True)
    consumer.start()
    try:
        wait_for(lambda: (queue_info(broker, vhost, archive_q + ".dlq") or {}).get("messages") == 20)
        result = subprocess.run([sys.executable, "-", archive_q], input=documented_replay_script(),
                                env=dict(os.environ, AMQP_URI=amqp_uri), capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        assert f"replayed 20 message(s) to {archive_q}" in result.stdout
        # all came back to the dead-letter queue, where they wait for the real fix
        wait_for(lambda: (queue_info(broker, vhost, archive_q + ".dlq") or {}).get("messages") == 20)
    finally:
        stop.set()
        consumer.join(10)
