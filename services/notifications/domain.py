"""Notification rules in plain Python (no nameko, no HTTP, no database).

N1: each fact the suite publishes reaches the people it concerns: a meeting
    notice with its agenda goes to every attendee (M5), the objection deadline
    is recalled before it passes, a member's objection reaches the chair (M5),
    the eligible voters hear that a ballot has opened, a decision goes to its
    scope (the members of the meeting).
N2: channels are the in-app inbox, e-mail and webhooks; every delivery is
    tracked and a notification goes at most once per recipient, channel and
    source event.

``MAPPINGS`` is the one table from an event to its notifications: adding a
subscription is a schema, a template and one entry here (plus the handler line
in ``service.py``).
"""
import base64
import binascii
import datetime as dt
import ipaddress
import secrets
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Callable

from services.notifications import schemas, templates
from shared.clock import as_utc, iso
from shared.envelope import dumps
from shared.errors import Forbidden, NotFound, RuleViolation, ValidationFailed

INBOX, EMAIL, WEBHOOK = "inbox", "email", "webhook"
CHANNELS = (INBOX, EMAIL, WEBHOOK)
PENDING, SENT, FAILED = "pending", "sent", "failed"

MEETING_NOTICE = "meeting_notice"
OBJECTION_REMINDER = "objection_reminder"
BALLOT_OPENED = "ballot_opened"
DECISION_DISTRIBUTED = "decision_distributed"
OBJECTION_RECEIVED = "objection_received"
IMPLEMENTATION_POSTPONED = "implementation_postponed"
IMPLEMENTATION_NOT_EXECUTABLE = "implementation_not_executable"
IMPLEMENTATION_DUE_SOON = "implementation_due_soon"
IMPLEMENTATION_OVERDUE = "implementation_overdue"
COMPLIANCE_ALERT = "compliance_alert"
OBJECTION_ANSWERED = "objection_answered"

# C7: who hears of a new compliance alert (the organization's holders of these roles that day)
ALERT_RECIPIENT_ROLES = ("discipline",)

# namespace of the ids derived from other ids (reminders): the same input always gives the same id
DERIVED_IDS = uuid.UUID("6c1f3a52-2f0e-4e55-9a53-5b1d3c0f6e21")


@dataclass(frozen=True)
class Mapping:
    """How one kind of fact becomes notifications."""
    kind: str
    schema: type                              # marshmallow schema of the event data
    recipients_field: str                     # where the recipients are (named in errors)
    recipients: Callable[[dict], list]        # validated data -> person ids, in order
    meeting_id: Callable[[dict], str | None]
    ref_id: Callable[[dict], str | None]      # the thing notified about (ballot, decision, …)
    mandatory_inbox: bool = False             # reaches the inbox whatever the preferences (M5 proof)
    acknowledgeable: bool = False             # receipt can be acknowledged (M5 proof of notice)
    rule: str = "N1"
    # the recipients are not in the event: they are the organization's holders of these roles
    # (kept from ``meetings.membership_changed``), put into the data as ``recipients``
    roster_roles: tuple = ()


MAPPINGS = {
    # N1 / M5: the notice with agenda to every attendee
    ("meetings", "meeting_noticed"): Mapping(
        kind=MEETING_NOTICE, schema=schemas.MeetingNoticedIn, recipients_field="recipients",
        recipients=lambda d: d["recipients"], meeting_id=lambda d: d["meeting_id"],
        ref_id=lambda d: d["meeting_id"], mandatory_inbox=True, acknowledgeable=True),
    # N1: "表决已开始" to the eligible voters (V1)
    ("voting", "ballot_opened"): Mapping(
        kind=BALLOT_OPENED, schema=schemas.BallotOpenedIn, recipients_field="eligible",
        recipients=lambda d: d["eligible"], meeting_id=lambda d: d["meeting_id"],
        ref_id=lambda d: d["ballot_id"]),
    # N1 §三(七), §三(十): the decision to its scope, every member of the meeting
    ("voting", "result_decided"): Mapping(
        kind=DECISION_DISTRIBUTED, schema=schemas.ResultDecidedIn, recipients_field="members",
        recipients=lambda d: [m["person_id"] for m in d["members"]], meeting_id=lambda d: d["meeting_id"],
        ref_id=lambda d: d["decision_id"]),
    # M5: a member's objection reaches the chair, whatever the chair's preferences; the chair
    # can acknowledge it (proof that it arrived before the meeting)
    ("meetings", "objection_raised"): Mapping(
        kind=OBJECTION_RECEIVED, schema=schemas.ObjectionRaisedIn, recipients_field="chair_person_id",
        recipients=lambda d: [d["chair_person_id"]], meeting_id=lambda d: d["meeting_id"],
        ref_id=lambda d: d["meeting_id"], mandatory_inbox=True, acknowledgeable=True, rule="M5"),
    # C5 §三(十二): a postponement or a decision that cannot be carried out is explained to the group
    ("accountability", "implementation_postponed"): Mapping(
        kind=IMPLEMENTATION_POSTPONED, schema=schemas.ImplementationPostponedIn, recipients_field="recipients",
        recipients=lambda d: d["recipients"], meeting_id=lambda d: d.get("meeting_id"),
        ref_id=lambda d: d["task_id"], mandatory_inbox=True, rule="C5"),
    ("accountability", "implementation_not_executable"): Mapping(
        kind=IMPLEMENTATION_NOT_EXECUTABLE, schema=schemas.ImplementationNotExecutableIn,
        recipients_field="recipients", recipients=lambda d: d["recipients"],
        meeting_id=lambda d: d.get("meeting_id"), ref_id=lambda d: d["task_id"], mandatory_inbox=True, rule="C5"),
    # M5: the chair's answer reaches the member who objected, whatever their preferences
    ("meetings", "objection_disposed"): Mapping(
        kind=OBJECTION_ANSWERED, schema=schemas.ObjectionDisposedIn, recipients_field="person_id",
        recipients=lambda d: [d["person_id"]], meeting_id=lambda d: d["meeting_id"],
        ref_id=lambda d: d["meeting_id"], mandatory_inbox=True, rule="M5"),
    # C5 §三(七): a deadline near, or passed, to the responsible leader and the office following it up
    ("accountability", "implementation_due_soon"): Mapping(
        kind=IMPLEMENTATION_DUE_SOON, schema=schemas.ImplementationDueSoonIn, recipients_field="recipients",
        recipients=lambda d: d["recipients"] or [d["leader_person_id"]], meeting_id=lambda d: None,
        ref_id=lambda d: d["task_id"], mandatory_inbox=True, rule="C5"),
    ("accountability", "implementation_overdue"): Mapping(
        kind=IMPLEMENTATION_OVERDUE, schema=schemas.ImplementationOverdueIn, recipients_field="recipients",
        recipients=lambda d: d["recipients"] or [d["leader_person_id"]], meeting_id=lambda d: None,
        ref_id=lambda d: d["task_id"], mandatory_inbox=True, rule="C5"),
    # C7: a new alert reaches the discipline inspector
    ("accountability", "compliance_alert_raised"): Mapping(
        kind=COMPLIANCE_ALERT, schema=schemas.ComplianceAlertRaisedIn, recipients_field="recipients",
        recipients=lambda d: d.get("recipients", []), meeting_id=lambda d: None,
        ref_id=lambda d: d["alert_id"], mandatory_inbox=True, rule="C7", roster_roles=ALERT_RECIPIENT_ROLES),
}

# N1 / M5: not an event of another service but a reminder this service schedules from a notice
REMINDER_MAPPING = Mapping(
    kind=OBJECTION_REMINDER, schema=schemas.MeetingNoticedIn, recipients_field="recipients",
    recipients=lambda d: d["recipients"], meeting_id=lambda d: d["meeting_id"],
    ref_id=lambda d: d["meeting_id"], mandatory_inbox=True)

KINDS = tuple(m.kind for m in MAPPINGS.values()) + (OBJECTION_REMINDER,)
ACKNOWLEDGEABLE = frozenset(m.kind for m in (*MAPPINGS.values(), REMINDER_MAPPING) if m.acknowledgeable)


# ----------------------------------------------------------------------------- recipients' settings

@dataclass(frozen=True)
class Settings:
    """A person's contact and preferences (defaults: inbox and e-mail on, zh-CN)."""
    email: str | None = None
    language: str = templates.DEFAULT_LANGUAGE
    email_on: bool = True
    inbox_on: bool = True


DEFAULT_SETTINGS = Settings()


def apply_preferences(current, changes):
    """N2: the person's settings after ``set_preferences`` (only the given keys change)."""
    channels = changes.get("channels") or {}
    return Settings(email=current.email,
                    language=changes.get("language", current.language),
                    email_on=channels.get("email", current.email_on),
                    inbox_on=channels.get("inbox", current.inbox_on))


def check_contact_rights(actor, person_id):
    """N2: a person's e-mail address is set by the person themself or an administrator."""
    if not isinstance(person_id, str) or not 1 <= len(person_id) <= 64:
        raise ValidationFailed("person_id: must be a person id", field="person_id", rule="N2")
    if actor.person_id != person_id and not actor.has("admin"):
        raise Forbidden("N2: only the person or an administrator sets a person's e-mail address",
                        field="person_id", rule="N2")


# ----------------------------------------------------------------------------- planning

def recipients_of(mapping, data):
    """Distinct recipients in order; a blank id is refused naming its place (N1)."""
    seen, people = set(), []
    for i, person_id in enumerate(mapping.recipients(data)):
        if not isinstance(person_id, str) or not person_id.strip():
            field = f"{mapping.recipients_field}.{i}"
            raise ValidationFailed(f"{mapping.rule}: {field}: must be a person id", field=field, rule=mapping.rule)
        if person_id not in seen:        # N2: listed twice, notified once
            seen.add(person_id)
            people.append(person_id)
    return people


def webhook_body(mapping, data, *, org_id, source_event_id, source_event_type, recipients, subject, now):
    """The JSON an integrator receives (Standard Webhooks shape: type, timestamp, data)."""
    return {
        "type": mapping.kind,
        "timestamp": iso(now),
        "data": {
            "org_id": org_id, "source_event_id": source_event_id, "source_event_type": source_event_type,
            "meeting_id": mapping.meeting_id(data), "ref_id": mapping.ref_id(data), "title": subject,
            "recipients": recipients, "event": data,
        },
    }


def plan(mapping, data, *, org_id, source_event_id, source_event_type, settings, webhooks,
         email_available, now):
    """N1/N2: the notifications and deliveries one fact causes.

    ``settings``: person_id -> ``Settings`` (missing = defaults);
    ``webhooks``: active endpoints of the organization as dicts (webhook_id, event_types);
    ``email_available``: an SMTP server is configured.
    Returns ``{"notifications": [...], "deliveries": [...]}``: inbox rows (delivered
    when stored, so their delivery is ``sent`` at once), and pending e-mail and
    webhook deliveries the sender sends after commit.
    """
    people = recipients_of(mapping, data)
    notifications, deliveries = [], []
    for person_id in people:
        s = settings.get(person_id, DEFAULT_SETTINGS)
        rendered = templates.render(mapping.kind, s.language, data)
        if mapping.mandatory_inbox or s.inbox_on:
            notification_id = str(uuid.uuid4())
            notifications.append({
                "id": notification_id, "person_id": person_id, "channel": INBOX, "kind": mapping.kind,
                "title": rendered.subject, "body": rendered.text(),
                "meeting_id": mapping.meeting_id(data), "ref_id": mapping.ref_id(data),
            })
            deliveries.append(_delivery(INBOX, person_id, mapping.kind, SENT, notification_id=notification_id,
                                        person_id=person_id))
        if email_available and s.email_on and s.email:
            deliveries.append(_delivery(EMAIL, person_id, mapping.kind, PENDING, person_id=person_id, payload={
                "to": s.email, "subject": rendered.subject, "text": rendered.text(),
                "html": rendered.html(s.language), "language": s.language,
            }))
    hooks = [w for w in webhooks if mapping.kind in w["event_types"]]
    if hooks:
        subject = templates.render(mapping.kind, templates.DEFAULT_LANGUAGE, data).subject
        body = dumps(webhook_body(mapping, data, org_id=org_id, source_event_id=source_event_id,
                                  source_event_type=source_event_type, recipients=people,
                                  subject=subject, now=now))
        for hook in hooks:
            deliveries.append(_delivery(WEBHOOK, hook["webhook_id"], mapping.kind, PENDING,
                                        webhook_id=hook["webhook_id"], payload={"body": body}))
    return {"notifications": notifications, "deliveries": deliveries}


def _delivery(channel, recipient, kind, status, notification_id=None, person_id=None, webhook_id=None,
              payload=None):
    return {"id": str(uuid.uuid4()), "channel": channel, "recipient": recipient, "kind": kind,
            "status": status, "notification_id": notification_id, "person_id": person_id,
            "webhook_id": webhook_id, "payload": payload}


# ----------------------------------------------------------------------------- the meeting notice

def notices_for_meeting(data):
    """N1/N2: one inbox notification per distinct recipient of a meeting notice (zh-CN).

    ``data`` is a validated ``meetings.meeting_noticed`` payload.  Returns a list of dicts
    (person_id, channel, kind, title, body, meeting_id) in recipient order.
    """
    mapping = MAPPINGS[("meetings", "meeting_noticed")]
    rendered = templates.render(MEETING_NOTICE, templates.DEFAULT_LANGUAGE, data)
    return [{"person_id": pid, "channel": INBOX, "kind": MEETING_NOTICE, "title": rendered.subject,
             "body": rendered.text(), "meeting_id": data["meeting_id"]}
            for pid in recipients_of(mapping, data)]


def reminder_due_at(data, lead):
    """M5/N1: when the objection-deadline reminder goes out: ``lead`` before the deadline, but
    for a notice sent later than that, halfway between the notice and the deadline (not at
    once, on the heels of the notice).  None when the notice has no deadline."""
    deadline = data.get("objection_deadline")
    if deadline is None:
        return None
    deadline = as_utc(deadline)
    due = deadline - lead
    noticed = data.get("noticed_at")
    if noticed is not None and as_utc(noticed) + (deadline - as_utc(noticed)) / 2 > due:
        due = as_utc(noticed) + (deadline - as_utc(noticed)) / 2
    return due


def reminder_is_due(due_at, deadline, now):
    """Due, and still useful: an objection after the deadline is refused anyway (M5)."""
    return due_at is not None and as_utc(due_at) <= now < as_utc(deadline)


def reminder_source_id(meeting_id, deadline):
    """The id deliveries of one reminder share: one reminder per meeting and deadline, whichever
    replica's timer sends it (N2 unique key)."""
    return str(uuid.uuid5(DERIVED_IDS, f"objection_reminder:{meeting_id}:{iso(as_utc(deadline))}"))


def check_acknowledgeable(kind):
    """M5: receipt is acknowledged for meeting notices (proof of notice)."""
    if kind not in ACKNOWLEDGEABLE:
        raise RuleViolation("M5: only a meeting notice is acknowledged", field="notification_id", rule="M5")


# ----------------------------------------------------------------------------- delivery attempts

def backoff(attempts, base, cap):
    """Seconds before the next attempt after ``attempts`` failed ones: base·2^(attempts-1), capped."""
    return min(cap, base * (2 ** max(attempts - 1, 0)))


def after_failure(attempts, max_attempts, base, cap, now, permanent=False):
    """N2: (status, next_attempt_at) after a failed attempt."""
    if permanent or attempts >= max_attempts:
        return FAILED, None
    return PENDING, now + dt.timedelta(seconds=backoff(attempts, base, cap))


# ----------------------------------------------------------------------------- webhooks (N2)

SECRET_PREFIX = "whsec_"


def new_secret():
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def secret_bytes(secret):
    """The raw key of a ``whsec_<base64>`` secret (16 to 64 bytes) — refused otherwise (N2)."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValidationFailed("N2: secret: must be whsec_ followed by base64", field="secret", rule="N2")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("N2: secret: must be whsec_ followed by base64", field="secret", rule="N2") from None
    if not 16 <= len(raw) <= 64:
        raise ValidationFailed("N2: secret: the key must be 16 to 64 bytes", field="secret", rule="N2")
    return raw


def check_event_types(event_types):
    """N2: a webhook subscribes to notification kinds this service sends."""
    for i, kind in enumerate(event_types):
        if kind not in KINDS:
            raise ValidationFailed(f"N2: event_types.{i}: must be one of {', '.join(KINDS)}",
                                   field=f"event_types.{i}", rule="N2")
    return sorted(set(event_types))


def parse_webhook_url(url):
    """N2: an http(s) URL with a host; returns (scheme, host, port)."""
    def refuse(reason):
        return ValidationFailed(f"N2: url: {reason}", field="url", rule="N2")
    if not isinstance(url, str) or any(c.isspace() for c in url):
        raise refuse("must be an http or https URL without spaces")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise refuse("is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise refuse("only http and https targets are allowed")
    if not parts.hostname:
        raise refuse("needs a host")
    if parts.username or parts.password:
        raise refuse("must not carry credentials (the payload is signed instead)")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


_V4_NOT_GLOBAL = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"))
_V6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_V6_NOT_GLOBAL = tuple(ipaddress.ip_network(n) for n in (
    "2001::/23",        # IETF protocol assignments (Teredo 2001::/32, ORCHID, benchmarking, ...)
    "2001:db8::/32",    # documentation
    "2002::/16",        # 6to4 (deprecated, RFC 7526): reaches the IPv4 address it embeds
    "3fff::/20"))       # documentation (RFC 9637)
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_EMBEDDING = (           # IPv6 ranges that carry an IPv4 address; refused whatever it is
    (ipaddress.ip_network("64:ff9b:1::/48"), "NAT64 local-use prefix", lambda ip: ipaddress.IPv4Address(
        int(ip) & 0xFFFFFFFF)),
    (ipaddress.ip_network("::ffff:0:0:0/96"), "IPv4-translated", lambda ip: ipaddress.IPv4Address(
        int(ip) & 0xFFFFFFFF)),
    (ipaddress.ip_network("::/96"), "IPv4-compatible", lambda ip: ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)),
    (ipaddress.ip_network("2002::/16"), "6to4", lambda ip: ip.sixtofour),
    (ipaddress.ip_network("2001::/32"), "Teredo", lambda ip: ip.teredo[1]),
)


def _v4_refusal(ip):
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_private:
        return f"{ip} is in a private or reserved range"
    if any(ip in net for net in _V4_NOT_GLOBAL) or not ip.is_global:
        return f"{ip} is not a public address"
    return None


def address_refusal(address, allow_private):
    """N2: why a resolved address may not be a webhook target, or None when it may.

    Only global addresses pass: loopback, private, link-local (cloud metadata), shared,
    reserved, documentation, multicast and site-local ranges are refused, and so is an IPv6
    address that carries an IPv4 one (IPv4-compatible, IPv4-translated, 6to4, Teredo, NAT64
    local-use); an IPv4-mapped or NAT64 well-known-prefix address (64:ff9b::/96) is judged by
    the IPv4 address it carries. ``allow_private`` (a test deployment's setting) lets every
    unicast address through.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_unspecified or ip.is_multicast:
        return f"{ip} is not a host address"
    if allow_private:
        return None
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_refusal(ip)
    if ip.ipv4_mapped is not None or ip in _NAT64_WELL_KNOWN:
        inner = ip.ipv4_mapped or ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        reason = _v4_refusal(inner)
        return f"{ip} carries {inner}: {reason}" if reason else None
    for net, how, inner_of in _EMBEDDING:
        if ip in net:
            return f"{ip} is {how} and carries the IPv4 address {inner_of(ip)}"
    if ip not in _V6_GLOBAL_UNICAST:
        return f"{ip} is not a global unicast address (loopback, link-local, site-local, unique local or reserved)"
    if any(ip in net for net in _V6_NOT_GLOBAL) or not ip.is_global:
        return f"{ip} is not a public address"
    return None


def check_addresses(addresses, allow_private):
    """N2: every address a host resolves to must be allowed (no rebinding to a private one)."""
    if not addresses:
        raise ValidationFailed("N2: url: the host does not resolve", field="url", rule="N2")
    for address in addresses:
        reason = address_refusal(address, allow_private)
        if reason:
            raise ValidationFailed(f"N2: url: target refused: {reason}", field="url", rule="N2")


def check_webhook_rights(actor, org_id):
    """N2: webhooks of an organization are managed by an administrator or its office."""
    if actor.has("admin"):
        if not org_id:
            raise ValidationFailed("N2: org_id: an administrator names the organization", field="org_id", rule="N2")
        return org_id
    if not actor.has("office"):
        raise Forbidden("N2: webhooks are managed by an administrator or the office",
                        field="actor.roles", rule="N2")
    if org_id and org_id != actor.org_id:
        raise Forbidden("AUTH: the record belongs to another organization", field="org_id", rule="AUTH")
    return actor.org_id


def check_webhook_owner(actor, webhook_org_id):
    """A webhook of another organization is not revealed to exist."""
    if actor.has("admin") or (actor.has("office") and actor.org_id == webhook_org_id):
        return
    raise NotFound("N2: webhook_id: no such webhook", field="webhook_id", rule="N2")




# ----------------------------------------------------------------------------- enrolment codes (issue 17)

ENROLMENT_CODE = "enrolment_code"       # never a webhook kind: it goes to the person alone


def enrolment_message(language, code, expires_at):
    """The text of a one-time enrolment code: (subject, plain text, HTML)."""
    if language == templates.EN:
        rendered = templates.Rendered(
            subject="Your enrolment code for the party group system",
            paragraphs=(f"Your one-time enrolment code: {code}",
                        f"It binds a new account to you and works once, until {templates.utc_text(expires_at)}.",
                        "Enter it yourself when you choose your username and password; nobody else needs it, "
                        "and nobody will ask you for it. If you did not expect it, tell the office."))
    else:
        rendered = templates.Rendered(
            subject="党组工作系统账号绑定码",
            paragraphs=(f"您的一次性绑定码：{code}",
                        f"用于将新账号绑定到您本人，仅可使用一次，有效期至 {templates.utc_text(expires_at)}。",
                        "请在设置用户名和密码时由您本人输入；任何人无需也不会向您索取此码。如非本人申请，请告知办公室。"))
    return rendered
