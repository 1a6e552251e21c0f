"""The PostgreSQL side of deploy/: one database and one role per service, and the
archive's split between the owner role (migrations) and the runtime role (SELECT
and INSERT on the records).

Runs the real files against the real server: deploy/postgres/10-create-databases.sh
(with a unique SUITE_DB_PREFIX, so it cannot touch anything else on the server),
then the exact commands compose gives the archive-migrate and archive-grants
one-shot services, then checks what each role may and may not do.
"""
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from shared.db import make_engine, migrate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
INIT_SCRIPT = ROOT / "deploy" / "postgres" / "10-create-databases.sh"
GRANTS = ROOT / "deploy" / "postgres" / "archive-grants.sql"
SERVICES = ("meetings", "voting", "accountability", "notifications", "gateway")
PASSWORD_VARS = [f"{s.upper()}_DB_PASSWORD" for s in SERVICES] + ["ARCHIVE_OWNER_DB_PASSWORD", "ARCHIVE_DB_PASSWORD"]
ARCHIVE_MIGRATIONS = ROOT / "services" / "archive" / "migrations"


def compose_service(name):
    return yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"][name]


def psql():
    found = shutil.which("psql")
    if not found:
        pytest.fail("psql (PostgreSQL's client) is needed to run the deploy init script: apt-get install postgresql-client")
    return found


class Cluster:
    def __init__(self, admin_url, prefix):
        self.admin = sa.engine.make_url(admin_url)
        self.prefix = prefix
        self.engines = []

    def pg_env(self, **extra):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("PG")]:
            del env[key]
        env.update(PGHOST=self.admin.host or "127.0.0.1", PGPORT=str(self.admin.port or 5432))
        if self.admin.password:
            env["PGPASSWORD"] = self.admin.password
        env.update(extra)
        return env

    def url(self, role, database):
        return self.admin.set(username=role, database=database, drivername="postgresql").render_as_string(
            hide_password=False)

    def engine(self, role, database):
        engine = make_engine(self.url(self.prefix + role, self.prefix + database))
        self.engines.append(engine)
        return engine

    def run_init_script(self):
        passwords = {var: f"pw-{uuid.uuid4().hex[:12]}" for var in PASSWORD_VARS}
        passwords["ARCHIVE_DB_PASSWORD"] = "it's a \"quoted\" pass"   # psql quotes it, nothing breaks
        env = self.pg_env(POSTGRES_USER=self.admin.username or "postgres",
                          POSTGRES_DB=self.admin.database or "postgres",
                          SUITE_DB_PREFIX=self.prefix, **passwords)
        return subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=120)

    def drop(self):
        for engine in self.engines:
            engine.dispose()
        admin = sa.create_engine(self.admin.render_as_string(hide_password=False).replace(
            "postgresql://", "postgresql+psycopg2://"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            for name in (*SERVICES, "archive"):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.prefix}{name}" WITH (FORCE)'))
            for name in (*SERVICES, "archive", "archive_owner"):
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{self.prefix}{name}"'))
        admin.dispose()


@pytest.fixture(scope="module")
def cluster(postgres):
    psql()
    c = Cluster(postgres.admin_url, f"t{uuid.uuid4().hex[:8]}_")
    try:
        first = c.run_init_script()
        assert first.returncode == 0, first.stderr
        again = c.run_init_script()          # creating what exists is a no-op, not an error
        assert again.returncode == 0, again.stderr
        yield c
    finally:
        c.drop()


def run_archive_migrate(cluster):
    """The archive-migrate service's command, with the owner role's URL as compose sets it."""
    spec = compose_service("archive-migrate")
    assert spec["environment"]["ARCHIVE_DATABASE_URL"].startswith("postgresql://suite_archive_owner:")
    command = [sys.executable if part == "python" else part for part in spec["command"]]
    env = dict(os.environ, ARCHIVE_DATABASE_URL=cluster.url(cluster.prefix + "archive_owner", cluster.prefix + "archive"))
    env.pop("DATABASE_URL", None)
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def run_archive_grants(cluster):
    """The archive-grants service's psql command, as the owner role, the runtime role renamed by prefix."""
    spec = compose_service("archive-grants")
    assert spec["environment"]["PGUSER"] == "suite_archive_owner"
    command = [psql() if part == "psql" else part for part in spec["command"]]
    command = [f"runtime_role={cluster.prefix}archive" if part == "runtime_role=suite_archive" else part
               for part in command]
    command = [str(GRANTS) if part == "/grants/archive-grants.sql" else part for part in command]
    env = cluster.pg_env(PGUSER=cluster.prefix + "archive_owner", PGDATABASE=cluster.prefix + "archive")
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def can(engine, sql, **params):
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)
        return True
    except sa.exc.ProgrammingError as exc:
        # InsufficientPrivilege: "permission denied for ..." or "must be owner of ..."
        assert getattr(exc.orig, "pgcode", None) == "42501", exc
        return False


def test_one_database_per_service_owned_by_its_own_role(cluster):
    admin = make_engine(cluster.admin.render_as_string(hide_password=False))
    cluster.engines.append(admin)
    with admin.connect() as conn:
        owners = dict(conn.execute(sa.text(
            "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE :p"),
            {"p": cluster.prefix + "%"}).all())
        roles = dict(conn.execute(sa.text(
            "SELECT rolname, rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname LIKE :p"),
            {"p": cluster.prefix + "%"}).all())
    p = cluster.prefix
    assert owners == {**{p + s: p + s for s in SERVICES}, p + "archive": p + "archive_owner"}
    assert set(roles) == {p + s for s in SERVICES} | {p + "archive", p + "archive_owner"}
    assert not any(roles.values()), "no service role may be superuser or create databases or roles"

    # a service's role migrates its own database; it cannot even connect to another's
    from services.notifications import models as notification_models
    own = cluster.engine("notifications", "notifications")
    migrate(own, Path(notification_models.__file__).parent / "migrations", "alembic_version_notifications")
    with own.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM notifications")).scalar_one() == 0
    foreign = cluster.engine("notifications", "archive")
    with pytest.raises(sa.exc.OperationalError, match="permission denied"):
        with foreign.connect():
            pass


def test_the_archive_runtime_role_cannot_migrate_so_the_owner_does_then_it_may_only_read_and_append(cluster):
    runtime = cluster.engine("archive", "archive")
    # before archive-migrate has run, the service (runtime role) cannot create the schema: it refuses to start
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        migrate(runtime, ARCHIVE_MIGRATIONS, "alembic_version_archive")

    migrated = run_archive_migrate(cluster)
    assert migrated.returncode == 0, migrated.stderr
    assert "archive migrations applied" in migrated.stdout
    granted = run_archive_grants(cluster)
    assert granted.returncode == 0, granted.stderr
    again = run_archive_grants(cluster)       # runs after every migration: repeatable
    assert again.returncode == 0, again.stderr

    # what the service does at start: the schema is at head, so "migrate" only reads the version
    migrate(runtime, ARCHIVE_MIGRATIONS, "alembic_version_archive")

    record = dict(id=str(uuid.uuid4()), org_id="org-a", seq=1, kind="decision", subject_id="d1",
                  source_event_id=str(uuid.uuid4()), classification="internal", created_at="2026-12-10T02:00:00Z",
                  content="{}", corrects=None, prev_hash="0" * 64, hash="a" * 64, algorithm="sha256")
    columns = ", ".join(record)
    values = ", ".join(f":{k}" for k in record)
    assert can(runtime, f"INSERT INTO records ({columns}) VALUES ({values})", **record)
    with runtime.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM records")).scalar_one() == 1
    # the permanent record cannot be changed or removed by the service's role
    assert not can(runtime, "UPDATE records SET hash = :h", h="b" * 64)
    assert not can(runtime, "DELETE FROM records")
    assert not can(runtime, "TRUNCATE records")
    assert not can(runtime, "DELETE FROM inbox")
    assert not can(runtime, "UPDATE inbox SET handler = 'x'")
    # nor the schema, nor the migration version
    assert not can(runtime, "CREATE TABLE sneaky (id int)")
    assert not can(runtime, "ALTER TABLE records ADD COLUMN note text")
    assert not can(runtime, "UPDATE alembic_version_archive SET version_num = 'x'")
    assert not can(runtime, "INSERT INTO alembic_version_archive VALUES ('x')")
    # the bookkeeping the code moves forward: chain heads (locked while appending) and the outbox relay
    assert can(runtime, "INSERT INTO chain_heads (org_id, last_seq, last_hash, updated_at) "
                        "VALUES ('org-a', 1, :h, now())", h="a" * 64)
    assert can(runtime, "SELECT * FROM chain_heads WHERE org_id = 'org-a' FOR UPDATE")
    assert can(runtime, "UPDATE chain_heads SET last_seq = 2 WHERE org_id = 'org-a'")
    assert not can(runtime, "DELETE FROM chain_heads")
    assert can(runtime, "INSERT INTO inbox (event_id, handler, processed_at) VALUES ('e1', 'h', now())")
    assert can(runtime, "INSERT INTO outbox (event_id, event_type, org_id, body, created_at, attempts, unroutable) "
                        "VALUES ('e2', 'record_appended', 'org-a', '{}', now(), 0, false)")
    assert can(runtime, "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE event_id = 'e2'")
    assert not can(runtime, "DELETE FROM outbox")

    # the owner, which runs the migrations, keeps full rights on its tables
    owner = cluster.engine("archive_owner", "archive")
    assert can(owner, "UPDATE chain_heads SET last_seq = 3 WHERE org_id = 'org-a'")
