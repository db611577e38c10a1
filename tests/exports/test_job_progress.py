"""The lead dashboard's live jobs panel (exports/jobs_views.py): running aggregation runs,
release builds and scoring runs, read from the database on every poll. It polls only while
something runs, and a run that finished shows as finished, never as queued."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Membership
from exports.services.build import release_build, release_request
from scoring.models import AggregationRun, Scorer
from scoring.scoring_runs import scoring_run_chunk, scoring_run_start

from ..annotation.builders import make_project
from .factories import scored_project

# How the lead page fetches a panel (a whole page otherwise: annotation.fragments).
HTMX = {"HX-Request": "true"}

pytestmark = pytest.mark.django_db


def url(slug: str) -> str:
    return f"/releases/p/{slug}/jobs/"


def panel(client, user, slug: str = "demo") -> str:
    client.force_login(user)
    response = client.get(url(slug))
    assert response.status_code == 200
    return response.content.decode()


def polls(html: str) -> bool:
    return 'hx-trigger="every 2s"' in html


@pytest.fixture
def scorer(db):
    return Scorer.objects.create(
        name="length", kind="metric", backend="builtin", metric="length_chars"
    )


def test_with_nothing_running_the_panel_says_so_and_does_not_poll(client, project, lead_user):
    html = panel(client, lead_user)
    assert "Nothing running." in html and not polls(html)


def test_a_queued_scoring_run_polls_and_once_done_shows_done_and_stops(
    client, project, lead_user, scorer
):
    scored_project(project, n_prompts=3, with_run=False)
    run, _ = scoring_run_start(project=project, scorer=scorer)
    html = panel(client, lead_user)
    assert polls(html)
    assert 'data-job="scoring" data-status="queued"' in html and "Queued" in html
    scoring_run_chunk(run_id=run.pk, index=0)  # the worker scores the only chunk
    html = panel(client, lead_user)
    assert not polls(html)
    assert "Queued" not in html and 'data-status="queued"' not in html
    assert 'data-job="scoring" data-status="done"' in html
    assert "9 / 9" in html  # 3 prompts x 3 responses scored
    assert "Nothing running." in html


def test_a_release_waiting_for_a_worker_polls_until_it_is_ready(client, project, lead_user):
    scored_project(project, n_prompts=4)
    release = release_request(project=project)
    html = panel(client, lead_user)
    assert polls(html) and 'data-job="release" data-status="pending"' in html
    assert "Waiting for a worker" in html
    release = release_build(release=release)
    html = panel(client, lead_user)
    assert not polls(html)
    assert f"Release v{release.version}" in html and 'data-status="ready"' in html
    assert "Waiting for a worker" not in html


def test_a_running_aggregation_run_polls_and_a_failed_one_shows_failed(client, project, lead_user):
    run = AggregationRun.objects.create(project=project, status=AggregationRun.Status.RUNNING)
    html = panel(client, lead_user)
    assert polls(html) and f"Aggregation run {run.pk}" in html and "1 running" in html
    AggregationRun.objects.filter(pk=run.pk).update(
        status=AggregationRun.Status.FAILED, error="no criteria", finished_at=run.created_at
    )
    html = panel(client, lead_user)
    assert not polls(html)
    assert 'data-job="aggregation" data-status="failed"' in html and "no criteria" in html


def test_leads_researchers_and_staff_see_it_annotators_get_403_outsiders_404(
    client, project, lead_user, researcher_user, annotator_user, outsider_user, django_user_model
):
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    for user, status in (
        (lead_user, 200),
        (researcher_user, 200),
        (staff, 200),
        (annotator_user, 403),
        (outsider_user, 404),
    ):
        client.force_login(user)
        assert client.get(url(project.slug)).status_code == status, user.username


def test_the_panels_queries_do_not_grow_with_annotators_prompts_or_jobs(
    client, django_user_model, django_assert_max_num_queries, scorer
):
    counts = []
    for slug, prompts, annotators, jobs in (("small", 10, 1, 1), ("big", 200, 40, 12)):
        project = make_project(slug=slug)
        scored_project(project, n_prompts=prompts, responses_per_prompt=2, annotators=annotators)
        for _ in range(jobs):
            AggregationRun.objects.create(project=project, status=AggregationRun.Status.RUNNING)
            release_request(project=project)
        scoring_run_start(project=project, scorer=scorer)
        user = django_user_model.objects.create_user(f"lead-{slug}")
        Membership.objects.create(user=user, project=project, role=Membership.Role.LEAD)
        client.force_login(user)
        with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as ctx:
            assert client.get(url(slug), headers=HTMX).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert 0 < counts[0] == counts[1], counts
