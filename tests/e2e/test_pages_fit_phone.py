"""Every page a lead or a researcher uses fits a 390 px phone and a 1366 px laptop in Debian's
chromium: the page itself never scrolls sideways (wide tables scroll inside their card).

The pages hold data that makes them wide: a finished aggregation run, a release, a scoring
run, imports (done, re-imported and failed with problems), API tokens with long names.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from annotation.models import Dispute, ImportBatch, Membership
from annotation.services.projects import project_create
from annotation.services.tokens import api_token_create
from exports.services.build import release_build, release_request
from scoring.models import Scorer
from scoring.scoring_runs import scoring_run_chunk, scoring_run_start
from scoring.services import aggregation_run_create

from ..exports.factories import scored_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# (who, path) for every page a lead or researcher uses. {slug}, {run}, {job} and {project}
# are filled in from the data below; add a row when you add a page.
PAGES = [
    ("lead", "/"),
    ("lead", "/p/{slug}/lead/"),
    ("lead", "/scoring/p/{slug}/"),
    ("lead", "/scoring/p/{slug}/scorers/"),
    ("lead", "/scoring/p/{slug}/scoring-runs/{run}/"),
    ("lead", "/releases/p/{slug}/"),
    ("lead", "/p/{slug}/imports/"),
    ("lead", "/p/{slug}/imports/{job}/"),
    ("lead", "/p/{slug}/near-duplicates/"),
    ("lead", "/releases/me/token/"),
    ("lead", "/p/{slug}/guidelines/"),
    ("lead", "/scoring/p/{slug}/annotators/"),
    ("lead", "/p/{slug}/lead/disputes/"),
    ("lead", "/p/{slug}/lead/disputes/{dispute}/"),
    ("lead", "/p/{slug}/lead/disputes/{pair_dispute}/"),
    # The lead page's panels, opened on their own (on the lead page they load by HTMX):
    # whole pages then (annotation.fragments).
    ("lead", "/scoring/p/{slug}/dashboard/per-day/"),
    ("lead", "/scoring/p/{slug}/dashboard/agreement/"),
    ("lead", "/scoring/p/{slug}/dashboard/completion/"),
    ("lead", "/releases/p/{slug}/jobs/"),
    ("lead", "/scoring/p/{slug}/models/panel/"),
    ("lead", "/p/{slug}/lead/composition/"),
    ("lead", "/scoring/p/{slug}/panel/"),
    ("lead", "/releases/p/{slug}/panel/"),
    ("lead", "/admin/"),
    ("lead", "/admin/annotation/project/{project}/change/"),
    ("researcher", "/"),
    ("researcher", "/scoring/p/{slug}/"),
    ("researcher", "/scoring/p/{slug}/scorers/"),
    ("researcher", "/releases/p/{slug}/"),
    ("researcher", "/releases/me/token/"),
    ("researcher", "/p/{slug}/guidelines/"),
    ("researcher", "/scoring/p/{slug}/dashboard/agreement/"),
    ("researcher", "/releases/p/{slug}/jobs/"),
]
WIDTHS = (390, 1366)
# Set to a folder to keep a full-page screenshot of every page at every width.
SHOTS = os.environ.get("TRENCHCOAT_SCREENSHOTS")

LONG_NAME = "nightly-export-of-the-helpfulness-campaign-to-the-reward-model-training-bucket"


@pytest.fixture
def site(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "releases"
    project = project_create(
        slug="helpfulness-campaign-2026",
        name="Helpfulness campaign 2026",
        domains=[
            {"name": "chat", "target_share": 0.25},
            {"name": "code-generation-and-review", "target_share": 0.5},
            {"name": "math", "target_share": 0.25},
        ],
    )
    project.guidelines = "# Rate carefully\n\n" + "Read the whole response. " * 40
    project.save(update_fields=["guidelines"])
    scored_project(project, n_prompts=12, annotators=3, with_run=False)
    aggregation_run_create(project=project, trigger="command", n_resamples=50)
    release_build(release=release_request(project=project))
    scorer = Scorer.objects.create(
        name="length-in-characters-of-the-response",
        kind="metric",
        backend="builtin",
        metric="length_chars",
    )
    run, _ = scoring_run_start(project=project, scorer=scorer)
    scoring_run_chunk(run_id=run.pk, index=0)
    ImportBatch.objects.create(
        project=project,
        kind="items",
        filename="items-" + "x" * 80 + ".jsonl",
        sha256="a" * 64,
        counts={"prompts": 12, "responses": 36, "merged": {}, "unchanged": {}},
        options={"on_duplicate": "merge"},
    )
    ImportBatch.objects.create(
        project=project,
        kind="items",
        filename="items-again.jsonl",
        counts={"prompts": 0, "responses": 0, "unchanged": {"prompts": 12, "responses": 36}},
    )
    failed = ImportBatch.objects.create(
        project=project,
        kind="judgments",
        filename="judgments.jsonl",
        status=ImportBatch.Status.FAILED,
        lines_total=3000,
        error="judgments.jsonl rejected, nothing was written (2 problems)",
        problems=[
            {"line": 12, "field": "response_id", "message": "unknown response " + "r" * 120},
            {"line": 3, "field": "ratings", "message": "missing criterion 'usefulness'"},
        ],
    )
    users = {}
    for role in ("lead", "researcher"):
        user = get_user_model().objects.create_user(role, password="pw-" + role)
        Membership.objects.create(user=user, project=project, role=role)
        api_token_create(user=user, name=LONG_NAME, expires_in_days=30)
        users[role] = user
    return {
        "users": users,
        "values": {
            "slug": project.slug,
            "run": run.pk,
            "job": failed.pk,
            "project": project.pk,
            **{
                name: Dispute.objects.filter(project=project, kind=kind).order_by("id")[0].pk
                for name, kind in (("dispute", "likert"), ("pair_dispute", "pairwise"))
            },
        },
    }


def _session_cookie(user, live_server) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


def test_every_lead_and_researcher_page_fits_a_phone_and_a_laptop(live_server, browser, site):
    too_wide = []
    for who in ("lead", "researcher"):
        cookie = _session_cookie(site["users"][who], live_server)
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            context.add_cookies([cookie])
            page = context.new_page()
            for persona, path in PAGES:
                if persona != who:
                    continue
                url = path.format(**site["values"])
                response = page.goto(live_server.url + url)
                assert response.status == 200, f"{who} {url}: {response.status}"
                page.wait_for_load_state("networkidle")
                scroll, inner = page.evaluate(
                    "[document.documentElement.scrollWidth, window.innerWidth]"
                )
                if scroll > inner:
                    too_wide.append(f"{who} {url} at {width} px: {scroll} px wide")
                if SHOTS:
                    name = re.sub(r"[^a-z0-9]+", "-", f"{who}{url}").strip("-")
                    page.screenshot(path=Path(SHOTS) / f"{name}-{width}.png", full_page=True)
            context.close()
    assert not too_wide, "\n".join(too_wide)
