"""The HTTP gateway over a real broker, the real meetings service and its own database.

Only meetings runs: the other services are down, so /health is "degraded".
"""
import datetime as dt
import time

import pytest
import requests

from services.gateway.demo import DEMO_PASSWORD
from services.gateway.service import GatewayService
from services.meetings.service import MeetingsService
from services.notifications.service import NotificationsService
from tests.support.enrolment import enrol
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

MEMBERS = ["demo-secretary", "demo-deputy"] + [f"demo-member{i}" for i in range(1, 8)]


def soon(minutes=20):
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)).isoformat()


class Api:
    def __init__(self, base, token=None):
        self.base, self.token = base, token

    def call(self, method, path, **kw):
        headers = kw.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return requests.request(method, self.base + path, headers=headers, timeout=20, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)


def login(base, username, password=DEMO_PASSWORD):
    r = requests.post(base + "/api/v1/auth/login", json={"username": username, "password": password}, timeout=20)
    assert r.status_code == 200, r.text
    return Api(base, r.json()["token"]), r.json()


def error_of(r, status):
    assert r.status_code == status, f"{r.status_code}: {r.text}"
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()["error"]
    assert set(body) == {"code", "message", "field", "rule"} and body["message"]
    return body


@pytest.fixture
def gateway(container_factory, database_url):
    meetings = container_factory(MeetingsService)
    meetings.start()
    port = free_port()
    gw = container_factory(GatewayService, database_url=database_url, DEMO_SEED="1", GATEWAY_HOST="127.0.0.1",
                           GATEWAY_PORT=str(port), WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", RPC_TIMEOUT="5")
    gw.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:     # the demo seed runs in the background after start
        r = requests.post(base + "/api/v1/auth/login", json={"username": "admin", "password": DEMO_PASSWORD},
                          timeout=20)
        if r.status_code == 200:
            break
        assert time.monotonic() < deadline, f"demo seed did not finish: {r.status_code} {r.text}"
        time.sleep(0.3)
    return base


# ---------------------------------------------------------------- sessions

def test_login_me_and_refusals(gateway):
    sec, info = login(gateway, "secretary")
    assert info["actor"] == {"person_id": "demo-secretary", "org_id": "demo-org", "roles": ["secretary"]}
    assert dt.datetime.fromisoformat(info["expires_at"].replace("Z", "+00:00")) > dt.datetime.now(dt.timezone.utc)
    me = sec.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["username"] == "secretary"
    assert me.json()["actor"]["roles"] == ["secretary"]
    _, admin = login(gateway, "admin")
    assert admin["actor"] == {"person_id": "demo-admin", "org_id": None, "roles": ["admin"]}

    wrong = requests.post(gateway + "/api/v1/auth/login", json={"username": "secretary", "password": "nope"})
    nobody = requests.post(gateway + "/api/v1/auth/login", json={"username": "nobody", "password": "nope"})
    assert error_of(wrong, 401) == error_of(nobody, 401)       # does not say whether the user exists
    assert error_of(wrong, 401)["rule"] == "AUTH"
    assert error_of(requests.post(gateway + "/api/v1/auth/login", json={"username": "secretary"}),
                    400)["field"] == "password"

    assert error_of(requests.get(gateway + "/api/v1/me"), 401)["rule"] == "AUTH"
    assert error_of(Api(gateway, "forged.token").get("/api/v1/me"), 401)["rule"] == "AUTH"
    assert error_of(requests.get(gateway + "/api/v1/me", headers={"Authorization": "Basic eDp5"}), 401)
    tampered = sec.token[:-3] + ("AAA" if not sec.token.endswith("AAA") else "BBB")
    assert error_of(Api(gateway, tampered).get("/api/v1/me"), 401)["rule"] == "AUTH"


def test_repeated_failures_lock_the_account_with_retry_after(gateway):
    for attempt in range(1, 5):
        error_of(requests.post(gateway + "/api/v1/auth/login", json={"username": "member7", "password": "x"}), 401)
    fifth = requests.post(gateway + "/api/v1/auth/login", json={"username": "member7", "password": "x"})
    error_of(fifth, 429)
    assert 1 <= int(fifth.headers["Retry-After"]) <= 30
    # locked: even the right password waits
    error_of(requests.post(gateway + "/api/v1/auth/login",
                           json={"username": "member7", "password": DEMO_PASSWORD}), 429)
    login(gateway, "member6")    # other accounts are not affected


def test_a_password_hashed_with_the_former_argon2_parameters_is_rehashed_at_log_in(gateway, database_url):
    import sqlalchemy as sa
    from argon2 import PasswordHasher, extract_parameters

    from shared.db import make_engine
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:      # as stored before the change: argon2-cffi's default, 64 MiB
            conn.execute(sa.text("UPDATE accounts SET password_hash = :h WHERE username = 'member5'"),
                         {"h": PasswordHasher().hash(DEMO_PASSWORD)})
        login(gateway, "member5")
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT password_hash FROM accounts WHERE username = 'member5'")).scalar()
    finally:
        engine.dispose()
    params = extract_parameters(stored)
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19 * 1024, 2, 1)
    login(gateway, "member5")           # the new hash verifies
    error_of(requests.post(gateway + "/api/v1/auth/login", json={"username": "member5", "password": "x"}), 401)


# ---------------------------------------------------------------- public routes

def test_health_openapi_page_and_unknown_routes(gateway):
    r = requests.get(gateway + "/health", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"status": "degraded", "services": {
        "meetings": "ok", "voting": "unreachable", "archive": "unreachable",
        "accountability": "unreachable", "notifications": "unreachable"}}

    doc = requests.get(gateway + "/openapi.json", timeout=10).json()
    for path in ("/api/v1/auth/login", "/api/v1/me", "/api/v1/organizations/{org_id}/members",
                 "/api/v1/meetings", "/api/v1/meetings/{meeting_id}", "/api/v1/meetings/{meeting_id}/topics",
                 "/api/v1/meetings/{meeting_id}/notice", "/api/v1/meetings/{meeting_id}/open",
                 "/api/v1/ballots", "/api/v1/ballots/{ballot_id}", "/api/v1/ballots/{ballot_id}/votes",
                 "/api/v1/ballots/{ballot_id}/close", "/api/v1/decisions/{decision_id}",
                 "/api/v1/decisions/{decision_id}/record", "/api/v1/decisions/{decision_id}/responsibility",
                 "/api/v1/records", "/api/v1/records/verify", "/api/v1/persons/{person_id}/record",
                 "/api/v1/notifications", "/api/v1/notifications/{notification_id}/read",
                 "/api/v1/organizations", "/api/v1/persons", "/api/v1/appointments", "/api/v1/accounts",
                 "/health", "/openapi.json"):
        assert path in doc["paths"], path

    page = requests.get(gateway + "/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<title>党组工作规则系统</title>" in page.text

    assert error_of(requests.get(gateway + "/api/v1/nothing-here"), 404)["code"] == "not_found"
    r = requests.delete(gateway + "/api/v1/meetings")
    assert error_of(r, 405)["code"] == "method_not_allowed" and "POST" in r.headers["Allow"]

    sec, _ = login(gateway, "secretary")
    big = sec.post("/api/v1/meetings", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                   headers={"Content-Type": "application/json"})
    error_of(big, 413)
    # a down service answers 503, not 500
    assert error_of(sec.get("/api/v1/ballots/some-ballot"), 503)["code"] == "service_unavailable"


# ---------------------------------------------------------------- meetings through the gateway

def test_emergency_meeting_opens_only_with_quorum(gateway):
    sec, _ = login(gateway, "secretary")
    members = sec.get("/api/v1/organizations/demo-org/members")
    assert members.status_code == 200 and members.json()["n"] == 9 and members.json()["quorum"] == 6
    # the staff in office are named beside the group, never counted in N (§2)
    assert [(p["person_id"], p["name"], p["role"]) for p in members.json()["staff"]] == [
        ("demo-office", "王主任", "office"), ("demo-hr", "赵处长", "hr"),
        ("demo-confidential", "陈秘书", "confidential_secretary"), ("demo-discipline", "刘组长", "discipline")]

    r = sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "党组紧急会议", "scheduled_at": soon()})
    assert r.status_code == 201, r.text
    meeting_id = r.json()["meeting_id"]
    assert r.json()["org_id"] == "demo-org" and r.json()["status"] == "draft"
    r = sec.post(f"/api/v1/meetings/{meeting_id}/topics", json={"title": "防汛应急处置", "category": "other"})
    assert r.status_code == 201, r.text

    r = sec.post(f"/api/v1/meetings/{meeting_id}/open", json={"present": MEMBERS[:5]})
    err = error_of(r, 422)
    assert err["rule"] == "M8"
    meeting = sec.get(f"/api/v1/meetings/{meeting_id}").json()
    assert meeting["status"] == "draft" and meeting["attendance"] == []

    r = sec.post(f"/api/v1/meetings/{meeting_id}/open", json={
        "present": MEMBERS[:6], "leave": [{"person_id": "demo-member5", "opinions": {}}]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "opened" and r.json()["n"] == 9 and r.json()["quorum"] == 6


def test_bad_input_on_meeting_routes_is_4xx_and_writes_nothing(gateway, container_factory, tmp_path):
    # the other organization's secretary binds their account with an enrolment code (issue 17)
    notifications_db = f"sqlite:///{tmp_path / 'notifications.sqlite3'}"
    container_factory(NotificationsService, database_url=notifications_db).start()
    sec, _ = login(gateway, "secretary")
    member, _ = login(gateway, "member1")
    admin, _ = login(gateway, "admin")

    # a second organization with its own secretary and meeting
    assert admin.post("/api/v1/organizations", json={"name": "另一局党组", "org_id": "other-org"}).status_code == 201
    assert admin.post("/api/v1/persons", json={"name": "王五", "person_id": "other-sec"}).status_code == 201
    r = admin.post("/api/v1/appointments", json={"org_id": "other-org", "person_id": "other-sec",
                                                 "role": "secretary", "start_date": "2020-01-01"})
    assert r.status_code == 201, r.text
    account = enrol(gateway, admin.token, "other-sec", "other-org", "other-sec", "another-password-1",
                    notifications_db)
    assert "password" not in account and "password_hash" not in account
    other, info = login(gateway, "other-sec", "another-password-1")
    assert info["actor"]["roles"] == ["secretary"]
    other_meeting = other.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "其他",
                                                         "scheduled_at": soon()}).json()["meeting_id"]

    meeting_id = sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "会议",
                                                    "scheduled_at": soon()}).json()["meeting_id"]

    # POST /meetings
    assert error_of(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "scheduled_at": soon()}),
                    400)["field"] == "title"
    assert error_of(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": 7, "scheduled_at": soon()}),
                    400)["field"] == "title"
    assert error_of(sec.post("/api/v1/meetings", json={"kind": "weekly", "title": "x", "scheduled_at": soon()}),
                    400)["field"] == "kind"
    assert error_of(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "x",
                                                       "scheduled_at": "2030-01-01T09:00:00"}),
                    400)["field"] == "scheduled_at"          # no time zone
    assert error_of(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "x", "scheduled_at": soon(),
                                                       "org_id": "other-org"}), 400)["field"] == "org_id"
    assert error_of(sec.post("/api/v1/meetings", data="{oops", headers={"Content-Type": "application/json"}),
                    400)["field"] == "body"
    assert error_of(sec.post("/api/v1/meetings", json=["emergency"]), 400)["field"] == "body"
    assert error_of(member.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "x",
                                                          "scheduled_at": soon()}), 403)["rule"] == "M1"
    assert error_of(requests.post(gateway + "/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "x",
                                                                      "scheduled_at": soon()}), 401)["rule"] == "AUTH"

    # GET /meetings/{id}
    assert error_of(sec.get("/api/v1/meetings/no-such-meeting"), 404)["field"] == "meeting_id"
    assert error_of(sec.get(f"/api/v1/meetings/{other_meeting}"), 404)["field"] == "meeting_id"

    # POST /meetings/{id}/topics
    topics = f"/api/v1/meetings/{meeting_id}/topics"
    assert error_of(sec.post(topics, json={"title": "x"}), 400)["field"] == "category"
    assert error_of(sec.post(topics, json={"title": ["x"], "category": "other"}), 400)["field"] == "title"
    assert error_of(sec.post(topics, json={"title": "x", "category": "gossip"}), 400)["field"] == "category"
    assert error_of(sec.post(topics, data="title=x", headers={"Content-Type": "application/x-www-form-urlencoded"}),
                    400)["field"] == "body"
    assert error_of(sec.post("/api/v1/meetings/no-such-meeting/topics", json={"title": "x", "category": "other"}),
                    404)["field"] == "meeting_id"
    assert error_of(sec.post(f"/api/v1/meetings/{other_meeting}/topics", json={"title": "x", "category": "other"}),
                    404)["field"] == "meeting_id"
    assert error_of(member.post(topics, json={"title": "x", "category": "other"}), 403)["rule"] == "M3"
    assert sec.get(f"/api/v1/meetings/{meeting_id}").json()["topics"] == []
    assert other.get(f"/api/v1/meetings/{other_meeting}").json()["topics"] == []

    # POST /meetings/{id}/notice
    assert error_of(sec.post("/api/v1/meetings/no-such-meeting/notice"), 404)["field"] == "meeting_id"
    assert error_of(sec.post(f"/api/v1/meetings/{other_meeting}/notice"), 404)["field"] == "meeting_id"
    assert error_of(member.post(f"/api/v1/meetings/{meeting_id}/notice"), 403)["rule"] == "M5"

    # POST /meetings/{id}/open
    opening = f"/api/v1/meetings/{meeting_id}/open"
    assert error_of(sec.post(opening, json={}), 400)["field"] == "present"
    assert error_of(sec.post(opening, json={"present": "demo-secretary"}), 400)["field"] == "present"
    assert error_of(sec.post(opening, json={"present": MEMBERS, "leave": [{"opinions": {}}]}),
                    400)["field"].startswith("leave")
    assert error_of(sec.post(opening, data=b"\xff\xfe", headers={"Content-Type": "application/json"}),
                    400)["field"] == "body"
    assert error_of(sec.post("/api/v1/meetings/no-such-meeting/open", json={"present": MEMBERS}),
                    404)["field"] == "meeting_id"
    assert error_of(sec.post(f"/api/v1/meetings/{other_meeting}/open", json={"present": MEMBERS}),
                    404)["field"] == "meeting_id"
    assert error_of(member.post(opening, json={"present": MEMBERS}), 403)["rule"] == "M1"
    assert sec.get(f"/api/v1/meetings/{meeting_id}").json()["status"] == "draft"
    assert other.get(f"/api/v1/meetings/{other_meeting}").json()["status"] == "draft"

    # members of another organization are not listed to a member
    assert error_of(member.get("/api/v1/organizations/other-org/members"), 403)["rule"] == "AUTH"
    assert error_of(sec.get("/api/v1/organizations/demo-org/members?on=yesterday"), 400)["field"] == "on"

    # paging and query validation name the field
    assert error_of(sec.get("/api/v1/records?limit=0"), 400)["field"] == "limit"
    assert error_of(sec.get("/api/v1/records?limit=201"), 400)["field"] == "limit"
    assert error_of(sec.get("/api/v1/records?offset=-1"), 400)["field"] == "offset"
    assert error_of(sec.get("/api/v1/records?limit=ten"), 400)["field"] == "limit"
    assert error_of(sec.get("/api/v1/notifications?unread_only=perhaps"), 400)["field"] == "unread_only"


def test_admin_routes(gateway):
    admin, _ = login(gateway, "admin")
    sec, _ = login(gateway, "secretary")
    assert error_of(sec.post("/api/v1/organizations", json={"name": "x"}), 403)["rule"] == "AUTH"
    assert error_of(sec.post("/api/v1/accounts", json={}), 403)["rule"] == "AUTH"
    assert error_of(admin.post("/api/v1/organizations", json={}), 400)["field"] == "name"
    assert error_of(admin.post("/api/v1/organizations", json={"name": "重复", "org_id": "demo-org"}),
                    400)["field"] == "org_id"
    assert error_of(admin.post("/api/v1/appointments", json={"org_id": "demo-org", "person_id": "demo-member1",
                                                             "role": "member", "start_date": "yesterday"}),
                    400)["field"] == "start_date"
    assert error_of(admin.post("/api/v1/appointments", json={"org_id": "demo-org", "person_id": "nobody",
                                                             "role": "member", "start_date": "2021-01-01"}),
                    404)["field"] == "person_id"
    account = {"username": "new-user", "password": "long-enough-1", "person_id": "p-no-role",
               "org_id": "demo-org"}
    assert error_of(admin.post("/api/v1/accounts", json=dict(account, password="short")), 400)["field"] == "password"
    assert error_of(admin.post("/api/v1/accounts", json=dict(account, org_id="no-org")), 404)["field"] == "org_id"
    assert error_of(admin.post("/api/v1/accounts", json=dict(account, username="member1")),
                    409)["field"] == "username"
    assert error_of(admin.post("/api/v1/accounts", json=dict(account, is_admin="sure")), 400)["field"] == "is_admin"
    # issue 17: not for a person with a party role (the member binds their own account)
    assert error_of(admin.post("/api/v1/accounts", json=dict(account, person_id="demo-member2")),
                    422)["field"] == "person_id"
    r = admin.post("/api/v1/accounts", json=account)
    assert r.status_code == 201, r.text
    _, info = login(gateway, "new-user", "long-enough-1")
    assert info["actor"]["roles"] == []
    # the administrator runs no meeting
    assert error_of(admin.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "x",
                                                         "scheduled_at": soon()}), 403)["rule"] == "M1"
