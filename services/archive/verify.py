"""Verify the archive's hash chains (A2) straight from its database.

    python -m services.archive.verify [--org ORG_ID] [--json] [--progress | --no-progress]

Uses the archive's configuration (``ARCHIVE_DATABASE_URL`` or ``DATABASE_URL``,
else the embedded SQLite file).  Prints one line per organization; exits 1 when
any chain is broken, 2 when the database cannot be read.  On long chains
(``PROGRESS_FROM`` records or more, or with ``--progress``) a progress bar is
drawn on standard error; standard output stays the same.
"""
import argparse
import json
import sys

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.archive import chain
from shared.config import load_config
from shared.db import make_engine


def describe(result):
    if result["ok"]:
        return f"{result['org_id']}: ok ({result['records']} records)"
    bad = result["first_bad"]
    where = f"seq {bad['seq']}" + (f" (record {bad['record_id']})" if bad["record_id"] else "")
    return (f"{result['org_id']}: BROKEN at {where}: {bad['reason']} "
            f"({result['records']} records verified before it)")


PROGRESS_FROM = 20000      # records in a chain from which the bar is drawn by default
BAR_WIDTH = 30


class ProgressBar:
    """A plain-text bar on a stream: ``org-a [#######.......]  47% 47000/100000 records``."""

    def __init__(self, stream, label):
        self.stream = stream
        self.label = label
        self.drawn = False

    def __call__(self, done, total):
        share = min(done / total, 1.0) if total else 1.0
        filled = int(share * BAR_WIDTH)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                          f"{share * 100:3.0f}% {done}/{total} records")
        self.stream.flush()
        self.drawn = True

    def close(self):
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def verify_all(engine, org_id=None, progress=None, stream=None):
    """Verify each organization's chain; ``progress`` True / False / None (by chain length)."""
    stream = stream or sys.stderr
    with Session(engine) as s:
        orgs = [org_id] if org_id else chain.org_ids(s)
        lengths = {org: chain.head(s, org)[0] for org in orgs}
    results = []
    for org in orgs:
        show = progress if progress is not None else lengths[org] >= PROGRESS_FROM
        with Session(engine) as s:      # a fresh snapshot per organization
            bar = ProgressBar(stream, org) if show else None
            try:
                results.append(chain.verify_org(s, org, progress=bar))
            finally:
                if bar is not None:
                    bar.close()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m services.archive.verify",
                                     description="Verify the archive's per-organization hash chains (A2).")
    parser.add_argument("--org", dest="org_id", help="verify only this organization")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--progress", dest="progress", action="store_true", default=None,
                        help="always draw a progress bar on standard error")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help=f"never draw it (default: for chains of {PROGRESS_FROM} records or more)")
    args = parser.parse_args(argv)
    engine = make_engine(load_config("archive")["DATABASE_URL"])
    try:
        results = verify_all(engine, args.org_id, args.progress)
    except sa.exc.SQLAlchemyError as exc:
        print(f"cannot read the archive database: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for result in results:
            print(describe(result))
        if not results:
            print("no records")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
