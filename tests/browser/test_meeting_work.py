"""The work around a meeting in the browser, each by the role that does it, in Chinese and in
English: the secretary prepares major-decision and personnel topics (M3: pre-coordination and
preparation record; V4: one item per candidate), reschedules and cancels a meeting with
confirmation (M1, M5); members suggest topics that the secretary accepts or rejects (M3); HR
finds its personnel topics on its home page and uploads their material, which others download."""
import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import assert_readable, ok, ui_login
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser


def english(page):
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def open_as(pages, username, lang, path=None):
    page = pages.new()
    if lang == "en":
        english(page)
    ui_login(page, username, lang)
    if path:
        page.goto(f"{pages.base}/#/{path}")
    return page


def draft_meeting(base, title, days=4, kind="regular"):
    sec, _ = login(base, "secretary")
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)).isoformat()
    return ok(sec.post("/api/v1/meetings", json={"kind": kind, "title": title, "scheduled_at": when}))["meeting_id"]


PREP = {
    "zh-CN": {"topic": "机关食堂委托经营", "category": "三重一大事项", "title_label": "议题名称", "cat_label": "议题类别",
              "leader": "分管领导", "with": "沟通对象", "outcome": "沟通酝酿结果", "research": "调查研究情况",
              "opinions": "已征求意见的单位或人员", "risk": "风险评估", "legal": "合法性审查", "add": "添加议题",
              "pre_tag": "已沟通酝酿", "prep_tag": "前期准备已记录", "personnel": "干部人事",
              "person_topic": "办公室副主任人选", "cand1": "党组成员六", "cand2": "王主任", "cand_text": "人选：",
              "notice": "发出会议通知", "reschedule": "改期", "reason": "原因", "cancel": "取消会议",
              "cancel_confirm": "确定取消会议", "cancelled": "会议已取消。原因：上级会议冲突"},
    "en": {"topic": "Outsourcing the canteen", "category": "Major decision (三重一大)", "title_label": "Topic title",
           "cat_label": "Category", "leader": "Leader in charge", "with": "Coordinated with",
           "outcome": "Outcome of the pre-coordination", "research": "Research done", "opinions": "Opinions sought from",
           "risk": "Risk assessment", "legal": "Legal review", "add": "Add topic", "pre_tag": "pre-coordinated",
           "prep_tag": "preparation recorded", "personnel": "Personnel", "person_topic": "Deputy head of the office",
           "cand1": "党组成员六", "cand2": "王主任", "cand_text": "Candidate: ", "notice": "Issue the notice",
           "reschedule": "Reschedule", "reason": "Reason", "cancel": "Cancel the meeting",
           "cancel_confirm": "Cancel the meeting", "cancelled": "The meeting was cancelled. Reason: 上级会议冲突"},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_secretary_prepares_topics_reschedules_and_cancels(pages, screenshots, lang):
    x = PREP[lang]
    title = f"党组会议（议题准备 {lang}）"
    mid = draft_meeting(pages.base, title)
    sec = open_as(pages, "secretary", lang, f"meeting/{mid}")
    expect(sec.locator("#meeting-status")).to_have_attribute("data-status", "draft")
    form = sec.locator("#add-topic")
    # the pre-coordination and preparation parts appear only for a major decision
    expect(sec.locator("#precoordination-fields")).to_be_hidden()
    form.get_by_label(x["title_label"], exact=True).fill(x["topic"])
    form.get_by_label(x["cat_label"], exact=True).select_option("major_decision")
    expect(sec.locator("#precoordination-fields")).to_be_visible()
    expect(sec.locator("#preparation-fields")).to_be_visible()
    expect(sec.locator("#candidate-fields")).to_be_hidden()
    form.get_by_label(x["leader"], exact=True).select_option("demo-deputy")
    form.get_by_label(x["with"], exact=True).fill("党组成员一、党组成员二")
    form.get_by_label(x["outcome"], exact=True).fill("原则同意，提交党组会议研究")
    form.get_by_label(x["research"], exact=True).fill("走访三家同类单位")
    form.get_by_label(x["opinions"], exact=True).fill("机关工会\n财务处")
    form.get_by_label(x["risk"], exact=True).fill("风险可控")
    form.get_by_label(x["legal"], exact=True).fill("经法律顾问审查，合法")
    screenshots(sec, f"40-major-topic-form-{lang}")
    form.get_by_role("button", name=x["add"]).click()
    item = sec.locator("ol.topics li", has_text=x["topic"])
    expect(item).to_contain_text(x["pre_tag"])
    expect(item).to_contain_text(x["prep_tag"])

    # a personnel topic with two candidates: one agenda item per candidate (V4)
    form = sec.locator("#add-topic")
    form.get_by_label(x["title_label"], exact=True).fill(x["person_topic"])
    form.get_by_label(x["cat_label"], exact=True).select_option("personnel")
    expect(sec.locator("#candidate-fields")).to_be_visible()
    expect(sec.locator("#preparation-fields")).to_be_hidden()
    sec.locator("#candidate-fields").get_by_label(x["cand1"], exact=True).check()
    sec.locator("#candidate-fields").get_by_label(x["cand2"], exact=True).check()
    form.get_by_role("button", name=x["add"]).click()
    items = sec.locator("ol.topics li", has_text=x["person_topic"])
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text(x["cand_text"] + x["cand1"])
    expect(items.nth(1)).to_contain_text(x["cand_text"] + x["cand2"])

    # reschedule (the default time is one M5 accepts): the meeting stays a draft at its new time
    before = sec.locator("#meeting-when").inner_text()
    sec.locator("#reschedule-form").get_by_label(x["reason"], exact=True).fill("与上级调研冲突")
    sec.locator("#reschedule-form").get_by_role("button", name=x["reschedule"]).click()
    expect(sec.locator("#meeting-when")).not_to_have_text(before)
    expect(sec.locator("#meeting-status")).to_have_attribute("data-status", "draft")

    # the notice goes out: the major topic carries its preparation record (M3)
    sec.get_by_role("button", name=x["notice"]).click()
    expect(sec.locator("#meeting-status")).to_have_attribute("data-status", "noticed")
    expect(sec.locator(".error")).to_have_count(0)
    # the agenda is frozen (M4): no add-topic form is offered any more
    expect(sec.locator("#add-topic")).to_have_count(0)
    screenshots(sec, f"41-meeting-noticed-{lang}")
    assert_readable(sec)

    # cancelling asks first; Escape keeps the meeting
    sec.locator("#cancel-form").get_by_label(x["reason"], exact=True).fill("上级会议冲突")
    sec.locator("#cancel-form").get_by_role("button", name=x["cancel"]).click()
    expect(sec.locator("#confirm-dialog")).to_contain_text(x["cancel_confirm"])
    sec.keyboard.press("Escape")
    expect(sec.locator("#confirm-dialog")).to_have_count(0)
    expect(sec.locator("#meeting-status")).to_have_attribute("data-status", "noticed")
    sec.locator("#cancel-form").get_by_role("button", name=x["cancel"]).click()
    sec.locator("#confirm-ok").click()
    expect(sec.locator("#meeting-status")).to_have_attribute("data-status", "cancelled")
    expect(sec.locator("#cancelled")).to_have_text(x["cancelled"])
    screenshots(sec, f"42-meeting-cancelled-{lang}")


SUGGEST = {
    "zh-CN": {"nav": "议题", "title_label": "议题名称", "submit": "提交建议", "sent": "议题建议已提交，等待书记决定。",
              "meeting": "拟提交的会议", "accept": "同意列入", "reject": "不予列入", "reason": "理由（不列入时必填）",
              "need_reason": "不列入议程须填写理由（M3）。", "rejected": "不予列入", "accepted": "已列入"},
    "en": {"nav": "Topics", "title_label": "Topic title", "submit": "Send the suggestion",
           "sent": "Suggestion sent; the secretary decides on it.", "meeting": "For the meeting", "accept": "Accept",
           "reject": "Reject", "reason": "Reason (required to reject)",
           "need_reason": "Give the reason for rejecting the topic (M3).", "rejected": "Rejected",
           "accepted": "Accepted"},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_members_suggest_topics_and_the_secretary_decides(pages, screenshots, lang):
    x = SUGGEST[lang]
    meeting_title = f"党组会议（议题建议 {lang}）"
    mid = draft_meeting(pages.base, meeting_title, days=5)
    keep, drop = f"加强青年干部培养 {lang}", f"更换办公家具 {lang}"

    member = open_as(pages, "member3", lang)
    member.get_by_role("navigation").get_by_role("link", name=x["nav"]).click()
    for text in (keep, drop):
        member.locator("#suggest-form").get_by_label(x["title_label"], exact=True).fill(text)
        member.locator("#suggest-form").get_by_label(x["meeting"], exact=True).select_option(mid)
        member.get_by_role("button", name=x["submit"]).click()
        expect(member.locator("#topics-status")).to_have_text(x["sent"])
    screenshots(member, f"43-topic-suggested-{lang}")

    sec = open_as(pages, "secretary", lang, "topics")
    drop_box = sec.locator(".pending-topic", has_text=drop)
    # a rejection without a reason is stopped before anything is sent (M3)
    drop_box.get_by_role("button", name=x["reject"]).click()
    expect(drop_box).to_contain_text(x["need_reason"])
    drop_box.get_by_label(x["reason"], exact=True).fill("本年度预算已安排")
    drop_box.get_by_role("button", name=x["reject"]).click()
    sec.locator("#confirm-ok").click()
    expect(sec.locator(".pending-topic", has_text=drop)).to_have_count(0)
    keep_box = sec.locator(".pending-topic", has_text=keep)
    keep_box.get_by_label(x["meeting"], exact=True).select_option(mid)
    keep_box.get_by_role("button", name=x["accept"]).click()
    expect(sec.locator(".pending-topic", has_text=keep)).to_have_count(0)
    expect(sec.locator("tr", has_text=drop)).to_contain_text(x["rejected"])
    expect(sec.locator("tr", has_text=drop)).to_contain_text("本年度预算已安排")
    expect(sec.locator("tr", has_text=keep)).to_contain_text(x["accepted"])
    screenshots(sec, f"44-topics-decided-{lang}")
    assert_readable(sec)

    # the accepted topic is on the meeting's agenda, the rejected one is not
    sec.goto(f"{pages.base}/#/meeting/{mid}")
    expect(sec.locator("ol.topics")).to_contain_text(keep)
    expect(sec.locator("ol.topics")).not_to_contain_text(drop)


HR = {
    "zh-CN": {"title": "干部人事议题", "upload": "上传材料", "download": "下载", "file": "“{}”的材料文件"},
    "en": {"title": "Personnel topics", "upload": "Upload material", "download": "Download", "file": "Material file for “{}”"},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_hr_prepares_the_material_of_a_personnel_topic(pages, screenshots, lang):
    x = HR[lang]
    mid = draft_meeting(pages.base, f"党组会议（干部任免 {lang}）", days=6)
    topic = f"财务处处长人选 {lang}"
    sec, _ = login(pages.base, "secretary")
    ok(sec.post(f"/api/v1/meetings/{mid}/topics", json={"title": topic, "category": "personnel",
                                                          "candidate_person_ids": ["demo-member7"]}))
    hr = open_as(pages, "hr", lang)
    card = hr.locator("#personnel-topics")
    expect(card.get_by_role("heading", name=x["title"])).to_be_visible()
    article = card.locator(".personnel-topic", has_text=topic)
    expect(article).to_contain_text("党组成员七")
    content = "考察材料：德才兼备，群众公认。\n".encode("utf-8")
    article.get_by_label(x["file"].format(topic)).set_input_files(
        files=[{"name": "kaocha.txt", "mimeType": "text/plain", "buffer": content}])
    article.get_by_role("button", name=x["upload"]).click()
    article = hr.locator("#personnel-topics .personnel-topic", has_text=topic)
    expect(article.locator(".material-name")).to_contain_text("kaocha.txt")
    screenshots(hr, f"45-hr-home-{lang}")
    assert_readable(hr)

    # the secretary downloads the material from the meeting's page
    chair = open_as(pages, "secretary", lang, f"meeting/{mid}")
    block = chair.locator("#materials")
    expect(block).to_contain_text("kaocha.txt")
    with chair.expect_download() as info:
        block.get_by_role("button", name=re.compile(x["download"])).first.click()
    assert open(info.value.path(), "rb").read() == content
    assert info.value.suggested_filename == "kaocha.txt"
    assert_readable(chair)


ROLES = ["secretary", "member4", "office", "hr", "confidential", "discipline"]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_no_page_shows_an_iso_time_or_a_uuid(pages, lang):
    """Every page each role reaches from its navigation, and a meeting's pages, show times in the
    organization's zone and no raw identifiers."""
    mid = draft_meeting(pages.base, f"党组会议（可读性 {lang}）", days=3)
    for user in ROLES:
        page = open_as(pages, user, lang)
        assert_readable(page)
        links = page.get_by_role("navigation").get_by_role("link")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        for href in hrefs + [f"#/meeting/{mid}", f"#/meeting/{mid}/minutes", f"#/meeting/{mid}/leave"]:
            page.goto(f"{pages.base}/{href}")
            expect(page.locator("#main[aria-busy]")).to_have_count(0)
            assert_readable(page)


def test_phone_width_header_and_print_of_minutes_and_decision(pages, screenshots):
    """At 390×844 the header leaves the screen to the content; printed, the minutes and the decision
    record show without navigation, forms or buttons."""
    from tests.browser.support import passed_decision
    mid, decision_id = passed_decision(pages.base, "党组紧急会议（打印）", "打印检查议题", close_meeting=True)
    conf, _ = login(pages.base, "confidential")
    ok(conf.post(f"/api/v1/meetings/{mid}/minutes", json={"text": "会议由张书记主持。\n议题通过。"}))

    phone = open_as(pages, "secretary", "zh-CN")
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{pages.base}/#/meeting/{mid}/minutes")
    expect(phone.locator("#minutes-text")).to_be_visible()
    header = phone.locator("header.app-header").bounding_box()
    assert header["height"] <= 0.15 * 844, header
    screenshots(phone, "46-minutes-phone-zh-CN")

    phone.emulate_media(media="print")
    expect(phone.locator("header.app-header")).to_be_hidden()
    expect(phone.locator("#approve-minutes")).to_be_hidden()
    expect(phone.locator("#minutes-text")).to_contain_text("议题通过")
    phone.goto(f"{pages.base}/#/decision/{decision_id}")
    expect(phone.locator("#outcome")).to_be_visible()
    expect(phone.get_by_role("navigation")).to_be_hidden()
    screenshots(phone, "47-decision-print-zh-CN")


def test_a_vote_cast_elsewhere_shows_as_cast_in_a_new_browser(pages):
    """V1: the ballot page asks the roll, not the tab: a member who voted from another device (here
    through the API) opens the ballot in a fresh browser and sees the vote recorded, with no vote
    form; a member who has not voted still gets the form."""
    from tests.browser.support import GROUP_PRESENT
    sec, _ = login(pages.base, "secretary")
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).isoformat()
    mid = ok(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情",
                                                "title": "党组紧急会议（已投票）", "scheduled_at": when}))["meeting_id"]
    tid = ok(sec.post(f"/api/v1/meetings/{mid}/topics", json={"title": "已投票检查议题", "category": "work_plan"}))
    ok(sec.post(f"/api/v1/meetings/{mid}/notice"))
    ok(sec.post(f"/api/v1/meetings/{mid}/open", json={"present": GROUP_PRESENT, "leave": []}))
    bid = ok(sec.post("/api/v1/ballots", json={"meeting_id": mid, "topic_id": tid["topic_id"],
                                               "method": "secret"}))["ballot_id"]
    voter, _ = login(pages.base, "member1")
    ok(voter.post(f"/api/v1/ballots/{bid}/votes", json={"choice": "yes"}))

    page = open_as(pages, "member1", "zh-CN", f"ballot/{bid}")
    expect(page.locator("#vote-recorded")).to_be_visible()
    expect(page.locator("#cast-vote")).to_have_count(0)
    other = open_as(pages, "member2", "zh-CN", f"ballot/{bid}")
    expect(other.locator("#cast-vote")).to_be_visible()
    expect(other.locator("#vote-recorded")).to_have_count(0)
