"""Issue 19: the pages staff lacked, driven through the real UI in a headless Chromium against the
real suite, as each role would: the secretary approves a reconsideration and the two decisions
name each other (V7); the chair and the confidential secretary record a show-of-hands vote (V2);
reports owed are created and filed (C6); a record is corrected and shows its versions (A1), and the
read log names who read it (A3); one's own preferences and e-mail address (N2); the voting policy
(V5). Chinese by default; the preferences and the voting policy in English too."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.support import GROUP_PRESENT, assert_readable, ok, passed_decision, wait_for
from tests.e2e.conftest import DEMO_PASSWORD, login

pytestmark = pytest.mark.browser


def meeting_in_session(base, title, topics):
    """An emergency meeting (M6) chaired by the secretary, 7 of 9 present (M8), with its topics."""
    sec, _ = login(base, "secretary")
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).isoformat()
    mid = ok(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "情况变化", "title": title,
                                                "scheduled_at": when}))["meeting_id"]
    tids = [ok(sec.post(f"/api/v1/meetings/{mid}/topics", json={"title": tp, "category": "work_plan"}))["topic_id"]
            for tp in topics]
    ok(sec.post(f"/api/v1/meetings/{mid}/notice"))
    ok(sec.post(f"/api/v1/meetings/{mid}/open", json={"present": GROUP_PRESENT, "leave": []}))
    return sec, mid, tids


def ui_login(page, username, lang="zh-CN"):
    """Log in through the page; a log-in hashes the password, slow on a busy machine: waited for longer."""
    labels = {"zh-CN": ("用户名", "密码", "登录"), "en": ("Username", "Password", "Log in")}[lang]
    page.get_by_label(labels[0]).fill(username)
    page.get_by_label(labels[1]).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=labels[2], exact=True).click()
    expect(page.locator("#unread-count")).to_be_visible(timeout=30000)


def nav(page):
    return page.get_by_role("navigation")


def english(page):
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


# ---------------------------------------------------------------- V7 reconsideration

def test_the_secretary_approves_a_reconsideration_and_the_decisions_name_each_other(pages):
    _, old_id = passed_decision(pages.base, "党组紧急会议（复议前）", "仓库搬迁方案", close_meeting=True)
    sec, mid, (tid,) = meeting_in_session(pages.base, "党组紧急会议（复议）", ["复议：仓库搬迁方案"])

    # a deputy secretary sees the decision in force but is offered no reconsideration (only the secretary, V7)
    deputy = pages.new()
    ui_login(deputy, "deputy")
    deputy.goto(f"{pages.base}/#/decision/{old_id}")
    expect(deputy.locator("#decision-status")).to_have_text("有效")
    expect(deputy.locator("#reconsider-form")).to_have_count(0)

    page = pages.new()
    ui_login(page, "secretary")
    page.goto(f"{pages.base}/#/decision/{old_id}")
    expect(page.locator("#decision-status")).to_have_attribute("data-status", "in_force")
    form = page.locator("#reconsider-form")
    form.get_by_label("会议及议题").select_option(label="党组紧急会议（复议） · 复议：仓库搬迁方案")
    form.get_by_label("复议理由（新情况）").fill("新址土地性质发生变化")
    form.get_by_label("我作为书记批准对此决定进行复议").check()
    form.get_by_role("button", name="批准并开始复议表决").click()
    # asked first: the approval cannot be withdrawn; cancelling sends nothing
    expect(page.locator("#confirm-text")).to_contain_text("仓库搬迁方案")
    page.locator("#confirm-cancel").click()
    expect(page.locator("#reconsider-form")).to_be_visible()
    form.get_by_role("button", name="批准并开始复议表决").click()
    page.locator("#confirm-ok").click()

    # the reconsideration ballot names the decision it reconsiders and why
    expect(page.locator("#ballot-reconsiders")).to_contain_text("新址土地性质发生变化")
    ballot_id = page.url.rsplit("/", 1)[1]
    for user in ["deputy", "member1", "member2", "member3", "member4"]:
        voter, _ = login(pages.base, user)
        ok(voter.post(f"/api/v1/ballots/{ballot_id}/votes", json={"choice": "yes"}))
    page.reload()
    page.get_by_role("button", name="结束表决并计票").click()
    page.locator("#confirm-ok").click()

    # the new decision supersedes the old one, and the old one names its successor
    expect(page.locator("#outcome")).to_have_attribute("data-outcome", "passed")
    expect(page.locator("#reconsiders")).to_contain_text("本决定经复议取代了：")
    expect(page.locator("#predecessor-link")).to_contain_text("仓库搬迁方案")
    new_url = page.url
    page.locator("#predecessor-link").click()
    expect(page.locator("#decision-status")).to_have_text("已被复议决定取代")
    expect(page.locator("#superseded-by")).to_contain_text("已被以下复议决定取代：")
    expect(page.locator("#reconsider-form")).to_have_count(0)      # superseded: nothing left to reconsider
    page.locator("#successor-link").click()
    expect(page).to_have_url(new_url)
    assert_readable(page)
    ok(sec.post(f"/api/v1/meetings/{mid}/close"))


# ---------------------------------------------------------------- V2 recorded votes

def test_the_chair_and_the_confidential_secretary_record_a_show_of_hands_vote(pages):
    sec, mid, (tid, counted_tid) = meeting_in_session(pages.base, "党组紧急会议（举手表决）", ["食堂承包续约", "食堂价格调整"])
    ballot = ok(sec.post("/api/v1/ballots", json={"meeting_id": mid, "topic_id": tid, "method": "show_of_hands"}))
    bid = ballot["ballot_id"]

    # the confidential secretary has the ballot open from the meeting before the chair records
    conf = pages.new()
    ui_login(conf, "confidential")
    conf.goto(f"{pages.base}/#/meeting/{mid}")
    conf.get_by_role("link", name="食堂承包续约 · 举手表决").click()
    expect(conf.locator('#record-form fieldset[data-person="demo-member1"]')).to_be_visible()

    # a member present is told the chair records the vote: no vote form of their own (V2)
    member = pages.new()
    ui_login(member, "member1")
    member.goto(f"{pages.base}/#/ballot/{bid}")
    expect(member.locator("#recorded-by-chair")).to_contain_text("举手表决")
    expect(member.locator("#vote-form")).to_have_count(0)
    expect(member.locator("#record-form")).to_have_count(0)

    # the chair records five members' votes, leaving the others at "not recorded"
    page = pages.new()
    ui_login(page, "secretary")
    page.goto(f"{pages.base}/#/ballot/{bid}")
    form = page.locator("#record-form")
    for pid in ["demo-secretary", "demo-deputy", "demo-member1", "demo-member2", "demo-member3"]:
        form.locator(f'fieldset[data-person="{pid}"]').get_by_label("同意", exact=True).check()
    form.locator('fieldset[data-person="demo-member5"]').get_by_label("不同意", exact=True).check()
    expect(form.locator('fieldset[data-person="demo-member4"]').get_by_label("未录入")).to_be_checked()
    form.get_by_role("button", name="录入所选成员的表决").click()
    expect(page.locator("#ballot-progress")).to_have_text("已投 6 票 / 实到 7 人 / 应到 9 人")
    expect(page.locator("#recorded-list")).to_contain_text("党组成员一")
    expect(page.locator('#record-form fieldset[data-person="demo-member1"]')).to_have_count(0)
    # once votes are in, the counts alone can no longer be recorded (V2)
    expect(page.locator("#counts-form")).to_have_count(0)

    # on the confidential secretary's page, opened before, a member the chair recorded meanwhile
    # is refused by name (never by identifier), and nothing is recorded (V1)
    cform = conf.locator("#record-form")
    cform.locator('fieldset[data-person="demo-member1"]').get_by_label("弃权").check()
    cform.locator('fieldset[data-person="demo-member4"]').get_by_label("弃权").check()
    cform.get_by_role("button", name="录入所选成员的表决").click()
    alert = conf.locator("#record-form [role=alert]")
    expect(alert).to_contain_text("V1")
    expect(alert.locator(".tag.field")).to_contain_text("党组成员一")
    expect(alert).not_to_contain_text("demo-member1")
    # read again, the page offers only who is left, from the server's roll (any device)
    conf.reload()
    expect(conf.locator('#record-form fieldset[data-person="demo-member1"]')).to_have_count(0)
    expect(conf.locator("#recorded-list")).to_contain_text("党组成员一")
    expect(conf.locator("#ballot-progress")).to_have_text("已投 6 票 / 实到 7 人 / 应到 9 人")
    cform.locator('fieldset[data-person="demo-member4"]').get_by_label("弃权").check()
    cform.get_by_role("button", name="录入所选成员的表决").click()
    expect(conf.locator("#ballot-progress")).to_have_text("已投 7 票 / 实到 7 人 / 应到 9 人")

    # the chair closes: the decision shows each member's recorded stance
    page.reload()
    page.get_by_role("button", name="结束表决并计票").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#outcome")).to_have_attribute("data-outcome", "passed")
    row = page.locator("tr", has_text="党组成员四")
    expect(row.locator("td[data-col=stance]")).to_have_text("弃权")
    expect(page.locator("tr", has_text="党组成员五").locator("td[data-col=stance]")).to_have_text("不同意")

    # V2: on the next item the chair records only the counts, after being asked; they stand
    counted = ok(sec.post("/api/v1/ballots", json={"meeting_id": mid, "topic_id": counted_tid,
                                                   "method": "show_of_hands"}))
    page.goto(f"{pages.base}/#/ballot/{counted['ballot_id']}")
    counts = page.locator("#counts-form")
    counts.get_by_label("同意", exact=True).fill("5")
    counts.get_by_label("不同意", exact=True).fill("1")
    counts.get_by_label("弃权", exact=True).fill("1")
    counts.get_by_role("button", name="录入票数").click()
    expect(page.locator("#confirm-text")).to_contain_text("同意 5、不同意 1、弃权 1")
    page.locator("#confirm-ok").click()
    expect(page.locator("#counts-recorded")).to_be_visible()
    expect(page.locator("#record-form")).to_have_count(0)
    assert_readable(page)
    page.get_by_role("button", name="结束表决并计票").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#outcome")).to_have_attribute("data-outcome", "passed")
    decided = ok(sec.get(f"/api/v1/ballots/{counted['ballot_id']}"))
    assert ok(sec.get(f"/api/v1/decisions/{decided['decision_id']}"))["yes"] == 5
    ok(sec.post(f"/api/v1/meetings/{mid}/close"))


# ---------------------------------------------------------------- C6 duties

def test_reports_owed_are_created_and_filed_by_those_allowed(pages):
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    due = (today + dt.timedelta(days=47)).date().isoformat()
    year = str(today.year)          # the form's default year

    office = pages.new()
    ui_login(office, "office")
    nav(office).get_by_role("link", name="报告义务").click()
    form = office.locator("#create-duty-form")
    form.get_by_label("报告类型").select_option(label="成员述职考核")
    form.get_by_label("报告人").select_option(label="党组成员一（党组成员）")
    form.get_by_label("截止日期").fill(due)
    form.get_by_role("button", name="新建", exact=True).click()
    expect(office.locator("#duty-status-message")).to_contain_text(f"已新建成员述职考核，{due} 截止。")
    row = office.locator("tr", has_text=due).filter(has_text="党组成员一")
    expect(row.locator("td[data-col=status]")).to_have_text("待报送")
    # a group report names no person: the person field is hidden with it
    form.get_by_label("报告类型").select_option(label="年度综合报告")
    expect(office.locator("#create-duty-form select[name=person_id]")).to_be_hidden()

    # a discipline inspector reads the list but is offered neither form
    inspector = pages.new()
    ui_login(inspector, "discipline")
    nav(inspector).get_by_role("link", name="报告义务").click()
    expect(inspector.locator("tr", has_text=due).filter(has_text="党组成员一")).to_be_visible()
    expect(inspector.locator("#create-duty-form, #file-duty-form")).to_have_count(0)

    # the member files their own assessment
    member = pages.new()
    ui_login(member, "member1")
    nav(member).get_by_role("link", name="报告义务").click()
    expect(member.locator("#create-duty-form")).to_have_count(0)
    fform = member.locator("#file-duty-form")
    fform.get_by_label("报告", exact=True).select_option(label=f"成员述职考核 · 党组成员一 · {year} · {due} 截止")
    fform.get_by_label("文件编号或档案索引").fill("〔2027〕述职 1 号")
    fform.get_by_role("button", name="报送", exact=True).click()
    expect(member.locator("#duty-status-message")).to_have_text("成员述职考核已报送。")
    row = member.locator("tr", has_text=due).filter(has_text="党组成员一")
    expect(row.locator("td[data-col=status]")).to_have_text("已报送")
    expect(row.locator("td[data-col=filed]")).to_contain_text("由党组成员一报送：〔2027〕述职 1 号")
    # filtered by status, it is among the filed ones
    member.get_by_label("按状态筛选").select_option(label="已报送")
    member.get_by_role("button", name="筛选").click()
    expect(member.locator("tr", has_text=due).filter(has_text="党组成员一")).to_be_visible()
    assert_readable(member)


# ---------------------------------------------------------------- A1 corrections, A3 read log

def test_a_record_is_corrected_shows_its_versions_and_its_reads_are_logged(pages):
    _, decision_id = passed_decision(pages.base, "党组紧急会议（档案更正）", "档案室设备采购", close_meeting=True)
    sec, _ = login(pages.base, "secretary")
    wait_for(lambda: sec.get(f"/api/v1/decisions/{decision_id}/record").status_code == 200, "the decision's record")

    # a member reads the record but is offered no correction (A1: correctors only)
    member = pages.new()
    ui_login(member, "member4")
    member.goto(f"{pages.base}/#/decision/{decision_id}")
    member.locator("#archive-record-link").click()
    expect(member.locator("#record-content")).to_contain_text("档案室设备采购")
    expect(member.locator("#correction-form")).to_have_count(0)
    expect(member.locator("#read-log-link")).to_have_count(0)
    record_url = member.url

    # the confidential secretary corrects the title, classifies it confidential, and confirms
    conf = pages.new()
    ui_login(conf, "confidential")
    conf.goto(record_url)
    form = conf.locator("#correction-form")
    form.get_by_label("标题", exact=True).fill("档案室设备采购（更正）")
    form.get_by_label("密级").select_option(label="机密")
    form.get_by_label("更正理由").fill("议题名称笔误")
    form.get_by_role("button", name="提交更正").click()
    expect(conf.locator("#confirm-text")).to_contain_text("不能撤回")
    conf.locator("#confirm-ok").click()

    # the corrected record: the new content, its reason, both versions; the old one stays
    expect(conf.locator("h1")).to_contain_text("档案室设备采购（更正）")
    expect(conf.locator("#record-classification")).to_have_text("机密")
    expect(conf.locator("#record-reason")).to_have_text("议题名称笔误")
    versions = conf.locator("#versions tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0).locator("td[data-col=reason]")).to_have_text("原始版本")
    expect(versions.nth(1).locator("td[data-col=reason]")).to_have_text("议题名称笔误")
    expect(versions.nth(1).locator("td[data-col=by]")).to_have_text("陈秘书")
    versions.nth(0).get_by_role("link").click()
    expect(conf.locator("#not-latest")).to_be_visible()
    expect(conf.locator("#record-content")).to_contain_text("档案室设备采购")
    expect(conf.locator("#correction-form")).to_have_count(0)      # A1: only the latest version is corrected
    conf.locator("#latest-link").click()
    expect(conf.locator("#correction-form")).to_be_visible()
    assert_readable(conf)

    # a member may not read the confidential version (A3): refused, and the attempt is logged
    member.goto(conf.url)
    expect(member.locator("[role=alert]")).to_contain_text("A3")

    # the secretary opens the read log from the archive: who read it, granted or refused
    page = pages.new()
    ui_login(page, "secretary")
    nav(page).get_by_role("link", name="档案").click()
    page.locator("#read-log-link").click()
    expect(page.locator("h1")).to_have_text("机密档案查阅记录")
    refused = page.locator("tbody tr", has_text="党组成员四").first
    expect(refused.locator("td[data-col=granted]")).to_have_text("拒绝")
    expect(refused.locator("td[data-col=action]")).to_have_text("查看记录")
    granted = page.locator("tbody tr", has_text="陈秘书").filter(has_text="更正记录").first
    expect(granted.locator("td[data-col=granted]")).to_have_text("准予")
    assert_readable(page)


# ---------------------------------------------------------------- N2 preferences (in English)

def test_a_member_sets_their_channels_language_and_address_in_english(pages):
    page = pages.new()
    english(page)
    ui_login(page, "member2", "en")
    nav(page).get_by_role("link", name="My preferences").click()
    expect(page.locator("h1")).to_have_text("My preferences")
    page.get_by_label("E-mail address").fill("member2@example.org")
    page.get_by_role("button", name="Save the address").click()
    expect(page.locator("#preferences-status")).to_have_text("E-mail address saved.")
    expect(page.get_by_label("E-mail address")).to_have_value("member2@example.org")

    page.get_by_label("E-mail", exact=True).uncheck()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator("#preferences-status")).to_have_text("Preferences saved.")
    expect(page.get_by_label("E-mail", exact=True)).not_to_be_checked()
    expect(page.get_by_label("Inbox")).to_be_checked()

    # the language of notices: English for the notices, then Chinese, which switches the interface too
    page.get_by_label("Language of notices").select_option("en")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator("#preferences-form")).to_have_attribute("data-language", "en")   # drawn again, saved
    expect(page.locator("#preferences-status")).to_have_text("Preferences saved.")
    expect(page.get_by_label("Language of notices")).to_have_value("en")
    page.get_by_label("Language of notices").select_option("zh-CN")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("我的设置")
    expect(page.locator("#preferences-status")).to_have_text("设置已保存。")
    expect(page.get_by_label("通知语言")).to_have_value("zh-CN")

    member, _ = login(pages.base, "member2")
    prefs = ok(member.get("/api/v1/me/preferences"))
    assert prefs["email"] == "member2@example.org"
    assert prefs["channels"] == {"email": False, "inbox": True}
    assert prefs["language"] == "zh-CN"
    # set back for other tests of the session
    ok(member.put("/api/v1/me/preferences", json={"channels": {"email": True}}))


# ---------------------------------------------------------------- V5 voting policy (in English)

def test_the_secretary_changes_the_disagreement_threshold_in_english(pages):
    sec, _ = login(pages.base, "secretary")
    before = ok(sec.get("/api/v1/voting-policy"))["disagreement_ratio"]
    member = pages.new()
    english(member)
    ui_login(member, "member3", "en")
    expect(nav(member).get_by_role("link", name="Voting policy")).to_have_count(0)
    try:
        page = pages.new()
        english(page)
        ui_login(page, "secretary", "en")
        nav(page).get_by_role("link", name="Voting policy").click()
        expect(page.locator("#policy-ratio")).to_have_attribute("data-ratio", before)
        page.get_by_label("Numerator").fill("2")
        page.get_by_label("Denominator").fill("5")
        page.get_by_role("button", name="Save the share").click()
        expect(page.locator("#policy-status")).to_have_text("Serious disagreement now at 2/5.")
        expect(page.locator("#policy-ratio")).to_have_text("2/5")
        expect(page.locator("#policy-updated")).to_contain_text("by 张书记")
        # a share above one is refused by the server, naming the field and the rule
        page.get_by_label("Numerator").fill("6")
        page.get_by_role("button", name="Save the share").click()
        alert = page.locator("#policy-form [role=alert]")
        expect(alert).to_contain_text("V5")
        expect(page.locator("#policy-ratio")).to_have_text("2/5")
        assert ok(sec.get("/api/v1/voting-policy"))["disagreement_ratio"] == "2/5"
        assert_readable(page)
    finally:
        ok(sec.put("/api/v1/voting-policy", json={"disagreement_ratio": before}))


# ---------------------------------------------------------------- search (issue 19)

def test_a_member_finds_a_meeting_and_its_decision_by_a_word_of_the_title(pages):
    mid, decision_id = passed_decision(pages.base, "党组紧急会议（防汛检索）", "防汛检索物资调配")
    page = pages.new()
    ui_login(page, "member2")
    nav(page).get_by_role("link", name="搜索").click()
    page.get_by_label("标题中含有").fill("防汛检索")
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.locator("#search-summary")).to_have_text("标题含“防汛检索”的共 3 条。")
    expect(page.locator("#search-meetings td[data-col=kind]")).to_have_text("紧急会议")
    expect(page.locator("#search-topics td[data-col=category]")).to_contain_text("工作")
    expect(page.locator("#search-decisions td[data-col=outcome]")).to_have_text("通过")
    assert_readable(page)
    page.locator("#search-decisions").get_by_role("link", name="防汛检索物资调配").click()
    expect(page).to_have_url(f"{pages.base}/#/decision/{decision_id}")
    # the address keeps the search: back, the same results; a word nobody wrote finds nothing
    page.go_back()
    expect(page.locator("#search-meetings").get_by_role("link", name="党组紧急会议（防汛检索）")).to_have_attribute(
        "href", f"#/meeting/{mid}")
    page.get_by_label("标题中含有").fill("无此标题的文字")
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.locator("#search-summary")).to_have_text("没有标题含“无此标题的文字”的会议、议题或决定。")


def test_a_member_downloads_the_meeting_calendar_for_a_calendar_program(pages):
    """Issue 19: the meetings as iCalendar, each with its UID, its UTC start and its status."""
    mid, _decision_id = passed_decision(pages.base, "党组紧急会议（日历导出）", "日历导出样例")
    page = pages.new()
    ui_login(page, "member3")
    nav(page).get_by_role("link", name="会议").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="下载日历（iCal）").click()
    assert info.value.suggested_filename == "meetings.ics"
    text = open(info.value.path(), encoding="utf-8", newline="").read()      # CRLF lines, as RFC 5545 has them
    unfolded = text.replace("\r\n ", "")
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith("END:VCALENDAR\r\n")
    event = unfolded.split(f"UID:{mid}@party-group\r\n")[1].split("END:VEVENT")[0]
    assert "SUMMARY:党组紧急会议（日历导出）\r\n" in event and "STATUS:CONFIRMED" in event
    assert "CATEGORIES:党组紧急会议" in event and "DTSTART:" in event
