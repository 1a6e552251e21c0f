"""The nameko glue: the only module of ``shared`` that imports nameko.

- ``Database``: a dependency provider giving each worker the service's
  ``Store`` (migrated on start) and running its outbox relay.
- ``durable_event_handler``: an event handler that loses nothing: quorum queue
  with a delivery limit, a dead-letter queue of its own, requeue on error with
  back-off for transient faults, malformed messages dead-lettered at once.
- ``rpc``: nameko's rpc entrypoint that treats domain errors as expected, and
  survives a broker outage while a worker runs (its reply is dropped, the caller times out);
  a command carrying an idempotency key (context data ``idempotency_key``, set by the
  gateway on every write) is carried out once: a repeat answers the first result.
- ``actor_rpc``: ``rpc`` for a method whose first argument is the actor and whose ``data``
  is read by a marshmallow schema: the method gets the ``Actor`` and the loaded ``data``.
- ``ServiceRpc``: an RPC proxy whose calls time out (``RPC_TIMEOUT``) and
  whose domain errors come back as the same typed exception.
"""
import datetime as _dt
import functools
import inspect
import json
import logging
import random
import sys
from pathlib import Path

import amqp.exceptions
import eventlet
import kombu.exceptions
import sqlalchemy.exc
from eventlet.event import Event
from kombu.messaging import Consumer as KombuConsumer
from marshmallow import ValidationError
from nameko.events import EventHandler
from nameko.exceptions import RemoteError, get_module_path, registry
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer, QueueConsumer
from nameko.rpc import Rpc, RpcProxy

from shared import errors
from shared.actor import Actor
from shared.amqp import EventPublisher, connect
from shared.clock import utcnow
from shared.db import CARRIED_OUT, KeyedWork, SealedKey, Store, migrate, prune_request_records
from shared.envelope import parse_envelope
from shared.outbox import relay_pending
from shared.topology import dead_letter_queue, handler_queue
from shared.validation import load

log = logging.getLogger(__name__)

# Domain errors raised in one service are rebuilt as the same class in the caller.
for _cls in errors.ALL_ERRORS:
    registry[get_module_path(_cls)] = _cls


BROKER_ERRORS = (OSError, kombu.exceptions.OperationalError, amqp.exceptions.AMQPError)


# the worker context data (nameko: message header ``nameko.idempotency_key``) carrying a
# command's idempotency key from the gateway to the service, whatever the RPC's signature
IDEMPOTENCY_KEY = "idempotency_key"
IDEMPOTENCY_HEADER = "nameko." + IDEMPOTENCY_KEY


class ResilientRpc(Rpc):
    """nameko's rpc entrypoint, except that a reply that cannot be sent (the broker went
    away while the worker ran) is logged and dropped.  nameko would kill the whole
    service; instead it keeps running and reconnects when the broker is back.  The caller
    gets no answer and times out (``RPC_TIMEOUT``).

    A request whose worker finished but which could not be acknowledged (its reply lost,
    or the reply sent once the broker was back but the request's channel gone with the
    outage) is handed out again by the broker.  The work was done, though: the request's
    correlation id is written to the service's inbox, and a redelivered request found
    there is not run a second time — it is answered with a ``Conflict`` instead (a create
    or a vote is never carried out twice by a broker outage).

    A request carrying an idempotency key needs no such record: its key is committed with
    its effect and its result (``shared.db.KeyedWork``), and a repeat — delivered again by
    the broker or sent again by the gateway or the client — is answered that first result
    (settled here, before the reply is sent)."""

    def _store(self):
        for dependency in self.container.dependencies:
            if isinstance(dependency, Database):
                return dependency.store
        return None

    def _database(self):
        for dependency in self.container.dependencies:
            if isinstance(dependency, Database):
                return dependency
        return None

    def handle_message(self, body, message):
        correlation_id = message.properties.get("correlation_id")
        if (message.delivery_info.get("redelivered") and correlation_id
                and not (message.headers or {}).get(IDEMPOTENCY_HEADER) and self._carried_out(correlation_id)):
            log.warning("request %s of %s delivered again after it was carried out: not run twice",
                        correlation_id, self.method_name)
            # raised here, nameko's consumer sends it as the reply and acknowledges the request
            raise errors.Conflict(f"{self.method_name}: this request was carried out once already; its "
                                  "answer was lost in a broker outage — check the result before sending it again",
                                  field=None, rule=None)
        super().handle_message(body, message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        database = self._database()
        work = database.keyed_work(worker_ctx) if database is not None else None
        if work is not None:
            result, exc_info = _settle(work, result, exc_info)
        try:
            outcome = super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_ERRORS as exc:
            log.warning("reply of %s not sent, the broker is unreachable: %r", worker_ctx.call_id, exc)
            outcome = result, exc_info
        if not message.acknowledged:
            # nameko skips the acknowledgement when the request's channel is gone: it comes back
            self._remember_carried_out(message.properties.get("correlation_id"), worker_ctx.call_id)
        return outcome

    def _carried_out(self, correlation_id):
        store = self._store()
        if store is None:
            return False
        inbox = store.inbox
        with store.read() as s:
            return s.execute(sqlalchemy.select(inbox.c.event_id).where(
                inbox.c.event_id == str(correlation_id)[:36], inbox.c.handler == CARRIED_OUT)).first() is not None

    def _remember_carried_out(self, correlation_id, call_id):
        store = self._store()
        if store is None or not correlation_id:
            return
        try:
            with store.uow() as uow:
                uow.first_time(str(correlation_id)[:36], CARRIED_OUT)
            log.warning("request %s (%s) carried out but not acknowledged: recorded, so that it is not run twice",
                        correlation_id, call_id)
        except Exception as exc:        # the database too: the request may then run again
            log.warning("could not record request %s (%s) as carried out: %r", correlation_id, call_id, exc)


def _settle(work, result, exc_info):
    """The command's answer once its work (and key) is committed: the first result for a repeat."""
    try:
        repeat, first = work.settle(result, None if exc_info is None else exc_info[1])
    except Exception:
        if exc_info is None:
            log.warning("command %s not committed: %r", work.record_id, sys.exc_info()[1])
        return None, sys.exc_info()
    if repeat:
        log.info("command with idempotency key %s carried out before: answered its first result", work.record_id)
        return first, None
    return result, exc_info


def request_identity(method_name, args, kwargs):
    """(caller, canonical text of the request) of an RPC: the caller is the actor every
    command gets first; the text is only ever stored as a keyed fingerprint (``SealedKey``)."""
    actor = args[0] if args and isinstance(args[0], dict) else {}
    caller = f"{actor.get('person_id')}|{actor.get('org_id')}"
    return caller, json.dumps([method_name, list(args[1:]), kwargs], sort_keys=True, default=str, ensure_ascii=True)


def rpc(fn=None, **kwargs):
    kwargs.setdefault("expected_exceptions", errors.DomainError)
    if fn is None:
        return ResilientRpc.decorator(**kwargs)
    return ResilientRpc.decorator(**kwargs)(fn)


def actor_rpc(schema=None, *, check=None, **kwargs):
    """An ``rpc`` entrypoint whose method gets its first argument, ``actor`` (the dict the
    gateway sends), as an ``Actor`` (SPEC §2: checked again by every service) and, with a
    ``schema`` (a marshmallow ``Schema`` class), its ``data`` argument loaded by it (a bad
    input: ``ValidationFailed`` naming the field).

    ``check(actor, **arguments)``, when given, runs in between: before ``data`` is read (a
    command for the administrator only refuses anyone else before looking at their input).

    The method keeps its signature: nameko checks each call against it (a call with the
    wrong arguments is still ``IncorrectSignature``), and a command's idempotency key is
    tied to the arguments as they were sent (``request_identity``)."""
    def decorate(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def method(*args, **kw):
            bound = signature.bind(*args, **kw)
            arguments = bound.arguments
            actor = arguments["actor"] = Actor.from_dict(arguments["actor"])
            if check is not None:
                check(actor, **{name: value for name, value in arguments.items() if name not in ("self", "actor")})
            if schema is not None:
                arguments["data"] = load(schema(), arguments["data"])
            return fn(*bound.args, **bound.kwargs)
        method.__signature__ = signature       # what nameko's signature check reads
        return rpc(method, **kwargs)
    return decorate


# --------------------------------------------------------------------------- storage

class Database(DependencyProvider):
    """Gives workers the service's ``Store``; migrates on start; relays the outbox."""

    def __init__(self, models, migrations, relay=True):
        self.models = models            # module exposing ``outbox`` and ``inbox`` tables
        self.migrations = Path(migrations)
        self.relay = relay
        self.store = None
        self._wake = None
        self._running = False
        self._publisher = None
        self._keyed = {}                # worker context -> KeyedWork, for commands carrying a key

    def setup(self):
        config = self.container.config
        service = self.container.service_name
        self.store = Store(config["DATABASE_URL"], service, self.models.outbox, self.models.inbox)
        migrate(self.store.engine, self.migrations, f"alembic_version_{service}")
        self._poll = float(config.get("OUTBOX_POLL_SECONDS", 1.0))
        self._retention = float(config.get("IDEMPOTENCY_RETENTION_HOURS", 24)) * 3600
        self._prune_every = float(config.get("IDEMPOTENCY_PRUNE_SECONDS", 3600))

    def start(self):
        self._running = True
        self.container.spawn_managed_thread(self._prune_loop, identifier="request-records-pruning")
        if not self.relay:
            return
        self._publisher = EventPublisher(self.container.config["AMQP_URI"], self.container.service_name)
        self._wake = Event()
        self.store.on_events_committed(self._wakeup)
        self.container.spawn_managed_thread(self._relay_loop, identifier="outbox-relay")

    def _wakeup(self):
        if self._wake is not None and not self._wake.ready():
            self._wake.send(True)

    def _relay_loop(self):
        backoff = self._poll
        while self._running:
            try:
                while relay_pending(self.store, self._publisher) > 0:
                    pass
                backoff = self._poll
            except Exception as exc:   # broker or database down: keep trying, slower
                log.warning("outbox relay pass failed: %s", exc)
                self._publisher.close()
                backoff = min(backoff * 2, 30.0)
            with eventlet.Timeout(backoff, False):
                self._wake.wait()
            self._wake = Event()

    def _prune_loop(self):
        """Keys (and carried-out requests) are kept ``IDEMPOTENCY_RETENTION_HOURS`` (24 h)."""
        while self._running:
            try:
                gone = prune_request_records(self.store, utcnow() - _dt.timedelta(seconds=self._retention))
                if gone:
                    log.info("forgot %d idempotency keys and request records older than %g h",
                             gone, self._retention / 3600)
            except Exception as exc:    # the database is away: next time
                log.warning("pruning old idempotency keys failed: %r", exc)
            eventlet.sleep(self._prune_every)

    def stop(self):
        self._running = False
        self._wakeup()
        if self._publisher is not None:
            self._publisher.close()
        if self.store is not None:
            self.store.dispose()

    def kill(self):
        # a killed worker never settles: its open transaction goes, as in a crash
        for work in list(self._keyed.values()):
            try:
                work.close()
            except Exception as exc:
                log.warning("rolling back a killed command failed: %r", exc)
        self._keyed.clear()
        self.stop()

    def get_dependency(self, worker_ctx):
        key = worker_ctx.context_data.get(IDEMPOTENCY_KEY)
        if not key or not isinstance(worker_ctx.entrypoint, ResilientRpc):
            return self.store
        caller, request_text = request_identity(worker_ctx.entrypoint.method_name, worker_ctx.args,
                                                worker_ctx.kwargs)
        work = KeyedWork(self.store, SealedKey(caller, str(key)), request_text)
        self._keyed[worker_ctx] = work
        return work

    def keyed_work(self, worker_ctx):
        return self._keyed.get(worker_ctx)

    def worker_teardown(self, worker_ctx):
        work = self._keyed.pop(worker_ctx, None)
        if work is not None:
            work.close()


# --------------------------------------------------------------------------- durable events

TRANSIENT_ERRORS = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
                    sqlalchemy.exc.TimeoutError, errors.ServiceUnavailable, errors.UpstreamTimeout,
                    ConnectionError, TimeoutError)


class PoisonMessage(Exception):
    """A message that can never be processed (malformed): dead-letter it now."""


class DurableQueueConsumer(QueueConsumer):
    """A queue consumer that dead-letters bodies it cannot decode instead of dying."""

    def get_consumers(self, consumer_cls, channel):
        def on_decode_error(message, exc):
            log.error("undecodable message on %s dead-lettered: %s",
                      message.delivery_info.get("routing_key"), exc)
            message.reject(requeue=False)

        def make(**kwargs):
            return KombuConsumer(channel, on_decode_error=on_decode_error, **kwargs)
        return super().get_consumers(lambda **kw: make(**kw), channel)


class DurableEventHandler(EventHandler):
    queue_consumer = DurableQueueConsumer()

    def __init__(self, source_service, event_type, **kwargs):
        kwargs["requeue_on_error"] = True
        super().__init__(source_service, event_type, **kwargs)

    def setup(self):
        service = self.container.service_name
        self.queue = handler_queue(self.source_service, self.event_type, service, self.method_name)
        self.dead_letter_queue = dead_letter_queue(self.queue.name)
        conn = connect(self.container.config["AMQP_URI"], confirms=False)
        try:
            # a busy broker (quorum queues being declared) may take longer than one connect
            # timeout to answer at start: retry for about half a minute before giving up
            conn.ensure_connection(max_retries=6, interval_start=1, interval_step=2, interval_max=5)
            channel = conn.channel()
            self.dead_letter_queue(channel).declare()
            self.queue(channel).declare()
        finally:
            conn.release()
        Consumer.setup(self)

    def handle_message(self, body, message):
        try:
            envelope = parse_envelope(body)
            if envelope["event_type"] != self.event_type:
                raise ValueError(f"event_type {envelope['event_type']!r} on a {self.event_type} queue")
        except (ValidationError, ValueError, TypeError) as exc:
            log.error("malformed event on %s dead-lettered: %s", self.queue.name, exc)
            if message.channel.connection:
                message.reject(requeue=False)
            return
        super().handle_message(envelope, message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        exc = exc_info[1]
        if isinstance(exc, PoisonMessage):
            log.error("poison event on %s dead-lettered: %s", self.queue.name, exc)
            if message.channel.connection:
                message.reject(requeue=False)
            return
        if isinstance(exc, TRANSIENT_ERRORS):
            # back off before the requeue so a database outage does not burn the delivery limit
            deliveries = int((message.headers or {}).get("x-delivery-count", 0) or 0)
            delay = min(30.0, 0.5 * (2 ** deliveries)) * (0.5 + random.random() / 2)
            log.warning("transient failure on %s (%s); retrying in %.1fs", self.queue.name, exc, delay)
            eventlet.sleep(delay)
        else:
            log.error("handler on %s failed (delivery limit then dead-letter): %r", self.queue.name, exc)
        self.queue_consumer.requeue_message(message)


durable_event_handler = DurableEventHandler.decorator


# --------------------------------------------------------------------------- rpc between services

class _TimedProxy:
    def __init__(self, proxy, service, timeout):
        self._proxy = proxy
        self._service = service
        self._timeout = timeout

    def __getattr__(self, name):
        method = getattr(self._proxy, name)

        def call(*args, **kwargs):
            try:
                with eventlet.Timeout(self._timeout):
                    return method(*args, **kwargs)
            except eventlet.Timeout:
                raise errors.UpstreamTimeout(
                    f"the {self._service} service did not answer within {self._timeout:g} s",
                    field=None, rule=None) from None
            except RemoteError as exc:
                raise errors.ServiceUnavailable(f"the {self._service} service failed: {exc.exc_type}",
                                                field=None, rule=None) from None
            except BROKER_ERRORS:
                # the broker did not take the request (refused, timed out, connection lost): a
                # 503 the caller may retry with its idempotency key, never a 500
                raise errors.ServiceUnavailable(
                    f"the message broker did not take the call to the {self._service} service; try again",
                    field=None, rule=None) from None
        return call


class ServiceRpc(RpcProxy):
    """``RpcProxy`` with a timeout (``RPC_TIMEOUT``, default 10 s)."""

    def get_dependency(self, worker_ctx):
        proxy = super().get_dependency(worker_ctx)
        timeout = float(self.container.config.get("RPC_TIMEOUT", 10))
        return _TimedProxy(proxy, self.target_service, timeout)


# --------------------------------------------------------------------------- health

class HealthMixin:
    """Gives a service a ``health`` RPC (the gateway's ``GET /health`` asks each one)."""

    @rpc
    def health(self):
        return {"service": self.name, "status": "ok"}
