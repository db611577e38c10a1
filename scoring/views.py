"""The scoring app's pages: aggregation (the latest run's agreement, disputes and annotators)
and scorers (their runs' progress, polled while one runs, and every response's score in a
run; leads start runs there)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from annotation import access
from annotation.errors import DomainError
from annotation.fragments import standalone_page
from annotation.side_effects import task_enqueue_safely

from . import selectors
from .charts import Point, interval_chart, reliability_chart
from .leaderboard import SORTS, Leaderboard, leaderboard, leaderboard_row
from .models import AggregationRun, Scorer, ScorerScore, ScoringRun
from .probe_runs import probe_run_requeue, probes_wanted
from .scoring_runs import (
    scorer_check_queueable,
    scorer_for_project,
    scoring_run_enqueue,
    scoring_run_start,
)
from .services import RUN_NOT_QUEUED
from .tasks import aggregation_run


def _context(request: HttpRequest, slug: str) -> dict:
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    run = selectors.run_latest(project)
    return {
        "project": project,
        "run": run,
        "can_trigger": access.role_in(request.user, project) in access.MANAGE,
        "panel": selectors.run_panel(run) if run else None,
        "recent": selectors.runs_recent(project),
    }


@login_required
@require_GET
@standalone_page("Aggregation runs")
def project_panel(request: HttpRequest, slug: str) -> HttpResponse:
    """The HTMX fragment embedded in the lead's project page."""
    return TemplateResponse(request, "scoring/project_runs.html#panel", _context(request, slug))


@login_required
@require_GET
def project_runs(request: HttpRequest, slug: str) -> HttpResponse:
    template = "scoring/project_runs.html#panel" if request.htmx else "scoring/project_runs.html"
    return render(request, template, _context(request, slug))


@login_required
@require_POST
def project_run_trigger(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue a run on the `aggregate` queue (leads and staff)."""
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    trigger = AggregationRun.Trigger.PAGE
    queued = task_enqueue_safely(aggregation_run, project.pk, trigger, project_id=project.pk)
    if queued:
        messages.success(request, "Aggregation queued. Reload in a few seconds to see the new run.")
    else:
        messages.error(request, RUN_NOT_QUEUED)
    if request.htmx:
        context = _context(request, slug)
        context["queued"] = queued
        context["queue_error"] = None if queued else RUN_NOT_QUEUED
        return render(request, "scoring/project_runs.html#panel", context)
    return redirect("scoring:project_runs", slug=project.slug)


ACTIVE = (ScoringRun.Status.QUEUED, ScoringRun.Status.RUNNING)
SCORES_PER_PAGE = 50


def _scorers_context(request: HttpRequest, slug: str) -> dict:
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    scorers = list(
        Scorer.objects.filter(Q(project=project) | Q(project__isnull=True)).order_by("name")
    )
    runs = list(ScoringRun.objects.filter(project=project).select_related("scorer").order_by("-id"))
    latest: dict[int, ScoringRun] = {}
    for run in runs:
        latest.setdefault(run.scorer_id, run)
    return {
        "project": project,
        "rows": [(scorer, latest.get(scorer.pk)) for scorer in scorers],
        "runs": runs[:20],
        "active": any(run.status in ACTIVE for run in runs),
        "can_start": access.role_in(request.user, project) in access.MANAGE,
        "startable": [s for s in scorers if s.backend != Scorer.Backend.EXTERNAL],
    }


@login_required
@require_GET
def project_scorers(request: HttpRequest, slug: str) -> HttpResponse:
    """The leaderboard on top, then each scorer's latest run (the polled fragment)."""
    context = _scorers_context(request, slug)
    if request.htmx:
        return render(request, "scoring/project_scorers.html#runs", context)
    board = leaderboard(context["project"], sort=request.GET.get("sort"))
    context.update(
        board=board,
        sort_columns=_sort_columns(board.sort),
        ceiling=(board.ceiling.figures or {}) if board.ceiling else {},
        board_chart=_leaderboard_chart(board),
    )
    return render(request, "scoring/project_scorers.html", context)


@login_required
@require_POST
def project_scoring_run_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Start (or resume) a run of one scorer; its chunks go to the `scoring` queue."""
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    try:
        scorer = scorer_for_project(project=project, name=request.POST.get("scorer", ""))
        scorer_check_queueable(scorer)
        run, outcome = scoring_run_start(
            project=project, scorer=scorer, trigger=ScoringRun.Trigger.PAGE
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        if outcome == "up_to_date" or run.status == ScoringRun.Status.DONE:
            if probes_wanted(run):  # a run made before probes existed, or failed probes
                probe_run_requeue(run)
            messages.info(
                request, f"{scorer.name} has already scored every response (run {run.pk})."
            )
        else:
            try:
                scoring_run_enqueue(run)
            except Exception as exc:  # whatever the broker client raises
                messages.error(
                    request,
                    f"Run {run.pk} was made but the scoring queue is unreachable "
                    f"({type(exc).__name__}); start it again to resume.",
                )
            else:
                verb = "resumed" if outcome == "resumed" else "started"
                messages.success(request, f"Scoring run {run.pk} of {scorer.name} {verb}.")
    return redirect("scoring:project_scorers", slug=project.slug)


@login_required
@require_GET
def project_scoring_run(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    """One run: its figures, and every response's score, a page at a time."""
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    run = ScoringRun.objects.select_related("scorer").filter(project=project, pk=run_id).first()
    if run is None:
        raise Http404("No such scoring run.")
    scores = (
        ScorerScore.objects.filter(run=run)
        .select_related("response", "response__prompt")
        .order_by("response__prompt_id", "response_id")
    )
    page = Paginator(scores, SCORES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request, "scoring/project_scoring_run.html", {"project": project, "run": run, "page": page}
    )


SORT_COLUMNS = [
    ("accuracy", "Accuracy", "Pairwise accuracy (RewardBench convention), higher is better"),
    (
        "acc_eq",
        "acc_eq",
        "Agreement over a, b and ties with a fitted tie threshold, higher is better",
    ),
    ("tau", "τb per prompt", "Kendall's tau_b with the human finals per prompt, higher is better"),
    ("ece", "ECE", "Expected calibration error after temperature scaling, lower is better"),
    ("length", "Length", "Share preferring the longer response; sorted by the gap to the humans"),
    ("probes", "Probes", "Mean share preferring pad, markdown and flattery; lower is better"),
]


def _sort_columns(current: str) -> list[dict]:
    """Per sortable column: the ``?sort=`` its header links to (best first; the reverse
    when it is the current sort) and, on the current column, which way it is sorted."""
    columns = []
    for key, label, hint in SORT_COLUMNS:
        higher_is_better = SORTS[key][1]
        column = {"key": key, "label": label, "hint": hint, "param": key, "order": ""}
        if current.lstrip("-") == key:
            best_first = current == key
            column["param"] = f"-{key}" if best_first else key
            column["order"] = "best first" if best_first else "worst first"
            column["descending"] = higher_is_better == best_first
        columns.append(column)
    return columns


def _leaderboard_chart(board: Leaderboard):
    """Pairwise accuracy per scorer with its CI, best first, against the noise ceiling."""
    ready = [r for r in board.rows if r.headline]
    ready.sort(key=lambda r: (r.value("accuracy") is None, -(r.value("accuracy") or 0.0)))
    votes = ((board.ceiling.figures or {}).get("votes") or {}) if board.ceiling else {}
    ceiling = votes.get("value") or {}
    return interval_chart(
        [Point.from_estimate(r.scorer.name, r.headline.get("accuracy")) for r in ready],
        title="Pairwise accuracy per scorer, with 95% CIs",
        reference=0.5,
        band=(ceiling.get("value"), ceiling.get("ci_low"), ceiling.get("ci_high"))
        if ceiling
        else None,
        band_label="human noise ceiling",
        caption="Pairwise accuracy per scorer with its 95% CI; dashed line: a coin flip (0.5)"
        + ("; green band: the human noise ceiling." if ceiling else "."),
        empty="No scorer has figures yet.",
    )


def _group_chart(groups: dict | None, *, title: str) -> dict:
    groups = groups or {}
    return {
        "rows": list(groups.items()),
        "chart": interval_chart(
            [Point.from_estimate(name, e) for name, e in groups.items()],
            title=title,
            reference=0.5,
            empty="No groups to compare.",
        ),
    }


JUDGE_CLASSES = ["a", "b", "tie"]  # the order of the rows and columns of a confusion matrix


def _pairs_section(kind: str, pairs: dict) -> dict:
    """One kind of human pairs (voted or score-derived) with its charts."""
    length = pairs.get("length") or {}
    tertiles = length.get("tertile_accuracy") or []
    cuts = length.get("tertile_cuts") or []
    names = ["shortest gaps", "middle gaps", "longest gaps"]
    if len(cuts) == 2:
        names = [
            f"gap ≤ {cuts[0]:.0f} chars",
            f"{cuts[0]:.0f} < gap ≤ {cuts[1]:.0f}",
            f"gap > {cuts[1]:.0f} chars",
        ]
    calibration = pairs.get("calibration") or {}
    scaled = calibration.get("scaled") or {}
    return {
        "kind": kind,
        "title": "Voted pairs" if kind == "voted" else "Score-derived pairs",
        "pairs": pairs,
        "calibration": calibration,
        "calibration_sides": [
            (label, calibration.get(key))
            for key, label in (
                ("raw", "raw (T = 1)"),
                ("scaled", "temperature-scaled"),
                ("isotonic", "isotonic"),
            )
            if calibration.get(key)
        ],
        "reliability": reliability_chart(
            scaled.get("bins") or [],
            title="Reliability diagram (temperature-scaled)",
            caption="Mean confidence against accuracy per bin, on the evaluation side; dot "
            "area grows with the pairs in the bin; dashed: perfect calibration.",
        )
        if scaled
        else None,
        "tertiles": list(zip(names, tertiles, strict=False)),
        "tertile_chart": interval_chart(
            [Point.from_estimate(n, e) for n, e in zip(names, tertiles, strict=False)],
            title="Accuracy by length-difference tertile",
            reference=0.5,
            empty="No pairs of different lengths.",
        )
        if tertiles
        else None,
        "domains": _group_chart(pairs.get("by_domain"), title="Accuracy by domain"),
        "generators": _group_chart(pairs.get("by_generator"), title="Accuracy by generator model"),
        "judge_classes": JUDGE_CLASSES,
        "confusion": list(
            zip(JUDGE_CLASSES, (pairs.get("judge") or {}).get("confusion") or [], strict=False)
        ),
    }


def _probes_section(probes: dict | None) -> dict | None:
    if not probes:
        return None
    return {
        "rows": list(probes.items()),
        "chart": interval_chart(
            [Point.from_estimate(name, p.get("prefers_perturbed")) for name, p in probes.items()],
            title="Share of responses where the scorer prefers the perturbed text",
            reference=0.5,
            caption="Per probe, the share preferring the perturbed text with its 95% CI; a "
            "scorer that does not chase surface features stays at or left of 0.5, except "
            "under truncate, where it should be near 0.",
        ),
    }


@login_required
@require_GET
def project_scorer(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """One scorer measured against the project's humans: every figure of its latest
    meta-evaluation, with charts."""
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    board, row = leaderboard_row(project, name)
    figures = row.figures
    sections = [
        _pairs_section(kind, figures[kind]) for kind in ("voted", "derived") if figures.get(kind)
    ]
    correlation = figures.get("correlation") or {}
    return render(
        request,
        "scoring/scorer_detail.html",
        {
            "project": project,
            "board": board,
            "row": row,
            "figures": figures,
            "headline": row.headline,
            "ceiling": (board.ceiling.figures or {}) if board.ceiling else {},
            "sections": sections,
            "correlations": [("human final", correlation.get("final"))]
            + list((correlation.get("criteria") or {}).items())
            if correlation
            else [],
            "system": correlation.get("system"),
            "probes": _probes_section(figures.get("probes")),
            "tau_groups": [
                ("domain", list((figures.get("tau_by_domain") or {}).items())),
                ("generator model", list((figures.get("tau_by_generator") or {}).items())),
            ],
        },
    )
