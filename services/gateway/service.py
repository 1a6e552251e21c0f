"""Gateway service: HTTP over RPC.

Every route is declared with ``route`` (services/gateway/http.py), which
authenticates the bearer token, checks the roles SPEC §2 gives the action,
validates the body/query with marshmallow and maps every error to JSON.  The
handlers below only pick the organization from the session and call one RPC with
an explicit actor; the services check the actor again.
"""
import datetime as dt
import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import eventlet
from eventlet import tpool
from eventlet.greenpool import GreenPool
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.gateway import accounts, auth, models, schemas
from services.gateway.demo import DemoSeed
from services.gateway.http import as_actor, route
from services.gateway.openapi import build_spec
from shared.actor import GROUP_ROLES, Actor
from shared.clock import iso, utcnow
from shared.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from shared.nameko_ext import Database, ServiceRpc

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent / "web"
SERVICES = ("meetings", "voting", "archive", "accountability", "notifications")
HEALTH_TIMEOUT = 2.0
CHAIRS = ("secretary", "deputy_secretary")


@dataclass(frozen=True)
class Session(Actor):
    """The authenticated caller: an actor plus the account and expiry of its token."""
    account_id: str | None = None
    exp: int | None = None


class SessionsApi:
    def __init__(self, signer):
        self.signer = signer

    def actor_from(self, authorization):
        claims = self.signer.verify(auth.bearer_token(authorization))
        actor = as_actor(claims)
        return Session(actor.person_id, actor.org_id, actor.roles,
                       account_id=claims.get("account_id"), exp=claims["exp"])

    def issue(self, account, roles):
        return self.signer.issue(account.id, account.person_id, account.org_id, roles)


class Sessions(DependencyProvider):
    """Signs and checks session tokens; the secret is ``SESSION_SECRET`` or one kept in the database."""

    def __init__(self, database):
        self.database = database
        self.signer = None

    def start(self):
        config = self.container.config
        store = next(d.store for d in self.container.dependencies if d.attr_name == self.database)
        secret = accounts.session_secret(store, config.get("SESSION_SECRET"))
        ttl = int(config.get("SESSION_TTL_SECONDS") or auth.DEFAULT_TTL_SECONDS)
        self.signer = auth.TokenSigner(secret, ttl)

    def get_dependency(self, worker_ctx):
        return SessionsApi(self.signer)


def _own_org(actor):
    if not actor.org_id:
        raise Forbidden("AUTH: this account belongs to no organization", field="org_id", rule="AUTH")
    return actor.org_id


def _org_for_read(actor, requested):
    """The caller's organization, or another one for roles that read across organizations."""
    if requested is None:
        if not actor.org_id:
            raise ValidationFailed("org_id: required for an account without an organization", field="org_id")
        return actor.org_id
    actor.require_org(requested, cross_org_read=True)
    return requested


class GatewayService:
    name = "gateway"

    db = Database(models, Path(__file__).parent / "migrations", relay=False)
    sessions = Sessions("db")
    demo_seed = DemoSeed("db")

    meetings = ServiceRpc("meetings")
    voting = ServiceRpc("voting")
    archive = ServiceRpc("archive")
    accountability = ServiceRpc("accountability")
    notifications = ServiceRpc("notifications")

    # ------------------------------------------------------------ public

    @route("GET", "/", auth=False, summary="the web page", tag="web", content_type="text/html")
    def index(self, actor):
        html = (WEB_DIR / "index.html").read_bytes()
        return Response(html, content_type="text/html; charset=utf-8")

    @route("GET", "/web/<path:asset>", auth=False, summary="static files of the web frontend", tag="web",
           content_type="application/octet-stream")
    def web_asset(self, actor, asset):
        path = (WEB_DIR / asset).resolve()
        if WEB_DIR.resolve() not in path.parents or not path.is_file():
            raise NotFound("asset: no such file", field="asset")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if mime.startswith("text/") or mime in ("application/javascript", "application/json"):
            mime += "; charset=utf-8"
        return Response(path.read_bytes(), content_type=mime, headers={"Cache-Control": "no-cache"})

    @route("GET", "/health", auth=False, summary="health of the gateway and every service", tag="ops")
    def health(self, actor):
        def probe(name):
            try:
                with eventlet.Timeout(HEALTH_TIMEOUT):
                    answer = getattr(self, name).health()
                return name, "ok" if isinstance(answer, dict) and answer.get("status") == "ok" else "unreachable"
            except BaseException:        # noqa: B036  (eventlet.Timeout is a BaseException)
                return name, "unreachable"

        pool = GreenPool(len(SERVICES))
        services = dict(pool.imap(probe, SERVICES))
        status = "ok" if all(v == "ok" for v in services.values()) else "degraded"
        return {"status": status, "services": services}

    @route("GET", "/openapi.json", auth=False, summary="this API as an OpenAPI 3 document", tag="ops")
    def openapi(self, actor):
        return build_spec()

    # ------------------------------------------------------------ sessions

    @route("POST", "/api/v1/auth/login", auth=False, body=schemas.LoginIn, summary="log in", tag="auth")
    def login(self, actor, body):
        now = utcnow()
        account = accounts.find_by_username(self.db, body["username"])
        if account is None:
            tpool.execute(auth.burn_verify, body["password"])
            raise Unauthorized("wrong username or password", field=None, rule="AUTH")
        auth.Lockout.check(account.locked_until, now)
        if not tpool.execute(auth.verify_password, account.password_hash, body["password"]):
            locked_until = accounts.record_failure(self.db, account.id, now)
            auth.Lockout.check(locked_until, now)
            raise Unauthorized("wrong username or password", field=None, rule="AUTH")
        new_hash = None
        if auth.needs_rehash(account.password_hash):
            new_hash = tpool.execute(auth.hash_password, body["password"])
        accounts.record_success(self.db, account.id, new_hash)
        roles = self._roles_of(account)
        token, expires_at = self.sessions.issue(account, roles)
        return {"token": token, "expires_at": iso(expires_at),
                "actor": {"person_id": account.person_id, "org_id": account.org_id, "roles": roles}}

    def _roles_of(self, account):
        roles = []
        if account.org_id:
            try:
                roles = list(self.meetings.roles_of(Actor.system().to_dict(), account.person_id,
                                                    account.org_id)["roles"])
            except NotFound:
                roles = []
        if account.is_admin:
            roles.append("admin")
        return sorted(set(roles))

    @route("GET", "/api/v1/me", summary="the logged-in caller", tag="auth")
    def me(self, actor):
        account = accounts.get_account(self.db, actor.account_id) if actor.account_id else None
        if account is None:
            raise Unauthorized("the account of this session no longer exists", field="Authorization", rule="AUTH")
        return {"account_id": account.id, "username": account.username, "actor": actor.to_dict(),
                "expires_at": iso(dt.datetime.fromtimestamp(actor.exp, dt.timezone.utc))}

    # ------------------------------------------------------------ roster

    @route("GET", "/api/v1/organizations/<org_id>/members", query=schemas.MembersQuery,
           summary="group members in office (N and quorum)", tag="organizations")
    def list_members(self, actor, org_id, query):
        actor.require_org(org_id, cross_org_read=True)
        return self.meetings.list_members(actor.to_dict(), org_id, query.get("on"))

    @route("POST", "/api/v1/organizations", roles=("admin",), body=schemas.OrganizationIn, status=201,
           summary="create an organization", tag="admin")
    def create_organization(self, actor, body):
        return self.meetings.create_organization(actor.to_dict(), body)

    @route("POST", "/api/v1/persons", roles=("admin",), body=schemas.PersonIn, status=201,
           summary="register a person", tag="admin")
    def register_person(self, actor, body):
        return self.meetings.register_person(actor.to_dict(), body)

    @route("POST", "/api/v1/appointments", roles=("admin",), body=schemas.AppointmentIn, status=201,
           summary="appoint a person to a role", tag="admin")
    def appoint(self, actor, body):
        return self.meetings.appoint(actor.to_dict(), body)

    @route("POST", "/api/v1/accounts", roles=("admin",), body=schemas.AccountIn, status=201,
           summary="create a log-in account", tag="admin")
    def create_account(self, actor, body):
        if body["org_id"]:
            self.meetings.get_organization(Actor.system().to_dict(), body["org_id"])   # 404 field org_id
        password_hash = tpool.execute(auth.hash_password, body["password"])
        account = accounts.create_account(self.db, body["username"], password_hash, body["person_id"],
                                          org_id=body["org_id"], is_admin=body["is_admin"])
        return accounts.account_view(account)

    # ------------------------------------------------------------ meetings

    @route("POST", "/api/v1/meetings", roles=CHAIRS, rule="M1", body=schemas.MeetingBody, status=201,
           summary="schedule a meeting", tag="meetings")
    def schedule_meeting(self, actor, body):
        return self.meetings.schedule_meeting(actor.to_dict(), dict(body, org_id=_own_org(actor)))

    @route("GET", "/api/v1/meetings/<meeting_id>", summary="a meeting with its agenda and attendance",
           tag="meetings")
    def get_meeting(self, actor, meeting_id):
        return self.meetings.get_meeting(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/meetings/<meeting_id>/topics", roles=CHAIRS, rule="M3", body=schemas.TopicIn,
           status=201, summary="put a topic on the agenda", tag="meetings")
    def add_topic(self, actor, meeting_id, body):
        return self.meetings.add_topic(actor.to_dict(), meeting_id, body)

    @route("POST", "/api/v1/meetings/<meeting_id>/notice", roles=CHAIRS + ("office",), rule="M5",
           summary="issue the meeting notice", tag="meetings")
    def notice_meeting(self, actor, meeting_id):
        return self.meetings.notice_meeting(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/meetings/<meeting_id>/open", roles=CHAIRS, rule="M1", body=schemas.OpenIn,
           summary="open the meeting (quorum M8, leave opinions M9)", tag="meetings")
    def open_meeting(self, actor, meeting_id, body):
        return self.meetings.open_meeting(actor.to_dict(), meeting_id, body)

    # ------------------------------------------------------------ voting

    @route("POST", "/api/v1/ballots", roles=CHAIRS, rule="M1", body=schemas.OpenBallotIn, status=201,
           summary="open a ballot on an agenda item", tag="voting")
    def open_ballot(self, actor, body):
        return self.voting.open_ballot(actor.to_dict(), body)

    @route("GET", "/api/v1/ballots/<ballot_id>", summary="a ballot", tag="voting")
    def get_ballot(self, actor, ballot_id):
        return self.voting.get_ballot(actor.to_dict(), ballot_id)

    @route("POST", "/api/v1/ballots/<ballot_id>/votes", roles=GROUP_ROLES, rule="V1", body=schemas.CastVoteIn,
           status=201, summary="cast one's vote", tag="voting")
    def cast_vote(self, actor, ballot_id, body):
        return self.voting.cast_vote(actor.to_dict(), ballot_id, body)

    @route("POST", "/api/v1/ballots/<ballot_id>/close", roles=CHAIRS, rule="M1",
           summary="close a ballot: the decision", tag="voting")
    def close_ballot(self, actor, ballot_id):
        return self.voting.close_ballot(actor.to_dict(), ballot_id)

    @route("GET", "/api/v1/decisions/<decision_id>", summary="a decision", tag="voting")
    def get_decision(self, actor, decision_id):
        return self.voting.get_decision(actor.to_dict(), decision_id)

    # ------------------------------------------------------------ archive, accountability

    @route("GET", "/api/v1/decisions/<decision_id>/record", summary="the archived record of a decision",
           tag="archive")
    def decision_record(self, actor, decision_id):
        return self.archive.record_for_decision(actor.to_dict(), decision_id)

    @route("GET", "/api/v1/decisions/<decision_id>/responsibility",
           summary="who answers for a decision (C1)", tag="accountability")
    def decision_responsibility(self, actor, decision_id):
        return self.accountability.decision_links(actor.to_dict(), decision_id)

    @route("GET", "/api/v1/records", query=schemas.RecordsQuery, summary="archived records", tag="archive")
    def list_records(self, actor, query):
        org_id = _org_for_read(actor, query["org_id"])
        return self.archive.list_records(actor.to_dict(), org_id, query["limit"], query["offset"])

    @route("GET", "/api/v1/records/verify", query=schemas.VerifyQuery,
           summary="verify the archive's hash chain (A2)", tag="archive")
    def verify_records(self, actor, query):
        return self.archive.verify(actor.to_dict(), _org_for_read(actor, query["org_id"]))

    @route("GET", "/api/v1/persons/<person_id>/record", query=schemas.PageQuery,
           summary="a person's lifetime responsibility record (C2)", tag="accountability")
    def person_record(self, actor, person_id, query):
        return self.accountability.person_record(actor.to_dict(), person_id, query["limit"], query["offset"])

    # ------------------------------------------------------------ notifications

    @route("GET", "/api/v1/notifications", query=schemas.NotificationsQuery, summary="the caller's inbox",
           tag="notifications")
    def inbox(self, actor, query):
        return self.notifications.inbox(actor.to_dict(), query["unread_only"], query["limit"], query["offset"])

    @route("POST", "/api/v1/notifications/<notification_id>/read", summary="mark a notification read",
           tag="notifications")
    def mark_read(self, actor, notification_id):
        return self.notifications.mark_read(actor.to_dict(), notification_id)

