"""The browser the e2e tests drive: Debian's chromium through Playwright's sync API."""

import os
import shutil

import pytest
from django.db import connections

# Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are
# ordinary blocking setup and checks, not async code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("the browser test needs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # While Playwright's loop runs, Django keys connections to its context: close the
        # ones the test opened there, or they would keep the test database from being dropped.
        connections.close_all()
