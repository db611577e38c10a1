"""Redis really stopped: submissions still succeed, the failure is logged and counted, and the
periodic catch-up job aggregates the project once Redis is back."""

from __future__ import annotations

import json
import logging
from uuid import uuid4

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from annotation.models import LikertJudgment, SideEffectFailure
from annotation.services.assignments import assignment_claim_next
from config.celery import app
from scoring.models import AggregationRun, AutoAggregation
from scoring.tasks import auto_aggregation_catch_up

from ..annotation.builders import add_items, make_annotator, make_project
from ..own_redis import RedisServer, broker_at, cache_at
from ..waiting import wait_until

RECEIVER = "scoring.receivers.on_judgments_recorded"


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def annotated(transactional_db, settings):
    settings.AGGREGATE_AFTER_JUDGMENTS = 1  # every submission goes to the cache and broker
    settings.AGGREGATE_DEBOUNCE_SECONDS = 300
    project = make_project(slug="outage", likert_quorum=2)
    add_items(project, prompts=4, responses=1)
    user, annotator = make_annotator(project, "ann")
    return project, user, annotator


def _submit(client, project, annotator):
    lease = assignment_claim_next(project=project, annotator=annotator)
    data = {f"rating-{k}": "4" for k in project.criteria.values_list("key", flat=True)}
    data["client_key"] = str(uuid4())
    return client.post(f"/p/{project.slug}/leases/{lease.pk}/submit/", data, HTTP_HX_REQUEST="true")


def _wait_for_run(project) -> AggregationRun:
    return wait_until(
        lambda: AggregationRun.objects.filter(project=project, status="done").first(),
        f"a finished run of {project.slug}",
    )


def test_submissions_succeed_while_redis_is_down_and_the_catch_up_job_aggregates_afterwards(
    annotated, redis_server, settings, client, caplog, worker_closes_its_connection
):
    project, user, annotator = annotated
    settings.CACHES = cache_at(redis_server.url)
    client.force_login(user)
    with broker_at(redis_server.url):
        redis_server.kill()
        with caplog.at_level(logging.WARNING, logger="annotation.side_effects"):
            responses = [_submit(client, project, annotator) for _ in range(3)]

        assert [r.status_code for r in responses] == [200, 200, 200]
        assert [r["X-Judgment-Created"] for r in responses] == ["1", "1", "1"]
        assert all(b"Saved." in r.content for r in responses)
        assert LikertJudgment.objects.filter(annotator=annotator).count() == 3
        failure = SideEffectFailure.objects.get(project=project)
        assert (failure.what, failure.count) == (RECEIVER, 3)
        assert "ConnectionError" in failure.last_error
        logged = [r for r in caplog.records if r.name == "annotation.side_effects"]
        assert len(logged) == 3 and all(f"project {project.pk}" in r.getMessage() for r in logged)
        assert client.get("/healthz").json()["side_effect_failures"]["failures"] == 3
        assert not AggregationRun.objects.filter(project=project).exists()

        redis_server.start()  # back, and empty: every counter increment is lost
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=["default", "aggregate"]
        ):
            auto_aggregation_catch_up.delay()  # as beat sends it, through the broker
            run = _wait_for_run(project)
    assert run.trigger == AggregationRun.Trigger.AUTO
    assert run.counts["likert_judgments"] == 3


def test_a_broker_outage_after_the_threshold_is_counted_and_the_window_given_back(
    annotated, redis_server, settings, client, tmp_path
):
    project, user, annotator = annotated
    settings.CACHES = cache_at(redis_server.url)  # the cache stays up
    broker = RedisServer(tmp_path)
    broker.start()
    client.force_login(user)
    with broker_at(broker.url):
        broker.kill()
        first, second = _submit(client, project, annotator), _submit(client, project, annotator)
        assert (first.status_code, second.status_code) == (200, 200)
        assert LikertJudgment.objects.filter(annotator=annotator).count() == 2
        # The first reached the threshold and failed to queue; the second found the cache's
        # window gate closed and tried nothing.
        failure = SideEffectFailure.objects.get(project=project)
        assert (failure.what, failure.count) == (RECEIVER, 1)
        assert not AutoAggregation.objects.filter(project=project).exists()

        broker.start()
        assert auto_aggregation_catch_up() == {"queued": [project.pk]}
        assert broker.queued_tasks("aggregate") == [
            ("scoring.tasks.aggregation_run", f"({project.pk}, 'auto')")
        ]
    broker.kill()


DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_a_run_trigger_with_the_broker_down_tells_the_lead_and_counts_it(
    client, lead_user, project
):
    client.force_login(lead_user)
    with broker_at(DEAD_BROKER):
        page = client.post(f"/scoring/p/{project.slug}/runs/", follow=True)
        panel = client.post(f"/scoring/p/{project.slug}/runs/", HTTP_HX_REQUEST="true")
        api = client.post(f"/api/v1/projects/{project.slug}/runs/trigger/")
    assert page.status_code == 200
    assert "Could not queue the run: the task queue (Redis) is unreachable" in page.content.decode()
    assert 'role="alert">Could not queue the run' in panel.content.decode()
    assert "Aggregation queued." not in panel.content.decode()
    assert (api.status_code, api["Retry-After"]) == (503, "60")
    assert "unreachable" in api.json()["detail"]
    failure = SideEffectFailure.objects.get(project=project)
    assert (failure.what, failure.count) == ("queue scoring.tasks.aggregation_run", 3)


def test_an_import_while_redis_is_down_succeeds_and_the_failure_is_counted(
    transactional_db, settings, redis_server, tmp_path
):
    settings.AGGREGATE_AFTER_JUDGMENTS = 1
    settings.CACHES = cache_at(redis_server.url)
    project = make_project(slug="imports", likert_quorum=1)
    items = tmp_path / "items.jsonl"
    items.write_text(
        json.dumps(
            {
                "prompt_id": "p1",
                "prompt": "Why?",
                "domain": "general",
                "responses": [{"response_id": "r1", "text": "."}],
            }
        )
        + "\n"
    )
    judgments = tmp_path / "judgments.jsonl"
    ratings = dict.fromkeys(project.criteria.values_list("key", flat=True), 3)
    line = {"kind": "likert", "response_id": "r1", "annotator": "ext:1", "ratings": ratings}
    judgments.write_text(json.dumps(line) + "\n")
    call_command("import_items", str(items), "--project", project.slug)
    redis_server.kill()
    call_command("import_judgments", str(judgments), "--project", project.slug)
    assert LikertJudgment.objects.filter(response__project=project).count() == 1
    failure = SideEffectFailure.objects.get(project=project)
    assert (failure.what, failure.count) == (RECEIVER, 1)
