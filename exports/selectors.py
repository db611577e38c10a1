"""Reads for releases: the rows a build streams, and what pages and the API list."""

from __future__ import annotations

from collections.abc import Iterator

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


def run_prompts(*, run: AggregationRun) -> Iterator[tuple[int, str, int | None]]:
    """(prompt id, domain name, near-duplicate cluster) of every prompt scored in the run."""
    scored = ResponseScore.objects.filter(run=run).values("response__prompt_id")
    return (
        Prompt.objects.filter(pk__in=scored)
        .order_by("id")
        .values_list("id", "domain__name", "near_dup_cluster")
        .iterator(chunk_size=CHUNK)
    )


def run_score_count(*, run: AggregationRun) -> int:
    return ResponseScore.objects.filter(run=run).count()


def run_score_rows(*, run: AggregationRun) -> Iterator[tuple]:
    """The run's scores joined with their response and prompt, grouped by prompt (SCORE_FIELDS).

    Streams through a server-side cursor on PostgreSQL: memory stays flat with project size.
    """
    return (
        ResponseScore.objects.filter(run=run)
        .order_by("response__prompt_id", "rank", "response_id")
        .values_list(*SCORE_FIELDS)
        .iterator(chunk_size=CHUNK)
    )


def _judgment_cutoff(run: AggregationRun, key: str) -> dict:
    """The judgments the run read: ids up to its recorded cut-off (runs before the cut-off
    was recorded fall back to the run's start time)."""
    cutoff = (run.config or {}).get("judgment_cutoff")
    if cutoff is not None:
        return {"id__lte": cutoff[key]}
    return {"created_at__lte": run.created_at}


def run_likert_judgments(*, run: AggregationRun) -> Iterator[tuple]:
    """Likert judgments the run aggregated, by id."""
    return (
        LikertJudgment.objects.filter(
            response__project_id=run.project_id, **_judgment_cutoff(run, "likert_max_id")
        )
        .order_by("id")
        .values_list(
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


def run_pairwise_judgments(*, run: AggregationRun) -> Iterator[tuple]:
    """Pairwise judgments the run aggregated, by id."""
    return (
        PairwiseJudgment.objects.filter(
            prompt__project_id=run.project_id, **_judgment_cutoff(run, "pairwise_max_id")
        )
        .order_by("id")
        .values_list(
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


def releases_for_project(*, project, status: str | None = None) -> QuerySet[Release]:
    qs = Release.objects.filter(project=project).select_related("run", "project").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    return qs


def release_get(*, project, ref: str) -> Release | None:
    """A release by "v3" (its version) or "17" (its id)."""
    ref = ref.strip()
    qs = Release.objects.filter(project=project).select_related("run", "project")
    if ref[:1] in {"v", "V"} and ref[1:].isdigit():
        return qs.filter(version=int(ref[1:])).first()
    if ref.isdigit():
        return qs.filter(pk=int(ref)).first()
    return None


def runs_for_project(*, project) -> QuerySet[AggregationRun]:
    return AggregationRun.objects.filter(project=project).order_by("-created_at", "-id")
