"""The sender's claim (N2): a delivery is claimed by one pass at a time, on SQLite and
PostgreSQL, and a claimer racing another on PostgreSQL gets nothing."""
import datetime as dt
import uuid
from pathlib import Path

import eventlet
import pytest

from services.notifications import models, sender
from shared.clock import utcnow
from shared.db import Store, migrate

pytestmark = pytest.mark.integration
MIGRATIONS = Path(models.__file__).parent / "migrations"


@pytest.fixture
def store_for():
    stores = []

    def make(url):
        store = Store(url, "notifications", models.outbox, models.inbox)
        migrate(store.engine, MIGRATIONS, "alembic_version_notifications")
        stores.append(store)
        return store
    yield make
    for s in stores:
        s.dispose()


def add(store, recipient, **extra):
    row = dict(id=str(uuid.uuid4()), org_id="org-a", source_event_id=str(uuid.uuid4()), channel="email",
               recipient=recipient, person_id=recipient, kind="meeting_notice", status="pending",
               payload={"to": f"{recipient}@example.org"}, attempts=0, next_attempt_at=None, claimed_by=None,
               claimed_at=None, created_at=utcnow(), sent_at=None, last_error=None)
    row.update(extra)
    with store.uow() as uow:
        uow.session.add(models.Delivery(**row))
    return row["id"]


def test_n2_a_claimed_delivery_is_not_claimed_again_until_its_lease_expires(store_for, database_url):
    store = store_for(database_url)
    now = utcnow()
    due = add(store, "p1")
    later = add(store, "p2", next_attempt_at=now + dt.timedelta(seconds=30))      # backing off
    add(store, "p3", status="sent", sent_at=now)
    stale = add(store, "p4", claimed_by="dead-replica", claimed_at=now - dt.timedelta(seconds=300))
    fresh = add(store, "p5", claimed_by="live-replica", claimed_at=now - dt.timedelta(seconds=5))

    assert sorted(sender.claim(store, "a", now, lease=120, batch=10)) == sorted([due, stale])
    assert sender.claim(store, "b", now, lease=120, batch=10) == []
    assert sender.claim(store, "c", now + dt.timedelta(seconds=31), lease=120, batch=10) == [later]
    # every claim above is older than the lease by then: all four pending rows are claimable again
    assert set(sender.claim(store, "d", now + dt.timedelta(seconds=200), lease=120, batch=10)) \
        == {due, stale, fresh, later}
    with store.read() as s:
        assert s.get(models.Delivery, fresh).claimed_by == "d"


def test_n2_a_racing_claimer_waits_for_the_first_and_then_claims_nothing(store_for, pg_url):
    store = store_for(pg_url)
    other = store_for(pg_url)
    ids = [add(store, f"p{i}") for i in range(3)]
    now = utcnow()
    first = store.engine.connect()
    tx = first.begin()
    try:
        assert first.execute(sender.claim_statement(ids, "first", now, 120)).rowcount == 3
        # the second claimer selected the same rows before the first committed, and now blocks on them
        def second():
            with other.engine.begin() as conn:
                return conn.execute(sender.claim_statement(ids, "second", now, 120)).rowcount
        racer = eventlet.spawn(second)
        eventlet.sleep(0.5)
        assert not racer.dead
        tx.commit()
        assert racer.wait() == 0
    finally:
        first.close()
    with store.read() as s:
        assert {s.get(models.Delivery, i).claimed_by for i in ids} == {"first"}
