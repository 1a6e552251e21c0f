"""Accounts and settings in the gateway's database, and the ``create-admin`` command.

    python -m services.gateway.accounts create-admin --username U [--person-id P]

reads the password from standard input (asked twice on a terminal) and creates an
administrator account in the database the gateway is configured with.
"""
import argparse
import datetime as dt
import getpass
import hashlib
import json
import secrets
import sys
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services.gateway import auth, models
from shared.clock import utcnow
from shared.errors import Conflict, ValidationFailed

ENROLMENT_TTL = dt.timedelta(hours=72)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"      # 32 symbols, none easily mistaken for another
CODE_LENGTH = 16                                        # 80 bits

SECRET_KEY = "session_secret"


def session_secret(store, configured=None):
    """The configured secret, else the one kept in ``settings`` (made once, shared by replicas)."""
    if configured:
        return str(configured)
    with store.read() as s:
        row = s.get(models.Setting, SECRET_KEY)
        if row is not None:
            return row.value
    try:
        with store.uow() as uow:
            uow.session.add(models.Setting(key=SECRET_KEY, value=auth.new_secret()))
    except IntegrityError:
        pass            # another replica made it first: use theirs
    with store.read() as s:
        return s.get(models.Setting, SECRET_KEY).value


def count_accounts(store):
    with store.read() as s:
        return s.execute(sa.select(sa.func.count()).select_from(models.Account)).scalar_one()


def _detached(session, row):
    """A loaded row that stays readable after the read-only session rolls back."""
    if row is not None:
        session.expunge(row)
    return row


def find_by_username(store, username):
    with store.read() as s:
        return _detached(s, s.execute(sa.select(models.Account)
                                      .where(models.Account.username == username)).scalar_one_or_none())


def get_account(store, account_id):
    with store.read() as s:
        return _detached(s, s.get(models.Account, account_id))


def create_account(store, username, password_hash, person_id, org_id=None, is_admin=False,
                   bound_by=models.BOUND_BY_ADMINISTRATOR, actor=None):
    """Insert an account; Conflict (409) when the username is taken (field username) or the
    person already has an account (field person_id: one person, at most one account)."""
    account = models.Account(id=str(uuid.uuid4()), username=username, password_hash=password_hash,
                             person_id=person_id, org_id=org_id, is_admin=bool(is_admin), bound_by=bound_by,
                             failed_attempts=0, locked_until=None, created_at=utcnow())
    try:
        with store.uow() as uow:
            _check_free(uow.session, username, person_id)
            uow.session.add(account)
            audit(uow.session, "account_created", actor or bound_by, person_id=person_id, org_id=org_id,
                  account_id=account.id, detail={"username": username, "is_admin": bool(is_admin),
                                                 "bound_by": bound_by})
    except IntegrityError:
        with store.read() as s:
            _check_free(s, username, person_id)
        raise Conflict("username: already taken", field="username", rule="AUTH") from None
    return account


def _check_free(session, username, person_id):
    if session.execute(sa.select(models.Account.id).where(models.Account.username == username)).first():
        raise Conflict("username: already taken", field="username", rule="AUTH")
    if session.execute(sa.select(models.Account.id).where(models.Account.person_id == person_id)).first():
        raise Conflict("person_id: this person already has an account (one person, at most one account)",
                       field="person_id", rule="AUTH")


def find_by_person(store, person_id):
    with store.read() as s:
        return _detached(s, s.execute(sa.select(models.Account)
                                      .where(models.Account.person_id == person_id)).scalar_one_or_none())


# ---------------------------------------------------------------- audit log and enrolment

def audit(session, action, actor, person_id=None, org_id=None, account_id=None, detail=None, now=None):
    """Append one entry to the account audit log, in the caller's transaction."""
    session.add(models.AuditEntry(id=str(uuid.uuid4()), at=now or utcnow(), action=action, actor=str(actor)[:64],
                                  person_id=person_id, org_id=org_id, account_id=account_id,
                                  detail=json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None))


def list_audit(store, person_id=None, limit=200):
    with store.read() as s:
        query = sa.select(models.AuditEntry).order_by(models.AuditEntry.at.desc(), models.AuditEntry.id).limit(limit)
        if person_id is not None:
            query = query.where(models.AuditEntry.person_id == person_id)
        return [{"at": e.at, "action": e.action, "actor": e.actor, "person_id": e.person_id, "org_id": e.org_id,
                 "account_id": e.account_id, "detail": json.loads(e.detail) if e.detail else None}
                for e in s.execute(query).scalars()]


def new_enrolment_code():
    """A one-time code a person types: 16 symbols (80 bits) shown in groups of four."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def code_hash(code):
    """SHA-256 of the code as typed, ignoring case, spaces and dashes (the code is random: no slow hash)."""
    normal = "".join(c for c in str(code).upper() if c not in " -")
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def issue_enrolment(store, person_id, org_id, issued_by, now=None, ttl=ENROLMENT_TTL):
    """A new enrolment code for a person without an account; earlier unused codes of the person
    stop working. Returns (row, code); only the code's hash is stored."""
    now = now or utcnow()
    code = new_enrolment_code()
    row = models.Enrolment(id=str(uuid.uuid4()), code_hash=code_hash(code), person_id=person_id, org_id=org_id,
                           issued_by=str(issued_by)[:64], issued_at=now, expires_at=now + ttl, used_at=None,
                           revoked_at=None, account_id=None)
    with store.uow() as uow:
        s = uow.session
        if s.execute(sa.select(models.Account.id).where(models.Account.person_id == person_id)).first():
            raise Conflict("person_id: this person already has an account (one person, at most one account)",
                           field="person_id", rule="AUTH")
        s.execute(sa.update(models.Enrolment).where(
            models.Enrolment.person_id == person_id, models.Enrolment.used_at.is_(None),
            models.Enrolment.revoked_at.is_(None)).values(revoked_at=now))
        s.add(row)
        audit(s, "enrolment_issued", issued_by, person_id=person_id, org_id=org_id, now=now,
              detail={"enrolment_id": row.id, "expires_at": row.expires_at.isoformat()})
    return row, code


def enrolment_delivered(store, enrolment_id, channels, actor):
    with store.uow() as uow:
        row = uow.session.get(models.Enrolment, enrolment_id)
        audit(uow.session, "enrolment_delivered", actor, person_id=row.person_id, org_id=row.org_id,
              detail={"enrolment_id": enrolment_id, "channels": list(channels)})


def revoke_enrolment(store, enrolment_id, actor, reason):
    with store.uow() as uow:
        row = uow.session.get(models.Enrolment, enrolment_id)
        if row.revoked_at is None and row.used_at is None:
            row.revoked_at = utcnow()
        audit(uow.session, "enrolment_revoked", actor, person_id=row.person_id, org_id=row.org_id,
              detail={"enrolment_id": enrolment_id, "reason": reason})


def redeem_enrolment(store, code, username, password_hash, now=None):
    """Bind a new account to the person of an unused, unexpired enrolment code (issue 17).
    A wrong, used, revoked or expired code: 400 naming ``code`` (the same answer for each)."""
    now = now or utcnow()
    refused = ValidationFailed("code: not a valid enrolment code (wrong, already used, replaced or expired)",
                               field="code", rule="AUTH")
    try:
        with store.uow() as uow:
            s = uow.session
            query = sa.select(models.Enrolment).where(models.Enrolment.code_hash == code_hash(code))
            if store.engine.dialect.name == "postgresql":
                query = query.with_for_update()
            row = s.execute(query).scalar_one_or_none()
            if row is None or row.used_at is not None or row.revoked_at is not None or row.expires_at <= now:
                raise refused
            _check_free(s, username, row.person_id)
            account = models.Account(id=str(uuid.uuid4()), username=username, password_hash=password_hash,
                                     person_id=row.person_id, org_id=row.org_id, is_admin=False,
                                     bound_by=models.BOUND_BY_ENROLMENT, failed_attempts=0, locked_until=None,
                                     created_at=now)
            s.add(account)
            row.used_at, row.account_id = now, account.id
            audit(s, "account_enrolled", row.person_id, person_id=row.person_id, org_id=row.org_id,
                  account_id=account.id, now=now, detail={"enrolment_id": row.id, "username": username})
    except IntegrityError:
        raise Conflict("username: already taken", field="username", rule="AUTH") from None
    return account


def carries_party_roles(account):
    """Issue 17: only an account its person bound (enrolment), or the demo seed's, carries the
    person's roles in the organization; an administrator's never does."""
    return not account.is_admin and account.bound_by in models.ROLE_BEARING


def record_failure(store, account_id, now=None):
    """Count one more consecutive failure; return the account's ``locked_until`` (or None)."""
    now = now or utcnow()
    with store.uow() as uow:
        query = sa.select(models.Account).where(models.Account.id == account_id)
        if store.engine.dialect.name == "postgresql":
            query = query.with_for_update()
        account = uow.session.execute(query).scalar_one()
        account.failed_attempts, locked_until = auth.Lockout.after_failure(account.failed_attempts, now)
        if locked_until is not None:
            account.locked_until = locked_until
    return locked_until


def record_success(store, account_id, new_hash=None):
    with store.uow() as uow:
        values = {"failed_attempts": 0, "locked_until": None}
        if new_hash:
            values["password_hash"] = new_hash
        uow.session.execute(sa.update(models.Account).where(models.Account.id == account_id).values(**values))


def revoke_token(store, jti, expires_at, now=None):
    """Put a token on the revoked list until it expires (idempotent); drop entries already expired."""
    now = now or utcnow()
    with store.uow() as uow:
        uow.session.execute(sa.delete(models.RevokedToken).where(models.RevokedToken.expires_at < now))
        if uow.session.get(models.RevokedToken, jti) is None:
            uow.session.add(models.RevokedToken(jti=jti, expires_at=expires_at))


# checked on every request: one statement (built once, so its compiled form is cached) on a plain
# connection, not an ORM session with two look-ups (a fifth of the gateway's CPU per request)
_REFUSAL = sa.select(
    sa.exists().where(models.RevokedToken.jti == sa.bindparam("jti")).label("revoked"),
    sa.select(models.Account.sessions_valid_after).where(models.Account.id == sa.bindparam("account_id"))
    .scalar_subquery().label("valid_after"))


def token_refused(store, claims):
    """Why a correctly signed, unexpired token is refused anyway (None when it is good)."""
    jti = claims.get("jti")
    if not isinstance(jti, str):
        return "this session has been logged out or revoked"
    account_id = claims.get("account_id") or None
    with store.engine.connect() as conn:
        revoked, valid_after = conn.execute(_REFUSAL, {"jti": jti, "account_id": account_id}).one()
    if revoked:
        return "this session has been logged out or revoked"
    if account_id is not None and valid_after is not None:
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or iat < valid_after.timestamp():
            return "the password was changed after this session began: log in again"
    return None


def set_password(store, account_id, password_hash, now=None):
    """Store a new password hash; sessions begun before now stop working."""
    now = now or utcnow()
    with store.uow() as uow:
        uow.session.execute(sa.update(models.Account).where(models.Account.id == account_id).values(
            password_hash=password_hash, sessions_valid_after=now, failed_attempts=0, locked_until=None))
    return now


def new_id():
    return str(uuid.uuid4())


def create_api_token(store, token_id, name, org_id, roles, created_by, expires_at, jti, now=None):
    row = models.ApiToken(id=token_id, jti=jti, name=name, org_id=org_id, roles=",".join(sorted(roles)),
                          created_by=created_by, created_at=now or utcnow(), expires_at=expires_at,
                          revoked_at=None)
    with store.uow() as uow:
        uow.session.add(row)
    return get_api_token(store, token_id)


def list_api_tokens(store, org_id=None):
    with store.read() as s:
        query = sa.select(models.ApiToken).order_by(models.ApiToken.created_at)
        if org_id is not None:
            query = query.where(models.ApiToken.org_id == org_id)
        rows = list(s.execute(query).scalars())
        for row in rows:
            s.expunge(row)
        return rows


def get_api_token(store, token_id):
    with store.read() as s:
        return _detached(s, s.get(models.ApiToken, token_id))


def revoke_api_token(store, token_id, now=None):
    """Mark an API token revoked and put its jti on the revoked list; returns the row."""
    now = now or utcnow()
    with store.uow() as uow:
        row = uow.session.get(models.ApiToken, token_id)
        if row.revoked_at is None:
            row.revoked_at = now
        if uow.session.get(models.RevokedToken, row.jti) is None:
            uow.session.add(models.RevokedToken(jti=row.jti, expires_at=row.expires_at))
    return get_api_token(store, token_id)


def api_token_view(row):
    return {"api_token_id": row.id, "name": row.name, "org_id": row.org_id,
            "roles": [r for r in row.roles.split(",") if r], "scope": "read", "created_by": row.created_by,
            "created_at": row.created_at, "expires_at": row.expires_at, "revoked_at": row.revoked_at}


def account_view(account):
    return {"account_id": account.id, "username": account.username, "person_id": account.person_id,
            "org_id": account.org_id, "is_admin": account.is_admin, "bound_by": account.bound_by,
            "created_at": account.created_at}


# ---------------------------------------------------------------- command line

def _read_password(stream=None):
    stream = stream or sys.stdin
    if stream.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ValidationFailed("password: the two entries differ", field="password")
        return first
    return stream.readline().rstrip("\r\n")


def main(argv=None, stdin=None, config=None):
    parser = argparse.ArgumentParser(prog="python -m services.gateway.accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    admin = sub.add_parser("create-admin", help="create an administrator account (password from stdin)")
    admin.add_argument("--username", required=True)
    admin.add_argument("--person-id", default=None, help="the administrator's person_id (default: username)")
    args = parser.parse_args(argv)

    from shared.config import load_config
    from shared.db import Store, migrate
    from pathlib import Path

    config = config or load_config("gateway")
    store = Store(config["DATABASE_URL"], "gateway", models.outbox, models.inbox)
    try:
        migrate(store.engine, Path(__file__).parent / "migrations", "alembic_version_gateway")
        password = _read_password(stdin)
        if len(password) < auth.MIN_PASSWORD_LENGTH:
            print(f"error: the password needs at least {auth.MIN_PASSWORD_LENGTH} characters", file=sys.stderr)
            return 2
        username = args.username.strip()
        if not username or len(username) > 64:
            print("error: the username needs 1 to 64 characters", file=sys.stderr)
            return 2
        try:
            account = create_account(store, username, auth.hash_password(password),
                                     args.person_id or username, org_id=None, is_admin=True,
                                     bound_by=models.BOUND_BY_COMMAND, actor="create-admin command")
        except Conflict as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        print(f"administrator {account.username} created ({account.id})")
        return 0
    finally:
        store.dispose()


if __name__ == "__main__":
    sys.exit(main())
