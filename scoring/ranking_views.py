"""The model-ranking panel of the lead's dashboard (DESIGN 5 and 7.4): the latest run's
Bradley-Terry ranking of generator models, as a table and a chart with 95% CIs. Leads and
researchers (it names models, not people); annotators 403, outsiders 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from annotation import access
from annotation.fragments import standalone_page

from . import selectors
from .charts import Point, interval_chart
from .model_ranking import NOT_RECORDED, undefined_ranking


def _chart(ranking: dict):
    points = []
    for p in ranking.get("players", []):
        low, high = p.get("p_beats_average_ci") or (None, None)
        points.append(
            Point(
                p["player"],
                p.get("p_beats_average"),
                low,
                high,
                (p.get("strength") or {}).get("reason") or "",
            )
        )
    return interval_chart(
        points,
        title="Chance of beating an average model, with 95% CIs",
        reference=0.5,
        caption="Bradley-Terry strength of each model as its chance of beating a model of "
        "average strength, with a 95% bootstrap CI over prompts; dashed line: 0.5.",
        empty="No model ranking to draw.",
    )


@login_required
@require_GET
@standalone_page("Model ranking")
def model_ranking_panel(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.READ_RESULTS)
    run = selectors.run_latest(project)
    ranking = None
    if run is not None:
        ranking = run.model_ranking or undefined_ranking(NOT_RECORDED)
    return TemplateResponse(
        request,
        "scoring/model_ranking_panel.html",
        {
            "project": project,
            "run": run,
            "ranking": ranking,
            "chart": _chart(ranking) if ranking and ranking.get("defined") else None,
        },
    )
