"""Issue 17, defect 1, on the gateway's storage (SQLite): one account per person, enrolment codes
kept only as hashes, used once, replaced by a newer one, expiring; every step audit-logged;
migration 0003 up and down."""
import datetime as dt
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.gateway import accounts, models
from shared.db import Store, migrate
from shared.errors import Conflict, ValidationFailed

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'gateway.sqlite3'}", "gateway", models.outbox, models.inbox)
    migrate(s.engine, Path(accounts.__file__).parent / "migrations", "alembic_version_gateway")
    yield s
    s.dispose()


def dump(store):
    """Every value of every row of the gateway's tables, as text."""
    with store.engine.connect() as conn:
        return " ".join(str(v) for table in ("accounts", "enrolments", "account_audit")
                        for row in conn.execute(sa.text(f"SELECT * FROM {table}")) for v in row)


def test_one_person_at_most_one_account(store):
    accounts.create_account(store, "alice", "h", "p-1")
    with pytest.raises(Conflict) as info:
        accounts.create_account(store, "alice-2", "h", "p-1")
    assert info.value.field == "person_id"
    with pytest.raises(Conflict) as info:
        accounts.create_account(store, "alice", "h", "p-2")
    assert info.value.field == "username"


def test_only_self_bound_or_seed_accounts_carry_party_roles_and_never_an_administrators(store):
    bound = {b: accounts.create_account(store, b, "h", f"p-{b}", "org", bound_by=b)
             for b in ("administrator", "enrolment", "seed", "command")}
    assert {b for b, a in bound.items() if accounts.carries_party_roles(a)} == {"enrolment", "seed"}
    admin = accounts.create_account(store, "root", "h", "p-root", "org", is_admin=True, bound_by="seed")
    assert not accounts.carries_party_roles(admin)


def test_an_enrolment_code_is_kept_as_a_hash_used_once_and_audit_logged(store):
    row, code = accounts.issue_enrolment(store, "p-sec", "org", "admin-account", now=NOW)
    assert accounts.CODE_ALPHABET and len(code.replace("-", "")) == accounts.CODE_LENGTH
    assert code not in dump(store) and code.replace("-", "") not in dump(store)
    assert row.code_hash == hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    with pytest.raises(ValidationFailed) as info:
        accounts.redeem_enrolment(store, "AAAA-AAAA-AAAA-AAAA", "sec", "h", now=NOW)
    assert info.value.field == "code"
    account = accounts.redeem_enrolment(store, code.lower(), "sec", "h", now=NOW + dt.timedelta(hours=1))
    assert (account.person_id, account.org_id, account.bound_by) == ("p-sec", "org", "enrolment")
    with pytest.raises(ValidationFailed):
        accounts.redeem_enrolment(store, code, "sec-2", "h", now=NOW + dt.timedelta(hours=2))
    with pytest.raises(Conflict):
        accounts.issue_enrolment(store, "p-sec", "org", "admin-account", now=NOW)
    log = [(e["action"], e["actor"]) for e in reversed(accounts.list_audit(store, "p-sec"))]
    assert log == [("enrolment_issued", "admin-account"), ("account_enrolled", "p-sec")]


def test_a_newer_code_replaces_the_older_and_codes_expire(store):
    _, first = accounts.issue_enrolment(store, "p-1", "org", "office", now=NOW)
    _, second = accounts.issue_enrolment(store, "p-1", "org", "office", now=NOW)
    with pytest.raises(ValidationFailed):
        accounts.redeem_enrolment(store, first, "one", "h", now=NOW)
    with pytest.raises(ValidationFailed):
        accounts.redeem_enrolment(store, second, "one", "h", now=NOW + accounts.ENROLMENT_TTL)
    _, third = accounts.issue_enrolment(store, "p-1", "org", "office", now=NOW)
    assert accounts.redeem_enrolment(store, third, "one", "h", now=NOW).person_id == "p-1"


def test_a_code_redeemed_with_a_taken_username_stays_usable(store):
    accounts.create_account(store, "taken", "h", "p-other")
    _, code = accounts.issue_enrolment(store, "p-1", "org", "office", now=NOW)
    with pytest.raises(Conflict):
        accounts.redeem_enrolment(store, code, "taken", "h", now=NOW)
    assert accounts.redeem_enrolment(store, code, "free", "h", now=NOW).username == "free"


def test_migration_0003_upgrades_and_downgrades_and_keeps_earlier_accounts_working(tmp_path):
    from alembic import command
    from alembic.config import Config

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'mig.sqlite3'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(accounts.__file__).parent / "migrations"))
    cfg.attributes["version_table"] = "alembic_version_gateway"

    def run(fn, target):
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, target)

    run(command.upgrade, "0002")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO accounts (id, username, password_hash, person_id, is_admin, "
                             "failed_attempts, created_at) VALUES ('a1', 'old', 'h', 'p-old', 0, 0, "
                             "'2026-01-01T00:00:00+00:00')"))
    run(command.upgrade, "head")
    assert {"enrolments", "account_audit"} <= set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT bound_by FROM accounts")).scalar_one() == "legacy"
    run(command.downgrade, "0002")
    assert not {"enrolments", "account_audit"} & set(sa.inspect(engine).get_table_names())
    run(command.upgrade, "head")
    engine.dispose()
