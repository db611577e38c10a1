"""The annotator's real path in a real browser: Playwright driving Debian's chromium."""

import os
import shutil

import pytest
from django.db import connections

from annotation.models import LikertJudgment, PairwiseJudgment

from ..annotation.test_assign_builders import add_items, make_annotator, make_project

# Playwright's sync API runs an event loop in this thread; the ORM calls here are ordinary
# blocking setup and checks, not async code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

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


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]
)
def test_an_annotator_rates_two_responses_and_compares_them_by_keyboard_alone(
    live_server, browser, viewport
):
    project = make_project(slug="e2e", likert_quorum=1, pairwise_quorum=1)
    add_items(
        project,
        prompts=1,
        responses=2,
        prompt_text="Write a **haiku**",
        response_text="Haiku number {j}",
    )
    user, annotator = make_annotator(project, "kim", password="correct-horse-battery")

    page = browser.new_page(viewport=viewport)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/p/e2e/annotate/")
    page.fill("#id_username", "kim")
    page.fill("#id_password", "correct-horse-battery")
    page.keyboard.press("Enter")
    page.wait_for_selector("section#task[data-kind=likert]")
    # Keys pressed before htmx and the shortcuts are up would post the plain form instead.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    assert page.inner_html("[data-prompt]").strip() == "<p>Write a <strong>haiku</strong></p>"

    leases = []
    for values in ("4253", "5111"):
        page.wait_for_function("() => document.activeElement.name === 'rating-usefulness'")
        lease = page.get_attribute("section#task", "data-lease")
        leases.append(lease)
        # Focus starts on the first criterion; each digit rates one and moves to the next.
        for digit in values:
            page.keyboard.press(digit)
        page.keyboard.press("Enter")
        page.wait_for_function(
            "lease => { const t = document.querySelector('section#task'); return t && t.dataset.lease !== lease; }",
            arg=lease,
        )
        assert page.locator("p.notice").inner_text() == "Saved."

    page.wait_for_selector("section#task[data-kind=pairwise]")
    assert (
        page.locator("[data-side=left]").count() == 1
        and page.locator("[data-side=right]").count() == 1
    )
    page.keyboard.press("?")
    assert page.locator("[data-shortcuts]").get_attribute("open") is not None
    page.keyboard.press("?")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-nothing]")
    assert "Today: 3 judgments" in page.inner_text(".progress-group")
    assert errors == []
    page.close()

    ratings = sorted(
        tuple(j.ratings[k] for k in ("usefulness", "factuality", "safety", "alignment"))
        for j in LikertJudgment.objects.filter(annotator=annotator)
    )
    assert ratings == [(4, 2, 5, 3), (5, 1, 1, 1)]
    pairwise = PairwiseJudgment.objects.get(annotator=annotator)
    assert pairwise.choice == "right"
    assert all(j.duration_ms and j.duration_ms > 0 for j in LikertJudgment.objects.all())
    assert len(set(leases)) == 2
