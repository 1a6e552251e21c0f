"""Accounts and settings in the gateway's database, and the ``create-admin`` command.

    python -m services.gateway.accounts create-admin --username U [--person-id P]

reads the password from standard input (asked twice on a terminal) and creates an
administrator account in the database the gateway is configured with.
"""
import argparse
import getpass
import sys
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services.gateway import auth, models
from shared.clock import utcnow
from shared.errors import Conflict, ValidationFailed

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


def create_account(store, username, password_hash, person_id, org_id=None, is_admin=False):
    """Insert an account; Conflict (409, field username) when the name is taken."""
    account = models.Account(id=str(uuid.uuid4()), username=username, password_hash=password_hash,
                             person_id=person_id, org_id=org_id, is_admin=bool(is_admin),
                             failed_attempts=0, locked_until=None, created_at=utcnow())
    try:
        with store.uow() as uow:
            if uow.session.execute(sa.select(models.Account.id)
                                   .where(models.Account.username == username)).first():
                raise Conflict("username: already taken", field="username", rule="AUTH")
            uow.session.add(account)
    except IntegrityError:
        raise Conflict("username: already taken", field="username", rule="AUTH") from None
    return account


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
            "org_id": account.org_id, "is_admin": account.is_admin, "created_at": account.created_at}


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
                                     args.person_id or username, org_id=None, is_admin=True)
        except Conflict as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        print(f"administrator {account.username} created ({account.id})")
        return 0
    finally:
        store.dispose()


if __name__ == "__main__":
    sys.exit(main())
