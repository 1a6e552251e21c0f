"""The sender (N2): sends pending e-mail and webhook deliveries after commit.

Deliveries are written as ``pending`` in the same transaction as the inbox rows.
A pass — run by a timer in every replica — claims a batch with one conditional
UPDATE (``claimed_by``/``claimed_at``, only rows that are pending, due, and not
claimed within the lease), sends each outside any transaction, then marks it
``sent`` (or schedules the next attempt with exponential back-off, or marks it
``failed`` after the last one, emitting ``notification_failed`` once) and logs the attempt.  Two replicas never claim
the same row: on PostgreSQL the second UPDATE re-checks the claim condition on
the committed row, on SQLite writers are serialised.

Residual window (at least once, not exactly once): if the process dies after
the SMTP server or the webhook receiver accepted a message but before the
"sent" mark commits, the row is claimed again when its lease expires and sent
a second time.  Both copies carry the same identity — the e-mail's
``Message-ID`` and the webhook's ``webhook-id`` are derived from the delivery
id — so the duplicate is recognisable.  The lease must exceed the send timeout.
"""
import datetime as dt
import logging
import os
import time
import uuid
from dataclasses import dataclass
from types import SimpleNamespace

import sqlalchemy as sa

from services.notifications import domain, mailer, models, webhooks
from shared.clock import utcnow

log = logging.getLogger(__name__)

TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SenderConfig:
    smtp: mailer.SmtpConfig | None
    allow_private: bool = False
    webhook_timeout: float = 10.0
    backoff_base: float = 1.0
    backoff_cap: float = 3600.0
    max_attempts: int = 10
    lease: float = 120.0
    batch: int = 20
    poll: float = 1.0
    reminder_poll: float = 60.0
    reminder_lead: float = 12 * 3600.0

    @classmethod
    def from_config(cls, config, environ=None):
        """Read the service config (environment variables of the same name fill gaps).

        Refuses an unknown SMTP_TLS mode or a non-numeric number at start."""
        environ = os.environ if environ is None else environ

        def get(key, default=None):
            value = config.get(key)
            if value is None or value == "":
                value = environ.get(key)
            return default if value is None or value == "" else value

        def number(key, default, kind=float, minimum=0):
            raw = get(key, default)
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise ValueError(f"{key}: must be a number, got {raw!r}") from None
            if value < minimum:
                raise ValueError(f"{key}: must be at least {minimum}")
            return value

        smtp = None
        host = get("SMTP_HOST")
        if host:
            tls = str(get("SMTP_TLS", "none")).lower()
            if tls not in mailer.TLS_MODES:
                raise ValueError(f"SMTP_TLS: must be one of {', '.join(mailer.TLS_MODES)}, got {tls!r}")
            smtp = mailer.SmtpConfig(
                host=str(host), port=number("SMTP_PORT", mailer.DEFAULT_PORTS[tls], int, 1), tls=tls,
                username=get("SMTP_USERNAME"), password=get("SMTP_PASSWORD"),
                sender=str(get("SMTP_SENDER", "notifications@localhost")),
                timeout=number("SMTP_TIMEOUT_SECONDS", 10.0, float, 0.1))
        lease = number("DELIVERY_LEASE_SECONDS", 120.0, float, 1)
        config_ = cls(
            smtp=smtp,
            allow_private=str(get("WEBHOOK_ALLOW_PRIVATE", "0")).lower() in TRUE,
            webhook_timeout=number("WEBHOOK_TIMEOUT_SECONDS", 10.0, float, 0.1),
            backoff_base=number("DELIVERY_BACKOFF_SECONDS", 1.0, float, 0.01),
            backoff_cap=number("DELIVERY_BACKOFF_MAX_SECONDS", 3600.0, float, 0.01),
            max_attempts=number("DELIVERY_MAX_ATTEMPTS", 10, int, 1),
            lease=lease,
            batch=number("DELIVERY_BATCH", 20, int, 1),
            poll=number("DELIVERY_POLL_SECONDS", 1.0, float, 0.05),
            reminder_poll=number("REMINDER_POLL_SECONDS", 60.0, float, 0.05),
            reminder_lead=number("OBJECTION_REMINDER_LEAD_SECONDS", 12 * 3600.0, float, 0),
        )
        sends_timeout = max(config_.webhook_timeout, smtp.timeout if smtp else 0)
        if lease <= sends_timeout:
            raise ValueError("DELIVERY_LEASE_SECONDS: must exceed the SMTP and webhook timeouts")
        return config_


def _claimable(now, lease):
    d = models.Delivery.__table__
    free = sa.or_(d.c.claimed_at.is_(None), d.c.claimed_at < now - dt.timedelta(seconds=lease))
    return sa.and_(d.c.status == domain.PENDING,
                   sa.or_(d.c.next_attempt_at.is_(None), d.c.next_attempt_at <= now), free)


def claim_statement(ids, token, now, lease):
    """The claiming UPDATE.  The claim condition is on the UPDATE itself, so a concurrent
    claimer blocked on the same rows re-checks it after the first commits and skips them."""
    d = models.Delivery.__table__
    return sa.update(d).where(d.c.id.in_(ids), _claimable(now, lease)).values(claimed_by=token, claimed_at=now)


def claim(store, token, now, lease, batch):
    """Claim up to ``batch`` due pending deliveries for this pass; returns their ids."""
    d = models.Delivery.__table__
    candidates = sa.select(d.c.id).where(_claimable(now, lease)).order_by(d.c.created_at, d.c.id).limit(batch)
    with store.uow() as uow:
        ids = [row[0] for row in uow.session.execute(candidates).all()]
        if not ids:
            return []
        uow.session.execute(claim_statement(ids, token, now, lease))
    with store.read() as s:
        return [row[0] for row in s.execute(
            sa.select(d.c.id).where(d.c.claimed_by == token, d.c.status == domain.PENDING)
            .order_by(d.c.created_at, d.c.id)).all()]


def run_pass(store, config, worker="sender", max_batches=10):
    """Claim and send due deliveries; returns how many were attempted."""
    done = 0
    for _ in range(max_batches):
        token = f"{worker}:{uuid.uuid4()}"
        ids = claim(store, token, utcnow(), config.lease, config.batch)
        if not ids:
            break
        for delivery_id in ids:
            send_one(store, config, delivery_id, token)
            done += 1
    return done


def send_one(store, config, delivery_id, token):
    """One attempt of one claimed delivery, then its outcome and log line in one transaction."""
    with store.read() as s:
        row = _snapshot(s.get(models.Delivery, delivery_id))
        hook = _snapshot(s.get(models.Webhook, row.webhook_id)) if row.webhook_id else None
    started = time.monotonic()
    ok, code, error, permanent = False, None, None, False
    try:
        if row.channel == domain.EMAIL:
            code = _send_email(config, row)
        elif row.channel == domain.WEBHOOK:
            code = _send_webhook(config, row, hook)
        else:
            raise mailer.PermanentFailure(f"channel {row.channel} is not sent by the sender")
        ok = 200 <= code < 300 if row.channel == domain.WEBHOOK else True
        if not ok:
            error = f"HTTP {code}"
    except mailer.PermanentFailure as exc:
        code, error, permanent = exc.code, str(exc), True
    except webhooks.TargetRefused as exc:
        error, permanent = f"N2: {exc}", True
    except Exception as exc:   # network, TLS, timeouts, 4xx SMTP replies: try again later
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    now = utcnow()
    attempts = row.attempts + 1
    d = models.Delivery.__table__
    with store.uow() as uow:
        if ok:
            values = {"status": domain.SENT, "sent_at": now, "last_error": None, "next_attempt_at": None}
        else:
            status, next_at = domain.after_failure(attempts, config.max_attempts, config.backoff_base,
                                                   config.backoff_cap, now, permanent)
            values = {"status": status, "next_attempt_at": next_at, "last_error": (error or "")[:2000]}
            log.warning("delivery %s (%s) attempt %d failed: %s", row.id, row.channel, attempts, error)
        marked = uow.session.execute(sa.update(d).where(d.c.id == row.id, d.c.claimed_by == token).values(
            attempts=attempts, claimed_by=None, claimed_at=None, **values))
        if not ok and values["status"] == domain.FAILED and marked.rowcount == 1:
            # N2: the channel gave up on this delivery: said once (only the claim holder marks
            # it failed), in the transaction that marks it, and kept by the archive (A1)
            uow.emit("notification_failed", row.org_id, failure_fact(row, attempts, error, now))
        uow.session.add(models.DeliveryAttempt(delivery_id=row.id, attempt=attempts, at=now, ok=ok,
                                               status_code=code, error=error and error[:2000],
                                               duration_ms=duration_ms))


def failure_fact(row, attempts, error, now):
    """The ``notification_failed`` data of a delivery that finally failed (never its payload:
    an e-mail's text or an enrolment code stays in this service)."""
    return {"delivery_id": row.id, "source_event_id": row.source_event_id, "kind": row.kind,
            "channel": row.channel, "recipient": row.recipient, "person_id": row.person_id,
            "webhook_id": row.webhook_id, "attempts": attempts, "error": (error or "")[:500], "failed_at": now}


def _snapshot(obj):
    """The row's column values, usable after its session is gone."""
    if obj is None:
        return None
    return SimpleNamespace(**{c.key: getattr(obj, c.key) for c in sa.inspect(obj).mapper.column_attrs})


def _send_email(config, row):
    if config.smtp is None:
        raise RuntimeError("SMTP_HOST is not configured")
    p = row.payload
    msg = mailer.build_message(config.smtp.sender, p["to"], p["subject"], p["text"], p["html"],
                               mailer.message_id(row.id, config.smtp.sender))
    return mailer.send(config.smtp, msg)


def _send_webhook(config, row, hook):
    if hook is None or not hook.active:
        raise mailer.PermanentFailure("the webhook was removed")
    return webhooks.post(hook.url, row.payload["body"], hook.secret, row.id,
                         allow_private=config.allow_private, timeout=config.webhook_timeout)
