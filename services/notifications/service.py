"""Notifications service: thin nameko entrypoints over ``domain``.

N1: consumes ``meetings.meeting_noticed``, ``meetings.objection_raised``,
``voting.ballot_opened``, ``voting.result_decided`` and (C5) ``accountability.implementation_postponed``
and ``accountability.implementation_not_executable`` and notifies the people each concerns (the generic
mapping ``domain.MAPPINGS``); reminds the objection deadline of noticed meetings.
N2: in-app inbox, e-mail and webhooks; one tracked delivery per source event,
recipient and channel, written with the inbox rows and sent after commit by
``sender`` (timers run in every replica: the sender claims rows, the reminder
claims its meeting, so replicas never send twice).
"""
import datetime as dt
import os
import socket
import uuid
from pathlib import Path

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from services.notifications import domain, models, schemas, sender, webhooks
from shared import paging
from shared.actor import Actor
from shared.clock import as_utc, iso, utcnow
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.nameko_ext import Database, HealthMixin, PoisonMessage, durable_event_handler, rpc
from shared.validation import check_page, load


class ConfigTimer(Timer):
    """``@timer`` whose interval comes from the service config (or the environment)."""

    def __init__(self, key, default, **kwargs):
        self.key = key
        super().__init__(interval=default, **kwargs)

    def setup(self):
        raw = self.container.config.get(self.key) or os.environ.get(self.key)
        if raw:
            self.interval = float(raw)


config_timer = ConfigTimer.decorator


class Delivery(DependencyProvider):
    """The sender's settings, read and checked once at start (a bad SMTP_TLS fails the start)."""

    def setup(self):
        self.settings = sender.SenderConfig.from_config(self.container.config)
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def get_dependency(self, worker_ctx):
        return self


class NotificationsService(HealthMixin):
    name = "notifications"
    db = Database(models, Path(__file__).parent / "migrations")
    delivery = Delivery()

    # ------------------------------------------------------------ events (N1): one line per subscription

    @durable_event_handler("meetings", "meeting_noticed")
    def on_meeting_noticed(self, envelope):
        """N1/M5: the notice with its agenda to every recipient; the objection reminder scheduled."""
        self._notify("meetings", "meeting_noticed", envelope)

    @durable_event_handler("meetings", "objection_raised")
    def on_objection_raised(self, envelope):
        """M5/N1: a member's objection reaches the meeting's chair."""
        self._notify("meetings", "objection_raised", envelope)

    @durable_event_handler("voting", "ballot_opened")
    def on_ballot_opened(self, envelope):
        """N1: "表决已开始" to the eligible voters."""
        self._notify("voting", "ballot_opened", envelope)

    @durable_event_handler("voting", "result_decided")
    def on_result_decided(self, envelope):
        """N1: the decision to its scope, every member of the meeting."""
        self._notify("voting", "result_decided", envelope)

    @durable_event_handler("accountability", "implementation_postponed")
    def on_implementation_postponed(self, envelope):
        """C5: a postponement with its explanation to the group and the secretary."""
        self._notify("accountability", "implementation_postponed", envelope)

    @durable_event_handler("accountability", "implementation_not_executable")
    def on_implementation_not_executable(self, envelope):
        """C5: why a decision cannot be carried out, to the group and the secretary."""
        self._notify("accountability", "implementation_not_executable", envelope)

    @durable_event_handler("meetings", "objection_disposed")
    def on_objection_disposed(self, envelope):
        """M5: the chair's answer to the member who objected."""
        self._notify("meetings", "objection_disposed", envelope)

    @durable_event_handler("accountability", "implementation_due_soon")
    def on_implementation_due_soon(self, envelope):
        """C5: a task's deadline is near: the responsible leader and the office are reminded."""
        self._notify("accountability", "implementation_due_soon", envelope)

    @durable_event_handler("accountability", "implementation_overdue")
    def on_implementation_overdue(self, envelope):
        """C5: a task is overdue: the responsible leader and the office are told."""
        self._notify("accountability", "implementation_overdue", envelope)

    @durable_event_handler("accountability", "compliance_alert_raised")
    def on_compliance_alert_raised(self, envelope):
        """C7: a new alert reaches the organization's discipline inspector."""
        self._notify("accountability", "compliance_alert_raised", envelope)

    @durable_event_handler("meetings", "membership_changed")
    def on_membership_changed(self, envelope):
        """Who holds which group role; a term ended updates its row."""
        self._keep_role_holder(envelope, "membership_changed")

    @durable_event_handler("meetings", "staff_appointment_changed")
    def on_staff_appointment_changed(self, envelope):
        """Who holds which staff role (C7: the discipline inspector hears of alerts)."""
        self._keep_role_holder(envelope, "staff_appointment_changed")

    def _keep_role_holder(self, envelope, event_type):
        try:
            if not envelope.get("org_id"):
                raise ValidationFailed("org_id: the event belongs to an organization", field="org_id")
            data = load(schemas.MembershipChangedIn(), envelope["data"])
        except ValidationFailed as exc:
            raise PoisonMessage(f"{event_type} {envelope['event_id']}: {exc.message}") from None
        with self.db.uow() as uow:
            if not uow.first_time(envelope["event_id"], f"notifications.on_{event_type}"):
                return
            key = (envelope["org_id"], data["person_id"], data["role"], data["start_date"])
            row = uow.session.get(models.RoleHolder, key)
            if row is None:
                uow.session.add(models.RoleHolder(org_id=key[0], person_id=key[1], role=key[2],
                                                  start_date=key[3], end_date=data["end_date"]))
            else:
                row.end_date = data["end_date"]

    def _notify(self, source, event_type, envelope):
        mapping = domain.MAPPINGS[(source, event_type)]
        try:
            if not envelope.get("org_id"):
                raise ValidationFailed(f"{mapping.rule}: org_id: the event belongs to an organization",
                                       field="org_id", rule=mapping.rule)
            data = load(mapping.schema(), envelope["data"], rule=mapping.rule)
            domain.recipients_of(mapping, data)
        except ValidationFailed as exc:
            # never retried: a malformed event goes to the dead-letter queue at once
            raise PoisonMessage(f"{event_type} {envelope['event_id']}: {exc.message}") from None
        org_id, event_id = envelope["org_id"], envelope["event_id"]
        now = utcnow()
        with self.db.uow() as uow:
            if not uow.first_time(event_id, f"notifications.on_{event_type}"):
                return      # N2: a redelivered event has no effect
            if mapping.roster_roles:
                data = {**data, "recipients": _role_holders(uow.session, org_id, mapping.roster_roles,
                                                            now.date())}
            self._store(uow, mapping, data, org_id, event_id, event_type, now)
            if mapping.kind == domain.MEETING_NOTICE:
                self._schedule_reminder(uow.session, org_id, event_id, envelope["data"], data)

    def _store(self, uow, mapping, data, org_id, source_event_id, source_event_type, now):
        """Inbox rows and deliveries of one fact, in the caller's transaction (N2)."""
        s = uow.session
        people = domain.recipients_of(mapping, data)
        settings = _settings(s, people)
        hooks = [{"webhook_id": w.id, "event_types": w.event_types} for w in s.execute(
            sa.select(models.Webhook).where(models.Webhook.org_id == org_id, models.Webhook.active.is_(True))
            .order_by(models.Webhook.created_at, models.Webhook.id)).scalars()]
        planned = domain.plan(mapping, data, org_id=org_id, source_event_id=source_event_id,
                              source_event_type=source_event_type, settings=settings, webhooks=hooks,
                              email_available=self.delivery.settings.smtp is not None, now=now)
        for n in planned["notifications"]:
            s.add(models.Notification(org_id=org_id, source_event_id=source_event_id, created_at=now,
                                      read_at=None, acknowledged_at=None, **n))
        s.flush()
        for d in planned["deliveries"]:
            s.add(models.Delivery(org_id=org_id, source_event_id=source_event_id, created_at=now,
                                  attempts=0, next_attempt_at=None, claimed_by=None, claimed_at=None,
                                  sent_at=now if d["status"] == domain.SENT else None, last_error=None, **d))
        if planned["notifications"]:
            uow.emit("notification_delivered", org_id, {
                "source_event_id": source_event_id, "kind": mapping.kind, "channel": domain.INBOX,
                "meeting_id": mapping.meeting_id(data), "count": len(planned["notifications"]),
            })

    def _schedule_reminder(self, s, org_id, event_id, raw, data):
        """M5/N1: keep the latest notice of the meeting for its objection-deadline reminder."""
        lead = dt.timedelta(seconds=self.delivery.settings.reminder_lead)
        due = domain.reminder_due_at(data, lead)
        if due is None:
            return
        deadline = as_utc(data["objection_deadline"])
        row = s.get(models.MeetingReminder, data["meeting_id"])
        if row is None:
            s.add(models.MeetingReminder(meeting_id=data["meeting_id"], org_id=org_id, notice_event_id=event_id,
                                         noticed_at=data.get("noticed_at"), data=raw,
                                         objection_deadline=deadline, due_at=due, sent_at=None))
            return
        if row.noticed_at and data.get("noticed_at") and as_utc(data["noticed_at"]) < row.noticed_at:
            return      # an older notice arriving late changes nothing
        if row.objection_deadline != deadline:
            row.sent_at = None      # a new deadline deserves its own reminder
        row.notice_event_id, row.noticed_at, row.data = event_id, data.get("noticed_at"), raw
        row.objection_deadline, row.due_at = deadline, due

    # ------------------------------------------------------------ timers (every replica; idempotent)

    @config_timer("DELIVERY_POLL_SECONDS", 1.0)
    def send_pending(self):
        """N2: send the pending e-mail and webhook deliveries (claimed, so each once)."""
        sender.run_pass(self.db, self.delivery.settings, self.delivery.worker)

    @config_timer("REMINDER_POLL_SECONDS", 60.0)
    def remind_objection_deadlines(self):
        """M5/N1: "异议截止提醒" before the objection deadline, once per meeting and recipient."""
        now = utcnow()
        R = models.MeetingReminder
        with self.db.read() as s:
            due = s.execute(sa.select(R.meeting_id, R.objection_deadline)
                            .where(R.sent_at.is_(None), R.due_at <= now, R.objection_deadline > now)
                            .order_by(R.due_at).limit(50)).all()
        for meeting_id, deadline in due:
            with self.db.uow() as uow:
                # the claim: only one replica's UPDATE finds the reminder unsent
                claimed = uow.session.execute(
                    sa.update(R.__table__).where(R.meeting_id == meeting_id, R.sent_at.is_(None),
                                                 R.objection_deadline == deadline).values(sent_at=now))
                if claimed.rowcount != 1:
                    continue
                row = uow.session.get(R, meeting_id)
                data = load(schemas.MeetingNoticedIn(), row.data, rule="N1")
                self._store(uow, domain.REMINDER_MAPPING, data, row.org_id,
                            domain.reminder_source_id(meeting_id, deadline), "objection_reminder", now)

    # ------------------------------------------------------------ the actor's inbox (N2)

    @rpc
    def inbox(self, actor, unread_only=False, limit=50, offset=0, cursor=None):
        """The actor's own in-app notifications in their organization, newest first.

        ``{"items", "unread", "next_cursor"}``: keyset paging (the inbox grows for a whole career),
        ``cursor`` being the previous page's ``next_cursor``; ``offset`` is for old callers."""
        actor = Actor.from_dict(actor)
        if not isinstance(unread_only, bool):
            raise ValidationFailed("unread_only: must be true or false", field="unread_only")
        check_page(limit, offset)
        key = paging.decode_cursor(cursor, rule="N2")
        if key is not None and offset:
            raise ValidationFailed("N2: offset: not with a cursor", field="offset", rule="N2")
        with self.db.read() as s:
            counting, listing = inbox_statements(actor.person_id, actor.org_id, limit, key, unread_only, offset)
            unread = s.execute(counting).scalar_one()
            rows, next_cursor = paging.page_of(s.execute(listing).scalars().all(), limit,
                                               lambda n: (n.created_at, n.id))
            return {"items": [_item(n) for n in rows], "unread": unread, "next_cursor": next_cursor}

    @rpc
    def mark_read(self, actor, notification_id):
        """Mark one of the actor's own notifications read (the first reading time is kept)."""
        actor = Actor.from_dict(actor)
        with self.db.uow() as uow:
            n = _own_notification(uow.session, actor, notification_id)
            if n.read_at is None:
                n.read_at = utcnow()
        return _item(n)

    @rpc
    def acknowledge(self, actor, notification_id):
        """M5: the recipient acknowledges receipt of a meeting notice (proof of notice) or, as the chair,
        of an objection (proof that it arrived); also read.
        The first acknowledgement time is kept."""
        actor = Actor.from_dict(actor)
        with self.db.uow() as uow:
            n = _own_notification(uow.session, actor, notification_id)
            domain.check_acknowledgeable(n.kind)
            now = utcnow()
            if n.acknowledged_at is None:
                n.acknowledged_at = now
            if n.read_at is None:
                n.read_at = now
        return _item(n)

    @rpc
    def notice_receipts(self, actor, meeting_id):
        """M5: who was notified of a meeting, when, whether they read and acknowledged it, and
        how the e-mail went (the secretary, deputy, office or an administrator)."""
        actor = Actor.from_dict(actor)
        actor.require("secretary", "deputy_secretary", "office", "admin", rule="M5", action="proof of notice")
        if not isinstance(meeting_id, str) or not meeting_id:
            raise ValidationFailed("meeting_id: must be a meeting id", field="meeting_id", rule="M5")
        N, D = models.Notification, models.Delivery
        with self.db.read() as s:
            query = sa.select(N).where(N.meeting_id == meeting_id, N.kind == domain.MEETING_NOTICE)
            if not actor.has("admin"):
                query = query.where(N.org_id == actor.org_id)
            notices = s.execute(query.order_by(N.person_id, N.created_at)).scalars().all()
            events = {n.source_event_id for n in notices}
            mails = {(d.source_event_id, d.recipient): d for d in s.execute(
                sa.select(D).where(D.source_event_id.in_(events), D.channel == domain.EMAIL)).scalars()} if events else {}
            items = []
            for n in notices:
                mail = mails.get((n.source_event_id, n.person_id))
                items.append({"person_id": n.person_id, "notification_id": n.id, "notified_at": iso(n.created_at),
                              "read_at": iso(n.read_at), "acknowledged_at": iso(n.acknowledged_at),
                              "email": None if mail is None else {
                                  "status": mail.status, "sent_at": iso(mail.sent_at), "attempts": mail.attempts}})
            return {"meeting_id": meeting_id, "items": items}

    # ------------------------------------------------------------ enrolment codes (issue 17)

    @rpc
    def deliver_enrolment_code(self, actor, enrolment_id, person_id, org_id, code, expires_at):
        """A person's one-time enrolment code, to that person's registered channels only: the
        inbox, and the e-mail address when one is registered (never a webhook). Called by the
        gateway with the system actor; answers the channels used."""
        actor = Actor.from_dict(actor)
        if not actor.has("system"):
            raise Forbidden("AUTH: only the gateway delivers enrolment codes", field=None, rule="AUTH")
        expires = as_utc(dt.datetime.fromisoformat(expires_at))
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            settings = _settings(s, [person_id]).get(person_id, domain.DEFAULT_SETTINGS)
            rendered = domain.enrolment_message(settings.language, code, expires)
            notification_id = str(uuid.uuid4())
            s.add(models.Notification(id=notification_id, org_id=org_id, person_id=person_id,
                                      channel=domain.INBOX, kind=domain.ENROLMENT_CODE, title=rendered.subject,
                                      body=rendered.text(), meeting_id=None, ref_id=enrolment_id,
                                      source_event_id=enrolment_id, created_at=now, read_at=None,
                                      acknowledged_at=None))
            s.flush()
            channels = [domain.INBOX]
            rows = [domain._delivery(domain.INBOX, person_id, domain.ENROLMENT_CODE, domain.SENT,
                                     notification_id=notification_id, person_id=person_id)]
            if self.delivery.settings.smtp is not None and settings.email:
                channels.append(domain.EMAIL)
                rows.append(domain._delivery(domain.EMAIL, person_id, domain.ENROLMENT_CODE, domain.PENDING,
                                             person_id=person_id, payload={
                                                 "to": settings.email, "subject": rendered.subject,
                                                 "text": rendered.text(), "html": rendered.html(settings.language),
                                                 "language": settings.language}))
            for d in rows:
                s.add(models.Delivery(org_id=org_id, source_event_id=enrolment_id, created_at=now, attempts=0,
                                      next_attempt_at=None, claimed_by=None, claimed_at=None,
                                      sent_at=now if d["status"] == domain.SENT else None, last_error=None, **d))
        return {"enrolment_id": enrolment_id, "person_id": person_id, "channels": channels}

    # ------------------------------------------------------------ contacts and preferences (N2)

    @rpc
    def set_contact(self, actor, person_id, data):
        """N2: a person's e-mail address (the person or an administrator); ``email: null`` removes it."""
        actor = Actor.from_dict(actor)
        domain.check_contact_rights(actor, person_id)
        data = load(schemas.ContactIn(), data, rule="N2")
        with self.db.uow() as uow:
            row = _recipient_row(uow.session, person_id)
            row.email = data["email"]
            row.updated_at = utcnow()
        return {"person_id": person_id, "email": row.email}

    @rpc
    def get_preferences(self, actor):
        """The actor's own channels, language and e-mail address."""
        actor = Actor.from_dict(actor)
        with self.db.read() as s:
            return _preferences(actor.person_id, _settings(s, [actor.person_id]).get(
                actor.person_id, domain.DEFAULT_SETTINGS))

    @rpc
    def set_preferences(self, actor, data):
        """N2: the actor's own channels ``{channels: {email, inbox}}`` and ``language`` (zh-CN, en).
        A meeting notice reaches the inbox whatever the preference (M5 proof of notice)."""
        actor = Actor.from_dict(actor)
        data = load(schemas.PreferencesIn(), data, rule="N2")
        with self.db.uow() as uow:
            row = _recipient_row(uow.session, actor.person_id)
            new = domain.apply_preferences(_as_settings(row), data)
            row.language, row.email_on, row.inbox_on = new.language, new.email_on, new.inbox_on
            row.updated_at = utcnow()
        return _preferences(actor.person_id, new)

    # ------------------------------------------------------------ webhooks (N2)

    @rpc
    def register_webhook(self, actor, data):
        """N2: an integrator's endpoint (administrator or the organization's office). Returns the
        webhook with its secret — the only time the secret is shown."""
        actor = Actor.from_dict(actor)
        data = load(schemas.WebhookIn(), data, rule="N2")
        org_id = domain.check_webhook_rights(actor, data["org_id"] or actor.org_id)
        event_types = domain.check_event_types(data["event_types"])
        secret = data["secret"] if data["secret"] is not None else domain.new_secret()
        domain.secret_bytes(secret)
        webhooks.check_target(data["url"], self.delivery.settings.allow_private)
        hook = models.Webhook(id=str(uuid.uuid4()), org_id=org_id, url=data["url"], event_types=event_types,
                              secret=secret, description=data["description"], active=True,
                              created_by=actor.person_id, created_at=utcnow())
        with self.db.uow() as uow:
            uow.session.add(hook)
        return {**_webhook(hook), "secret": secret}

    @rpc
    def list_webhooks(self, actor, org_id=None):
        """The organization's webhooks, without their secrets."""
        actor = Actor.from_dict(actor)
        org_id = domain.check_webhook_rights(actor, org_id or actor.org_id)
        W = models.Webhook
        with self.db.read() as s:
            rows = s.execute(sa.select(W).where(W.org_id == org_id).order_by(W.created_at, W.id)).scalars().all()
            return {"items": [_webhook(w) for w in rows]}

    @rpc
    def remove_webhook(self, actor, webhook_id):
        """Stop sending to a webhook (its delivery log is kept)."""
        actor = Actor.from_dict(actor)
        with self.db.uow() as uow:
            hook = uow.session.get(models.Webhook, webhook_id) if isinstance(webhook_id, str) else None
            if hook is None:
                raise NotFound("N2: webhook_id: no such webhook", field="webhook_id", rule="N2")
            domain.check_webhook_owner(actor, hook.org_id)
            hook.active = False
        return _webhook(hook)

    @rpc
    def deliveries(self, actor, filters=None, limit=50, offset=0, cursor=None):
        """N2: the delivery log of an organization (administrator or office): each delivery with
        its status and every attempt, newest first: ``{items, next_cursor}``.

        Keyset paging (issue 20): pass the previous page's ``next_cursor`` as ``cursor``; the
        page walks ix_deliveries_org from that key.  ``offset`` is kept for old callers only and
        refused together with a cursor."""
        actor = Actor.from_dict(actor)
        f = load(schemas.DeliveriesQuery(), filters or {}, rule="N2")
        check_page(limit, offset)
        key = paging.decode_cursor(cursor, rule="N2")
        if key is not None and offset:
            raise ValidationFailed("offset: not with a cursor", field="offset")
        org_id = domain.check_webhook_rights(actor, f["org_id"] or actor.org_id)
        D, A = models.Delivery, models.DeliveryAttempt
        query = sa.select(D).where(D.org_id == org_id)
        for name in ("channel", "status", "webhook_id", "source_event_id"):
            if f[name] is not None:
                query = query.where(getattr(D, name) == f[name])
        if key is not None:
            query = query.where(paging.after(D.created_at, D.id, key))
        with self.db.read() as s:
            rows = s.execute(query.order_by(D.created_at.desc(), D.id).limit(limit + 1).offset(offset)).scalars().all()
            rows, next_cursor = paging.page_of(rows, limit, lambda r: (r.created_at, r.id))
            log = {}
            if rows:
                for a in s.execute(sa.select(A).where(A.delivery_id.in_([r.id for r in rows]))
                                   .order_by(A.delivery_id, A.attempt)).scalars():
                    log.setdefault(a.delivery_id, []).append({
                        "attempt": a.attempt, "at": iso(a.at), "ok": a.ok, "status_code": a.status_code,
                        "error": a.error, "duration_ms": a.duration_ms})
            return {"items": [_delivery(r, log.get(r.id, [])) for r in rows], "next_cursor": next_cursor}


# ---------------------------------------------------------------------------- helpers

def _own_notification(s, actor, notification_id):
    n = s.get(models.Notification, notification_id) if isinstance(notification_id, str) else None
    if n is None or n.person_id != actor.person_id or n.org_id != actor.org_id:
        # someone else's notification is not revealed to exist
        raise NotFound("N2: notification_id: no such notification", field="notification_id", rule="N2")
    return n


def _as_settings(row):
    return domain.Settings(email=row.email, language=row.language, email_on=row.email_on, inbox_on=row.inbox_on)


def _settings(s, people):
    if not people:
        return {}
    rows = s.execute(sa.select(models.Recipient).where(models.Recipient.person_id.in_(people))).scalars()
    return {r.person_id: _as_settings(r) for r in rows}


def _recipient_row(s, person_id):
    row = s.get(models.Recipient, person_id)
    if row is None:
        d = domain.DEFAULT_SETTINGS
        row = models.Recipient(person_id=person_id, email=d.email, language=d.language, email_on=d.email_on,
                               inbox_on=d.inbox_on, updated_at=utcnow())
        s.add(row)
    return row


def _preferences(person_id, settings):
    return {"person_id": person_id, "email": settings.email, "language": settings.language,
            "channels": {"email": settings.email_on, "inbox": settings.inbox_on}}


def _item(n):
    return {"notification_id": n.id, "kind": n.kind, "channel": n.channel, "title": n.title, "body": n.body,
            "meeting_id": n.meeting_id, "ref_id": n.ref_id, "created_at": iso(n.created_at),
            "read_at": iso(n.read_at), "acknowledged_at": iso(n.acknowledged_at)}


def _webhook(w):
    return {"webhook_id": w.id, "org_id": w.org_id, "url": w.url, "event_types": list(w.event_types),
            "description": w.description, "active": w.active, "created_at": iso(w.created_at)}


def _delivery(d, log):
    return {"delivery_id": d.id, "source_event_id": d.source_event_id, "channel": d.channel,
            "recipient": d.recipient, "kind": d.kind, "status": d.status, "attempts": d.attempts,
            "created_at": iso(d.created_at), "sent_at": iso(d.sent_at), "next_attempt_at": iso(d.next_attempt_at),
            "last_error": d.last_error, "log": log}


def inbox_statements(person_id, org_id, limit, key=None, unread_only=False, offset=0):
    """The unread count and one page (``limit + 1`` rows, newest first, after ``key``) of a
    person's inbox: range scans of ix_notifications_recipient (person_id, org_id, created_at)."""
    N = models.Notification
    mine = [N.person_id == person_id, N.org_id == org_id, N.channel == domain.INBOX]
    counting = sa.select(sa.func.count()).select_from(N).where(*mine, N.read_at.is_(None))
    listing = sa.select(N).where(*mine)
    if unread_only:
        listing = listing.where(N.read_at.is_(None))
    if key is not None:
        listing = listing.where(paging.after(N.created_at, N.id, key))
    listing = listing.order_by(N.created_at.desc(), N.id).limit(limit + 1)
    return counting, (listing.offset(offset) if offset else listing)


def _role_holders(s, org_id, roles, day):
    """The persons holding one of ``roles`` in the organization on ``day`` (C7 recipients)."""
    H = models.RoleHolder
    return list(dict.fromkeys(s.execute(
        sa.select(H.person_id).where(H.org_id == org_id, H.role.in_(roles), H.start_date <= day,
                                     sa.or_(H.end_date.is_(None), H.end_date >= day))
        .order_by(H.person_id)).scalars()))
