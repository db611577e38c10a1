"""The lead dashboard's stored figures (annotation.services.dashboard): what the panels show
from them equals a fresh count after submissions, skips, flags, exclusion and gold. Runs on
PostgreSQL and on SQLite (make test's SQLite pass: the medians are computed in Python
there, and the refresh runs in-process at the commit)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from annotation.composition import project_composition
from annotation.models import DashboardSnapshot, Task
from annotation.quality_selectors import annotator_checks
from annotation.selectors import judgment_totals
from annotation.services.assignments import assignment_claim_next, assignment_skip
from annotation.services.dashboard import (
    dashboard_mark_stale,
    dashboard_refresh,
    stored_annotator_stats,
    stored_per_day,
)
from annotation.services.judgments import judgment_submit_likert, judgment_submit_pairwise
from annotation.services.quality import annotator_exclude, gold_mark
from config.celery import app
from scoring.dashboard import judgments_per_day

from .builders import add_items, make_annotator, make_project, ratings_for

pytestmark = pytest.mark.django_db


def work(project, annotator, n: int, *, skip_every: int = 0, flag_every: int = 0) -> None:
    """``n`` claims through the services: Likert or pairwise as the task comes, every
    ``skip_every``-th skipped, every ``flag_every``-th flagged, durations varied."""
    for i in range(n):
        lease = assignment_claim_next(project=project, annotator=annotator)
        if lease is None:
            return
        if skip_every and i % skip_every == 0:
            assignment_skip(
                project=project, annotator=annotator, assignment_id=lease.pk, reason="unreadable"
            )
            continue
        common = {
            "project": project,
            "annotator": annotator,
            "assignment_id": lease.pk,
            "client_key": uuid4(),
            "flags": ["unsure"] if flag_every and i % flag_every == 0 else [],
            "duration_ms": 1000 * (i + 1) + 7 * annotator.pk,
        }
        if lease.task.kind == Task.Kind.LIKERT:
            # Every other one straight-lined (all criteria the same point).
            ratings = ratings_for(project, 1 + i % 5)
            if i % 2:
                ratings[next(iter(ratings))] = 5 - i % 5
            judgment_submit_likert(ratings=ratings, **common)
        else:
            judgment_submit_pairwise(choice=("left", "right", "tie", "left")[i % 4], **common)


def assert_stored_equals_fresh(project) -> DashboardSnapshot:
    snapshot = DashboardSnapshot.objects.get(project=project)
    stored = annotator_checks(project=project, stats=stored_annotator_stats(snapshot))
    assert stored == annotator_checks(project=project)
    assert project_composition(
        project=project, counts=snapshot.figures["composition"]
    ) == project_composition(project=project)
    assert judgments_per_day(project=project, counts=stored_per_day(snapshot)) == (
        judgments_per_day(project=project)
    )
    assert snapshot.figures["totals"] == judgment_totals(project=project, now=snapshot.computed_at)
    return snapshot


@pytest.fixture
def campaign():
    project = make_project(slug="snap", likert_quorum=2, pairwise_quorum=2, check_min_n=2)
    add_items(project, prompts=8, responses=2)
    people = [make_annotator(project, name)[1] for name in ("ann", "bea", "cal")]
    return project, people


def test_the_stored_figures_equal_a_fresh_count_after_submissions_skips_flags_exclusion_and_gold(
    campaign, django_capture_on_commit_callbacks
):
    project, (ann, bea, cal) = campaign
    first = dashboard_refresh(project_id=project.pk)
    assert first.figures["totals"] == {"judgments": 0, "over_quorum": 0, "active": []}
    with django_capture_on_commit_callbacks(execute=True):
        work(project, ann, 10, flag_every=3)
        work(project, bea, 8, skip_every=4)
    marked = DashboardSnapshot.objects.get(project=project)
    if app.conf.task_always_eager:  # the embedded default: refreshed in-process at the commit
        assert marked.stale_since is None
    else:  # queued to the broker (test_dashboard_refresh_queue.py runs it in a worker)
        assert marked.stale_since is not None and marked.queued_at is not None
        stale = annotator_checks(project=project, stats=stored_annotator_stats(marked))
        assert stale != annotator_checks(project=project)  # what the refresh is for
        dashboard_refresh(project_id=project.pk)
    snapshot = assert_stored_equals_fresh(project)
    assert snapshot.stale_since is None and snapshot.queued_at is None
    checks = annotator_checks(project=project, stats=stored_annotator_stats(snapshot))
    rows = {r.name: r for r in checks.rows}
    assert rows["ann"].flags.k > 0 and rows["bea"].skips.k == 2
    assert rows["ann"].straight_lining.k > 0 and rows["ann"].n_likert + rows["ann"].n_pairwise == 10

    # Exclusion and gold: a gold item, answers to it, and an excluded annotator.
    prompt = project.prompts.order_by("id").last()
    response = prompt.responses.order_by("id").first()
    project.gold_rate = 0.5
    project.save(update_fields=["gold_rate"])
    with django_capture_on_commit_callbacks(execute=True):
        gold_mark(
            project=project,
            response=response,
            expected_ratings=ratings_for(project, 4),
            explanation="Four on every criterion.",
        )
        annotator_exclude(project=project, annotator=bea)
        work(project, cal, 12, flag_every=2)
    dashboard_refresh(project_id=project.pk)  # what the queued (or in-process) refresh runs
    snapshot = assert_stored_equals_fresh(project)
    checks = annotator_checks(project=project, stats=stored_annotator_stats(snapshot))
    rows = {r.name: r for r in checks.rows}
    assert rows["bea"].control.excluded and rows["cal"].control.gold is not None
    gold = snapshot.figures["composition"]
    assert sum(gold["sources"].values()) == 7  # the gold prompt is left out


def test_nothing_is_stored_or_queued_before_a_panel_first_reads_the_figures(campaign):
    project, (ann, _, _) = campaign
    work(project, ann, 2)
    assert dashboard_mark_stale(project_id=project.pk) is False
    assert not DashboardSnapshot.objects.filter(project=project).exists()


def test_a_changed_criterion_is_recounted_on_the_next_read_of_the_annotator_panel(client, campaign):
    project, (ann, _, _) = campaign
    lead, _ = make_annotator(project, "lead", role="lead")
    client.force_login(lead)
    assert client.get(f"/scoring/p/{project.slug}/annotators/").status_code == 200
    before = DashboardSnapshot.objects.get(project=project).computed_at
    project.criteria.order_by("position").last().delete()
    assert client.get(f"/scoring/p/{project.slug}/annotators/").status_code == 200
    snapshot = DashboardSnapshot.objects.get(project=project)
    assert snapshot.computed_at > before and len(snapshot.figures["criteria"]) == 3


def test_the_lead_page_shows_the_stored_total_and_when_it_was_counted(client, campaign):
    project, (ann, _, _) = campaign
    work(project, ann, 3)
    lead, _ = make_annotator(project, "lead", role="lead")
    client.force_login(lead)
    html = client.get("/p/snap/lead/").content.decode()
    assert "· 3 judgments" in html and "(counted at " in html
