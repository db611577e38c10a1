"""Scoring runs (DESIGN 6.2): one scorer over a project's responses, cut into chunks.

``scoring_run_start`` makes (or resumes) a run and cuts the response ids into chunks;
``scoring_run_chunk`` scores one chunk and commits its scores in one transaction. A chunk
skips the responses already stored, so a redelivered chunk or a rerun resumes, a killed
worker loses at most one chunk's work, and the unique (run, response) constraint keeps any
response from being stored twice even when two workers race on one chunk.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from annotation.errors import ConflictError, DomainError
from annotation.models import Project, Response

from .backends import BackendError, Item, backend_load
from .metaevaluations import metaeval_after_scoring_run
from .models import ResponseScore, Scorer, ScorerScore, ScoringRun
from .probe_runs import probe_run_enqueue
from .scorers import MODEL_BACKENDS, scorer_spec
from .services import code_version

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 256


def scorer_for_project(*, project: Project, name: str) -> Scorer:
    """The scorer called ``name`` that ``project`` may use (its own or a shared one)."""
    scorer = Scorer.objects.filter(name=name).first()
    if scorer is None or (scorer.project_id is not None and scorer.project_id != project.pk):
        raise DomainError(
            f"no scorer '{name}'; register it with `manage.py scorer_apply FILE.json`"
        )
    return scorer


def _release_run_id(project: Project, version: int) -> int:
    # exports depends on scoring, not the other way: the release is looked up by name.
    release_model = apps.get_model("exports", "Release")
    release = release_model.objects.filter(project=project, version=version, status="ready").first()
    if release is None:
        raise DomainError(f"project '{project.slug}' has no release v{version}")
    return release.run_id


def run_responses(run: ScoringRun) -> QuerySet[Response]:
    """The responses a run scores: the project's, or those of its release."""
    qs = Response.objects.filter(project_id=run.project_id)
    if run.release_version is not None:
        run_id = _release_run_id(run.project, run.release_version)
        qs = qs.filter(pk__in=ResponseScore.objects.filter(run_id=run_id).values("response_id"))
    return qs


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [[ids[i], ids[min(i + size, len(ids)) - 1]] for i in range(0, len(ids), size)]


def scoring_run_start(
    *,
    project: Project,
    scorer: Scorer,
    release_version: int | None = None,
    trigger: str = ScoringRun.Trigger.COMMAND,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[ScoringRun, str]:
    """A run to score every response of the project (or release) with the scorer.

    Returns the run and what happened: "new", "resumed" (an unfinished run of the same
    scorer revision goes on where it stopped) or "up_to_date" (a finished run of this
    revision already scored exactly these responses). Enqueue nothing: see scoring_run_enqueue.
    """
    if scorer.project_id is not None and scorer.project_id != project.pk:
        raise DomainError(f"no scorer '{scorer.name}' in project '{project.slug}'")
    if scorer.backend == Scorer.Backend.EXTERNAL:
        raise DomainError(
            f"scorer '{scorer.name}' is external: import its scores with "
            "`manage.py import_scores --project SLUG --scorer NAME FILE.jsonl`"
        )
    if release_version is not None:
        _release_run_id(project, release_version)
    same = ScoringRun.objects.filter(
        project=project,
        scorer=scorer,
        release_version=release_version,
        scorer_revision=scorer.revision,
    )
    with transaction.atomic():
        unfinished = (
            same.select_for_update().exclude(status=ScoringRun.Status.DONE).order_by("-id").first()
        )
        if unfinished is not None:
            unfinished.status = ScoringRun.Status.QUEUED
            unfinished.error = ""
            unfinished.save(update_fields=["status", "error"])
            return unfinished, "resumed"
        run = ScoringRun(
            project=project,
            scorer=scorer,
            scorer_revision=scorer.revision,
            release_version=release_version,
            trigger=trigger,
            code_version=code_version(),
        )
        ids = list(run_responses(run).order_by("pk").values_list("pk", flat=True))
        latest = same.filter(status=ScoringRun.Status.DONE).order_by("-id").first()
        if latest is not None and latest.total == len(ids):
            stored = latest.scores.filter(response_id__in=ids).count()
            if stored == len(ids):
                return latest, "up_to_date"
        run.chunks = _chunks(ids, chunk_size)
        run.total = len(ids)
        if not ids:
            run.status = ScoringRun.Status.DONE
            run.finished_at = timezone.now()
            run.probe_status = ScoringRun.ProbeStatus.NOT_APPLICABLE  # nothing to perturb
        run.save()
    return run, "new"


def scorer_check_queueable(scorer: Scorer) -> None:
    """Pages and the API queue runs for the scoring worker. On the embedded default (no
    broker) a queued task runs inside the web process, which must never load a model."""
    if settings.CELERY_TASK_ALWAYS_EAGER and scorer.backend in MODEL_BACKENDS:
        raise DomainError(
            f"scorer '{scorer.name}' runs a model, and there is no scoring worker (no broker "
            "configured): set REDIS_URL and run `make worker-scoring`, or score from the command "
            "line with `manage.py score --foreground`"
        )


def scoring_run_enqueue(run: ScoringRun) -> int:
    """Queue every chunk of the run on the `scoring` queue; returns how many."""
    from .tasks import scorer_chunk

    for index in range(len(run.chunks)):
        scorer_chunk.delay(run.pk, index)
    return len(run.chunks)


def _fail(run_id: int, message: str) -> None:
    ScoringRun.objects.filter(pk=run_id).update(
        status=ScoringRun.Status.FAILED, error=message[:4000], finished_at=timezone.now()
    )


def _pending_items(run: ScoringRun, first: int, last: int) -> list[tuple[int, Item]]:
    rows = (
        run_responses(run)
        .filter(pk__gte=first, pk__lte=last)
        .exclude(pk__in=ScorerScore.objects.filter(run=run).values("response_id"))
        .order_by("pk")
        .values_list("pk", "prompt__text", "text")
    )
    return [(pk, Item(prompt, text)) for pk, prompt, text in rows]


def _run_finished(run: ScoringRun) -> None:
    """After the commit that finished a run: queue its probe chunk (DESIGN 6.4) and its
    meta-evaluation, which is computed once more when the probes land."""
    probe_run_enqueue(run)
    metaeval_after_scoring_run(run)


def _commit(run: ScoringRun, rows: list[ScorerScore], seconds: float) -> ScoringRun:
    """Store one chunk's scores and the run's counters, in one transaction. The commit that
    finishes the run queues its probes and meta-evaluation."""
    with transaction.atomic():
        ScorerScore.objects.bulk_create(rows, ignore_conflicts=True)
        run = ScoringRun.objects.select_for_update().get(pk=run.pk)
        totals = run.scores.aggregate(
            n=Count("id"), tokens=Sum("tokens"), cut=Count("id", filter=Q(truncated=True))
        )
        now = timezone.now()
        run.scored = totals["n"]
        run.tokens = totals["tokens"] or 0
        run.truncated = totals["cut"]
        run.compute_seconds += seconds
        elapsed = (now - run.started_at).total_seconds() if run.started_at else 0.0
        run.tokens_per_s = run.tokens / elapsed if elapsed > 0 and run.tokens else None
        fields = ["scored", "tokens", "truncated", "compute_seconds", "tokens_per_s"]
        last = run.chunks[-1][1] if run.chunks else 0
        remaining = (
            run_responses(run)
            .filter(pk__lte=last)
            .exclude(pk__in=ScorerScore.objects.filter(run=run).values("response_id"))
            .exists()
        )
        if not remaining and run.status == ScoringRun.Status.RUNNING:
            run.status = ScoringRun.Status.DONE
            run.finished_at = now
            run.total = run.scored  # responses deleted meanwhile are no longer counted
            fields += ["status", "finished_at", "total"]
            transaction.on_commit(partial(_run_finished, run))
        run.save(update_fields=fields)
    return run


def scoring_run_chunk(*, run_id: int, index: int) -> dict[str, Any]:
    """Score one chunk of a run: the responses of the chunk not stored yet.

    A BackendError (a changed or missing model directory, a bad model) fails the run with
    its message; a rerun resumes it. A lost database connection is re-raised for the task's
    retry; other exceptions are kept on the run and re-raised.
    """
    run = ScoringRun.objects.select_related("scorer", "project").filter(pk=run_id).first()
    if run is None:
        logger.warning("scorer_chunk: scoring run %s does not exist; nothing to do", run_id)
        return {"run_id": run_id, "chunk": index, "scored": 0, "status": "missing"}
    if run.status in (ScoringRun.Status.DONE, ScoringRun.Status.FAILED):
        return {"run_id": run_id, "chunk": index, "scored": 0, "status": run.status}
    if index >= len(run.chunks):
        raise ConflictError(f"scoring run {run_id} has {len(run.chunks)} chunks, not {index + 1}")
    scorer = run.scorer
    if scorer.revision != run.scorer_revision:
        _fail(
            run_id,
            f"scorer '{scorer.name}' was re-registered since this run started (revision "
            f"{run.scorer_revision[:12]}, now {scorer.revision[:12]}); start a new run",
        )
        return {"run_id": run_id, "chunk": index, "scored": 0, "status": "failed"}
    ScoringRun.objects.filter(pk=run_id, status=ScoringRun.Status.QUEUED).update(
        status=ScoringRun.Status.RUNNING
    )
    ScoringRun.objects.filter(pk=run_id, started_at__isnull=True).update(started_at=timezone.now())
    run.refresh_from_db()
    first, last = run.chunks[index]
    pending = _pending_items(run, first, last)
    try:
        backend = backend_load(scorer_spec(scorer))
        if not run.device:
            versions = dict(backend.versions)
            if scorer.backend in MODEL_BACKENDS:
                versions["revision"] = scorer.revision
            ScoringRun.objects.filter(pk=run_id).update(
                device=getattr(backend, "label", backend.device),
                dtype=backend.dtype,
                versions=versions,
            )
        started = time.perf_counter()
        scores = backend.score([item for _, item in pending]) if pending else []
        seconds = time.perf_counter() - started
    except BackendError as exc:
        _fail(run_id, str(exc))
        return {"run_id": run_id, "chunk": index, "scored": 0, "status": "failed"}
    except OperationalError:
        raise  # the database went away: the task is retried, the run goes on
    except Exception as exc:
        _fail(run_id, f"chunk {index}: {type(exc).__name__}: {exc}")
        raise
    rows = [
        ScorerScore(
            run_id=run_id,
            response_id=pk,
            score=s.score,
            tokens=s.tokens,
            truncated=s.truncated,
        )
        for (pk, _), s in zip(pending, scores, strict=True)
    ]
    run = _commit(run, rows, seconds)
    return {"run_id": run_id, "chunk": index, "scored": len(rows), "status": run.status}
