"""The meetings migrations build exactly the models, and 0002 keeps the data 0001 stored."""
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from services.meetings import models
from shared.db import make_engine, migrate

pytestmark = pytest.mark.integration
MIGRATIONS = Path(models.__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_meetings"


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


def test_0002_keeps_existing_topics_and_marks_personnel_as_prepared_by_hr(database_url):
    engine = make_engine(database_url)
    try:
        upgrade_to(engine, "0001")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO organizations (id, name, timezone, created_at) "
                                 "VALUES ('o', 'org', 'Asia/Shanghai', '2026-01-01 00:00:00')"))
            conn.execute(sa.text(
                "INSERT INTO meetings (id, org_id, kind, title, scheduled_at, status, chair_person_id, created_by, "
                "created_at) VALUES ('m', 'o', 'regular', 't', '2026-02-01 00:00:00', 'draft', 's', 's', "
                "'2026-01-01 00:00:00')"))
            for tid, category in (("t1", "work_plan"), ("t2", "personnel")):
                conn.execute(sa.text(
                    "INSERT INTO topics (id, meeting_id, org_id, title, category, position, proposed_by, created_at) "
                    "VALUES (:id, 'm', 'o', 'x', :c, 1, 's', '2026-01-01 00:00:00')"), {"id": tid, "c": category})
        upgrade_to(engine, "head")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, meeting_id, status, prepared_by, broad FROM topics ORDER BY id")).all()
        assert [(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows] == [
            ("t1", "m", "accepted", "office", False), ("t2", "m", "accepted", "hr", False)]
    finally:
        engine.dispose()


def test_0003_keeps_provisional_handlings_approved_and_terms_open(database_url):
    engine = make_engine(database_url)
    try:
        upgrade_to(engine, "0002")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO organizations (id, name, timezone, created_at) "
                                 "VALUES ('o', 'org', 'Asia/Shanghai', '2026-01-01 00:00:00')"))
            conn.execute(sa.text("INSERT INTO persons (id, name, created_at) "
                                 "VALUES ('p', 'n', '2026-01-01 00:00:00')"))
            conn.execute(sa.text("INSERT INTO appointments (id, org_id, person_id, role, start_date, created_at) "
                                 "VALUES ('a', 'o', 'p', 'member', '2026-01-01', '2026-01-01 00:00:00')"))
            conn.execute(sa.text(
                "INSERT INTO provisional_handlings (id, org_id, title, description, handled_by, approved_by, "
                "recorded_at) VALUES ('h', 'o', 't', 'd', 'p', 's', '2026-01-02 00:00:00')"))
        upgrade_to(engine, "head")
        with engine.connect() as conn:
            h = conn.execute(sa.text("SELECT status, approved_by, approved_at FROM provisional_handlings")).one()
            a = conn.execute(sa.text("SELECT end_date, end_reason FROM appointments")).one()
        assert h[0] == "approved" and h[1] == "s" and h[2] is not None      # M6: approved before stays approved
        assert tuple(a) == (None, None)
    finally:
        engine.dispose()


def test_a_start_at_head_skips_alembic_and_an_older_database_is_still_upgraded(database_url, monkeypatch):
    from shared import db

    head = db.script_head(MIGRATIONS)
    assert head not in (None, "0001")
    engine = make_engine(database_url)
    try:
        upgrade_to(engine, "0001")                    # a database behind
        assert db.stored_revisions(engine, VERSION_TABLE) == {"0001"}
        migrate(engine, MIGRATIONS, VERSION_TABLE)    # upgraded by Alembic
        assert db.stored_revisions(engine, VERSION_TABLE) == {head}
        assert "materials" in sa.inspect(engine).get_table_names()     # made by 0002

        import alembic.command
        calls = []
        monkeypatch.setattr(alembic.command, "upgrade", lambda *a, **k: calls.append(a))
        migrate(engine, MIGRATIONS, VERSION_TABLE)    # at head: nothing to do, Alembic not asked
        assert calls == []
    finally:
        engine.dispose()


def test_script_head_gives_up_on_what_it_cannot_read_simply(tmp_path):
    from shared.db import script_head

    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (versions / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    assert script_head(tmp_path) == "b"
    (versions / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')       # two heads (a branch)
    assert script_head(tmp_path) is None
    (versions / "c.py").write_text('revision = "c"\ndown_revision = ("a", "b")\n')   # a merge
    assert script_head(tmp_path) is None


def test_sqlite_runs_in_wal_mode_with_the_configured_synchronous_level(tmp_path, monkeypatch):
    from shared.db import sqlite_synchronous

    levels = {}
    for setting, expected in ((None, 1), ("full", 2)):
        if setting is None:
            monkeypatch.delenv("SQLITE_SYNCHRONOUS", raising=False)
        else:
            monkeypatch.setenv("SQLITE_SYNCHRONOUS", setting)
        engine = make_engine(f"sqlite:///{tmp_path}/{setting}.sqlite3")
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                levels[setting] = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        finally:
            engine.dispose()
    assert levels == {None: 1, "full": 2}           # NORMAL by default, FULL when asked
    with pytest.raises(ValueError, match="SQLITE_SYNCHRONOUS"):
        sqlite_synchronous({"SQLITE_SYNCHRONOUS": "OFF"})
