"""MetaEvaluation and NoiseCeiling records: computed, stored, queued (DESIGN 6.3)."""

from __future__ import annotations

import logging
import time

from ..core.bootstrap import N_RESAMPLES
from ..models import (
    AggregationRun,
    MetaEvaluation,
    NoiseCeiling,
    ScoringRun,
)
from ..services import code_version
from .ceiling import ceiling_figures
from .figures import scorer_figures
from .humans import Humans, humans_read

logger = logging.getLogger(__name__)


# --- Records -------------------------------------------------------------------------


def noise_ceiling_get_or_create(humans: Humans) -> NoiseCeiling:
    ceiling = NoiseCeiling.objects.filter(aggregation_run=humans.run).first()
    if ceiling is not None and ceiling.code_version == code_version():
        return ceiling
    ceiling, _ = NoiseCeiling.objects.update_or_create(
        aggregation_run=humans.run,
        defaults={"figures": ceiling_figures(humans), "code_version": code_version()},
    )
    return ceiling


def metaeval_compute(
    *,
    scoring_run: ScoringRun,
    aggregation_run: AggregationRun,
    humans: Humans | None = None,
    n_resamples: int = N_RESAMPLES,
) -> MetaEvaluation:
    """Measure one scoring run against one aggregation run and store the record (replacing
    the pair's record in place: idempotent). A failure is recorded on the record (status
    failed, error) and re-raised."""
    if scoring_run.project_id != aggregation_run.project_id:
        raise ValueError("the scoring run and the aggregation run belong to different projects")
    started = time.perf_counter()
    if humans is None:
        humans = humans_read(aggregation_run, n_resamples=n_resamples)
    noise_ceiling_get_or_create(humans)
    try:
        figures, config, counts = scorer_figures(humans, scoring_run)
    except Exception as exc:
        MetaEvaluation.objects.update_or_create(
            scoring_run=scoring_run,
            aggregation_run=aggregation_run,
            defaults={
                "project_id": scoring_run.project_id,
                "status": MetaEvaluation.Status.FAILED,
                "error": f"{type(exc).__name__}: {exc}"[:4000],
                "code_version": code_version(),
            },
        )
        raise
    config["code_version"] = code_version()
    record, _ = MetaEvaluation.objects.update_or_create(
        scoring_run=scoring_run,
        aggregation_run=aggregation_run,
        defaults={
            "project_id": scoring_run.project_id,
            "status": MetaEvaluation.Status.DONE,
            "figures": figures,
            "config": config,
            "counts": counts,
            "error": "",
            "code_version": code_version(),
            "duration_ms": int((time.perf_counter() - started) * 1000),
        },
    )
    return record


def latest_scoring_runs(project_id: int, *, scorer_name: str | None = None) -> list[ScoringRun]:
    """Each scorer's latest finished scoring run over the whole project (not a release's)."""
    runs = (
        ScoringRun.objects.filter(project_id=project_id, status=ScoringRun.Status.DONE)
        .select_related("scorer", "project")
        .order_by("scorer_id", "-finished_at", "-id")
    )
    if scorer_name is not None:
        runs = runs.filter(scorer__name=scorer_name)
    latest: dict[int, ScoringRun] = {}
    for run in runs:
        if run.release_version is None:
            latest.setdefault(run.scorer_id, run)
    return sorted(latest.values(), key=lambda r: r.scorer.name)


def latest_aggregation_run(project_id: int) -> AggregationRun | None:
    return (
        AggregationRun.objects.filter(project_id=project_id, status=AggregationRun.Status.DONE)
        .select_related("project")
        .order_by("-created_at", "-id")
        .first()
    )


def metaeval_task(*, scoring_run_id: int | None, aggregation_run_id: int | None) -> dict:
    """The task's body: one scoring run against the latest aggregation run, or every
    scorer's latest run against one aggregation run (which must still be the latest: an
    older one's records would be replaced at once by the next run's)."""
    if scoring_run_id is not None:
        run = (
            ScoringRun.objects.select_related("scorer", "project").filter(pk=scoring_run_id).first()
        )
        if run is None or run.status != ScoringRun.Status.DONE:
            logger.info(
                "metaeval: scoring run %s is missing or not done; nothing to do", scoring_run_id
            )
            return {"scoring_run_id": scoring_run_id, "records": 0, "status": "skipped"}
        aggregation = latest_aggregation_run(run.project_id)
        if aggregation is None:
            return {"scoring_run_id": scoring_run_id, "records": 0, "status": "no_aggregation_run"}
        record = metaeval_compute(scoring_run=run, aggregation_run=aggregation)
        return {
            "scoring_run_id": scoring_run_id,
            "records": 1,
            "metaevaluation_id": record.pk,
            "status": "done",
        }
    aggregation = (
        AggregationRun.objects.select_related("project").filter(pk=aggregation_run_id).first()
    )
    if aggregation is None or aggregation.status != AggregationRun.Status.DONE:
        return {"aggregation_run_id": aggregation_run_id, "records": 0, "status": "skipped"}
    latest = latest_aggregation_run(aggregation.project_id)
    if latest is not None and latest.pk != aggregation.pk:
        return {"aggregation_run_id": aggregation_run_id, "records": 0, "status": "superseded"}
    humans = humans_read(aggregation)
    noise_ceiling_get_or_create(humans)
    runs = latest_scoring_runs(aggregation.project_id)
    for run in runs:
        metaeval_compute(scoring_run=run, aggregation_run=aggregation, humans=humans)
    return {"aggregation_run_id": aggregation_run_id, "records": len(runs), "status": "done"}


def _enqueue(args: tuple, project_id: int) -> None:
    """Queue the task; never raise into the request that committed: a broker outage is
    counted by task_enqueue_safely, and on the embedded default (tasks run in-process) a
    failing meta-evaluation is recorded on its record and counted here."""
    from annotation.side_effects import side_effect_failure_record, task_enqueue_safely

    from ..tasks import aggregation_metaeval

    try:
        task_enqueue_safely(aggregation_metaeval, *args, project_id=project_id)
    except Exception as exc:
        side_effect_failure_record(what="meta-evaluation", project_id=project_id, error=exc)


def metaeval_after_aggregation_run(run: AggregationRun) -> None:
    """Queue the meta-evaluation of every scorer against a run that just finished, when the
    project has a finished scoring run (else there is nothing to measure)."""
    if ScoringRun.objects.filter(project_id=run.project_id, status=ScoringRun.Status.DONE).exists():
        _enqueue((None, run.pk), run.project_id)


def metaeval_after_scoring_run(run: ScoringRun) -> None:
    """Queue the meta-evaluation of a scoring run that finished (or whose probes finished)
    against the project's latest finished aggregation run, on the `aggregate` queue. Call it
    once the run's rows are committed (``transaction.on_commit``)."""
    _enqueue((run.pk, None), run.project_id)
