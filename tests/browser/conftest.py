"""Browser tests: the staff frontend in a real headless Chromium against the real suite
(every service its own process, demo seed), through Playwright's sync API.

Chromium is Debian's package (with fonts-noto-cjk for Chinese text); no browser is
downloaded.  A missing Chromium fails the tests, it never skips them.
"""
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e import conftest as e2e
from tests.e2e.conftest import login

# How often the accountability service's compliance timer sweeps (C5, C6, C7) in the browser
# suite: every few seconds, so that an overdue report raises its alert while a test waits.
COMPLIANCE_SWEEP_SECONDS = "2"


@pytest.fixture(scope="session")
def suite(broker, tmp_path_factory):
    """The e2e suite (every service as a process, demo seed), started once for every browser test module."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COMPLIANCE_SWEEP_SECONDS", COMPLIANCE_SWEEP_SECONDS)
        yield from e2e.suite.__wrapped__(broker, tmp_path_factory)

def clocked_suite(broker, tmp_path_factory):
    """A suite of a module's own whose clock the module's tests move (controlled clock: M5's 48 h,
    M11's dates), so that the other modules' clock stays put. Use as a module fixture's body."""
    from shared import clock
    clock_file = tmp_path_factory.mktemp("clock") / "offset"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(clock.CONTROLLED_CLOCK_SETTING, str(clock_file))
        env.setenv("COMPLIANCE_SWEEP_SECONDS", COMPLIANCE_SWEEP_SECONDS)
        yield from e2e.suite.__wrapped__(broker, tmp_path_factory)


ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Chromium is not installed: install Debian's chromium and fonts-noto-cjk packages "
                    "(apt-get install chromium fonts-noto-cjk) to run the browser tests", pytrace=False)
    # Not used as a context manager: under the suite's eventlet monkey-patching (root
    # conftest) Playwright's stop() waits for ever for its driver to exit.  The browser is
    # closed here; the driver exits by itself when this process ends and its stdin closes.
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shoot(page, name):
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    return shoot


@pytest.fixture(scope="session")
def base(suite):
    login(suite.base, "secretary")          # waits for the demo seed of the fresh suite
    return suite.base


class Pages:
    """Browser contexts of one test (one per user), each page checked for script errors."""

    def __init__(self, browser, base):
        self.browser, self.base, self.contexts, self.errors = browser, base, [], []

    def new(self, width=1024, height=1366):
        context = self.browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        context.set_default_timeout(15000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        # an HTTP error answer is logged by the browser as "Failed to load resource": the views show those
        page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
                and self.errors.append(msg.text))
        page.goto(self.base + "/")
        return page

    def close(self):
        for c in self.contexts:
            c.close()


@pytest.fixture
def pages(browser, base):
    p = Pages(browser, base)
    yield p
    p.close()
    assert not p.errors, f"script errors in the page: {p.errors}"
