"""Notifications service: thin nameko entrypoints over ``domain``.

Consumes ``meetings.meeting_noticed`` and puts one notice in each recipient's
in-app inbox (N1), at most once per recipient and channel (N2).
"""
import uuid
from pathlib import Path

import sqlalchemy as sa

from services.notifications import domain, models, schemas
from shared.actor import Actor
from shared.clock import iso, utcnow
from shared.errors import NotFound, ValidationFailed
from shared.nameko_ext import Database, HealthMixin, PoisonMessage, durable_event_handler, rpc
from shared.validation import load

HANDLER = "notifications.on_meeting_noticed"


class NotificationsService(HealthMixin):
    name = "notifications"
    db = Database(models, Path(__file__).parent / "migrations")

    # ------------------------------------------------------------ events

    @durable_event_handler("meetings", "meeting_noticed")
    def on_meeting_noticed(self, envelope):
        """N1: the notice with its agenda to every recipient; N2: once each, whatever the redeliveries."""
        try:
            if not envelope.get("org_id"):
                raise ValidationFailed("N1: org_id: a meeting belongs to an organization",
                                       field="org_id", rule="N1")
            data = load(schemas.MeetingNoticedIn(), envelope["data"], rule="N1")
            notices = domain.notices_for_meeting(data)
        except ValidationFailed as exc:
            # never retried: a malformed notice goes to the dead-letter queue at once
            raise PoisonMessage(f"meeting_noticed {envelope['event_id']}: {exc.message}") from None
        org_id, event_id = envelope["org_id"], envelope["event_id"]
        now = utcnow()
        with self.db.uow() as uow:
            if not uow.first_time(event_id, HANDLER):
                return
            for notice in notices:
                uow.session.add(models.Notification(id=str(uuid.uuid4()), org_id=org_id,
                                                    source_event_id=event_id, created_at=now,
                                                    read_at=None, **notice))
            if notices:
                uow.emit("notification_delivered", org_id, {
                    "source_event_id": event_id, "kind": domain.MEETING_NOTICE, "channel": domain.INBOX,
                    "meeting_id": data["meeting_id"], "count": len(notices),
                })

    # ------------------------------------------------------------ the actor's inbox (N2)

    @rpc
    def inbox(self, actor, unread_only=False, limit=50, offset=0):
        """The actor's own in-app notifications in their organization, newest first."""
        actor = Actor.from_dict(actor)
        if not isinstance(unread_only, bool):
            raise ValidationFailed("unread_only: must be true or false", field="unread_only")
        domain.check_page(limit, offset)
        N = models.Notification
        mine = [N.person_id == actor.person_id, N.org_id == actor.org_id, N.channel == domain.INBOX]
        with self.db.read() as s:
            unread = s.execute(sa.select(sa.func.count()).select_from(N)
                               .where(*mine, N.read_at.is_(None))).scalar_one()
            query = sa.select(N).where(*mine)
            if unread_only:
                query = query.where(N.read_at.is_(None))
            rows = s.execute(query.order_by(N.created_at.desc(), N.id.desc())
                             .limit(limit).offset(offset)).scalars().all()
            return {"items": [_item(n) for n in rows], "unread": unread}

    @rpc
    def mark_read(self, actor, notification_id):
        """Mark one of the actor's own notifications read (the first reading time is kept)."""
        actor = Actor.from_dict(actor)
        with self.db.uow() as uow:
            n = uow.session.get(models.Notification, notification_id) if isinstance(notification_id, str) else None
            if n is None or n.person_id != actor.person_id or n.org_id != actor.org_id:
                # someone else's notification is not revealed to exist
                raise NotFound("N2: notification_id: no such notification", field="notification_id", rule="N2")
            if n.read_at is None:
                n.read_at = utcnow()
        return _item(n)


def _item(n):
    return {"notification_id": n.id, "kind": n.kind, "channel": n.channel, "title": n.title, "body": n.body,
            "meeting_id": n.meeting_id, "created_at": iso(n.created_at), "read_at": iso(n.read_at)}
