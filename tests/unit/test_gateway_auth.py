"""Gateway sessions and passwords: signed tokens, argon2 hashing, lockout, the accounts table."""
import base64
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from services.gateway import accounts, auth, models
from shared.db import Store, migrate
from shared.errors import Conflict, Unauthorized

NOW = 1_800_000_000


class Clock:
    def __init__(self, t=NOW):
        self.t = t

    def __call__(self):
        return self.t


def signer(secret="s3cret-key", ttl=3600, clock=None):
    return auth.TokenSigner(secret, ttl, clock=clock or Clock())


# ---------------------------------------------------------------- tokens

def test_token_round_trip_carries_the_actor_and_expiry():
    s = signer()
    token, expires_at = s.issue("acc-1", "p-1", "org-1", ["member", "secretary", "member"])
    claims = s.verify(token)
    assert claims == {"account_id": "acc-1", "person_id": "p-1", "org_id": "org-1",
                      "roles": ["member", "secretary"], "exp": NOW + 3600}
    assert expires_at == dt.datetime.fromtimestamp(NOW + 3600, dt.timezone.utc)


def _tamper_payload(token, **changes):
    payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    new = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{new}.{sig}"


@pytest.mark.parametrize("mangle", [
    lambda t: _tamper_payload(t, roles=["secretary", "admin"]),      # privilege escalation
    lambda t: _tamper_payload(t, org_id="other-org"),                 # another organization
    lambda t: _tamper_payload(t, exp=NOW + 10 ** 6),                  # longer life
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),      # signature bits
    lambda t: t.split(".")[0],                                        # no signature
    lambda t: t + ".x",                                               # extra part
    lambda t: "",
    lambda t: "not-a-token",
    lambda t: "é.é",
    lambda t: "abc.###",
])
def test_a_tampered_or_malformed_token_is_refused_with_rule_auth(mangle):
    s = signer()
    token, _ = s.issue("acc-1", "p-1", "org-1", ["member"])
    with pytest.raises(Unauthorized) as err:
        s.verify(mangle(token))
    assert err.value.rule == "AUTH" and err.value.status == 401


def test_a_token_signed_with_another_secret_is_refused():
    token, _ = signer("secret-a").issue("acc-1", "p-1", "org-1", ["member"])
    with pytest.raises(Unauthorized):
        signer("secret-b").verify(token)


def test_a_token_expires_after_its_ttl():
    clock = Clock()
    s = signer(ttl=60, clock=clock)
    token, _ = s.issue("acc-1", "p-1", "org-1", [])
    clock.t = NOW + 59
    assert s.verify(token)["person_id"] == "p-1"
    clock.t = NOW + 60
    with pytest.raises(Unauthorized) as err:
        s.verify(token)
    assert "expired" in err.value.message


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   "])
def test_bearer_header_must_be_present_and_well_formed(header):
    with pytest.raises(Unauthorized) as err:
        auth.bearer_token(header)
    assert err.value.rule == "AUTH"
    assert auth.bearer_token("Bearer abc.def") == "abc.def"
    assert auth.bearer_token("bearer abc.def") == "abc.def"


# ---------------------------------------------------------------- passwords

def test_password_hash_is_argon2_salted_and_verifies_only_the_right_password():
    h1 = auth.hash_password("correct horse battery")
    h2 = auth.hash_password("correct horse battery")
    assert h1.startswith("$argon2id$") and h1 != h2
    assert "correct horse" not in h1
    assert auth.verify_password(h1, "correct horse battery")
    assert not auth.verify_password(h1, "correct horse batterY")
    assert not auth.verify_password("not-a-hash", "correct horse battery")
    assert auth.burn_verify("anything") is False


# ---------------------------------------------------------------- lockout

def test_lockout_starts_at_the_fifth_failure_and_grows():
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    failed, locked = 0, None
    for _ in range(4):
        failed, locked = auth.Lockout.after_failure(failed, now)
        assert locked is None
    assert failed == 4
    delays = []
    for _ in range(4):
        failed, locked = auth.Lockout.after_failure(failed, now)
        delays.append((locked - now).total_seconds())
    assert delays == [30, 60, 120, 240]
    assert auth.Lockout.delay(100) == auth.Lockout.MAX_SECONDS


def test_a_locked_account_is_refused_with_retry_after_until_the_lock_ends():
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    auth.Lockout.check(None, now)
    until = now + dt.timedelta(seconds=29.2)
    with pytest.raises(auth.TooManyAttempts) as err:
        auth.Lockout.check(until, now)
    assert err.value.status == 429 and err.value.retry_after == 30 and err.value.rule == "AUTH"
    auth.Lockout.check(until, until)          # over: allowed again


# ---------------------------------------------------------------- the accounts table

@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'gateway.sqlite3'}", "gateway", models.outbox, models.inbox)
    migrate(s.engine, Path(accounts.__file__).parent / "migrations", "alembic_version_gateway")
    yield s
    s.dispose()


def test_failures_are_counted_locked_and_reset_on_success(store):
    acc = accounts.create_account(store, "alice", auth.hash_password("long-password-1"), "p-alice", "org-1")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for _ in range(4):
        assert accounts.record_failure(store, acc.id, now) is None
    locked = accounts.record_failure(store, acc.id, now)
    assert locked == now + dt.timedelta(seconds=30)
    row = accounts.find_by_username(store, "alice")
    assert row.failed_attempts == 5 and row.locked_until == locked
    accounts.record_success(store, acc.id)
    row = accounts.find_by_username(store, "alice")
    assert row.failed_attempts == 0 and row.locked_until is None


def test_usernames_are_unique(store):
    accounts.create_account(store, "bob", "h", "p-bob")
    with pytest.raises(Conflict) as err:
        accounts.create_account(store, "bob", "h", "p-other")
    assert err.value.field == "username"
    assert accounts.count_accounts(store) == 1


def test_session_secret_is_configured_or_made_once_and_kept(store):
    assert accounts.session_secret(store, "from-config") == "from-config"
    first = accounts.session_secret(store)
    assert len(first) >= 32
    assert accounts.session_secret(store) == first


def test_create_admin_command_reads_the_password_from_stdin(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    config = {"DATABASE_URL": url}
    assert accounts.main(["create-admin", "--username", "root"], stdin=io.StringIO("short\n"), config=config) == 2
    assert accounts.main(["create-admin", "--username", "root"], stdin=io.StringIO("a-long-password\n"),
                         config=config) == 0
    assert accounts.main(["create-admin", "--username", "root"], stdin=io.StringIO("a-long-password\n"),
                         config=config) == 1
    s = Store(url, "gateway", models.outbox, models.inbox)
    try:
        row = accounts.find_by_username(s, "root")
        assert row.is_admin and row.org_id is None and row.person_id == "root"
        assert auth.verify_password(row.password_hash, "a-long-password")
    finally:
        s.dispose()
