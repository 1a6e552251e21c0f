"""Storage: engines, migrations, the unit of work with outbox and inbox.

A command carrying an idempotency key (``KeyedWork``) commits its effect and the key
with its result in one transaction, so that a repeat answers the first result.

One database per service: an embedded SQLite file by default, PostgreSQL when
``DATABASE_URL`` says so.  Under eventlet SQLite gets a pool of one connection
(other green threads wait for it instead of stalling on "database is locked");
psycopg2 is made cooperative by eventlet's full ``monkey_patch()``.
"""
import base64
import datetime as _dt
import hashlib
import hmac
import json
import os
import re
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool

from shared.clock import as_utc, utcnow
from shared.envelope import dumps, make_envelope
from shared.errors import Conflict

# inbox handler names of the records of commands (not events): a command's idempotency
# key with its result, and a request carried out but not acknowledged (by correlation id)
IDEMPOTENCY = "rpc.idempotency"
CARRIED_OUT = "rpc.carried_out"
REQUEST_RECORDS = (IDEMPOTENCY, CARRIED_OUT)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, _dt.datetime):
            raise TypeError("UTCDateTime needs a datetime")
        value = as_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return as_utc(value)


class JSONText(sa.types.TypeDecorator):
    """JSON stored as text with the suite's encoder (dates, uuids), same on every backend."""
    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else dumps(value)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


def messaging_tables(metadata):
    """The outbox and inbox every service keeps in its own database."""
    outbox = sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=True, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("unroutable", sa.Boolean, nullable=False, default=False),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    inbox = sa.Table(
        "inbox", metadata,
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("handler", sa.String(120), primary_key=True),
        sa.Column("processed_at", UTCDateTime, nullable=False),
        # an idempotency key's row (handler IDEMPOTENCY): what was asked, and the answer given
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("result", sa.Text, nullable=True),
    )
    return outbox, inbox


def normalize_url(url):
    """Use psycopg2 for plain ``postgresql://`` URLs (SQLAlchemy 2.1 would pick psycopg 3,
    whose binary build blocks the whole eventlet process)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


SQLITE_SYNCHRONOUS_LEVELS = ("NORMAL", "FULL", "EXTRA")


def sqlite_synchronous(environ=None):
    """SQLite's ``synchronous`` level (env ``SQLITE_SYNCHRONOUS``), ``NORMAL`` by default.

    In WAL mode ``NORMAL`` syncs the log at checkpoints instead of at every commit: a commit
    survives the process being killed, but the last ones can be lost (never half-applied) if
    the machine loses power or the OS crashes.  ``FULL`` syncs every commit (about 2.5 ms
    each on a plain disk, during which the whole eventlet process waits).  PostgreSQL is not
    affected (docs/operations.md, docs/performance.md).
    """
    value = (environ if environ is not None else os.environ).get("SQLITE_SYNCHRONOUS", "NORMAL").strip().upper()
    if value not in SQLITE_SYNCHRONOUS_LEVELS:
        raise ValueError(f"SQLITE_SYNCHRONOUS must be one of {', '.join(SQLITE_SYNCHRONOUS_LEVELS)}, not {value!r}")
    return value


def make_engine(url, echo=False):
    url = normalize_url(url)
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:") or ":memory:" in url
        kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            engine = sa.create_engine(url, poolclass=StaticPool, echo=echo, **kwargs)
        else:
            engine = sa.create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=0,
                                      pool_timeout=60, echo=echo, **kwargs)

        synchronous = sqlite_synchronous()

        @sa_event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, echo=echo)


_REVISION_LINE = re.compile(r"""^(revision|down_revision)\s*(?::[^=]*)?=\s*(None|"[^"]*"|'[^']*')\s*$""", re.M)


def script_head(script_location):
    """The single head revision of a migrations folder, read from the scripts' ``revision`` and
    ``down_revision`` lines without Alembic; None when it cannot be told that simply (branches,
    merges, unusual scripts): the caller then lets Alembic decide."""
    revisions, parents = set(), set()
    for path in (Path(script_location) / "versions").glob("*.py"):
        found = dict((key, value) for key, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found or "down_revision" not in found or found["revision"] == "None":
            return None
        revisions.add(found["revision"][1:-1])
        if found["down_revision"] != "None":
            parents.add(found["down_revision"][1:-1])
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 and parents <= revisions else None


def stored_revisions(engine, version_table):
    """The revisions recorded in ``version_table`` (empty when the table does not exist yet)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(version_table):
            return set()
        table = sa.table(version_table, sa.column("version_num"))
        return {row[0] for row in conn.execute(sa.select(table.c.version_num))}


def migrate(engine, script_location, version_table):
    """Apply the service's Alembic migrations up to head (idempotent).

    A start where the database is already at head (every start but the first after an
    upgrade) is told from the scripts and the version table alone, without loading Alembic.
    On PostgreSQL an advisory lock keeps replicas that start together from
    running the same migration twice.
    """
    head = script_head(script_location)
    if head is not None and stored_revisions(engine, version_table) == {head}:
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(script_location)))
    cfg.attributes["version_table"] = version_table
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": version_table})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def run_migrations_online(context):
    """Body of every service's migrations/env.py."""
    config = context.config
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        version_table=config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


class Store:
    """A service's database: engine, sessions, and its outbox/inbox tables."""

    def __init__(self, url_or_engine, producer, outbox, inbox):
        self.engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        self.producer = producer
        self.outbox = outbox
        self.inbox = inbox
        self.Session = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.outbox_insert = outbox.insert()      # made once: every event's row goes in by it
        self._listeners = []
        self._lock = threading.Lock()

    def on_events_committed(self, callback):
        self._listeners.append(callback)

    def _events_committed(self):
        for callback in list(self._listeners):
            callback()

    def uow(self):
        return UnitOfWork(self)

    @contextmanager
    def read(self):
        session = self.Session()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self):
        self.engine.dispose()


class UnitOfWork:
    """One transaction: state changes, the events they cause (outbox) and the
    events they consume (inbox) commit together or not at all."""

    def __init__(self, store):
        self.store = store
        self.session = None
        self.events = []

    def __enter__(self):
        self.session = self.store.Session()
        self.events = []
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()
        if exc_type is None and self.events:
            self.store._events_committed()
        return False

    def emit(self, event_type, org_id, data, schema_version=1):
        """Queue an event in the outbox, inside this transaction."""
        envelope = make_envelope(self.store.producer, event_type, org_id, data, schema_version)
        self.session.execute(self.store.outbox_insert, {
            "event_id": envelope["event_id"], "event_type": event_type, "org_id": org_id,
            "body": dumps(envelope), "created_at": utcnow(), "attempts": 0, "unroutable": False,
        })
        self.events.append(envelope)
        return envelope

    def first_time(self, event_id, handler):
        """Record ``event_id`` as processed by ``handler``; False if it already was.

        The primary key (event_id, handler) makes a concurrent duplicate fail at
        commit, so its whole transaction rolls back and it is redelivered, then
        skipped here.
        """
        inbox = self.store.inbox
        seen = self.session.execute(
            sa.select(inbox.c.event_id).where(inbox.c.event_id == str(event_id), inbox.c.handler == handler)
        ).first()
        if seen:
            return False
        self.session.execute(inbox.insert().values(event_id=str(event_id), handler=handler, processed_at=utcnow()))
        return True


# --------------------------------------------------------------------------- idempotency keys

_KEY_NAMESPACE = uuid.UUID("9b5e4c8e-1f0a-4c61-9d43-5a8f0c2e7b31")


class SealedKey:
    """What a command's idempotency key is stored as.  The key itself is never stored: the
    row's id is a UUIDv5 of (caller, key), the request's fingerprint an HMAC under a secret
    derived from them, the result AES-GCM-sealed under that secret.  Whoever holds the
    database (or its WAL, or a backup) without the key can neither read a result nor test a
    guess of the request (a vote's choice: three candidates) against the fingerprint; a
    repeat, which brings the key, can.  The gateway's own keys are random UUIDs; a client's
    key is as strong as the client makes it (the docs ask for a UUID)."""

    def __init__(self, caller, key):
        material = f"{caller}\n{key}"
        self.record_id = str(uuid.uuid5(_KEY_NAMESPACE, material))
        self._secret = hashlib.sha256(b"idempotency-key-secret\n" + material.encode("utf-8", "surrogatepass")).digest()

    def fingerprint(self, request_text):
        return hmac.new(self._secret, request_text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def seal(self, result):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        nonce = os.urandom(12)
        sealed = AESGCM(self._secret).encrypt(nonce, _result_text(result).encode("utf-8"), self.record_id.encode())
        return base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, text):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        raw = base64.b64decode(text)
        return json.loads(AESGCM(self._secret).decrypt(raw[:12], raw[12:], self.record_id.encode()))


def key_record_id(caller, key):
    """The inbox id of a key: the same key sent by two callers is two keys."""
    return SealedKey(caller, key).record_id


def _result_text(result):
    try:
        return dumps(result)
    except TypeError:
        return json.dumps(result, default=str)


class KeyedWork:
    """The store as one command carrying an idempotency key (a ``SealedKey``) sees it.

    Its unit of work does not commit when its block ends (it flushes, so constraint
    errors still come out there); the command's transaction stays open, reads of the
    same command go through it, and ``settle`` commits it once the command's result is
    known — with one more row, the key, the request's fingerprint and the result (JSON,
    sealed: see ``SealedKey``), in the same transaction.  A crash before that commit leaves nothing; after it, a repeat of the
    key finds the row and answers the first result instead of running again.

    A repeat is not looked up first (reads and first sends pay nothing): it runs, and
    either fails on the state the first one left (a close of a closed meeting) or comes to
    insert the same key (a second create), which the primary key refuses and whose effect
    is rolled back; in both cases the stored result is answered.  The same key with another
    request (another command, other arguments) is refused with a ``Conflict``.
    """

    def __init__(self, store, sealed, request_text):
        self.store = store
        self.sealed = sealed
        self.record_id = sealed.record_id
        self.request_hash = sealed.fingerprint(request_text)
        self.session = None
        self.events = []

    def __getattr__(self, name):            # engine, inbox, outbox, ...: the store's
        return getattr(self.store, name)

    def uow(self):
        return _KeyedUnitOfWork(self)

    @contextmanager
    def read(self):
        if self.session is None:
            with self.store.read() as session:
                yield session
        else:                               # after a write: through its open transaction
            yield self.session

    def settle(self, result, error=None):
        """Commit the command's work; return ``(True, first_result)`` when the key was
        carried out before (the answer to give instead), else ``(False, None)``.

        ``error`` is the exception the command raised, if any: work it had finished is
        committed as it would have been without a key, but no key is recorded."""
        if self.session is not None:
            session, self.session = self.session, None
            try:
                if error is None:
                    session.execute(self.store.inbox.insert().values(
                        event_id=self.record_id, handler=IDEMPOTENCY, processed_at=utcnow(),
                        request_hash=self.request_hash, result=self.sealed.seal(result)))
                session.commit()
            except sa.exc.IntegrityError:
                session.rollback()          # the key is taken: this repeat's effect is undone
                found = self._first_result()
                if found is None:
                    raise
                return True, found[0]
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
            if self.events:
                self.store._events_committed()
            if error is None:
                return False, None
        elif error is None:
            return False, None              # nothing written: nothing to remember
        found = self._first_result()
        return (True, found[0]) if found is not None else (False, None)

    def _first_result(self):
        inbox = self.store.inbox
        with self.store.read() as s:
            row = s.execute(sa.select(inbox.c.request_hash, inbox.c.result).where(
                inbox.c.event_id == self.record_id, inbox.c.handler == IDEMPOTENCY)).first()
        if row is None:
            return None
        if row.request_hash != self.request_hash:
            raise Conflict("Idempotency-Key: this key was used already for a different request; "
                           "use a new key for a new request", field="Idempotency-Key", rule="IDEMPOTENCY")
        return (None if row.result is None else self.sealed.open(row.result),)

    def close(self):
        """Roll back whatever was not settled (the command's worker ended another way)."""
        self.events = []
        if self.session is not None:
            session, self.session = self.session, None
            try:
                session.rollback()
            finally:
                session.close()


class _KeyedUnitOfWork(UnitOfWork):
    """A unit of work inside a keyed command's one transaction (see ``KeyedWork``)."""

    def __init__(self, work):
        super().__init__(work.store)
        self.work = work

    def __enter__(self):
        if self.work.session is None:
            self.work.session = self.store.Session()
        self.session = self.work.session
        self.events = self.work.events
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.session.flush()
                return False
            except BaseException:
                self.work.close()
                raise
        self.work.close()                   # this command wrote nothing, as without a key
        return False


def prune_request_records(store, older_than):
    """Forget idempotency keys and carried-out requests recorded before ``older_than``
    (a repeat after that runs again); return how many rows went."""
    inbox = store.inbox
    with store.engine.begin() as conn:
        return conn.execute(inbox.delete().where(inbox.c.handler.in_(REQUEST_RECORDS),
                                                 inbox.c.processed_at < older_than)).rowcount
