"""Release pages: the project's releases page and the HTMX panel on the lead's project page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from annotation import access
from annotation.errors import DomainError, ValidationProblems

from . import selectors
from .services.build import release_enqueue, release_request


def _context(request: HttpRequest, project, *, limit: int | None = None) -> dict:
    role = access.role_in(request.user, project)
    releases = selectors.releases_for_project(project=project)
    runs = selectors.runs_for_project(project=project).filter(status="done")
    return {
        "project": project,
        "is_lead": role == access.Role.LEAD,
        "releases": releases[:limit] if limit else releases,
        "building": releases.filter(status__in=["pending", "building"]).exists(),
        "runs": runs[:20],
        "latest_run": runs.first(),
        "domains": project.domains.order_by("name"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def project_releases(request: HttpRequest, slug: str) -> HttpResponse:
    """Every release of the project; leads can request a new one (run, seed, holdout)."""
    if request.method == "POST":
        project = access.project_get_for(request.user, slug, roles=access.MANAGE)
        _request_release(request, project)
        return redirect("exports:project_releases", slug=project.slug)
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    context = _context(request, project)
    template = "exports/project_releases.html"
    if request.htmx:
        template += "#release-table"
    return render(request, template, context)


@login_required
def project_panel(request: HttpRequest, slug: str) -> HttpResponse:
    """The releases fragment on the lead's project page (latest releases, a build button)."""
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    return render(
        request, "exports/project_releases.html#panel", _context(request, project, limit=5)
    )


def _request_release(request: HttpRequest, project) -> None:
    run = None
    try:
        run_id = request.POST.get("run") or ""
        seed = request.POST.get("seed") or ""
        if run_id:
            run = selectors.runs_for_project(project=project).filter(pk=int(run_id)).first()
            if run is None:
                raise DomainError(f"no aggregation run {run_id} in this project")
        release = release_request(
            project=project,
            user=request.user,
            run=run,
            seed=int(seed) if seed.strip() else None,
            holdout_domains=request.POST.getlist("holdout_domains"),
        )
    except ValueError:
        messages.error(request, "Seed and run must be whole numbers.")
        return
    except ValidationProblems as exc:
        messages.error(request, "; ".join(p.message for p in exc.problems))
        return
    except DomainError as exc:
        messages.error(request, str(exc))
        return
    release_enqueue(release=release)
    messages.success(
        request,
        f"Release requested from run {release.run_id}; it gets its version when the build completes.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def token(request: HttpRequest) -> HttpResponse:
    """The user's own API token: show it, create or replace it, or revoke it."""
    if request.method == "POST":
        action = request.POST.get("action")
        Token.objects.filter(user=request.user).delete()
        if action == "create":
            Token.objects.create(user=request.user)
            messages.success(
                request, "A new API token was created; the previous one no longer works."
            )
        else:
            messages.success(request, "Your API token was revoked.")
        return redirect("exports:token")
    current = Token.objects.filter(user=request.user).first()
    return render(request, "exports/token.html", {"token": current})
