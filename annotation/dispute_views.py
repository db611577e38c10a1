"""The dispute queue (DESIGN 4.5): a paginated queue of the items aggregation flagged, one
page per dispute with its texts and ratings side by side, and the lead's three actions.
Leads and staff only: the pages show who rated what. Outsiders get 404, other roles 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import access
from .dispute_selectors import (
    FILTERS,
    PER_PAGE,
    PER_PANEL,
    dispute_counts,
    dispute_detail,
    dispute_page,
)
from .errors import DomainError
from .models import Adjudication, Dispute, Project
from .services.disputes import MAX_MORE, dispute_adjudicate, dispute_ask_more, dispute_dismiss


@login_required
@require_GET
def dispute_queue(request: HttpRequest, slug: str) -> HttpResponse:
    """The queue; its ``queue`` partial is the HTMX page swap and, with ``panel=1`` (fewer
    rows a page), the lead page's panel."""
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    show = request.GET.get("show", "open")
    if show not in FILTERS:
        show = "open"
    counts = dispute_counts(project=project)
    panel = request.GET.get("panel") == "1"
    context = {
        "project": project,
        "show": show,
        "panel": panel,
        "filters": [(key, label, counts[key]) for key, (label, _) in FILTERS.items()],
        "page": dispute_page(
            project=project,
            show=show,
            page=request.GET.get("page"),
            per_page=PER_PANEL if panel else PER_PAGE,
            count=counts[show],
        ),
    }
    template = "annotation/disputes.html#queue" if request.htmx else "annotation/disputes.html"
    return render(request, template, context)


def _dispute_in(project: Project, dispute_id: int) -> Dispute:
    dispute = (
        Dispute.objects.select_related(
            "project", "prompt", "response_a", "response_b", "task", "decided_by"
        )
        .filter(project=project, pk=dispute_id)
        .first()
    )
    if dispute is None:
        raise Http404("No such dispute in this project.")
    return dispute


@login_required
@require_GET
def dispute_page_view(request: HttpRequest, slug: str, dispute_id: int) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    dispute = _dispute_in(project, dispute_id)
    adjudication = Adjudication.objects.filter(dispute=dispute).select_related("by").first()
    context = {
        "project": project,
        "dispute": dispute,
        "adjudication": adjudication,
        "item": dispute_detail(
            dispute=dispute, adjudicated=adjudication.ratings if adjudication else None
        ),
        "max_more": MAX_MORE,
    }
    return render(request, "annotation/dispute.html", context)


@login_required
@require_POST
def dispute_action(request: HttpRequest, slug: str, dispute_id: int, action: str) -> HttpResponse:
    """``adjudicate`` (``rating-<criterion>`` fields, or ``choice`` a/b/tie), ``more``
    (``n``), ``dismiss``; each takes an optional ``note``."""
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    dispute = _dispute_in(project, dispute_id)
    post = request.POST
    note = post.get("note", "")
    try:
        if action == "adjudicate":
            ratings = {
                k.removeprefix("rating-"): v for k, v in post.items() if k.startswith("rating-")
            }
            dispute_adjudicate(
                dispute=dispute,
                ratings=ratings or None,
                choice=post.get("choice", ""),
                note=note,
                by=request.user,
            )
            done = "Adjudicated: your judgment decides this item from the next aggregation run."
        elif action == "more":
            task = dispute_ask_more(dispute=dispute, n=post.get("n"), note=note, by=request.user)
            done = (
                f"Asked for more judgments: the task's quorum is now {task.quorum}; it is back "
                "in the annotators' queue."
            )
        elif action == "dismiss":
            dispute_dismiss(dispute=dispute, note=note, by=request.user)
            done = "Dismissed: the annotators' judgments stand."
        else:
            raise Http404("No such action.")
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("annotation:dispute", slug=project.slug, dispute_id=dispute.pk)
    messages.success(request, done)
    return redirect("annotation:dispute", slug=project.slug, dispute_id=dispute.pk)
