"""Celery tasks of the scoring app. Routed to the `aggregate` queue (config.settings)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from annotation.models import Project

from .models import AggregationRun
from .services import aggregation_catch_up_enqueue, aggregation_run_create

logger = logging.getLogger(__name__)


@shared_task(
    name="scoring.tasks.aggregation_run",
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def aggregation_run(self, project_id: int, trigger: str = AggregationRun.Trigger.API) -> dict:
    """Aggregate one project. Idempotent: a redelivered task whose judgments and config did
    not change returns the run already made, and the run a killed delivery left running is
    marked failed (by the task id). Retried only on database connection errors."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        logger.warning("aggregation_run: project %s does not exist; nothing to do", project_id)
        return {"project_id": project_id, "run_id": None, "status": "missing"}
    run = aggregation_run_create(
        project=project, trigger=trigger, reuse_identical=True, task_id=self.request.id or ""
    )
    return {
        "project_id": project_id,
        "run_id": run.pk,
        "status": run.status,
        "duration_ms": run.duration_ms,
    }


@shared_task(name="scoring.tasks.auto_aggregation_catch_up", acks_late=True)
def auto_aggregation_catch_up() -> dict:
    """The periodic job (beat, every minute; CELERY_BEAT_SCHEDULE): queue an automatic run
    for each project with judgments newer than its latest run once its debounce window has
    passed. Runs on the default queue, so a long aggregation never delays it. Idempotent."""
    return {"queued": aggregation_catch_up_enqueue()}


@shared_task(
    name="scoring.tasks.scorer_chunk",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def scorer_chunk(run_id: int, index: int) -> dict:
    """Score one chunk of a scoring run (the `scoring` queue: GPU workers, concurrency 1,
    prefetch 1). Idempotent: a redelivered chunk scores only what is not stored yet."""
    from .scoring_runs import scoring_run_chunk

    return scoring_run_chunk(run_id=run_id, index=index)


@shared_task(
    name="scoring.tasks.scorer_probe_chunk",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def scorer_probe_chunk(run_id: int) -> dict:
    """Score the spurious-feature probes of a finished scoring run (the `scoring` queue, the
    run's backend). Idempotent: a redelivered chunk scores only what is not stored yet."""
    from .probe_runs import probe_run_chunk

    return probe_run_chunk(run_id=run_id)


@shared_task(
    name="scoring.tasks.aggregation_metaeval",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def aggregation_metaeval(scoring_run_id: int | None, aggregation_run_id: int | None) -> dict:
    """Meta-evaluate (the `aggregate` queue): one finished scoring run against the project's
    latest finished aggregation run, or every scorer's latest finished scoring run against
    one aggregation run that just finished. Idempotent: the record of a (scoring run,
    aggregation run) pair is replaced in place."""
    from .metaevaluations import metaeval_task

    return metaeval_task(scoring_run_id=scoring_run_id, aggregation_run_id=aggregation_run_id)
