"""Writes: aggregation runs (DESIGN 5) and the debounced automatic trigger."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotation.models import Project
from annotation.services.disputes import disputes_record
from annotation.side_effects import QUEUE_UNREACHABLE

from . import selectors
from .core import aggregate as core_aggregate
from .core.bootstrap import N_RESAMPLES
from .model_ranking import run_model_ranking
from .models import AggregationRun, AutoAggregation, ResponseScore, ids_pack

logger = logging.getLogger(__name__)

CORE_DIR = Path(__file__).resolve().parent / "core"


@cache
def code_version() -> str:
    """The app version plus a digest of the math (scoring/core/*.py): two runs with the same
    code_version computed their numbers with the same code."""
    digest = hashlib.sha256()
    for path in sorted(CORE_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"{settings.TRENCHCOAT_VERSION}+core.{digest.hexdigest()[:12]}"


def _config_snapshot(
    project: Project, inp: core_aggregate.AggregationInput, left_out: dict
) -> dict:
    return {
        "project": {"id": project.pk, "slug": project.slug, "name": project.name},
        "likert_quorum": project.likert_quorum,
        "pairwise_quorum": project.pairwise_quorum,
        "blend_alpha": project.blend_alpha,
        "pairwise_method": project.pairwise_method,
        "agreement_target": project.agreement_target,
        "seed": project.seed,
        "tie_tolerance": project.tie_tolerance,
        "criteria": [
            {
                "key": c.key,
                "scale_min": c.scale_min,
                "scale_max": c.scale_max,
                "level": c.level,
                "weight": c.weight,
            }
            for c in inp.criteria
        ],
        "domains": {str(k): v for k, v in sorted(inp.domain_names.items())},
        "n_resamples": inp.n_resamples,
        "confidence": 0.95,
        "dispute_likert_span": inp.dispute_span,
        "cohen_min_shared": inp.min_shared,
        # The highest ids read. Not a cut-off for releases: a lower id can commit after a
        # higher one; the run's likert_ids / pairwise_ids say exactly what was read.
        # Left-out judgments count as seen, so new gold answers alone start no catch-up run.
        "judgment_cutoff": {
            "likert_max_id": max(int(inp.likert_ids.max(initial=0)), left_out["max_id"]["likert"]),
            "pairwise_max_id": max(
                int(inp.pairwise_ids.max(initial=0)), left_out["max_id"]["pairwise"]
            ),
        },
        # DESIGN 4.5: annotators a lead excluded (reversible), with the judgments left out.
        "excluded_annotators": left_out["excluded_annotators"],
        # DESIGN 4.5: items decided by a lead's adjudication instead of the judgments.
        "adjudications": {
            "likert": int(inp.adjudicated_responses.size),
            "pairwise": int(inp.adjudicated_pair_a.size),
        },
    }


def _left_out_counts(left_out: dict) -> dict:
    """The run's counts of judgments not aggregated: gold (answers to gold items and
    anything else on a gold prompt) and by excluded annotators."""
    excluded = left_out["excluded_annotators"]
    return {
        "gold_judgments_left_out": sum(left_out["gold"].values()),
        "excluded_judgments_left_out": sum(a["likert"] + a["pairwise"] for a in excluded),
        "likert_judgments_left_out": left_out["gold"]["likert"]
        + sum(a["likert"] for a in excluded),
        "pairwise_judgments_left_out": left_out["gold"]["pairwise"]
        + sum(a["pairwise"] for a in excluded),
    }


def input_fingerprint(inp: core_aggregate.AggregationInput, config: dict) -> str:
    """sha256 over the judgment arrays and ids, the responses and the config snapshot."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for arr in (
        inp.likert_ids,
        inp.pairwise_ids,
        inp.response_ids,
        inp.response_prompts,
        inp.response_domains,
        inp.likert_responses,
        inp.likert_annotators,
        inp.likert_values,
        inp.pair_a,
        inp.pair_b,
        inp.pair_annotators,
        inp.pair_outcomes,
        inp.adjudicated_responses,
        inp.adjudicated_values,
        inp.adjudicated_pair_a,
        inp.adjudicated_pair_b,
        inp.adjudicated_pair_outcomes,
    ):
        a = np.ascontiguousarray(arr)
        digest.update(str(a.shape).encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def aggregation_run_create(
    *,
    project: Project,
    trigger: str,
    n_resamples: int = N_RESAMPLES,
    reuse_identical: bool = False,
    task_id: str = "",
) -> AggregationRun:
    """Aggregate the project's judgments into a new, immutable run, synchronously.

    Same judgments and config give identical numbers (seeded bootstrap, ordered input). With
    ``reuse_identical`` the latest done run is returned instead when its input fingerprint
    and code version match (a redelivered task then does nothing). A failure is recorded on
    the run (status failed, error) and re-raised. ``task_id``: the Celery task making the
    run; a run an earlier delivery of it left running is marked failed first.
    """
    if trigger not in AggregationRun.Trigger.values:
        raise ValueError(f"unknown trigger {trigger!r}; use one of {AggregationRun.Trigger.values}")
    if task_id:
        _runs_of_lost_deliveries_fail(project=project, task_id=task_id)
    started = time.perf_counter()
    with selectors.aggregation_snapshot():
        inp = selectors.aggregation_input(project, n_resamples=n_resamples)
        left_out = selectors.aggregation_left_out(project)
        model_names = selectors.response_model_names(project, inp.response_ids)
    config = _config_snapshot(project, inp, left_out)
    fingerprint = input_fingerprint(inp, config)
    if reuse_identical:
        latest = selectors.run_latest(project)
        if (
            latest
            and latest.input_fingerprint == fingerprint
            and latest.code_version == code_version()
        ):
            return latest
    run = AggregationRun.objects.create(
        project=project,
        trigger=trigger,
        config=config,
        input_fingerprint=fingerprint,
        code_version=code_version(),
        likert_ids=ids_pack(inp.likert_ids),
        pairwise_ids=ids_pack(inp.pairwise_ids),
        task_id=task_id,
    )
    try:
        result = core_aggregate.aggregate(inp)
        with transaction.atomic():
            _scores_create(run, inp, result)
            # The lead's dispute queue (DESIGN 4.5) follows every run.
            disputes_record(project=project, run_id=run.pk, rows=result.disputes)
            run.status = AggregationRun.Status.DONE
            run.counts = {**result.counts, **_left_out_counts(left_out)}
            run.exclusions = result.exclusions
            run.agreement = result.agreement
            run.disputes = result.disputes
            run.tie_rule = result.tie_rule
            run.model_ranking = run_model_ranking(inp, model_names)
            run.finished_at = timezone.now()
            run.duration_ms = int((time.perf_counter() - started) * 1000)
            run.save(
                update_fields=[
                    "status",
                    "counts",
                    "exclusions",
                    "agreement",
                    "disputes",
                    "tie_rule",
                    "model_ranking",
                    "finished_at",
                    "duration_ms",
                ]
            )
    except Exception as exc:
        run.status = AggregationRun.Status.FAILED
        run.error = f"{type(exc).__name__}: {exc}"
        run.finished_at = timezone.now()
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        run.save(update_fields=["status", "error", "finished_at", "duration_ms"])
        raise
    _metaeval_on_commit(run)
    return run


LOST_DELIVERY = (
    "The worker running this run stopped (killed or lost) before it finished; the task was "
    "delivered again and made a new run."
)


def _runs_of_lost_deliveries_fail(*, project: Project, task_id: str) -> int:
    """Mark failed the runs of ``project`` that an earlier delivery of this task left
    running. The task is acknowledged late, so a worker killed mid-run (kill -9, out of
    memory, a lost host) gets it delivered again; nothing else would ever finish the killed
    delivery's run, which the lead's page would show as running for ever. A delivery that
    was only slow (visibility timeout shorter than the run) and finishes later still saves
    its run as done."""
    lost = AggregationRun.objects.filter(
        project=project, task_id=task_id, status=AggregationRun.Status.RUNNING
    ).update(status=AggregationRun.Status.FAILED, error=LOST_DELIVERY, finished_at=timezone.now())
    if lost:
        logger.warning(
            "aggregation task %s delivered again: %s run(s) of project %s left running by "
            "its earlier delivery marked failed",
            task_id,
            lost,
            project.pk,
        )
    return lost


def _metaeval_on_commit(run: AggregationRun) -> None:
    """Every scorer is measured against a new run once it is committed (DESIGN 6.3)."""
    from .metaevaluations import metaeval_after_aggregation_run

    transaction.on_commit(lambda: metaeval_after_aggregation_run(run))


SCORE_COLUMNS = (
    "run_id",
    "response_id",
    "criterion_means",
    "criterion_score",
    "borda",
    "final",
    "final_source",
    "n_likert",
    "n_pairwise",
    "pairwise_wins",
    "rank",
    "flags",
)


def _score_rows(
    run: AggregationRun, inp: core_aggregate.AggregationInput, r: core_aggregate.AggregationResult
):
    keys = [c.key for c in inp.criteria]
    for i in np.flatnonzero(r.has_judgment):
        yield (
            run.pk,
            int(inp.response_ids[i]),
            {
                k: float(m)
                for k, m in zip(keys, r.criterion_means[i], strict=True)
                if not math.isnan(m)
            },
            _opt(r.criterion_score[i]),
            _opt(r.borda[i]),
            _opt(r.final[i]),
            r.final_source[i],
            int(r.n_likert[i]),
            int(r.n_pairwise[i]),
            int(r.pairwise_wins[i]),
            int(r.rank[i]) or None,
            r.flags[i],
        )


def _scores_create(
    run: AggregationRun, inp: core_aggregate.AggregationInput, r: core_aggregate.AggregationResult
) -> None:
    """Persist the per-response scores. On PostgreSQL through COPY: bulk_create spends about
    0.2 ms per row in Django's field preparation, 12 s for a 60,000-response project, while
    COPY writes the same rows in well under a second. Elsewhere (SQLite) bulk_create."""
    rows = _score_rows(run, inp, r)
    if connection.vendor == "postgresql":
        columns = ", ".join(SCORE_COLUMNS)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY {ResponseScore._meta.db_table} ({columns}) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row((*row[:2], json.dumps(row[2]), *row[3:11], json.dumps(row[11])))
        return
    ResponseScore.objects.bulk_create(
        (ResponseScore(**dict(zip(SCORE_COLUMNS, row, strict=True))) for row in rows),
        batch_size=2000,
    )


RUN_NOT_QUEUED = (
    f"Could not queue the run: {QUEUE_UNREACHABLE}. Nothing was changed; try again in a "
    "minute. Projects with new judgments are also aggregated automatically once it is back."
)


def _counter_key(project_id: int) -> str:
    return f"scoring:new-judgments:{project_id}"


def _lock_key(project_id: int) -> str:
    return f"scoring:auto-run-lock:{project_id}"


def aggregation_auto_enqueue(*, project_id: int, count: int) -> bool:
    """Count new judgments; once AGGREGATE_AFTER_JUDGMENTS arrived, enqueue one run, at most
    one per AGGREGATE_DEBOUNCE_SECONDS per project. Returns whether a run was enqueued.

    Called after the judgments committed (the judgments_recorded receiver). The counter lives
    in the cache, so a submission costs no database write; ``cache.add`` is atomic in Redis
    (SET NX), so among concurrent submissions one passes the window's cheap gate and claims
    the window in the database (``_auto_run_enqueue``). Raises when the cache or the broker
    is down; the sender records that and the submission still succeeds. Increments lost that
    way are caught up by ``aggregation_catch_up_enqueue``, which looks at the judgments.
    """
    threshold = settings.AGGREGATE_AFTER_JUDGMENTS
    if threshold <= 0 or count <= 0:
        return False
    key = _counter_key(project_id)
    django_cache.add(key, 0, timeout=None)
    try:
        seen = django_cache.incr(key, count)
    except ValueError:  # evicted between add and incr
        django_cache.set(key, count, timeout=None)
        seen = count
    if seen < threshold:
        return False
    if not django_cache.add(_lock_key(project_id), 1, timeout=settings.AGGREGATE_DEBOUNCE_SECONDS):
        return False
    django_cache.set(key, 0, timeout=None)
    queued = _auto_run_enqueue(project_id=project_id, now=timezone.now())
    if queued:
        logger.info(
            "queued an automatic aggregation run for project %s after %s new judgments",
            project_id,
            seen,
        )
    return queued


def aggregation_catch_up_enqueue(*, now: datetime | None = None) -> list[int]:
    """Queue an automatic run for every project with judgments newer than its latest run's
    cut-off whose debounce window has passed (no run made or queued in the last
    AGGREGATE_DEBOUNCE_SECONDS). Returns the ids of the projects queued.

    The periodic job (beat, every minute) calls it: it catches up projects whose cache
    counter was lost (Redis down or flushed) and projects that stopped below the threshold.
    Idempotent: a window is claimed by compare-and-set, so two deliveries of the job, or the
    job and a submission, queue one run for a project per window.
    """
    now = now or timezone.now()
    window_start = now - timedelta(seconds=settings.AGGREGATE_DEBOUNCE_SECONDS)
    queued = []
    for project_id in selectors.projects_with_unaggregated_judgments(last_run_before=window_start):
        if _auto_run_enqueue(project_id=project_id, now=now):
            queued.append(project_id)
    if queued:
        logger.info("catch-up: queued automatic aggregation runs for projects %s", queued)
    return queued


def _auto_run_enqueue(*, project_id: int, now: datetime) -> bool:
    """Claim the project's debounce window (compare-and-set on its AutoAggregation row) and
    queue one automatic run. False when a run was already queued inside the window.

    Both callers run outside a transaction (after the judgments' commit, or in the beat
    job), so the task is sent at once rather than with delay_on_commit: a broker failure is
    seen here, the window given back for the next catch-up, and the error re-raised.
    """
    window_start = now - timedelta(seconds=settings.AGGREGATE_DEBOUNCE_SECONDS)
    claimed = AutoAggregation.objects.filter(
        project_id=project_id, queued_at__lte=window_start
    ).update(queued_at=now)
    if not claimed:
        try:
            with transaction.atomic():
                AutoAggregation.objects.create(project_id=project_id, queued_at=now)
        except IntegrityError:  # the row exists and its window is open, or a rival claimed it
            return False
    from .tasks import aggregation_run  # tasks import services

    try:
        aggregation_run.delay(project_id, AggregationRun.Trigger.AUTO)
    except Exception:
        AutoAggregation.objects.filter(project_id=project_id, queued_at=now).delete()
        raise
    return True
