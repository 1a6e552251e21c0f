"""Staff journeys beyond the ballot, in a real headless Chromium against the real suite:
a discipline inspector opens a case on a decision (C4) in Chinese and in English, a member
asks leave with a written opinion and the chair decides (M9), the confidential secretary
records the minutes (M10), the office follows an implementation task by its status colour
(C5), and the dashboard's figures."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.support import meeting_ahead, ok, passed_decision, reload_until, ui_login
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser

YELLOW_BG = "rgb(242, 194, 0)"
GREEN_BG = "rgb(31, 122, 58)"


def local_date(days=0):
    """A date in the demo organization's zone (the zone C5 counts deadlines in)."""
    return (dt.datetime.now(ZoneInfo("Asia/Shanghai")) + dt.timedelta(days=days)).date().isoformat()


def english(page):
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def nav(page):
    return page.get_by_role("navigation")


CASE_TEXT = {
    "zh-CN": {"cases": "问责案件", "open": "对此决策立案", "trigger": "问责情形（§五(二)）", "summary": "案情摘要",
              "major": "认定为重大决策失误（按 C3 提出每名成员的责任）", "submit": "立案", "status": "办理中",
              "trigger_text": "2. 决策失误造成重大损失", "responsible": "承担责任", "timeline": "决策时间线",
              "case_step": "问责", "csv_head": "立案时间,问责情形（§五(二)）,对象,案情摘要,状态"},
    "en": {"cases": "Cases", "open": "Open a case on this decision", "trigger": "Trigger (§5.2)", "summary": "Summary",
           "major": "Judged a major decision error (each member's responsibility proposed by C3)",
           "submit": "Open the case", "status": "Open", "trigger_text": "2. Decision error with serious loss",
           "responsible": "Responsible", "timeline": "Timeline", "case_step": "Accountability case",
           "csv_head": "Opened,Trigger (§5.2),Subject,Summary,Status"},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_discipline_inspector_opens_a_case_on_a_decision(pages, screenshots, lang):
    texts = CASE_TEXT[lang]
    topic = {"zh-CN": "办公用房改造资金使用", "en": "Use of the office refit fund"}[lang]
    _, decision_id = passed_decision(pages.base, f"紧急会议 {lang}", topic)
    summary = {"zh-CN": "改造资金超出预算，决策程序存疑", "en": "The refit overran its budget; the procedure is in doubt"}[lang]

    page = pages.new()
    if lang == "en":
        english(page)
    ui_login(page, "discipline", lang)
    # the inspector's navigation: cases and alerts, no meeting chair's tools
    expect(nav(page).get_by_role("link", name=texts["cases"])).to_be_visible()
    expect(page.locator("#create-meeting")).to_have_count(0)

    # the decision (as linked from an alert or the archive), and a case opened on it
    page.goto(f"{pages.base}/#/decision/{decision_id}")
    expect(page.locator("#outcome")).to_have_attribute("data-outcome", "passed")
    page.get_by_role("link", name=texts["open"]).click()
    expect(page.locator("#open-case select[name=decision_id]")).to_have_value(decision_id)
    page.get_by_label(texts["trigger"]).select_option("2")
    page.get_by_label(texts["summary"]).fill(summary)
    page.get_by_label(texts["major"]).check()
    screenshots(page, f"20-case-form-{lang}")
    page.get_by_role("button", name=texts["submit"], exact=True).click()

    # the case: open, its trigger, each member's proposed responsibility under C3 (5 voted yes)
    expect(page.locator("#case-status")).to_have_attribute("data-status", "open")
    expect(page.locator("#case-status")).to_have_text(texts["status"])
    expect(page.locator("#case-trigger")).to_have_text(texts["trigger_text"])
    expect(page.locator("#case-subject")).to_have_text(topic)
    expect(page.locator("#case-summary")).to_have_text(summary)
    secretary_row = page.locator("tr", has_text="张书记")
    expect(secretary_row).to_contain_text(texts["responsible"])
    expect(secretary_row).to_contain_text("C3")
    screenshots(page, f"21-case-detail-{lang}")

    # listed among the cases, exported with its columns
    nav(page).get_by_role("link", name=texts["cases"]).click()
    row = page.locator("tr", has_text=summary)
    expect(row).to_contain_text(topic)
    expect(row).to_contain_text(texts["status"])
    with page.expect_download() as info:
        page.locator(".table-block", has=page.locator("caption", has_text=texts["cases"])).get_by_role(
            "button", name="导出 CSV" if lang == "zh-CN" else "Export CSV").click()
    csv = open(info.value.path(), encoding="utf-8-sig").read()
    assert csv.splitlines()[0] == texts["csv_head"] and summary in csv, csv[:300]

    # the decision's timeline now shows the case
    row.get_by_role("link", name=topic).click()
    page.locator("#case-timeline-link").click()
    step = page.locator('#timeline li[data-step="case"]')
    expect(step).to_have_attribute("data-done", "true")
    expect(step).to_contain_text(texts["case_step"])
    expect(step).to_contain_text(texts["trigger_text"])
    expect(step.get_by_role("link")).to_contain_text(summary)
    screenshots(page, f"22-case-timeline-{lang}")

    if lang == "zh-CN":       # C4: the inspector concludes with an outcome per person
        step.get_by_role("link").click()
        page.get_by_label("处理结果 · 张书记").select_option("admonishment_talk")
        page.get_by_label("办结意见").fill("经调查，决策程序基本合规，予以诫勉谈话")
        page.get_by_role("button", name="办结", exact=True).click()
        expect(page.locator("#case-status")).to_have_attribute("data-status", "concluded")
        expect(page.locator("tr", has_text="张书记")).to_contain_text("诫勉谈话")
        screenshots(page, "23-case-concluded-zh")


def test_a_member_asks_for_leave_and_the_chair_decides(pages, screenshots):
    title, topic = "党组例会（请假）", "2027年预算安排"
    meeting_id, _ = meeting_ahead(pages.base, title, topic)
    opinion = "同意预算安排，建议压减会议费"

    # a member, on a tablet: the meeting from the calendar, leave with a written opinion (M9)
    member = pages.new(width=768, height=1024)
    ui_login(member, "member6")
    expect(nav(member).get_by_role("link", name="问责案件")).to_have_count(0)     # not for a member
    nav(member).get_by_role("link", name="会议").click()
    member.locator("tr", has_text=title).get_by_role("link", name=f"请假与异议: {title}").click()
    member.get_by_label("请假事由").fill("赴外地调研")
    member.get_by_label(f"对议题“{topic}”的书面意见").fill(opinion)
    member.get_by_role("button", name="提交请假申请").click()
    expect(member.locator("#leave-status")).to_have_text("请假申请已提交，等待会议主持人审批。")
    mine = member.locator("tr", has_text="党组成员六")
    expect(mine).to_contain_text(opinion)
    expect(mine.locator(".leave-state")).to_have_attribute("data-status", "requested")
    expect(member.locator("#leave-form")).to_have_count(0)         # one request per meeting
    # an objection to the topic, 24 h ahead (M5)
    member.get_by_label("异议针对").select_option(label=topic)
    member.get_by_label("异议内容").fill("预算测算依据不足，建议补充材料")
    member.get_by_role("button", name="提交异议").click()
    expect(member.locator("#leave-status")).to_contain_text("异议已于")
    assert member.evaluate("document.documentElement.scrollWidth") <= 768     # readable at tablet width
    screenshots(member, "24-leave-requested-tablet-zh")

    # the chair sees it on the meeting's page and approves
    sec = pages.new()
    ui_login(sec, "secretary")
    sec.goto(f"{pages.base}/#/meeting/{meeting_id}")
    sec.locator("#leave-page-link").click()
    row = sec.locator("tr", has_text="党组成员六")
    expect(row).to_contain_text("赴外地调研")
    expect(row).to_contain_text(f"{topic}: {opinion}")
    sec.get_by_role("button", name="批准: 党组成员六", exact=True).click()
    expect(sec.locator("#leave-status")).to_have_text("已处理请假申请。")
    expect(sec.locator("tr", has_text="党组成员六").locator(".leave-state")).to_have_text("已批准")
    screenshots(sec, "25-leave-approved-zh")

    member.reload()
    expect(member.locator("tr", has_text="党组成员六").locator(".leave-state")).to_have_attribute("data-status", "approved")


def test_the_confidential_secretary_records_the_minutes(pages, screenshots):
    title, topic = "党组紧急会议（记录）", "防汛物资采购"
    meeting_id, _ = passed_decision(pages.base, title, topic)
    text = "会议由张书记主持，应到9人，实到7人。\n议题：防汛物资采购，同意5票，通过。"

    conf = pages.new()
    ui_login(conf, "confidential")
    nav(conf).get_by_role("link", name="会议").click()
    conf.get_by_role("link", name=f"会议记录: {title}").click()
    expect(conf.locator("#minutes-none")).to_have_text("尚未记录会议记录。")
    conf.get_by_label("会议记录正文").fill(text)
    conf.get_by_role("button", name="保存会议记录").click()
    expect(conf.locator("#minutes-status")).to_have_text("会议记录已保存（第 1 版）。")
    expect(conf.locator("#minutes-text")).to_have_text(text)
    expect(conf.locator("#minutes-approval")).to_have_attribute("data-approved", "false")
    conf.get_by_label("会议记录正文").fill(text + "\n散会。")
    conf.get_by_role("button", name="保存会议记录").click()
    expect(conf.locator("#minutes")).to_have_attribute("data-version", "2")
    expect(conf.locator("#minutes-version")).to_contain_text("第 2 版，")
    screenshots(conf, "26-minutes-recorded-zh")

    # the chair closes the meeting and approves: the minutes are final (M10)
    sec, _ = login(pages.base, "secretary")
    ok(sec.post(f"/api/v1/meetings/{meeting_id}/close"))
    chair = pages.new()
    ui_login(chair, "secretary")
    chair.goto(f"{pages.base}/#/meeting/{meeting_id}/minutes")
    chair.get_by_role("button", name="批准会议记录").click()
    expect(chair.locator("#minutes-approval")).to_have_attribute("data-approved", "true")
    expect(chair.locator("#meeting-status")).to_have_attribute("data-status", "minutes_approved")
    conf.reload()
    expect(conf.locator("#minutes-approval")).to_contain_text("不可再修改")
    expect(conf.locator("#minutes-form")).to_have_count(0)
    screenshots(chair, "27-minutes-approved-zh")


def test_the_office_follows_a_task_by_its_status_colour(pages, screenshots):
    topic = "老旧小区改造实施方案"
    _, decision_id = passed_decision(pages.base, "党组紧急会议（落实）", topic)

    office = pages.new()
    ui_login(office, "office")
    nav(office).get_by_role("link", name="决策落实").click()
    office.get_by_label("决策", exact=True).select_option(decision_id)
    office.get_by_label("牵头领导").select_option("demo-member1")
    office.get_by_label("责任单位").fill("规划处\n财务处")
    office.get_by_label("完成时限").fill(local_date(5))             # 5 days left: yellow (C5)
    office.get_by_role("button", name="分解任务").click()
    badge = office.locator("#task-status .badge-status")
    expect(badge).to_have_attribute("data-status", "yellow")
    expect(badge).to_have_text("黄 · 即将到期")
    expect(badge).to_have_css("background-color", YELLOW_BG)
    expect(office.locator("#progress-form")).to_have_count(0)       # only the leader reports (C5)
    office.get_by_label("督办意见").fill("请于本周内报送施工计划")
    office.get_by_role("button", name="记录督办").click()
    expect(office.locator("#task-status-message")).to_have_text("已记录，当前状态：黄 · 即将到期。")
    expect(office.locator("tr", has_text="请于本周内报送施工计划")).to_contain_text("督办")
    task_url = office.url

    # the responsible leader reports progress
    leader = pages.new()
    ui_login(leader, "member1")
    # V6: having voted yes, the member keeps a reserved opinion on the decision after all
    leader.goto(f"{pages.base}/#/decision/{decision_id}")
    leader.get_by_role("textbox", name="保留意见").fill("资金测算偏乐观")
    leader.get_by_role("button", name="提交保留意见").click()
    expect(leader.locator("#reserve-status")).to_have_text("您的保留意见已记录。")
    leader.reload()
    expect(leader.locator("tr", has_text="党组成员一")).to_contain_text("资金测算偏乐观")
    expect(leader.locator("#reserve-form")).to_have_count(0)
    leader.goto(task_url)
    leader.get_by_label("进展情况").fill("已完成方案设计")
    leader.get_by_label("完成百分比").fill("40")
    leader.get_by_role("button", name="报告进度").click()
    expect(leader.locator("#task-progress")).to_have_attribute("value", "40")

    # the office postpones with an explanation: three weeks left, green
    office.reload()
    expect(office.locator("tr", has_text="已完成方案设计")).to_contain_text("40%")
    office.get_by_label("新的完成时限").fill(local_date(21))
    office.locator("#postpone-form").get_by_label("向党组的说明").fill("施工季节受限，顺延两周")
    office.get_by_role("button", name="申请延期").click()
    expect(badge).to_have_attribute("data-status", "green")
    expect(badge).to_have_css("background-color", GREEN_BG)
    screenshots(office, "28-task-green-zh")

    nav(office).get_by_role("link", name="决策落实").click()
    row = office.locator("tr", has_text=topic)
    expect(row.locator(".badge-status")).to_have_text("绿 · 按期推进")
    expect(row).to_contain_text("40%")
    expect(row).to_contain_text("规划处、财务处")
    screenshots(office, "29-tasks-list-zh")

    office.goto(f"{pages.base}/#/decision/{decision_id}/timeline")
    expect(office.locator('#timeline li[data-step="implementation"]')).to_contain_text("1 项落实任务：绿 · 按期推进")


def month_counts(items, months):
    counts = dict.fromkeys(months, 0)
    for m in items:
        month = (m.get("scheduled_at_local") or m["scheduled_at"])[:7]
        if m["status"] != "cancelled" and month in counts:
            counts[month] += 1
    return counts


def test_the_dashboard_shows_the_figures_of_the_demo_organization(pages, screenshots):
    # a decision of this month with a task three weeks ahead, whatever else this run made
    _, decision_id = passed_decision(pages.base, "党组紧急会议（概览）", "概览测试议题")
    sec, _ = login(pages.base, "secretary")
    ok(sec.post(f"/api/v1/decisions/{decision_id}/tasks",
                json={"leader_person_id": "demo-member2", "units": ["办公室"], "deadline": local_date(21)}))
    today = dt.datetime.now(dt.timezone.utc).date()          # the months the page counts (UTC, as the browser)
    months = [f"{(today.year * 12 + today.month - 1 - i) // 12}-{(today.year * 12 + today.month - 1 - i) % 12 + 1:02d}"
              for i in range(11, -1, -1)]
    # what the suite holds now: the demo organization had no meeting before this run
    listed = ok(sec.get("/api/v1/meetings", params={"from": f"{months[0]}-01"}))["items"]
    counts = month_counts(listed, months)
    tasks = ok(sec.get("/api/v1/tasks"))["items"]
    by_status = {s: sum(1 for x in tasks if x["status"] == s) for s in ("red", "yellow", "green", "closed")}
    open_alerts = len(ok(sec.get("/api/v1/alerts"))["items"])
    assert counts[months[-1]] >= 1 and by_status["green"] >= 1, (counts, by_status)

    page = pages.new()
    english(page)
    ui_login(page, "secretary", "en")
    nav(page).get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Organization dashboard")).to_be_visible()

    meetings = page.locator("#dash-meetings")
    expect(meetings).to_contain_text("Party group meetings per month (last 12 months)")
    for month in months:
        bar = meetings.locator(f'rect[data-month="{month}"]')
        expect(bar).to_have_attribute("data-count", str(counts[month]))
        # M2: a month without a meeting is drawn red
        expect(bar).to_have_attribute("fill", "#c62828" if counts[month] == 0 else "#1565c0")
    meetings.locator("summary").click()
    expect(meetings.locator("tr", has_text=months[-1]).locator("td")).to_have_text(str(counts[months[-1]]))

    panel = page.locator("#dash-tasks")
    for status in ("red", "yellow", "green"):
        expect(panel.locator(f'rect[data-status="{status}"]')).to_have_attribute("data-count", str(by_status[status]))
    panel.locator("summary").click()
    for word, status in (("red", "red"), ("yellow", "yellow"), ("green", "green"), ("closed", "closed")):
        expect(panel.locator("tr", has_text=word).locator("td")).to_have_text(str(by_status[status]))
    expect(page.locator("#open-alerts")).to_have_text(str(open_alerts))
    screenshots(page, "30-dashboard-en")
