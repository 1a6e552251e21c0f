"""Publishing test events into the broker and waiting for their effects."""
import time

import eventlet
from kombu import Connection

from shared.amqp import EventPublisher
from shared.topology import declare_all


def wait_for(predicate, timeout=15, interval=0.1):
    """Poll ``predicate`` until it returns something true (returned), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        eventlet.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def publish(amqp_uri, source, *envelopes):
    """Publish envelopes as ``source`` would, after declaring the suite's queues."""
    with Connection(amqp_uri) as conn:
        declare_all(conn)
    publisher = EventPublisher(amqp_uri, source)
    try:
        for envelope in envelopes:
            publisher.publish(envelope)
    finally:
        publisher.close()
