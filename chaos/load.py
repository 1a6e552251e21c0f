"""Stages 1 and 2: decisions made through the gateway while consumers are SIGKILLed and
the broker is restarted (stop_app / start_app) at random moments.

Ballots are prepared first (emergency meetings of ten topics, seven present, five yes
votes each; bench.common).  Then ``workers`` threads close them over HTTP while a
controller fires the chaos plan at random points of the progress.  A close that fails
(broker down: the gateway cannot reach voting) is retried later; a retry that finds the
ballot already closed (its first attempt committed but the answer was lost) is settled
too and its decision is found later in the decision list.  Nothing is counted decided
that the API did not answer with a decision.
"""
import random
import threading
import time
from collections import deque

from bench.common import VOTERS, Http, cast_votes, prepare_ballots

CONSUMERS = ("archive", "accountability")


def prepare(env, org, decisions, log=print, title="混沌"):
    t0 = time.monotonic()
    per_meeting = 10
    ballots = prepare_ballots(env.port, org, (decisions + per_meeting - 1) // per_meeting, per_meeting,
                              workers=6, title=title)[:decisions]
    cast_votes(env.port, org, ballots, VOTERS[:5], workers=6)
    log(f"prepared {len(ballots)} open ballots with five yes votes each in {time.monotonic() - t0:.0f} s")
    return [b for _, b in ballots]


def close_all(env, token, ballots, stage):
    """Close ``ballots`` one after the other over HTTP (no chaos meanwhile): their decision ids."""
    client = Http(env.port, token)
    ids = []
    try:
        for ballot in ballots:
            status, body = client.post(f"/api/v1/ballots/{ballot}/close")
            if status != 200:
                raise RuntimeError(f"close during the {stage} stage: {status} {body!r}")
            ids.append(body["decision_id"])
    finally:
        client.close()
    return ids


def plan(kills, broker_restarts, rng):
    """The chaos plan: (fraction of the closes done, action), in order.  Consumer kills hit
    archive, accountability, or both at once; broker restarts fall among them."""
    actions = [("kill", rng.choice([("archive",), ("accountability",), CONSUMERS])) for _ in range(kills)]
    actions += [("broker", None)] * broker_restarts
    rng.shuffle(actions)
    points = sorted(rng.uniform(0.04, 0.92) for _ in actions)
    return list(zip(points, actions))


class ChaosLoad:
    def __init__(self, env, token, ballots, rng, log=print, workers=6, seconds=120.0):
        self.env, self.token, self.rng, self.log, self.workers = env, token, rng, log, workers
        self.interval = seconds / max(1, len(ballots))      # paced: the chaos falls inside the load
        self.next_slot = None
        self.todo = deque(ballots)
        self.total = len(ballots)
        self.lock = threading.Lock()
        self.settled = 0
        self.reported = {}            # ballot_id -> decision_id the API answered with (HTTP 200)
        self.conflicted = []          # ballots found already closed on a retry
        self.failed_attempts = 0      # closes refused while the broker or voting was away
        self.statuses = {}
        self.kills = 0
        self.broker_restarts = 0
        self.consumer_restarts = 0
        self.reconnect_seconds = []
        self.not_reconnected = 0
        self.events = []
        self.done = threading.Event()

    # ------------------------------------------------------------------ closing
    def _close_worker(self):
        client = Http(self.env.port, self.token, timeout=30)
        while True:
            with self.lock:
                if not self.todo:
                    break
                ballot = self.todo.popleft()
                now = time.monotonic()
                self.next_slot = max(now, (self.next_slot or now)) + self.interval
                wait = self.next_slot - self.interval - now
            if wait > 0:
                time.sleep(wait)
            try:
                status, body = client.post(f"/api/v1/ballots/{ballot}/close")
            except Exception as exc:
                status, body = None, repr(exc)
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 200 and isinstance(body, dict) and body.get("decision_id"):
                    self.reported[ballot] = body["decision_id"]
                    self.settled += 1
                elif status == 409:
                    self.conflicted.append(ballot)
                    self.settled += 1
                else:
                    self.failed_attempts += 1
                    self.todo.append(ballot)
            if status not in (200, 409):
                time.sleep(0.5)
        client.close()

    # ------------------------------------------------------------------ chaos
    def _kill(self, names):
        for name in names:
            self.env.kill(name)
            self.kills += 1
        self.events.append(f"{self.settled}/{self.total}: SIGKILL {' + '.join(names)}")
        time.sleep(self.rng.uniform(0.3, 2.5))
        for name in names:
            self.env.restart(name)
            self.consumer_restarts += 1

    def _broker_restart(self):
        t0 = time.monotonic()
        self.env.broker.stop_app()
        down = self.rng.uniform(2.0, 5.0)
        self.events.append(f"{self.settled}/{self.total}: broker stop_app for {down:.1f} s, start_app")
        time.sleep(down)
        self.env.broker.start_app()
        self.broker_restarts += 1
        up = time.monotonic()
        # the services come back by themselves: the gateway answers health (an RPC to each
        # service) and every handler queue has its consumer again
        deadline = up + 120
        while time.monotonic() < deadline:
            try:
                healthy = self.env.wait_healthy(timeout=5)
                consumers = self.env.handler_consumers()
                if healthy and consumers and all(c >= 1 for c in consumers.values()):
                    self.reconnect_seconds.append(time.monotonic() - up)
                    self.log(f"    broker back after {up - t0:.1f} s; services reconnected "
                             f"{time.monotonic() - up:.1f} s later")
                    return
            except Exception:
                pass
            time.sleep(0.5)
        self.not_reconnected += 1
        self.log(f"    services NOT reconnected within 120 s of start_app: {self.env.handler_consumers()}")

    def _controller(self, steps):
        for fraction, (kind, arg) in steps:
            while not self.done.is_set() and self.settled < fraction * self.total:
                time.sleep(0.05)
            if self.done.is_set():
                break
            if kind == "kill":
                self._kill(arg)
            else:
                self._broker_restart()
            self.log(f"    {self.events[-1]}")

    def run(self, steps):
        t0 = time.monotonic()
        controller = threading.Thread(target=self._controller, args=(steps,), daemon=True)
        controller.start()
        threads = [threading.Thread(target=self._close_worker, daemon=True) for _ in range(self.workers)]
        for t in threads:
            t.start()
        progress_at = time.monotonic()
        while any(t.is_alive() for t in threads):
            time.sleep(0.5)
            if time.monotonic() - progress_at > 15:
                progress_at = time.monotonic()
                self.log(f"    closed {self.settled}/{self.total} ({time.monotonic() - t0:.0f} s)")
        controller.join(300)     # a restart the controller began finishes before we go on
        self.done.set()
        self.elapsed = time.monotonic() - t0
        self.log(f"closed {self.total} ballots in {self.elapsed:.0f} s: {len(self.reported)} answered with a "
                 f"decision, {len(self.conflicted)} found closed on a retry, {self.failed_attempts} attempts refused "
                 f"during outages; {self.kills} SIGKILLs, {self.broker_restarts} broker restarts")
        return self


def run(env, token, ballots, kills, broker_restarts, seed, log=print, seconds=120.0):
    rng = random.Random(seed)
    steps = plan(kills, broker_restarts, rng)
    log("chaos plan: " + ", ".join(f"{int(f * 100)}% {k}{'' if a is None else ' ' + '+'.join(a)}"
                                   for f, (k, a) in steps))
    return ChaosLoad(env, token, ballots, rng, log, seconds=seconds).run(steps)
