import time
import uuid

import pytest
import requests
from kombu import Connection, Queue

from shared.topology import SERVICES, event_exchange

from tests.support.processes import Suite, suite_env

DEMO_PASSWORD = "demo-password-2026"


@pytest.fixture(scope="module")
def suite(broker, tmp_path_factory):
    """Every service as its own process on this module's own vhost, SQLite under a fresh data folder."""
    tmp_path = tmp_path_factory.mktemp("suite")
    vhost = f"e2e-{uuid.uuid4().hex[:10]}"
    amqp_uri = broker.create_vhost(vhost)
    env = suite_env(amqp_uri, tmp_path)
    s = Suite(env, tmp_path)
    s.amqp_uri = amqp_uri
    tap_every_exchange(amqp_uri)
    s.start_all()
    try:
        s.wait_healthy()
        yield s
    finally:
        s.stop_all()
        broker.delete_vhost(vhost)
        broker.vhosts.remove(vhost)


TAP_QUEUE = "e2e-tap"


def tap_every_exchange(amqp_uri):
    """A queue that receives every event of every service (bound before anything publishes)."""
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        queue = Queue(TAP_QUEUE, durable=True, auto_delete=False)
        queue(channel).declare()
        for service in SERVICES:
            exchange = event_exchange(service)
            exchange(channel).declare()
            channel.queue_bind(TAP_QUEUE, exchange.name, routing_key="#")


def drain_tap(amqp_uri):
    """Every event published so far: [(exchange, routing key, body)]."""
    events = []
    with Connection(amqp_uri) as conn:
        simple = conn.SimpleQueue(Queue(TAP_QUEUE, no_declare=True))
        while True:
            try:
                msg = simple.get(timeout=1)
            except simple.Empty:
                break
            events.append((msg.delivery_info["exchange"], msg.delivery_info["routing_key"], msg.payload))
            msg.ack()
        simple.close()
    return events


class Client:
    def __init__(self, base, token=None):
        self.base = base
        self.token = token

    def request(self, method, path, **kwargs):
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return requests.request(method, self.base + path, headers=headers, timeout=20, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def login(base, username, password=DEMO_PASSWORD, timeout=60):
    """Log in (waiting for the demo seed on a fresh data folder)."""
    deadline = time.monotonic() + timeout
    while True:
        r = requests.post(base + "/api/v1/auth/login", json={"username": username, "password": password}, timeout=20)
        if r.status_code == 200:
            return Client(base, r.json()["token"]), r.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"login {username}: {r.status_code} {r.text}")
        time.sleep(0.5)


def notifications_db(suite):
    """The notifications service's SQLite database of a suite (where enrolment codes reach the inbox)."""
    return f"sqlite:///{suite.env['DATA_DIR']}/notifications.sqlite3"
