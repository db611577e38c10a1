from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import access, selectors
from .errors import DomainError
from .health import broker_status, database_status, side_effect_status
from .markdown import render_markdown
from .models import Annotator, Assignment, Project
from .services.assignments import (
    SKIP_REASONS,
    AnnotatorPaused,
    assignment_claim_next,
    assignment_current,
    assignment_skip,
)
from .services.dashboard import dashboard_snapshot_get
from .services.judgments import FLAGS, judgment_submit

TASK_TEMPLATE = "annotation/annotate.html"


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    database = database_status()
    broker = broker_status()
    ok = database["ok"] and broker["ok"]
    body = {"ok": ok, "database": database, "broker": broker}
    if database["ok"]:
        body["side_effect_failures"] = side_effect_status()
    return JsonResponse(body, status=200 if ok else 503)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    rows = selectors.home_projects(user=request.user)
    return render(request, "annotation/home.html", {"rows": rows})


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def _render_task(
    request: HttpRequest,
    project: Project,
    annotator: Annotator,
    lease: Assignment | None,
    *,
    error: str = "",
    status: int = 200,
    selected: dict | None = None,
    notice: str = "",
    paused: str = "",
) -> HttpResponse:
    """The task page for ``lease`` (or "nothing available"): the whole page, or only the task
    partial for an HTMX request, which swaps it in place."""
    context = {
        "project": project,
        "task": selectors.task_view(project=project, assignment=lease, selected=selected)
        if lease
        else None,
        "progress": selectors.annotator_progress(project=project, annotator=annotator),
        # A fresh key per rendering of a form: a retry of the same form reuses it, so the
        # server stores the judgment once however often the request is sent.
        "client_key": uuid.uuid4(),
        "guidelines_html": render_markdown(project.guidelines),
        "skip_reasons": SKIP_REASONS,
        "flags": FLAGS,
        "error": error,
        "notice": notice,
        "paused": paused,
    }
    template = f"{TASK_TEMPLATE}#task" if request.htmx else TASK_TEMPLATE
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def annotate(request: HttpRequest, slug: str) -> HttpResponse:
    """The annotator's current task, or the next one (a reload returns the same lease)."""
    project, annotator = access.project_get_for_annotator(request.user, slug)
    return _render_next(request, project, annotator)


def _render_next(
    request: HttpRequest, project: Project, annotator: Annotator, notice: str = ""
) -> HttpResponse:
    """The next task, or the page saying the lead paused this annotator."""
    try:
        lease = assignment_claim_next(project=project, annotator=annotator)
    except AnnotatorPaused as exc:
        return _render_task(request, project, annotator, None, notice=notice, paused=str(exc))
    return _render_task(request, project, annotator, lease, notice=notice)


def _error(
    request: HttpRequest,
    project: Project,
    annotator: Annotator,
    exc: DomainError,
    selected: dict | None = None,
) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": str(exc)}, status=exc.status_code)
    lease = assignment_current(project=project, annotator=annotator)
    return _render_task(
        request,
        project,
        annotator,
        lease,
        error=str(exc),
        status=exc.status_code,
        selected=selected,
    )


def _after_write(
    request: HttpRequest, project: Project, annotator: Annotator, notice: str
) -> HttpResponse:
    """Plain form posts redirect to the next task (POST/redirect/GET); HTMX gets the next
    task's partial in the same response."""
    if not request.htmx:
        messages.success(request, notice)
        return redirect("annotation:annotate", slug=project.slug)
    return _render_next(request, project, annotator, notice)


@login_required
@require_POST
def submit(request: HttpRequest, slug: str, lease_id: int) -> HttpResponse:
    project, annotator = access.project_get_for_annotator(request.user, slug)
    post = request.POST
    common = {
        "project": project,
        "annotator": annotator,
        "assignment_id": lease_id,
        "client_key": post.get("client_key"),
        "flags": post.getlist("flags"),
        "comment": post.get("comment", ""),
        "duration_ms": post.get("duration_ms"),
    }
    ratings = {k.removeprefix("rating-"): v for k, v in post.items() if k.startswith("rating-")}
    try:
        result = judgment_submit(ratings=ratings, choice=post.get("choice", ""), **common)
    except DomainError as exc:
        return _error(request, project, annotator, exc, selected=ratings)
    judgment = result.judgment
    if _wants_json(request):
        body = {
            "judgment_id": judgment.pk,
            "created": result.created,
            "over_quorum": judgment.over_quorum,
        }
        return JsonResponse(body, status=201 if result.created else 200)
    notice = "Saved." if result.created else "Already saved."
    if judgment.over_quorum:
        notice = "Saved. (This task had reached its quorum meanwhile; your judgment is kept.)"
    response = _after_write(request, project, annotator, notice)
    response["X-Judgment-Id"] = str(judgment.pk)
    response["X-Judgment-Created"] = "1" if result.created else "0"
    return response


@login_required
@require_POST
def skip(request: HttpRequest, slug: str, lease_id: int) -> HttpResponse:
    project, annotator = access.project_get_for_annotator(request.user, slug)
    try:
        assignment_skip(
            project=project,
            annotator=annotator,
            assignment_id=lease_id,
            reason=request.POST.get("reason", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        return _error(request, project, annotator, exc)
    if _wants_json(request):
        return JsonResponse({"skipped": lease_id})
    return _after_write(request, project, annotator, "Skipped. You will not get this task again.")


@login_required
@require_GET
def guidelines(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug)
    return render(
        request,
        "annotation/guidelines.html",
        {
            "project": project,
            "guidelines_html": render_markdown(project.guidelines),
            "criteria": selectors.criteria_views(project),
        },
    )


@login_required
@require_GET
def project_lead(request: HttpRequest, slug: str) -> HttpResponse:
    """The lead's view of a project: progress by domain, people at work, leases, pace."""
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    # The totals are stored (services.dashboard): counting them here read every judgment.
    snapshot = dashboard_snapshot_get(project=project)
    overview = selectors.lead_overview(project=project, totals=snapshot.figures["totals"])
    # The annotator table is a fragment (scoring:annotator_checks): it needs the latest run.
    context = {"project": project, "overview": overview, "snapshot": snapshot}
    return render(request, "annotation/project_lead.html", context)
