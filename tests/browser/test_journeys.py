"""Staff journeys in a real headless Chromium against the real suite: a decision from
meeting to lifetime record in Chinese and in English, keyboard-only log-in, and an API
rule violation (M8) shown with its rule."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import reload_until, ui_login

pytestmark = pytest.mark.browser

PRESENT = ["demo-secretary", "demo-deputy", "demo-member1", "demo-member2", "demo-member3", "demo-member4",
           "demo-member5"]
RESERVED = "资金来源需进一步论证"
GREEN = "rgb(31, 122, 58)"


def create_and_open_meeting(sec, title, topic, texts):
    """As the chair in the UI: emergency meeting, one topic, notice, open with 7 present and member6 on leave."""
    sec.get_by_label(texts["kind"]).select_option("emergency")
    sec.get_by_label(texts["title"]).fill(title)
    sec.get_by_label(texts["reason"]).fill("防汛险情，须当日部署")       # M6: the emergency is recorded
    sec.get_by_role("button", name=texts["create"]).click()
    expect(sec.locator("#meeting-status")).to_have_attribute("data-status", "draft")
    sec.get_by_label(texts["topic"]).fill(topic)
    sec.get_by_label(texts["category"]).select_option("work_plan")
    sec.locator("#add-topic button[type=submit]").click()
    expect(sec.locator("ol.topics")).to_contain_text(topic)
    sec.get_by_role("button", name=texts["notice"]).click()
    expect(sec.locator("#meeting-status")).to_have_attribute("data-status", "noticed")

    quorum = sec.locator("#quorum")
    for pid in PRESENT[:5]:
        sec.locator(f'.attendance-row[data-person="{pid}"] input[name=present]').check()
    expect(quorum).to_have_text(re.compile(re.escape(texts["quorum"].format(5))))
    expect(quorum).to_have_attribute("data-met", "false")
    for pid in PRESENT[5:]:
        sec.locator(f'.attendance-row[data-person="{pid}"] input[name=present]').check()
    expect(quorum).to_have_text(re.compile(re.escape(texts["quorum"].format(7))))
    expect(quorum).to_have_attribute("data-met", "true")
    expect(quorum).to_have_css("color", GREEN)
    sec.locator('.attendance-row[data-person="demo-member6"] input[name=leave]').check()
    sec.locator('textarea[name="opinion-demo-member6"]').fill("同意，建议加强督办")
    return quorum


def vote(pages, username, ballot_id, choice, reserved=None, via="link", lang="zh-CN"):
    page = pages.new()
    if lang == "en":
        page.get_by_role("button", name="English").click()
    ui_login(page, username, lang)
    if via == "inbox":            # the ballot_opened notification on the member's home page
        link = page.locator(f'#my-ballots a.ballot-link[href="#/ballot/{ballot_id}"]')
        reload_until(page, link)
        link.click()
    else:
        page.goto(f"{pages.base}/#/ballot/{ballot_id}")
    expect(page.locator("#ballot-facts")).to_have_attribute("data-ballot", ballot_id)
    page.locator(f"#vote-form input[name=choice][value={choice}]").check()
    if reserved:
        page.locator("#vote-form textarea[name=reserved_opinion]").fill(reserved)
    page.locator("#cast-vote").click()
    expect(page.locator("#vote-recorded")).to_be_visible()
    return page


ZH = {"kind": "会议类型", "title": "会议名称", "create": "创建会议", "topic": "议题名称", "category": "议题类别",
      "notice": "发出会议通知", "quorum": "出席 {} / 应到 9，法定人数 6", "open": "宣布开会",
      "ballot": "对此议题发起表决", "reason": "紧急事由"}
EN = {"kind": "Kind", "title": "Title", "create": "Create meeting", "topic": "Topic title", "category": "Category",
      "notice": "Issue the notice", "quorum": "Present {} / members 9, quorum 6", "open": "Open the meeting",
      "ballot": "Open a ballot on this topic", "reason": "Reason for the emergency"}


def test_a_decision_from_meeting_to_lifetime_record_in_chinese(pages, screenshots):
    sec = pages.new()
    expect(sec.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(sec.get_by_role("heading", name="登录")).to_be_visible()
    screenshots(sec, "01-login-zh")
    ui_login(sec, "secretary")
    expect(sec.locator(".welcome")).to_contain_text("张书记")
    expect(sec.locator(".error")).to_have_count(0)
    screenshots(sec, "02-home-secretary-zh")

    title = "党组紧急会议（浏览器）"
    topic = "2027年度工作计划"
    create_and_open_meeting(sec, title, topic, ZH)
    expect(sec.locator("#quorum")).to_have_text("出席 7 / 应到 9，法定人数 6 — 已达到法定人数")
    screenshots(sec, "03-meeting-quorum-met-zh")
    sec.get_by_role("button", name=ZH["open"]).click()
    expect(sec.locator("#meeting-status")).to_have_attribute("data-status", "opened")
    sec.get_by_label("表决方式").select_option("named")
    sec.get_by_role("button", name=ZH["ballot"]).click()
    expect(sec.locator("#ballot-status")).to_have_attribute("data-status", "open")
    ballot_id = sec.locator("#ballot-facts").get_attribute("data-ballot")
    expect(sec.locator("#ballot-progress")).to_have_text("已投 0 票 / 实到 7 人 / 应到 9 人")

    # five members vote, each in a browser context of their own
    vote(pages, "member1", ballot_id, "yes", via="inbox")
    for user in ("deputy", "member2", "member3"):
        vote(pages, user, ballot_id, "yes")
    m4 = vote(pages, "member4", ballot_id, "no", reserved=RESERVED, via="inbox")
    screenshots(m4, "04-ballot-voted-zh")

    # the chair closes: 4 yes of N = 9 would fail (V3); the secretary's own vote makes 5
    sec.reload()
    expect(sec.locator("#ballot-progress")).to_have_text("已投 5 票 / 实到 7 人 / 应到 9 人")
    sec.locator("#vote-form input[value=yes]").check()
    sec.get_by_role("button", name="提交投票").click()
    expect(sec.locator("#vote-recorded")).to_have_text("您的投票已记录。")
    screenshots(sec, "05-ballot-chair-zh")
    sec.get_by_role("button", name="结束表决并计票").click()
    expect(sec.locator("#confirm-dialog")).to_contain_text("已投 6 票 / 实到 7 人")   # V9: asked first
    sec.locator("#confirm-ok").click()

    expect(sec.locator("#outcome")).to_have_text("通过")
    chart = sec.locator("svg#tally-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar-yes")).to_have_attribute("data-value", "5")
    expect(chart.locator("rect.bar-no")).to_have_attribute("data-value", "1")
    expect(chart.locator("rect.bar-abstain")).to_have_attribute("data-value", "0")
    line = chart.locator("line#threshold-line")
    expect(line).to_have_attribute("data-threshold", "5")
    # the threshold line sits exactly at the yes bar's end: 5 of 9 is just enough
    bar_end = chart.locator("rect.bar-yes").evaluate("r => r.x.baseVal.value + r.width.baseVal.value")
    assert abs(float(line.get_attribute("x1")) - bar_end) < 0.5
    expect(chart).to_contain_text("通过线 5")
    expect(sec.locator("#explanation")).to_contain_text("同意 5 票，应到会党组成员 9 人")
    expect(sec.locator("table")).to_contain_text(RESERVED)
    screenshots(sec, "06-decision-zh")

    sec.locator("#responsibility-link").click()
    row = sec.locator("tr", has_text="党组成员四")
    expect(row).to_contain_text("不同意")
    expect(row).to_contain_text(RESERVED)
    expect(sec.locator("tr", has_text="党组成员六")).to_contain_text("同意，建议加强督办")
    screenshots(sec, "07-responsibility-zh")

    sec.get_by_role("link", name="决策时间线").click()
    archived = sec.locator('#timeline li[data-step="archive"][data-done="true"]')
    reload_until(sec, archived)
    for step in ("topic", "notice", "meeting", "ballot", "archive", "accountability"):
        expect(sec.locator(f'#timeline li[data-step="{step}"]')).to_have_attribute("data-done", "true")
    expect(sec.locator("#timeline")).to_contain_text("同意 5 / 不同意 1 / 弃权 0，通过")
    # A1: every record of the meeting the archive holds, by kind in Chinese, in chain order
    trail = sec.locator("#timeline-records")
    for kind in ("notice", "meeting_opened", "decision"):
        expect(trail.locator(f'li[data-kind="{kind}"]').first).to_be_visible()
    expect(trail.locator('li[data-kind="notice"]').first).to_contain_text("会议通知")
    expect(trail.locator('li[data-kind="meeting_opened"]').first).to_contain_text("会议开始")
    expect(trail.locator('li[data-kind="decision"]').first).to_contain_text("永久")
    screenshots(sec, "08-timeline-zh")

    sec.get_by_role("link", name="档案").click()
    expect(sec.locator("#verify-status")).to_have_attribute("data-ok", "true")
    expect(sec.locator("#verify-status")).to_contain_text("哈希链校验通过")
    expect(sec.locator("table tbody tr").first).to_be_visible()    # (the oldest records first: others' too)
    # the archive by kind: only decisions, classification and retention in Chinese
    sec.get_by_label("按类型筛选").select_option("decision")
    sec.get_by_role("button", name="筛选").click()
    rows = sec.locator("table tbody tr")
    expect(rows.filter(has_text=topic).first).to_be_visible()     # other tests' decisions come first
    kinds = rows.locator("td[data-col=kind]").all_inner_texts()
    assert kinds and set(kinds) == {"决定"}, kinds
    assert set(rows.locator("td[data-col=classification]").all_inner_texts()) <= {"公开", "内部", "机密"}
    assert set(rows.locator("td[data-col=retention]").all_inner_texts()) == {"永久"}
    screenshots(sec, "09-archive-zh")

    # the member's lifetime record shows the decision with their stance; CSV export keeps Chinese
    m4.get_by_role("link", name="我的履职记录").click()
    mine = m4.locator("tr", has_text=topic)
    reload_until(m4, mine)
    expect(mine).to_contain_text("不同意")
    expect(mine).to_contain_text("通过")
    expect(mine).to_contain_text(RESERVED)
    with m4.expect_download() as info:
        m4.get_by_role("button", name="导出 CSV").click()
    data = open(info.value.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("决定时间,标题,类别,结果") and topic in text and RESERVED in text
    screenshots(m4, "10-lifetime-record-zh")

    # the inbox: unread count, mark one read
    m4.get_by_role("link", name="通知").click()
    unread = int(m4.locator("#unread-count").inner_text())
    assert unread >= 2
    m4.locator("button.mark-read").first.click()
    expect(m4.locator("#unread-count")).to_have_text(str(unread - 1))
    screenshots(m4, "11-inbox-zh")


def test_the_same_decision_in_english(pages, screenshots):
    sec = pages.new()
    sec.get_by_role("button", name="English").click()
    expect(sec.locator("html")).to_have_attribute("lang", "en")
    expect(sec.get_by_role("heading", name="Log in")).to_be_visible()
    ui_login(sec, "secretary", "en")
    sec.reload()                              # the choice is kept
    expect(sec.locator("html")).to_have_attribute("lang", "en")
    expect(sec.get_by_role("navigation")).to_contain_text("Inbox")
    expect(sec.get_by_role("button", name="中文")).to_be_visible()

    topic = "Office building renovation fund"
    create_and_open_meeting(sec, "Emergency meeting (browser)", topic, EN)
    expect(sec.locator("#quorum")).to_have_text("Present 7 / members 9, quorum 6 — quorum met")
    screenshots(sec, "12-meeting-quorum-met-en")
    sec.get_by_role("button", name=EN["open"]).click()
    expect(sec.locator("#meeting-status")).to_have_text("In session")
    sec.get_by_role("button", name=EN["ballot"]).click()
    ballot_id = sec.locator("#ballot-facts").get_attribute("data-ballot")

    vote(pages, "member1", ballot_id, "yes", via="inbox", lang="en")
    for user, choice in (("deputy", "yes"), ("member2", "yes"), ("member3", "abstain")):
        vote(pages, user, ballot_id, choice)
    m4 = vote(pages, "member4", ballot_id, "yes", via="inbox", lang="en")
    expect(m4.locator("#vote-recorded")).to_have_text("Your vote is recorded.")
    screenshots(m4, "13-ballot-voted-en")

    sec.reload()
    sec.locator("#vote-form input[value=yes]").check()
    sec.get_by_role("button", name="Cast vote").click()
    expect(sec.locator("#vote-recorded")).to_be_visible()
    sec.get_by_role("button", name="Close the ballot and count").click()
    sec.locator("#confirm-ok").click()
    expect(sec.locator("#outcome")).to_have_text("Passed")
    expect(sec.locator("svg#tally-chart")).to_contain_text("threshold 5")
    expect(sec.locator("#explanation")).to_contain_text("5 yes of N = 9 group members")
    expect(sec.locator("table")).to_contain_text("Abstain")
    screenshots(sec, "14-decision-en")

    m4.get_by_role("link", name="My record").click()
    mine = m4.locator("tr", has_text=topic)
    reload_until(m4, mine)
    expect(mine).to_contain_text("Passed")
    expect(mine).to_contain_text("Yes")
    screenshots(m4, "15-lifetime-record-en")


def test_log_in_with_the_keyboard_only(pages, screenshots):
    page = pages.new()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip-link"
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "username":
            break
    else:
        raise AssertionError("the username field is not reachable with Tab")
    # the focus is visible: a 3px outline on the focused field
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle + ' ' + "
                            "getComputedStyle(document.activeElement).outlineWidth")
    assert outline == "solid 3px", outline
    page.keyboard.type("member7")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type("demo-password-2026")
    screenshots(page, "16-keyboard-login")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="首页")).to_be_visible()
    expect(page.locator(".welcome")).to_contain_text("党组成员七")


def test_an_api_rule_violation_is_shown_with_its_rule(pages, screenshots):
    sec = pages.new()
    ui_login(sec, "secretary")
    sec.get_by_label("会议类型").select_option("emergency")
    sec.get_by_label("会议名称").fill("法定人数不足的会议")
    sec.get_by_label("紧急事由").fill("突发公共事件")
    sec.get_by_role("button", name="创建会议").click()
    sec.get_by_label("议题名称").fill("意识形态工作")
    sec.locator("#add-topic button[type=submit]").click()
    expect(sec.locator("ol.topics")).to_contain_text("意识形态工作")
    sec.get_by_role("button", name="发出会议通知").click()
    # the notice re-draws the page: tick attendance only on the page drawn after it
    expect(sec.locator("#meeting-status")).to_have_attribute("data-status", "noticed")
    for pid in PRESENT[:2]:
        sec.locator(f'.attendance-row[data-person="{pid}"] input[name=present]').check()
    expect(sec.locator("#quorum")).to_have_text("出席 2 / 应到 9，法定人数 6 — 未达到法定人数")
    expect(sec.locator("#quorum")).to_have_css("color", "rgb(179, 38, 30)")
    sec.get_by_role("button", name="宣布开会").click()
    alert = sec.locator("#open-errors [role=alert]")
    expect(alert).to_be_visible()
    expect(alert.locator(".tag.rule")).to_have_text("规则 M8 · 法定人数")
    # the field, the kind of error and the rule in Chinese; the server's English text folded away
    expect(alert.locator(".tag.field")).to_have_text("字段 出席人员")
    expect(alert.locator(".message")).to_have_text("不符合党组工作规则")
    expect(alert.locator("details.server-text [lang=en]")).to_contain_text("quorum not reached")
    expect(alert.locator("details.server-text [lang=en]")).to_be_hidden()
    expect(sec.locator("#meeting-status")).to_have_attribute("data-status", "noticed")   # nothing changed
    screenshots(sec, "17-error-m8-zh")

    # a bad log-in is an error too, announced and naming its rule
    other = pages.new()
    other.get_by_label("用户名").fill("secretary")
    other.get_by_label("密码").fill("wrong-password")
    other.get_by_role("button", name="登录", exact=True).click()
    expect(other.locator("[role=alert]")).to_contain_text("规则 AUTH")
