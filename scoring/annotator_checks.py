"""The lead's annotator checks panel (DESIGN 4.5 and 7.4): the annotator table with its
warning badges, a chart of speed against agreement and one of left-pick shares.

Served by this app, not by annotation: the agreement with the leave-one-out consensus comes
from the latest aggregation run, and annotation never imports scoring. The rest of the
figures are ``annotation.quality_selectors.annotator_checks``. Leads and staff only (it
shows people): researchers and annotators 403, outsiders 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotation import access
from annotation.models import Project
from annotation.quality_selectors import AnnotatorCheckRow, AnnotatorChecks, annotator_checks
from annotation.services.dashboard import (
    criteria_keys,
    dashboard_snapshot_get,
    stored_annotator_stats,
)

from .charts import XY, Point, interval_chart, scatter_chart
from .models import AggregationRun

PAGE_SIZE = 20

# ?sort= value: (label, key). None sorts last whatever the direction.
SORTS = {
    "warnings": ("warnings first", lambda r: (-len(r.warnings), r.name.casefold())),
    "name": ("name", lambda r: (r.name.casefold(), r.annotator_id)),
    "judgments": ("most judgments", lambda r: (-r.judgments, r.name.casefold())),
    "gold": (
        "lowest gold accuracy",
        lambda r: (
            r.control.gold is None,
            r.control.gold.accuracy if r.control.gold else 0.0,
            r.name.casefold(),
        ),
    ),
    "agreement": (
        "lowest agreement",
        lambda r: (r.agreement_r is None, r.agreement_r or 0.0, r.name.casefold()),
    ),
    "left": (
        "smallest left-pick p",
        lambda r: (r.left.p_value is None, r.left.p_value or 0.0, r.name.casefold()),
    ),
}


def latest_agreement(project: Project) -> list[dict] | None:
    """The ``annotators`` rows of the latest finished run's agreement, or None without a run.
    Only that key leaves the database (the whole agreement holds every annotator pair)."""
    found = (
        AggregationRun.objects.filter(project=project, status=AggregationRun.Status.DONE)
        .order_by("-created_at", "-id")
        .values_list("agreement__annotators", flat=True)[:1]
    )
    return list(found[0] or []) if found else None


def speed_chart(project: Project, rows: list[AnnotatorCheckRow]):
    """Median seconds per Likert task against the mean Pearson r with the others' mean;
    without Likert agreement, seconds per pairwise task against agreeing with the others'
    majority. Annotators with a warning are drawn in red."""
    likert = any(r.agreement_r is not None for r in rows)
    points = [
        XY(
            r.name,
            r.median_seconds_likert if likert else r.median_seconds_pairwise,
            r.agreement_r if likert else r.agreement_pairwise,
            warn=bool(r.warnings),
        )
        for r in rows
    ]
    return scatter_chart(
        points,
        title="Speed against agreement" + (" (Likert)" if likert else " (pairwise)"),
        x_label="median seconds per task",
        y_label="r with others" if likert else "agrees with majority",
        y_range=(-1.0, 1.0) if likert else (0.0, 1.0),
        reference_y=project.check_min_agreement if likert else None,
        caption="Each dot is an annotator, red with a warning; the dashed line is the "
        "project's minimum agreement. Fast and low is the pattern to look at.",
        empty="No agreement figures yet: they come with the next aggregation run.",
    )


def left_chart(rows: list[AnnotatorCheckRow]):
    points = [
        Point(r.name, r.left.share.value, r.left.ci_low, r.left.ci_high)
        for r in rows
        if r.left.share.n
    ]
    return interval_chart(
        points,
        title="Left-pick share in pairwise choices",
        reference=0.5,
        caption="Share of non-tie choices that picked the left response, with its exact 95% "
        "interval; the dashed line is 0.5 (no position bias).",
        empty="No pairwise choices on this page.",
        digits=2,
    )


@login_required
@require_GET
def annotator_checks_panel(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    # The counts are stored figures (annotation.services.dashboard): counting them here read
    # every judgment, 845 ms a request on the 15,000-prompt benchmark project.
    snapshot = dashboard_snapshot_get(project=project, keys=criteria_keys(project))
    checks: AnnotatorChecks = annotator_checks(
        project=project,
        agreement=latest_agreement(project),
        stats=stored_annotator_stats(snapshot),
    )
    sort = request.GET.get("sort", "warnings")
    if sort not in SORTS:
        sort = "warnings"
    rows = sorted(checks.rows, key=SORTS[sort][1])
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "snapshot": snapshot,
        "checks": checks,
        "page": page,
        "sort": sort,
        "sorts": [(key, label) for key, (label, _) in SORTS.items()],
        "flagged": sum(1 for r in rows if r.warnings),
        "speed_chart": speed_chart(project, rows),
        "left_chart": left_chart(list(page.object_list)),
    }
    template = "scoring/annotator_checks.html"
    return render(request, f"{template}#panel" if request.htmx else template, context)
