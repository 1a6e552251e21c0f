"""C2 at city scale: the lifetime query (``person_record``) on PostgreSQL.

Creates a fresh database from ``DATABASE_URL`` (or ``--database-url``), builds
the accountability schema with its own migrations, loads organizations × years
of decisions with one responsibility link per group member (COPY), then times
the service's own query (count + first page of 50, newest first) for random
persons and prints p50/p99.  The database is dropped at the end.

    python -m bench.accountability_lifetime                 # 500 orgs × 10 years
    python -m bench.accountability_lifetime --scale small   # a quick run
"""
import argparse
import io
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.accountability.service import record_page  # noqa: E402
from shared.db import make_engine, migrate, normalize_url  # noqa: E402

SCALES = {
    # orgs, years, decisions per org-year, members, members replaced per year
    "small": (40, 3, 120, 9, 2),
    "full": (500, 10, 120, 9, 2),
}
LINK_COLUMNS = ("decision_id", "person_id", "org_id", "presence", "stance", "voted", "reserved_opinion",
                "written_opinion", "participant", "decided_at")
DECISION_COLUMNS = ("id", "org_id", "meeting_id", "ballot_id", "agenda_item_id", "title", "category", "method",
                    "emergency", "outcome", "n", "present", "yes", "no", "abstain", "superseded_decision_id",
                    "decided_at", "source_event_id", "recorded_at")


def admin_and_bench_urls(url, name):
    base = sa.engine.make_url(normalize_url(url))
    if base.get_backend_name() != "postgresql":
        sys.exit("the lifetime benchmark needs PostgreSQL: set DATABASE_URL or pass --database-url")
    return base, base.set(database=name)


def generate(scale, seed):
    """Yield (decision row, [link rows]) for every decision; also return every person id."""
    orgs, years, per_year, size, turnover = SCALES[scale]
    rng = random.Random(seed)
    start = 1735689600  # 2025-01-01T00:00:00Z
    year_seconds = 365 * 86400
    movers = []          # people who leave one group and join another (C2: across organizations)
    for o in range(orgs):
        org_id = f"org-{o:04d}"
        group = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(size)]
        for y in range(years):
            if y:
                for _ in range(turnover):
                    leaving = group.pop(rng.randrange(len(group)))
                    movers.append(leaving)
                    group.append(movers.pop(rng.randrange(len(movers))) if movers and rng.random() < 0.3
                                 else str(uuid.UUID(int=rng.getrandbits(128))))
            for i in range(per_year):
                t = start + y * year_seconds + int((i + rng.random()) * year_seconds / per_year)
                decided_at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))
                decision_id = str(uuid.UUID(int=rng.getrandbits(128)))
                method = rng.choice(("named", "show_of_hands", "oral", "secret"))
                leave = rng.randrange(size) if rng.random() < 0.3 else None
                links, yes = [], 0
                for k, pid in enumerate(group):
                    if k == leave:
                        links.append((decision_id, pid, org_id, "leave", "", "f", "", "同意", "f", decided_at))
                        continue
                    stance = rng.choices(("yes", "no", "abstain"), (8, 1, 1))[0]
                    yes += stance == "yes"
                    reserved = "保留意见" if rng.random() < 0.03 else ""
                    links.append((decision_id, pid, org_id, "present", "" if method == "secret" else stance, "t",
                                  reserved, "", "t", decided_at))
                present = size - (leave is not None)
                no = sum(1 for row in links if row[4] == "no")
                abstain = sum(1 for row in links if row[4] == "abstain")
                decision = (decision_id, org_id, str(uuid.UUID(int=rng.getrandbits(128))), "", "",
                            f"议题 {o}-{y}-{i}", "work_plan", method, "f",
                            "passed" if 2 * yes > size else "failed", size, present, yes, no, abstain, "",
                            decided_at, str(uuid.UUID(int=rng.getrandbits(128))), decided_at)
                yield decision, links


def copy_rows(raw, table, columns, rows):
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join("\\N" if v == "" else str(v) for v in row))
        buf.write("\n")
    buf.seek(0)
    with raw.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buf)


def load(engine, scale, seed, batch=20000):
    raw = engine.raw_connection()
    decisions = links = 0
    persons = set()
    try:
        d_batch, l_batch = [], []
        for decision, rows in generate(scale, seed):
            d_batch.append(decision)
            l_batch.extend(rows)
            if len(d_batch) >= batch:
                copy_rows(raw, "decisions", DECISION_COLUMNS, d_batch)
                copy_rows(raw, "responsibility_links", LINK_COLUMNS, l_batch)
                raw.commit()
                decisions += len(d_batch)
                links += len(l_batch)
                persons.update(r[1] for r in l_batch)
                d_batch, l_batch = [], []
                print(f"  loaded {decisions:,} decisions, {links:,} links", flush=True)
        if d_batch:
            copy_rows(raw, "decisions", DECISION_COLUMNS, d_batch)
            copy_rows(raw, "responsibility_links", LINK_COLUMNS, l_batch)
            raw.commit()
            decisions += len(d_batch)
            links += len(l_batch)
            persons.update(r[1] for r in l_batch)
    finally:
        raw.close()
    return decisions, links, sorted(persons)


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="a PostgreSQL server URL (its database is only used to create the bench database)")
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--persons", type=int, default=500, help="random persons queried")
    parser.add_argument("--limit", type=int, default=50, help="page size")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    if not args.database_url:
        sys.exit("set DATABASE_URL or pass --database-url (PostgreSQL)")
    name = f"bench_accountability_{uuid.uuid4().hex[:8]}"
    admin_url, bench_url = admin_and_bench_urls(args.database_url, name)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(bench_url.render_as_string(hide_password=False))
    try:
        migrate(engine, ROOT / "services" / "accountability" / "migrations", "alembic_version_accountability")
        orgs, years, per_year, size, _ = SCALES[args.scale]
        print(f"scale {args.scale}: {orgs} organizations × {years} years × {per_year} decisions, "
              f"{size} members per group")
        t0 = time.perf_counter()
        decisions, links, persons = load(engine, args.scale, args.seed)
        loaded = time.perf_counter() - t0
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE decisions"))
            conn.execute(sa.text("VACUUM ANALYZE responsibility_links"))
        print(f"loaded {decisions:,} decisions and {links:,} links for {len(persons):,} persons "
              f"in {loaded:.1f} s (COPY, indexes in place, then VACUUM ANALYZE)")

        rng = random.Random(args.seed + 1)
        sample = [rng.choice(persons) for _ in range(args.persons)]
        Session = sa.orm.sessionmaker(bind=engine)
        with Session() as s:          # warm the connection and catalog caches once
            record_page(s, sample[0], None, args.limit)
        timings, totals = [], []
        with Session() as s:
            for pid in sample:
                t = time.perf_counter()
                total, items, _ = record_page(s, pid, None, args.limit)
                timings.append((time.perf_counter() - t) * 1000)
                totals.append(total)
                s.rollback()
        with engine.connect() as conn:
            plan = "\n".join(r[0] for r in conn.execute(sa.text(
                "EXPLAIN SELECT l.*, d.* FROM responsibility_links l JOIN decisions d ON d.id = l.decision_id "
                "WHERE l.person_id = :p ORDER BY l.decided_at DESC, l.decision_id LIMIT 50"), {"p": sample[0]}))
        print(f"lifetime query (count + page of {args.limit}) over {len(sample)} random persons "
              f"(records of {min(totals)}–{max(totals)} decisions, median {int(statistics.median(totals))}):")
        print(f"  p50 {percentile(timings, 50):.2f} ms   p99 {percentile(timings, 99):.2f} ms   "
              f"max {max(timings):.2f} ms")
        print("plan of the page query:\n  " + plan.replace("\n", "\n  "))
        print("target p99 < 50 ms: " + ("met" if percentile(timings, 99) < 50 else "NOT met"))
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
