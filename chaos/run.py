"""`make chaos`: prove that nothing is lost and nobody gets in where they don't belong.

    python -m chaos.run [--decisions 1000] [--quick] [--seed N] [--write-doc] [--skip-pytest]

Starts a RabbitMQ node of its own (never the shared broker), a PostgreSQL database per
service and every service as a real process, then runs the stages (docs/reliability.md):
consumer crashes and broker restarts under a decision load, a publisher crash between
commit and publish, meetings and voting killed under keyed creates and closes (none twice), every event redelivered twice, poison messages and a dead-letter
replay, bad input (schemathesis stateless and stateful), security (the authorization
matrix, a secret-ballot canary scan of databases, logs and events, ...).  Prints the
figures; exits non-zero if a must-be-zero figure is not zero.
"""
import argparse
import datetime as dt
import os
import platform
import signal
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Org  # noqa: E402
from chaos import figures, load, verify  # noqa: E402
from chaos.env import ChaosEnv  # noqa: E402


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=None, help="consumer SIGKILL rounds (default 6, quick 3)")
    parser.add_argument("--broker-restarts", type=int, default=None, help="default 2, quick 1")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 80 decisions, short fuzzing")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--load-seconds", type=float, default=None,
                        help="the closes are spread over at least this long (default 150, quick 30)")
    parser.add_argument("--skip-pytest", action="store_true", help="leave out the security/bad-input pytest selection")
    parser.add_argument("--write-doc", action="store_true", help="write the figures into docs/reliability.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (service logs)")
    args = parser.parse_args(argv)
    if args.quick and args.decisions == 1000:
        args.decisions = 80
    kills = args.kills if args.kills is not None else (3 if args.quick else 6)
    restarts = args.broker_restarts if args.broker_restarts is not None else (1 if args.quick else 2)
    seed = args.seed if args.seed is not None else int(time.time())
    started = time.monotonic()
    figs = figures.Figures()
    log(f"chaos run, seed {seed}, {args.decisions} decisions")

    from chaos import bad_input, canary, duplicates, idempotency, poison, publisher, security

    def stop(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, stop)        # cleanup (broker node, databases, processes) runs

    with ChaosEnv(log=log, keep=args.keep) as env:
        org = Org.demo(env.port)
        sec = org.tokens["secretary"]
        ballots = load.prepare(env, org, args.decisions, log)

        log("stage 1+2: consumer crashes and broker restarts under the decision load")
        result = load.run(env, sec, ballots, kills, restarts, seed, log,
                           seconds=args.load_seconds or (30.0 if args.quick else 150.0))
        env.wait_quiet(timeout=600)
        figs.load(result)

        log("stage 3: publisher crash between commit and publish")
        figs.publisher(publisher.run(env, org, log))

        log("stage 3b: meetings and voting SIGKILLed under keyed creates and closes, each sent again")
        figs.idempotency(idempotency.run(env, org, log, requests_total=40 if args.quick else 200, seed=seed,
                                         kills=2 if args.quick else 4))

        env.wait_quiet()
        checked = verify.check(env, sec, org.org_id, set(result.reported.values()) | figs.extra_reported, log)
        figs.verify(checked)

        log("stage 4: every captured event redelivered twice")
        figs.duplicates(duplicates.run(env, log))

        log("stage 5: poison messages, delivery limit, dead-letter replay")
        figs.poison(poison.run(env, org, log))

        log("stage 6: secret-ballot canary scan (databases, service logs, captured events)")
        canary_result = canary.run(env, org, log)
        figs.canary(canary_result)

        log("stage 7: bad input (schemathesis stateless + stateful, oversized bodies)")
        figs.bad_input(bad_input.run(env, org, log, quick=args.quick))

        log("stage 8: security checks on the running suite")
        figs.security(security.run(env, org, log, foreign_decision=canary_result["decision_ids"][0]))

        final = verify.check(env, org.tokens["secretary"], org.org_id,
                             set(result.reported.values()) | figs.extra_reported, log)
        figs.final(final)
        exits = env.supervisor_restarts
        figs.add("end", "services that exited by themselves and were restarted (restart policy)", len(exits))
        if exits:
            log("  exited by themselves: " + ", ".join(f"{name} ({code})" for name, code in exits)
                + " (2: started while the broker was away; see the service logs)")

        if not args.skip_pytest:
            log("stage 9: the security / bad-input test selection (pytest, on the run's own broker)")
            figs.pytest(security.run_pytest_selection(env, log, quick=args.quick))

    figs.elapsed = time.monotonic() - started
    table = figs.table()
    print("\n" + table)
    failed = figs.failures()
    if args.write_doc:
        meta = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
                           f"Python {platform.python_version()}",
                "command": "make chaos" + (f" CHAOS_ARGS='{' '.join(argv or sys.argv[1:])}'"
                                           if (argv or sys.argv[1:]) else ""),
                "seed": seed}
        figures.write_doc(ROOT / "docs" / "reliability.md", table, meta, failed)
        log("figures written to docs/reliability.md")
    if failed:
        print("\nFAILED: " + "; ".join(failed))
        return 1
    print("\nall must-be-zero figures are zero")
    return 0


if __name__ == "__main__":
    sys.exit(main())
