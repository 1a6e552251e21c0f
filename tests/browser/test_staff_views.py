"""Staff journeys beyond the ballot, in a real headless Chromium against the real suite, each
in Chinese and in English: a discipline inspector opens a case on a decision (C4), a member
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
        # nothing is pre-filled: the inspector chooses each person's outcome
        outcomes = page.locator("#conclude-form select")
        expect(outcomes.first).to_be_visible()
        for i in range(outcomes.count()):
            expect(outcomes.nth(i)).to_have_value("")
            outcomes.nth(i).select_option("no_action")
        page.get_by_label("处理结果 · 张书记").select_option("admonishment_talk")
        page.get_by_label("办结意见").fill("经调查，决策程序基本合规，予以诫勉谈话")
        page.get_by_role("button", name="办结", exact=True).click()
        expect(page.locator("#confirm-dialog")).to_contain_text("办结后不可更改")
        page.locator("#confirm-ok").click()
        expect(page.locator("#case-status")).to_have_attribute("data-status", "concluded")
        expect(page.locator("tr", has_text="张书记")).to_contain_text("诫勉谈话")
        screenshots(page, "23-case-concluded-zh")


LEAVE_TEXT = {
    "zh-CN": {"title": "党组例会（请假）", "topic": "2027年预算安排", "opinion": "同意预算安排，建议压减会议费",
              "member": "member6", "name": "党组成员六", "cases": "问责案件", "meetings": "会议", "leave_link": "请假与异议",
              "reason_label": "请假事由", "reason": "赴外地调研", "opinion_label": "对议题“{topic}”的书面意见",
              "submit": "提交请假申请", "sent": "请假申请已提交，等待会议主持人审批。",
              "objection_to": "异议针对", "objection_label": "异议内容", "objection": "预算测算依据不足，建议补充材料",
              "objection_submit": "提交异议", "objection_sent": "异议已于", "approve": "批准",
              "decided": "已处理请假申请。", "approved": "已批准", "inbox": "通知", "objection_kind": "议题异议",
              "disposition_label": "处理意见", "reply_label": "答复内容", "reply": "预算已附测算依据，按期研究",
              "answer": "答复异议", "answered": "已答复异议。",
              "acknowledged": "已确认收到"},
    "en": {"title": "Regular meeting (leave)", "topic": "Budget for 2027", "opinion": "Agreed; cut the meeting costs",
           "member": "member7", "name": "党组成员七", "cases": "Cases", "meetings": "Meetings",
           "leave_link": "Leave and objections", "reason_label": "Reason for leave", "reason": "A field visit out of town",
           "opinion_label": "Written opinion on “{topic}”", "submit": "Send the leave request",
           "sent": "Your leave request is sent; the chair decides on it.", "objection_to": "Objection to",
           "objection_label": "Objection", "objection": "The budget estimate lacks its basis; add the figures",
           "objection_submit": "Send the objection", "objection_sent": "Your objection reached the chair at",
           "approve": "Approve", "decided": "The leave request is decided.", "approved": "Approved",
           "inbox": "Inbox", "objection_kind": "Objection", "acknowledged": "Receipt acknowledged",
           "disposition_label": "Disposition", "reply_label": "Reply", "reply": "The estimate is attached; kept on the agenda",
           "answer": "Answer the objection", "answered": "The objection was answered."},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_member_asks_for_leave_and_the_chair_decides(pages, screenshots, lang):
    texts = LEAVE_TEXT[lang]
    title, topic, opinion, name = texts["title"], texts["topic"], texts["opinion"], texts["name"]
    meeting_id, _ = meeting_ahead(pages.base, title, topic)

    # a member, on a tablet: the meeting from the calendar, leave with a written opinion (M9)
    member = pages.new(width=768, height=1024)
    if lang == "en":
        english(member)
    ui_login(member, texts["member"], lang)
    expect(nav(member).get_by_role("link", name=texts["cases"])).to_have_count(0)     # not for a member
    nav(member).get_by_role("link", name=texts["meetings"]).click()
    member.locator("tr", has_text=title).get_by_role("link", name=f"{texts['leave_link']}: {title}").click()
    member.get_by_label(texts["reason_label"]).fill(texts["reason"])
    member.get_by_label(texts["opinion_label"].format(topic=topic)).fill(opinion)
    member.get_by_role("button", name=texts["submit"]).click()
    expect(member.locator("#leave-status")).to_have_text(texts["sent"])
    mine = member.locator("#leave-list tr", has_text=name)
    expect(mine).to_contain_text(opinion)
    expect(mine.locator(".leave-state")).to_have_attribute("data-status", "requested")
    expect(member.locator("#leave-form")).to_have_count(0)         # one request per meeting
    # an objection to the topic, 24 h ahead (M5)
    member.get_by_label(texts["objection_to"]).select_option(label=topic)
    member.get_by_label(texts["objection_label"], exact=True).fill(texts["objection"])
    member.get_by_role("button", name=texts["objection_submit"]).click()
    expect(member.locator("#leave-status")).to_contain_text(texts["objection_sent"])
    assert member.evaluate("document.documentElement.scrollWidth") <= 768     # readable at tablet width
    screenshots(member, f"24-leave-requested-tablet-{lang}")

    # the chair sees it on the meeting's page and approves
    sec = pages.new()
    if lang == "en":
        english(sec)
    ui_login(sec, "secretary", lang)
    sec.goto(f"{pages.base}/#/meeting/{meeting_id}")
    sec.locator("#leave-page-link").click()
    row = sec.locator("#leave-list tr", has_text=name)
    expect(row).to_contain_text(texts["reason"])
    expect(row).to_contain_text(f"{topic}: {opinion}")
    sec.get_by_role("button", name=f"{texts['approve']}: {name}", exact=True).click()
    expect(sec.locator("#leave-status")).to_have_text(texts["decided"])
    expect(sec.locator("#leave-list tr", has_text=name).locator(".leave-state")).to_have_text(texts["approved"])
    screenshots(sec, f"25-leave-approved-{lang}")

    # M5: the objection reached the chair: it is in the chair's inbox, with what it says
    nav(sec).get_by_role("link", name=texts["inbox"], exact=True).click()
    objection = sec.locator("tr[data-kind=objection_received]", has_text=texts["objection"])
    reload_until(sec, objection)
    expect(objection).to_contain_text(texts["objection_kind"])
    expect(objection).to_contain_text(topic)
    expect(objection.locator("a.go-meeting")).to_have_attribute("href", f"#/meeting/{meeting_id}")
    objection.locator("button.acknowledge").click()          # the chair's proof that it arrived
    expect(objection.locator(".acknowledged")).to_contain_text(texts["acknowledged"])
    expect(objection.locator("button.acknowledge")).to_have_count(0)
    screenshots(sec, f"25b-objection-acknowledged-{lang}")

    # M5: the chair answers it on the meeting's leave and objections page, once; the member reads it
    sec.goto(f"{pages.base}/#/meeting/{meeting_id}/leave")
    listed = sec.locator("#objections tr", has_text=texts["objection"])
    expect(listed).to_contain_text(topic)
    listed.get_by_label(texts["disposition_label"]).select_option("not_accepted")
    listed.get_by_label(texts["reply_label"]).fill(texts["reply"])
    listed.get_by_role("button", name=texts["answer"]).click()
    expect(sec.locator("#leave-status")).to_have_text(texts["answered"])
    answer = sec.locator("#objections tr", has_text=texts["objection"]).locator(".objection-answer")
    expect(answer).to_have_attribute("data-disposition", "not_accepted")
    expect(answer).to_contain_text(texts["reply"])
    expect(sec.locator("#objections form")).to_have_count(0)          # answered once

    member.reload()
    expect(member.locator("#leave-list tr", has_text=name).locator(".leave-state")).to_have_attribute("data-status", "approved")
    expect(member.locator("#objections .objection-answer")).to_contain_text(texts["reply"])
    expect(member.locator("#objections form")).to_have_count(0)       # only the chair answers


MINUTES_TEXT = {
    "zh-CN": {"title": "党组紧急会议（记录）", "topic": "防汛物资采购",
              "text": "会议由张书记主持，应到9人，实到7人。\n议题：防汛物资采购，同意5票，通过。", "end": "\n散会。",
              "meetings": "会议", "minutes_link": "会议记录", "none": "尚未记录会议记录。", "label": "会议记录正文",
              "save": "保存会议记录", "saved": "会议记录已保存（第 1 版）。", "version2": "第 2 版，",
              "approve": "批准会议记录", "final": "不可再修改", "close": "结束会议",
              "close_confirm": "确定结束会议“党组紧急会议（记录）”吗？", "approve_confirm": "确定审定第 2 版会议记录吗？"},
    "en": {"title": "Emergency meeting (minutes)", "topic": "Flood relief supplies",
           "text": "Chaired by the secretary; 9 members, 7 present.\nFlood relief supplies: 5 in favour, passed.",
           "end": "\nThe meeting closed.", "meetings": "Meetings", "minutes_link": "Minutes",
           "none": "No minutes recorded yet.", "label": "Text of the minutes", "save": "Save the minutes",
           "saved": "The minutes are saved (version 1).", "version2": "Version 2, ", "approve": "Approve the minutes",
           "final": "final", "close": "Close the meeting",
           "close_confirm": "Close the meeting “Emergency meeting (minutes)”?",
           "approve_confirm": "Approve version 2 of the minutes?"},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_confidential_secretary_records_the_minutes(pages, screenshots, lang):
    texts = MINUTES_TEXT[lang]
    title, text = texts["title"], texts["text"]
    meeting_id, _ = passed_decision(pages.base, title, texts["topic"])

    conf = pages.new()
    if lang == "en":
        english(conf)
    ui_login(conf, "confidential", lang)
    nav(conf).get_by_role("link", name=texts["meetings"]).click()
    conf.get_by_role("link", name=f"{texts['minutes_link']}: {title}").click()
    expect(conf.locator("#minutes-none")).to_have_text(texts["none"])
    conf.get_by_label(texts["label"]).fill(text)
    conf.get_by_role("button", name=texts["save"]).click()
    expect(conf.locator("#minutes-status")).to_have_text(texts["saved"])
    expect(conf.locator("#minutes-text")).to_have_text(text)
    expect(conf.locator("#minutes-approval")).to_have_attribute("data-approved", "false")
    conf.get_by_label(texts["label"]).fill(text + texts["end"])
    conf.get_by_role("button", name=texts["save"]).click()
    expect(conf.locator("#minutes")).to_have_attribute("data-version", "2")
    expect(conf.locator("#minutes-version")).to_contain_text(texts["version2"])
    screenshots(conf, f"26-minutes-recorded-{lang}")

    # the chair closes the meeting in the browser (M1, confirmed first: a cancelled dialog leaves it
    # opened) and approves: the minutes are final (M10)
    chair = pages.new()
    if lang == "en":
        english(chair)
    ui_login(chair, "secretary", lang)
    chair.goto(f"{pages.base}/#/meeting/{meeting_id}")
    expect(chair.locator("#meeting-status")).to_have_attribute("data-status", "opened")
    chair.get_by_role("button", name=texts["close"]).click()
    expect(chair.locator("#confirm-dialog")).to_contain_text(texts["close_confirm"])
    chair.locator("#confirm-cancel").click()
    expect(chair.locator("#confirm-dialog")).to_have_count(0)
    expect(chair.locator("#meeting-status")).to_have_attribute("data-status", "opened")
    chair.get_by_role("button", name=texts["close"]).click()
    screenshots(chair, f"27-close-confirm-{lang}")
    chair.locator("#confirm-ok").click()
    expect(chair.locator("#meeting-status")).to_have_attribute("data-status", "closed")
    chair.locator("#to-minutes").click()
    chair.get_by_role("button", name=texts["approve"]).click()
    expect(chair.locator("#confirm-dialog")).to_contain_text(texts["approve_confirm"])
    chair.locator("#confirm-ok").click()
    expect(chair.locator("#minutes-approval")).to_have_attribute("data-approved", "true")
    expect(chair.locator("#meeting-status")).to_have_attribute("data-status", "minutes_approved")
    conf.reload()
    expect(conf.locator("#minutes-approval")).to_contain_text(texts["final"])
    expect(conf.locator("#minutes-form")).to_have_count(0)
    screenshots(chair, f"27-minutes-approved-{lang}")


TASK_TEXT = {
    "zh-CN": {"topic": "老旧小区改造实施方案", "meeting": "党组紧急会议（落实）", "leader": "member1", "leader_name": "党组成员一",
              "nav": "决策落实", "decision": "决策", "leader_label": "牵头领导", "units_label": "责任单位",
              "units": "规划处\n财务处", "units_shown": "规划处、财务处", "deadline": "完成时限", "assign": "分解任务",
              "yellow": "黄 · 即将到期", "green": "绿 · 按期推进", "note_label": "督办意见", "note": "请于本周内报送施工计划",
              "supervise": "记录督办", "recorded": "已记录，当前状态：黄 · 即将到期。", "entry": "督办",
              "reserve": "保留意见", "reserve_text": "资金测算偏乐观", "reserve_submit": "提交保留意见",
              "reserved": "您的保留意见已记录。", "progress_label": "进展情况", "progress": "已完成方案设计",
              "percent": "完成百分比", "report": "报告进度", "new_deadline": "新的完成时限",
              "explanation": "向党组的说明", "why": "施工季节受限，顺延两周", "postpone": "申请延期",
              "timeline": "1 项落实任务：绿 · 按期推进"},
    "en": {"topic": "Refit plan for old residential blocks", "meeting": "Emergency meeting (implementation)",
           "leader": "member2", "leader_name": "党组成员二", "nav": "Implementation", "decision": "Decision",
           "leader_label": "Responsible leader", "units_label": "Units", "units": "Planning division\nFinance division",
           "units_shown": "Planning division、Finance division", "deadline": "Deadline", "assign": "Assign",
           "yellow": "yellow · due soon", "green": "green · on track", "note_label": "Supervision note",
           "note": "Send the works schedule this week", "supervise": "Record supervision",
           "recorded": "Recorded; status now: yellow · due soon.", "entry": "Supervision",
           "reserve": "Reserved opinion", "reserve_text": "The cost estimate is optimistic",
           "reserve_submit": "Record the reserved opinion", "reserved": "Your reserved opinion is recorded.",
           "progress_label": "Progress made", "progress": "Design completed", "percent": "Percent complete",
           "report": "Report progress", "new_deadline": "New deadline", "explanation": "Explanation to the group",
           "why": "The building season is short; two more weeks", "postpone": "Postpone",
           "timeline": "Implementation tasks (1): green · on track"},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_office_follows_a_task_by_its_status_colour(pages, screenshots, lang):
    texts = TASK_TEXT[lang]
    topic = texts["topic"]
    _, decision_id = passed_decision(pages.base, texts["meeting"], topic)

    office = pages.new()
    if lang == "en":
        english(office)
    ui_login(office, "office", lang)
    nav(office).get_by_role("link", name=texts["nav"]).click()
    office.get_by_label(texts["decision"], exact=True).select_option(decision_id)
    office.get_by_label(texts["leader_label"]).select_option(f"demo-{texts['leader']}")
    office.get_by_label(texts["units_label"]).fill(texts["units"])
    office.get_by_label(texts["deadline"], exact=True).fill(local_date(5))     # 5 days left: yellow (C5)
    office.get_by_role("button", name=texts["assign"], exact=True).click()
    badge = office.locator("#task-status .badge-status")
    expect(badge).to_have_attribute("data-status", "yellow")
    expect(badge).to_have_text(texts["yellow"])
    expect(badge).to_have_css("background-color", YELLOW_BG)
    expect(office.locator("#progress-form")).to_have_count(0)       # only the leader reports (C5)
    office.get_by_label(texts["note_label"]).fill(texts["note"])
    office.get_by_role("button", name=texts["supervise"]).click()
    expect(office.locator("#task-status-message")).to_have_text(texts["recorded"])
    expect(office.locator("tr", has_text=texts["note"])).to_contain_text(texts["entry"])
    expect(office.locator("tr", has_text=texts["note"])).to_contain_text("王主任")     # staff by name, not id
    task_url = office.url

    # the responsible leader reports progress
    leader = pages.new()
    if lang == "en":
        english(leader)
    ui_login(leader, texts["leader"], lang)
    # V6: having voted yes, the member keeps a reserved opinion on the decision after all
    leader.goto(f"{pages.base}/#/decision/{decision_id}")
    leader.get_by_role("textbox", name=texts["reserve"]).fill(texts["reserve_text"])
    leader.get_by_role("button", name=texts["reserve_submit"]).click()
    expect(leader.locator("#reserve-status")).to_have_text(texts["reserved"])
    leader.reload()
    expect(leader.locator("tr", has_text=texts["leader_name"])).to_contain_text(texts["reserve_text"])
    expect(leader.locator("#reserve-form")).to_have_count(0)
    leader.goto(task_url)
    leader.get_by_label(texts["progress_label"]).fill(texts["progress"])
    leader.get_by_label(texts["percent"]).fill("40")
    leader.get_by_role("button", name=texts["report"]).click()
    expect(leader.locator("#task-progress")).to_have_attribute("value", "40")

    # the office postpones with an explanation: three weeks left, green
    office.reload()
    expect(office.locator("tr", has_text=texts["progress"])).to_contain_text("40%")
    office.get_by_label(texts["new_deadline"]).fill(local_date(21))
    office.locator("#postpone-form").get_by_label(texts["explanation"]).fill(texts["why"])
    office.get_by_role("button", name=texts["postpone"], exact=True).click()
    expect(badge).to_have_attribute("data-status", "green")
    expect(badge).to_have_css("background-color", GREEN_BG)
    screenshots(office, f"28-task-green-{lang}")

    nav(office).get_by_role("link", name=texts["nav"]).click()
    row = office.locator("tr", has_text=topic)
    expect(row.locator(".badge-status")).to_have_text(texts["green"])
    expect(row).to_contain_text("40%")
    expect(row).to_contain_text(texts["units_shown"])
    with office.expect_download() as info:
        office.locator(".table-block", has=office.locator("caption", has_text=texts["nav"])).get_by_role(
            "button", name="导出 CSV" if lang == "zh-CN" else "Export CSV").click()
    csv = open(info.value.path(), encoding="utf-8-sig").read()
    assert topic in csv and texts["green"] in csv, csv[:400]
    screenshots(office, f"29-tasks-list-{lang}")

    office.goto(f"{pages.base}/#/decision/{decision_id}/timeline")
    expect(office.locator('#timeline li[data-step="implementation"]')).to_contain_text(texts["timeline"])


def month_counts(items, months):
    counts = dict.fromkeys(months, 0)
    for m in items:
        month = (m.get("scheduled_at_local") or m["scheduled_at"])[:7]
        if m["status"] != "cancelled" and month in counts:
            counts[month] += 1
    return counts


DASHBOARD_TEXT = {
    "zh-CN": {"meeting": "党组紧急会议（概览）", "topic": "概览测试议题", "nav": "概览", "title": "组织概览",
              "meetings": "每月党组会议（近 12 个月）", "words": ("红", "黄", "绿", "已办结")},
    "en": {"meeting": "Emergency meeting (dashboard)", "topic": "Dashboard test topic", "nav": "Dashboard",
           "title": "Organization dashboard", "meetings": "Party group meetings per month (last 12 months)",
           "words": ("red", "yellow", "green", "closed")},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_dashboard_shows_the_figures_of_the_demo_organization(pages, screenshots, lang):
    texts = DASHBOARD_TEXT[lang]
    # a decision of this month with a task three weeks ahead, whatever else this run made
    _, decision_id = passed_decision(pages.base, texts["meeting"], texts["topic"])
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
    if lang == "en":
        english(page)
    ui_login(page, "secretary", lang)
    nav(page).get_by_role("link", name=texts["nav"]).click()
    expect(page.get_by_role("heading", name=texts["title"])).to_be_visible()

    meetings = page.locator("#dash-meetings")
    expect(meetings).to_contain_text(texts["meetings"])
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
    for word, status in zip(texts["words"], ("red", "yellow", "green", "closed")):
        expect(panel.locator("tr", has_text=word).locator("td")).to_have_text(str(by_status[status]))
    expect(page.locator("#open-alerts")).to_have_text(str(open_alerts))
    screenshots(page, f"30-dashboard-{lang}")
