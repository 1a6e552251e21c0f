"""Publishing with publisher confirms and ``mandatory``, with kombu only."""
import logging

from amqp.exceptions import ChannelError
from kombu import Connection, Producer

from shared.envelope import dumps
from shared.topology import declare_all, event_exchange

log = logging.getLogger(__name__)


class Unroutable(Exception):
    """The broker returned a mandatory message: no queue is bound for it."""


def connect(amqp_uri, confirms=True, heartbeat=None):
    return Connection(amqp_uri, transport_options={"confirm_publish": confirms}, heartbeat=heartbeat,
                      connect_timeout=5)


def safe_uri(amqp_uri):
    """The broker address without its passwords, for logs and messages: every alternate of a
    failover list (``amqp://…;amqp://…``) masked, not only the first as kombu does."""
    from kombu.utils.url import maybe_sanitize_url
    return ";".join(maybe_sanitize_url(part) for part in str(amqp_uri).split(";"))


def check_broker(amqp_uri, timeout=5):
    """Raise a ConnectionError with a helpful message when the broker cannot be reached."""
    conn = Connection(amqp_uri, connect_timeout=timeout)
    try:
        conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # kombu raises OperationalError / socket errors
        raise ConnectionError(str(exc)) from exc
    finally:
        conn.release()


class EventPublisher:
    """Publishes envelopes to ``<service>.events`` with routing key = event type.

    Persistent, JSON, confirmed by the broker; an unroutable message raises
    ``Unroutable`` (mandatory flag).  One connection, used by one green thread.
    """

    def __init__(self, amqp_uri, service):
        self.amqp_uri = amqp_uri
        self.exchange = event_exchange(service)
        self._conn = None
        self._producer = None
        self._declared = False

    def _ensure(self):
        if self._conn is None or not self._conn.connected:
            self.close()
            self._conn = connect(self.amqp_uri)
            self._conn.ensure_connection(max_retries=3)
            if not self._declared:
                # every consumer's queue exists before the first event is published
                declare_all(self._conn)
                self._declared = True
            self._producer = Producer(self._conn.channel(), exchange=self.exchange)
            self.exchange(self._producer.channel).declare()
        return self._producer

    def publish(self, envelope, body=None):
        producer = self._ensure()
        try:
            producer.publish(
                body if body is not None else dumps(envelope),
                routing_key=envelope["event_type"],
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                mandatory=True,
                headers={"event_id": envelope["event_id"], "schema_version": envelope["schema_version"]},
                message_id=envelope["event_id"],
            )
        except ChannelError as exc:
            self.close()
            if "NO_ROUTE" in str(exc) or "312" in str(exc):
                raise Unroutable(envelope["event_type"]) from exc
            raise

    def close(self):
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:  # pragma: no cover - closing a broken connection
                pass
        self._conn = None
        self._producer = None
