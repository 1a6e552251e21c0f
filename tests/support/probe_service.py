"""A tiny service built only from the shared package, to prove its guarantees
(durable handler, dead-lettering, outbox, inbox, cooperative PostgreSQL)."""
from pathlib import Path

import eventlet
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import messaging_tables
from shared.nameko_ext import Database, durable_event_handler, rpc

SOURCE = "probe"
EVENT = "thing_happened"
HANDLER_QUEUE = f"evt-{SOURCE}-{EVENT}--probe.on_thing_happened"


class Base(DeclarativeBase):
    pass


class Effect(Base):
    __tablename__ = "effects"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(36))
    value: Mapped[str] = mapped_column(sa.String(100))


class _Models:
    outbox, inbox = messaging_tables(Base.metadata)


ATTEMPTS = {}


class ProbeService:
    name = "probe"
    db = Database(_Models, Path(__file__).parent / "probe_migrations")

    @durable_event_handler(SOURCE, EVENT)
    def on_thing_happened(self, envelope):
        data = envelope["data"]
        ATTEMPTS[envelope["event_id"]] = ATTEMPTS.get(envelope["event_id"], 0) + 1
        if data.get("fail") == "always":
            raise RuntimeError("this handler always fails")
        with self.db.uow() as uow:
            if not uow.first_time(envelope["event_id"], "probe.on_thing_happened"):
                return
            uow.session.add(Effect(event_id=envelope["event_id"], value=data["value"]))

    @rpc
    def make_thing(self, value):
        with self.db.uow() as uow:
            uow.session.add(Effect(event_id="local", value=value))
            uow.emit(EVENT, "org-1", {"value": value})

    @rpc
    def make_thing_then_wait(self, value, seconds):
        """A command that commits, then takes a while before it answers (its reply can be lost)."""
        with self.db.uow() as uow:
            uow.session.add(Effect(event_id="local", value=value))
        eventlet.sleep(seconds)
        return value

    @rpc
    def pg_sleep(self, seconds):
        with self.db.read() as s:
            s.execute(sa.text("SELECT pg_sleep(:s)"), {"s": seconds})
        return seconds

    @rpc
    def effects(self):
        with self.db.read() as s:
            return [(e.event_id, e.value) for e in s.execute(sa.select(Effect).order_by(Effect.id)).scalars()]
