"""Reads for releases: the rows a build streams, and what pages and the API list."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
from django.db.models import Count, F, Q, QuerySet

from annotation.models import LikertJudgment, PairwiseJudgment, Prompt
from scoring.models import AggregationRun, ResponseScore, Scorer, ScorerScore, ScoringRun

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


def run_score_count(*, run: AggregationRun) -> int:
    return _scored(run).count()


def run_composition_counts(*, run: AggregationRun) -> tuple[dict[str, int], dict[str, int]]:
    """Origins of the run's released responses and sources of the released prompts (those
    with a released response), counted: a release's composition (DESIGN 4.5)."""
    scored = _scored(run)
    origins = dict(
        scored.values_list("response__origin").annotate(n=Count("id")).order_by("response__origin")
    )
    sources = dict(
        Prompt.objects.filter(pk__in=scored.values("response__prompt_id"))
        .values_list("source")
        .annotate(n=Count("id"))
        .order_by("source")
    )
    return origins, sources


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


def scoring_run_for_release(*, run: AggregationRun, scorer: Scorer) -> ScoringRun | None:
    """The scorer's latest finished scoring run that a release of ``run`` can carry: one over
    the whole project, or one over a published release of the same aggregation run (the
    same responses)."""
    same_responses = Release.objects.filter(
        project_id=run.project_id, run=run, status=Release.Status.READY
    ).values("version")
    return (
        ScoringRun.objects.filter(
            project_id=run.project_id, scorer=scorer, status=ScoringRun.Status.DONE
        )
        .filter(Q(release_version__isnull=True) | Q(release_version__in=same_responses))
        .order_by(F("finished_at").desc(nulls_last=True), "-id")
        .first()
    )


def scorers_releasable(*, project, run: AggregationRun | None) -> list[str]:
    """Names of the scorers the project may use that have a finished scoring run a release
    of ``run`` can carry, sorted (the releases page offers these)."""
    if run is None:
        return []
    same_responses = Release.objects.filter(
        project_id=project.pk, run=run, status=Release.Status.READY
    ).values("version")
    return sorted(
        set(
            ScoringRun.objects.filter(project=project, status=ScoringRun.Status.DONE)
            .filter(Q(scorer__project__isnull=True) | Q(scorer__project=project))
            .filter(Q(release_version__isnull=True) | Q(release_version__in=same_responses))
            .values_list("scorer__name", flat=True)
        )
    )


def release_scorer_scores(*, run: AggregationRun, scoring_run_id: int) -> list[tuple]:
    """(response external id, prompt id, score) of the scoring run's scores of the responses
    the release of ``run`` carries (those with a final score)."""
    return list(
        ScorerScore.objects.filter(
            run_id=scoring_run_id, response_id__in=_scored(run).values("response_id")
        ).values_list("response__external_id", "response__prompt_id", "score")
    )


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
