"""Issue 16's new meetings actions over HTTP (the gateway and meetings on a real broker): the secretary
approves a provisional handling by acting (M6), the administrator ends a term (§二), and an emergency
meeting needs its reason (M6); each refusal is a 4xx naming the field and the rule."""
import datetime as dt

import pytest
import requests

from tests.integration.test_gateway_http import error_of, gateway, login, soon  # noqa: F401  (gateway: fixture)

pytestmark = pytest.mark.integration


def test_m6_the_secretary_approves_a_provisional_handling_by_acting(gateway):
    member, _ = login(gateway, "member1")
    deputy, _ = login(gateway, "deputy")
    sec, _ = login(gateway, "secretary")
    body = {"title": "暴雨抢险", "description": "调拨物资"}
    err = error_of(member.post("/api/v1/provisional-handlings", json=dict(body, approved_by="demo-secretary")), 400)
    assert err["field"] == "approved_by"
    handling = member.post("/api/v1/provisional-handlings", json=body)
    assert handling.status_code == 201, handling.text
    handling = handling.json()
    assert (handling["status"], handling["approved_by"]) == ("awaiting_approval", None)
    url = f"/api/v1/provisional-handlings/{handling['handling_id']}/approval"
    assert error_of(deputy.post(url), 403)["rule"] == "M6"
    queue = sec.get("/api/v1/provisional-handlings", params={"status": "awaiting_approval"}).json()["items"]
    assert [h["handling_id"] for h in queue] == [handling["handling_id"]]
    approved = sec.post(url)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("approved", "demo-secretary")
    assert error_of(sec.post(url), 409)["rule"] == "M6"


def test_terms_end_over_http_and_n_follows(gateway):
    admin, _ = login(gateway, "admin")
    sec, _ = login(gateway, "secretary")
    terms = admin.get("/api/v1/appointments", params={"org_id": "demo-org", "person_id": "demo-member7"})
    assert terms.status_code == 200, terms.text
    [term] = terms.json()["items"]
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    url = f"/api/v1/appointments/{term['appointment_id']}/end"
    assert error_of(sec.post(url, json={"end_date": today.isoformat(), "reason": "transfer"}), 403)["rule"] == "M1"
    assert error_of(admin.post(url, json={"end_date": today.isoformat(), "reason": "bored"}), 400)["field"] == "reason"
    ended = admin.post(url, json={"end_date": today.isoformat(), "reason": "transfer"})
    assert ended.status_code == 200, ended.text
    assert (ended.json()["end_date"], ended.json()["end_reason"]) == (today.isoformat(), "transfer")
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    members = sec.get("/api/v1/organizations/demo-org/members", params={"on": tomorrow}).json()
    assert (members["n"], members["quorum"]) == (8, 6)
    assert sec.get("/api/v1/organizations/demo-org/members", params={"on": today.isoformat()}).json()["n"] == 9
    # kept for life
    assert len(admin.get("/api/v1/appointments", params={"org_id": "demo-org",
                                                         "person_id": "demo-member7"}).json()["items"]) == 1


def test_m6_an_emergency_meeting_without_its_reason_is_refused(gateway):
    sec, _ = login(gateway, "secretary")
    err = error_of(sec.post("/api/v1/meetings", json={"kind": "emergency", "title": "紧急", "scheduled_at": soon()}),
                   400)
    assert (err["field"], err["rule"]) == ("emergency_reason", "M6")
    assert not [m for m in sec.get("/api/v1/meetings").json()["items"] if m["title"] == "紧急"]
    assert requests.get(gateway + "/health", timeout=20).status_code == 200
