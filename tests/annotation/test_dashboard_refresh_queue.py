"""The lead dashboard's stored figures through the broker: the write path marks them stale
and queues one debounced refresh, a real worker runs it, and the panels say when their
figures were counted and poll while newer work waits (PostgreSQL and Redis only)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.signals import task_postrun
from django.db import connection
from django.utils import timezone

from annotation.models import DashboardSnapshot
from annotation.services.dashboard import dashboard_mark_stale, dashboard_refresh

from ..waiting import wait_until
from .builders import add_items, make_annotator, make_project
from .test_dashboard_snapshot import assert_stored_equals_fresh, work

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    project = make_project(slug="snap", likert_quorum=2, pairwise_quorum=2)
    add_items(project, prompts=4, responses=2)
    return project, [make_annotator(project, name)[1] for name in ("ann", "bea")]


def test_a_burst_of_commits_queues_one_refresh_and_one_after_it_started_queues_the_next(campaign):
    project, _ = campaign
    dashboard_refresh(project_id=project.pk)
    assert dashboard_mark_stale(project_id=project.pk) is True
    assert dashboard_mark_stale(project_id=project.pk) is False  # one is queued already
    # The refresh un-queues before it reads: a commit marked after it started queues again
    # and leaves the figures stale.
    later = timezone.now() + timedelta(minutes=1)
    DashboardSnapshot.objects.filter(project=project).update(stale_since=later)
    snapshot = dashboard_refresh(project_id=project.pk)
    assert snapshot.stale_since == later and snapshot.queued_at is None
    assert dashboard_mark_stale(project_id=project.pk) is True


PANELS = [
    "/scoring/p/snap/annotators/",
    "/scoring/p/snap/dashboard/per-day/",
    "/scoring/p/snap/dashboard/completion/",
    "/p/snap/lead/composition/",
]


@pytest.mark.parametrize("url", PANELS)
def test_each_panel_says_when_it_was_counted_and_polls_itself_while_stale(client, campaign, url):
    project, (ann, _) = campaign
    lead, _ = make_annotator(project, "lead", role="lead")
    client.force_login(lead)
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "data-counted=" in html
    assert "data-refreshing" not in html
    work(project, ann, 1)
    dashboard_mark_stale(project_id=project.pk)
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "data-refreshing" in html and 'hx-trigger="every 5s"' in html
    assert "newer work is being counted" in html
    dashboard_refresh(project_id=project.pk)
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "data-refreshing" not in html


@pytest.fixture
def finished_tasks():
    done: dict[str, object] = {}

    def record(sender=None, task_id=None, retval=None, **kwargs):
        connection.close()  # the worker thread's connection must not outlive the test
        done[task_id] = retval

    task_postrun.connect(record, weak=False)
    yield done
    task_postrun.disconnect(record)


def test_a_submission_queues_the_refresh_and_a_real_worker_runs_it(
    celery_worker, finished_tasks, settings
):
    settings.DASHBOARD_REFRESH_SECONDS = 0
    project = make_project(slug="snapw", likert_quorum=2)
    add_items(project, prompts=3)
    _, ann = make_annotator(project, "ann")
    dashboard_refresh(project_id=project.pk)
    work(project, ann, 2)  # committed (transactional_db): marks stale, queues the refresh

    def refreshed():
        snapshot = DashboardSnapshot.objects.get(project=project)
        return snapshot if snapshot.stale_since is None else None

    snapshot = wait_until(refreshed, "the worker refreshed the dashboard figures")
    assert snapshot.figures["totals"]["judgments"] == 2
    assert_stored_equals_fresh(project)
    assert any(
        isinstance(r, dict) and r.get("project_id") == project.pk for r in finished_tasks.values()
    )


def test_the_refresh_task_is_routed_to_the_aggregate_queue():
    from config.celery import app

    route = app.amqp.router.route({}, "annotation.tasks.dashboard_refresh")
    assert route["queue"].name == "aggregate"
