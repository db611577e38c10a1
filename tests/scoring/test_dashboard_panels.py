"""The lead dashboard's chart panels (scoring/dashboard_views.py): judgments per day, alpha
across runs, completion against targets. Each renders with data and empty, draws its chart,
lets leads and researchers in (no people shown) and keeps annotators and outsiders out, and
reads a number of queries that does not grow with annotators or prompts."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation.models import LikertJudgment, Membership, PairwiseJudgment
from annotation.services.assignments import assignment_claim_next
from annotation.services.dashboard import dashboard_refresh
from annotation.services.judgments import judgment_submit_likert
from annotation.services.tasks import tasks_sync
from scoring.models import AggregationRun

from ..annotation.builders import add_items, make_annotator, make_project, ratings_for
from ..exports.factories import scored_project

# How the lead page fetches a panel (a whole page otherwise: annotation.fragments).
HTMX = {"HX-Request": "true"}

pytestmark = pytest.mark.django_db

PANELS = ("per-day", "agreement", "completion")
CRITERIA = ("usefulness", "factuality", "safety", "alignment")  # a new project's defaults


def url(slug: str, panel: str) -> str:
    return f"/scoring/p/{slug}/dashboard/{panel}/"


def between(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def estimate(value, low=None, high=None, reason=""):
    return {"value": value, "ci_low": low, "ci_high": high, "reason": reason, "n_units": 10}


def finished_run(project, criteria: dict, pairwise: dict | None = None) -> AggregationRun:
    """A finished run whose agreement has the shape scoring.core.aggregate writes."""
    return AggregationRun.objects.create(
        project=project,
        status=AggregationRun.Status.DONE,
        agreement={
            "criteria": {
                key: {"level": "ordinal", "alpha": {"ordinal": e, "interval": e}}
                for key, e in criteria.items()
            },
            "pairwise": pairwise or {},
            "overall": {},
        },
        finished_at=timezone.now(),
    )


@pytest.fixture
def lead(project, lead_user):
    return lead_user


@pytest.mark.parametrize("panel", PANELS)
def test_each_panel_lets_leads_researchers_and_staff_in_and_keeps_others_out(
    client,
    project,
    lead_user,
    researcher_user,
    annotator_user,
    outsider_user,
    panel,
    django_user_model,
):
    for user, status in (
        (lead_user, 200),
        (researcher_user, 200),
        (annotator_user, 403),
        (outsider_user, 404),
        (django_user_model.objects.create_user("staff", is_staff=True), 200),
    ):
        client.force_login(user)
        assert client.get(url(project.slug, panel)).status_code == status, user.username
    client.logout()
    assert client.get(url(project.slug, panel)).status_code == 302  # to the login page


def test_judgments_per_day_stack_likert_and_pairwise_over_30_days_with_zero_days(
    client, project, lead
):
    scored_project(project, n_prompts=4, responses_per_prompt=2, annotators=3, with_run=False)
    # 8 responses x 3 annotators = 24 Likert, 4 pairs x 3 = 12 pairwise, all today; move
    # 5 Likert to 3 days ago and 2 pairwise to 40 days ago (outside the window).
    now = timezone.now()
    likert = LikertJudgment.objects.filter(response__project=project).order_by("id")
    LikertJudgment.objects.filter(pk__in=list(likert.values_list("pk", flat=True)[:5])).update(
        created_at=now - timedelta(days=3)
    )
    pairwise = PairwiseJudgment.objects.filter(prompt__project=project).order_by("id")
    PairwiseJudgment.objects.filter(pk__in=list(pairwise.values_list("pk", flat=True)[:2])).update(
        created_at=now - timedelta(days=40)
    )
    client.force_login(lead)
    html = client.get(url(project.slug, "per-day")).content.decode()
    assert 'role="img"' in html and "<svg" in html
    table = between(html, "<tbody>", "</tbody>")
    assert table.count("<tr>") == 30  # every day of the window, empty ones included
    today = timezone.localdate(now)
    three_ago = today - timedelta(days=3)
    label = lambda d: f"{d:%a} {d.day} {d:%b}"  # noqa: E731
    assert f'<th scope="row">{label(today)}</th><td>19</td><td>10</td><td>29</td>' in table
    assert f'<th scope="row">{label(three_ago)}</th><td>5</td><td>0</td><td>5</td>' in table
    assert f'<th scope="row">{label(today - timedelta(days=1))}</th><td>0</td><td>0</td>' in table
    assert "34 judgments in 30 days: 24 Likert, 10 pairwise" in html


def test_judgments_per_day_without_judgments_says_so(client, project, lead):
    client.force_login(lead)
    html = client.get(url(project.slug, "per-day")).content.decode()
    assert "No judgments in the last 30 days." in html and "<svg" not in html


def test_alpha_across_runs_draws_each_criterion_with_its_band_and_the_target(client, project, lead):
    project.agreement_target = 0.667
    project.save(update_fields=["agreement_target"])
    key = project.criteria.order_by("position").values_list("key", flat=True)[0]
    first = finished_run(project, {key: estimate(0.41, 0.30, 0.52)})
    second = finished_run(
        project,
        {key: estimate(0.72, 0.65, 0.79)},
        pairwise={"alpha_nominal": estimate(None, reason="fewer than two pairable values")},
    )
    AggregationRun.objects.create(project=project, status=AggregationRun.Status.RUNNING)
    client.force_login(lead)
    html = client.get(url(project.slug, "agreement")).content.decode()
    section = between(html, f'data-trend="{key}"', "</figure>")
    assert 'role="img"' in section and "<polygon" in section  # the CI band
    assert "target 0.667" in section
    assert "latest 0.720: meets" in section
    assert f"run {first.pk}</th><td>0.410</td><td> [0.300, 0.520]</td>" in section
    assert f"run {second.pk}</th><td>0.720</td>" in section
    pairwise = between(html, 'data-trend="pairwise choices"', "</figure>")
    assert "undefined (fewer than two pairable values)" in pairwise
    assert f"run {first.pk}</th><td>undefined (no pairwise judgments in this run)" in pairwise
    assert html.count("<tr>") - html.count("<thead><tr>") >= 4  # two runs in each table


def test_alpha_across_runs_without_a_finished_run_says_so(client, project, lead):
    AggregationRun.objects.create(project=project, status=AggregationRun.Status.FAILED)
    client.force_login(lead)
    html = client.get(url(project.slug, "agreement")).content.decode()
    assert "No finished aggregation run yet" in html and "<svg" not in html


def test_completion_chart_shows_each_domains_share_against_its_target_in_points(client):
    project = make_project(slug="cp", likert_quorum=1, domains=(("code", 0.6), ("chat", 0.4)))
    project.origin_targets = {"human": 0.6, "model": 0.4}
    project.save(update_fields=["origin_targets"])
    add_items(project, prompts=3, domain="code")
    add_items(project, prompts=1, domain="chat")
    _, alice = make_annotator(project, "alice")
    for _ in range(4):
        lease = assignment_claim_next(project=project, annotator=alice)
        judgment_submit_likert(
            project=project,
            annotator=alice,
            assignment_id=lease.pk,
            client_key=uuid4(),
            ratings=ratings_for(project),
        )
    lead, _ = make_annotator(project, "lead", role=Membership.Role.LEAD)
    client.force_login(lead)
    html = client.get(url("cp", "completion")).content.decode()
    assert 'role="img"' in html
    # 3 of 4 judgments in code (75% against 60%), 1 in chat (25% against 40%).
    assert '<th scope="row">code</th><td>75.0%</td><td>60.0%</td><td>+15.0 pts</td>' in html
    assert '<th scope="row">chat</th><td>25.0%</td><td>40.0%</td><td>-15.0 pts</td>' in html
    # Every judged response is model-written: 100% against a 40% target, humans 0% against 60%.
    origin = between(html, 'aria-label="Response origin', "</figure>")
    assert "<td>100.0%</td><td>40.0%</td><td>+60.0 pts</td>" in origin
    assert "<td>0.0%</td><td>60.0%</td><td>-60.0 pts</td>" in origin


def test_completion_without_tasks_says_so(client, project, lead):
    client.force_login(lead)
    html = client.get(url(project.slug, "completion")).content.decode()
    assert "No domains with tasks yet." in html and "<svg" not in html


@pytest.mark.parametrize("panel", PANELS)
def test_a_panels_queries_do_not_grow_with_annotators_or_prompts(
    client, django_user_model, django_assert_max_num_queries, panel
):
    counts = []
    for slug, prompts, annotators in (("small", 10, 1), ("big", 200, 40)):
        project = make_project(slug=slug, domains=(("a", 0.5), ("b", 0.5)))
        scored = scored_project(
            project, n_prompts=prompts, responses_per_prompt=2, annotators=annotators
        )
        tasks_sync(project=project)  # the domains' progress rows the completion panel reads
        for _ in range(3):
            finished_run(project, {key: estimate(0.5, 0.4, 0.6) for key in CRITERIA})
        assert scored.run is not None
        user = django_user_model.objects.create_user(f"lead-{slug}")
        Membership.objects.create(user=user, project=project, role=Membership.Role.LEAD)
        client.force_login(user)
        dashboard_refresh(project_id=project.pk)  # as the queued job does after the commits
        with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as ctx:
            assert client.get(url(slug, panel), headers=HTMX).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert 0 < counts[0] == counts[1], counts
