"""The hash chain in the database: append under the organization's head lock, read, verify.

Plain SQLAlchemy (no nameko): used by the service and by the offline verify command.
There is deliberately no function that updates or deletes a record (A1).
"""
import datetime as _dt
import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.archive import domain
from services.archive.models import ChainHead, Record


def _lock_head(session, org_id, now):
    """A2: the organization's chain head, locked until commit: (last_seq, last_hash).

    The row is created by an upsert (so two first appends do not collide), then
    selected FOR UPDATE: on PostgreSQL concurrent appenders for the same
    organization queue here.  SQLite has no row locks: its single-connection pool
    serializes writers in one process, and its write lock (taken by the upsert)
    serializes processes; the unique (org_id, seq) constraint backs both.
    """
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    values = dict(org_id=org_id, last_seq=0, last_hash=domain.GENESIS_HASH, updated_at=now)
    if insert is not None:
        session.execute(insert(ChainHead).values(**values).on_conflict_do_nothing(index_elements=["org_id"]))
    elif session.get(ChainHead, org_id) is None:     # other backends: the primary key guards
        session.add(ChainHead(**values))
        session.flush()
    return session.execute(sa.select(ChainHead).where(ChainHead.org_id == org_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()


def append(session, *, org_id, kind, subject_id, source_event_id, content, record_id, now,
           classification=domain.DEFAULT_CLASSIFICATION, corrects=None):
    """A1/A2: add a record at the end of ``org_id``'s chain, inside the caller's transaction."""
    head = _lock_head(session, org_id, now)
    rec = domain.new_record(
        head.last_seq, head.last_hash, org_id=org_id, kind=kind, record_id=record_id,
        source_event_id=source_event_id, created_at=domain.timestamp(now), content=content,
        classification=classification, corrects=corrects)
    session.add(Record(
        id=rec["record_id"], org_id=org_id, seq=rec["seq"], kind=kind, subject_id=subject_id,
        source_event_id=source_event_id, classification=classification, created_at=now,
        content=content, corrects=corrects, prev_hash=rec["prev_hash"], hash=rec["hash"],
        algorithm=rec["algorithm"]))
    head.last_seq = rec["seq"]
    head.last_hash = rec["hash"]
    head.updated_at = now
    session.flush()
    return rec


# ------------------------------------------------------------------ reading

def view(row, with_content=True):
    """A record as the RPC returns it."""
    return {
        "record_id": row.id, "seq": row.seq, "kind": row.kind, "org_id": row.org_id,
        "source_event_id": row.source_event_id, "classification": row.classification,
        "created_at": domain.timestamp(row.created_at), "corrects": row.corrects,
        "prev_hash": row.prev_hash, "hash": row.hash, "algorithm": row.algorithm,
        "content": row.content if with_content else None,
    }


def count(session, org_id):
    return session.execute(sa.select(sa.func.count()).select_from(Record)
                           .where(Record.org_id == org_id)).scalar_one()


def page(session, org_id, limit, offset):
    return session.execute(sa.select(Record).where(Record.org_id == org_id).order_by(Record.seq)
                           .limit(limit).offset(offset)).scalars().all()


def get(session, record_id):
    return session.get(Record, record_id)


def by_source(session, source_event_id):
    return session.execute(sa.select(Record).where(Record.source_event_id == source_event_id)).scalar_one_or_none()


def latest_for_subject(session, kind, subject_id):
    """The newest record of ``kind`` about ``subject_id`` (e.g. a decision id)."""
    rows = session.execute(sa.select(Record).where(Record.kind == kind, Record.subject_id == subject_id)
                           .order_by(Record.created_at.desc(), Record.seq.desc())).scalars().all()
    # the index column is a lookup aid: the hashed content decides
    return next((r for r in rows if isinstance(r.content, dict) and r.content.get("decision_id") == subject_id),
                None)


def org_ids(session):
    """Every organization with a chain (records or a head)."""
    heads = session.execute(sa.select(ChainHead.org_id)).scalars().all()
    recs = session.execute(sa.select(Record.org_id).distinct()).scalars().all()
    return sorted(set(heads) | set(recs))


# ------------------------------------------------------------------ verification (A2)

class _Unreadable:
    """Stands for stored content that is not even JSON: it canonicalizes to nothing."""


def _verifiable(row):
    """A stored row as the domain verifier sees it, tolerating rows mangled by hand."""
    try:
        content = json.loads(row.content)
    except (TypeError, ValueError):
        content = _Unreadable()
    created_at = row.created_at
    try:
        if isinstance(created_at, str):
            created_at = _dt.datetime.fromisoformat(created_at)
        created_text = domain.timestamp(created_at)
    except (TypeError, ValueError, AttributeError):
        created_text = _Unreadable()
    return {
        "seq": row.seq, "org_id": row.org_id, "kind": row.kind, "record_id": row.id,
        "source_event_id": row.source_event_id, "classification": row.classification,
        "created_at": created_text, "content": content, "corrects": row.corrects,
        "prev_hash": row.prev_hash, "hash": row.hash, "algorithm": row.algorithm,
    }


def verify_org(session, org_id, batch=500):
    """A2: walk ``org_id``'s chain in seq order against its head.

    Call on a fresh session: on PostgreSQL the walk runs in one REPEATABLE READ
    snapshot so an append committed meanwhile is not mistaken for tampering.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    head_row = session.execute(sa.select(ChainHead.last_seq, ChainHead.last_hash)
                               .where(ChainHead.org_id == org_id)).first()
    # every append moves the head, so records without a head row mean the head was removed
    head = (head_row.last_seq, head_row.last_hash) if head_row else (0, domain.GENESIS_HASH)
    # raw text, not the JSON type: a record edited into invalid JSON must still be reported
    query = (sa.select(Record.id, Record.org_id, Record.seq, Record.kind, Record.source_event_id,
                       Record.classification, sa.type_coerce(Record.created_at, sa.String).label("created_at"),
                       sa.type_coerce(Record.content, sa.Text).label("content"), Record.corrects,
                       Record.prev_hash, Record.hash, Record.algorithm)
             .where(Record.org_id == org_id).order_by(Record.seq).execution_options(yield_per=batch))
    verifier = domain.ChainVerifier(head)
    for row in session.execute(query):
        if not verifier.feed(_verifiable(row)):
            break
    result = verifier.finish()
    return {"org_id": org_id, **result}
