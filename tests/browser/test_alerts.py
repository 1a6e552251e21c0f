"""Compliance alerts (C7) in a real headless Chromium against the real suite, in Chinese and
in English: the office registers reports owed whose due date has already passed (C6), the
accountability service's timer raises an alert for each, and the discipline inspector
acknowledges one with a note, opens a case on the member whose own report is overdue (C4),
and reads the monthly compliance findings (M2)."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.support import assert_readable, ok, passed_decision, ui_login, wait_for
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser

TEXTS = {
    "zh-CN": {"nav": "合规提醒", "rule": "C6 · 报告逾期未报送", "group_kind": "年度综合报告",
              "acked_flash": "已确认: C6", "acked": "已确认 · ", "open_only": "只看未处理的",
              "case_on": "对张书记立案", "member": "张书记", "trigger": "问责情形（§五(二)）", "summary": "案情摘要",
              "submit": "立案", "trigger_text": "5. 不履行党风廉政建设主体责任", "month": "检查月份", "breach": "已违反",
              "csv": "导出 CSV", "csv_head": "提出时间,规则,对象,内容,状态",
              "note": "已督促办公室于本周内补报", "case_summary": "书记履职报告逾期未报送"},
    "en": {"nav": "Alerts", "rule": "C6 · report overdue", "group_kind": "Special report",
           "acked_flash": "Acknowledged: C6", "acked": "Acknowledged · ", "open_only": "Open alerts only",
           "case_on": "Open a case on 李副书记", "member": "李副书记", "trigger": "Trigger (§5.2)", "summary": "Summary",
           "submit": "Open the case", "trigger_text": "5. Clean-governance duty not fulfilled", "month": "Month checked",
           "breach": "Breached", "csv": "Export CSV", "csv_head": "Raised,Rule,Subject,Message,Status",
           "note": "The office was told to file it this week", "case_summary": "The duty report is overdue"},
}
# distinct reports per language: (group report's kind, the member's report kind, the member)
DUTIES = {"zh-CN": ("annual_comprehensive_report", "secretary_duty_report", "demo-secretary"),
          "en": ("special_report", "member_assessment", "demo-deputy")}


def local_today():
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def previous_month(day):
    first = day.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def overdue_duties(base, lang):
    """The office registers two reports owed that were due yesterday (C6 §五(一), §二(二)):
    the group's and one member's; the compliance timer raises a C6 alert for each (C7).
    Returns {duty_id: message fragment} once both alerts are listed."""
    group_kind, personal_kind, person = DUTIES[lang]
    office, _ = login(base, "office")
    due = (local_today() - dt.timedelta(days=1)).isoformat()
    year = local_today().year - (1 if lang == "zh-CN" else 2)
    group = ok(office.post("/api/v1/duties", json={"kind": group_kind, "year": year, "due_date": due}))
    personal = ok(office.post("/api/v1/duties", json={"kind": personal_kind, "person_id": person, "year": year,
                                                       "due_date": due}))
    assert group["status"] == personal["status"] == "overdue", (group, personal)
    inspector, _ = login(base, "discipline")

    def raised():
        subjects = {a["subject_id"] for a in ok(inspector.get("/api/v1/alerts"))["items"] if a["rule"] == "C6"}
        return {group["duty_id"], personal["duty_id"]} <= subjects
    wait_for(raised, "the compliance timer to raise the C6 alerts")
    # as the page shows them: in the reader's language, the member by name (issue 19)
    if lang == "zh-CN":
        return (f"C6：年度综合报告（{year} 年度）应于 {due} 前报送，至今未报送",
                f"C6：张书记的书记履职报告（{year} 年度）应于 {due} 前报送，至今未报送")
    return (f"C6: {group_kind} for {year} was due {due} and has not been filed",
            f"C6: {personal_kind} of 李副书记 for {year} was due {due} and has not been filed")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_discipline_inspector_handles_compliance_alerts(pages, screenshots, lang):
    texts = TEXTS[lang]
    group_message, personal_message = overdue_duties(pages.base, lang)

    # the English run on a tablet: the list stays readable at 768 px
    page = pages.new(width=768, height=1024) if lang == "en" else pages.new()
    if lang == "en":
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    ui_login(page, "discipline", lang)
    page.get_by_role("navigation").get_by_role("link", name=texts["nav"]).click()

    # both open alerts, with their rule and text; the report named in words
    group_row = page.locator("#alert-list tr", has_text=group_message)
    personal_row = page.locator("#alert-list tr", has_text=personal_message)
    expect(group_row.locator(".alert-rule")).to_have_text(texts["rule"])
    expect(group_row.locator(".alert-duty")).to_contain_text(texts["group_kind"])
    expect(personal_row.locator(".alert-rule")).to_have_attribute("data-rule", "C6")
    expect(personal_row.locator(".alert-duty")).to_contain_text(texts["member"])
    if lang == "en":
        assert page.evaluate("document.documentElement.scrollWidth") <= 768
    screenshots(page, f"40-alerts-open-{lang}")

    # acknowledged with a note, from the keyboard: it leaves the open list (C7)
    note = group_row.get_by_role("textbox")
    note.fill(texts["note"])
    note.press("Enter")
    expect(page.locator("#alerts-status")).to_have_text(texts["acked_flash"])
    expect(page.locator("#alert-list tr", has_text=group_message)).to_have_count(0)
    expect(personal_row).to_be_visible()
    # ... and stays among all alerts, with its note
    page.get_by_label(texts["open_only"]).uncheck()
    acked = page.locator("#alert-list tr", has_text=group_message)
    expect(acked.locator(".alert-state")).to_have_text(texts["acked"] + texts["note"])
    with page.expect_download() as info:
        page.locator("#alert-list").get_by_role("button", name=texts["csv"]).click()
    csv = open(info.value.path(), encoding="utf-8-sig").read()
    assert csv.splitlines()[0] == texts["csv_head"] and group_message in csv and texts["note"] in csv, csv[:400]
    screenshots(page, f"41-alerts-acknowledged-{lang}")

    # the compliance findings of last month: the demo organization held no meeting then (M2)
    month = previous_month(local_today())
    page.get_by_label(texts["month"]).fill(month)
    findings = page.locator("#compliance-findings")
    expect(findings).to_have_attribute("data-month", month)
    m2 = findings.locator("tr", has=page.locator('.finding-rule[data-rule="M2"]'))
    expect(m2).to_contain_text(month)
    expect(m2.locator(".finding-severity")).to_have_text(texts["breach"])
    expect(m2).to_contain_text(f"M2: no party group meeting was held in {month}" if lang == "en" else
                               f"M2：{int(month[:4])} 年 {int(month[5:])} 月未召开党组会议")
    if lang == "zh-CN":     # (the English texts are the integrators' and still name a C5 decision by id)
        assert_readable(page)
    screenshots(page, f"42-compliance-findings-{lang}")

    # a case on the member whose own report is overdue, opened from the alert (C4)
    page.get_by_label(texts["open_only"]).check()
    personal_row.get_by_role("link", name=texts["case_on"]).click()
    expect(page.locator("#subject-person")).to_be_checked()
    expect(page.locator("#open-case select[name=person_id]")).to_have_value(DUTIES[lang][2])
    page.get_by_label(texts["trigger"]).select_option("5")
    page.get_by_label(texts["summary"]).fill(texts["case_summary"])
    page.get_by_role("button", name=texts["submit"], exact=True).click()
    expect(page.locator("#case-status")).to_have_attribute("data-status", "open")
    expect(page.locator("#case-subject")).to_have_text(texts["member"])
    expect(page.locator("#case-trigger")).to_have_text(texts["trigger_text"])
    expect(page.locator("#case-summary")).to_have_text(texts["case_summary"])
    screenshots(page, f"43-case-from-alert-{lang}")


def test_reminders_and_alerts_reach_the_inbox_in_chinese_and_lead_to_their_pages(pages):
    """C5: an implementation task due in two days reminds its leader; C7: the emergency meeting that
    decided it is put before the discipline inspector. Both notices read in Chinese, the time as
    the bureau's clock shows it, and each leads to its page."""
    _mid, decision_id = passed_decision(pages.base, "党组紧急会议（落实提醒）", "防汛物资储备")
    sec, _ = login(pages.base, "secretary")
    deadline = (local_today() + dt.timedelta(days=2)).isoformat()
    task = ok(sec.post(f"/api/v1/decisions/{decision_id}/tasks", json={
        "leader_person_id": "demo-member1", "units": ["办公室"], "deadline": deadline, "important": False}))
    leader, _ = login(pages.base, "member1")
    wait_for(lambda: [n for n in ok(leader.get("/api/v1/notifications"))["items"]
                      if n["kind"] == "implementation_due_soon" and n["ref_id"] == task["task_id"]],
             "the compliance timer to remind the leader of the deadline")

    page = pages.new()
    ui_login(page, "member1")
    page.goto(f"{pages.base}/#/inbox")
    row = page.locator("tbody tr[data-kind=implementation_due_soon]").first
    expect(row).to_contain_text("落实即将到期")
    expect(row).to_contain_text(f"落实期限为 {deadline}，还剩 2 天")
    assert_readable(page)
    row.get_by_role("link", name="查看落实任务").click()
    expect(page).to_have_url(f"{pages.base}/#/task/{task['task_id']}")

    inspector, _ = login(pages.base, "discipline")
    wait_for(lambda: [n for n in ok(inspector.get("/api/v1/notifications"))["items"]
                      if n["kind"] == "compliance_alert" and "（落实提醒）" in n["body"]],
             "the M6 alert to reach the discipline inspector")
    page = pages.new()
    ui_login(page, "discipline")
    page.goto(f"{pages.base}/#/inbox")
    alert = page.locator("tbody tr[data-kind=compliance_alert]", has_text="（落实提醒）").first
    expect(alert).to_contain_text("合规提醒（M6）")
    expect(alert).to_contain_text("M6：紧急会议「党组紧急会议（落实提醒）」未经提前 48 小时通知召开；说明的理由：突发险情")
    expect(alert).not_to_contain_text("emergency meeting")
    expect(alert).not_to_contain_text("UTC")
    assert_readable(page)
    alert.get_by_role("link", name="合规提醒").click()
    expect(page.locator("#alert-list tr", has_text="「党组紧急会议（落实提醒）」")).to_be_visible()
