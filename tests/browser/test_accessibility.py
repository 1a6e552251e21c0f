"""axe-core on every page each role reaches, at desktop, tablet and phone width, in Chinese and in
English: no violation at all. axe-core comes from a Python package (its bundled axe.min.js, no
download) and is evaluated in the page. Each page is kept as a screenshot (artifacts/)."""
import datetime as dt
import importlib.resources
import json

import pytest
from playwright.sync_api import expect

from tests.browser.support import GROUP_PRESENT, ok, passed_decision, ui_login, wait_for
from tests.e2e.conftest import login

pytestmark = pytest.mark.browser

AXE = importlib.resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
VIEWPORTS = {"1280x800": (1280, 800), "1024x768": (1024, 768), "390x844": (390, 844)}
ROLES = ["secretary", "member4", "office", "hr", "confidential", "discipline", "admin"]


def axe_violations(page):
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE + "\n;undefined")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ["violations"] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
    }""")
    return result


@pytest.fixture(scope="module")
def sample(base):
    """A closed meeting with a decision, and a draft meeting: pages with content to check."""
    closed, decision_id = passed_decision(base, "党组紧急会议（无障碍）", "无障碍检查议题", close_meeting=True)
    sec, _ = login(base, "secretary")
    office, _ = login(base, "office")
    # issue 19: a numbered document (M10), a meeting in session with its live quorum (M8) and a
    # democratic life meeting's page (M11)
    document = ok(office.post(f"/api/v1/meetings/{closed}/documents", json={
        "kind": "summary", "title": "无障碍检查纪要", "body": "纪要正文", "scope": ["demo-secretary", "demo-member4"]}))
    ok(sec.post(f"/api/v1/documents/{document['document_id']}/sign-off"))
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).isoformat()
    opened = ok(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情",
                                                   "title": "党组紧急会议（无障碍，进行中）", "scheduled_at": soon}))["meeting_id"]
    ok(sec.post(f"/api/v1/meetings/{opened}/topics", json={"title": "进行中议题", "category": "work_plan"}))
    ok(sec.post(f"/api/v1/meetings/{opened}/notice"))
    ok(sec.post(f"/api/v1/meetings/{opened}/open", json={"present": GROUP_PRESENT, "leave": []}))
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()
    dl = ok(sec.post("/api/v1/meetings", json={"kind": "democratic_life", "title": "民主生活会（无障碍）",
                                               "theme": "无障碍检查主题", "scheduled_at": later}))["meeting_id"]
    wait_for(lambda: sec.get(f"/api/v1/decisions/{decision_id}/record").status_code == 200, "the decision's record")
    record_id = sec.get(f"/api/v1/decisions/{decision_id}/record").json()["record_id"]
    return {"closed": closed, "decision": decision_id, "document": document["document_id"], "opened": opened, "dl": dl,
            "record": record_id}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_page_has_no_axe_violation(pages, screenshots, sample, viewport, lang):
    width, height = VIEWPORTS[viewport]
    found = {}
    for user in ROLES:
        page = pages.new(width=width, height=height)
        if lang == "en":
            page.get_by_role("button", name="English").click()
        if user == ROLES[0]:
            found["login"] = axe_violations(page)
            page.goto(f"{pages.base}/#/enrol")          # issue 17: the public page to redeem an enrolment code
            expect(page.locator("#enrol-form")).to_be_visible()
            found["enrol"] = axe_violations(page)
            screenshots(page, f"axe-{viewport}-{lang}-enrol")
            page.goto(f"{pages.base}/#/login")
        ui_login(page, user, lang)
        links = page.get_by_role("navigation").get_by_role("link")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        extra = [f"#/meeting/{sample['closed']}", f"#/meeting/{sample['closed']}/minutes",
                 f"#/decision/{sample['decision']}", f"#/decision/{sample['decision']}/timeline",
                 f"#/meeting/{sample['opened']}", f"#/document/{sample['document']}",
                 f"#/meeting/{sample['dl']}/democratic-life",
                 f"#/record/{sample['record']}", "#/read-log",       # issue 19: reached from the archive
                 "#/search?q=会议"]                                   # issue 19: search with results
        for href in hrefs + extra:
            page.goto(f"{pages.base}/{href}")
            expect(page.locator("#main[aria-busy]")).to_have_count(0)
            # a page a role may not use shows the server's refusal: it is checked too
            expect(page.locator("#main h1, #main [role=alert]").first).to_be_visible()
            violations = axe_violations(page)
            name = href.strip("#/").replace("/", "-") or "home"
            if violations:
                found[f"{user} {href}"] = violations
            screenshots(page, f"axe-{viewport}-{lang}-{user}-{name[:40]}")
    assert not {k: v for k, v in found.items() if v}, json.dumps(found, ensure_ascii=False, indent=1)
