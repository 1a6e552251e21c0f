"""Lists stay flat as the record grows (issue 20).

1. On a PostgreSQL database built by the service's own migrations and grown with thousands of
   rows per list table, every list statement (the very statement the service runs, from its
   builder) is planned without a sequential scan of a grown table: a page is an index range
   scan whatever the record's size.
2. The decisions list's keyset cursor over RPC: the pages cover every decision exactly once,
   in (decided_at desc, id) order, across decisions decided at the same instant; a cursor the
   list did not give is a 400 naming ``cursor``.
"""
import base64
import datetime as dt
import json
import random
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.archive import models as archive_models
from services.archive.chain import read_log_statement, search_statements
from services.notifications import models as notifications_models
from services.notifications.service import inbox_statements
from services.voting import models as voting_models
from services.voting.service import decision_list_statement
from shared.db import make_engine, migrate
from shared.errors import ValidationFailed
from tests.integration.test_voting_rpc import controlled_clock, member, suite  # noqa: F401  (fixtures)
from tests.integration.test_voting_rules import meeting, rows, vote

pytestmark = pytest.mark.integration

ORGS = 4
DECISIONS_PER_ORG = 1500          # 6,000 decisions and ballots, 42,000 electorate rows
ELECTORS = 7
RECORDS_PER_ORG = 2500           # 10,000 archived records, 30,000 persons named
INBOXES, NOTICES_PER_INBOX = 40, 500     # 20,000 inbox notifications
GROWN = {"decisions", "ballots", "electorate", "open_votes", "records", "record_persons", "notifications",
         "read_log"}
READS_PER_ORG = 5000             # 20,000 entries of the confidential read log


def grow_voting(engine):
    """Bulk INSERT (SQLAlchemy Core) of ballots, decisions, electorates and open votes."""
    start = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    ballots, decisions, electors, votes = [], [], [], []
    rnd = random.Random(20)
    for o in range(ORGS):
        org_id = f"org-{o}"
        for k in range(DECISIONS_PER_ORG):
            bid, did = str(uuid.uuid4()), str(uuid.uuid4())
            at = start + dt.timedelta(days=k // 3, minutes=rnd.randrange(3))     # equal instants too
            item = f"item-{o}-{k}"
            ballots.append(dict(id=bid, org_id=org_id, meeting_id=f"m-{o}-{k // 5}", agenda_item_id=item,
                                open_item_id=None, title=f"决策 {k}", category="work_plan", method="named",
                                emergency=False, chair_person_id="p0", n=ELECTORS, present=ELECTORS,
                                status="closed", opened_by="p0", opened_at=at, closed_at=at))
            decisions.append(dict(id=did, ballot_id=bid, org_id=org_id, meeting_id=f"m-{o}-{k // 5}",
                                  agenda_item_id=item, title=f"决策 {k}", category="work_plan", method="named",
                                  emergency=False, n=ELECTORS, present=ELECTORS, yes=5, no=1, abstain=1,
                                  threshold=4, outcome="passed", explanation="5 ≥ 4", decided_at=at))
            for p in range(ELECTORS):
                electors.append(dict(ballot_id=bid, person_id=f"p{p}", role="member", presence="present",
                                     recused=p == 6 and k % 10 == 0))
                votes.append(dict(ballot_id=bid, person_id=f"p{p}", choice="yes",
                                  recorded_by="p0" if k % 7 == 0 else None))
    with engine.begin() as conn:
        conn.execute(sa.insert(voting_models.Ballot.__table__), ballots)
        conn.execute(sa.insert(voting_models.Decision.__table__), decisions)
        conn.execute(sa.insert(voting_models.Elector.__table__), electors)
        conn.execute(sa.insert(voting_models.OpenVote.__table__), votes)
        for table in ("ballots", "decisions", "electorate", "open_votes"):
            conn.exec_driver_sql(f"ANALYZE {table}")
    return decisions


def plan_of(conn, statement):
    """EXPLAIN of the statement as the service sends it (PostgreSQL, its bound parameters)."""
    compiled = statement.compile(dialect=postgresql.psycopg2.dialect(), compile_kwargs={"render_postcompile": True})
    return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params))


def sequential_scans(plan):
    return [line.strip() for line in plan.splitlines()
            if "Seq Scan on " in line and line.split("Seq Scan on ")[1].split()[0] in GROWN]


def test_every_list_statement_is_an_index_scan_on_a_grown_database(pg_url):
    engine = make_engine(pg_url)
    try:
        migrate(engine, Path(voting_models.__file__).parent / "migrations", "alembic_version_voting")
        decisions = grow_voting(engine)
        newest = max((d for d in decisions if d["org_id"] == "org-2"), key=lambda d: (d["decided_at"], d["id"]))
        middle = sorted((d for d in decisions if d["org_id"] == "org-2"), key=lambda d: d["decided_at"])[700]
        statements = {
            "decisions, first page": decision_list_statement("org-2", 50),
            "decisions, after a cursor": decision_list_statement("org-2", 50, (middle["decided_at"], middle["id"])),
            "decisions, after the newest": decision_list_statement("org-2", 50, (newest["decided_at"], newest["id"])),
            "decisions, an organization with none": decision_list_statement("org-none", 50),
        }
        with engine.connect() as conn:
            for name, statement in statements.items():
                plan = plan_of(conn, statement)
                if "with none" not in name:     # a grown organization's page walks the list's own index
                    assert "ix_decisions_org_recent" in plan, f"{name}:\n{plan}"
                assert sequential_scans(plan) == [], f"{name}: a sequential scan of a grown table\n{plan}"
            # the page the statement gives is the right one: the keyset continues where the key was
            page = conn.execute(decision_list_statement("org-2", 50, (middle["decided_at"], middle["id"]))).all()
        ordered = sorted((d for d in decisions if d["org_id"] == "org-2"),
                         key=lambda d: (-d["decided_at"].timestamp(), d["id"]))
        at = ordered.index(middle)
        assert [r.id for r in page] == [d["id"] for d in ordered[at + 1:at + 52]]
    finally:
        engine.dispose()


def grow_archive(engine):
    start = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    records, persons = [], []
    for o in range(ORGS):
        for seq in range(1, RECORDS_PER_ORG + 1):
            rid = str(uuid.uuid4())
            records.append(dict(id=rid, org_id=f"org-{o}", seq=seq, kind="decision" if seq % 4 else "notice",
                                subject_id=f"d-{o}-{seq}", source_event_id=str(uuid.uuid4()),
                                classification="internal", created_at=start + dt.timedelta(hours=seq),
                                content={"seq": seq}, prev_hash="0" * 64, hash=f"{seq:064d}", algorithm="sha256",
                                meeting_id=f"m-{o}-{seq // 10}"))
            persons += [dict(record_id=rid, person_id=f"p{(seq + k) % 9}", org_id=f"org-{o}") for k in range(3)]
    with engine.begin() as conn:
        conn.execute(sa.insert(archive_models.Record.__table__), records)
        conn.execute(sa.insert(archive_models.RecordPerson.__table__), persons)
        for table in ("records", "record_persons"):
            conn.exec_driver_sql(f"ANALYZE {table}")


def test_every_archive_search_is_an_index_scan_on_a_grown_database(postgres):
    url = postgres.create_database()          # the archive's own database, as deployed
    engine = make_engine(url)
    try:
        migrate(engine, Path(archive_models.__file__).parent / "migrations", "alembic_version_archive")
        grow_archive(engine)
        searches = {
            "first page": {}, "after a cursor": {"after_seq": 1200}, "by kind": {"kind": "notice"},
            "by kind after a cursor": {"kind": "notice", "after_seq": 2000},
            "by meeting": {"meeting_id": "m-1-40"}, "by person": {"person_id": "p3"},
            "by date": {"date_from": dt.date(2000, 2, 1), "date_to": dt.date(2000, 2, 3)},
        }
        with engine.connect() as conn:
            for name, filters in searches.items():
                for statement in search_statements("org-1", 50, **filters):
                    plan = plan_of(conn, statement)
                    assert sequential_scans(plan) == [], f"{name}: a sequential scan of a grown table\n{plan}"
            page = conn.execute(search_statements("org-1", 50, after_seq=1200)[1]).all()
        assert [r.seq for r in page] == list(range(1201, 1252))          # 50 and the one that says "more"
    finally:
        engine.dispose()
        postgres.drop_database(url)


def test_every_read_log_page_is_an_index_scan_on_a_grown_database(postgres):
    """A3: the read log grows with every confidential read; a page is an index scan, never a
    sequential one, whatever the log's size."""
    url = postgres.create_database()
    engine = make_engine(url)
    try:
        migrate(engine, Path(archive_models.__file__).parent / "migrations", "alembic_version_archive")
        start = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
        entries = [dict(at=start + dt.timedelta(minutes=k), person_id=f"p{k % 9}", actor_org_id=f"org-{k % ORGS}",
                        roles="secretary", org_id=f"org-{k % ORGS}", record_id=str(uuid.uuid4()),
                        action="get_record", granted=True) for k in range(ORGS * READS_PER_ORG)]
        with engine.begin() as conn:
            conn.execute(sa.insert(archive_models.ReadLog.__table__), entries)
            conn.exec_driver_sql("ANALYZE read_log")
            ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM read_log WHERE org_id = 'org-1' ORDER BY id DESC")]
        with engine.connect() as conn:
            for name, statement in {"first page": read_log_statement("org-1", 50),
                                    "after a cursor": read_log_statement("org-1", 50, before=ids[3000])}.items():
                plan = plan_of(conn, statement)
                assert "Index" in plan, f"{name}:\n{plan}"      # (the planner picks which one)
                assert sequential_scans(plan) == [], f"{name}: a sequential scan of a grown table\n{plan}"
            page = conn.execute(read_log_statement("org-1", 50, before=ids[3000])).all()
        assert [r.id for r in page] == ids[3001:3052]
    finally:
        engine.dispose()
        postgres.drop_database(url)


def test_every_inbox_page_is_an_index_scan_on_a_grown_database(postgres):
    """N2: a person's inbox, its unread count and any page after a cursor walk the recipient
    index, however many notifications everyone has had."""
    url = postgres.create_database()
    engine = make_engine(url)
    start = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
    try:
        migrate(engine, Path(notifications_models.__file__).parent / "migrations", "alembic_version_notifications")
        rows = [dict(id=str(uuid.uuid4()), org_id=f"org-{p % 4}", person_id=f"p{p}", channel="inbox",
                     kind="meeting_notice", title="会议通知", body="…", meeting_id=None, ref_id=None,
                     source_event_id=str(uuid.uuid4()), created_at=start + dt.timedelta(hours=n),
                     read_at=None if n % 3 else start, acknowledged_at=None)
                for p in range(INBOXES) for n in range(NOTICES_PER_INBOX)]
        with engine.begin() as conn:
            conn.execute(sa.insert(notifications_models.Notification.__table__), rows)
            conn.exec_driver_sql("ANALYZE notifications")
        middle = (start + dt.timedelta(hours=250), "~")     # after every row of that hour
        pages = {"first page": {}, "after a cursor": {"key": middle}, "unread only": {"unread_only": True},
                 "unread after a cursor": {"unread_only": True, "key": middle}}
        with engine.connect() as conn:
            for name, args in pages.items():
                for statement in inbox_statements("p5", "org-1", 50, **args):
                    plan = plan_of(conn, statement)
                    assert sequential_scans(plan) == [], f"{name}: a sequential scan of a grown table\n{plan}"
                    assert "ix_notifications_recipient" in plan, f"{name}:\n{plan}"
            page = conn.execute(inbox_statements("p5", "org-1", 50, key=middle)[1]).all()
        assert [r.created_at for r in page] == [start + dt.timedelta(hours=h) for h in range(249, 198, -1)]
    finally:
        engine.dispose()
        postgres.drop_database(url)


# ---------------------------------------------------------------- the cursor over RPC

def test_decision_pages_cover_every_decision_once_in_order_across_equal_times(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, tids = meeting(rpc, 5, present=range(5),
                                          topics=[(f"议题{i}", "work_plan") for i in range(7)])
    for tid in tids:
        bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
        vote(rpc, ids, org_id, bid, ["yes"] * 3)
        rpc.voting.close_ballot(sec, bid)
    decided = [r[0] for r in rows(engine, "SELECT id FROM decisions WHERE org_id = :o ORDER BY id", o=org_id)]
    same = dt.datetime(2026, 6, 1, 8, 0, 0, 123456, tzinfo=dt.timezone.utc)
    with engine.begin() as conn:         # five of seven decided at one instant: only the id orders them
        for did in decided[1:6]:
            conn.execute(sa.update(voting_models.Decision).where(voting_models.Decision.id == did)
                         .values(decided_at=same))
    expected = [r[0] for r in rows(engine, "SELECT id FROM decisions WHERE org_id = :o", o=org_id)]
    stored = {did: at for did, at in rows(engine, "SELECT id, decided_at FROM decisions WHERE org_id = :o",
                                          o=org_id)}
    expected = sorted(expected, key=lambda d: (-_aware(stored[d]).timestamp(), d))

    for limit in (1, 2, 3, 7, 50):
        seen, cursor, pages = [], None, 0
        while True:
            page = rpc.voting.list_decisions(sec, org_id, limit, 0, cursor)
            seen += [d["decision_id"] for d in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert len(page["items"]) == limit
        assert seen == expected, limit                    # every decision once, in order
        assert pages == max(1, -(-len(expected) // limit))  # null exactly on the last page

    forged = [
        "not a cursor",
        base64.urlsafe_b64encode(b"garbage").decode(),
        base64.urlsafe_b64encode(json.dumps(["2026-06-01T08:00:00Z"]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["yesterday", decided[0]]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["2026-06-01T08:00:00", decided[0]]).encode()).decode(),  # no zone
        base64.urlsafe_b64encode(json.dumps([1, 2]).encode()).decode(),
        "",
        "x" * 500,
    ]
    for cursor in forged:
        with pytest.raises(ValidationFailed) as err:
            rpc.voting.list_decisions(sec, org_id, 2, 0, cursor)
        assert (err.value.field, err.value.status) == ("cursor", 400), cursor


def _aware(value):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
