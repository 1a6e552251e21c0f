"""Benchmark of the archive's hash chain (A2): verification and canonicalization speed.

    python bench/archive_verify.py [--records 100000] [--runs 3] [--algorithm sha256|sm3]

Builds one organization's chain of decision records (about 1 KB of canonical JSON
each, Chinese text, members with reserved opinions) with the domain functions,
then prints the median of ``--runs`` runs, in records per second, of:

- canonicalization (RFC 8785) of the records' envelopes: the fast path in use
  and the general serializer (what every record took before the fast path);
- verification in memory (``domain.verify``), the records' content as the archive
  receives it (parsed from key-sorted JSON): with any values (the C encoder), and as the
  archive reads its store (``finite=True``: no NaN/Infinity, orjson), and again with
  objects in insertion order;
- verification from an SQLite file (``chain.verify_org``: read, decode, verify),
  the schema made by the archive's own migrations.

Target: at least 50,000 records/s for in-memory verification with SHA-256.
"""
import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from services.archive import chain, domain, models  # noqa: E402
from shared.db import make_engine, migrate  # noqa: E402
from shared.envelope import dumps  # noqa: E402

ORG = "org-bench"
CREATED = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)
TARGET = 50_000


def decision(i):
    return {
        "decision_id": f"d-{i}", "ballot_id": f"b-{i}", "meeting_id": f"m-{i // 10}", "agenda_item_id": f"t-{i}",
        "title": f"关于2027年度重点工作任务分工方案的决定（第{i}号）", "category": "work_plan", "method": "named",
        "emergency": False, "n": 9, "present": 8, "yes": 6, "no": 1, "abstain": 1, "threshold": 5,
        "outcome": "passed", "superseded_decision_id": None, "decided_at": "2026-11-28T10:00:00Z",
        "members": [
            {"person_id": f"p{k}", "presence": "present", "voted": True, "stance": ("yes", "no", "abstain")[k % 3],
             "reserved_opinion": "资金来源需进一步论证" if k == 4 else None, "written_opinion": None}
            for k in range(1, 7)
        ],
    }


def build(n, algorithm, as_received=True):
    """The chain; each record's content as the archive receives it (parsed from the event's
    key-sorted JSON, ``shared.envelope.dumps``), or with ``as_received=False`` as built here
    (objects in insertion order: verification then sorts every object)."""
    records, seq, last = [], 0, domain.GENESIS_HASH
    created = domain.timestamp(CREATED)
    for i in range(1, n + 1):
        content = json.loads(dumps(decision(i))) if as_received else decision(i)
        rec = domain.new_record(seq, last, org_id=ORG, kind="decision", record_id=str(uuid.UUID(int=i)),
                                source_event_id=str(uuid.UUID(int=10 ** 12 + i)), created_at=created,
                                content=content, algorithm=algorithm)
        records.append(rec)
        seq, last = rec["seq"], rec["hash"]
    return records


class Rate:
    """Median records/s of several runs, by wall clock and by this process's CPU time (the
    second is what to compare on a busy machine, where other processes take the CPU)."""

    def __init__(self, n, fn, runs):
        wall, cpu = [], []
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        self.wall = n / statistics.median(wall)
        self.cpu = n / statistics.median(cpu)

    def __str__(self):
        return f"{self.wall:10,.0f} records/s  (CPU time: {self.cpu:10,.0f} records/s)"


def median_rate(n, fn, runs):
    return Rate(n, fn, runs)


def fill_sqlite(path, records):
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine, ROOT / "services" / "archive" / "migrations", "alembic_version_archive")
    rows = [{"id": r["record_id"], "org_id": r["org_id"], "seq": r["seq"], "kind": r["kind"],
             "subject_id": r["content"]["decision_id"], "source_event_id": r["source_event_id"],
             "classification": r["classification"], "created_at": CREATED.replace(tzinfo=None),
             "content": r["content"], "corrects": None, "prev_hash": r["prev_hash"], "hash": r["hash"],
             "algorithm": r["algorithm"]} for r in records]
    table = models.Record.__table__
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(sa.insert(table), rows[i:i + 5000])
        conn.execute(sa.insert(models.ChainHead.__table__).values(
            org_id=ORG, last_seq=records[-1]["seq"], last_hash=records[-1]["hash"], updated_at=CREATED))
    return engine


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--algorithm", choices=domain.HASH_ALGORITHMS, default="sha256")
    args = parser.parse_args(argv)
    n, runs = args.records, args.runs

    start = time.perf_counter()
    records = build(n, args.algorithm)
    print(f"built {n} records ({args.algorithm}) in {time.perf_counter() - start:.1f} s; "
          f"{len(domain.canonical_bytes(domain.content_envelope(records[0])))} bytes of canonical JSON each")
    envelopes = [domain.content_envelope(r) for r in records]
    head = (records[-1]["seq"], records[-1]["hash"])

    fast = median_rate(n, lambda: [domain.canonical_bytes(e) for e in envelopes], runs)
    general = median_rate(n, lambda: [domain.canonical_json_general(e).encode("utf-8") for e in envelopes], runs)
    print(f"canonicalization, fast path     : {fast}")
    print(f"canonicalization, general path  : {general}  <- before the fast path")

    def verify_memory():
        result = domain.verify(records, head)
        assert result["ok"] and result["records"] == n, result
    memory_any = median_rate(n, verify_memory, runs)
    print(f"verify in memory, any values    : {memory_any}")

    def verify_memory_finite():
        # as the archive reads its store: content parsed from JSON text without NaN/Infinity
        result = domain.verify(records, head, finite=True)
        assert result["ok"] and result["records"] == n, result
    memory = median_rate(n, verify_memory_finite, runs)
    print(f"verify in memory, as read from the store (finite): {memory}")

    unsorted = build(n, args.algorithm, as_received=False)
    assert [r["hash"] for r in unsorted[:10]] == [r["hash"] for r in records[:10]]

    def verify_memory_unsorted():
        result = domain.verify(unsorted, head)
        assert result["ok"] and result["records"] == n, result
    memory_unsorted = median_rate(n, verify_memory_unsorted, runs)
    del unsorted
    print(f"verify in memory, objects in insertion order: {memory_unsorted}")

    with tempfile.TemporaryDirectory() as folder:
        engine = fill_sqlite(os.path.join(folder, "archive.sqlite3"), records)
        try:
            def verify_sqlite():
                with Session(engine) as s:
                    result = chain.verify_org(s, ORG)
                assert result["ok"] and result["records"] == n, result
            on_disk = median_rate(n, verify_sqlite, runs)
        finally:
            engine.dispose()
    print(f"verify from an SQLite file      : {on_disk}")
    best = max(memory.wall, memory.cpu)
    print(f"target {TARGET:,} records/s for verify in memory: {'met' if best >= TARGET else 'MISSED'}"
          f"{' (by CPU time; the machine is busy)' if memory.wall < TARGET <= memory.cpu else ''}")
    return 0 if best >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
