"""Helpers of the browser journeys: logging in through the page, waiting for events to
arrive, and preconditions built through the gateway's HTTP API as the demo users would
(so every rule applies): a passed decision, a meeting ahead."""
import datetime as dt
import re
import time

from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, login

GROUP_PRESENT = ["demo-secretary", "demo-deputy", "demo-member1", "demo-member2", "demo-member3", "demo-member4",
                 "demo-member5"]
YES_VOTERS = ["secretary", "deputy", "member1", "member2", "member3"]


def ok(response, status=(200, 201)):
    assert response.status_code in status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json()


def meeting_ahead(base, title, topic, days=3, kind="regular"):
    """A noticed meeting `days` ahead (M5: at least 48 h for a regular one) with one topic."""
    sec, _ = login(base, "secretary")
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)).isoformat()
    meeting = ok(sec.post("/api/v1/meetings", json={"kind": kind, "title": title, "scheduled_at": when}))
    mid = meeting["meeting_id"]
    topic_row = ok(sec.post(f"/api/v1/meetings/{mid}/topics", json={"title": topic, "category": "work_plan"}))
    ok(sec.post(f"/api/v1/meetings/{mid}/notice"))
    return mid, topic_row["topic_id"]


def passed_decision(base, title, topic, close_meeting=False):
    """An emergency meeting (M6) with 7 of 9 present (M8), a named ballot, 5 yes of N = 9 (V3):
    returns (meeting_id, decision_id) once the accountability service has the decision."""
    sec, _ = login(base, "secretary")
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).isoformat()
    mid = ok(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": title, "scheduled_at": when}))["meeting_id"]
    tid = ok(sec.post(f"/api/v1/meetings/{mid}/topics", json={"title": topic, "category": "work_plan"}))["topic_id"]
    ok(sec.post(f"/api/v1/meetings/{mid}/notice"))
    ok(sec.post(f"/api/v1/meetings/{mid}/open", json={"present": GROUP_PRESENT, "leave": []}))
    ballot = ok(sec.post("/api/v1/ballots", json={"meeting_id": mid, "topic_id": tid, "method": "named"}))
    for user in YES_VOTERS:
        voter, _ = login(base, user)
        ok(voter.post(f"/api/v1/ballots/{ballot['ballot_id']}/votes", json={"choice": "yes"}))
    decision = ok(sec.post(f"/api/v1/ballots/{ballot['ballot_id']}/close", json={}))
    decision_id = decision.get("decision_id") or decision["decision"]["decision_id"]
    if close_meeting:
        ok(sec.post(f"/api/v1/meetings/{mid}/close"))
    wait_for(lambda: sec.get(f"/api/v1/decisions/{decision_id}/responsibility").status_code == 200,
             "the decision to reach the accountability service")
    return mid, decision_id


def wait_for(check, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def ui_login(page, username, lang="zh-CN"):
    labels = {"zh-CN": ("用户名", "密码", "登录"), "en": ("Username", "Password", "Log in")}[lang]
    page.get_by_label(labels[0]).fill(username)
    page.get_by_label(labels[1]).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=labels[2], exact=True).click()
    expect(page.locator("#unread-count")).to_be_visible()


def reload_until(page, locator, timeout=30):
    """Reload the page until the locator is visible (events reach other services asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            expect(locator).to_be_visible(timeout=1500)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.reload()


ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
MICROSECONDS = re.compile(r":\d{2}\.\d{4,6}")


def assert_readable(page):
    """What the page shows (its rendered text) holds no ISO timestamp, microseconds or UUID."""
    expect(page.locator("#main[aria-busy]")).to_have_count(0)      # the view has finished drawing
    shown = page.locator("body").inner_text()
    for pattern, what in ((ISO_TIME, "an ISO timestamp"), (UUID, "a UUID"), (MICROSECONDS, "microseconds")):
        found = pattern.search(shown)
        assert found is None, f"{page.url} shows {what}: {found.group(0)!r}"
