"""Bad input on every slice route gets a 4xx naming the field or the rule, and writes nothing."""
import datetime as dt
import time

import pytest
import requests

from tests.e2e.conftest import Client, login

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
    assert admin.post("/api/v1/accounts", json={"username": "other-sec", "password": "another-password-1",
                                                "person_id": "other-sec", "org_id": "other-org"}).status_code == 201
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
