"""The aggregation task through a real worker, and the debounced automatic trigger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.signals import task_postrun
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from annotation.models import ImportBatch, LikertJudgment
from annotation.services.projects import project_create
from annotation.signals import judgments_recorded
from scoring.models import AggregationRun, AutoAggregation
from scoring.services import (
    _counter_key,
    _lock_key,
    aggregation_catch_up_enqueue,
    aggregation_run_create,
)
from scoring.tasks import aggregation_run, auto_aggregation_catch_up

from ..own_redis import RedisServer, broker_at
from ..waiting import wait_until
from .factories import prompt_with_responses, rate, raters

CRITERIA = ("usefulness", "factuality", "safety", "alignment")


def _wait_for_runs(project, n: int) -> list[AggregationRun]:
    def finished():
        runs = list(AggregationRun.objects.filter(project=project, status="done").order_by("id"))
        return runs if len(runs) >= n else None

    return wait_until(finished, f"{n} finished runs of {project.slug}")


@pytest.fixture
def finished_tasks():
    """{task id: return value} of each task the in-process worker finished. The worker
    thread's database connection is closed after each task, so that it does not outlive the
    test and hold up the test database's teardown."""
    done: dict[str, object] = {}

    def record(sender=None, task_id=None, retval=None, **kwargs):
        connection.close()
        done[task_id] = retval

    task_postrun.connect(record, weak=False)
    yield done
    task_postrun.disconnect(record)


def _wait_for(done: dict, task_ids: list[str]) -> list:
    wait_until(lambda: all(t in done for t in task_ids), f"tasks {task_ids} finished")
    return [done[t] for t in task_ids]


@pytest.mark.slow
def test_the_task_runs_in_a_real_worker_and_a_redelivery_makes_no_second_run(
    celery_worker, finished_tasks
):
    project = project_create(slug="worker", name="W", domains=[{"name": "g"}], likert_quorum=2)
    r1, r2 = raters(project, 2)
    _, (resp,) = prompt_with_responses(project, 1)
    rate(resp, r1, usefulness=3, factuality=3, safety=3, alignment=3)
    rate(resp, r2, usefulness=4, factuality=3, safety=3, alignment=3)
    (first,) = _wait_for(finished_tasks, [aggregation_run.delay(project.pk, "api").id])
    (run,) = _wait_for_runs(project, 1)
    assert first["run_id"] == run.pk
    assert run.trigger == "api" and run.counts["responses_scored"] == 1
    # Same input again (e.g. a redelivered message): the task returns the run it made.
    again = aggregation_run.delay(project.pk, "api").id
    missing = aggregation_run.delay(-1, "api").id  # a missing project is logged, not retried
    second, gone = _wait_for(finished_tasks, [again, missing])
    assert second["run_id"] == run.pk
    assert gone == {"project_id": -1, "run_id": None, "status": "missing"}
    assert AggregationRun.objects.filter(project=project).count() == 1


@pytest.fixture
def broker(tmp_path):
    """A broker of the test's own, so the messages queued can be read off it."""
    server = RedisServer(tmp_path)
    server.start()
    with broker_at(server.url):
        yield server
    server.kill()


def _auto_runs_queued(broker) -> list[str]:
    return [args for name, args in broker.queued_tasks("aggregate") if args.endswith("'auto')")]


@pytest.fixture
def auto(db, settings, broker):
    settings.AGGREGATE_AFTER_JUDGMENTS = 10
    settings.AGGREGATE_DEBOUNCE_SECONDS = 300
    project = project_create(slug="auto", name="Auto", domains=[{"name": "g"}])
    cache.delete_many([_counter_key(project.pk), _lock_key(project.pk)])
    yield project, broker
    cache.delete_many([_counter_key(project.pk), _lock_key(project.pk)])


def _window_ends(project) -> None:
    cache.delete(_lock_key(project.pk))
    AutoAggregation.objects.filter(project=project).update(
        queued_at=timezone.now() - timedelta(seconds=301)
    )


def test_judgments_below_the_threshold_queue_nothing(auto):
    project, broker = auto
    for _ in range(9):
        judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=1)
    assert _auto_runs_queued(broker) == []


def test_enough_new_judgments_queue_exactly_one_run_per_debounce_window(auto):
    project, broker = auto
    for _ in range(35):  # one signal per judgment, as annotator submissions send them
        judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=1)
    assert _auto_runs_queued(broker) == [f"({project.pk}, 'auto')"]
    _window_ends(project)
    for _ in range(10):
        judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=1)
    assert _auto_runs_queued(broker) == [f"({project.pk}, 'auto')"] * 2


def test_one_large_import_queues_one_run(auto):
    project, broker = auto
    judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=5000)
    assert _auto_runs_queued(broker) == [f"({project.pk}, 'auto')"]


def test_a_lost_cache_lock_does_not_open_a_second_window(auto):
    project, broker = auto
    judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=10)
    # Redis restarted empty: the counter and the cache's gate are gone.
    cache.delete_many([_counter_key(project.pk), _lock_key(project.pk)])
    judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=10)
    assert _auto_runs_queued(broker) == [f"({project.pk}, 'auto')"]


# ---------------------------------------------------------------------------------------
# The periodic catch-up job (beat, every minute)


def _project_with_judgments(slug: str, *, ran_minutes_ago: float | None, new: int):
    """A project with two rated responses, a run made ``ran_minutes_ago`` (none if None),
    and ``new`` judgments after it."""
    project = project_create(slug=slug, name=slug, domains=[{"name": "g"}], likert_quorum=1)
    r1, r2 = raters(project, 2)
    _, responses = prompt_with_responses(project, 2)
    for resp in responses:
        rate(resp, r1, usefulness=3, factuality=3, safety=3, alignment=3)
    if ran_minutes_ago is not None:
        run = aggregation_run_create(project=project, trigger="command", n_resamples=10)
        AggregationRun.objects.filter(pk=run.pk).update(
            created_at=timezone.now() - timedelta(minutes=ran_minutes_ago)
        )
    for resp in responses[:new]:
        rate(resp, r2, usefulness=4, factuality=4, safety=4, alignment=4)
    return project


def test_the_catch_up_queues_exactly_the_projects_with_judgments_newer_than_their_last_run(
    db, settings, broker
):
    settings.AGGREGATE_DEBOUNCE_SECONDS = 300
    behind = _project_with_judgments("behind", ran_minutes_ago=10, new=1)
    never_run = _project_with_judgments("never-run", ran_minutes_ago=None, new=0)
    _project_with_judgments("up-to-date", ran_minutes_ago=10, new=0)
    in_window = _project_with_judgments("in-window", ran_minutes_ago=2, new=2)
    project_create(slug="empty", name="Empty", domains=[{"name": "g"}])

    assert auto_aggregation_catch_up() == {"queued": [behind.pk, never_run.pk]}
    assert _auto_runs_queued(broker) == [f"({behind.pk}, 'auto')", f"({never_run.pk}, 'auto')"]
    # Every minute after: nothing new is queued for the same state inside the window.
    assert auto_aggregation_catch_up() == {"queued": []}
    assert len(_auto_runs_queued(broker)) == 2
    # Once the window passed, a project still behind (its message lost) is queued again,
    # and the one that was inside its window is now due.
    later = timezone.now() + timedelta(seconds=301)
    assert aggregation_catch_up_enqueue(now=later) == [behind.pk, never_run.pk, in_window.pk]


def test_a_judgment_that_committed_after_the_run_with_a_lower_id_is_caught_up(db, settings, broker):
    settings.AGGREGATE_DEBOUNCE_SECONDS = 300
    project = project_create(slug="late", name="Late", domains=[{"name": "g"}])
    early, late, last = raters(project, 3)
    _, (resp,) = prompt_with_responses(project, 1)
    rate(resp, early, usefulness=3, factuality=3, safety=3, alignment=3)
    # The late rater's judgment takes its id before the last one's (reserved here by making
    # and removing a row) but commits only after the run's snapshot.
    late_id = rate(resp, late, usefulness=2, factuality=2, safety=2, alignment=2).pk
    LikertJudgment.objects.filter(pk=late_id).delete()
    rate(resp, last, usefulness=4, factuality=4, safety=4, alignment=4)
    run = aggregation_run_create(project=project, trigger="command", n_resamples=10)
    AggregationRun.objects.filter(pk=run.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    assert auto_aggregation_catch_up() == {"queued": []}  # the run read everything there was

    LikertJudgment.objects.create(
        id=late_id, response=resp, annotator=late, ratings=dict.fromkeys(CRITERIA, 2)
    )
    assert late_id < run.config["judgment_cutoff"]["likert_max_id"]
    assert auto_aggregation_catch_up() == {"queued": [project.pk]}


def test_a_run_queued_by_submissions_keeps_the_catch_up_out_of_its_window(auto):
    project, broker = auto
    _, (resp,) = prompt_with_responses(project, 1)
    (rater,) = raters(project, 1)
    rate(resp, rater, usefulness=3, factuality=3, safety=3, alignment=3)
    judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=10)
    assert auto_aggregation_catch_up() == {"queued": []}
    assert _auto_runs_queued(broker) == [f"({project.pk}, 'auto')"]


def test_a_queued_run_that_ran_leaves_nothing_for_the_catch_up(
    celery_worker, finished_tasks, settings
):
    settings.AGGREGATE_DEBOUNCE_SECONDS = 0
    project = _project_with_judgments("caught-up", ran_minutes_ago=None, new=0)
    assert auto_aggregation_catch_up() == {"queued": [project.pk]}
    (run,) = _wait_for_runs(project, 1)
    assert run.trigger == "auto"
    assert auto_aggregation_catch_up() == {"queued": []}


def test_beat_sends_the_catch_up_every_minute_to_the_default_queue():
    from config.celery import app

    entry = app.conf.beat_schedule["auto-aggregation-catch-up"]
    assert entry["schedule"] == 60.0
    assert entry["task"] == auto_aggregation_catch_up.name and entry["task"] in app.tasks
    route = app.amqp.router.route({}, entry["task"])
    assert route["queue"].name == "default"  # never behind a long aggregation
