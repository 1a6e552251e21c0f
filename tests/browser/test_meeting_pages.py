"""The meeting-side rules that had an API but no page (issue 19), each driven through the browser by
the role that does it: arrivals and departures with the quorum live (M8), observers (M7), proof of
notice and objections (M5), documents issued by the office and signed off by the secretary with
their number 〔year〕n号 (M10), and a democratic life meeting's steps from its opinions to its
rectification (M11). The module has a suite of its own whose clock the M11 journey moves (M5: a
noticed meeting is held at its time, 48 h after the notice at the earliest)."""
import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from shared import clock
from tests.browser import conftest as browser_conftest
from tests.browser.support import GROUP_PRESENT, assert_readable, ok, ui_login, wait_for
from tests.e2e import conftest as e2e
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser

GROUP = ["secretary", "deputy"] + [f"member{i}" for i in range(1, 8)]


@pytest.fixture(scope="module")
def suite(broker, tmp_path_factory):
    clock_file = tmp_path_factory.mktemp("clock") / "offset"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(clock.CONTROLLED_CLOCK_SETTING, str(clock_file))
        env.setenv("COMPLIANCE_SWEEP_SECONDS", browser_conftest.COMPLIANCE_SWEEP_SECONDS)
        yield from e2e.suite.__wrapped__(broker, tmp_path_factory)


@pytest.fixture(scope="module")
def base(suite):
    login(suite.base, "secretary")          # waits for the demo seed of the fresh suite
    return suite.base


@pytest.fixture(scope="module", autouse=True)
def patient_expectations():
    """Each journey logs in several people (one password hash at a time, cpu.py) on a machine that
    may be busy: what the user sees is waited for up to 15 s rather than 5 s."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def english(page):
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def open_as(pages, username, path, lang="zh-CN"):
    page = pages.new()
    if lang == "en":
        english(page)
    ui_login(page, username, lang)
    page.goto(f"{pages.base}/#/{path}")
    expect(page.locator("#main[aria-busy]")).to_have_count(0)
    return page


def at(**delta):
    return (clock.now() + dt.timedelta(**delta)).isoformat()


def opened_emergency(base, title, present=GROUP_PRESENT):
    """An emergency meeting (M6) opened with `present` of the 9 (M8: quorum 6)."""
    sec, _ = login(base, "secretary")
    mid = ok(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": title,
                                                "scheduled_at": at(minutes=30)}))["meeting_id"]
    ok(sec.post(f"/api/v1/meetings/{mid}/topics", json={"title": f"{title} 议题", "category": "work_plan"}))
    ok(sec.post(f"/api/v1/meetings/{mid}/notice"))
    ok(sec.post(f"/api/v1/meetings/{mid}/open", json={"present": present, "leave": []}))
    return sec, mid


def presence_button(page, name):
    return page.locator(f"#presence tr:has(td[data-col=person]:text-is('{name}')) button")


def test_m8_the_chair_records_departures_and_arrivals_and_the_quorum_follows_live(pages, screenshots):
    # 7 of 9 present: demo-member6 and demo-member7 are absent
    _, mid = opened_emergency(pages.base, "党组紧急会议（到场离场）")
    sec = open_as(pages, "secretary", f"meeting/{mid}")
    quorum = sec.locator("#quorum")
    expect(quorum).to_have_text("出席 7 / 应到 9，法定人数 6 — 已达到法定人数")
    expect(quorum).to_have_attribute("data-met", "true")
    # a member watches the same meeting: the quorum is there, the buttons are not (M8)
    member = open_as(pages, "member1", f"meeting/{mid}")
    expect(member.locator("#quorum")).to_have_text(re.compile("出席 7 / 应到 9"))
    expect(member.locator("#presence tbody button")).to_have_count(0)

    presence_button(sec, "党组成员五").click()             # 记录离场
    expect(quorum).to_have_text("出席 6 / 应到 9，法定人数 6 — 已达到法定人数")
    expect(sec.locator("#presence tr:has-text('党组成员五') .presence-status")).to_have_attribute("data-status", "absent")
    presence_button(sec, "党组成员四").click()
    expect(quorum).to_have_text("出席 5 / 应到 9，法定人数 6 — 未达到法定人数")
    expect(quorum).to_have_attribute("data-met", "false")
    expect(quorum).to_have_class(re.compile("unmet"))
    # the member's page follows by itself (polled every few seconds), with no reload
    expect(member.locator("#quorum")).to_have_text("出席 5 / 应到 9，法定人数 6 — 未达到法定人数", timeout=15000)
    screenshots(sec, "90-m8-quorum-not-met")

    # the confidential secretary records an arrival; the chair's page follows by polling
    conf = open_as(pages, "confidential", f"meeting/{mid}")
    button = presence_button(conf, "党组成员六")
    expect(button).to_have_text("记录到场")
    button.click()
    expect(conf.locator("#quorum")).to_have_text("出席 6 / 应到 9，法定人数 6 — 已达到法定人数")
    expect(quorum).to_have_text("出席 6 / 应到 9，法定人数 6 — 已达到法定人数", timeout=15000)
    expect(presence_button(sec, "党组成员六")).to_have_text("记录离场", timeout=15000)
    # the arrival time is shown in the organization's zone, never as an ISO instant
    assert_readable(sec)
