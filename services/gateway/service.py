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
from eventlet.greenpool import GreenPool
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.gateway import accounts, auth, cpu, models, schemas
from services.gateway import ical
from services.gateway.access import org_for_read, own_org
from services.gateway.demo import DemoSeed
from services.gateway.http import as_actor, route
from services.gateway.openapi import build_spec
from services.gateway.routes.accountability import AccountabilityRoutes
from services.gateway.routes.archive import ArchiveRoutes
from services.gateway.routes.meetings import MeetingsRoutes
from services.gateway.routes.notifications import NotificationsRoutes
from services.gateway.routes.voting import VotingRoutes
from shared.actor import Actor
from shared import clock
from shared.clock import iso, utcnow
from shared.errors import Forbidden, NotFound, RuleViolation, Unauthorized, ValidationFailed
from shared.nameko_ext import Database, ServiceRpc

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent / "web"
SERVICES = ("meetings", "voting", "archive", "accountability", "notifications")
HEALTH_TIMEOUT = 2.0


@dataclass(frozen=True)
class Session(Actor):
    """The authenticated caller: an actor plus the account (or API token), id and expiry of its token."""
    account_id: str | None = None
    exp: int | None = None
    jti: str | None = None
    api_token_id: str | None = None
    scope: str | None = None


class SessionsApi:
    def __init__(self, signer, store):
        self.signer = signer
        self.store = store

    def actor_from(self, authorization, method=None):
        """The caller of a request; 401 when the token is bad, expired or revoked, 403 when a
        read-only API token is used for anything but GET."""
        claims = self.signer.verify(auth.bearer_token(authorization))
        refused = accounts.token_refused(self.store, claims)
        if refused:
            raise Unauthorized(refused, field="Authorization", rule="AUTH")
        if claims.get("scope") == "read" and method not in (None, "GET", "HEAD"):
            raise Forbidden("AUTH: an API token only reads (GET)", field="Authorization", rule="AUTH")
        actor = as_actor(claims)
        return Session(actor.person_id, actor.org_id, actor.roles,
                       account_id=claims.get("account_id"), exp=claims["exp"], jti=claims.get("jti"),
                       api_token_id=claims.get("api_token_id"), scope=claims.get("scope"))

    def issue(self, account, roles):
        return self.signer.issue(account.id, account.person_id, account.org_id, roles)

    def issue_api_token(self, token_id, org_id, roles, days, jti):
        return self.signer.issue(None, f"api-token-{token_id}", org_id, roles, ttl=days * 86400, jti=jti,
                                 api_token_id=token_id, scope="read")


class Sessions(DependencyProvider):
    """Signs and checks session tokens; the secret is ``SESSION_SECRET`` or one kept in the database."""

    def __init__(self, database):
        self.database = database
        self.signer = None
        self.store = None

    def start(self):
        config = self.container.config
        store = self.store = next(d.store for d in self.container.dependencies if d.attr_name == self.database)
        secret = accounts.session_secret(store, config.get("SESSION_SECRET"))
        ttl = int(config.get("SESSION_TTL_SECONDS") or auth.DEFAULT_TTL_SECONDS)
        self.signer = auth.TokenSigner(secret, ttl)

    def get_dependency(self, worker_ctx):
        return SessionsApi(self.signer, self.store)


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
            cpu.run(auth.burn_verify, body["password"])
            raise Unauthorized("wrong username or password", field=None, rule="AUTH")
        auth.Lockout.check(account.locked_until, now)
        if not cpu.run(auth.verify_password, account.password_hash, body["password"]):
            locked_until = accounts.record_failure(self.db, account.id, now)
            auth.Lockout.check(locked_until, now)
            raise Unauthorized("wrong username or password", field=None, rule="AUTH")
        new_hash = None
        if auth.needs_rehash(account.password_hash):
            new_hash = cpu.run(auth.hash_password, body["password"])
        accounts.record_success(self.db, account.id, new_hash)
        roles = self._roles_of(account)
        token, expires_at = self.sessions.issue(account, roles)
        return {"token": token, "expires_at": iso(expires_at),
                "actor": {"person_id": account.person_id, "org_id": account.org_id, "roles": roles}}

    def _roles_of(self, account):
        """The account's roles: the person's roles in the organization only when the person bound
        the account themselves (or the demo seed made it); an administrator holds none (issue 17)."""
        roles = []
        if account.org_id and accounts.carries_party_roles(account):
            try:
                roles = list(self.meetings.roles_of(Actor.system().to_dict(), account.person_id,
                                                    account.org_id)["roles"])
            except NotFound:
                roles = []
        if account.is_admin:
            roles.append("admin")
        return sorted(set(roles))

    @route("POST", "/api/v1/auth/logout", summary="log out: this session's token stops working", tag="auth")
    def logout(self, actor):
        accounts.revoke_token(self.db, actor.jti, dt.datetime.fromtimestamp(actor.exp, dt.timezone.utc))
        return {"logged_out": True}

    @route("POST", "/api/v1/auth/password", body=schemas.PasswordChangeIn,
           summary="change the caller's password (every earlier session ends; a new token is returned)", tag="auth")
    def change_password(self, actor, body):
        account = accounts.get_account(self.db, actor.account_id) if actor.account_id else None
        if account is None:
            raise Forbidden("AUTH: only an account's own session changes its password", field="Authorization",
                            rule="AUTH")
        now = utcnow()
        auth.Lockout.check(account.locked_until, now)
        if not cpu.run(auth.verify_password, account.password_hash, body["current_password"]):
            locked_until = accounts.record_failure(self.db, account.id, now)
            auth.Lockout.check(locked_until, now)
            raise ValidationFailed("current_password: wrong password", field="current_password", rule="AUTH")
        if body["new_password"] == body["current_password"]:
            raise ValidationFailed("new_password: must differ from the current password", field="new_password",
                                   rule="AUTH")
        new_hash = cpu.run(auth.hash_password, body["new_password"])
        accounts.set_password(self.db, account.id, new_hash)       # sessions begun earlier end
        accounts.revoke_token(self.db, actor.jti, dt.datetime.fromtimestamp(actor.exp, dt.timezone.utc))
        token, expires_at = self.sessions.issue(account, list(actor.roles))
        return {"token": token, "expires_at": iso(expires_at)}

    # ------------------------------------------------------------ integrators' API tokens

    @route("POST", "/api/v1/api-tokens", roles=("admin", "office"), body=schemas.ApiTokenIn, status=201,
           summary="a long-lived read-only (GET) token for an integrator, bound to one organization", tag="auth")
    def create_api_token(self, actor, body):
        org_id = body["org_id"] or actor.org_id
        if not org_id:
            raise ValidationFailed("org_id: required for an account without an organization", field="org_id")
        if "admin" not in actor.roles:
            actor.require_org(org_id)            # the office issues tokens for its own organization only
        self.meetings.get_organization(Actor.system().to_dict(), org_id)       # 404 field org_id
        # no escalation: a token carries at most the caller's own roles, plus observer
        granted = set(body["roles"])
        if granted - set(actor.roles) - {"observer"}:
            raise Forbidden(f"AUTH: a token may carry only your own roles or observer, not "
                            f"{', '.join(sorted(granted - set(actor.roles) - {'observer'}))}",
                            field="roles", rule="AUTH")
        jti, token_id = auth.new_jti(), accounts.new_id()
        token, expires_at = self.sessions.issue_api_token(token_id, org_id, sorted(granted), body["days"], jti)
        row = accounts.create_api_token(self.db, token_id, body["name"], org_id, granted,
                                        actor.account_id or actor.person_id, expires_at, jti)
        return dict(accounts.api_token_view(row), token=token)

    @route("GET", "/api/v1/api-tokens", roles=("admin", "office"), query=schemas.ApiTokenListQuery,
           summary="integrators' API tokens (never the token itself)", tag="auth")
    def list_api_tokens(self, actor, query):
        org_id = query["org_id"]
        if "admin" not in actor.roles:
            org_id = org_id or actor.org_id
            actor.require_org(org_id)
        return {"items": [accounts.api_token_view(r) for r in accounts.list_api_tokens(self.db, org_id)]}

    @route("DELETE", "/api/v1/api-tokens/<api_token_id>", roles=("admin", "office"),
           summary="revoke an integrator's API token", tag="auth")
    def revoke_api_token(self, actor, api_token_id):
        row = accounts.get_api_token(self.db, api_token_id)
        if row is None or ("admin" not in actor.roles and row.org_id != actor.org_id):
            raise NotFound("api_token_id: no such API token", field="api_token_id")
        return accounts.api_token_view(accounts.revoke_api_token(self.db, api_token_id))

    @route("GET", "/api/v1/me", summary="the logged-in caller", tag="auth")
    def me(self, actor):
        if actor.api_token_id:
            row = accounts.get_api_token(self.db, actor.api_token_id)
            return {"api_token": accounts.api_token_view(row) if row else None, "actor": actor.to_dict(),
                    "expires_at": iso(dt.datetime.fromtimestamp(actor.exp, dt.timezone.utc))}
        account = accounts.get_account(self.db, actor.account_id) if actor.account_id else None
        if account is None:
            raise Unauthorized("the account of this session no longer exists", field="Authorization", rule="AUTH")
        return {"account_id": account.id, "username": account.username, "actor": actor.to_dict(),
                "expires_at": iso(dt.datetime.fromtimestamp(actor.exp, dt.timezone.utc))}

    # ------------------------------------------------------------ roster

    @route("GET", "/api/v1/organizations/<org_id>/members", query=schemas.MembersQuery,
           summary="group members in office (N and quorum), and the staff in office beside them",
           tag="organizations")
    def list_members(self, actor, org_id, query):
        actor.require_org(org_id, cross_org_read=True)
        return self.meetings.list_members(actor.to_dict(), org_id, query.get("on"))

    @route("GET", "/api/v1/organizations/<org_id>", summary="an organization (name, time zone)",
           tag="organizations")
    def get_organization(self, actor, org_id):
        actor.require_org(org_id, cross_org_read=True)
        return self.meetings.get_organization(actor.to_dict(), org_id)

    @route("GET", "/api/v1/search", query=schemas.SearchQuery,
           summary="meetings, topics and decisions of the organization whose title contains q (newest first, "
                   "at most 20 of each)", tag="organizations")
    def search(self, actor, query):
        org_id, text = org_for_read(actor, query["org_id"]), query["q"].strip()
        if not text:
            raise ValidationFailed("q: the text to search for, 1 to 100 characters", field="q")
        found = self.meetings.search(actor.to_dict(), org_id, text)
        decisions = self.voting.search_decisions(actor.to_dict(), org_id, text)["items"]
        return {"q": text, "org_id": org_id, **found, "decisions": decisions}

    @route("GET", "/api/v1/calendar.ics", content_type="text/calendar",
           summary="the organization's meetings from 90 days ago to a year ahead as iCalendar (RFC 5545), for "
                   "calendar programs", tag="meetings")
    def calendar(self, actor):
        org_id = own_org(actor)
        today = clock.now().date()
        listed = self.meetings.list_meetings(actor.to_dict(), org_id, (today - dt.timedelta(days=90)).isoformat(),
                                             (today + dt.timedelta(days=366)).isoformat())
        text = ical.calendar(listed["items"], listed["timezone"], clock.now())
        return Response(text, content_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="meetings.ics"'})

    @route("GET", "/api/v1/organizations", roles=("admin",), summary="every organization (administrator)",
           tag="admin")
    def list_organizations(self, actor):
        return self.meetings.list_organizations(actor.to_dict())

    @route("GET", "/api/v1/persons", roles=("admin",), summary="every registered person with their name "
           "(administrator)", tag="admin")
    def list_persons(self, actor):
        return self.meetings.list_persons(actor.to_dict())

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
           summary="create a log-in account for a person who holds no role (one account per person; "
                   "a person with a role binds theirs with an enrolment code)", tag="admin")
    def create_account(self, actor, body):
        if body["org_id"]:
            self.meetings.get_organization(Actor.system().to_dict(), body["org_id"])   # 404 field org_id
            held = self.meetings.roles_of(Actor.system().to_dict(), body["person_id"], body["org_id"])["roles"]
            if held:
                # issue 17: an administrator never binds an account to a person with a party role
                raise RuleViolation(f"person_id: holds the role {', '.join(held)} in {body['org_id']}: only the "
                                    f"person binds their account, with an enrolment code (POST /api/v1/enrolments)",
                                    field="person_id", rule="AUTH")
        password_hash = cpu.run(auth.hash_password, body["password"])
        account = accounts.create_account(self.db, body["username"], password_hash, body["person_id"],
                                          org_id=body["org_id"], is_admin=body["is_admin"],
                                          actor=actor.account_id or actor.person_id)
        return accounts.account_view(account)

    # ------------------------------------------------------------ enrolment (issue 17)

    @route("POST", "/api/v1/enrolments", roles=("admin", "office"), body=schemas.EnrolmentIn, status=201,
           summary="send a person holding a role a one-time enrolment code (to their inbox and registered "
                   "e-mail; never in this answer)", tag="admin")
    def issue_enrolment(self, actor, body):
        org_id = body["org_id"] or actor.org_id
        if not org_id:
            raise ValidationFailed("org_id: required for an account without an organization", field="org_id")
        if "admin" not in actor.roles:
            actor.require_org(org_id)            # the office enrols people of its own organization only
        system = Actor.system().to_dict()
        self.meetings.get_organization(system, org_id)                                # 404 field org_id
        held = self.meetings.roles_of(system, body["person_id"], org_id)["roles"]
        if not held:
            raise RuleViolation(f"person_id: holds no role in {org_id}: enrolment is for people with a role",
                                field="person_id", rule="AUTH")
        who = actor.account_id or actor.person_id
        row, code = accounts.issue_enrolment(self.db, body["person_id"], org_id, who)
        try:
            sent = self.notifications.deliver_enrolment_code(system, row.id, row.person_id, org_id, code,
                                                             iso(row.expires_at))
        except Exception:
            accounts.revoke_enrolment(self.db, row.id, who, "the notifications service did not take the code")
            raise
        accounts.enrolment_delivered(self.db, row.id, sent["channels"], who)
        return {"enrolment_id": row.id, "person_id": row.person_id, "org_id": org_id,
                "expires_at": iso(row.expires_at), "channels": sent["channels"]}

    @route("POST", "/api/v1/enrolments/redeem", auth=False, body=schemas.RedeemEnrolmentIn, status=201,
           summary="bind a new account to yourself with the enrolment code you received", tag="auth")
    def redeem_enrolment(self, actor, body):
        password_hash = cpu.run(auth.hash_password, body["password"])
        account = accounts.redeem_enrolment(self.db, body["code"], body["username"], password_hash)
        return accounts.account_view(account)

    @route("GET", "/api/v1/account-audit", roles=("admin",), query=schemas.AuditQuery,
           summary="the account audit log: accounts created, enrolment codes issued, delivered and used",
           tag="admin")
    def account_audit(self, actor, query):
        return {"items": accounts.list_audit(self.db, query["person_id"], query["limit"])}
