"""The outbox relay: publishes committed events, oldest first, and marks them.

A crash between the database commit and the publish loses nothing: the row
stays unpublished and the next pass (at start, on every commit, and on a
timer) sends it.  A crash after the publish but before the row is marked
sends it again; consumers de-duplicate on ``event_id`` (inbox).
"""
import json
import logging

import sqlalchemy as sa

from shared.amqp import Unroutable
from shared.clock import utcnow

log = logging.getLogger(__name__)


def relay_pending(store, publisher, batch=100):
    """Publish up to ``batch`` pending events; return how many were sent."""
    outbox = store.outbox
    query = (sa.select(outbox.c.id, outbox.c.body, outbox.c.event_type)
             .where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(batch))
    if store.engine.dialect.name == "postgresql":
        # replicas share the outbox: each row is relayed by the replica that locked it
        with store.engine.begin() as conn:
            rows = conn.execute(query.with_for_update(skip_locked=True)).all()
            return _publish_rows(store, publisher, rows, lambda stmt: conn.execute(stmt))

    # SQLite (one replica): read, then publish without holding the single connection
    with store.engine.begin() as conn:
        rows = conn.execute(query).all()

    def write(stmt):
        with store.engine.begin() as conn:
            conn.execute(stmt)
    return _publish_rows(store, publisher, rows, write)


def _publish_rows(store, publisher, rows, write):
    outbox = store.outbox
    sent = 0
    for row in rows:
        envelope = json.loads(row.body)
        unroutable, error = False, None
        try:
            publisher.publish(envelope, body=row.body)
        except Unroutable:
            # nobody is bound for this event type: keep the row (replayable) and move on
            unroutable, error = True, "no queue bound (mandatory publish returned)"
            log.info("event %s (%s): no queue bound, kept in the outbox", row.event_type, envelope["event_id"])
        except Exception as exc:
            log.warning("outbox relay: publish failed, will retry: %s", exc)
            write(outbox.update().where(outbox.c.id == row.id)
                  .values(attempts=outbox.c.attempts + 1, last_error=str(exc)[:2000]))
            break
        write(outbox.update().where(outbox.c.id == row.id)
              .values(published_at=utcnow(), unroutable=unroutable, last_error=error,
                      attempts=outbox.c.attempts + 1))
        sent += 1
    return sent


def pending_count(store):
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(store.outbox)
                            .where(store.outbox.c.published_at.is_(None))).scalar_one()
