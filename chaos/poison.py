"""Stage 5: poison messages and dead-letter replay.

a) A real event that its handler cannot process (the archive's ``records`` table is
   hidden for a moment, so the handler fails on every delivery) is redelivered up to the
   queue's delivery limit, then dead-lettered; the table is given back (the fix) and the
   documented replay command of docs/operations.md moves the dead letters back: each
   decision is archived exactly once.
b) Malformed payloads are sent straight to every handler queue: they end in that
   handler's own dead-letter queue; the consumers keep working (a decision made after
   them is archived and linked, every handler queue still has its consumer).
"""
import json
import os
import subprocess
import sys
import time

from kombu import Connection

from chaos import load
from shared.envelope import make_envelope
from shared.topology import DELIVERY_LIMIT, SUBSCRIPTIONS, dead_letter_queue_name, queue_name
from tests.integration.test_deploy_definitions import documented_replay_script

ARCHIVE_QUEUE = queue_name("voting", "result_decided", "archive", "on_result_decided")


def malformed(source, event_type, org_id):
    """(body, content type) of payloads no handler may act on."""
    return [
        (b"{not json", "application/json"),
        (json.dumps({"data": {"value": "x"}}), "application/json"),          # not an envelope
        (json.dumps(make_envelope(source, "no_such_event", org_id, {})), "application/json"),  # wrong type
        (json.dumps(make_envelope(source, event_type, org_id, {"nonsense": True})), "application/json"),
        (b"\x00\x01\x02 binary", "application/octet-stream"),
    ]


def dlq_counts(env):
    """Messages in each handler's dead-letter queue, exact (a passive declare; nobody consumes them)."""
    with Connection(env.amqp_uri) as conn:
        channel = conn.channel()
        return {q: channel.queue_declare(dead_letter_queue_name(q), passive=True).message_count
                for q in (queue_name(*s) for s in SUBSCRIPTIONS)}


def wait_counts(env, expected, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        counts = dlq_counts(env)
        if all(counts[q] >= n for q, n in expected.items()) or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def archived(env, ids):
    return env.scalar("archive", "SELECT count(*) FROM records WHERE subject_id = ANY(:ids)", ids=ids)


def linked(env, ids):
    return env.scalar("accountability", "SELECT count(DISTINCT decision_id) FROM responsibility_links "
                                        "WHERE decision_id = ANY(:ids)", ids=ids)


def run(env, org, log=print, failing=3):
    sec = org.tokens["secretary"]
    ballots = load.prepare(env, org, failing + 2, log, title="毒消息")
    env.wait_quiet()
    out = {}

    # a) delivery limit, fix, documented replay
    before = dlq_counts(env)
    with env.engine("archive").begin() as conn:
        conn.exec_driver_sql("ALTER TABLE records RENAME TO records_hidden_by_chaos")
    try:
        t0 = time.monotonic()
        ids = load.close_all(env, sec, ballots[:failing], "poison")
        counts = wait_counts(env, {ARCHIVE_QUEUE: before[ARCHIVE_QUEUE] + failing})
        limit_dead = counts[ARCHIVE_QUEUE] - before[ARCHIVE_QUEUE]
        log(f"  {limit_dead}/{failing} decisions dead-lettered by the archive after the delivery limit "
            f"({DELIVERY_LIMIT}) in {time.monotonic() - t0:.0f} s")
    finally:
        with env.engine("archive").begin() as conn:
            conn.exec_driver_sql("ALTER TABLE records_hidden_by_chaos RENAME TO records")
    reasons = dead_letter_reasons(env, ARCHIVE_QUEUE)
    replay = subprocess.run([sys.executable, "-", ARCHIVE_QUEUE], input=documented_replay_script(),
                            env=dict(os.environ, AMQP_URI=env.amqp_uri), capture_output=True, text=True, timeout=120)
    log(f"  documented replay: {replay.stdout.strip() or replay.stderr.strip()[-300:]}")
    env.wait_quiet()
    out.update(limit_sent=failing, limit_dead_lettered=limit_dead, reasons=reasons,
               replayed_archived=min(archived(env, ids), linked(env, ids)))
    log(f"  after the fix and the replay: {archived(env, ids)} of {failing} archived, {linked(env, ids)} linked; "
        f"dead-letter reasons {reasons}")

    # b) malformed payloads straight to every handler queue
    before = dlq_counts(env)
    sent = {}
    with Connection(env.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for source, event_type, service, method in SUBSCRIPTIONS:
            queue = queue_name(source, event_type, service, method)
            for body, content_type in malformed(source, event_type, org.org_id):
                producer.publish(body, exchange="", routing_key=queue, content_type=content_type,
                                 content_encoding="binary" if isinstance(body, bytes) else "utf-8",
                                 delivery_mode=2)
                sent[queue] = sent.get(queue, 0) + 1
    counts = wait_counts(env, {q: before[q] + n for q, n in sent.items()})
    dead = {q: counts[q] - before[q] for q in sent}
    short = {q: (dead[q], n) for q, n in sent.items() if dead[q] < n}
    log(f"  {sum(sent.values())} malformed messages to {len(sent)} handler queues: "
        f"{sum(min(dead[q], n) for q, n in sent.items())} in their own dead-letter queue"
        + (f"; missing {short}" if short else ""))

    # the consumers keep working
    ids = load.close_all(env, sec, ballots[failing:], "poison")
    env.wait_quiet()
    consumers = env.handler_consumers()
    without = [q for q, c in consumers.items() if c < 1]
    not_done = len(ids) - min(archived(env, ids), linked(env, ids))
    log(f"  after the poison: {len(ids) - not_done}/{len(ids)} new decisions archived and linked; "
        f"handler queues without a consumer: {without or 'none'}")
    out.update(queues=len(sent), sent=sum(sent.values()), dead_lettered=sum(min(dead[q], n) for q, n in sent.items()),
               broken_handlers=len(without) + not_done, decision_ids=ids)
    return out


def dead_letter_reasons(env, queue):
    """Why the messages now in ``queue``'s dead-letter queue are there (x-death), read without removing them."""
    import urllib.parse
    vhost = urllib.parse.quote(env.broker.vhost, safe="")
    r = env.broker.api("POST", f"/api/queues/{vhost}/{urllib.parse.quote(dead_letter_queue_name(queue), safe='')}/get",
                       json={"count": 50, "ackmode": "ack_requeue_true", "encoding": "auto"})
    reasons = {}
    for message in r.json() if r.status_code == 200 else []:
        for death in (message.get("properties", {}).get("headers", {}) or {}).get("x-death", []):
            reasons[death.get("reason")] = reasons.get(death.get("reason"), 0) + 1
    return reasons
