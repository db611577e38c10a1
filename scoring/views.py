"""The lead's aggregation pages: the latest run's agreement, disputes and annotators."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotation import access
from annotation.side_effects import task_enqueue_safely

from . import selectors
from .models import AggregationRun
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
