"""From a ballot closed to its decision archived and linked, against the broker's floor.

Prepares ``--decisions`` open ballots with five yes votes each (not timed), binds
a queue of its own to ``archive.events``/``record_archived`` and
``accountability.events``/``responsibility_linked``, then closes the ballots one at
a time over HTTP and timestamps, for each, the arrival of both events (the two
consumers done, each having committed and relayed its own event).  Latency counts
from the moment the HTTP close returns; the next ballot is closed once both
events arrived (unloaded latency, not throughput).

In the same run: the raw AMQP round trip — publish a persistent message with
publisher confirms to a durable quorum queue and consume it back on another
connection — p50/p99, the floor under any event hop.

    python -m bench.decision_latency [--decisions 500]
"""
import argparse
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kombu import Connection, Exchange, Queue  # noqa: E402

from bench.common import (VOTERS, Environment, Http, Org, cast_votes, expect, fmt_ms,  # noqa: E402
                          percentile, prepare_ballots)

TARGET_P99 = 0.100


class EventTap:
    """A queue bound to the two 'done' events; a thread timestamps each arrival by decision id."""

    EVENTS = (("archive.events", "record_archived"), ("accountability.events", "responsibility_linked"))

    def __init__(self, amqp_uri):
        self.uri = amqp_uri
        self.name = f"bench-tap-{uuid.uuid4().hex[:8]}"
        self.arrived = {}            # (event_type, decision_id) -> monotonic seconds
        self.cond = threading.Condition()
        self.stopping = False
        with Connection(amqp_uri) as conn:
            ch = conn.channel()
            Queue(self.name, durable=False, auto_delete=False, exclusive=False)(ch).declare()
            for exchange, key in self.EVENTS:
                Exchange(exchange, type="topic", durable=True)(ch).declare()
                ch.queue_bind(self.name, exchange, routing_key=key)
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _on(self, body, message):
        now = time.monotonic()
        kind = message.delivery_info["routing_key"]
        data = body.get("data", {})
        key = data.get("subject_id") if kind == "record_archived" else data.get("decision_id")
        with self.cond:
            self.arrived.setdefault((kind, key), now)
            self.cond.notify_all()
        message.ack()

    def _run(self):
        with Connection(self.uri) as conn:
            with conn.Consumer(Queue(self.name, no_declare=True), callbacks=[self._on], accept=["json"]):
                self.ready.set()
                while not self.stopping:
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass

    def wait_for(self, decision_id, timeout=15):
        keys = [("record_archived", decision_id), ("responsibility_linked", decision_id)]
        deadline = time.monotonic() + timeout
        with self.cond:
            while not all(k in self.arrived for k in keys):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return [self.arrived[k] for k in keys]

    def close(self):
        self.stopping = True
        self.thread.join(5)
        with Connection(self.uri) as conn:
            conn.channel().queue_delete(self.name)


def amqp_round_trip(amqp_uri, count=500):
    """Publish (persistent, confirmed) to a quorum queue and consume back; seconds per round trip."""
    name = f"bench-rtt-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, durable=True, auto_delete=False, queue_arguments={"x-queue-type": "quorum"})
    got = {}
    cond = threading.Condition()
    ready, stop = threading.Event(), threading.Event()

    def consume():
        with Connection(amqp_uri) as conn:
            def on(body, message):
                with cond:
                    got[body["i"]] = time.perf_counter()
                    cond.notify_all()
                message.ack()
            with conn.Consumer(queue, callbacks=[on], accept=["json"]):
                ready.set()
                while not stop.is_set():
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass
    t = threading.Thread(target=consume, daemon=True)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as pconn:
        queue(pconn.channel()).declare()
        t.start()
        ready.wait(10)
        producer = pconn.Producer(serializer="json")
        rtts = []
        for i in range(count + 20):           # the first 20 warm up
            t0 = time.perf_counter()
            producer.publish({"i": i, "pad": "x" * 600}, routing_key=name, delivery_mode=2)
            with cond:
                while i not in got:
                    if not cond.wait(10):
                        raise RuntimeError("AMQP round trip: message not consumed within 10 s")
            if i >= 20:
                rtts.append(got[i] - t0)
        stop.set()
        t.join(5)
        pconn.channel().queue_delete(name)
    return rtts


def prepare(port, org, decisions, workers=8, log=print):
    t0 = time.perf_counter()
    per_meeting = 10
    ballots = prepare_ballots(port, org, (decisions + per_meeting - 1) // per_meeting, per_meeting, workers,
                              title="决策")[:decisions]
    cast_votes(port, org, ballots, VOTERS[:5], workers)
    log(f"prepared {len(ballots)} ballots with five yes votes each in {time.perf_counter() - t0:.1f} s")
    return ballots


def measure(env, org, decisions=500, log=print, label=""):
    ballots = prepare(env.port, org, decisions, log=log)
    tap = EventTap(env.amqp_uri)
    sec = org.tokens["secretary"]
    client = Http(env.port, sec)
    both, archived, linked, close_http, missing = [], [], [], [], 0
    try:
        for _, ballot in ballots:
            t0 = time.monotonic()
            decision = expect(client.post(f"/api/v1/ballots/{ballot}/close"), 200)
            t1 = time.monotonic()
            arrivals = tap.wait_for(decision["decision_id"])
            if arrivals is None:
                missing += 1
                continue
            a, l_ = arrivals
            close_http.append(t1 - t0)
            archived.append(max(0.0, a - t1))
            linked.append(max(0.0, l_ - t1))
            both.append(max(0.0, max(a, l_) - t1))
    finally:
        client.close()
        tap.close()
    rtt = amqp_round_trip(env.amqp_uri, count=decisions)
    out = {"decisions": len(both), "missing": missing,
           "both": (percentile(both, 50), percentile(both, 99)),
           "archived": (percentile(archived, 50), percentile(archived, 99)),
           "linked": (percentile(linked, 50), percentile(linked, 99)),
           "close_http": (percentile(close_http, 50), percentile(close_http, 99)),
           "amqp_rtt": (percentile(rtt, 50), percentile(rtt, 99))}
    out["ratio_p50"] = out["both"][0] / out["amqp_rtt"][0]
    out["ratio_p99"] = out["both"][1] / out["amqp_rtt"][1]
    return out


def print_latency(out, title="decision latency"):
    print(f"\n{title} over {out['decisions']} decisions ({out['missing']} not seen within 15 s):")
    rows = [("HTTP close (request to answer)", "close_http"), ("closed -> archived", "archived"),
            ("closed -> linked", "linked"), ("closed -> archived and linked", "both"),
            ("AMQP round trip (persistent, confirmed, quorum)", "amqp_rtt")]
    for text, key in rows:
        p50, p99 = out[key]
        print(f"  {text:50s} p50 {fmt_ms(p50):>7s} ms   p99 {fmt_ms(p99):>7s} ms")
    print(f"  archived and linked / AMQP round trip: p50 x{out['ratio_p50']:.1f}, p99 x{out['ratio_p99']:.1f}")
    print(f"target p99 < 100 ms: {'met' if out['both'][1] < TARGET_P99 else 'NOT met'} ({fmt_ms(out['both'][1])} ms)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=500)
    args = parser.parse_args(argv)
    with Environment(baseline=False) as env:
        org = Org.demo(env.port)
        out = measure(env, org, args.decisions)
        print_latency(out)
    return out


if __name__ == "__main__":
    main()
