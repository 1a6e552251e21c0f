"""Gateway storage: log-in accounts and the settings it keeps (the session secret)."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, messaging_tables


class Base(DeclarativeBase):
    pass


# how an account came to be bound to its person (issue 17): only an account the person bound
# themselves (a one-time enrolment code) or the demo seed carries the person's party roles
BOUND_BY_ENROLMENT = "enrolment"
BOUND_BY_SEED = "seed"
BOUND_BY_ADMINISTRATOR = "administrator"
BOUND_BY_COMMAND = "command"
BOUND_BY_LEGACY = "legacy"      # made before enrolment existed (migration 0003)
ROLE_BEARING = (BOUND_BY_ENROLMENT, BOUND_BY_SEED, BOUND_BY_LEGACY)


class Account(Base):
    """A log-in: username and password for one person (``person_id`` of meetings); one account
    per person at most."""
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    person_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    bound_by: Mapped[str] = mapped_column(sa.String(20), default=BOUND_BY_ADMINISTRATOR)
    org_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    is_admin: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # tokens issued before this instant are refused (set when the password changes)
    sessions_valid_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


# The gateway publishes no events; the tables exist because every service's Store has them.
outbox, inbox = messaging_tables(Base.metadata)


class RevokedToken(Base):
    """A token refused before it expires (logout, password change, API token revoked); kept until ``expires_at``."""
    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class ApiToken(Base):
    """A long-lived, read-only token for an integrator, bound to one organization."""
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    jti: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    org_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    roles: Mapped[str] = mapped_column(sa.String(200))
    created_by: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Enrolment(Base):
    """A one-time code that lets a person bind an account to themselves (issue 17).

    Only the code's SHA-256 is kept; the code itself went to the person's registered
    channels (notifications: the inbox and the e-mail address)."""
    __tablename__ = "enrolments"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))
    issued_by: Mapped[str] = mapped_column(sa.String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    account_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)


class AuditEntry(Base):
    """Who did what to an account or an enrolment, and when (append-only)."""
    __tablename__ = "account_audit"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    actor: Mapped[str] = mapped_column(sa.String(64))
    person_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    org_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    account_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    detail: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
