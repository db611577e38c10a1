"""Reads for releases: the rows a build streams, and what pages and the API list."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
from django.db.models import QuerySet

from annotation.models import LikertJudgment, PairwiseJudgment, Prompt
from scoring.models import AggregationRun, ResponseScore

from .models import Release

CHUNK = 2000

SCORE_FIELDS = (
    "response_id",
    "response__external_id",
    "response__text",
    "response__origin",
    "response__model_name",
    "response__prompt_id",
    "response__prompt__external_id",
    "response__prompt__text",
    "response__prompt__domain__name",
    "criterion_means",
    "criterion_score",
    "borda",
    "final",
    "final_source",
    "rank",
    "n_likert",
    "n_pairwise",
    "pairwise_wins",
    "flags",
)


def run_latest_done(*, project) -> AggregationRun | None:
    return (
        AggregationRun.objects.filter(project=project, status=AggregationRun.Status.DONE)
        .order_by("-created_at", "-id")
        .first()
    )


def _scored(run: AggregationRun) -> QuerySet[ResponseScore]:
    """The run's responses with a final score: the rows of responses.jsonl. Judged responses
    without one (below both quorums) are counted in the run's exclusions, not released."""
    return ResponseScore.objects.filter(run=run, final__isnull=False)


def run_prompts(*, run: AggregationRun) -> Iterator[tuple[int, str, int | None]]:
    """(prompt id, domain name, near-duplicate cluster) of every prompt with a scored
    response in the run."""
    scored = _scored(run).values("response__prompt_id")
    return (
        Prompt.objects.filter(pk__in=scored)
        .order_by("id")
        .values_list("id", "domain__name", "near_dup_cluster")
        .iterator(chunk_size=CHUNK)
    )


def run_score_count(*, run: AggregationRun) -> int:
    return _scored(run).count()


def run_score_rows(*, run: AggregationRun) -> Iterator[tuple]:
    """The run's scored responses joined with their response and prompt, grouped by prompt
    (SCORE_FIELDS).

    Streams through a server-side cursor on PostgreSQL: memory stays flat with project size.
    """
    return (
        _scored(run)
        .order_by("response__prompt_id", "rank", "response_id")
        .values_list(*SCORE_FIELDS)
        .iterator(chunk_size=CHUNK)
    )


def _only(rows: Iterator[tuple], ids: np.ndarray | None) -> Iterator[tuple]:
    """The rows (ordered by id, id first) whose id is in the sorted ``ids``; all rows when
    ``ids`` is None. One pass over both, like a merge."""
    if ids is None:
        yield from (row[1:] for row in rows)
        return
    wanted = iter(ids.tolist())
    next_id = next(wanted, None)
    for row in rows:
        while next_id is not None and next_id < row[0]:
            next_id = next(wanted, None)
        if next_id is None:
            return
        if row[0] == next_id:
            yield row[1:]


def _judgments_of(run: AggregationRun, kind: int) -> tuple[dict, np.ndarray | None]:
    """A filter bounding the run's judgments of one kind (0 Likert, 1 pairwise) and the
    exact ids to keep. Runs made before the ids were recorded fall back to their id cut-off,
    or to their start time before that."""
    recorded = run.judgment_ids()
    if recorded is not None:
        ids = recorded[kind]
        if ids.size == 0:
            return {"pk__in": []}, ids
        return {"id__gte": int(ids[0]), "id__lte": int(ids[-1])}, ids
    cutoff = (run.config or {}).get("judgment_cutoff")
    if cutoff is not None:
        return {"id__lte": cutoff[("likert_max_id", "pairwise_max_id")[kind]]}, None
    return {"created_at__lte": run.created_at}, None


def run_likert_judgments(*, run: AggregationRun) -> Iterator[tuple]:
    """Likert judgments the run aggregated, by id."""
    bounds, ids = _judgments_of(run, 0)
    rows = (
        LikertJudgment.objects.filter(response__project_id=run.project_id, **bounds)
        .order_by("id")
        .values_list(
            "id",
            "response__prompt_id",
            "response__prompt__external_id",
            "response__external_id",
            "annotator_id",
            "ratings",
            "flags",
            "duration_ms",
            "source",
            "over_quorum",
        )
        .iterator(chunk_size=CHUNK)
    )
    return _only(rows, ids)


def run_pairwise_judgments(*, run: AggregationRun) -> Iterator[tuple]:
    """Pairwise judgments the run aggregated, by id."""
    bounds, ids = _judgments_of(run, 1)
    rows = (
        PairwiseJudgment.objects.filter(prompt__project_id=run.project_id, **bounds)
        .order_by("id")
        .values_list(
            "id",
            "prompt_id",
            "prompt__external_id",
            "left__external_id",
            "right__external_id",
            "choice",
            "annotator_id",
            "flags",
            "duration_ms",
            "source",
            "over_quorum",
        )
        .iterator(chunk_size=CHUNK)
    )
    return _only(rows, ids)


def releases_for_project(*, project, status: str | None = None) -> QuerySet[Release]:
    qs = Release.objects.filter(project=project).select_related("run", "project").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    return qs


# ASCII digits only: str.isdigit() also accepts "²" and "٣", which int() then rejects or
# reads as another number. Eighteen digits keep the number inside a bigint.
RELEASE_REF = re.compile(r"(?P<v>[vV]?)(?P<n>[0-9]{1,18})", re.ASCII)


def release_get(*, project, ref: str) -> Release | None:
    """A release by "v3" (its version) or "17" (its id); None for anything else."""
    match = RELEASE_REF.fullmatch(ref.strip())
    if match is None:
        return None
    qs = Release.objects.filter(project=project).select_related("run", "project")
    if match["v"]:
        return qs.filter(version=int(match["n"])).first()
    return qs.filter(pk=int(match["n"])).first()
