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
