"""The aggregation task through a real worker, and the debounced automatic trigger."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from annotation.models import ImportBatch
from annotation.services.projects import project_create
from annotation.signals import judgments_recorded
from scoring.models import AggregationRun
from scoring.services import _counter_key, _lock_key
from scoring.tasks import aggregation_run

from .factories import prompt_with_responses, rate, raters


def _wait_for_runs(project, n: int, timeout: float = 60.0) -> list[AggregationRun]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list(AggregationRun.objects.filter(project=project, status="done").order_by("id"))
        if len(runs) >= n:
            return runs
        time.sleep(0.1)
    raise AssertionError(f"no {n} finished runs after {timeout} s")


@pytest.mark.slow
def test_the_task_runs_in_a_real_worker_and_a_redelivery_makes_no_second_run(celery_worker):
    project = project_create(slug="worker", name="W", domains=[{"name": "g"}], likert_quorum=2)
    r1, r2 = raters(project, 2)
    _, (resp,) = prompt_with_responses(project, 1)
    rate(resp, r1, usefulness=3, factuality=3, safety=3, alignment=3)
    rate(resp, r2, usefulness=4, factuality=3, safety=3, alignment=3)
    aggregation_run.delay(project.pk, "api")
    (run,) = _wait_for_runs(project, 1)
    assert run.trigger == "api" and run.counts["responses_scored"] == 1
    # Same input again (e.g. a redelivered message): the task returns the run it made.
    aggregation_run.delay(project.pk, "api")
    aggregation_run.delay(-1, "api")  # a missing project is logged, not retried
    time.sleep(3)
    assert AggregationRun.objects.filter(project=project).count() == 1


@pytest.fixture
def auto(db, settings, monkeypatch):
    settings.AGGREGATE_AFTER_JUDGMENTS = 10
    settings.AGGREGATE_DEBOUNCE_SECONDS = 300
    queued = []
    monkeypatch.setattr(
        "scoring.tasks.aggregation_run.delay_on_commit", lambda *a: queued.append(a)
    )
    project = project_create(slug="auto", name="Auto", domains=[{"name": "g"}])
    cache.delete_many([_counter_key(project.pk), _lock_key(project.pk)])
    yield project, queued
    cache.delete_many([_counter_key(project.pk), _lock_key(project.pk)])


def test_judgments_below_the_threshold_queue_nothing(auto):
    project, queued = auto
    for _ in range(9):
        judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=1)
    assert queued == []


def test_enough_new_judgments_queue_exactly_one_run_per_debounce_window(auto):
    project, queued = auto
    for _ in range(35):  # one signal per judgment, as annotator submissions send them
        judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=1)
    assert queued == [(project.pk, "auto")]
    cache.delete(_lock_key(project.pk))  # the window ends
    for _ in range(10):
        judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=1)
    assert queued == [(project.pk, "auto"), (project.pk, "auto")]


def test_one_large_import_queues_one_run(auto):
    project, queued = auto
    judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=5000)
    assert queued == [(project.pk, "auto")]
