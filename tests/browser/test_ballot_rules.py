"""When the system asks the chair to defer or to confirm with a reason (V5: serious disagreement on
a major item), the chair does it in the browser instead of being stuck: in Chinese the chair
defers the vote, in English confirms it with a recorded reason."""
import datetime as dt

import pytest
from playwright.sync_api import expect

from shared import clock
from tests.browser import conftest as browser_conftest
from tests.browser.support import ok, ui_login
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def suite(broker, tmp_path_factory):
    """A suite of this module's own whose clock the test moves (M5: a regular meeting is held at
    its noticed time, 48 h after its notice at the earliest), so the other modules' clock stays put."""
    yield from browser_conftest.clocked_suite(broker, tmp_path_factory)


@pytest.fixture(scope="module")
def base(suite):
    login(suite.base, "secretary")          # waits for the demo seed of the fresh suite
    return suite.base

PRESENT8 = ["demo-secretary", "demo-deputy"] + [f"demo-member{i}" for i in range(1, 7)]
YES = ["secretary", "deputy", "member1", "member2", "member3"]
NO = ["member4", "member5", "member6"]


def disputed_ballot(base, title):
    """A regular meeting (noticed 3 days ahead, held then: the suite's clock moves 3 days on, M5; a
    major topic is never decided at an emergency one, M6) with a major-decision topic (pre-coordinated
    and prepared, M3), 8 present, a named ballot with 5 yes and 3 no: 3 of 8 against reach a third (V5)."""
    sec, _ = login(base, "secretary")
    when = (clock.now() + dt.timedelta(days=3)).isoformat()
    mid = ok(sec.post("/api/v1/meetings", json={"kind": "regular", "title": title, "scheduled_at": when}))["meeting_id"]
    tid = ok(sec.post(f"/api/v1/meetings/{mid}/topics", json={
        "title": f"{title} 议题", "category": "major_decision",
        "precoordination": {"leader_person_id": "demo-deputy", "with_whom": ["党组成员一"], "outcome": "原则同意"},
        "preparation": {"research": "已调研", "opinions_from": ["财务处"], "risk_assessment": "可控",
                        "legal_review": "合法"}}))["topic_id"]
    ok(sec.post(f"/api/v1/meetings/{mid}/notice"))
    clock.advance(dt.timedelta(days=3))
    ok(sec.post(f"/api/v1/meetings/{mid}/open", json={"present": PRESENT8, "leave": []}))
    ballot = ok(sec.post("/api/v1/ballots", json={"meeting_id": mid, "topic_id": tid, "method": "named"}))
    for user, choice in [(u, "yes") for u in YES] + [(u, "no") for u in NO]:
        voter, _ = login(base, user)
        ok(voter.post(f"/api/v1/ballots/{ballot['ballot_id']}/votes", json={"choice": choice}))
    return ballot["ballot_id"]


TEXT = {
    "zh-CN": {"close": "结束表决并计票", "panel": "严重分歧", "reason": "暂缓或确认的理由", "defer": "暂缓表决",
              "confirm": "确认表决结果"},
    "en": {"close": "Close the ballot and count", "panel": "Serious disagreement", "reason": "Reason for deferring or confirming",
           "defer": "Defer the vote", "confirm": "Confirm the result"},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_chair_defers_or_confirms_when_the_system_asks(pages, screenshots, lang):
    x = TEXT[lang]
    ballot_id = disputed_ballot(pages.base, f"党组紧急会议（分歧 {lang}）")
    chair = pages.new()
    if lang == "en":
        chair.get_by_role("button", name="English").click()
    ui_login(chair, "secretary", lang)
    chair.goto(f"{pages.base}/#/ballot/{ballot_id}")
    chair.get_by_role("button", name=x["close"]).click()
    chair.locator("#confirm-ok").click()
    panel = chair.locator("#v5-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(x["panel"])
    # without a reason neither is sent
    panel.get_by_role("button", name=x["defer"]).click()
    expect(panel.locator("[role=alert]")).to_be_visible()
    panel.get_by_label(x["reason"]).fill("分歧较大，会后进一步沟通")
    screenshots(chair, f"50-v5-panel-{lang}")
    if lang == "zh-CN":
        panel.get_by_role("button", name=x["defer"]).click()
        chair.locator("#confirm-ok").click()
        expect(chair.locator("#outcome")).to_have_text("暂缓")
    else:
        panel.get_by_role("button", name=x["confirm"]).click()
        chair.locator("#confirm-ok").click()
        expect(chair.locator("#outcome")).to_have_text("Passed")
    screenshots(chair, f"51-v5-done-{lang}")


def test_ballot_progress_and_the_inbox_badge_update_by_themselves(pages, screenshots):
    """Live by polling: the chair's ballot page counts votes cast (never choices) as they arrive,
    and the navigation shows the unread count beside the inbox."""
    sec, _ = login(pages.base, "secretary")
    when = (clock.now() + dt.timedelta(minutes=30)).isoformat()
    mid = ok(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情",
                                                "title": "党组紧急会议（实时）", "scheduled_at": when}))["meeting_id"]
    tid = ok(sec.post(f"/api/v1/meetings/{mid}/topics", json={"title": "实时进度议题", "category": "work_plan"}))["topic_id"]
    ok(sec.post(f"/api/v1/meetings/{mid}/notice"))
    ok(sec.post(f"/api/v1/meetings/{mid}/open", json={"present": PRESENT8, "leave": []}))
    ballot_id = ok(sec.post("/api/v1/ballots", json={"meeting_id": mid, "topic_id": tid, "method": "secret"}))["ballot_id"]

    chair = pages.new()
    ui_login(chair, "secretary")
    unread = chair.locator("#unread-count").inner_text()
    badge = chair.get_by_role("navigation").locator(".nav-unread")
    if unread != "0":
        expect(badge).to_have_text(unread)
    chair.goto(f"{pages.base}/#/ballot/{ballot_id}")
    progress = chair.locator("#ballot-progress")
    expect(progress).to_have_text("已投 0 票 / 实到 8 人 / 应到 9 人")
    for n, user in enumerate(["member1", "member2"], 1):
        voter, _ = login(pages.base, user)
        ok(voter.post(f"/api/v1/ballots/{ballot_id}/votes", json={"choice": "no" if n == 1 else "yes"}))
        expect(progress).to_have_text(f"已投 {n} 票 / 实到 8 人 / 应到 9 人", timeout=12000)   # no reload
    screenshots(chair, "52-ballot-live-zh-CN")
