"""The archive's migrations build exactly the models, and a chain written before the retention
period existed (records hashed without it, as the 0002 head left them) still verifies after the
upgrade, on SQLite and PostgreSQL (A1, A2): old records are never rewritten."""
import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session

from services.archive import chain, domain, models
from shared.db import make_engine, migrate

pytestmark = pytest.mark.integration
MIGRATIONS = Path(models.__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_archive"
ORG = "org-old"


def upgrade_to(engine, revision):
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["version_table"] = VERSION_TABLE
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_migrations_build_exactly_the_models(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(database_url)
    try:
        migrate(engine, MIGRATIONS, VERSION_TABLE)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: not (kind == "table" and name.startswith("alembic_")),
            })
            assert compare_metadata(context, models.Base.metadata) == []
    finally:
        engine.dispose()


def old_chain():
    """Three records as the code before retention hashed them (no retention in the envelope),
    the last a correction (reason and recorded_by hashed)."""
    at = "2026-03-01T08:00:00.000000Z"
    records, seq, last = [], 0, domain.GENESIS_HASH
    for i, (kind, content, extra) in enumerate((
            ("decision", {"decision_id": "d-1", "meeting_id": "m-1", "title": "2027年度工作计划"}, {}),
            ("notice", {"meeting_id": "m-1", "title": "党组会议"}, {}),
            ("decision", {"decision_id": "d-1", "meeting_id": "m-1", "title": "2027年度工作计划（更正）"},
             {"corrects": "r-1", "reason": "笔误", "recorded_by": "p-office"}))):
        rec = domain.new_record(seq, last, org_id=ORG, kind=kind, record_id=f"r-{i + 1}",
                                source_event_id=f"e-{i + 1}", created_at=at, content=content, **extra)
        assert "retention" not in domain.content_envelope(rec)
        records.append(rec)
        seq, last = rec["seq"], rec["hash"]
    return records


def test_a2_a_chain_written_before_0003_still_verifies_after_the_upgrade(database_url):
    engine = make_engine(database_url)
    try:
        upgrade_to(engine, "0002")
        records = old_chain()
        with engine.begin() as conn:      # the rows exactly as the 0002 code inserted them
            for rec in records:
                conn.execute(sa.text(
                    "INSERT INTO records (id, org_id, seq, kind, subject_id, source_event_id, classification, "
                    "created_at, content, corrects, prev_hash, hash, algorithm, meeting_id, reason, recorded_by) "
                    "VALUES (:id, :org, :seq, :kind, :subject, :source, :cls, :at, :content, :corrects, :prev, "
                    ":hash, :alg, 'm-1', :reason, :by)"),
                    {"id": rec["record_id"], "org": ORG, "seq": rec["seq"], "kind": rec["kind"],
                     "subject": rec["content"].get("decision_id") or "m-1", "source": rec["source_event_id"],
                     "cls": rec["classification"], "at": dt.datetime(2026, 3, 1, 8, 0),
                     "content": json.dumps(rec["content"], ensure_ascii=False, sort_keys=True),
                     "corrects": rec["corrects"], "prev": rec["prev_hash"], "hash": rec["hash"],
                     "alg": rec["algorithm"], "reason": rec["reason"], "by": rec["recorded_by"]})
            conn.execute(sa.text("INSERT INTO chain_heads (org_id, last_seq, last_hash, updated_at) "
                                 "VALUES (:org, 3, :hash, :at)"),
                         {"org": ORG, "hash": records[-1]["hash"], "at": dt.datetime(2026, 3, 1, 8, 0)})
        upgrade_to(engine, "head")
        with Session(engine) as s:
            assert chain.verify_org(s, ORG) == {"org_id": ORG, "ok": True, "records": 3, "first_bad": None}
            old = chain.view(chain.get(s, "r-1"))
            # A1: the period is derived from the kind, and said not to be hashed
            assert (old["retention"], old["retention_label"], old["retention_hashed"]) == ("permanent", "永久", False)
            assert domain.export_record(chain.as_record(chain.get(s, "r-2"))).get("retention") is None
        with Session(engine) as s, s.begin():              # a new record joins the old chain, hashed with retention
            new = chain.append(s, org_id=ORG, kind="leave", subject_id="l-1", source_event_id="e-4",
                               content={"leave_id": "l-1"}, record_id="r-4", now=dt.datetime.now(dt.timezone.utc))
            assert new["retention"] == "10y" and new["prev_hash"] == records[-1]["hash"]
        with Session(engine) as s:
            assert chain.verify_org(s, ORG) == {"org_id": ORG, "ok": True, "records": 4, "first_bad": None}
        with engine.begin() as conn:      # and old records are still tamper-evident
            conn.execute(sa.text("UPDATE records SET content = replace(content, '党组会议', '党委会议') WHERE id = 'r-2'"))
        with Session(engine) as s:
            assert chain.verify_org(s, ORG)["first_bad"] == {"seq": 2, "record_id": "r-2", "reason": "content_altered"}
    finally:
        engine.dispose()
