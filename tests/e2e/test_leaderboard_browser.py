"""The scorer leaderboard and a scorer page in Debian's chromium (DESIGN 6.5, 7.4): real
computed meta-evaluations, the SVG charts drawn, nothing fetched from elsewhere, no script
error or CSP violation (the charts use no inline style), and the page never scrolls sideways on a 390 px phone."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from annotation.models import Membership
from annotation.services.projects import project_create

from ..scoring.metaeval_records import measured_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Set to a folder to keep a full-page screenshot of both pages at both widths.
SHOTS = os.environ.get("TRENCHCOAT_SCREENSHOTS")


@pytest.fixture
def researcher(db):
    project = project_create(
        slug="leaderboard",
        name="Leaderboard",
        domains=[{"name": "code-generation-and-review"}, {"name": "chat"}],
        likert_quorum=3,
        pairwise_quorum=3,
    )
    measured_project("leaderboard", project=project)
    user = get_user_model().objects.create_user("res", password="pw-res")
    Membership.objects.create(user=user, project=project, role="researcher")
    return user


@pytest.mark.parametrize("width", [390, 1366])
def test_the_leaderboard_and_a_scorer_page_draw_their_charts_and_fit_the_screen(
    live_server, browser, researcher, width
):
    client = Client()
    client.force_login(researcher)
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    page.goto(f"{live_server.url}/scoring/p/leaderboard/scorers/")
    board = page.locator("[data-section=leaderboard] figure.chart svg[role=img]")
    assert board.count() == 1
    assert board.bounding_box()["width"] > 200  # drawn, and at a readable size
    assert page.locator("[data-section=leaderboard] svg circle").count() == 2
    assert page.locator("tr[data-row=noise-ceiling]").is_visible()
    _fits(page, width, "leaderboard")

    page.click("th[scope=col] a[data-sort=ece]")
    page.wait_for_url("**?sort=ece")
    page.click("tr[data-scorer-row=chars] th a")
    page.wait_for_url("**/scorers/chars/")
    charts = page.locator("figure.chart svg[role=img]")
    # Voted and score-derived pairs: reliability, tertiles, domains, generators; and probes.
    assert charts.count() == 9
    for i in range(charts.count()):
        assert charts.nth(i).bounding_box()["width"] > 200
    assert page.locator("svg[aria-label^='Reliability diagram']").count() == 2
    _fits(page, width, "scorer")

    origin = urlsplit(live_server.url)
    assert [u for u in requests if urlsplit(u).netloc != origin.netloc] == []
    assert errors == []
    context.close()


def _fits(page, width: int, name: str) -> None:
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if SHOTS:
        page.screenshot(path=Path(SHOTS) / f"{name}-{width}.png", full_page=True)
    assert scroll <= inner, f"{page.url} at {width} px is {scroll} px wide"
