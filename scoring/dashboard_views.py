"""The lead dashboard's chart panels, each an HTMX fragment the lead's project page loads
(DESIGN 7.4): judgments per day, alpha per criterion across runs, completion against
targets. They show no people, so researchers may read them too."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from annotation import access
from annotation.composition import project_composition
from annotation.fragments import standalone_page
from annotation.selectors import domain_rows
from annotation.services.dashboard import dashboard_snapshot_get, stored_per_day

from . import dashboard
from .charts import line_chart, stacked_bar_chart, target_bar_chart


@login_required
@require_GET
@standalone_page("Judgments per day")
def per_day_panel(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    # Stored figures (annotation.services.dashboard): counting here read every judgment.
    snapshot = dashboard_snapshot_get(project=project)
    days = dashboard.judgments_per_day(project=project, counts=stored_per_day(snapshot))
    likert = sum(d.likert for d in days)
    pairwise = sum(d.pairwise for d in days)
    chart = stacked_bar_chart(
        [(f"{d.day:%a} {d.day.day} {d.day:%b}", (d.likert, d.pairwise)) for d in days],
        series=("Likert", "pairwise"),
        title=f"Judgments per day, last {len(days)} days",
        caption=f"Judgments recorded per day, Likert and pairwise stacked; {days[0].day:%d %b} "
        f"to {days[-1].day:%d %b}, days without any shown as zero.",
    )
    busiest = max(days, key=lambda d: (d.total, d.day))
    return TemplateResponse(
        request,
        "scoring/dashboard_per_day.html",
        {
            "project": project,
            "snapshot": snapshot,
            "days": len(days),
            "chart": chart,
            "likert": likert,
            "pairwise": pairwise,
            "total": likert + pairwise,
            "busiest": busiest,
            "today": days[-1],
        },
    )


@login_required
@require_GET
@standalone_page("Agreement across runs")
def agreement_panel(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    target = project.agreement_target
    trends = dashboard.agreement_trend(project=project)
    charts = [
        {
            "trend": t,
            "chart": line_chart(
                t.points,
                title=f"Alpha of {t.name} ({t.level}) across runs",
                lo=min(0.0, target),
                hi=1.0,
                reference=target,
                reference_label=f"target {target:g}",
                caption=f"{t.name}: alpha per run, 95% CI band; dashed: the target.",
            ),
        }
        for t in trends
    ]
    return TemplateResponse(
        request,
        "scoring/dashboard_agreement.html",
        {"project": project, "target": target, "charts": charts, "runs": dashboard.TREND_RUNS},
    )


@login_required
@require_GET
@standalone_page("Completion against targets")
def completion_panel(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    domains = domain_rows(project=project)
    charts = [
        target_bar_chart(
            [(d.name, d.done_percent, d.target_percent) for d in domains],
            title="Share of judgments by domain against target",
            caption="Bars: each domain's share of the judgments done (percent); dark ticks: "
            "its target share; right: the gap in percentage points.",
            empty="No domains with tasks yet.",
        )
    ]
    snapshot = dashboard_snapshot_get(project=project)
    composition = project_composition(project=project, counts=snapshot.figures["composition"])
    for dimension in composition.dimensions:
        if not dimension.judged_total or (dimension.name != "origin" and not dimension.has_targets):
            continue  # origin always once judged (DESIGN 4.5's 60/40 mix); others when targeted
        charts.append(
            target_bar_chart(
                [(r.label, r.judged_percent, r.target_percent) for r in dimension.rows],
                title=f"{dimension.title} of the judged {dimension.unit} against target",
                caption=f"Bars: share of the judged {dimension.unit} by "
                f"{dimension.title.lower()} (percent); dark ticks: the project's target"
                + ("" if dimension.has_targets else " (none set)")
                + "; right: the gap in percentage points.",
            )
        )
    return TemplateResponse(
        request,
        "scoring/dashboard_completion.html",
        {"project": project, "charts": charts, "snapshot": snapshot},
    )
