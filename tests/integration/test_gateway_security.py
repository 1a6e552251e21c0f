"""Issue 17, defect 1: nobody acts as someone else.

An administrator never holds party roles and cannot bind an account to a person who holds one;
one person has at most one account; a person with a role binds their account themselves with
a one-time enrolment code sent to their registered channels (inbox, e-mail), audit-logged.
On SQLite and PostgreSQL (the gateway's database), with the meetings and notifications services
and a real SMTP server."""
import time

import pytest
import requests

from services.gateway.demo import DEMO_PASSWORD
from services.gateway.service import GatewayService
from services.meetings.service import MeetingsService
from services.notifications.service import NotificationsService
from tests.support.enrolment import CODE, code_from_inbox
from tests.support.processes import free_port
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration
PASSWORD = "a-long-password-17"


class Api:
    def __init__(self, base, token=None):
        self.base, self.token = base, token

    def call(self, method, path, **kw):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return requests.request(method, self.base + path, headers=headers, timeout=20, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def put(self, path, **kw):
        return self.call("PUT", path, **kw)


def login(base, username, password=DEMO_PASSWORD):
    r = requests.post(base + "/api/v1/auth/login", json={"username": username, "password": password}, timeout=20)
    assert r.status_code == 200, r.text
    return Api(base, r.json()["token"]), r.json()


def refused(r, status, field=None):
    assert r.status_code == status, f"{r.status_code}: {r.text}"
    error = r.json()["error"]
    if field:
        assert error["field"] == field, error
    return error


@pytest.fixture
def world(container_factory, database_url, tmp_path):
    sink = SmtpSink().start()
    container_factory(MeetingsService).start()
    notifications_db = f"sqlite:///{tmp_path / 'notifications.sqlite3'}"
    container_factory(NotificationsService, database_url=notifications_db, SMTP_HOST=sink.host,
                      SMTP_PORT=sink.port, SMTP_TLS="none", SMTP_SENDER="office@example.org",
                      DELIVERY_POLL_SECONDS=0.1).start()
    port = free_port()
    container_factory(GatewayService, database_url=database_url, DEMO_SEED="1", GATEWAY_HOST="127.0.0.1",
                      GATEWAY_PORT=str(port), WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", RPC_TIMEOUT="5").start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while requests.post(base + "/api/v1/auth/login", json={"username": "admin", "password": DEMO_PASSWORD},
                        timeout=20).status_code != 200:
        assert time.monotonic() < deadline, "the demo seed did not finish"
        time.sleep(0.3)
    admin = login(base, "admin")[0]
    # a new member of the demo group, with an e-mail address registered
    assert admin.post("/api/v1/persons", json={"name": "新成员", "person_id": "p-new"}).status_code == 201
    r = admin.post("/api/v1/appointments", json={"org_id": "demo-org", "person_id": "p-new", "role": "member",
                                                 "start_date": "2020-01-01"})
    assert r.status_code == 201, r.text
    assert admin.put("/api/v1/persons/p-new/contact", json={"email": "new@example.org"}).status_code == 200
    yield {"base": base, "admin": admin, "sink": sink, "notifications_db": notifications_db}
    sink.stop()


def test_an_administrator_cannot_bind_an_account_to_a_person_with_a_party_role(world):
    base, admin = world["base"], world["admin"]
    # the attack: an account for the secretary's person, then log in as the secretary
    for person_id, org_id in (("demo-secretary", "demo-org"), ("p-new", "demo-org"), ("demo-discipline", "demo-org")):
        error = refused(admin.post("/api/v1/accounts", json={"username": f"x-{person_id}", "password": PASSWORD,
                                                              "person_id": person_id, "org_id": org_id}), 422)
        assert error["rule"] == "AUTH" and error["field"] == "person_id" and "enrolment" in error["message"]
        refused(requests.post(base + "/api/v1/auth/login", json={"username": f"x-{person_id}", "password": PASSWORD},
                              timeout=20), 401)
    # without naming the organization the account is created, but it carries no party role
    r = admin.post("/api/v1/accounts", json={"username": "x-new", "password": PASSWORD, "person_id": "p-new"})
    assert r.status_code == 201, r.text
    assert r.json()["bound_by"] == "administrator"
    _, info = login(base, "x-new", PASSWORD)
    assert info["actor"]["roles"] == []
    # one person, at most one account
    refused(admin.post("/api/v1/accounts", json={"username": "x-new-2", "password": PASSWORD,
                                                 "person_id": "p-new"}), 409, "person_id")
    refused(admin.post("/api/v1/accounts", json={"username": "second-secretary", "password": PASSWORD,
                                                 "person_id": "demo-secretary"}), 409, "person_id")


def test_an_administrator_holds_no_party_role_even_when_appointed(world):
    base, admin = world["base"], world["admin"]
    r = admin.post("/api/v1/accounts", json={"username": "admin2", "password": PASSWORD, "person_id": "p-admin2",
                                             "org_id": "demo-org", "is_admin": True})
    assert r.status_code == 201, r.text
    assert admin.post("/api/v1/persons", json={"name": "管理员二", "person_id": "p-admin2"}).status_code == 201
    assert admin.post("/api/v1/appointments", json={"org_id": "demo-org", "person_id": "p-admin2",
                                                    "role": "member", "start_date": "2020-01-01"}).status_code == 201
    _, info = login(base, "admin2", PASSWORD)
    assert info["actor"]["roles"] == ["admin"]
    _, info = login(base, "admin")
    assert info["actor"]["roles"] == ["admin"]


def test_the_administrator_lists_organizations_and_persons_by_name_and_nobody_else_does(world):
    """§2: the administrator, who appoints in every organization, picks organizations and people
    from lists (never by typing an identifier); a party role reads neither list."""
    base, admin = world["base"], world["admin"]
    assert admin.post("/api/v1/organizations", json={"name": "另一局党组", "org_id": "org-b"}).status_code == 201
    orgs = admin.get("/api/v1/organizations").json()["items"]
    assert {"org_id": "org-b", "name": "另一局党组", "timezone": "Asia/Shanghai"} in orgs
    assert "demo-org" in {o["org_id"] for o in orgs}
    persons = admin.get("/api/v1/persons").json()["items"]
    assert {"person_id": "p-new", "name": "新成员"} in persons
    assert {"person_id": "demo-secretary", "name": "张书记"} in persons
    secretary = login(base, "secretary")[0]
    refused(secretary.get("/api/v1/organizations"), 403)
    refused(secretary.get("/api/v1/persons"), 403)


def test_a_person_binds_their_account_with_a_one_time_code_sent_to_them(world):
    base, admin, sink = world["base"], world["admin"], world["sink"]
    r = admin.post("/api/v1/enrolments", json={"person_id": "p-new", "org_id": "demo-org"})
    assert r.status_code == 201, r.text
    assert not CODE.search(r.text) and r.json()["channels"] == ["inbox", "email"]
    # the code reaches the person's registered e-mail and inbox, and nobody else
    deadline = time.monotonic() + 20
    while not sink.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    (mail,) = sink.messages
    assert mail.rcpt_tos == ["new@example.org"]
    code = CODE.search(mail.body("plain")).group()
    assert code == code_from_inbox(world["notifications_db"], "p-new")
    secretary = login(base, "secretary")[0]
    assert all(n["kind"] != "enrolment_code" for n in secretary.get("/api/v1/notifications").json()["items"])
    # a wrong code names the field and binds nothing
    refused(requests.post(base + "/api/v1/enrolments/redeem", timeout=20,
                          json={"code": "AAAA-BBBB-CCCC-DDDD", "username": "new", "password": PASSWORD}), 400, "code")
    r = requests.post(base + "/api/v1/enrolments/redeem", timeout=20,
                      json={"code": code.lower().replace("-", " "), "username": "new", "password": PASSWORD})
    assert r.status_code == 201, r.text
    assert r.json()["person_id"] == "p-new" and r.json()["bound_by"] == "enrolment"
    member, info = login(base, "new", PASSWORD)
    assert info["actor"] == {"person_id": "p-new", "org_id": "demo-org", "roles": ["member"]}
    # once only; and a person with an account gets no further code
    refused(requests.post(base + "/api/v1/enrolments/redeem", timeout=20,
                          json={"code": code, "username": "new2", "password": PASSWORD}), 400, "code")
    refused(admin.post("/api/v1/enrolments", json={"person_id": "p-new", "org_id": "demo-org"}), 409, "person_id")
    refused(admin.post("/api/v1/enrolments", json={"person_id": "demo-secretary", "org_id": "demo-org"}), 409,
            "person_id")
    # the audit log tells who issued it, where it went, and that the person used it
    entries = admin.get("/api/v1/account-audit?person_id=p-new").json()["items"]
    actions = [(e["action"], e["actor"]) for e in reversed(entries)]
    issued_by = actions[0][1]
    assert [a for a, _ in actions] == ["enrolment_issued", "enrolment_delivered", "account_enrolled"]
    assert issued_by != "p-new" and actions[2][1] == "p-new"
    assert entries[1]["detail"]["channels"] == ["inbox", "email"]
    assert not CODE.search(str(entries))
    # only administrators read it
    refused(member.get("/api/v1/account-audit"), 403)


def test_a_new_code_replaces_the_old_one_and_the_office_enrols_only_its_own_people(world):
    base, admin = world["base"], world["admin"]
    office = login(base, "office")[0]
    assert office.post("/api/v1/enrolments", json={"person_id": "p-new"}).status_code == 201
    first = code_from_inbox(world["notifications_db"], "p-new")
    assert admin.post("/api/v1/enrolments", json={"person_id": "p-new", "org_id": "demo-org"}).status_code == 201
    second = code_from_inbox(world["notifications_db"], "p-new")
    assert first != second
    refused(requests.post(base + "/api/v1/enrolments/redeem", timeout=20,
                          json={"code": first, "username": "new", "password": PASSWORD}), 400, "code")
    refused(login(base, "member1")[0].post("/api/v1/enrolments", json={"person_id": "p-new"}), 403)
    assert admin.post("/api/v1/organizations", json={"name": "另一局党组", "org_id": "other-org"}).status_code == 201
    refused(office.post("/api/v1/enrolments", json={"person_id": "p-new", "org_id": "other-org"}), 403)
    # a person without a role in the organization is not enrolled
    refused(admin.post("/api/v1/enrolments", json={"person_id": "p-new", "org_id": "other-org"}), 422, "person_id")
    r = requests.post(base + "/api/v1/enrolments/redeem", timeout=20,
                      json={"code": second, "username": "new", "password": PASSWORD})
    assert r.status_code == 201, r.text
