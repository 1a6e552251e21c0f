"""Administration, provisional handling and recusal in a real headless Chromium (issue 19): the
administrator, in Chinese, creates an organization, registers people, appoints, ends a term with a
reason and appoints a successor secretary (§二, M1), sends an enrolment code that the person redeems
themselves (issue 17); the office issues and revokes an API token and adds and deletes a webhook
(N2), in Chinese and in English; a member records a provisional handling and the secretary
approves it with a button (M6); a member declares a conflict of interest and the ballot and
decision pages show them recused (V4). Each record is looked for in the archive (A1)."""
import datetime as dt
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.support import GROUP_PRESENT, assert_readable, ok, ui_login, wait_for
from tests.e2e import conftest as e2e
from tests.e2e.conftest import DEMO_PASSWORD, login
from tests.support.enrolment import CODE, code_from_inbox

pytestmark = pytest.mark.browser


def english(page):
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def archived(client, kind, subject_id, org_id=None):
    """The archive records of a kind about a subject, as the caller reads them (A1)."""
    params = {"kind": kind, "limit": 200}
    if org_id:
        params["org_id"] = org_id
    r = client.get("/api/v1/records", params=params)
    return [x for x in r.json().get("items", []) if x["subject_id"] == subject_id] if r.status_code == 200 else []


def test_the_administrator_sets_up_an_organization_and_a_person_enrols(pages, suite, screenshots):
    stamp = str(int(time.time() * 1000))[-6:]
    org_name, first, successor = f"测试局党组{stamp}", f"孙一{stamp}", f"孙二{stamp}"
    page = pages.new()
    ui_login(page, "admin")
    page.get_by_role("navigation").get_by_role("link", name="系统管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("系统管理")

    # an organization, two people
    orgs = page.locator("#org-form")
    orgs.get_by_label("组织名称").fill(org_name)
    orgs.get_by_role("button", name="建立组织").click()
    expect(page.locator("#org-work-title")).to_contain_text(org_name)
    for name in (first, successor):
        form = page.locator("#person-form")
        form.get_by_label("姓名").fill(name)
        form.get_by_role("button", name="登记").click()
        expect(page.locator("#person-list")).to_contain_text(name)

    # the first secretary, from 2024
    appoint = page.locator("#appoint-form")
    appoint.get_by_label("成员", exact=True).select_option(label=first)
    appoint.get_by_label("职务").select_option(label="书记")
    appoint.get_by_label("任期开始").fill("2024-01-01")
    appoint.get_by_role("button", name="任命").click()
    terms = page.locator("#terms table")
    expect(terms.locator("tr", has_text=first)).to_contain_text("书记")

    # the term ends on a day with a reason (confirmed first), and the successor is appointed the next day
    end = page.locator("#end-term-form")
    end.get_by_label("任期", exact=True).select_option(label=f"{first} · 书记 · 自 2024-01-01")
    end.get_by_label("结束日期").fill("2025-06-30")
    end.get_by_label("结束原因").select_option(label="调任")
    end.get_by_role("button", name="结束任期").click()
    expect(page.locator("#confirm-text")).to_contain_text("调任")
    page.locator("#confirm-ok").click()
    expect(terms.locator("tr", has_text=first)).to_contain_text("2025-06-30")
    expect(terms.locator("tr", has_text=first)).to_contain_text("调任")
    appoint = page.locator("#appoint-form")
    appoint.get_by_label("成员", exact=True).select_option(label=successor)
    appoint.get_by_label("职务").select_option(label="书记")
    appoint.get_by_label("任期开始").fill("2025-07-01")
    appoint.get_by_role("button", name="任命").click()
    expect(terms.locator("tr", has_text=successor)).to_contain_text("书记")
    # a second secretary at the same time is refused, naming the rule, in Chinese
    appoint = page.locator("#appoint-form")
    appoint.get_by_label("成员", exact=True).select_option(label=first)
    appoint.get_by_label("职务").select_option(label="书记")
    appoint.get_by_label("任期开始").fill("2025-08-01")
    appoint.get_by_role("button", name="任命").click()
    expect(appoint.locator("[role=alert]")).to_contain_text("规则")

    # the enrolment code goes to the successor, never to this page
    enrol = page.locator("#enrol-form")
    enrol.get_by_label("成员", exact=True).select_option(label=f"{successor}（书记）")
    enrol.get_by_role("button", name="发送开通码").click()
    expect(page.locator("#enrol-sent")).to_contain_text(f"开通码已发送给{successor}")
    expect(page.locator("#enrol-sent")).to_contain_text("站内通知")
    assert not CODE.search(page.locator("body").inner_text())
    expect(page.locator("#account-audit tr", has_text=successor).first).to_be_visible()
    expect(page.locator("#account-audit")).to_contain_text("签发开通码")
    assert_readable(page)
    screenshots(page, "60-admin-zh-CN")

    admin, _ = login(pages.base, "admin")
    person_id = next(p["person_id"] for p in ok(admin.get("/api/v1/persons"))["items"] if p["name"] == successor)
    org_id = next(o["org_id"] for o in ok(admin.get("/api/v1/organizations"))["items"] if o["name"] == org_name)
    code = code_from_inbox(e2e.notifications_db(suite), person_id)

    # the person binds their own account with the code, then logs in holding the secretary's role
    person = pages.new()
    person.get_by_role("link", name="开通您的账号").click()
    person.get_by_label("开通码").fill(code)
    person.get_by_label("用户名").fill(f"sun{stamp}")
    person.get_by_label("密码").fill(DEMO_PASSWORD)
    person.get_by_role("button", name="开通账号").click()
    expect(person.locator("#enrol-done")).to_contain_text("账号已开通")
    person.locator("#to-login").click()
    ui_login(person, f"sun{stamp}")
    expect(person.locator(".welcome")).to_contain_text(f"{successor}，您好（书记）")
    page.reload()
    expect(page.locator("#account-audit")).to_contain_text("本人开通账号")

    # the terms reach the archive (A1): the ended one with its reason, and the successor's
    secretary, _ = login(pages.base, f"sun{stamp}")
    wait_for(lambda: archived(secretary, "term", person_id, org_id), "the successor's term in the archive")
    first_id = next(p["person_id"] for p in ok(admin.get("/api/v1/persons"))["items"] if p["name"] == first)
    wait_for(lambda: any((r.get("content") or {}).get("end_reason") == "transfer"
                         for r in archived(secretary, "term", first_id, org_id)), "the ended term in the archive")


OFFICE_TEXT = {
    "zh-CN": {"nav": "接口与回调", "token_name": "令牌名称", "issue": "签发令牌", "done": "已保存，刷新列表",
              "revoke": "吊销令牌", "revoked": "吊销", "url": "回调地址", "add": "添加回调", "delete": "删除回调",
              "stopped": "已停用", "rule": "规则 N2"},
    "en": {"nav": "Integrations", "token_name": "Token name", "issue": "Issue the token", "done": "Saved; refresh the list",
           "revoke": "Revoke the token", "revoked": "Revoked", "url": "Address (URL)", "add": "Add the webhook",
           "delete": "Delete the webhook", "stopped": "Stopped", "rule": "Rule N2"},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_office_issues_and_revokes_a_token_and_adds_and_deletes_a_webhook(pages, screenshots, lang):
    x = OFFICE_TEXT[lang]
    stamp = str(int(time.time() * 1000))[-6:]
    token_name, url = f"报表系统 {lang} {stamp}", f"https://93.184.216.34/hook-{lang}-{stamp}"
    page = pages.new()
    if lang == "en":
        english(page)
    ui_login(page, "office", lang)
    page.get_by_role("navigation").get_by_role("link", name=x["nav"]).click()

    tokens = page.locator("#token-form")
    tokens.get_by_label(x["token_name"]).fill(token_name)
    tokens.get_by_role("button", name=x["issue"]).click()
    token = page.locator("#new-token")
    expect(token).to_be_visible()
    value = token.input_value()
    assert len(value) > 40
    # the token works: a read-only call with it answers
    assert requests.get(pages.base + "/api/v1/meetings", headers={"Authorization": f"Bearer {value}"},
                        timeout=20).status_code == 200
    page.get_by_role("button", name=x["done"]).click()
    row = page.locator("#api-tokens tr", has_text=token_name)
    expect(row).to_be_visible()
    expect(page.locator("#new-token")).to_have_count(0)          # shown once only
    row.locator(".revoke-token").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#api-tokens tr", has_text=token_name)).to_contain_text(x["revoked"])
    assert requests.get(pages.base + "/api/v1/meetings", headers={"Authorization": f"Bearer {value}"},
                        timeout=20).status_code == 401

    # an internal address is refused (N2), naming the rule; a public one is added, then deleted
    hooks = page.locator("#webhook-form")
    hooks.get_by_label(x["url"]).fill("https://127.0.0.1/hook")
    hooks.get_by_role("button", name=x["add"]).click()
    expect(hooks.locator("[role=alert]")).to_contain_text(x["rule"])
    hooks.get_by_label(x["url"]).fill(url)
    hooks.get_by_role("button", name=x["add"]).click()
    expect(page.locator("#webhook-secret-value")).to_be_visible()
    page.locator("#webhook-secret").get_by_role("button", name=x["done"]).click()
    row = page.locator("#webhooks tr", has_text=url)
    expect(row).to_be_visible()
    screenshots(page, f"61-integrations-{lang}")
    row.locator(".delete-webhook").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#webhooks tr", has_text=url)).to_contain_text(x["stopped"])
    assert_readable(page)


def test_a_member_records_a_provisional_handling_and_the_secretary_approves_it(pages, screenshots):
    stamp = str(int(time.time() * 1000))[-6:]
    title = f"汛期物资临时调拨{stamp}"
    member = pages.new()
    ui_login(member, "member2")
    member.get_by_role("navigation").get_by_role("link", name="临机处置").click()
    form = member.locator("#provisional-form")
    form.get_by_label("标题").fill(title)
    form.get_by_label("处置情况").fill("汛情紧急，先行调拨救灾物资")
    form.get_by_role("button", name="提交记录").click()
    row = member.locator("tr", has_text=title)
    expect(row).to_contain_text("待书记同意")
    expect(row).to_contain_text("党组成员二")
    expect(member.locator(".approve-handling")).to_have_count(0)     # only the secretary approves

    secretary = pages.new()
    ui_login(secretary, "secretary")
    secretary.goto(f"{pages.base}/#/provisional?status=awaiting_approval")
    secretary.locator(f".approve-handling[data-title='{title}']").click()
    expect(secretary.locator("#confirm-text")).to_contain_text(title)
    secretary.locator("#confirm-ok").click()
    expect(secretary.locator("tr", has_text=title)).to_have_count(0)     # no longer awaiting approval
    secretary.goto(f"{pages.base}/#/provisional")
    row = secretary.locator("tr", has_text=title)
    expect(row).to_contain_text("书记已同意")
    expect(row).to_contain_text("张书记")
    assert_readable(secretary)
    screenshots(secretary, "62-provisional-zh-CN")

    sec, _ = login(pages.base, "secretary")
    handling = next(h for h in ok(sec.get("/api/v1/provisional-handlings"))["items"] if h["title"] == title)
    assert handling["status"] == "approved" and handling["approved_by"] == "demo-secretary"
    wait_for(lambda: archived(sec, "provisional_handling", handling["handling_id"]), "the handling in the archive")


def test_a_member_declares_a_conflict_and_is_shown_recused(pages, screenshots):
    sec, _ = login(pages.base, "secretary")
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).isoformat()
    mid = ok(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情",
                                                "title": "党组紧急会议（回避）", "scheduled_at": when}))["meeting_id"]
    tid = ok(sec.post(f"/api/v1/meetings/{mid}/topics", json={"title": "租用亲属名下仓库", "category": "work_plan"}))["topic_id"]
    ok(sec.post(f"/api/v1/meetings/{mid}/notice"))
    ok(sec.post(f"/api/v1/meetings/{mid}/open", json={"present": GROUP_PRESENT, "leave": []}))
    ballot_id = ok(sec.post("/api/v1/ballots", json={"meeting_id": mid, "topic_id": tid, "method": "named"}))["ballot_id"]

    member = pages.new()
    ui_login(member, "member3")
    member.goto(f"{pages.base}/#/ballot/{ballot_id}")
    expect(member.locator("#ballot-recused")).to_have_text("暂无")
    form = member.locator("#conflict-form")
    form.get_by_label("利害关系说明").fill("仓库为本人亲属所有")
    form.get_by_role("button", name="声明回避").click()
    expect(member.locator("#confirm-text")).to_contain_text("租用亲属名下仓库")
    member.locator("#confirm-ok").click()
    expect(member.locator("#you-are-recused")).to_be_visible()
    expect(member.locator("#ballot-recused")).to_have_text("党组成员三")
    expect(member.locator("#vote-form")).to_have_count(0)
    # not counted in the item's N (V4): 9 in office, 8 for this item
    expect(member.locator("#ballot-progress")).to_contain_text("应到 8 人")
    screenshots(member, "63-recused-zh-CN")

    for user in ["secretary", "deputy", "member1", "member2", "member4"]:
        voter, _ = login(pages.base, user)
        ok(voter.post(f"/api/v1/ballots/{ballot_id}/votes", json={"choice": "yes"}))
    decision = ok(sec.post(f"/api/v1/ballots/{ballot_id}/close", json={}))
    decision_id = decision.get("decision_id") or decision["decision"]["decision_id"]
    member.goto(f"{pages.base}/#/decision/{decision_id}")
    expect(member.locator("#decision-recused")).to_have_text("回避：党组成员三")
    expect(member.locator("tr", has_text="党组成员三").locator("td[data-col=recused]")).to_have_text("是")
    assert_readable(member)
    wait_for(lambda: any(r["subject_id"] == decision_id and "demo-member3" in (r.get("content") or {}).get("recused", [])
                         for r in ok(sec.get("/api/v1/records", params={"kind": "decision", "meeting_id": mid}))["items"]),
             "the decision with its recusal in the archive")
