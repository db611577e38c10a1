"""The composition panel of the lead's dashboard (DESIGN 4.5 and 7.4): origin and source
shares against the project's targets. Leads and researchers (it counts items, not people);
annotators 403, outsiders 404 (``access``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from . import access
from .composition import project_composition
from .fragments import standalone_page
from .services.dashboard import dashboard_snapshot_get


@login_required
@require_GET
@standalone_page("Composition against targets")
def composition_panel(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    # The counts are stored (services.dashboard): counting them here read every judgment.
    snapshot = dashboard_snapshot_get(project=project)
    composition = project_composition(project=project, counts=snapshot.figures["composition"])
    return TemplateResponse(
        request,
        "annotation/composition_panel.html",
        {"project": project, "composition": composition, "snapshot": snapshot},
    )
