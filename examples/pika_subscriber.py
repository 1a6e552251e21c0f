#!/usr/bin/env python3
"""Subscribe to the Party Group Governance Suite's events with a plain AMQP client.

Needs Python 3.8+ and ``pika``; ``jsonschema`` and ``PyYAML`` only when ``--schema`` is
given.  Nothing of the suite is imported: this is what any other system does.

    python pika_subscriber.py --amqp-uri amqp://user:pass@broker:5672/vhost \\
        --queue acme-decisions --bind voting.events:result_decided \\
        --schema asyncapi.yaml --dedupe-db acme-seen.sqlite

What it does, in the order an integrator needs it:

1. declares its own dead-letter exchange ``<queue>.dlx`` and queue ``<queue>.dlq``;
2. declares ``<queue>`` durable, quorum, with ``x-delivery-limit`` and that dead-letter
   exchange, and binds it to each ``--bind EXCHANGE:ROUTING_KEY`` (``#`` = every event of
   that exchange); the exchanges are declared with the suite's own arguments (topic,
   durable), which is harmless when they exist;
3. consumes with manual acknowledgement, one message at a time (``--prefetch``):
   - a body that is not JSON, or not valid against the catalogue's schema: rejected
     without requeue, so the broker moves it to ``<queue>.dlq`` for a person to look at;
   - an ``event_id`` already processed: acknowledged and skipped (at-least-once delivery);
   - a ``schema_version`` this program does not know (``--accept-version``): acknowledged
     and skipped (a breaking change is published side by side with the old version);
   - an event type the catalogue does not name: acknowledged and skipped;
   - otherwise processed (one line printed), its ``event_id`` recorded, then acknowledged;
   - an unexpected error while processing: requeued; the queue's delivery limit
     dead-letters it after ``--delivery-limit`` attempts.

Unknown fields are ignored everywhere (the schemas allow them; the code only reads the
fields it needs).  Stops after ``--max-messages`` deliveries or ``--idle-timeout``
seconds without one; otherwise runs until interrupted.
"""
import argparse
import json
import os
import signal
import sqlite3
import sys
import time

import pika

DEFAULT_URI = "amqp://guest:guest@localhost:5672/%2F"


# ----------------------------------------------------------------------------- de-duplication

class SeenEvents:
    """The ``event_id``s already processed, in a small SQLite file (or in memory)."""

    def __init__(self, path=":memory:"):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY, event_type TEXT, "
                        "processed_at REAL NOT NULL)")
        self.db.commit()

    def __contains__(self, event_id):
        return self.db.execute("SELECT 1 FROM seen WHERE event_id = ?", (event_id,)).fetchone() is not None

    def add(self, event_id, event_type):
        self.db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", (event_id, event_type, time.time()))
        self.db.commit()


# ----------------------------------------------------------------------------- the catalogue

class Catalogue:
    """JSON Schemas of every event, read from the suite's AsyncAPI document.

    Each message payload is validated with the whole document as the root schema, so the
    document's ``#/components/...`` references resolve as written."""

    def __init__(self, path):
        import jsonschema
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.endswith(".json"):
            document = json.loads(text)
        else:
            try:
                import yaml
            except ImportError:
                sys.exit("--schema: reading YAML needs PyYAML (pip install pyyaml), or pass the document as JSON")
            document = yaml.safe_load(text)
        self.messages = {}        # (exchange, routing key) -> message name
        for channel in document.get("channels", {}).values():
            exchange = channel["bindings"]["amqp"]["exchange"]["name"]
            for ref in channel["messages"].values():
                self.messages[(exchange, channel["address"])] = ref["$ref"].rsplit("/", 1)[-1]
        self.validators = {}
        for name in set(self.messages.values()):
            root = dict(document)
            root["$ref"] = f"#/components/messages/{name}/payload"
            self.validators[name] = jsonschema.Draft202012Validator(
                root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

    def knows(self, exchange, routing_key):
        return (exchange, routing_key) in self.messages

    def errors(self, exchange, routing_key, body):
        validator = self.validators[self.messages[(exchange, routing_key)]]
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))]


# ----------------------------------------------------------------------------- declarations

def parse_binding(text):
    exchange, sep, routing_key = text.partition(":")
    if not sep or not exchange or not routing_key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected EXCHANGE:ROUTING_KEY, e.g. voting.events:result_decided")
    return exchange, routing_key


def declare(channel, queue, bindings, delivery_limit):
    """The queue, its own dead-letter exchange and queue, and the bindings (idempotent)."""
    dlx, dlq = f"{queue}.dlx", f"{queue}.dlq"
    channel.exchange_declare(dlx, exchange_type="fanout", durable=True, auto_delete=False)
    channel.queue_declare(dlq, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(dlq, dlx)
    channel.queue_declare(queue, durable=True, arguments={
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": dlx,
    })
    for exchange, routing_key in bindings:
        # the suite's own declaration: topic, durable (the same arguments, so this never conflicts)
        channel.exchange_declare(exchange, exchange_type="topic", durable=True, auto_delete=False)
        channel.queue_bind(queue, exchange, routing_key=routing_key)


# ----------------------------------------------------------------------------- processing

def describe(envelope):
    """One readable line for an event (the application's real work would go here)."""
    data = envelope.get("data") or {}
    org = envelope.get("org_id")
    if envelope["event_type"] == "result_decided":
        return (f"result_decided org={org} decision={data.get('decision_id')} outcome={data.get('outcome')} "
                f"yes={data.get('yes')} no={data.get('no')} abstain={data.get('abstain')} "
                f"N={data.get('n')} present={data.get('present')} method={data.get('method')} "
                f"title={json.dumps(data.get('title'), ensure_ascii=False)}")
    ids = " ".join(f"{k}={v}" for k, v in sorted(data.items()) if k.endswith("_id") and isinstance(v, str))
    return f"{envelope['event_type']} org={org} {ids}".rstrip()


def say(line):
    print(line, flush=True)


def handle(channel, method, properties, body, *, seen, catalogue, versions):
    """Decide the fate of one delivery: ack, reject to the dead-letter queue, or requeue."""
    tag, exchange, routing_key = method.delivery_tag, method.exchange, method.routing_key
    try:
        envelope = json.loads(body)
        if not isinstance(envelope, dict) or not isinstance(envelope.get("event_id"), str):
            raise ValueError("not an event envelope")
    except ValueError as exc:
        say(f"rejected exchange={exchange} key={routing_key} reason={json.dumps(str(exc))} -> dead letter")
        channel.basic_reject(tag, requeue=False)
        return
    event_id = envelope["event_id"]
    if event_id in seen:
        say(f"duplicate event_id={event_id} type={envelope.get('event_type')} (already processed, acked)")
        channel.basic_ack(tag)
        return
    if envelope.get("schema_version") not in versions:
        say(f"skipped event_id={event_id} type={envelope.get('event_type')} "
            f"schema_version={envelope.get('schema_version')} (not understood here, acked)")
        channel.basic_ack(tag)
        return
    # a message sent straight to the queue (exchange "") names its source in the envelope itself
    source = exchange or f"{envelope.get('producer')}.events"
    event_type = envelope.get("event_type")
    if catalogue is not None:
        if not catalogue.knows(source, event_type):
            say(f"skipped event_id={event_id} type={event_type} (not in the catalogue, acked)")
            channel.basic_ack(tag)
            return
        errors = catalogue.errors(source, event_type, envelope)
        if errors:
            say(f"rejected event_id={event_id} type={event_type} invalid: {'; '.join(errors[:3])} -> dead letter")
            channel.basic_reject(tag, requeue=False)
            return
    try:
        say(describe(envelope))
    except Exception as exc:   # a bug or a transient fault: try again; the delivery limit stops a loop
        say(f"error event_id={event_id}: {exc!r} (requeued)")
        channel.basic_nack(tag, requeue=True)
        return
    seen.add(event_id, event_type)
    channel.basic_ack(tag)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", DEFAULT_URI),
                   help="broker URI with the vhost (default: $AMQP_URI or the local guest account)")
    p.add_argument("--queue", required=True, help="your own durable queue's name (one per application)")
    p.add_argument("--bind", action="append", type=parse_binding, required=True, metavar="EXCHANGE:ROUTING_KEY",
                   help="e.g. voting.events:result_decided or meetings.events:#; repeatable")
    p.add_argument("--schema", help="the suite's AsyncAPI document (YAML or JSON): validate every event against it")
    p.add_argument("--dedupe-db", default=":memory:",
                   help="SQLite file remembering processed event ids across restarts (default: in memory)")
    p.add_argument("--accept-version", type=int, action="append", dest="versions",
                   help="schema_version understood (repeatable; default 1)")
    p.add_argument("--delivery-limit", type=int, default=5, help="redeliveries before dead-lettering (default 5)")
    p.add_argument("--prefetch", type=int, default=1)
    p.add_argument("--max-messages", type=int, default=0, help="stop after N deliveries (0: never)")
    p.add_argument("--idle-timeout", type=float, default=0, help="stop after S seconds without a delivery (0: never)")
    args = p.parse_args(argv)

    catalogue = Catalogue(args.schema) if args.schema else None
    seen = SeenEvents(args.dedupe_db)
    versions = set(args.versions or [1])

    connection = pika.BlockingConnection(pika.URLParameters(args.amqp_uri))
    channel = connection.channel()
    declare(channel, args.queue, args.bind, args.delivery_limit)
    channel.basic_qos(prefetch_count=args.prefetch)
    say(f"ready queue={args.queue} bindings={','.join(f'{e}:{k}' for e, k in args.bind)}")

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    handled, last = 0, time.monotonic()
    try:
        for method, properties, body in channel.consume(args.queue, inactivity_timeout=0.5):
            if stopping:
                break
            if method is None:
                if args.idle_timeout and time.monotonic() - last >= args.idle_timeout:
                    say(f"idle for {args.idle_timeout:g}s, stopping after {handled} message(s)")
                    break
                continue
            handle(channel, method, properties, body, seen=seen, catalogue=catalogue, versions=versions)
            handled += 1
            last = time.monotonic()
            if args.max_messages and handled >= args.max_messages:
                say(f"stopping after {handled} message(s)")
                break
    except KeyboardInterrupt:
        pass
    finally:
        # unacknowledged deliveries (prefetched, not handled) go back to the queue
        if channel.is_open:
            channel.cancel()
        if connection.is_open:
            connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
