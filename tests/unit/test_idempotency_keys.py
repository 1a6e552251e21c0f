"""Idempotency keys without a broker: the keyed unit of work on SQLite, the gateway's key
and the OpenAPI header."""
import hashlib

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway.http import IDEMPOTENCY_HEADER, ROUTES, WRITE_METHODS, idempotency_key
from services.gateway.openapi import build_spec
from shared.db import IDEMPOTENCY, KeyedWork, SealedKey, Store, key_record_id, messaging_tables
from shared.errors import Conflict, ValidationFailed
from shared.nameko_ext import request_identity


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    value: Mapped[str] = mapped_column(sa.String(20))


outbox, inbox = messaging_tables(Base.metadata)


@pytest.fixture
def store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'keys.sqlite3'}", "probe", outbox, inbox)
    Base.metadata.create_all(store.engine)
    yield store
    store.dispose()


def things(store):
    with store.read() as s:
        return list(s.execute(sa.select(Thing.value).order_by(Thing.id)).scalars())


def command(store, key, value, request=None):
    """What a keyed worker does: write, read its own write back, answer, settle."""
    caller, request_text = request_identity("make", [{"person_id": "p1", "org_id": "o1"}, request or value], {})
    work = KeyedWork(store, SealedKey(caller, key), request_text)
    try:
        with work.uow() as uow:
            uow.session.add(Thing(value=value))
            uow.emit("thing_made", "o1", {"value": value})
        with work.read() as s:                # sees its own write before the commit
            result = {"value": value, "count": s.execute(sa.select(sa.func.count()).select_from(Thing)).scalar()}
        error = None
    except Conflict as exc:
        result, error = None, exc
    repeat, first = work.settle(result, error)
    work.close()
    return first if repeat else result


def test_the_effect_and_the_key_commit_together_and_a_repeat_answers_the_first_result(store):
    first = command(store, "k1", "a")
    assert first == {"value": "a", "count": 1}
    assert command(store, "k1", "a") == first          # run again, rolled back, first answer
    assert things(store) == ["a"]
    with store.read() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() == 1   # one event
        row = s.execute(sa.select(inbox).where(inbox.c.handler == IDEMPOTENCY)).one()
    assert row.result and row.request_hash
    assert command(store, "k2", "a") == {"value": "a", "count": 2}      # another key: another command


def test_the_stored_row_reveals_neither_the_result_nor_the_request_without_the_key(store):
    # V8: a vote's choice is one of three; a plain hash of the request would give it away to
    # whoever holds the database, and the result is the command's answer (personal data)
    first = command(store, "a-random-uuid-key", "abstain")
    with store.read() as s:
        row = s.execute(sa.select(inbox).where(inbox.c.handler == IDEMPOTENCY)).one()
    assert "abstain" not in row.result and "count" not in row.result
    caller = "p1|o1"
    for guess in ("yes", "no", "abstain"):
        text = request_identity("make", [{"person_id": "p1", "org_id": "o1"}, guess], {})[1]
        assert row.request_hash != hashlib.sha256(text.encode()).hexdigest()
        assert row.request_hash != SealedKey(caller, "another-key").fingerprint(text)
    assert row.request_hash == SealedKey(caller, "a-random-uuid-key").fingerprint(
        request_identity("make", [{"person_id": "p1", "org_id": "o1"}, "abstain"], {})[1])
    assert SealedKey(caller, "a-random-uuid-key").open(row.result) == first
    with pytest.raises(Exception):
        SealedKey(caller, "another-key").open(row.result)


def test_the_same_key_for_another_request_is_a_conflict_naming_the_header(store):
    command(store, "k1", "a")
    with pytest.raises(Conflict) as err:
        command(store, "k1", "b")
    assert err.value.field == "Idempotency-Key" and err.value.rule == "IDEMPOTENCY"
    assert things(store) == ["a"]


def test_a_failed_unit_of_work_writes_nothing_and_records_no_key(store):
    work = KeyedWork(store, SealedKey("c", "k"), "request")
    with pytest.raises(RuntimeError):
        with work.uow() as uow:
            uow.session.add(Thing(value="half"))
            uow.session.flush()
            raise RuntimeError("a rule refused it")
    assert work.settle(None, RuntimeError("a rule refused it")) == (False, None)
    assert things(store) == []
    with store.read() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(inbox)).scalar() == 0


def test_the_caller_scopes_the_key_and_the_request_hash_ignores_nothing_else():
    a = request_identity("close", [{"person_id": "p1", "org_id": "o"}, "m1"], {})
    b = request_identity("close", [{"person_id": "p2", "org_id": "o"}, "m1"], {})
    c = request_identity("close", [{"person_id": "p1", "org_id": "o"}, "m2"], {})
    d = request_identity("cancel", [{"person_id": "p1", "org_id": "o"}, "m1"], {})
    assert a[0] != b[0] and a[1] == b[1]
    assert len({a[1], c[1], d[1]}) == 3
    assert key_record_id(a[0], "k") != key_record_id(b[0], "k") and len(key_record_id(a[0], "k")) == 36


def request(method, headers=None):
    return Request(EnvironBuilder(method=method, path="/api/v1/meetings", headers=headers or {}).get_environ())


def test_the_gateway_keys_every_write_and_no_read():
    assert idempotency_key(request("GET")) is None
    made = {idempotency_key(request("POST")) for _ in range(3)}
    assert len(made) == 3                                  # one per request
    assert idempotency_key(request("DELETE", {IDEMPOTENCY_HEADER: "abc-123"})) == "abc-123"
    for bad in ("", "x" * 201, "two words", "tab\there"):
        with pytest.raises(ValidationFailed) as err:
            idempotency_key(request("POST", {IDEMPOTENCY_HEADER: bad}))
        assert err.value.field == IDEMPOTENCY_HEADER


def test_the_openapi_documents_the_header_on_every_write_route_only():
    import services.gateway.service  # noqa: F401  (registers the routes)
    spec = build_spec()
    for route in ROUTES:
        op = spec["paths"][route.openapi_path][route.method.lower()]
        headers = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
        assert (IDEMPOTENCY_HEADER in headers) == (route.method in WRITE_METHODS), route.name
    assert any(r.method in WRITE_METHODS for r in ROUTES)
