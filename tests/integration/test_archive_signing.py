"""A2 on a real RabbitMQ, on SQLite and PostgreSQL: SM3 per organization and by configuration,
signed checkpoints (configured or generated key), exports verified offline by the standalone
script in a subprocess, the verify command's progress bar, migration 0002 on an existing
chain; and A1 append-only enforced by PostgreSQL itself for the service's runtime role."""
import base64
import datetime as dt
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from kombu import Connection, Exchange, Queue

from services.archive import chain, domain, models, signing
from services.archive.service import ArchiveService
from shared import merkle
from shared.amqp import EventPublisher
from shared.clock import utcnow
from shared.db import Store, make_engine, migrate
from shared.envelope import make_envelope
from shared.errors import Forbidden, RuleViolation, ValidationFailed
from tests.integration.test_archive_rpc import ORG_A, ORG_B, SEC_A, SEC_B, decision, ready_count, wait_for
from tests.support.roster import actor

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "verify_export.py"
MIGRATIONS = ROOT / "services" / "archive" / "migrations"
MEMBER_A = actor("p-mem-a", ORG_A, "member")
OFFICE_A = actor("p-office-a", ORG_A, "office")
KEY = signing.generate_private_key()
PUBLIC = signing.public_key_of(signing.load_private_key(KEY))


@pytest.fixture
def send(amqp_uri):
    publisher = EventPublisher(amqp_uri, "voting")

    def send(org_id, data):
        envelope = make_envelope("voting", "result_decided", org_id, data)
        publisher.publish(envelope)
        return envelope
    yield send
    publisher.close()


@pytest.fixture
def db(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def archived(archive, org_id, n):
    lister = actor("p-waiter", org_id, "member")
    wait_for(lambda: archive.list_records(lister, org_id)["total"] == n)


def spy(amqp_uri, routing_key):
    name = f"spy-{routing_key}"
    with Connection(amqp_uri) as conn:
        Queue(name, exchange=Exchange("archive.events", type="topic", durable=True), routing_key=routing_key,
              durable=False, auto_delete=False)(conn.channel()).declare()
    return name


def take(amqp_uri, queue, n):
    wait_for(lambda: ready_count(amqp_uri, queue) >= n)
    with Connection(amqp_uri) as conn:
        return [json.loads(conn.default_channel.basic_get(queue, no_ack=True).body) for _ in range(n)]


def run_tool(path, *args):
    return subprocess.run([sys.executable, str(TOOL), str(path), *args], capture_output=True, text=True,
                          timeout=60, cwd=path.parent)


# ------------------------------------------------------------------ SM3 (A2)


def test_a2_sm3_chosen_per_organization_and_by_configuration_and_mixed_chains_verify(
        container_factory, rpc_client, database_url, send, db):
    container_factory(ArchiveService, database_url=database_url).start()
    archive = rpc_client().archive
    assert archive.hash_algorithm(MEMBER_A, ORG_A) == {"org_id": ORG_A, "algorithm": "sha256", "configured": False}
    send(ORG_A, decision(1))
    archived(archive, ORG_A, 1)
    with pytest.raises(Forbidden) as err:
        archive.set_hash_algorithm(MEMBER_A, ORG_A, "sm3")
    assert err.value.rule == "A2"
    with pytest.raises(Forbidden):
        archive.set_hash_algorithm(SEC_B, ORG_A, "sm3")
    with pytest.raises(ValidationFailed) as err:
        archive.set_hash_algorithm(SEC_A, ORG_A, "md5")
    assert err.value.field == "algorithm" and err.value.rule == "A2"
    assert count_rows(db, "hash_settings") == 0
    assert archive.set_hash_algorithm(OFFICE_A, ORG_A, "sm3")["algorithm"] == "sm3"
    send(ORG_A, decision(2))
    send(ORG_B, decision(3))
    archived(archive, ORG_A, 2)
    archived(archive, ORG_B, 1)
    items = archive.list_records(SEC_A, ORG_A)["items"]
    assert [r["algorithm"] for r in items] == ["sha256", "sm3"]
    env = {k: items[1][k] for k in domain.ENVELOPE_FIELDS if k != "record_id"}
    env["record_id"] = items[1]["record_id"]
    env["retention"] = "permanent"              # A1: hashed with every record made since 0003
    assert items[1]["hash"] == domain.sm3_pure(
        (items[0]["hash"] + "\n" + domain.canonical_json(env)).encode("utf-8"))
    assert archive.list_records(SEC_B, ORG_B)["items"][0]["algorithm"] == "sha256"     # only ORG_A chose
    assert archive.verify(SEC_A, ORG_A) == {"org_id": ORG_A, "ok": True, "records": 2, "first_bad": None}
    with db.begin() as conn:      # the SM3 record tampered: found
        conn.execute(sa.text("UPDATE records SET content = replace(content, :a, :b) WHERE org_id = :o AND seq = 2"),
                     {"a": '"yes":5', "b": '"yes":4', "o": ORG_A})
    assert archive.verify(SEC_A, ORG_A)["first_bad"] == {"seq": 2, "record_id": items[1]["record_id"],
                                                         "reason": "content_altered"}


def count_rows(db, table):
    with db.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a2_configured_default_algorithm_is_sm3(container_factory, rpc_client, database_url, send):
    container_factory(ArchiveService, database_url=database_url, ARCHIVE_HASH_ALGORITHM="sm3").start()
    archive = rpc_client().archive
    assert archive.hash_algorithm(SEC_B, ORG_B) == {"org_id": ORG_B, "algorithm": "sm3", "configured": False}
    send(ORG_B, decision(1))
    archived(archive, ORG_B, 1)
    assert archive.list_records(SEC_B, ORG_B)["items"][0]["algorithm"] == "sm3"
    assert archive.verify(SEC_B, ORG_B)["ok"] is True


@pytest.mark.parametrize("setting", [{"ARCHIVE_HASH_ALGORITHM": "md5"}, {"ARCHIVE_SIGNING_KEY": "not-a-key"},
                                     {"ARCHIVE_SIGNING_KEY": base64.b64encode(b"x" * 31).decode()}])
def test_a2_a_bad_algorithm_or_key_setting_stops_the_service_at_start(container_factory, tmp_path, setting):
    container = container_factory(ArchiveService, database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}", **setting)
    with pytest.raises(ValueError, match="A2"):
        container.start()


# ------------------------------------------------------------------ checkpoints and export (A2)


def test_a2_signed_checkpoint_and_export_verified_offline(container_factory, rpc_client, database_url, send,
                                                          amqp_uri, tmp_path, db):
    container_factory(ArchiveService, database_url=database_url, ARCHIVE_SIGNING_KEY=KEY).start()
    archive = rpc_client().archive
    events = spy(amqp_uri, "checkpoint_signed")
    assert archive.public_key() == {"algorithm": "ed25519", "public_key": PUBLIC}
    for i in (1, 2, 3):
        send(ORG_A, decision(i, title=f"关于第{i}项工作的决定"))
    archived(archive, ORG_A, 3)
    first = archive.list_records(SEC_A, ORG_A)["items"][0]
    assert archive.get_record(SEC_A, first["record_id"])["proof"]["checkpoint"] is None

    for who in (MEMBER_A, SEC_B, actor("p-conf", ORG_A, "confidential_secretary")):
        with pytest.raises(Forbidden):
            archive.sign_checkpoint(who, ORG_A)
    checkpoint = archive.sign_checkpoint(OFFICE_A, ORG_A)
    head = archive.list_records(SEC_A, ORG_A)["items"][-1]
    assert checkpoint["seq"] == 3 and checkpoint["head_hash"] == head["hash"] and checkpoint["org_id"] == ORG_A
    assert checkpoint["public_key"] == PUBLIC and checkpoint["algorithm"] == "ed25519"
    payload = domain.checkpoint_payload(ORG_A, 3, head["hash"], checkpoint["created_at"])
    assert signing.verify_signature(PUBLIC, payload, checkpoint["signature"])
    [event] = take(amqp_uri, events, 1)
    assert event["event_type"] == "checkpoint_signed" and event["org_id"] == ORG_A
    assert event["data"] == {**{k: checkpoint[k] for k in ("org_id", "seq", "head_hash", "created_at", "signature",
                                                           "public_key", "algorithm")},
                             # the RFC 6962 tree the witness checks consistency against; the first has no predecessor
                             "tree_root": merkle.merkle_root([r["hash"] for r in archive.list_records(SEC_A, ORG_A)["items"]]),
                             "consistency": None}
    # signing an unchanged head again returns the same checkpoint and announces nothing new
    assert archive.sign_checkpoint(SEC_A, ORG_A) == checkpoint
    assert count_rows(db, "checkpoints") == 1

    proof = archive.get_record(MEMBER_A, first["record_id"])["proof"]
    assert proof["checkpoint"] == checkpoint and proof["covered"] is True
    assert proof["prev_hash"] == "0" * 64 and proof["hash"] == first["hash"]
    assert domain.record_hash(proof["prev_hash"], json.loads(proof["canonical_envelope"])) == first["hash"]

    send(ORG_A, decision(4))
    archived(archive, ORG_A, 4)
    with pytest.raises(Forbidden) as err:
        archive.export(MEMBER_A, ORG_A)
    assert err.value.rule == "A2"
    text = archive.export(SEC_A, ORG_A)            # signs the new head first
    lines = text.splitlines()
    assert len(lines) == 5 and json.loads(lines[-1])["checkpoint"]["seq"] == 4
    assert [json.loads(line)["seq"] for line in lines[:-1]] == [1, 2, 3, 4]
    [event] = take(amqp_uri, events, 1)
    assert event["data"]["seq"] == 4
    path = tmp_path / "export.jsonl"
    path.write_text(text, encoding="utf-8")
    result = run_tool(path, "--public-key", archive.public_key()["public_key"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"ok: 4 records of {ORG_A}, chain intact up to the signed checkpoint"

    # one word of one record altered in the file: named at its line
    number = next(i for i, line in enumerate(lines, 1) if "关于第3项工作的决定" in line)
    path.write_text(text.replace("关于第3项工作的决定", "关于第8项工作的决定"), encoding="utf-8")
    result = run_tool(path, "--public-key", PUBLIC)
    assert result.returncode == 1
    assert result.stdout.startswith(f"line {number}: hash does not match the content (seq {number}"), result.stdout

    # tampering in the database: signing and exporting are refused until it is repaired
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE records SET classification = 'public' WHERE org_id = :o AND seq = 2"),
                     {"o": ORG_A})
    send(ORG_A, decision(5))
    archived(archive, ORG_A, 5)
    for call in (lambda: archive.sign_checkpoint(SEC_A, ORG_A), lambda: archive.export(SEC_A, ORG_A)):
        with pytest.raises(RuleViolation) as err:
            call()
        assert err.value.rule == "A2" and "seq 2" in err.value.message
    assert count_rows(db, "checkpoints") == 2


def test_a2_without_a_configured_key_one_is_made_once_in_a_file_never_in_the_database(
        container_factory, rpc_client, database_url, db, tmp_path):
    """Issue 17 defect 6: the signing key is never stored in the archive's database (whoever holds
    it could sign a rolled-back chain); a development start makes a key file in DATA_DIR."""
    container = container_factory(ArchiveService, database_url=database_url)
    container.start()
    archive = rpc_client().archive
    key = archive.public_key()["public_key"]
    assert len(base64.b64decode(key)) == 32 and key != PUBLIC
    assert archive.public_key()["public_key"] == key
    checkpoint = archive.sign_checkpoint(actor("p-sec-e", "org-empty", "secretary"), "org-empty")   # seq 0
    assert checkpoint["seq"] == 0 and checkpoint["public_key"] == key
    container.stop()
    container_factory(ArchiveService, database_url=database_url).start()
    assert archive.public_key()["public_key"] == key
    assert count_rows(db, "signing_keys") == 0
    key_file = tmp_path / "data" / "archive-signing.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    private = key_file.read_text().strip()
    with db.connect() as conn:          # the private key appears nowhere in the database
        for table in ("records", "checkpoints", "chain_heads", "outbox", "hash_settings"):
            assert private not in str(conn.execute(sa.text(f"SELECT * FROM {table}")).all())


def test_a2_a_deployment_provides_the_key_as_a_secret_file_or_the_service_does_not_start(
        container_factory, rpc_client, database_url, tmp_path):
    secret = tmp_path / "archive_signing_key"
    secret.write_text(KEY + "\n")
    container_factory(ArchiveService, database_url=database_url,
                      ARCHIVE_SIGNING_KEY_FILE=str(secret), ARCHIVE_REQUIRE_SIGNING_KEY="1").start()
    assert rpc_client().archive.public_key()["public_key"] == PUBLIC
    container = container_factory(ArchiveService, database_url=database_url, ARCHIVE_REQUIRE_SIGNING_KEY="1")
    with pytest.raises(ValueError, match="ARCHIVE_SIGNING_KEY_FILE"):
        container.start()


# ------------------------------------------------------------------ verify command: progress (A2)


def append_directly(database_url, org_id, n):
    store = Store(database_url, "archive", models.outbox, models.inbox)
    migrate(store.engine, MIGRATIONS, "alembic_version_archive")
    try:
        with store.uow() as uow:
            for i in range(n):
                chain.append(uow.session, org_id=org_id, kind="decision", subject_id=f"d-{i}",
                             source_event_id=str(uuid.uuid4()), content=decision(i), record_id=str(uuid.uuid4()),
                             now=utcnow())
    finally:
        store.dispose()


@pytest.mark.parametrize("forged", ["NaN", "Infinity", "-Infinity", "1e400",
                                    # what the fast decoder refuses or reads as a double: the strict one decides
                                    '"\\ud800"', "9007199254740993", "123456789012345678901234567890"])
def test_a2_a_null_edited_into_a_value_json_has_no_form_for_is_content_altered(database_url, db, forged):
    # verification's quickest encoder writes NaN and Infinity as null: the store is read with
    # them refused, so `null` → `NaN` in the database cannot pass for the hashed `null`; a lone
    # surrogate or an integer beyond 2**53 has no canonical form either (A2)
    append_directly(database_url, ORG_A, 3)
    from sqlalchemy.orm import Session
    with db.connect() as conn:
        second = conn.execute(sa.text("SELECT id, content FROM records WHERE org_id = :o AND seq = 2"),
                              {"o": ORG_A}).one()
    assert '"superseded_decision_id":null' in second.content
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE records SET content = :c WHERE id = :i"), {
            "i": second.id,
            "c": second.content.replace('"superseded_decision_id":null', f'"superseded_decision_id":{forged}')})
    with Session(db) as s:
        assert chain.verify_org(s, ORG_A) == {"org_id": ORG_A, "ok": False, "records": 1, "first_bad": {
            "seq": 2, "record_id": second.id, "reason": "content_altered"}}


def run_cli(database_url, *args):
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env["ARCHIVE_DATABASE_URL"] = database_url
    result = subprocess.run([sys.executable, "-m", "services.archive.verify", *args], cwd=ROOT, env=env,
                            capture_output=True, timeout=120)
    # bytes decoded by hand: text mode would turn the bar's carriage returns into newlines
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode("utf-8"),
                                       result.stderr.decode("utf-8"))


def test_a2_verify_command_draws_a_progress_bar_and_keeps_its_exit_codes(database_url, db):
    append_directly(database_url, ORG_A, 25)
    quiet = run_cli(database_url)                       # short chains: no bar by default
    assert quiet.returncode == 0 and quiet.stderr == "" and f"{ORG_A}: ok (25 records)" in quiet.stdout
    shown = run_cli(database_url, "--progress")
    assert shown.returncode == 0 and shown.stdout == quiet.stdout
    assert re.search(rf"\r{ORG_A} \[#{{30}}\] 100% 25/25 records\n$", shown.stderr), repr(shown.stderr)
    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM records WHERE seq = 25"))
    broken = run_cli(database_url, "--progress")
    assert broken.returncode == 1 and f"{ORG_A}: BROKEN at seq 25: truncated" in broken.stdout
    assert "24/25 records" in broken.stderr
    assert run_cli(database_url, "--no-progress").stderr == ""


def test_a2_verify_command_draws_the_bar_by_itself_on_long_chains(tmp_path):
    from services.archive import verify as cli
    url = f"sqlite:///{tmp_path / 'long.sqlite3'}"
    n = cli.PROGRESS_FROM
    records = domain.build_chain(ORG_A, [(str(uuid.uuid4()), str(uuid.uuid4()), {"decision_id": f"d-{i}"})
                                         for i in range(n)], created_at="2026-11-28T10:00:00.000000Z")
    engine = make_engine(url)
    migrate(engine, MIGRATIONS, "alembic_version_archive")
    created = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.timezone.utc)
    with engine.begin() as conn:      # bulk: the chain as the service would have written it
        conn.execute(sa.insert(models.Record.__table__), [
            {"id": r["record_id"], "org_id": ORG_A, "seq": r["seq"], "kind": "decision", "subject_id": None,
             "source_event_id": r["source_event_id"], "classification": r["classification"], "created_at": created,
             "content": r["content"], "corrects": None, "prev_hash": r["prev_hash"], "hash": r["hash"],
             "algorithm": r["algorithm"]} for r in records])
        conn.execute(sa.insert(models.ChainHead.__table__).values(org_id=ORG_A, last_seq=n, last_hash=records[-1]["hash"],
                                                                  updated_at=created))
    engine.dispose()
    result = run_cli(url)
    assert result.returncode == 0 and f"ok ({n} records)" in result.stdout
    assert result.stderr.count("\r") == n // 2000 + 1
    assert f"100% {n}/{n} records" in result.stderr and result.stderr.endswith("\n")


# ------------------------------------------------------------------ migration 0002 on an existing archive


def test_migration_0002_keeps_existing_chains_and_fills_the_search_aids(database_url, db):
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["version_table"] = "alembic_version_archive"
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    rec = domain.new_record(0, domain.GENESIS_HASH, org_id=ORG_A, kind="decision", record_id="r-old",
                            source_event_id="e-old", created_at="2026-11-28T10:00:00.000000Z", content=decision(1))
    with db.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO records (id, org_id, seq, kind, subject_id, source_event_id, classification, created_at,"
            " content, corrects, prev_hash, hash, algorithm) VALUES ('r-old', :o, 1, 'decision', 'd-1', 'e-old',"
            " 'internal', :t, :c, NULL, :p, :h, 'sha256')"),
            {"o": ORG_A, "t": "2026-11-28 10:00:00.000000", "c": json.dumps(decision(1), ensure_ascii=False),
             "p": rec["prev_hash"], "h": rec["hash"]})
        conn.execute(sa.text("INSERT INTO chain_heads VALUES (:o, 1, :h, :t)"),
                     {"o": ORG_A, "h": rec["hash"], "t": "2026-11-28 10:00:00.000000"})
    migrate(db, MIGRATIONS, "alembic_version_archive")
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT meeting_id FROM records")).scalar_one() == "m-1"
        assert sorted(conn.execute(sa.text("SELECT person_id FROM record_persons")).scalars()) == [
            "p1", "p4", "p6", "p7"]
    from sqlalchemy.orm import Session
    with Session(db) as s:
        assert chain.verify_org(s, ORG_A) == {"org_id": ORG_A, "ok": True, "records": 1, "first_bad": None}


# ------------------------------------------------------------------ A1: append-only at the database


def readme_snippet():
    text = (ROOT / "services" / "archive" / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- append-only-role:begin -->")[1].split("<!-- append-only-role:end -->")[0]
    sql = block.split("```sql")[1].split("```")[0]
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


@pytest.fixture
def app_role(postgres, pg_url):
    """The README's append-only role, created in this test's database (name made unique)."""
    name = f"archive_app_{uuid.uuid4().hex[:8]}"
    owner = make_engine(pg_url)
    migrate(owner, MIGRATIONS, "alembic_version_archive")          # the owner migrates
    with owner.begin() as conn:
        for statement in readme_snippet():
            conn.execute(sa.text(statement.replace("archive_app", name)))
    url = sa.engine.make_url(pg_url).set(username=name, password="change-me").render_as_string(hide_password=False)
    yield url
    with postgres.admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                     {"r": name})
    with owner.begin() as conn:
        conn.execute(sa.text(f'DROP OWNED BY "{name}"'))
    owner.dispose()
    with postgres.admin.connect() as conn:
        conn.execute(sa.text(f'DROP ROLE "{name}"'))


def test_a1_the_database_refuses_update_and_delete_to_the_append_only_role(app_role, container_factory,
                                                                            rpc_client, amqp_uri):
    store = Store(app_role, "archive", models.outbox, models.inbox)
    try:
        migrate(store.engine, MIGRATIONS, "alembic_version_archive")   # at head: only reads the version
        with store.uow() as uow:                                        # appends work: INSERT + head UPDATE
            assert uow.first_time(str(uuid.uuid4()), "archive.test")
            for i in (1, 2):
                chain.append(uow.session, org_id=ORG_A, kind="decision", subject_id=f"d-{i}",
                             source_event_id=str(uuid.uuid4()), content=decision(i), record_id=str(uuid.uuid4()),
                             now=utcnow())
            uow.emit("record_archived", ORG_A, {"record_id": "r"})
        with store.read() as s:
            assert chain.verify_org(s, ORG_A)["records"] == 2

        def refused(sql):
            with pytest.raises(sa.exc.ProgrammingError) as err:
                with store.engine.begin() as conn:
                    conn.execute(sa.text(sql))
            assert "InsufficientPrivilege" in str(err.value)

        for sql in ("UPDATE records SET content = '{}'", "DELETE FROM records", "TRUNCATE records",
                    "UPDATE records SET seq = seq + 1", "DELETE FROM chain_heads", "DELETE FROM read_log",
                    "UPDATE read_log SET granted = true", "DELETE FROM checkpoints", "UPDATE signing_keys SET "
                    "private_key = 'x'", "DELETE FROM record_persons", "DELETE FROM inbox",
                    "UPDATE alembic_version_archive SET version_num = 'x'", "DROP TABLE records",
                    "ALTER TABLE records ADD COLUMN note text"):
            refused(sql)
        with store.read() as s:
            assert chain.verify_org(s, ORG_A) == {"org_id": ORG_A, "ok": True, "records": 2, "first_bad": None}
    finally:
        store.dispose()

    # the whole service runs as that role: consumes, signs, logs confidential reads
    container_factory(ArchiveService, database_url=app_role).start()
    archive = rpc_client().archive
    publisher = EventPublisher(amqp_uri, "voting")
    publisher.publish(make_envelope("voting", "result_decided", ORG_A, decision(3, category="personnel")))
    publisher.close()
    archived(archive, ORG_A, 3)
    confidential = [r for r in archive.list_records(MEMBER_A, ORG_A)["items"] if r["classification"] == "confidential"]
    assert archive.get_record(SEC_A, confidential[0]["record_id"])["content"]["decision_id"] == "d-3"
    assert archive.sign_checkpoint(SEC_A, ORG_A)["seq"] == 3
    assert archive.set_hash_algorithm(SEC_A, ORG_A, "sm3")["algorithm"] == "sm3"
    assert archive.read_log(SEC_A, ORG_A)["total"] == 1
    assert archive.verify(SEC_A, ORG_A)["ok"] is True
