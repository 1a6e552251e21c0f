"""The hash chain in the database: append under the organization's head lock, read, verify.

Plain SQLAlchemy (no nameko): used by the service and by the offline verify command.
There is deliberately no function that updates or deletes a record (A1).
"""
import datetime as _dt

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.archive import domain
from services.archive.models import ChainHead, Checkpoint, HashSetting, ReadLog, Record, RecordPerson, SigningKey
from shared.paging import encode_cursor, page_of


def _upsert_ignore(session, model, values, key):
    """INSERT unless a row with the same ``key`` exists (two replicas may race here)."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is not None:
        session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=[key]))
    elif session.get(model, values[key]) is None:     # other backends: the primary key guards
        session.add(model(**values))
        session.flush()


def _lock_head(session, org_id, now):
    """A2: the organization's chain head, locked until commit: (last_seq, last_hash).

    The row is created by an upsert (so two first appends do not collide), then
    selected FOR UPDATE: on PostgreSQL concurrent appenders for the same
    organization queue here.  SQLite has no row locks: its single-connection pool
    serializes writers in one process, and its write lock (taken by the upsert)
    serializes processes; the unique (org_id, seq) constraint backs both.
    """
    _upsert_ignore(session, ChainHead, dict(org_id=org_id, last_seq=0, last_hash=domain.GENESIS_HASH,
                                            updated_at=now), "org_id")
    return session.execute(sa.select(ChainHead).where(ChainHead.org_id == org_id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()


def append(session, *, org_id, kind, subject_id, source_event_id, content, record_id, now,
           classification=domain.DEFAULT_CLASSIFICATION, corrects=None, algorithm=None, reason=None,
           recorded_by=None):
    """A1/A2: add a record at the end of ``org_id``'s chain, inside the caller's transaction.

    ``algorithm`` None means the organization's setting (A2), else the default.
    """
    head = _lock_head(session, org_id, now)
    if algorithm is None:
        algorithm = org_algorithm(session, org_id) or domain.DEFAULT_ALGORITHM
    rec = domain.new_record(
        head.last_seq, head.last_hash, org_id=org_id, kind=kind, record_id=record_id,
        source_event_id=source_event_id, created_at=domain.timestamp(now), content=content,
        classification=classification, corrects=corrects, algorithm=algorithm, reason=reason,
        recorded_by=recorded_by, retention=domain.retention_of(kind))
    session.add(Record(
        id=rec["record_id"], org_id=org_id, seq=rec["seq"], kind=kind, subject_id=subject_id,
        source_event_id=source_event_id, classification=classification, created_at=now,
        content=content, corrects=corrects, prev_hash=rec["prev_hash"], hash=rec["hash"],
        algorithm=rec["algorithm"], meeting_id=domain.meeting_of(content), reason=reason,
        recorded_by=recorded_by, retention=rec["retention"]))
    for person_id in sorted(domain.persons_of(content)):
        session.add(RecordPerson(record_id=rec["record_id"], person_id=person_id, org_id=org_id))
    head.last_seq = rec["seq"]
    head.last_hash = rec["hash"]
    head.updated_at = now
    session.flush()
    return rec


# ------------------------------------------------------------------ settings (A2)

def org_algorithm(session, org_id):
    """The organization's chosen hash algorithm (latest setting), or None."""
    return session.execute(sa.select(HashSetting.algorithm).where(HashSetting.org_id == org_id)
                           .order_by(HashSetting.id.desc()).limit(1)).scalar_one_or_none()


def set_org_algorithm(session, org_id, algorithm, set_by, now):
    session.add(HashSetting(org_id=org_id, algorithm=domain.check_algorithm(algorithm), set_by=set_by, set_at=now))
    session.flush()


# ------------------------------------------------------------------ checkpoints (A2)

def head(session, org_id):
    """``(last_seq, last_hash)`` of the organization's chain ((0, genesis) without records)."""
    row = session.execute(sa.select(ChainHead.last_seq, ChainHead.last_hash)
                          .where(ChainHead.org_id == org_id)).first()
    return (row.last_seq, row.last_hash) if row else (0, domain.GENESIS_HASH)


def checkpoint_view(row):
    if row is None:
        return None
    return {"org_id": row.org_id, "seq": row.seq, "head_hash": row.head_hash,
            "created_at": domain.timestamp(row.created_at), "signature": row.signature,
            "public_key": row.public_key, "algorithm": row.algorithm}


def latest_checkpoint(session, org_id):
    return session.execute(sa.select(Checkpoint).where(Checkpoint.org_id == org_id)
                           .order_by(Checkpoint.seq.desc()).limit(1)).scalar_one_or_none()


def checkpoint_at(session, org_id, seq):
    return session.execute(sa.select(Checkpoint).where(Checkpoint.org_id == org_id, Checkpoint.seq == seq)
                           ).scalar_one_or_none()


def checkpoints_between(session, org_id, first_seq, last_seq):
    """The organization's signed checkpoints with first_seq <= seq <= last_seq, in seq order."""
    return session.execute(sa.select(Checkpoint).where(Checkpoint.org_id == org_id, Checkpoint.seq >= first_seq,
                                                       Checkpoint.seq <= last_seq)
                           .order_by(Checkpoint.seq)).scalars().all()


def year_range(session, org_id, year):
    """``(first_seq, last_seq)`` of the records archived in ``year`` (UTC), or None when there are none."""
    start = _dt.datetime(year, 1, 1, tzinfo=_dt.timezone.utc)
    end = _dt.datetime(year + 1, 1, 1, tzinfo=_dt.timezone.utc)
    row = session.execute(sa.select(sa.func.min(Record.seq), sa.func.max(Record.seq))
                          .where(Record.org_id == org_id, Record.created_at >= start,
                                 Record.created_at < end)).first()
    return None if row is None or row[0] is None else (row[0], row[1])


def record_at(session, org_id, seq):
    return session.execute(sa.select(Record).where(Record.org_id == org_id, Record.seq == seq)).scalar_one_or_none()


def records_between(session, org_id, first_seq, last_seq, batch=1000):
    return session.execute(sa.select(Record).where(Record.org_id == org_id, Record.seq >= first_seq,
                                                   Record.seq <= last_seq)
                           .order_by(Record.seq).execution_options(yield_per=batch)).scalars()


def add_checkpoint(session, **values):
    row = Checkpoint(**values)
    session.add(row)
    session.flush()
    return row


# ------------------------------------------------------------------ read log (A3)

def log_read(session, actor, org_id, record_id, action, granted, now):
    session.add(ReadLog(at=now, person_id=actor.person_id, actor_org_id=actor.org_id,
                        roles=",".join(actor.roles)[:400], org_id=org_id, record_id=record_id,
                        action=action, granted=granted))


def read_log_statement(org_id, limit, before=None, offset=0):
    """``limit + 1`` entries of the read log, newest first, below the id ``before``."""
    query = sa.select(ReadLog).where(ReadLog.org_id == org_id)
    if before is not None:
        query = query.where(ReadLog.id < before)
    query = query.order_by(ReadLog.id.desc()).limit(limit + 1)
    return query.offset(offset) if offset else query


def read_log_page(session, org_id, limit, offset, before=None):
    """A page of the read log, newest first -> (total, items, next_cursor).  ``before`` (a cursor's
    id) pages by key down ix_read_log_org_id, so page 1,000 costs what page 1 costs; the total is
    counted for the first page only (None after it): the log grows with every confidential read."""
    first = before is None and not offset
    total = session.execute(sa.select(sa.func.count()).select_from(ReadLog)
                            .where(ReadLog.org_id == org_id)).scalar_one() if first else None
    rows = session.execute(read_log_statement(org_id, limit, before, offset)).scalars().all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return total, [{"id": r.id, "at": domain.timestamp(r.at), "person_id": r.person_id,
                    "actor_org_id": r.actor_org_id, "roles": [x for x in r.roles.split(",") if x],
                    "org_id": r.org_id, "record_id": r.record_id, "action": r.action, "granted": r.granted}
                   for r in rows[:limit]], next_cursor


# ------------------------------------------------------------------ reading

def as_record(row):
    """A stored row as the domain's record dict (what is hashed, plus the chain fields)."""
    return {
        "seq": row.seq, "org_id": row.org_id, "kind": row.kind, "record_id": row.id,
        "source_event_id": row.source_event_id, "classification": row.classification,
        "created_at": domain.timestamp(row.created_at), "content": row.content, "corrects": row.corrects,
        "reason": row.reason, "recorded_by": row.recorded_by, "retention": row.retention,
        "prev_hash": row.prev_hash, "hash": row.hash, "algorithm": row.algorithm,
    }


def view(row, with_content=True):
    """A record as the RPC returns it."""
    return {
        "record_id": row.id, "seq": row.seq, "kind": row.kind, "org_id": row.org_id,
        "subject_id": row.subject_id, "meeting_id": row.meeting_id,
        "source_event_id": row.source_event_id, "classification": row.classification,
        "created_at": domain.timestamp(row.created_at), "corrects": row.corrects,
        "reason": row.reason, "recorded_by": row.recorded_by,
        "prev_hash": row.prev_hash, "hash": row.hash, "algorithm": row.algorithm,
        **retention_view(row),
        "content": row.content if with_content else None,
    }


def retention_view(row):
    """A1: the record's retention period (hashed since 0003; derived from the kind before)."""
    return retention_view_of(row.kind, row.retention)


def retention_view_of(kind, stored):
    retention = stored or domain.retention_of(kind)
    return {"retention": retention, "retention_label": domain.RETENTION_LABELS[retention],
            "retention_hashed": stored is not None}


def versions(session, row):
    """A1: every version of a record, oldest first (linked by ``corrects``)."""
    chain_ = [row]
    seen = {row.id}
    while chain_[0].corrects:
        older = session.get(Record, chain_[0].corrects)
        if older is None or older.id in seen:
            break
        chain_.insert(0, older)
        seen.add(older.id)
    while True:
        newer = corrected_by(session, chain_[-1].id)
        if newer is None or newer.id in seen:
            break
        chain_.append(newer)
        seen.add(newer.id)
    return chain_


def corrected_by(session, record_id):
    return session.execute(sa.select(Record).where(Record.corrects == record_id)).scalar_one_or_none()


def version_view(row):
    return {"record_id": row.id, "seq": row.seq, "created_at": domain.timestamp(row.created_at),
            "corrects": row.corrects, "reason": row.reason, "recorded_by": row.recorded_by,
            "classification": row.classification, "hash": row.hash}


def search(session, org_id, limit, offset, kind=None, meeting_id=None, date_from=None, date_to=None,
           person_id=None, after_seq=None):
    """A1: an organization's records in chain order, filtered; ``(total, rows, next_cursor)``.

    ``date_from``/``date_to`` are dates (inclusive, UTC) of archiving (``created_at``);
    ``after_seq``: keyset paging, the records after that one (the cursor's key).
    """
    counting, paging = search_statements(org_id, limit, offset, kind, meeting_id, date_from, date_to, person_id,
                                         after_seq)
    total = session.execute(counting).scalar_one()
    rows, next_cursor = page_of(session.execute(paging).scalars().all(), limit, lambda r: (r.seq,))
    return total, rows, next_cursor


def search_statements(org_id, limit, offset=0, kind=None, meeting_id=None, date_from=None, date_to=None,
                      person_id=None, after_seq=None):
    """The count and the page (``limit + 1`` rows) of ``search``: range scans of uq_records_org_seq
    (org_id, seq) from ``after_seq``, or of the filter's own index."""
    where = [Record.org_id == org_id]
    if kind is not None:
        where.append(Record.kind == kind)
    if meeting_id is not None:
        where.append(Record.meeting_id == meeting_id)
    if date_from is not None:
        where.append(Record.created_at >= _dt.datetime.combine(date_from, _dt.time(), _dt.timezone.utc))
    if date_to is not None:
        where.append(Record.created_at < _dt.datetime.combine(date_to + _dt.timedelta(days=1), _dt.time(),
                                                              _dt.timezone.utc))
    if person_id is not None:
        where.append(Record.id.in_(sa.select(RecordPerson.record_id).where(
            RecordPerson.org_id == org_id, RecordPerson.person_id == person_id)))
    counting = sa.select(sa.func.count()).select_from(Record).where(*where)
    after = where + ([Record.seq > after_seq] if after_seq is not None else [])
    paging = sa.select(Record).where(*after).order_by(Record.seq).limit(limit + 1)
    return counting, (paging.offset(offset) if offset else paging)


def records_upto(session, org_id, seq, batch=1000):
    """The organization's records with seq <= ``seq``, in order (export)."""
    return session.execute(sa.select(Record).where(Record.org_id == org_id, Record.seq <= seq)
                           .order_by(Record.seq).execution_options(yield_per=batch)).scalars()


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


def latest_for_subject(session, kind, subject_id, subject_field="decision_id"):
    """The latest version of the record of ``kind`` about ``subject_id`` (e.g. a decision id)."""
    rows = session.execute(sa.select(Record).where(Record.kind == kind, Record.subject_id == subject_id,
                                                   Record.corrects.is_(None))
                           .order_by(Record.created_at.desc(), Record.seq.desc())).scalars().all()
    # the index column is a lookup aid: the hashed content of the original decides
    original = next((r for r in rows if isinstance(r.content, dict) and r.content.get(subject_field) == subject_id),
                    None)
    return None if original is None else versions(session, original)[-1]


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
        # orjson refuses NaN, Infinity, numbers beyond a double's range and lone surrogates:
        # none has a canonical form (never hashed), so such content was altered
        content = orjson.loads(row.content)
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
        "reason": row.reason, "recorded_by": row.recorded_by, "retention": row.retention,
        "prev_hash": row.prev_hash, "hash": row.hash, "algorithm": row.algorithm,
    }


def begin_snapshot(session):
    """Run the session's transaction in one REPEATABLE READ snapshot on PostgreSQL (call first)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def record_hashes(session, org_id, upto):
    """The hashes of records 1..``upto`` in seq order (the Merkle tree's leaves, RFC 6962)."""
    return list(session.execute(sa.select(Record.hash).where(Record.org_id == org_id, Record.seq <= upto)
                                .order_by(Record.seq)).scalars())


def previous_checkpoint(session, org_id, seq):
    """The furthest checkpoint signed before ``seq`` (None when there is none)."""
    return session.execute(sa.select(Checkpoint).where(Checkpoint.org_id == org_id, Checkpoint.seq < seq)
                           .order_by(Checkpoint.seq.desc()).limit(1)).scalar_one_or_none()


def checkpoint_hashes(session, org_id):
    """``{seq: head_hash}`` of every checkpoint the archive signed for the organization (A2)."""
    return dict(session.execute(sa.select(Checkpoint.seq, Checkpoint.head_hash)
                                .where(Checkpoint.org_id == org_id)).all())


def verify_org(session, org_id, batch=2000, progress=None, snapshot=True, witnessed=None):
    """A2: walk ``org_id``'s chain in seq order against its head.

    ``progress(done, total)``, when given, is called every ``batch`` records and at the end.

    Call on a fresh session (or one already in ``begin_snapshot``): on PostgreSQL the walk runs in one REPEATABLE READ
    snapshot so an append committed meanwhile is not mistaken for tampering.
    """
    if snapshot:
        begin_snapshot(session)
    head_row = session.execute(sa.select(ChainHead.last_seq, ChainHead.last_hash)
                               .where(ChainHead.org_id == org_id)).first()
    # every append moves the head, so records without a head row mean the head was removed
    head = (head_row.last_seq, head_row.last_hash) if head_row else (0, domain.GENESIS_HASH)
    # raw text, not the JSON type: a record edited into invalid JSON must still be reported
    query = (sa.select(Record.id, Record.org_id, Record.seq, Record.kind, Record.source_event_id,
                       Record.classification, sa.type_coerce(Record.created_at, sa.String).label("created_at"),
                       sa.type_coerce(Record.content, sa.Text).label("content"), Record.corrects,
                       Record.reason, Record.recorded_by, Record.retention, Record.prev_hash, Record.hash,
                       Record.algorithm)
             .where(Record.org_id == org_id).order_by(Record.seq).execution_options(yield_per=batch))
    # A2 (rollback): the chain must reach, and pass through, every checkpoint signed: those stored
    # here and those a witness kept outside this database (``witnessed``: {seq: head_hash})
    checkpoints = checkpoint_hashes(session, org_id)
    conflict = None
    for seq, head_hash in (witnessed or {}).items():
        if checkpoints.setdefault(seq, head_hash) != head_hash:
            conflict = seq                                      # two signed heads at one seq: a fork
    verifier = domain.ChainVerifier(head, finite=True, checkpoints=checkpoints)   # _verifiable refuses NaN
    total = head[0] if progress is not None else 0
    for row in session.execute(query):
        if not verifier.feed(_verifiable(row)):
            break
        if progress is not None and verifier.count % batch == 0:
            progress(verifier.count, total)
    result = verifier.finish()
    if conflict is not None and (result["first_bad"] is None or result["first_bad"]["seq"] > conflict):
        result = {"ok": False, "records": min(result["records"], conflict - 1),
                  "first_bad": {"seq": conflict, "record_id": None, "reason": domain.CHECKPOINT_MISMATCH}}
    if progress is not None:
        progress(verifier.count, total)
    return {"org_id": org_id, **result}
