"""Spurious-feature probes of a scoring run (DESIGN 6.4): perturbed responses, scored apart.

Once every chunk of a run is stored, one probe chunk (``probe_run_chunk``, the task
``scorer_probe_chunk`` on the `scoring` queue) takes a seeded sample of the run's scored
responses, builds the four perturbations of each (``scoring.core.probes``) and scores them
with the backend the run used. The scores go to ``ProbeScore``, never to ``ScorerScore``;
the perturbed texts are not stored anywhere: they are rebuilt from the response, the probe
and the project's seed. Nothing here is shown to annotators or released.

The sample is ``sample_indices`` over the run's scored response ids in id order, drawn with
``default_rng(project.seed)``; the ``pad`` filler of response r comes from
``response_rng(project.seed, r)``. So the same seed gives the same responses and the same
texts, whatever was stored before.

A probe failure (a model directory that changed, a backend error) is kept on the run as
``probe_status`` failed with ``probe_error``; the run itself stays done.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from django.db import OperationalError, transaction

from annotation.side_effects import task_enqueue_safely

from .backends import BackendError, Item, backend_load
from .core.probes import PROBES, perturb, response_rng, sample_indices
from .metaevaluations import metaeval_after_scoring_run
from .models import ProbeScore, Scorer, ScorerScore, ScoringRun
from .scorers import scorer_spec

logger = logging.getLogger(__name__)

Status = ScoringRun.ProbeStatus
# Probe runs that a probe chunk (or `manage.py score` on a finished run) still has to do.
# Running is among them: acks_late redelivers the chunk of a worker killed mid-way, and
# the redelivery resumes, skipping the rows already stored.
UNFINISHED = (Status.PENDING, Status.RUNNING, Status.FAILED)


def probe_seed(run: ScoringRun) -> int:
    """The project's seed as numpy's SeedSequence takes it (non-negative; a negative seed
    is read as its 64-bit two's complement, as aggregation does)."""
    return run.project.seed & 0xFFFFFFFFFFFFFFFF


def probe_sample_ids(run: ScoringRun) -> np.ndarray:
    """The ids of the run's sampled responses, ascending: ``run.probe_sample`` of its scored
    responses (all when fewer), drawn with the project's seed."""
    ids = np.fromiter(
        ScorerScore.objects.filter(run=run)
        .order_by("response_id")
        .values_list("response_id", flat=True),
        dtype=np.int64,
    )
    rng = np.random.default_rng(probe_seed(run))
    return ids[sample_indices(ids.size, rng=rng, size=run.probe_sample)]


def probe_texts(*, seed: int, response_id: int, prompt: str, response: str) -> dict[str, str]:
    """The perturbed texts of one response, by probe (what the probe chunk scores)."""
    return {
        probe: perturb(probe, prompt, response, rng=response_rng(seed, response_id))
        for probe in PROBES
    }


def _pending(run: ScoringRun, ids: np.ndarray) -> list[tuple[int, str, Item]]:
    """(response id, probe, item) for each sampled response and probe not stored yet."""
    stored = set(ProbeScore.objects.filter(run=run).values_list("response_id", "probe"))
    rows = (
        ScorerScore.objects.filter(run=run, response_id__in=ids.tolist())
        .order_by("response_id")
        .values_list("response_id", "response__prompt__text", "response__text")
    )
    seed = probe_seed(run)
    out = []
    for pk, prompt, text in rows:
        if all((pk, probe) in stored for probe in PROBES):
            continue
        texts = probe_texts(seed=seed, response_id=pk, prompt=prompt, response=text)
        out += [(pk, p, Item(prompt, t)) for p, t in texts.items() if (pk, p) not in stored]
    return out


def _set(run_id: int, status: str, error: str = "") -> None:
    ScoringRun.objects.filter(pk=run_id).update(probe_status=status, probe_error=error[:4000])


def _result(run: ScoringRun, status: str, scored: int = 0) -> dict[str, Any]:
    return {"run_id": run.pk, "probe_status": status, "scored": scored}


def probe_run_chunk(*, run_id: int) -> dict[str, Any]:
    """Score the run's probes: what is not stored yet, in one transaction.

    Does nothing for a run that is not done (its last chunk queues this again) or whose
    probes are done or not applicable. Claims the probes by compare-and-set (pending or
    failed -> running); a redelivery finds them running and resumes. An external scorer's
    run, or one with no scored response, gets "n/a". A lost database connection is re-raised
    for the task's retry; any other error fails the probes, never the run.
    """
    run = ScoringRun.objects.select_related("scorer", "project").filter(pk=run_id).first()
    if run is None:
        logger.warning("scorer_probe_chunk: scoring run %s does not exist; nothing to do", run_id)
        return {"run_id": run_id, "probe_status": "missing", "scored": 0}
    if run.status != ScoringRun.Status.DONE or run.probe_status not in UNFINISHED:
        return _result(run, run.probe_status)
    scorer = run.scorer
    if scorer.backend == Scorer.Backend.EXTERNAL:
        _set(run_id, Status.NOT_APPLICABLE)
        return _result(run, Status.NOT_APPLICABLE)
    ScoringRun.objects.filter(pk=run_id, probe_status__in=(Status.PENDING, Status.FAILED)).update(
        probe_status=Status.RUNNING, probe_error=""
    )
    if scorer.revision != run.scorer_revision:
        message = (
            f"scorer '{scorer.name}' was re-registered since scoring run {run_id} (revision "
            f"{run.scorer_revision[:12]}, now {scorer.revision[:12]}): its probes need the "
            "model the run used; score again for a new run, with its own probes"
        )
        _set(run_id, Status.FAILED, message)
        return _result(run, Status.FAILED)
    ids = probe_sample_ids(run)
    if ids.size == 0:
        _set(run_id, Status.NOT_APPLICABLE)
        return _result(run, Status.NOT_APPLICABLE)
    try:
        pending = _pending(run, ids)
        started = time.perf_counter()
        scores = (
            backend_load(scorer_spec(scorer)).score([i for _, _, i in pending]) if pending else []
        )
        seconds = time.perf_counter() - started
    except OperationalError:
        raise  # the database went away: the task is retried, the probes go on
    except BackendError as exc:
        _set(run_id, Status.FAILED, str(exc))
        return _result(run, Status.FAILED)
    except Exception as exc:  # a probe failure never fails the run: keep it on the probes
        logger.exception("probes of scoring run %s failed", run_id)
        _set(run_id, Status.FAILED, f"{type(exc).__name__}: {exc}")
        return _result(run, Status.FAILED)
    rows = [
        ProbeScore(
            run_id=run_id,
            response_id=pk,
            probe=probe,
            score=s.score,
            tokens=s.tokens,
            truncated=s.truncated,
        )
        for (pk, probe, _), s in zip(pending, scores, strict=True)
    ]
    with transaction.atomic():
        ProbeScore.objects.bulk_create(rows, ignore_conflicts=True)
        ScoringRun.objects.filter(pk=run_id).update(probe_status=Status.DONE, probe_error="")
        transaction.on_commit(lambda: metaeval_after_scoring_run(run))
    logger.info(
        "probes of scoring run %s: %d perturbed responses scored in %.1f s",
        run_id,
        len(rows),
        seconds,
    )
    return _result(run, Status.DONE, len(rows))


def probe_run_enqueue(run: ScoringRun) -> bool:
    """Queue the run's probe chunk on the `scoring` queue (call it after the commit). False
    when the broker cannot be reached (logged and counted)."""
    from .tasks import scorer_probe_chunk

    return task_enqueue_safely(scorer_probe_chunk, run.pk, project_id=run.project_id)


def probe_run_requeue(run: ScoringRun) -> bool:
    """Queue the probes of a finished run again (`manage.py score` on an up-to-date run):
    failed probes go back to pending first, so that waiting for them means something."""
    ScoringRun.objects.filter(pk=run.pk, probe_status=Status.FAILED).update(
        probe_status=Status.PENDING, probe_error=""
    )
    run.refresh_from_db(fields=["probe_status", "probe_error"])
    return probe_run_enqueue(run)


def probes_wanted(run: ScoringRun) -> bool:
    """Whether a finished run still needs its probes scored (a run made before probes
    existed, or whose probes failed and may be retried)."""
    return (
        run.status == ScoringRun.Status.DONE
        and run.probe_status in UNFINISHED
        and run.scorer.backend != Scorer.Backend.EXTERNAL
    )
