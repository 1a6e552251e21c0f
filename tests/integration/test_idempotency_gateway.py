"""Over HTTP: every write carries an ``Idempotency-Key`` (the client's, else the gateway's),
and a write sent again with its key is answered the first result and carried out once."""
import uuid

import pytest

from tests.integration.test_gateway_http import MEMBERS, error_of, gateway, login, soon  # noqa: F401 (fixture)
from tests.support.meetings import VotingStandIn

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def voting(container_factory):
    """V1: meetings asks voting whether ballots are open before a meeting closes (none here)."""
    VotingStandIn.open, VotingStandIn.asked = {}, []
    container_factory(VotingStandIn).start()


def titles(api):
    r = api.get("/api/v1/meetings")
    assert r.status_code == 200, r.text
    return sorted(m["title"] for m in r.json()["items"])


def test_a_schedule_sent_again_with_its_key_answers_the_first_meeting(gateway):   # noqa: F811
    sec, _ = login(gateway, "secretary")
    before = titles(sec)
    key = str(uuid.uuid4())
    body = {"kind": "emergency", "emergency_reason": "防汛险情", "title": "只开一次的会", "scheduled_at": soon()}
    first = sec.post("/api/v1/meetings", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    assert first.headers["Idempotency-Key"] == key
    again = sec.post("/api/v1/meetings", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json() == first.json()
    assert titles(sec) == sorted(before + ["只开一次的会"])

    # the same key with another body: refused, naming the header; nothing written
    other = sec.post("/api/v1/meetings", json=dict(body, title="另一个会"), headers={"Idempotency-Key": key})
    err = error_of(other, 409)
    assert err["field"] == "Idempotency-Key" and err["rule"] == "IDEMPOTENCY"
    assert "另一个会" not in titles(sec)

    # a close sent again answers the decision, not "already closed"
    mid = first.json()["meeting_id"]
    assert sec.post(f"/api/v1/meetings/{mid}/topics", json={"title": "议题", "category": "work_plan"}).status_code == 201
    opened = sec.post(f"/api/v1/meetings/{mid}/open", json={"present": MEMBERS})
    assert opened.status_code == 200, opened.text
    close_key = {"Idempotency-Key": f"close-{mid}"}
    closed = sec.post(f"/api/v1/meetings/{mid}/close", headers=close_key)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    retried = sec.post(f"/api/v1/meetings/{mid}/close", headers=close_key)
    assert retried.status_code == 200 and retried.json() == closed.json()
    error_of(sec.post(f"/api/v1/meetings/{mid}/close"), 409)      # a new close (new key) is refused (M1)


def test_a_write_without_a_key_gets_one_and_a_bad_key_is_a_400_naming_the_header(gateway):   # noqa: F811
    sec, _ = login(gateway, "secretary")
    made = sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "防汛险情", "title": "自动键",
                                              "scheduled_at": soon()})
    assert made.status_code == 201
    assert uuid.UUID(made.headers["Idempotency-Key"])                  # the gateway's own key
    assert "Idempotency-Key" not in sec.get("/api/v1/meetings").headers  # reads carry none
    before = titles(sec)
    for bad in ("x" * 201, "has space", "键"):
        r = sec.call("POST", "/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "防汛险情",
                                                       "title": "坏键", "scheduled_at": soon()},
                     headers={"Idempotency-Key": bad.encode("utf-8").decode("latin-1")})
        err = error_of(r, 400)
        assert err["field"] == "Idempotency-Key"
    assert titles(sec) == before
