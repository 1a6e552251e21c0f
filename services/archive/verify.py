"""Verify the archive's hash chains (A2) straight from its database.

    python -m services.archive.verify [--org ORG_ID] [--json]

Uses the archive's configuration (``ARCHIVE_DATABASE_URL`` or ``DATABASE_URL``,
else the embedded SQLite file).  Prints one line per organization; exits 1 when
any chain is broken, 2 when the database cannot be read.
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


def verify_all(engine, org_id=None):
    with Session(engine) as s:
        orgs = [org_id] if org_id else chain.org_ids(s)
    results = []
    for org in orgs:
        with Session(engine) as s:      # a fresh snapshot per organization
            results.append(chain.verify_org(s, org))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m services.archive.verify",
                                     description="Verify the archive's per-organization hash chains (A2).")
    parser.add_argument("--org", dest="org_id", help="verify only this organization")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    engine = make_engine(load_config("archive")["DATABASE_URL"])
    try:
        results = verify_all(engine, args.org_id)
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
