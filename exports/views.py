"""Release pages (the project's releases page, the HTMX panel on the lead's project page) and
the user's API tokens page."""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from annotation import access
from annotation.errors import DomainError, ValidationProblems
from annotation.fragments import standalone_page
from annotation.selectors import api_tokens_of
from annotation.services.tokens import (
    DEFAULT_EXPIRY_DAYS,
    EXPIRY_DAYS,
    NAME_MAX_LENGTH,
    api_token_create,
    api_token_revoke,
)
from scoring.selectors import runs_for_project

from . import selectors
from .services.build import release_enqueue, release_request

# A run's agreement, disputes and judgment ids reach megabytes on a big project (307 ms for
# the releases panel on the 15,000-prompt benchmark project); these pages show none of them.
HEAVY_RUN_FIELDS = ("agreement", "disputes", "likert_ids", "pairwise_ids", "model_ranking")


def _context(request: HttpRequest, project, *, limit: int | None = None) -> dict:
    role = access.role_in(request.user, project)
    releases = selectors.releases_for_project(project=project).defer(
        *(f"run__{field}" for field in HEAVY_RUN_FIELDS)
    )
    runs = runs_for_project(project).filter(status="done").defer(*HEAVY_RUN_FIELDS)
    return {
        "project": project,
        "is_lead": role == access.Role.LEAD,
        "releases": releases[:limit] if limit else releases,
        "building": releases.filter(status__in=["pending", "building"]).exists(),
        "runs": runs[:20],
        "latest_run": runs.first(),
        "domains": project.domains.order_by("name"),
        "scorers": selectors.scorers_releasable(project=project, run=runs.first()),
    }


@login_required
@require_http_methods(["GET", "POST"])
def project_releases(request: HttpRequest, slug: str) -> HttpResponse:
    """Every release of the project; leads can request a new one (run, seed, holdout,
    scorers)."""
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
@standalone_page("Releases")
def project_panel(request: HttpRequest, slug: str) -> HttpResponse:
    """The releases fragment on the lead's project page (latest releases, a build button)."""
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    return TemplateResponse(
        request, "exports/project_releases.html#panel", _context(request, project, limit=5)
    )


def _whole_number(text: str) -> int:
    """ASCII digits only: int() also reads "٣" and "３" as 3."""
    if not re.fullmatch(r"[0-9]{1,19}", text.strip(), re.ASCII):
        raise ValueError(text)
    return int(text)


def _request_release(request: HttpRequest, project) -> None:
    run = None
    try:
        run_id = request.POST.get("run") or ""
        seed = request.POST.get("seed") or ""
        if run_id:
            run = runs_for_project(project).filter(pk=_whole_number(run_id)).first()
            if run is None:
                raise DomainError(f"no aggregation run {run_id} in this project")
        release = release_request(
            project=project,
            user=request.user,
            run=run,
            seed=_whole_number(seed) if seed.strip() else None,
            holdout_domains=request.POST.getlist("holdout_domains"),
            scorers=request.POST.getlist("scorers"),
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
    if not release_enqueue(release=release):
        messages.error(request, release.error)
        return
    # The table below says where the build is (a release has its version once it is ready);
    # the message only records the request, which stays true whatever the worker does next.
    messages.success(request, f"Release #{release.pk} requested from run {release.run_id}.")


class _TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    expires_in_days = forms.TypedChoiceField(
        choices=[(d, f"{d} days") for d in EXPIRY_DAYS], coerce=int, initial=DEFAULT_EXPIRY_DAYS
    )


class _TokenRevokeForm(forms.Form):
    token = forms.IntegerField(min_value=1)


@login_required
@require_http_methods(["GET", "POST"])
def token(request: HttpRequest) -> HttpResponse:
    """The user's own API tokens: list them, create a named one with an expiry (its key is
    shown once, in the answer to the creation, and never stored), revoke one."""
    form = _TokenCreateForm()
    new = None
    if request.method == "POST" and request.POST.get("action") == "revoke":
        revoke = _TokenRevokeForm(request.POST)
        if not revoke.is_valid():
            raise Http404("No such token.")
        mine = get_object_or_404(api_tokens_of(user=request.user), pk=revoke.cleaned_data["token"])
        api_token_revoke(token=mine)
        messages.success(request, f"The token '{mine.name}' was revoked; it no longer works.")
        return redirect("exports:token")
    if request.method == "POST":
        form = _TokenCreateForm(request.POST)
        if form.is_valid():
            try:
                new = api_token_create(user=request.user, **form.cleaned_data)
            except DomainError as exc:
                form.add_error("name", str(exc))
            else:
                form = _TokenCreateForm()
    context = {
        "form": form,
        "new": new,
        "tokens": api_tokens_of(user=request.user),
        "api_url": request.build_absolute_uri("/api/v1/projects/"),
    }
    response = render(request, "exports/token.html", context, status=400 if form.errors else 200)
    add_never_cache_headers(response)
    return response
