"""The lead's quality-control table and a paused annotator's page in Debian's chromium, at
390 px and 1366 px: both fit without sideways scrolling, and the buttons work in a real
browser (pause, then the annotator's page says so)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from annotation.models import Annotator, LikertJudgment, Membership
from annotation.services.assignments import annotator_for_user
from annotation.services.projects import project_create
from annotation.services.quality import annotator_exclude, gold_mark

from ..exports.factories import scored_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 1366)
SHOTS = os.environ.get("TRENCHCOAT_SCREENSHOTS")


def _cookie(user, live_server) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


@pytest.fixture
def site():
    project = project_create(
        slug="helpfulness-campaign-2026",
        name="Helpfulness campaign 2026",
        domains=[{"name": "chat"}],
    )
    scored = scored_project(project, n_prompts=6, annotators=2, with_run=False)
    keys = list(project.criteria.values_list("key", flat=True))
    gold = gold_mark(
        project=project,
        response=scored.responses[0],
        expected_ratings=dict.fromkeys(keys, 4),
        explanation="Careful and correct.",
    )
    users = {}
    for name, role in (("lead", "lead"), ("annotator-with-a-rather-long-user-name", "annotator")):
        users[role] = get_user_model().objects.create_user(name)
        Membership.objects.create(user=users[role], project=project, role=role)
    annotator = annotator_for_user(user=users["annotator"])
    LikertJudgment.objects.create(
        response=gold.response_a, annotator=annotator, gold=True, ratings=dict.fromkeys(keys, 5)
    )
    annotator_exclude(project=project, annotator=Annotator.objects.get(external_id="rater-0"))
    return {"project": project, "users": users, "annotator": annotator}


def test_the_quality_table_and_the_paused_page_fit_and_work(live_server, browser, site):
    project, users = site["project"], site["users"]
    too_wide = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([_cookie(users["lead"], live_server)])
        page = context.new_page()
        page.goto(f"{live_server.url}/p/{project.slug}/lead/")
        row = page.locator(f'[data-annotator="{site["annotator"].pk}"]')
        assert "1 / 1" in row.inner_text()
        if width == WIDTHS[0]:
            row.get_by_role("button", name="Pause").click()
            page.wait_for_load_state("load")
            assert "is paused" in page.locator(".messages").inner_text()
        assert "paused" in page.locator(f'[data-annotator="{site["annotator"].pk}"]').inner_text()
        pages = [("lead", page)]
        other = context.new_page()
        context.clear_cookies()
        context.add_cookies([_cookie(users["annotator"], live_server)])
        other.goto(f"{live_server.url}/p/{project.slug}/annotate/")
        assert "Paused by the project lead" in other.locator("[data-paused]").inner_text()
        pages.append(("annotator", other))
        for who, p in pages:
            scroll, inner = p.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                too_wide.append(f"{who} at {width} px: {scroll} px wide")
            if SHOTS:
                p.screenshot(path=Path(SHOTS) / f"quality-{who}-{width}.png", full_page=True)
        context.close()
    assert not too_wide, "\n".join(too_wide)
