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
from services.gateway.routes.accountability import AccountabilityRoutes
from services.gateway.routes.archive import ArchiveRoutes
from services.gateway.routes.meetings import MeetingsRoutes
from services.gateway.routes.notifications import NotificationsRoutes
from services.gateway.routes.voting import VotingRoutes
from shared.actor import Actor
from shared.clock import iso, utcnow
from shared.errors import NotFound, Unauthorized
from shared.nameko_ext import Database, ServiceRpc

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent / "web"
SERVICES = ("meetings", "voting", "archive", "accountability", "notifications")
HEALTH_TIMEOUT = 2.0


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


class GatewayService(MeetingsRoutes, VotingRoutes, ArchiveRoutes, AccountabilityRoutes,
                     NotificationsRoutes):
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

    @route("GET", "/api/v1/organizations/<org_id>", summary="an organization (name, time zone)",
           tag="organizations")
    def get_organization(self, actor, org_id):
        actor.require_org(org_id, cross_org_read=True)
        return self.meetings.get_organization(actor.to_dict(), org_id)

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
