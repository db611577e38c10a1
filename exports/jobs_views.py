"""The lead dashboard's live jobs panel: an HTMX fragment that polls itself every 2 s while
an aggregation run, a release build or a scoring run of the project is active, and stops
when none is (DESIGN 7.4). It shows no people, so researchers may read it too."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from annotation import access
from annotation.fragments import standalone_page

from .jobs import jobs_of


@login_required
@require_GET
@standalone_page("Running jobs")
def project_jobs(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    return TemplateResponse(
        request,
        "exports/dashboard_jobs.html",
        {"project": project, "jobs": jobs_of(project=project)},
    )
