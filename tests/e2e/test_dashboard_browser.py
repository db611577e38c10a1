"""The lead page's dashboard panels in Debian's chromium, at 390 px and 1366 px: each chart
panel loads by HTMX and draws its chart (an SVG with role="img"), the page never scrolls
sideways, and the jobs panel polls while a scoring run is queued, then shows it done and
stops polling once the worker has scored it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from annotation.models import Membership
from annotation.services.projects import project_create
from annotation.services.tasks import tasks_sync
from scoring.models import Scorer
from scoring.scoring_runs import scoring_run_chunk, scoring_run_start
from scoring.services import aggregation_run_create

from ..exports.factories import scored_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHARTS = ("per-day", "agreement-trend", "completion-chart")


@pytest.fixture
def site():
    project = project_create(
        slug="dash",
        name="Dashboard",
        domains=[{"name": "chat", "target_share": 0.5}, {"name": "code", "target_share": 0.5}],
    )
    scored_project(project, n_prompts=8, annotators=3, with_run=False)
    tasks_sync(project=project)
    aggregation_run_create(project=project, trigger="command", n_resamples=20)
    scorer = Scorer.objects.create(
        name="length", kind="metric", backend="builtin", metric="length_chars"
    )
    run, _ = scoring_run_start(project=project, scorer=scorer)
    lead = get_user_model().objects.create_user("lead")
    Membership.objects.create(user=lead, project=project, role=Membership.Role.LEAD)
    client = Client()
    client.force_login(lead)
    return {"cookie": client.cookies["sessionid"].value, "run": run}


def test_the_dashboard_draws_its_charts_fits_a_phone_and_stops_polling_when_jobs_end(
    live_server, browser, site
):
    for width in (390, 1366):
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies(
            [{"name": "sessionid", "value": site["cookie"], "url": live_server.url}]
        )
        page = context.new_page()
        page.goto(live_server.url + "/p/dash/lead/")
        for section in CHARTS:
            page.wait_for_selector(f'section[data-section="{section}"] svg[role="img"]')
        page.wait_for_selector('#jobs-panel[data-polling] [data-status="queued"]')
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{width} px: the page is {scroll} px wide"
        if width == 1366:
            # The worker scores the only chunk while the page is open: the next poll shows
            # the run done, and the panel it brings has no trigger left.
            scoring_run_chunk(run_id=site["run"].pk, index=0)
            page.wait_for_selector('#jobs-panel [data-job="scoring"][data-status="done"]')
            jobs = page.locator("#jobs-panel")
            assert jobs.get_attribute("hx-trigger") is None
            assert "Queued" not in jobs.inner_text()
        context.close()
