"""Under the Content-Security-Policy, in Debian's chromium: nothing is fetched from another
host, and the app's own pages (annotator, admin, API docs) run without a single violation."""

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from annotation.models import LikertJudgment

from ..annotation.builders import add_items, make_annotator, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REMOTE_IMAGE = "![tracking pixel](https://evil.example/p.png)"
# Listening in every page before its own scripts run (init scripts are exempt from the CSP),
# reporting to the test through a binding that survives navigation.
RECORD_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', e => window.reportViolation(
  `${e.violatedDirective} ${e.blockedURI || 'inline'} in ${location.pathname}`
  + ` (${e.sourceFile || ''}:${e.lineNumber})`));
"""


class Watched:
    """A page whose requests, CSP violations and script errors are all recorded."""

    def __init__(self, browser, live_server):
        self.origin = urlsplit(live_server.url)
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.requests: list[str] = []
        self.console_csp: list[str] = []
        self.reported: list[str] = []
        self.page.expose_binding("reportViolation", lambda _, text: self.reported.append(text))
        self.page.add_init_script(RECORD_VIOLATIONS)
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on(
            "console",
            lambda msg: (
                self.console_csp.append(msg.text) if "Content Security Policy" in msg.text else None
            ),
        )

    def off_site_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if not url.startswith("data:")
            and (urlsplit(url).hostname, urlsplit(url).port)
            != (self.origin.hostname, self.origin.port)
        ]

    def violations(self) -> list[str]:
        return self.reported + self.console_csp

    def log_in(self, url: str, username: str, password: str):
        self.page.goto(url)
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.keyboard.press("Enter")


def test_a_task_with_remote_images_fetches_nothing_off_site_and_htmx_still_swaps(
    live_server, browser
):
    project = make_project(slug="csp", likert_quorum=1, pairwise_quorum=1)
    project.guidelines = "Compare with " + REMOTE_IMAGE
    project.save(update_fields=["guidelines"])
    add_items(
        project,
        prompts=2,
        responses=1,
        prompt_text="Describe " + REMOTE_IMAGE,
        response_text="It shows\n" + REMOTE_IMAGE,
    )
    _, annotator = make_annotator(project, "kim", password="correct-horse-battery")
    watched = Watched(browser, live_server)
    page = watched.page

    watched.log_in(f"{live_server.url}/p/csp/annotate/", "kim", "correct-horse-battery")
    page.wait_for_selector("section#task[data-lease]")
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    assert page.locator("img").count() == 0
    assert page.locator("[data-prompt] a[href='https://evil.example/p.png']").count() == 1

    lease = page.get_attribute("section#task", "data-lease")
    page.wait_for_function("() => document.activeElement.name === 'rating-usefulness'")
    for digit in "4253":
        page.keyboard.press(digit)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "lease => { const t = document.querySelector('section#task');"
        " return t && t.dataset.lease !== lease; }",
        arg=lease,
    )

    assert page.locator("p.notice").inner_text() == "Saved."
    assert LikertJudgment.objects.filter(annotator=annotator).count() == 1
    assert watched.off_site_requests() == []
    assert watched.violations() == [], watched.violations()
    assert watched.errors == []


def test_the_admin_and_the_api_docs_run_without_csp_violations(live_server, browser):
    project = make_project(slug="csp-admin")
    get_user_model().objects.create_superuser("root", password="root-password-for-e2e")
    watched = Watched(browser, live_server)
    page = watched.page

    watched.log_in(f"{live_server.url}/admin/login/?next=/admin/", "root", "root-password-for-e2e")
    page.wait_for_selector("#site-name")
    page.goto(f"{live_server.url}/admin/annotation/project/{project.pk}/change/")
    page.wait_for_selector("form#project_form")
    page.wait_for_load_state("load")
    # The admin's own scripts ran: the inline formsets got their "Add another" links.
    page.wait_for_selector(".add-row a")

    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info .title")

    assert watched.off_site_requests() == []
    assert watched.violations() == [], watched.violations()
    assert watched.errors == []
