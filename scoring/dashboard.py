"""Reads for the lead dashboard's chart panels (DESIGN 7.4): judgments per day, alpha per
criterion across aggregation runs, and completion against targets.

Each reader runs a fixed number of queries, whatever the number of annotators, prompts or
runs (counted per day in the database, JSON keys read in the database), so a panel costs
the same on a 15,000-prompt project as on a demo (benchmarks/dashboard.py measures it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from annotation.models import Project
from annotation.selectors import judgments_by_day
from annotation.services.dashboard import DAYS_KEPT

from .charts import Point
from .models import AggregationRun

PER_DAY_DAYS = DAYS_KEPT  # the days the dashboard's stored figures keep
TREND_RUNS = 20


@dataclass(frozen=True)
class Day:
    day: date
    likert: int
    pairwise: int

    @property
    def total(self) -> int:
        return self.likert + self.pairwise


def judgments_per_day(
    *,
    project: Project,
    now: datetime | None = None,
    days: int = PER_DAY_DAYS,
    counts: Mapping[date, Sequence[int]] | None = None,
) -> list[Day]:
    """Judgments recorded per calendar day (the site's time zone) over the last ``days``
    days, oldest first, days without any included as zeros. Gold answers and imported
    judgments count: they are recorded work. ``counts``: ``judgments_by_day`` as stored in
    the dashboard figures, or None to count now (two queries)."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    if counts is None:
        since = timezone.make_aware(datetime.combine(first, datetime.min.time()))
        counts = judgments_by_day(project=project, since=since)
    return [
        Day(d, *counts.get(d, (0, 0))) for d in (first + timedelta(days=k) for k in range(days))
    ]


@dataclass(frozen=True)
class Trend:
    """One agreement figure across runs, oldest run first."""

    name: str
    level: str
    points: list[Point]

    @property
    def latest(self) -> Point:
        return self.points[-1]


def agreement_trend(*, project: Project, runs: int = TREND_RUNS) -> list[Trend]:
    """Krippendorff's alpha of each criterion (at the criterion's own level) and of the
    pairwise choices (nominal) across the project's last ``runs`` finished aggregation runs,
    with their 95% bootstrap CIs, oldest first. Criteria in the project's order, then any
    that only older runs had. A figure a run lacks is undefined there, with the reason. Two
    queries: the criteria, and the runs' ``agreement.criteria`` and ``agreement.pairwise``
    (read out of the JSON in the database: a run's full agreement also holds per-domain and
    per-annotator figures the chart does not need)."""
    rows = list(
        AggregationRun.objects.filter(project=project, status=AggregationRun.Status.DONE)
        .order_by("-created_at", "-id")
        .values_list("pk", "agreement__criteria", "agreement__pairwise")[:runs]
    )
    rows.reverse()
    if not rows:
        return []
    keys = list(project.criteria.order_by("position", "id").values_list("key", flat=True))
    seen = {k for _, criteria, _ in rows for k in (criteria or {})}
    keys += sorted(seen - set(keys))
    trends = []
    for key in keys:
        if key not in seen:
            continue
        level = next(
            (
                criteria[key]["level"]
                for _, criteria, _ in reversed(rows)
                if key in (criteria or {})
            ),
            "",
        )
        points = []
        for pk, criteria, _ in rows:
            c = (criteria or {}).get(key)
            if c is None:
                points.append(Point(f"run {pk}", None, note="not in this run"))
            else:
                points.append(Point.from_estimate(f"run {pk}", c["alpha"].get(c["level"])))
        trends.append(Trend(key, level, points))
    if any(pairwise for _, _, pairwise in rows):
        trends.append(
            Trend(
                "pairwise choices",
                "nominal",
                [
                    Point.from_estimate(f"run {pk}", pairwise.get("alpha_nominal"))
                    if pairwise
                    else Point(f"run {pk}", None, note="no pairwise judgments in this run")
                    for pk, _, pairwise in rows
                ],
            )
        )
    return trends
