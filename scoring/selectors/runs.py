"""Reads of aggregation runs: the latest and recent runs for pages and the API, the projects
the catch-up job should aggregate, the lead's panel of a run and the prompts it scored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from annotation.models import Annotator, LikertJudgment, PairwiseJudgment, Project, Prompt

from ..models import AggregationRun, ResponseScore


def run_latest(project: Project) -> AggregationRun | None:
    """The project's latest finished run, or None."""
    return (
        AggregationRun.objects.filter(project=project, status=AggregationRun.Status.DONE)
        .order_by("-created_at", "-id")
        .first()
    )


def runs_recent(project: Project, *, limit: int = 10) -> list[AggregationRun]:
    return list(
        AggregationRun.objects.filter(project=project)
        .defer("agreement", "disputes", "config")
        .order_by("-created_at", "-id")[:limit]
    )


def runs_for_project(project: Project) -> QuerySet[AggregationRun]:
    """Every run of the project, newest first (the API's run list and lookups)."""
    return AggregationRun.objects.filter(project=project).order_by("-created_at", "-id")


def projects_with_unaggregated_judgments(*, last_run_before: datetime) -> list[int]:
    """Ids of the projects with judgments their latest run (whatever its status) did not
    read, whose latest run was created before ``last_run_before`` (or that have judgments and
    no run). One query: the latest run's time, cut-off and counts come in subqueries.

    Unread means an id above the run's highest id, or more judgments up to that id than the
    run read: one that committed after the run's snapshot with a lower id than one it read
    (ids are handed out before commits, which finish in any order)."""
    latest = AggregationRun.objects.filter(project=OuterRef("pk")).order_by("-created_at", "-id")

    def of_latest(path: str) -> Subquery:
        value = Cast(KT(path), IntegerField())
        return Subquery(latest.annotate(v=value).values("v")[:1])

    def unread(model, project_path: str, kind: str) -> Q:
        mine = model.objects.filter(**{project_path: OuterRef("pk")})
        up_to_cutoff = (
            mine.filter(id__lte=OuterRef(f"{kind}_cutoff"))
            .order_by()
            .values(project_path)
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Q(Exists(mine.filter(id__gt=OuterRef(f"{kind}_cutoff")))) | Q(
            **{f"{kind}_read__isnull": False, f"{kind}_read__lt": Subquery(up_to_cutoff)}
        )

    return list(
        Project.objects.annotate(
            last_run_at=Subquery(latest.values("created_at")[:1]),
            likert_cutoff=Coalesce(of_latest("config__judgment_cutoff__likert_max_id"), 0),
            pairwise_cutoff=Coalesce(of_latest("config__judgment_cutoff__pairwise_max_id"), 0),
            # What a finished run read (a failed run has no counts: its ids alone decide).
            # Left-out judgments (gold, excluded annotators) were seen too.
            likert_read=of_latest("counts__likert_judgments")
            + Coalesce(of_latest("counts__likert_judgments_left_out"), 0),
            pairwise_read=of_latest("counts__pairwise_judgments")
            + Coalesce(of_latest("counts__pairwise_judgments_left_out"), 0),
        )
        .filter(Q(last_run_at__isnull=True) | Q(last_run_at__lt=last_run_before))
        .filter(
            unread(LikertJudgment, "response__project", "likert")
            | unread(PairwiseJudgment, "prompt__project", "pairwise")
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def annotator_labels(ids: list[int]) -> dict[int, str]:
    """Display names: the username, or the external id of an imported rater."""
    rows = Annotator.objects.filter(pk__in=ids).values_list("pk", "user__username", "external_id")
    return {pk: username or external for pk, username, external in rows}


def _row(name: str, level: str, estimate: dict, target: float) -> dict:
    value = estimate.get("value")
    return {
        "name": name,
        "level": level,
        **estimate,
        "meets": value is not None and value >= target,
        "ci_meets": estimate.get("ci_low") is not None and estimate["ci_low"] >= target,
    }


def run_panel(run: AggregationRun) -> dict:
    """What the lead's panel shows of a run: alpha rows against the target, per domain,
    pairwise, each annotator against the consensus, and the dispute queue."""
    target = run.config.get("agreement_target", 0.6)
    a = run.agreement
    rows = []
    for key, c in a.get("criteria", {}).items():
        own = c["level"]
        rows.append(
            {
                **_row(key, own, c["alpha"][own], target),
                "others": [
                    _row(key, lvl, e, target) for lvl, e in c["alpha"].items() if lvl != own
                ],
            }
        )
    overall = [_row("all criteria", lvl, e, target) for lvl, e in a.get("overall", {}).items()]
    pw = a.get("pairwise", {})
    pairwise = []
    if pw:
        pairwise = [
            _row("pairwise choices", "nominal alpha", pw["alpha_nominal"], target),
            _row("pairwise choices", "Fleiss' kappa", pw["fleiss_kappa"], target),
        ]
    domains = [
        {
            "name": name,
            "responses": d["responses"],
            "rows": [_row(k, v["level"], v["alpha"], target) for k, v in d["criteria"].items()],
        }
        for name, d in a.get("domains", {}).items()
    ]
    annotators = a.get("annotators", [])
    labels = annotator_labels([r["annotator_id"] for r in annotators])
    annotator_rows = sorted(
        ({**r, "label": labels.get(r["annotator_id"], r["annotator_id"])} for r in annotators),
        key=lambda r: (r["likert_r_mean"] is None, -(r["likert_r_mean"] or 0.0), str(r["label"])),
    )
    return {
        "target": target,
        "criteria": rows,
        "overall": overall,
        "pairwise": pairwise,
        "domains": domains,
        "annotators": annotator_rows,
        "criterion_keys": [c["key"] for c in run.config.get("criteria", [])],
        "n_disputes": len(run.disputes),
        "exclusions": [e for e in run.exclusions if e["count"]],
    }


def run_prompts(*, run: AggregationRun) -> Iterator[tuple[int, str, int | None]]:
    """(prompt id, domain name, near-duplicate cluster) of every prompt with a scored
    response in the run: the input of a release's split (``scoring.core.splits``)."""
    scored = ResponseScore.objects.filter(run=run, final__isnull=False).values(
        "response__prompt_id"
    )
    return (
        Prompt.objects.filter(pk__in=scored)
        .order_by("id")
        .values_list("id", "domain__name", "near_dup_cluster")
        .iterator(chunk_size=2000)
    )
