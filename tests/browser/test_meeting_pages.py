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
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser

GROUP = ["secretary", "deputy"] + [f"member{i}" for i in range(1, 8)]


@pytest.fixture(scope="module")
def suite(broker, tmp_path_factory):
    yield from browser_conftest.clocked_suite(broker, tmp_path_factory)


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


def test_m7_the_secretary_invites_an_observer_in_english(pages, screenshots):
    sec_api, _ = login(pages.base, "secretary")
    mid = ok(sec_api.post("/api/v1/meetings", json={"kind": "regular", "title": "党组会议（列席）",
                                                    "scheduled_at": at(days=4)}))["meeting_id"]
    sec = open_as(pages, "secretary", f"meeting/{mid}", lang="en")
    form = sec.locator("#observer-form")
    expect(form.get_by_role("heading", name="Invite an observer")).to_be_visible()
    # group members are not offered (they attend as members); the bureau's staff are
    options = form.get_by_label("Observer", exact=True).locator("option")
    expect(options.filter(has_text="党组成员一")).to_have_count(0)
    form.get_by_label("Observer", exact=True).select_option("demo-hr")
    form.get_by_label("Why they attend", exact=True).fill("汇报干部工作")
    form.get_by_role("button", name="Invite").click()
    table = sec.locator("#observers table")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("td[data-col=person]")).to_have_text("赵处长")
    expect(table.locator("td[data-col=reason]")).to_have_text("汇报干部工作")
    expect(table.locator("td[data-col=by]")).to_have_text("张书记")
    # an invited observer is not offered again
    expect(sec.locator("#observer-form option[value=demo-hr]")).to_have_count(0)
    screenshots(sec, "91-m7-observer-en")
    # a member reads the list and is offered no form
    member = open_as(pages, "member2", f"meeting/{mid}", lang="en")
    expect(member.locator("#observers td[data-col=person]")).to_have_text("赵处长")
    expect(member.locator("#observer-form")).to_have_count(0)
    assert_readable(sec)


def test_m7_an_expanded_meeting_invites_someone_from_outside_the_bureau_by_name(pages):
    sec_api, _ = login(pages.base, "secretary")
    mid = ok(sec_api.post("/api/v1/meetings", json={"kind": "expanded", "title": "党组扩大会议",
                                                    "scheduled_at": at(days=4)}))["meeting_id"]
    sec = open_as(pages, "secretary", f"meeting/{mid}")
    form = sec.locator("#outside-observer-form")
    expect(form.get_by_role("heading", name="邀请局外人员列席（扩大会议）")).to_be_visible()
    form.get_by_label("姓名及单位").fill("房产服务中心 李主任")
    form.get_by_label("列席事由").fill("汇报安置房项目进展")
    form.get_by_role("button", name="邀请列席").click()
    row = sec.locator("#observers tbody tr", has_text="房产服务中心 李主任")
    expect(row.locator("td[data-col=reason]")).to_have_text("汇报安置房项目进展")
    expect(row.locator("td[data-col=by]")).to_have_text("张书记")
    # a regular meeting offers no such form: only the bureau's staff are invited (M7)
    regular = ok(sec_api.post("/api/v1/meetings", json={"kind": "regular", "title": "党组会议",
                                                        "scheduled_at": at(days=4)}))["meeting_id"]
    sec.goto(f"{pages.base}/#/meeting/{regular}")
    expect(sec.locator("#observer-form")).to_be_visible()
    expect(sec.locator("#outside-observer-form")).to_have_count(0)
    assert_readable(sec)


def test_m5_the_chair_and_office_see_who_acknowledged_the_notice_and_the_objections(pages, screenshots):
    sec_api, _ = login(pages.base, "secretary")
    mid = ok(sec_api.post("/api/v1/meetings", json={"kind": "regular", "title": "党组会议（通知回执）",
                                                    "scheduled_at": at(days=3)}))["meeting_id"]
    ok(sec_api.post(f"/api/v1/meetings/{mid}/topics", json={"title": "年度工作要点", "category": "work_plan"}))
    ok(sec_api.post(f"/api/v1/meetings/{mid}/notice"))
    member1, _ = login(pages.base, "member1")

    def notice():
        items = member1.get("/api/v1/notifications").json()["items"]
        return [n for n in items if n["meeting_id"] == mid and n["kind"] == "meeting_notice"]
    wait_for(notice, "the notice to reach member1")
    ok(member1.post(f"/api/v1/notifications/{notice()[0]['notification_id']}/acknowledge"))
    wait_for(lambda: len(sec_api.get(f"/api/v1/meetings/{mid}/receipts").json()["items"]) == 9, "all nine notices")
    member2, _ = login(pages.base, "member2")
    ok(member2.post(f"/api/v1/meetings/{mid}/objections", json={"text": "议题材料不全"}))

    for user in ("secretary", "office"):
        page = open_as(pages, user, f"meeting/{mid}")
        section = page.locator("#receipts")
        expect(section.locator("#receipts-summary")).to_have_text("已确认收到通知 1 人，共通知 9 人（M5）。")
        expect(section.locator("tr:has-text('党组成员一') .receipt")).to_have_attribute("data-acknowledged", "true")
        expect(section.locator("tr:has-text('党组成员二') .receipt")).to_have_text("未确认")
        expect(section.locator("#receipts-waiting")).to_contain_text("党组成员二")
        expect(section.locator("#receipts-waiting")).not_to_contain_text("党组成员一")
        expect(section.locator("#objections li")).to_have_count(1)
        expect(section.locator("#objections li")).to_contain_text("党组成员二于")
        expect(section.locator("#objections li")).to_contain_text("提出异议")
        assert_readable(page)
    screenshots(page, "92-m5-receipts")
    # a member is not shown the proof of notice
    member = open_as(pages, "member3", f"meeting/{mid}")
    expect(member.locator("#meeting-status")).to_be_visible()
    expect(member.locator("#receipts")).to_have_count(0)


def test_m10_the_office_issues_a_document_the_secretary_signs_it_off_and_it_is_numbered(pages, screenshots):
    sec_api, mid = opened_emergency(pages.base, "党组紧急会议（发文）")
    ok(sec_api.post(f"/api/v1/meetings/{mid}/close"))
    office = open_as(pages, "office", f"meeting/{mid}")
    form = office.locator("#document-form")
    form.get_by_label("文种", exact=True).select_option("summary")
    form.get_by_label("标题", exact=True).fill("紧急会议纪要（第一号）")
    form.get_by_label("正文", exact=True).fill("会议研究了突发险情处置工作。\n一、立即启动应急预案。")
    # the scope: the group members are chosen by default; the discipline inspector is not
    expect(form.get_by_label("刘组长（派驻纪检组）")).not_to_be_checked()
    form.get_by_role("button", name="提交书记签发").click()
    expect(office.locator("#document-status")).to_have_attribute("data-status", "awaiting_sign_off")
    expect(office.locator("#document-number")).to_have_text("签发后编号")
    expect(office.locator("#sign-off")).to_have_count(0)          # only the secretary signs off
    expect(office.locator("#awaiting-sign-off")).to_be_visible()
    doc_url = office.url.split("#/")[1]
    assert doc_url.startswith("document/")
    expect(office.locator("#document-body")).to_contain_text("一、立即启动应急预案。")

    # the secretary finds it on the register page among those awaiting sign-off (M10)
    sec = open_as(pages, "secretary", "documents")
    sec.locator("#awaiting-list").get_by_role("link", name="紧急会议纪要（第一号）").first.click()
    expect(sec).to_have_url(f"{pages.base}/#/{doc_url}")
    sec.locator("#sign-off").click()
    dialog = sec.locator("#confirm-dialog")
    expect(dialog).to_contain_text("紧急会议纪要（第一号）")
    sec.locator("#confirm-cancel").click()                        # asked first: nothing happened
    expect(sec.locator("#document-status")).to_have_attribute("data-status", "awaiting_sign_off")
    sec.locator("#sign-off").click()
    sec.locator("#confirm-ok").click()
    expect(sec.locator("#document-status")).to_have_attribute("data-status", "issued")
    number = sec.locator("#document-number")
    expect(number).to_have_text(re.compile(r"^〔\d{4}〕\d+号$"))
    expect(sec.locator("#sign-off")).to_have_count(0)             # signed off once
    expect(sec.locator("#document-signed")).to_contain_text("张书记")
    sec.goto(f"{pages.base}/#/documents")                     # no longer awaiting
    expect(sec.locator("#awaiting-list tbody")).not_to_contain_text("紧急会议纪要（第一号）", timeout=10000)
    sec.goto(f"{pages.base}/#/{doc_url}")
    shown = number.inner_text()
    year = re.match(r"〔(\d{4})〕", shown).group(1)
    screenshots(sec, "93-m10-document-numbered")
    assert_readable(sec)

    # the register of the year: a member of its scope finds it (in English), the inspector does not
    member = open_as(pages, "member1", f"documents?year={year}", lang="en")
    expect(member.get_by_role("heading", name="Register of documents", exact=True)).to_be_visible()
    row = member.locator("tbody tr:has-text('紧急会议纪要（第一号）')")
    expect(row.locator(".document-number")).to_have_text(shown)
    expect(row.locator("td[data-col=kind]")).to_have_text("Meeting summary")
    row.get_by_role("link", name="紧急会议纪要（第一号）").click()
    expect(member.locator("#document-number")).to_have_text(shown)
    expect(member.locator("#document-status")).to_have_text("Issued")
    assert_readable(member)
    inspector = open_as(pages, "discipline", f"documents?year={year}")
    expect(inspector.get_by_role("heading", name="发文登记", exact=True)).to_be_visible()
    expect(inspector.locator("tbody tr:has-text('紧急会议纪要（第一号）')")).to_have_count(0)
    # the register is in the navigation
    expect(inspector.get_by_role("navigation").get_by_role("link", name="发文登记")).to_be_visible()


def test_m11_a_democratic_life_meeting_from_opinions_to_completed_rectification(pages, screenshots):
    # the secretary schedules it on the home page, on its theme (M11); a theme is asked only for it
    sec_page = open_as(pages, "secretary", "home")
    create = sec_page.locator("#create-meeting")
    expect(create.get_by_label("主题", exact=True)).to_be_hidden()
    create.get_by_label("会议类型", exact=True).select_option("democratic_life")
    create.get_by_label("会议名称", exact=True).fill("年度民主生活会")
    create.get_by_label("主题", exact=True).fill("强化理论武装，推动高质量发展")
    create.get_by_role("button", name="创建会议").click()
    expect(sec_page.locator("#meeting-status")).to_have_attribute("data-status", "draft")
    mid = sec_page.url.split("#/meeting/")[1]
    sec_api, _ = login(pages.base, "secretary")
    ok(sec_api.post(f"/api/v1/meetings/{mid}/topics", json={"title": "对照检查", "category": "party_building"}))
    ok(sec_api.post(f"/api/v1/meetings/{mid}/notice"))
    sec_page.reload()
    sec_page.locator("#dl-page-link").click()
    expect(sec_page.locator("#dl-theme")).to_have_text("强化理论武装，推动高质量发展")

    # before: the office records the opinions solicited and the report to both bodies (M11)
    office = open_as(pages, "office", f"meeting/{mid}/democratic-life")
    expect(office.locator("#dl-form-outline")).to_have_count(0)   # staff file no outline
    expect(office.locator("#dl-form-speech")).to_have_count(0)    # not before the meeting opens
    form = office.locator("#dl-form-opinions_solicited")
    form.get_by_label("征求意见及反馈情况", exact=True).fill("征求意见12条，已反馈本人")
    form.get_by_role("button", name="记录").click()
    expect(office.locator("#dl-before li[data-step=opinions_solicited]")).to_contain_text("征求意见12条")
    form = office.locator("#dl-form-reported_before")
    expect(form.get_by_label("组织部门")).to_be_checked()
    expect(form.get_by_label("纪检监察机关")).to_be_checked()
    form.get_by_label("报告内容", exact=True).fill("会议方案已报组织部门和纪检监察机关")
    form.get_by_role("button", name="记录").click()
    expect(office.locator("#dl-before li[data-step=reported_before]")).to_contain_text("已报告：组织部门、纪检监察机关")

    # each member files their own outline: member1 in the browser, the others through the API
    member = open_as(pages, "member1", f"meeting/{mid}/democratic-life")
    member.locator("#dl-form-outline").get_by_label("发言提纲", exact=True).fill("查摆问题三条")
    member.locator("#dl-form-outline").get_by_role("button", name="记录").click()
    expect(member.locator("#dl-form-outline")).to_have_count(0)   # filed once
    expect(member.locator("#dl-outlines")).to_contain_text("已提交 1 / 9")
    for user in GROUP:
        if user != "member1":
            client, _ = login(pages.base, user)
            ok(client.post(f"/api/v1/meetings/{mid}/democratic-life", json={"step": "outline", "text": f"{user} 提纲"}))
    member.reload()
    expect(member.locator("#dl-outlines")).to_have_text("已提交 9 / 9")

    # at the meeting (held at its noticed time, M5): the secretary speaks first, then the others
    clock.advance(dt.timedelta(days=3))
    ok(sec_api.post(f"/api/v1/meetings/{mid}/open", json={"present": [f"demo-{u}" for u in GROUP], "leave": []}))
    sec_page.reload()
    speech = sec_page.locator("#dl-form-speech")
    expect(speech.get_by_label("发言人", exact=True).locator("option")).to_have_count(1)
    speech.get_by_label("发言要点", exact=True).fill("带头查摆四个方面问题")
    speech.get_by_role("button", name="记录").click()
    expect(sec_page.locator("#dl-during li[data-step=speech]")).to_contain_text("张书记")
    expect(sec_page.locator("#dl-form-speech").get_by_label("发言人", exact=True).locator("option")).to_have_count(9)
    criticism = sec_page.locator("#dl-form-criticism")
    criticism.get_by_label("发言人", exact=True).select_option("demo-deputy")
    criticism.get_by_label("批评对象", exact=True).select_option("demo-member2")
    criticism.get_by_label("批评意见", exact=True).fill("调查研究不够深入")
    criticism.get_by_role("button", name="记录").click()
    expect(sec_page.locator("#dl-during li[data-step=criticism]")).to_contain_text("李副书记 → 党组成员二")
    sec_page.locator("#dl-form-summary").get_by_label("总结", exact=True).fill("会议达到了预期目的")
    sec_page.locator("#dl-form-summary").get_by_role("button", name="记录").click()
    expect(sec_page.locator("#dl-during li[data-step=summary]")).to_contain_text("会议达到了预期目的")
    ok(sec_api.post(f"/api/v1/meetings/{mid}/close"))

    # after: reported, a rectification measure, its evaluation and its completion
    office.reload()
    expect(office.locator("#dl-form-evaluation")).to_have_count(0)   # follows a published measure
    form = office.locator("#dl-form-summary_reported")
    form.get_by_label("报告内容", exact=True).fill("会议情况已按时报告")
    form.get_by_role("button", name="记录").click()
    expect(office.locator("#dl-after li[data-step=summary_reported]")).to_be_visible()
    form = office.locator("#dl-form-rectification")
    form.get_by_label("整改措施", exact=True).fill("每季度开展一次专题调研")
    form.get_by_role("button", name="记录").click()
    measure = office.locator("#dl-after li[data-step=rectification]")
    expect(measure.locator(".measure-open")).to_have_text("整改中")
    expect(office.locator("#dl-rectification")).to_have_text("未完成 1 项，已完成 0 项")
    form = office.locator("#dl-form-evaluation")
    form.get_by_label("通报与评议情况", exact=True).fill("满意率95%")
    form.get_by_role("button", name="记录").click()
    expect(office.locator("#dl-after li[data-step=evaluation]")).to_contain_text("满意率95%")
    measure.get_by_label("完成情况", exact=True).fill("已完成第一次专题调研")
    measure.get_by_role("button", name="标记为已完成").click()
    expect(office.locator("#confirm-dialog")).to_contain_text("每季度开展一次专题调研")   # asked first
    office.locator("#confirm-ok").click()
    expect(office.locator("#dl-after li[data-step=rectification] .measure-done")).to_contain_text("已完成第一次专题调研")
    expect(office.locator("#dl-rectification")).to_have_text("未完成 0 项，已完成 1 项")
    screenshots(office, "94-m11-democratic-life")
    assert_readable(office)
    # a member reads the steps and is offered no form after the meeting
    member.reload()
    expect(member.locator("#dl-after form")).to_have_count(0)
    expect(member.locator("#dl-after li[data-step=rectification]")).to_contain_text("每季度开展一次专题调研")
