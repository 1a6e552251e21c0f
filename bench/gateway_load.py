"""Gateway throughput and latency against the framework's own ceiling.

Starts, in one run, the suite (every service its own process, own vhost, SQLite
in a temporary folder, demo seed) and a bare baseline (bench/baseline_services.py:
a nameko ``@http`` route calling an echo service by RPC, own vhost), then drives
each with ``--clients`` concurrent keep-alive clients, in ``--rounds`` interleaved
rounds so that the broker's and the machine's noise hits every kind alike:

- bare     GET /echo on the baseline (one RPC hop, nothing else);
- read     GET /api/v1/meetings/{id}: a meeting with its agenda (5 topics) and
           attendance, logged in as the secretary;
- vote     POST /api/v1/ballots/{id}/votes on prepared open ballots (seven voters per
           ballot; each vote is a ballot-state write, an inbox/outbox row, one RPC);
- topic    POST /api/v1/meetings/{id}/topics on draft meetings (a cheap write that
           never runs out).

Prints req/s (median of the rounds), p50/p99 latency (all requests pooled), the
suite/bare ratios, and each process's resident memory after start and after the load.

    python -m bench.gateway_load [--clients 20] [--duration 15] [--rounds 3]
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (VOTERS, Environment, Http, Org, closed_loop, expect, fmt_ms,  # noqa: E402
                          median, prepare_ballots, run_parallel, when)

READ_TARGET_P99 = 0.050
THROUGHPUT_TARGET = 0.5


class Workload:
    """What the load needs prepared: a meeting to read, open ballots to vote on, draft meetings."""

    def __init__(self, port, org, ballots=300, clients=20, log=print):
        self.port, self.org = port, org
        t0 = time.perf_counter()
        topics_per_meeting = 10
        made = prepare_ballots(port, org, max(1, ballots // topics_per_meeting), topics_per_meeting, title="表决")
        self.read_meeting = made[0][0]
        self.votes = [(b, u) for _, b in made for u in VOTERS]      # ballot-major: a ballot's votes close together
        self.vote_cursor = 0
        sec = org.tokens["secretary"]
        self.drafts = run_parallel(port, range(clients), lambda c, k: expect(c.post(
            "/api/v1/meetings", {"kind": "emergency", "emergency_reason": "突发险情", "title": f"草稿 {k}", "scheduled_at": when(600)},
            token=sec), 201)["meeting_id"])
        self.topic_counter = 0
        log(f"prepared {len(made)} open ballots ({len(self.votes)} votes), {clients} draft meetings "
            f"in {time.perf_counter() - t0:.1f} s")

    def read(self, i):
        return "GET", f"/api/v1/meetings/{self.read_meeting}", None, self.org.tokens["secretary"], (200,)

    def vote(self, i):
        k = self.vote_cursor
        if k >= len(self.votes):
            return None
        self.vote_cursor += 1                 # called under the load generator's lock
        ballot, user = self.votes[k]
        return "POST", f"/api/v1/ballots/{ballot}/votes", {"choice": "yes"}, self.org.tokens[user], (200, 201)

    def topic(self, i):
        self.topic_counter += 1
        meeting = self.drafts[self.topic_counter % len(self.drafts)]
        return ("POST", f"/api/v1/meetings/{meeting}/topics",
                {"title": f"议题 {self.topic_counter}", "category": "work_plan"}, self.org.tokens["secretary"], (201,))


def paced(name, port, make_request, rate, duration, clients=20):
    """Open loop: requests scheduled at a fixed total ``rate`` (req/s) over ``clients``
    threads; latency counts from the scheduled send time, so queueing is not hidden."""
    import threading
    from bench.common import LoadResult
    latencies, errors = [], []
    lock = threading.Lock()
    start = time.perf_counter() + 0.1
    total = int(rate * duration)

    def work(k):
        client = Http(port)
        for i in range(k, total, clients):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            method, path, body, token, ok = make_request(i)
            try:
                status, _ = client.request(method, path, body=body, token=token)
            except Exception as exc:
                status = repr(exc)
            done = time.perf_counter()
            with lock:
                (latencies.append(done - due) if status in ok else errors.append(status))
        client.close()
    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 60)
    return LoadResult(name, latencies, errors, time.perf_counter() - start)


def bare(i):
    return "GET", "/echo", None, None, (200,)


def measure(env, org, clients=20, duration=15.0, rounds=3, ballots=700, paced_rate=50.0, log=print, label=""):
    """Interleaved rounds of bare / read / vote / topic; returns {kind: summary dict}."""
    work = Workload(env.port, org, ballots, clients, log)
    kinds = [("bare", env.bare_port, bare), ("read", env.port, work.read), ("vote", env.port, work.vote),
             ("topic", env.port, work.topic)]
    per_round = duration / rounds
    runs = {k: [] for k, _, _ in kinds}
    # CPU time each process spends per request of a kind (asynchronous consumers that are still
    # busy when a round ends are counted in the next round: an approximation, same for every kind)
    from bench.common import cpu_seconds
    pids = env.pids()
    cpu = {k: {name: 0.0 for name in pids} for k, _, _ in kinds}

    def snapshot():
        return {name: cpu_seconds(pid) for name, pid in pids.items()}
    # warm-up: a second of each (imports, connection pools, JIT-free but lazy paths)
    for kind, port, fn in kinds:
        if kind != "vote":
            closed_loop(kind, port, fn, clients=clients, duration=1.0)
    for r in range(rounds):
        for kind, port, fn in kinds:
            before = snapshot()
            res = closed_loop(kind, port, fn, clients=clients, duration=per_round)
            after = snapshot()
            for name in pids:
                cpu[kind][name] += after[name] - before[name]
            runs[kind].append(res)
            log(f"  {label}round {r + 1} {kind:5s}: {res.rate:7.1f} req/s  p50 {fmt_ms(res.p(50))} ms  "
                f"p99 {fmt_ms(res.p(99))} ms  errors {len(res.errors)}" + ("  (ballots used up)" if res.exhausted else ""))
            if res.errors:
                log(f"    first error: {res.errors[0]}")
    # latency at a fixed, moderate rate (open loop): the read target is a latency target,
    # and a saturating closed loop only measures queueing (latency = clients / throughput)
    for kind, port, fn in kinds[:2]:
        res = paced(kind, port, fn, paced_rate, min(duration, 10.0), clients)
        runs[f"{kind}@{paced_rate:g}/s"] = [res]
        log(f"  {label}paced {kind:5s} at {paced_rate:g} req/s: p50 {fmt_ms(res.p(50))} ms  p99 {fmt_ms(res.p(99))} ms  "
            f"errors {len(res.errors)}")
    out = {}
    for kind, results in runs.items():
        lat = [x for res in results for x in res.latencies]
        from bench.common import percentile
        out[kind] = {"rate": median([res.rate for res in results]), "p50": percentile(lat, 50),
                     "p99": percentile(lat, 99), "count": len(lat), "errors": sum(len(res.errors) for res in results),
                     "exhausted": any(res.exhausted for res in results)}
    for kind, _, _ in kinds:
        n = sum(len(res.latencies) + len(res.errors) for res in runs[kind])
        out[kind]["cpu_ms"] = {name: 1000 * used / n for name, used in cpu[kind].items()} if n else {}
    for kind in ("read", "vote", "topic"):
        out[kind]["ratio_rate"] = out[kind]["rate"] / out["bare"]["rate"]
        out[kind]["ratio_p99"] = out[kind]["p99"] / out["bare"]["p99"]
    pr, pb = out[f"read@{paced_rate:g}/s"], out[f"bare@{paced_rate:g}/s"]
    pr["ratio_p99"] = pr["p99"] / pb["p99"]
    pr["ratio_rate"] = 1.0
    pb["ratio_rate"], pb["ratio_p99"] = 1.0, 1.0
    out["paced_rate"] = paced_rate
    return out


def print_load(out, title="gateway load"):
    print(f"\n{title}: {'kind':6s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'n':>6s} {'err':>4s} "
          f"{'rate/bare':>9s} {'p99/bare':>9s}")
    for kind, s in out.items():
        if kind == "paced_rate":
            continue
        ratio = f"{s['ratio_rate']:9.2f} {s['ratio_p99']:9.2f}" if "ratio_rate" in s else f"{'1.00':>9s} {'1.00':>9s}"
        print(f"{'':{len(title) + 1}s} {kind:6s} {s['rate']:8.1f} {fmt_ms(s['p50']):>8s} {fmt_ms(s['p99']):>8s} "
              f"{s['count']:6d} {s['errors']:4d} {ratio}" + ("  ballots used up" if s.get("exhausted") else ""))
    names = list(out["bare"].get("cpu_ms", {}))
    if names:
        print(f"\nCPU ms per request: {'kind':6s} " + " ".join(f"{n.replace('bare_', ''):>14s}" for n in names))
        for kind in ("bare", "read", "vote", "topic"):
            print(f"{'':19s} {kind:6s} " + " ".join(f"{out[kind]['cpu_ms'][n]:14.2f}" for n in names))
    paced_read = out[f"read@{out['paced_rate']:g}/s"]
    print(f"target read p99 < 50 ms at {out['paced_rate']:g} req/s: "
          f"{'met' if paced_read['p99'] < READ_TARGET_P99 else 'NOT met'} ({fmt_ms(paced_read['p99'])} ms); "
          f"saturated (closed loop, {out['read']['rate']:.0f} req/s): {fmt_ms(out['read']['p99'])} ms")
    for kind in ("read", "vote", "topic"):
        s = out[kind]
        print(f"target {kind} throughput >= half the bare ceiling: "
              f"{'met' if s['ratio_rate'] >= THROUGHPUT_TARGET else 'NOT met'} ({s['ratio_rate']:.2f})")


def print_footprint(env, before, after):
    peak = env.memory("VmHWM")
    print(f"\nprocesses: {'name':15s} {'ready s':>8s} {'health s':>9s} {'RSS MB start':>13s} {'RSS MB after load':>18s} "
          f"{'peak RSS MB':>12s}")
    for name, pid in env.pids().items():
        key = name.replace("bare_", "")
        t = env.timing.get(key, {})
        print(f"           {name:15s} {t.get('ready_s', float('nan')):8.2f} {t.get('health_s', float('nan')):9.2f} "
              f"{before.get(name, float('nan')):13.1f} {after.get(name, float('nan')):18.1f} "
              f"{peak.get(name, float('nan')):12.1f}")
    print("  (all processes started at once on this machine; health: its health RPC, for the gateway "
          "an answer of GET /openapi.json)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load per kind (split in rounds)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ballots", type=int, default=700, help="open ballots prepared for the vote load")
    parser.add_argument("--paced-rate", type=float, default=50.0, help="req/s of the open-loop latency runs")
    parser.add_argument("--login-burst-only", action="store_true", help="only the burst of simultaneous log-ins")
    args = parser.parse_args(argv)
    if args.login_burst_only:
        with Environment(baseline=False) as env:
            Org.demo(env.port)                  # waits for the demo seed
            burst = login_burst(env)
            print_login_burst(burst)
        return burst
    with Environment(baseline=True) as env:
        before = env.memory()
        org = Org.demo(env.port)
        out = measure(env, org, args.clients, args.duration, args.rounds, args.ballots, args.paced_rate)
        after = env.memory()
        print_load(out)
        print_footprint(env, before, after)
        print_login_burst(login_burst(env))
    return out



def login_burst(env, clients=20, rounds=2):
    """``clients`` log-ins at once (argon2 in the gateway's thread pool), ``rounds`` times:
    login p50/p99 and the gateway's peak RSS during the burst (peak counter reset first)."""
    from bench.common import DEMO_PASSWORD, GROUP, rss_mb
    pid = env.suite.procs["gateway"].pid
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")                        # resets VmHWM to the current RSS
    except OSError:
        pass
    before = rss_mb(pid)
    users = [GROUP[i % len(GROUP)] for i in range(clients * rounds)]

    def one(i):
        return "POST", "/api/v1/auth/login", {"username": users[i], "password": DEMO_PASSWORD}, None, (200,)
    res = closed_loop("login", env.port, lambda i: one(i) if i < len(users) else None, clients=clients,
                      duration=120, max_requests=len(users))
    return {"count": res.count, "errors": len(res.errors), "p50": res.p(50), "p99": res.p(99),
            "rss_before": before, "peak": rss_mb(pid, "VmHWM"), "rss_after": rss_mb(pid)}


def print_login_burst(b):
    print(f"\nlog-in burst ({b['count']} log-ins, 20 at once): p50 {fmt_ms(b['p50'])} ms  p99 {fmt_ms(b['p99'])} ms; "
          f"gateway RSS {b['rss_before']:.1f} MB before, peak {b['peak']:.1f} MB, {b['rss_after']:.1f} MB after")
    print(f"target < 120 MB RSS during log-ins: {'met' if b['peak'] < 120 else 'NOT met'} ({b['peak']:.1f} MB)")


if __name__ == "__main__":
    main()
