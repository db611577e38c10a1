"""A worker killed during an aggregation run: the redelivered task (acks_late, same task id)
makes the run, and the killed delivery's run does not stay "running" for ever.

Found by benchmarks/faults.py: after kill -9 of the worker mid-run, the lead's jobs panel
showed the dead delivery's run as running, and polled, indefinitely."""

from __future__ import annotations

import pytest

from annotation.services.projects import project_create
from exports.jobs import jobs_of
from scoring import services
from scoring.models import AggregationRun
from scoring.services import LOST_DELIVERY, aggregation_run_create
from scoring.tasks import aggregation_run

from ..waiting import wait_until
from .factories import prompt_with_responses, rate, raters

TASK_ID = "4f1c2a53-7c1e-4d59-9a0b-2f5d3c9e8a11"


class WorkerKilled(BaseException):
    """What the delivery sees of kill -9: nothing after this point runs, no except clause
    for Exception records a failure."""


def _project(slug: str):
    project = project_create(slug=slug, name=slug, domains=[{"name": "g"}], likert_quorum=2)
    r1, r2 = raters(project, 2)
    _, (response,) = prompt_with_responses(project, 1)
    rate(response, r1, usefulness=3, factuality=3, safety=3, alignment=3)
    rate(response, r2, usefulness=4, factuality=3, safety=3, alignment=3)
    return project


def _killed_mid_run(monkeypatch, project, task_id: str) -> AggregationRun:
    """Run the task's service until the math, and die there as a killed worker does."""

    def die(inp):
        raise WorkerKilled

    with monkeypatch.context() as m:
        m.setattr(services.core_aggregate, "aggregate", die)
        with pytest.raises(WorkerKilled):
            aggregation_run_create(
                project=project, trigger="api", reuse_identical=True, task_id=task_id
            )
    return AggregationRun.objects.get(project=project)


@pytest.mark.slow
def test_a_redelivered_task_fails_the_run_its_killed_delivery_left_running(
    celery_worker, worker_closes_its_connection, monkeypatch
):
    project = _project("redelivered")
    dead = _killed_mid_run(monkeypatch, project, TASK_ID)
    assert dead.status == "running"
    assert [j.name for j in jobs_of(project=project).active] == [f"Aggregation run {dead.pk}"]

    # The broker hands the unacknowledged message to a new worker: same task id.
    aggregation_run.apply_async((project.pk, "api"), task_id=TASK_ID)
    run = wait_until(
        lambda: AggregationRun.objects.filter(project=project, status="done").first(),
        "the redelivered run finished",
    )

    dead.refresh_from_db()
    assert dead.status == "failed" and dead.error == LOST_DELIVERY
    assert dead.finished_at is not None
    assert run.task_id == TASK_ID and run.counts["responses_scored"] == 1
    assert jobs_of(project=project).active == []


@pytest.mark.django_db
def test_another_tasks_run_still_running_is_left_alone(monkeypatch):
    project = _project("concurrent")
    other = _killed_mid_run(monkeypatch, project, "another-task")
    run = aggregation_run_create(project=project, trigger="api", task_id=TASK_ID)
    other.refresh_from_db()
    assert other.status == "running" and other.error == ""
    assert run.status == "done"
