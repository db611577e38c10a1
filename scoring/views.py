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
from django.views.decorators.http import require_GET, require_POST

from annotation import access
from annotation.errors import DomainError
from annotation.side_effects import task_enqueue_safely

from . import selectors
from .models import AggregationRun, Scorer, ScorerScore, ScoringRun
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
def project_panel(request: HttpRequest, slug: str) -> HttpResponse:
    """The HTMX fragment embedded in the lead's project page."""
    return render(request, "scoring/project_runs.html#panel", _context(request, slug))


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
    template = "scoring/project_scorers.html"
    if request.htmx:
        template += "#runs"
    return render(request, template, _scorers_context(request, slug))


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
