"""Bad input on every slice route gets a 4xx naming the field or the rule, and writes nothing."""
import datetime as dt
import time

import pytest
import requests

from tests.e2e.conftest import Client, login, notifications_db
from tests.support.enrolment import enrol

pytestmark = pytest.mark.e2e
SOON = lambda: (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=20)).isoformat()  # noqa: E731


def error_of(r, status=None):
    assert 400 <= r.status_code < 500, f"{r.status_code}: {r.text}"
    if status:
        assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["message"]
    return body


@pytest.fixture(scope="module")
def world(suite):
    """The demo organization with an opened meeting and an open ballot, plus a second
    organization (one member) with its own meeting and ballot."""
    base = suite.base
    admin, _ = login(base, "admin")
    sec, info = login(base, "secretary")
    ids = {u: login(base, u)[1]["actor"]["person_id"] for u in
           ["secretary", "deputy", "member1", "member2", "member3", "member4"]}
    m = sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "会议", "scheduled_at": SOON()}).json()
    t = sec.post(f"/api/v1/meetings/{m['meeting_id']}/topics", json={"title": "议题", "category": "other"}).json()
    r = sec.post(f"/api/v1/meetings/{m['meeting_id']}/open", json={"present": list(ids.values())})
    assert r.status_code == 200, r.text
    b = sec.post("/api/v1/ballots", json={"meeting_id": m["meeting_id"], "topic_id": t["topic_id"],
                                          "method": "named"}).json()

    # a second organization with a single member (N = 1, quorum 1)
    assert admin.post("/api/v1/organizations", json={"name": "另一局党组", "org_id": "other-org"}).status_code == 201
    assert admin.post("/api/v1/persons", json={"name": "王五", "person_id": "other-sec"}).status_code == 201
    assert admin.post("/api/v1/appointments", json={"org_id": "other-org", "person_id": "other-sec",
                                                    "role": "secretary", "start_date": "2020-01-01"}).status_code == 201
    enrol(base, admin.token, "other-sec", "other-org", "other-sec", "another-password-1", notifications_db(suite))
    other, _ = login(base, "other-sec", "another-password-1")
    om = other.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "其他", "scheduled_at": SOON()}).json()
    ot = other.post(f"/api/v1/meetings/{om['meeting_id']}/topics", json={"title": "x", "category": "other"}).json()
    assert other.post(f"/api/v1/meetings/{om['meeting_id']}/open", json={"present": ["other-sec"]}).status_code == 200
    ob = other.post("/api/v1/ballots", json={"meeting_id": om["meeting_id"], "topic_id": ot["topic_id"],
                                             "method": "named"}).json()
    assert other.post(f"/api/v1/ballots/{ob['ballot_id']}/votes", json={"choice": "yes"}).status_code in (200, 201)
    od = other.post(f"/api/v1/ballots/{ob['ballot_id']}/close").json()
    return {"base": base, "sec": sec, "member1": login(base, "member1")[0], "meeting": m, "topic": t,
            "ballot": b, "other_meeting": om, "other_topic": ot, "other_ballot": ob, "other_decision": od}


def test_no_token_or_bad_token_is_401(world):
    anon = Client(world["base"])
    assert error_of(anon.get(f"/api/v1/ballots/{world['ballot']['ballot_id']}"), 401)["rule"] == "AUTH"
    forged = Client(world["base"], token="not-a-token")
    error_of(forged.post("/api/v1/ballots", json={}), 401)


def test_ballot_routes_missing_fields_wrong_types_unknown_and_foreign_ids(world):
    sec, m, t = world["sec"], world["meeting"], world["topic"]
    assert error_of(sec.post("/api/v1/ballots", json={"topic_id": t["topic_id"]}), 400)["field"] == "meeting_id"
    assert error_of(sec.post("/api/v1/ballots", json={"meeting_id": m["meeting_id"], "topic_id": t["topic_id"],
                                                      "method": "telepathy"}), 400)["field"] == "method"
    assert error_of(sec.post("/api/v1/ballots", json={"meeting_id": 42, "topic_id": t["topic_id"]}), 400)["field"] \
        == "meeting_id"
    r = requests.post(world["base"] + "/api/v1/ballots", data="{oops", timeout=10,
                      headers={"Authorization": f"Bearer {sec.token}", "Content-Type": "application/json"})
    error_of(r, 400)
    error_of(sec.post("/api/v1/ballots", json={"meeting_id": "no-such-meeting", "topic_id": t["topic_id"]}), 404)
    # M4: a topic of another meeting (here: another organization's) is not on this agenda
    err = error_of(sec.post("/api/v1/ballots", json={"meeting_id": m["meeting_id"],
                                                     "topic_id": world["other_topic"]["topic_id"]}))
    assert err["rule"] == "M4"
    error_of(sec.post("/api/v1/ballots", json={"meeting_id": world["other_meeting"]["meeting_id"],
                                               "topic_id": world["other_topic"]["topic_id"]}), 404)
    # V4: one open ballot per agenda item
    err = error_of(sec.post("/api/v1/ballots", json={"meeting_id": m["meeting_id"], "topic_id": t["topic_id"]}), 409)
    assert err["rule"] == "V4"


def test_vote_routes_refuse_and_write_nothing(world):
    member1, sec = world["member1"], world["sec"]
    ballot_id = world["ballot"]["ballot_id"]
    before = sec.get(f"/api/v1/ballots/{ballot_id}").json()["votes_cast"]
    assert error_of(member1.post(f"/api/v1/ballots/{ballot_id}/votes", json={}), 400)["field"] == "choice"
    assert error_of(member1.post(f"/api/v1/ballots/{ballot_id}/votes", json={"choice": 1}), 400)["field"] == "choice"
    assert error_of(member1.post(f"/api/v1/ballots/{ballot_id}/votes", json=["yes"]), 400)
    error_of(member1.post("/api/v1/ballots/no-such-ballot/votes", json={"choice": "yes"}), 404)
    error_of(member1.post(f"/api/v1/ballots/{world['other_ballot']['ballot_id']}/votes", json={"choice": "yes"}), 404)
    assert sec.get(f"/api/v1/ballots/{ballot_id}").json()["votes_cast"] == before
    # only the chair closes (M1); the ballot stays open
    err = error_of(member1.post(f"/api/v1/ballots/{ballot_id}/close"))
    assert err["rule"] in ("M1", "AUTH")
    assert sec.get(f"/api/v1/ballots/{ballot_id}").json()["status"] == "open"
    error_of(sec.post(f"/api/v1/ballots/{world['other_ballot']['ballot_id']}/close"), 404)


def test_read_routes_unknown_and_foreign_ids_are_404(world):
    sec = world["sec"]
    od = world["other_decision"]["decision_id"]
    for path in ("/api/v1/decisions/{}", "/api/v1/decisions/{}/record", "/api/v1/decisions/{}/responsibility"):
        error_of(sec.get(path.format("no-such-decision")), 404)
        error_of(sec.get(path.format(od)), 404)
    error_of(sec.get(f"/api/v1/ballots/{world['other_ballot']['ballot_id']}"), 404)
    error_of(sec.get(f"/api/v1/meetings/{world['other_meeting']['meeting_id']}"), 404)
    assert error_of(sec.get("/api/v1/records?limit=0"), 400)["field"] == "limit"
    assert error_of(sec.get("/api/v1/records?offset=-1"), 400)["field"] == "offset"
    error_of(sec.post("/api/v1/notifications/no-such-notification/read"), 404)
    # another organization's person record is not readable by a member
    error_of(world["member1"].get("/api/v1/persons/other-sec/record"))


def test_notification_routes_receipts_preferences_and_webhook_guard(world):
    """N1/N2 and M5 through the gateway: proof of notice, preferences, webhook target checks."""
    base, sec, member1 = world["base"], world["sec"], world["member1"]
    office, _ = login(base, "office")
    # the emergency meeting of the fixture was not noticed; notice a new one so members get it
    m = sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "通知测试", "scheduled_at": SOON()}).json()
    sec.post(f"/api/v1/meetings/{m['meeting_id']}/topics", json={"title": "议题", "category": "other"})
    assert sec.post(f"/api/v1/meetings/{m['meeting_id']}/notice").status_code == 200

    def notice():
        items = member1.get("/api/v1/notifications").json()["items"]
        return [n for n in items if n["meeting_id"] == m["meeting_id"] and n["kind"] == "meeting_notice"]
    deadline = time.monotonic() + 20
    while not notice() and time.monotonic() < deadline:
        time.sleep(0.3)
    (item,) = notice()
    r = member1.post(f"/api/v1/notifications/{item['notification_id']}/acknowledge")
    assert r.status_code == 200 and r.json()["acknowledged_at"]
    receipts = sec.get(f"/api/v1/meetings/{m['meeting_id']}/receipts").json()["items"]
    acked = [x for x in receipts if x["acknowledged_at"]]
    assert len(receipts) == 9 and len(acked) == 1
    error_of(member1.get(f"/api/v1/meetings/{m['meeting_id']}/receipts"), 403)

    r = member1.put("/api/v1/me/preferences", json={"language": "en", "channels": {"email": False}})
    assert r.status_code == 200 and r.json()["language"] == "en"
    assert error_of(member1.put("/api/v1/me/preferences", json={"language": "fr"}), 400)["field"] == "language"

    # N2: webhook targets on loopback or private ranges are refused
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.8/hook", "ftp://example.org/hook"):
        err = error_of(office.post("/api/v1/webhooks", json={"url": url, "event_types": ["meeting_notice"]}))
        assert err["rule"] == "N2", err
    assert office.get("/api/v1/webhooks").json()["items"] == []
    error_of(member1.get("/api/v1/webhooks"), 403)


def test_voting_routes_defer_policy_and_lists(world):
    """V5 deferral and policy, ballot and decision lists, through the gateway."""
    sec, member1 = world["sec"], world["member1"]
    ballot_id, meeting_id = world["ballot"]["ballot_id"], world["meeting"]["meeting_id"]
    assert [b["ballot_id"] for b in sec.get(f"/api/v1/ballots?meeting_id={meeting_id}").json()["items"]] == [ballot_id]
    assert error_of(sec.get("/api/v1/ballots"), 400)["field"] == "meeting_id"
    assert sec.get("/api/v1/voting-policy").json()["disagreement_ratio"] == "1/3"
    error_of(member1.put("/api/v1/voting-policy", json={"disagreement_ratio": "1/2"}), 403)
    assert sec.put("/api/v1/voting-policy", json={"disagreement_ratio": "1/2"}).json()["disagreement_ratio"] == "1/2"
    assert error_of(sec.post(f"/api/v1/ballots/{ballot_id}/defer", json={}), 400)["field"] == "reason"
    r = sec.post(f"/api/v1/ballots/{ballot_id}/defer", json={"reason": "需进一步调查研究"})
    assert r.status_code == 200 and r.json()["outcome"] == "deferred", r.text
    decisions = sec.get("/api/v1/decisions").json()
    assert r.json()["decision_id"] in [d["decision_id"] for d in decisions["items"]]
    # V6 on a deferred decision is refused with its rule
    err = error_of(member1.post(f"/api/v1/decisions/{r.json()['decision_id']}/reserved-opinions",
                                json={"text": "保留"}))
    assert err["rule"] == "V6"


def test_meeting_routes_calendar_topics_objection_minutes(world):
    """M3, M5, M10 and the calendar through the gateway, each refusal naming its rule."""
    base, sec, member1 = world["base"], world["sec"], world["member1"]
    meeting_id = world["meeting"]["meeting_id"]
    calendar = sec.get("/api/v1/meetings").json()
    assert meeting_id in [m["meeting_id"] for m in calendar["items"]] and calendar["timezone"] == "Asia/Shanghai"
    assert error_of(sec.get("/api/v1/meetings?from=yesterday"), 400)["field"] == "from"
    # M3: a member suggests, the secretary must give a reason to reject
    r = member1.post("/api/v1/topics", json={"title": "建议议题", "category": "other"})
    assert r.status_code == 201 and r.json()["status"] == "suggested", r.text
    topic_id = r.json()["topic_id"]
    assert error_of(sec.post(f"/api/v1/topics/{topic_id}/decision", json={"accept": False}))["rule"] == "M3"
    r = sec.post(f"/api/v1/topics/{topic_id}/decision", json={"accept": False, "reason": "不属于党组议事范围"})
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    # M5: an objection less than 24 hours before the meeting is refused with the reason
    soon = sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "临时会议", "scheduled_at": SOON()}).json()
    err = error_of(member1.post(f"/api/v1/meetings/{soon['meeting_id']}/objections", json={"text": "有异议"}))
    assert err["rule"] == "M5" and "24 hours" in err["message"]
    err = error_of(member1.post(f"/api/v1/meetings/{meeting_id}/objections", json={"text": "有异议"}))
    assert err["rule"] == "M5"
    # M10: only the confidential secretary records minutes
    error_of(member1.post(f"/api/v1/meetings/{meeting_id}/minutes", json={"text": "记录"}), 403)
    confidential, _ = login(base, "confidential")
    r = confidential.post(f"/api/v1/meetings/{meeting_id}/minutes", json={"text": "会议记录：议题讨论情况"})
    assert r.status_code == 200, r.text
    assert sec.get(f"/api/v1/meetings/{meeting_id}/minutes").json()["text"].startswith("会议记录")
    assert sec.get(f"/api/v1/meetings/{meeting_id}/quorum").json()["met"] is True
    assert sec.get("/api/v1/compliance?month=2026-01").status_code == 200
    assert error_of(sec.get("/api/v1/compliance?month=2026-13"), 400)["field"] == "month"


# ---------------------------------------------------------------- issue 17, defect 4: text and dates at the edge

WRITE_METHODS = ("post", "put", "patch", "delete")
# the first of these whose role the route accepts answers the request (every demo role is tried)
SESSIONS = ("secretary", "admin", "office", "confidential", "discipline", "hr", "member1")


def written_state(world):
    """What the refused requests could have written, read back through the API."""
    base, sec = world["base"], world["sec"]
    office, admin = login(base, "office")[0], login(base, "admin")[0]
    meeting_id = world["meeting"]["meeting_id"]
    return {"meetings": sorted(m["meeting_id"] for m in sec.get("/api/v1/meetings").json()["items"]),
            "meeting": sec.get(f"/api/v1/meetings/{meeting_id}").json(),
            "ballots": sec.get(f"/api/v1/ballots?meeting_id={meeting_id}").json(),
            "decisions": sec.get("/api/v1/decisions").json(),
            "webhooks": office.get("/api/v1/webhooks").json(),
            "api_tokens": admin.get("/api/v1/api-tokens").json(),
            "members": sec.get("/api/v1/organizations/demo-org/members").json()}


def body_properties(spec, operation):
    content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
    if not content:
        return []
    schema = content["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return sorted(schema.get("properties", {}))


def test_a_lone_surrogate_in_any_field_of_every_write_route_is_a_400_naming_it(world):
    """Every write operation of the live OpenAPI, every property of its body, one at a time:
    ``"\\ud800"`` (which no database can store) is refused with 400 naming the property,
    log-in included; zero 5xx, nothing written."""
    base = world["base"]
    spec = requests.get(base + "/openapi.json", timeout=20).json()
    sessions = {u: login(base, u)[0] for u in SESSIONS}
    before = written_state(world)
    checked, failures = 0, []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in WRITE_METHODS:
                continue
            url = path.replace("{", "").replace("}", "")     # any id: the body is checked first
            for prop in body_properties(spec, operation):
                for user in SESSIONS:
                    r = sessions[user].request(method.upper(), url, json={prop: "\ud800"})
                    if r.status_code not in (401, 403):
                        break
                checked += 1
                if r.status_code != 400 or r.json()["error"]["field"] != prop:
                    failures.append(f"{method.upper()} {path} {prop}: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)
    assert checked > 150, checked
    r = requests.post(base + "/api/v1/auth/login", json={"username": "secretary", "password": "\ud800"}, timeout=20)
    assert r.status_code == 400 and r.json()["error"]["field"] == "password", r.text
    assert written_state(world) == before


@pytest.mark.parametrize("bad", ["第一行\n第二行", "\u202e审批通过", "隔离\u2066x\u2069", "tab\there", "bell\u0007",
                                 "nul\u0000", "zero\u200bwidth"])
def test_titles_and_names_refuse_control_and_bidirectional_characters(world, bad):
    base, sec = world["base"], world["sec"]
    admin = login(base, "admin")[0]
    before = written_state(world)
    meeting_id = world["meeting"]["meeting_id"]
    for client, path, body, field in [
        (sec, "/api/v1/meetings", {"kind": "emergency", "title": bad, "scheduled_at": SOON()}, "title"),
        (sec, "/api/v1/meetings", {"kind": "emergency", "title": "t", "scheduled_at": SOON(), "theme": bad}, "theme"),
        (sec, f"/api/v1/meetings/{meeting_id}/topics", {"title": bad, "category": "other"}, "title"),
        (world["member1"], "/api/v1/topics", {"title": bad, "category": "other"}, "title"),
        (admin, "/api/v1/persons", {"name": bad}, "name"),
        (admin, "/api/v1/organizations", {"name": bad}, "name"),
        (admin, "/api/v1/api-tokens", {"name": bad, "org_id": "demo-org", "roles": ["observer"], "days": 1},
         "name"),
    ]:
        assert error_of(client.post(path, json=body), 400)["field"] == field, (path, bad)
    assert written_state(world) == before


def test_dates_outside_a_sane_range_are_a_400_not_an_overflow(world):
    base, sec = world["base"], world["sec"]
    admin = login(base, "admin")[0]
    before = written_state(world)
    far, past = "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00"
    for at in (far, past, "9999-12-31T23:59:59-12:00"):
        r = sec.post("/api/v1/meetings", json={"kind": "emergency", "title": "远期", "scheduled_at": at})
        assert error_of(r, 400)["field"] == "scheduled_at"
    r = sec.post(f"/api/v1/meetings/{world['meeting']['meeting_id']}/reschedule",
                 json={"scheduled_at": far, "reason": "改期"})
    assert error_of(r, 400)["field"] == "scheduled_at"
    r = admin.post("/api/v1/appointments", json={"org_id": "demo-org", "person_id": "demo-member1",
                                                 "role": "member", "start_date": "9999-12-31"})
    assert error_of(r, 400)["field"] == "start_date"
    assert error_of(sec.get("/api/v1/records?from=9999-12-31"), 400)["field"] == "from"
    assert error_of(sec.get("/api/v1/organizations/demo-org/members?on=9999-12-31"), 400)["field"] == "on"
    assert written_state(world) == before


def test_a_lone_surrogate_in_an_otherwise_valid_body_is_a_400_not_a_503(world):
    """The requests the issue found answered 503 (UnicodeEncodeError) and 500 (log-in)."""
    base, sec, member1 = world["base"], world["sec"], world["member1"]
    admin = login(base, "admin")[0]
    meeting_id, ballot_id = world["meeting"]["meeting_id"], world["ballot"]["ballot_id"]
    before = written_state(world)
    votes = sec.get(f"/api/v1/ballots/{ballot_id}").json()["votes_cast"]
    for client, path, body, field in [
        (sec, "/api/v1/meetings", {"kind": "emergency", "title": "会\ud800议", "scheduled_at": SOON()}, "title"),
        (sec, f"/api/v1/meetings/{meeting_id}/topics", {"title": "议题", "category": "other",
                                                        "description": "\udfff"}, "description"),
        (member1, f"/api/v1/ballots/{ballot_id}/votes", {"choice": "no", "reserved_opinion": "\ud800"},
         "reserved_opinion"),
        (member1, f"/api/v1/meetings/{meeting_id}/objections", {"text": "异议\ud800"}, "text"),
        (admin, "/api/v1/persons", {"name": "张\ud800三"}, "name"),
        (Client(base), "/api/v1/auth/login", {"username": "\ud800", "password": "whatever"}, "username"),
    ]:
        assert error_of(client.post(path, json=body), 400)["field"] == field, path
    assert written_state(world) == before
    assert sec.get(f"/api/v1/ballots/{ballot_id}").json()["votes_cast"] == votes


def test_webhook_targets_hiding_an_internal_address_are_refused(world):
    """Issue 17, defect 5 (N2): the addresses the issue found accepted, through the gateway."""
    office, _ = login(world["base"], "office")
    for host in ("[64:ff9b::7f00:1]", "[64:ff9b:1::a9fe:a9fe]", "[2002:7f00:1::]", "[::7f00:1]",
                 "[::ffff:0:7f00:1]", "[fec0::1]", "[::ffff:169.254.169.254]", "100.64.0.1"):
        err = error_of(office.post("/api/v1/webhooks", json={"url": f"http://{host}/hook",
                                                             "event_types": ["meeting_notice"]}), 400)
        assert err["rule"] == "N2" and err["field"] == "url", err
    assert office.get("/api/v1/webhooks").json()["items"] == []


def test_records_and_list_filters_naming_another_organizations_ids_are_404(world):
    """Issue 17, defect 8: they used to answer 200 with nothing."""
    sec, member1 = world["sec"], world["member1"]
    om = world["other_meeting"]["meeting_id"]
    for person_id in ("other-sec", "no-such-person"):
        error_of(sec.get(f"/api/v1/persons/{person_id}/record"), 404)
        error_of(member1.get(f"/api/v1/persons/{person_id}/record"))     # C2: a member reads only their own
    assert sec.get("/api/v1/persons/demo-member2/record").status_code == 200         # own organization
    assert member1.get("/api/v1/persons/demo-member1/record").status_code == 200     # oneself
    assert error_of(sec.get(f"/api/v1/ballots?meeting_id={om}"), 404)["field"] == "meeting_id"
    error_of(sec.get("/api/v1/ballots?meeting_id=no-such-meeting"), 404)
    error_of(sec.get(f"/api/v1/meetings/{om}/receipts"), 404)
    error_of(sec.get(f"/api/v1/records?meeting_id={om}"), 404)
    assert sec.get(f"/api/v1/records?meeting_id={world['meeting']['meeting_id']}").status_code == 200
