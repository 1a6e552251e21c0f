"""Browser tests: the staff frontend in a real headless Chromium against the real suite
(every service its own process, demo seed), through Playwright's sync API.

Chromium is Debian's package (with fonts-noto-cjk for Chinese text); no browser is
downloaded.  A missing Chromium fails the tests, it never skips them.
"""
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.conftest import suite  # noqa: F401  (module-scoped: every service as a process)

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
