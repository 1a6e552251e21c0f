"""Each service alone: time from process start to "<name> ready" in its log and to
answering its ``health`` RPC, and resident memory (VmRSS) once ready.

The services are started one after another, each on an otherwise idle suite vhost
with a fresh SQLite folder (migrations run on this first start), so the figures
are not the contention of six interpreters starting at once on a small machine
(bench/gateway_load.py reports that case too).  Then all six are started at once,
first on a fresh folder and again (a restart) on the same one.  ``--repeat`` starts
each that many times and prints medians.

    python -m bench.service_footprint [--repeat 3] [--together-only]
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, median, rss_mb, start_with_timing  # noqa: E402
from tests.support.infra import Broker  # noqa: E402
from tests.support.processes import SERVICES, suite_env  # noqa: E402

TARGET_RSS_MB = 120
TARGET_READY_S = 3.0


def start_service(name, env, logpath):
    """One service as its own process (and process group), its output appended to ``logpath``."""
    return subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env,
                            stdout=open(logpath, "ab"), stderr=subprocess.STDOUT, start_new_session=True)


def read_log(logpath):
    return logpath.read_text(errors="replace") if logpath.exists() else ""


def terminate(pids):
    """SIGTERM to every process group at once, then wait for each."""
    for pid in pids:
        os.killpg(pid, signal.SIGTERM)
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def measure(repeat=3, log=print):
    broker = Broker()
    out = {name: {"ready_s": [], "health_s": [], "rss_mb": []} for name in SERVICES}
    try:
        for r in range(repeat):
            vhost = f"bench-start-{uuid.uuid4().hex[:10]}"
            uri = broker.create_vhost(vhost)
            tmp = Path(tempfile.mkdtemp(prefix="bench-start-"))
            env = suite_env(uri, tmp, demo=False)
            try:
                for name in SERVICES:
                    logs = {name: tmp / f"{name}.log"}
                    timing = start_with_timing([name], lambda n: start_service(n, env, logs[n]), uri,
                                               lambda n: read_log(logs[n]),
                                               http_ports={"gateway": int(env["GATEWAY_PORT"])})[name]
                    pid = timing["pid"]
                    out[name]["ready_s"].append(timing["ready_s"])
                    out[name]["health_s"].append(timing["health_s"])
                    out[name]["rss_mb"].append(rss_mb(pid))
                    terminate([pid])
            finally:
                broker.delete_vhost(vhost)
                shutil.rmtree(tmp, ignore_errors=True)
            log(f"  start-up round {r + 1}/{repeat} done")
    finally:
        broker.vhosts.clear()
    return {name: {k: median(v) for k, v in d.items()} for name, d in out.items()}


def measure_together(repeat=3, log=print):
    """All six started at once, as a deployment does: a first start (fresh SQLite folder,
    migrations run) and a restart on the same folder (already at head).  Returns
    {"first": {name: ready_s}, "restart": {name: ready_s}, "first_cpu": {name: cpu_s},
    "restart_cpu": {...}}, medians over ``repeat`` rounds (CPU: seconds the process used until ready)."""
    broker = Broker()
    out = {kind: {name: [] for name in SERVICES} for kind in ("first", "restart", "first_cpu", "restart_cpu")}
    try:
        for r in range(repeat):
            vhost = f"bench-start-{uuid.uuid4().hex[:10]}"
            uri = broker.create_vhost(vhost)
            tmp = Path(tempfile.mkdtemp(prefix="bench-start-"))
            env = suite_env(uri, tmp, demo=False)
            try:
                for kind in ("first", "restart"):
                    logs = {name: tmp / f"{name}-{kind}.log" for name in SERVICES}
                    timing = start_with_timing(list(SERVICES), lambda n: start_service(n, env, logs[n]), uri,
                                               lambda n: read_log(logs[n]),
                                               http_ports={"gateway": int(env["GATEWAY_PORT"])})
                    for name, t in timing.items():
                        out[kind][name].append(t["ready_s"])
                        out[kind + "_cpu"][name].append(t["cpu_s"])
                    terminate([t["pid"] for t in timing.values()])
            finally:
                broker.delete_vhost(vhost)
                shutil.rmtree(tmp, ignore_errors=True)
            log(f"  together round {r + 1}/{repeat} done")
    finally:
        broker.vhosts.clear()
    return {kind: {name: median(v) for name, v in d.items()} for kind, d in out.items()}


def print_together(out):
    print(f"\nall six started at once (medians): {'service':15s} {'first start: s':>14s} {'CPU s':>6s} "
          f"{'restart: s':>10s} {'CPU s':>6s}")
    for name in out["first"]:
        print(f"{'':35s} {name:15s} {out['first'][name]:14.2f} {out['first_cpu'][name]:6.2f} "
              f"{out['restart'][name]:10.2f} {out['restart_cpu'][name]:6.2f}")
    print(f"{'':35s} (s: process start to '<name> ready'; CPU s: CPU time the process used until then;")
    print(f"{'':35s}  first start: fresh data folder, migrations run; restart: same folder, at head)")
    for kind in ("first", "restart"):
        print(f"CPU of all six until ready, {kind}: {sum(out[kind + '_cpu'].values()):.2f} s")
    for kind in ("first", "restart"):
        worst = max(out[kind].values())
        print(f"target < {TARGET_READY_S:g} s to ready, all at once, {kind}: "
              f"{'met' if worst < TARGET_READY_S else 'NOT met'} (slowest {worst:.2f} s)")


def print_footprint(out):
    print(f"\neach service started alone (medians): {'service':15s} {'ready s':>8s} {'health s':>13s} "
          f"{'RSS MB':>7s}")
    for name, d in out.items():
        print(f"{'':38s} {name:15s} {d['ready_s']:8.2f} {d['health_s']:13.2f} {d['rss_mb']:7.1f}")
    print(f"{'':38s} (health: its health RPC; for the gateway, an answer of GET /openapi.json)")
    worst_ready = max(d["ready_s"] for d in out.values())
    worst_rss = max(d["rss_mb"] for d in out.values())
    print(f"target < {TARGET_READY_S:g} s to ready: {'met' if worst_ready < TARGET_READY_S else 'NOT met'} "
          f"(slowest {worst_ready:.2f} s)")
    print(f"target < {TARGET_RSS_MB} MB RSS after start: {'met' if worst_rss < TARGET_RSS_MB else 'NOT met'} "
          f"(largest {worst_rss:.1f} MB)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--together-only", action="store_true",
                        help="only the six services started at once (first start and restart)")
    args = parser.parse_args(argv)
    if not args.together_only:
        out = measure(args.repeat)
        print_footprint(out)
    together = measure_together(args.repeat)
    print_together(together)
    return together if args.together_only else {**out, "together": together}


if __name__ == "__main__":
    main()
