"""Every benchmark, one after another, then a summary (what ``make bench`` runs).

1. gateway load against the bare nameko ceiling   (bench/gateway_load.py)
2. decision latency against the AMQP round trip    (bench/decision_latency.py)
3. the lifetime query on PostgreSQL                (bench/accountability_lifetime.py)
4. archive chain verification rate                 (bench/archive_verify.py, when present)
5. each service's start-up time and memory         (bench/service_footprint.py, and RSS after 1)
6. how cost grows: 1 and 2 again after adding ``--grow-orgs`` organizations with
   ``--grow-decisions`` decisions each, in the same suite; 3 at small and (``--full``) full scale.
7. the decisions list on 2,000 decisions            (bench/decision_list.py --direct)

    python -m bench.run_all [--quick] [--full]

Only 127.0.0.1 is loaded; every load is bounded in time and count.
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import decision_latency, gateway_load, service_footprint  # noqa: E402
from bench.common import ROOT, Environment, Org, fmt_ms, grow, wait_drained  # noqa: E402

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def run_script(args, log=print):
    """Run another benchmark as its own process; echo and return its output."""
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", LOCAL_PG)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable] + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    text = proc.stdout + (proc.stderr if proc.returncode else "")
    for line in text.rstrip().splitlines():
        log("  | " + line)
    log(f"  ({' '.join(args[-3:])}: exit {proc.returncode}, {time.perf_counter() - t0:.0f} s)")
    return text


def grab(text, prefix):
    for line in text.splitlines():
        if line.strip().startswith(prefix):
            return line.strip()
    return "(not printed)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short loads, fewer decisions (a smoke run)")
    parser.add_argument("--full", action="store_true", help="the lifetime query at full scale too")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds the load duration is split in")
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--grow-orgs", type=int, default=10)
    parser.add_argument("--grow-decisions", type=int, default=50)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.decisions, args.grow_orgs, args.grow_decisions = 6.0, 100, 3, 20
    started = time.perf_counter()

    print("== 5. start-up and memory, each service alone")
    footprint = service_footprint.measure(repeat=1 if args.quick else 3)
    service_footprint.print_footprint(footprint)

    print("\n== 1, 2, 5, 6. the suite and the bare baseline, one run")
    with Environment(baseline=True) as env:
        rss_start = env.memory()
        org = Org.demo(env.port)
        print("-- demo organization only")
        load_small = gateway_load.measure(env, org, args.clients, args.duration, args.rounds, label="demo: ")
        rss_load = env.memory()
        gateway_load.print_load(load_small, "gateway load, demo org")
        gateway_load.print_footprint(env, rss_start, rss_load)
        peak_load = env.memory("VmHWM")
        burst = gateway_load.login_burst(env)
        gateway_load.print_login_burst(burst)
        lat_small = decision_latency.measure(env, org, args.decisions)
        decision_latency.print_latency(lat_small, "decision latency, demo org")

        print(f"\n-- growing: {args.grow_orgs} more organizations × {args.grow_decisions} decisions")
        grow(env.port, args.grow_orgs, args.grow_decisions, notifications_db=env.notifications_db)
        wait_drained(env.amqp_uri, env.broker)
        load_large = gateway_load.measure(env, org, args.clients, args.duration, args.rounds, label="grown: ")
        gateway_load.print_load(load_large, "gateway load, grown")
        lat_large = decision_latency.measure(env, org, args.decisions)
        decision_latency.print_latency(lat_large, "decision latency, grown")
        rss_end = env.memory()

    print("\n== 3. lifetime query (PostgreSQL)")
    lifetime = {"small": run_script(["-m", "bench.accountability_lifetime", "--scale", "small"])}
    if args.full:
        lifetime["full"] = run_script(["-m", "bench.accountability_lifetime", "--scale", "full"])

    print("\n== 4. archive verification")
    verify = None
    if (ROOT / "bench" / "archive_verify.py").exists():
        verify = run_script(["bench/archive_verify.py", "--records", "20000" if args.quick else "100000", "--runs", "3"])
    else:
        print("  (bench/archive_verify.py not present)")

    print("\n== 7. the decisions list on a grown organization (the service method, SQLite and PostgreSQL)")
    listing = run_script(["-m", "bench.decision_list", "--direct", "--decisions", "500" if args.quick else "2000"])

    # ------------------------------------------------------------------ summary
    print("\n================ summary (medians of this run; ratios within this run)")
    print(f"{'figure':58s} {'demo org':>12s} {'grown':>12s}")
    for kind in ("bare", "read", "vote", "topic"):
        print(f"{kind + ' req/s (median of rounds)':58s} {load_small[kind]['rate']:12.1f} {load_large[kind]['rate']:12.1f}")
        print(f"{kind + ' p50 / p99 ms':58s} {fmt_ms(load_small[kind]['p50']) + ' / ' + fmt_ms(load_small[kind]['p99']):>12s} "
              f"{fmt_ms(load_large[kind]['p50']) + ' / ' + fmt_ms(load_large[kind]['p99']):>12s}")
        if kind != "bare":
            print(f"{kind + ' throughput / bare':58s} {load_small[kind]['ratio_rate']:12.2f} "
                  f"{load_large[kind]['ratio_rate']:12.2f}")
    for kind in ("bare", "read"):
        key = f"{kind}@{load_small['paced_rate']:g}/s"
        print(f"{key + ' p50 / p99 ms (open loop)':58s} "
              f"{fmt_ms(load_small[key]['p50']) + ' / ' + fmt_ms(load_small[key]['p99']):>12s} "
              f"{fmt_ms(load_large[key]['p50']) + ' / ' + fmt_ms(load_large[key]['p99']):>12s}")
    for text, key in (("closed -> archived and linked p50 / p99 ms", "both"),
                      ("AMQP round trip p50 / p99 ms", "amqp_rtt"), ("HTTP close p50 / p99 ms", "close_http")):
        print(f"{text:58s} {fmt_ms(lat_small[key][0]) + ' / ' + fmt_ms(lat_small[key][1]):>12s} "
              f"{fmt_ms(lat_large[key][0]) + ' / ' + fmt_ms(lat_large[key][1]):>12s}")
    print(f"{'decision p50 / AMQP p50':58s} {lat_small['ratio_p50']:12.1f} {lat_large['ratio_p50']:12.1f}")
    for name in rss_start:
        print(f"{'RSS MB start / after load / end: ' + name:58s} "
              f"{rss_start[name]:6.1f} / {rss_load[name]:6.1f} / {rss_end[name]:6.1f}")
    for name in rss_start:
        print(f"{'peak RSS MB (VmHWM) to the end of load 1: ' + name:58s} {peak_load[name]:6.1f}")
    print(f"{'log-in burst p50 / p99 ms; gateway peak RSS MB':58s} {fmt_ms(burst['p50'])} / {fmt_ms(burst['p99'])}; "
          f"{burst['peak']:.1f}")
    for name, d in footprint.items():
        print(f"{'alone: ready s / health s / RSS MB: ' + name:58s} "
              f"{d['ready_s']:.2f} / {d['health_s']:.2f} / {d['rss_mb']:.1f}")
    for scale, text in lifetime.items():
        print(f"lifetime query, {scale}: {grab(text, 'p50')}")
    for backend in ("sqlite", "postgresql"):
        print(f"decisions list: {grab(text=listing, prefix=backend + ':')}")
    if verify:
        print(f"archive: {grab(text=verify, prefix='verify in memory, as read from the store')}")
        print(f"archive: {grab(text=verify, prefix='verify in memory, any values')}")
        print(f"archive: {grab(text=verify, prefix='verify from an SQLite file')}")

    print("\ntargets:")
    paced = load_small[f"read@{load_small['paced_rate']:g}/s"]
    checks = [
        ("read throughput >= 0.5 x bare", load_small["read"]["ratio_rate"] >= 0.5, f"{load_small['read']['ratio_rate']:.2f}"),
        ("vote throughput >= 0.5 x bare", load_small["vote"]["ratio_rate"] >= 0.5, f"{load_small['vote']['ratio_rate']:.2f}"),
        ("topic throughput >= 0.5 x bare", load_small["topic"]["ratio_rate"] >= 0.5, f"{load_small['topic']['ratio_rate']:.2f}"),
        (f"read p99 < 50 ms at {load_small['paced_rate']:g} req/s", paced["p99"] < 0.05, f"{fmt_ms(paced['p99'])} ms"),
        ("read p99 < 50 ms, 20 clients saturating", load_small["read"]["p99"] < 0.05,
         f"{fmt_ms(load_small['read']['p99'])} ms"),
        ("closed -> archived and linked p99 < 100 ms", lat_small["both"][1] < 0.1, f"{fmt_ms(lat_small['both'][1])} ms"),
        ("every service < 120 MB RSS after load", max(v for k, v in rss_end.items() if not k.startswith("bare")) < 120,
         f"{max(v for k, v in rss_end.items() if not k.startswith('bare')):.1f} MB"),
        ("gateway < 120 MB RSS during a burst of 20 log-ins", burst["peak"] < 120, f"{burst['peak']:.1f} MB"),
        ("every service < 3 s to ready (alone)", max(d["ready_s"] for d in footprint.values()) < 3,
         f"{max(d['ready_s'] for d in footprint.values()):.2f} s"),
    ]
    for text, ok, value in checks:
        print(f"  {'met    ' if ok else 'NOT met'}  {text}: {value}")
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
