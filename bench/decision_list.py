"""The decisions list on a grown organization (issue 20): GET /api/v1/decisions?limit=50.

Starts the suite (every service its own process, own vhost, SQLite in a temporary folder,
demo seed), adds ``--decisions`` decided ballots to the demo organization straight into the
voting database (bulk INSERT: ballots, decisions, seven electors and seven open votes each;
not timed), then drives ``--clients`` keep-alive clients for ``--duration`` seconds in
``--rounds`` rounds on the first page, and walks every page once (by ``next_cursor`` when
the answer has one, else by ``offset``).  Prints req/s (median of rounds), p50/p99.

``--direct`` times the voting service's own ``list_decisions`` in this process instead (no
broker, no gateway), on a SQLite file and on PostgreSQL (``DATABASE_URL``, default the local
server): ``--repeat`` calls of the first page, p50/p99, and the time to walk every page.

    python -m bench.decision_list [--decisions 2000] [--clients 20] [--duration 15] [--rounds 3]
    python -m bench.decision_list --direct [--decisions 2000] [--repeat 200]
"""
import argparse
import contextlib
import datetime as dt
import inspect
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Environment, Http, Org, closed_loop, database_url, fmt_ms, median, percentile  # noqa: E402
from shared.db import normalize_url  # noqa: E402

ELECTORS = 7


def grow(url, org_id, decisions, voters):
    """``decisions`` decided named ballots of ``org_id``, three a day back from now."""
    meta = sa.MetaData()
    engine = sa.create_engine(normalize_url(url))
    meta.reflect(engine, only=["ballots", "decisions", "electorate", "open_votes"])
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    ballots, rows, electors, votes = [], [], [], []
    for k in range(decisions):
        bid, at = str(uuid.uuid4()), now - dt.timedelta(hours=8 * k + 1)
        item, meeting = f"bench-item-{k}-{bid[:8]}", f"bench-meeting-{k // 5}"
        ballots.append(dict(id=bid, org_id=org_id, meeting_id=meeting, agenda_item_id=item, title=f"决策 {k}",
                            category="work_plan", method="named", emergency=False, chair_person_id=voters[0],
                            n=ELECTORS, present=ELECTORS, status="closed", opened_by=voters[0], opened_at=at,
                            closed_at=at))
        rows.append(dict(id=str(uuid.uuid4()), ballot_id=bid, org_id=org_id, meeting_id=meeting,
                         agenda_item_id=item, title=f"决策 {k}", category="work_plan", method="named",
                         emergency=False, n=ELECTORS, present=ELECTORS, yes=5, no=1, abstain=1, threshold=4,
                         outcome="passed", explanation="赞成 5 ≥ 4", decided_at=at))
        for p in voters[:ELECTORS]:
            electors.append(dict(ballot_id=bid, person_id=p, role="member", presence="present"))
            votes.append(dict(ballot_id=bid, person_id=p, choice="yes"))
    with engine.begin() as conn:
        for name, values in (("ballots", ballots), ("decisions", rows), ("electorate", electors),
                             ("open_votes", votes)):
            conn.execute(sa.insert(meta.tables[name]), values)
    engine.dispose()


def walk(port, token, limit=50):
    """Every page once, newest first: (pages, decisions seen, seconds)."""
    client, seen, pages, cursor, offset = Http(port), 0, 0, None, 0
    t0 = time.perf_counter()
    while True:
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else f"&offset={offset}")
        status, answer = client.request("GET", f"/api/v1/decisions?{query}", token=token)
        assert status == 200, (status, answer)
        pages += 1
        seen += len(answer["items"])
        cursor = answer.get("next_cursor")
        offset += limit
        if not answer["items"] or ("next_cursor" in answer and cursor is None):
            break
    client.close()
    return pages, seen, time.perf_counter() - t0


class _Service:
    """What ``list_decisions`` needs of its service: ``db.read()`` giving a session."""

    def __init__(self, engine):
        from sqlalchemy.orm import sessionmaker
        self.Session = sessionmaker(bind=engine, expire_on_commit=False)
        self.db = self

    @contextlib.contextmanager
    def read(self):
        session = self.Session()
        try:
            yield session
        finally:
            session.rollback()
            session.close()


def direct(decisions=2000, repeat=200, log=print):
    """The service method alone, on SQLite and PostgreSQL: {backend: figures}."""
    from services.voting import models
    from services.voting.service import VotingService
    from shared.db import make_engine, migrate
    list_decisions = inspect.unwrap(VotingService.list_decisions)
    keyset = "cursor" in inspect.signature(list_decisions).parameters
    folder = Path(tempfile.mkdtemp(prefix="bench-list-"))
    pg = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"bench_list_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalize_url(pg), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    out = {}
    try:
        urls = {"sqlite": f"sqlite:///{folder / 'voting.sqlite3'}",
                "postgresql": str(sa.engine.make_url(normalize_url(pg)).set(database=name)
                                  .render_as_string(hide_password=False))}
        for backend, url in urls.items():
            engine = make_engine(url)
            migrate(engine, Path(models.__file__).parent / "migrations", "alembic_version_voting")
            grow(url, "org-bench", decisions, [f"p{i}" for i in range(9)])
            if backend == "postgresql":
                with engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
            service = _Service(engine)
            actor = {"person_id": "p0", "org_id": "org-bench", "roles": ["secretary"]}
            for _ in range(5):
                list_decisions(service, actor, "org-bench", 50, 0)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                list_decisions(service, actor, "org-bench", 50, 0)
                times.append(time.perf_counter() - t0)
            t0, seen, pages, cursor, offset = time.perf_counter(), 0, 0, None, 0
            while True:
                page = (list_decisions(service, actor, "org-bench", 50, 0, cursor) if keyset
                        else list_decisions(service, actor, "org-bench", 50, offset))
                pages, seen, offset = pages + 1, seen + len(page["items"]), offset + 50
                cursor = page.get("next_cursor")
                if not page["items"] or (keyset and cursor is None):
                    break
            out[backend] = {"p50": percentile(times, 50), "p99": percentile(times, 99),
                            "walk_pages": pages, "walk_seen": seen, "walk_seconds": time.perf_counter() - t0}
            engine.dispose()
            log(f"  {backend}: first page p50 {fmt_ms(out[backend]['p50'])} ms, p99 {fmt_ms(out[backend]['p99'])} ms; "
                f"every page once: {pages} pages, {seen} decisions, {out[backend]['walk_seconds']:.2f} s")
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def measure(decisions=2000, clients=20, duration=15.0, rounds=3, log=print):
    with Environment(baseline=False) as env:
        org = Org.demo(env.port)
        t0 = time.perf_counter()
        grow(database_url("voting", env.suite.env), org.org_id, decisions, list(org.pids.values()))
        log(f"grown: {decisions} decisions in {org.org_id} in {time.perf_counter() - t0:.1f} s")
        token = org.tokens["secretary"]

        def first_page(i):
            return "GET", "/api/v1/decisions?limit=50", None, token, (200,)
        closed_loop("warm", env.port, first_page, clients=2, duration=2.0)
        results = [closed_loop("list", env.port, first_page, clients, duration / rounds) for _ in range(rounds)]
        latencies = [x for r in results for x in r.latencies]
        errors = [e for r in results for e in r.errors]
        pages, seen, seconds = walk(env.port, token)
        return {"rate": median([r.rate for r in results]), "p50": percentile(latencies, 50),
                "p99": percentile(latencies, 99), "count": len(latencies), "errors": len(errors),
                "walk_pages": pages, "walk_seen": seen, "walk_seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--direct", action="store_true", help="the service method alone, no broker or gateway")
    parser.add_argument("--repeat", type=int, default=200, help="--direct: calls of the first page")
    args = parser.parse_args(argv)
    if args.direct:
        print(f"list_decisions(limit=50) in process, {args.decisions} decisions in one organization:")
        direct(args.decisions, args.repeat)
        return
    out = measure(args.decisions, args.clients, args.duration, args.rounds)
    print(f"\nGET /api/v1/decisions?limit=50, {args.decisions} decisions in one organization, "
          f"{args.clients} clients:")
    print(f"  req/s (median of {args.rounds} rounds)  {out['rate']:.1f}")
    print(f"  p50 / p99                     {fmt_ms(out['p50'])} / {fmt_ms(out['p99'])}  "
          f"({out['count']} requests, {out['errors']} errors)")
    print(f"  every page once               {out['walk_pages']} pages, {out['walk_seen']} decisions, "
          f"{out['walk_seconds']:.2f} s")


if __name__ == "__main__":
    main()
