"""Browser tests: one server for the module, Debian's Chromium driven by Playwright (no downloads)."""
import os

import pytest

from helpers import CHROMIUM, launch, patient, served_app

if not os.path.exists(CHROMIUM):
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)


#: a browser test's limit (pytest-timeout; the suite's is 600 s): its waits allow a busy machine minutes
#: (a fresh clone's first page took over 240 s, the classroom test over 600 s, with two suites and a
#: burner on 2 cores); a test that hangs still ends
BROWSER_TEST_TIMEOUT = 1800


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(BROWSER_TEST_TIMEOUT))


@pytest.fixture(scope="module")
def app_url():
    with served_app() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = launch(pw)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = patient(context.new_page())
    pg.console_errors = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    yield pg
    context.close()
