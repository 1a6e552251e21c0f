"""Stage 3b: no command runs twice.  Concurrent meeting schedules (creates) and ballot
closes go through the gateway, each with an ``Idempotency-Key`` of its own, while meetings
and voting are SIGKILLed and started again at random moments.  A request that gets no
answer or a 5xx (the service was killed under it; the gateway timed out) is sent again
under the same key until it is answered, and every answered request is sent once more
(its answer "lost"): that repeat must be answered the first result.

Counted: meetings made per key (must be one), decisions per ballot (one), repeats answered
anything but the first result (zero), closes refused as already closed (zero: a close
that committed before a kill answers its decision).
"""
import datetime as dt
import random
import threading
import time
import uuid
from collections import deque

import requests

from chaos import load

SERVICES = ("meetings", "voting")


class KeyedLoad:
    def __init__(self, env, token, jobs, rng, log=print, workers=8, kills=3):
        self.env, self.token, self.rng, self.log, self.workers = env, token, rng, log, workers
        self.todo = deque(jobs)
        self.total = len(jobs)
        self.lock = threading.Lock()
        self.first = {}               # key -> (status, body): the first answer
        self.repeat_differs = []      # keys whose repeat was answered something else
        self.refused = []             # (key, status, body): a 4xx (a close as "already closed" included)
        self.resent = 0               # requests sent again under their key after no answer / a 5xx
        self.gave_up = []
        self.kills = 0
        self.kill_points = sorted(rng.uniform(0.05, 0.85) for _ in range(kills))
        self.events = []
        self.done = threading.Event()

    def _send(self, session, job):
        """Send until answered (not 5xx, not a dropped connection), under the job's key."""
        key, path, body = job
        deadline = time.monotonic() + 180
        while True:
            try:
                r = session.post(self.env_url + path, json=body, timeout=40,
                                 headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key})
                if r.status_code < 500:
                    return r.status_code, r.json()
            except (requests.RequestException, ValueError):
                pass
            with self.lock:
                self.resent += 1
            if time.monotonic() > deadline:
                return None, None
            time.sleep(0.5)

    def _worker(self):
        session = requests.Session()
        while True:
            with self.lock:
                if not self.todo:
                    break
                job = self.todo.popleft()
            status, body = self._send(session, job)
            key = job[0]
            if status is None:
                with self.lock:
                    self.gave_up.append(key)
                continue
            again = self._send(session, job)          # the answer was "lost": sent once more
            with self.lock:
                self.first[key] = (status, body)
                if status >= 400:
                    self.refused.append((key, status, body))
                if again != (status, body):
                    self.repeat_differs.append((key, (status, body), again))
        session.close()

    def _controller(self):
        for point in self.kill_points:
            while not self.done.is_set() and len(self.first) < point * self.total:
                time.sleep(0.02)
            if self.done.is_set():
                return
            names = self.rng.choice([("meetings",), ("voting",), SERVICES])
            for name in names:
                self.env.kill(name)
                self.kills += 1
            self.events.append(f"{len(self.first)}/{self.total}: SIGKILL {' + '.join(names)}")
            self.log(f"    {self.events[-1]}")
            time.sleep(self.rng.uniform(0.3, 2.0))
            for name in names:
                self.env.restart(name)

    def run(self):
        self.env_url = f"http://127.0.0.1:{self.env.port}"
        t0 = time.monotonic()
        controller = threading.Thread(target=self._controller, daemon=True)
        controller.start()
        threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.done.set()
        controller.join(60)
        self.elapsed = time.monotonic() - t0
        return self


def run(env, org, log=print, requests_total=200, seed=None, kills=3):
    rng = random.Random(seed)
    sec = org.tokens["secretary"]
    closes = requests_total // 2
    ballots = load.prepare(env, org, closes, log, title="幂等")
    env.wait_quiet()
    run_id = uuid.uuid4().hex[:8]
    title = f"幂等-{run_id}"
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()
    jobs = [(f"create-{run_id}-{i}", "/api/v1/meetings",
             {"kind": "emergency", "emergency_reason": "突发险情", "title": f"{title}-{i}", "scheduled_at": when})
            for i in range(requests_total - closes)]
    jobs += [(f"close-{run_id}-{b}", f"/api/v1/ballots/{b}/close", None) for b in ballots]
    rng.shuffle(jobs)
    result = KeyedLoad(env, sec, jobs, rng, log, workers=16, kills=kills).run()
    env.wait_healthy()
    env.wait_quiet()

    creates = [k for k in result.first if k.startswith("create-")]
    answered_ids = {result.first[k][1].get("meeting_id") for k in creates if result.first[k][0] == 201}
    made = env.scalar("meetings", "SELECT count(*) FROM meetings WHERE title LIKE :t", t=f"{title}-%")
    decisions = env.rows("voting", "SELECT ballot_id, count(*) FROM decisions WHERE ballot_id = ANY(:ids) "
                                   "GROUP BY ballot_id", ids=list(ballots))
    decision_ids = [body["decision_id"] for k, (status, body) in result.first.items()
                    if k.startswith("close-") and status == 200 and body.get("decision_id")]
    refused_closed = [r for r in result.refused if r[0].startswith("close-") and r[1] == 409]
    figures = {
        "requests": result.total, "creates": len(creates), "closes": len(ballots), "kills": result.kills,
        "resent": result.resent, "gave_up": len(result.gave_up),
        "meetings_made": made, "meetings_answered": len(answered_ids),
        "duplicate_meetings": made - len(answered_ids),
        "decisions": sum(n for _, n in decisions), "ballots_decided_twice": sum(1 for _, n in decisions if n > 1),
        "repeats_not_first": len(result.repeat_differs), "closes_refused_as_closed": len(refused_closed),
        "other_refusals": len(result.refused) - len(refused_closed), "decision_ids": decision_ids,
        "elapsed": result.elapsed,
    }
    log(f"  {result.total} keyed writes in {result.elapsed:.0f} s, {result.kills} SIGKILLs of meetings/voting, "
        f"{result.resent} sent again under their key; {made} meetings for {len(answered_ids)} answered creates, "
        f"{figures['decisions']} decisions for {len(ballots)} ballots; {len(result.repeat_differs)} repeats "
        f"answered another result, {len(refused_closed)} closes refused as already closed")
    for key, first, again in result.repeat_differs[:5]:
        log(f"    repeat of {key}: first {first!r}, then {again!r}")
    for key, status, body in result.refused[:5]:
        log(f"    refused {key}: {status} {body!r}")
    return figures


def main(argv=None):
    """This stage alone: ``python -m chaos.idempotency [--requests 200] [--kills 4] [--seed N]``."""
    import argparse
    import sys

    from bench.common import Org
    from chaos.env import ChaosEnv
    from chaos.figures import Figures
    from chaos.run import log

    parser = argparse.ArgumentParser(description="no command runs twice (chaos stage 3b alone)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    figs = Figures()
    started = time.monotonic()
    with ChaosEnv(log=log) as env:
        figs.idempotency(run(env, Org.demo(env.port), log, requests_total=args.requests, seed=args.seed,
                             kills=args.kills))
    figs.elapsed = time.monotonic() - started
    print("\n" + figs.table())
    failed = figs.failures()
    if failed:
        print("\nFAILED: " + "; ".join(failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
