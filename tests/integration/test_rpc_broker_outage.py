"""A service whose broker goes away while one of its RPC workers runs keeps running, and
answers again once the broker is back (found by `make chaos`: a broker restart killed the
voting service, because nameko kills a container whose RPC reply cannot be sent); the
request, carried out but never acknowledged, is delivered again and not run twice.

The service reaches the real RabbitMQ through a TCP gate of the test's own, which the test
closes (every connection cut, new ones refused) and opens again: a broker outage for this
service only, without touching the shared broker.
"""
import logging
import socket
import urllib.parse

import eventlet
import pytest
import sqlalchemy as sa

from shared.db import make_engine
from shared.nameko_ext import rpc
from tests.support.probe_service import ProbeService

pytestmark = pytest.mark.integration


class SlowService:
    name = "outage_probe"

    @rpc
    def slow(self, seconds):
        eventlet.sleep(seconds)
        return "done"

    @rpc
    def ping(self):
        return "pong"


class Gate:
    """A TCP relay to the broker that can be closed (connections cut, port refusing) and opened."""

    def __init__(self, host, port):
        self.upstream = (host, port)
        self.socks = []
        self.pumps = []
        self.port = None
        self.listener = None
        self.open()

    def open(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port or 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(50)
        self.acceptor = eventlet.spawn(self._accept, self.listener)
        self.is_open = True

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            self.socks += [client, upstream]
            self.pumps += [eventlet.spawn(self._pump, client, upstream), eventlet.spawn(self._pump, upstream, client)]

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except Exception:          # the gate closed under this pump (OSError, EOFError, IOClosed)
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self.is_open = False
        self.acceptor.kill()
        # no green thread may stay waiting on a socket number the system can hand out again
        for pump in self.pumps:
            pump.kill()
        self.pumps = []
        self.listener.close()
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.socks = []


def wait_for(predicate, timeout):
    deadline = eventlet.hubs.get_hub().clock() + timeout
    while eventlet.hubs.get_hub().clock() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        eventlet.sleep(0.2)
    return False


def stop_through(gate, container):
    """Stop the service while its broker is reachable (a stop without it waits for ever), then close the gate."""
    if not gate.is_open:
        gate.open()
    container.stop()
    gate.close()


def gated(amqp_uri):
    """A gate to the broker and the AMQP URI that goes through it."""
    parts = urllib.parse.urlsplit(amqp_uri)
    gate = Gate(parts.hostname, parts.port or 5672)
    return gate, urllib.parse.urlunsplit((parts.scheme, f"{parts.username}:{parts.password}@127.0.0.1:{gate.port}",
                                          parts.path, "", ""))


def test_a_reply_lost_to_a_broker_outage_does_not_kill_the_service(container_factory, rpc_client, amqp_uri,
                                                                     caplog):
    gate, gated_uri = gated(amqp_uri)
    container = container_factory(SlowService, AMQP_URI=gated_uri)
    container.start()
    client = rpc_client(timeout=4)
    assert client.outage_probe.ping() == "pong"
    caplog.set_level(logging.WARNING, logger="shared.nameko_ext")
    try:
        client.outage_probe.slow.call_async(1.0)
        eventlet.sleep(0.3)                       # the worker is running
        gate.close()                              # the broker goes away for this service
        assert wait_for(lambda: "not sent, the broker is unreachable" in caplog.text, timeout=30), caplog.text
        assert not container._died.ready(), "the service died with its unsent reply"
        gate.open()                               # the broker is back
        # the service reconnects by itself and answers again
        assert wait_for(lambda: client.outage_probe.ping() == "pong", timeout=60)
        assert not container._died.ready()
    finally:
        stop_through(gate, container)


def test_a_command_whose_reply_was_lost_is_not_carried_out_twice(container_factory, rpc_client, amqp_uri,
                                                                 database_url, caplog):
    # the command commits, the broker goes away before its reply: the request, never
    # acknowledged, is delivered again once the service is back — and must not run again
    gate, gated_uri = gated(amqp_uri)
    container = container_factory(ProbeService, database_url=database_url, AMQP_URI=gated_uri)
    container.start()
    client = rpc_client(timeout=4)
    caplog.set_level(logging.WARNING, logger="shared.nameko_ext")
    engine = make_engine(database_url)
    carried_out = sa.text("SELECT count(*) FROM inbox WHERE handler = 'rpc.carried_out'")
    try:
        # an answered, acknowledged request leaves no trace (nothing is written per call)
        assert client.probe.make_thing_then_wait("answered", 0) == "answered"
        with engine.connect() as conn:
            assert conn.execute(carried_out).scalar_one() == 0
        client.probe.make_thing_then_wait.call_async("once", 1.0)
        assert wait_for(lambda: ["local", "once"] in client.probe.effects(), timeout=10)   # committed
        gate.close()
        assert wait_for(lambda: "not sent, the broker is unreachable" in caplog.text, timeout=30), caplog.text
        gate.open()
        assert wait_for(lambda: "delivered again after it was carried out: not run twice" in caplog.text,
                        timeout=60), caplog.text
        assert [e for e in client.probe.effects() if e[1] == "once"] == [["local", "once"]]
        with engine.connect() as conn:
            assert conn.execute(carried_out).scalar_one() >= 1
        assert not container._died.ready()
    finally:
        engine.dispose()
        stop_through(gate, container)
