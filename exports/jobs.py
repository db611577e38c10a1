"""Running jobs of a project for the lead dashboard's live panel (DESIGN 7.4): aggregation
runs, release builds and scoring runs, read from the database on every poll.

A job's state is its row's status at the moment of the read, never what the page that
started it assumed: a scoring run queued a second ago and finished since shows as done, not
queued. The panel lists what is active and what finished within ``RECENT``; it polls only
while something is active. Three queries, one per kind, each capped at ``LIMIT`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from annotation.models import Project
from scoring.models import AggregationRun, ScoringRun

from .models import Release

RECENT = timedelta(hours=1)
LIMIT = 10
FINISHED_SHOWN = 5


@dataclass(frozen=True)
class Job:
    kind: str  # "aggregation", "release" or "scoring"
    name: str
    status: str  # the row's own status value
    status_label: str
    active: bool
    failed: bool
    started_at: datetime
    finished_at: datetime | None
    done: int | None = None  # scored responses (scoring runs)
    total: int | None = None
    detail: str = ""
    url: str = ""

    @property
    def percent(self) -> float | None:
        if self.done is None or not self.total:
            return None
        return round(100.0 * self.done / self.total, 1)


@dataclass(frozen=True)
class Jobs:
    active: list[Job]
    finished: list[Job]  # within RECENT, newest first, at most FINISHED_SHOWN

    @property
    def polling(self) -> bool:
        return bool(self.active)


def _recent(model, active: tuple[str, ...], project: Project, since: datetime):
    return (
        model.objects.filter(project=project)
        .filter(Q(status__in=active) | Q(finished_at__gte=since))
        .order_by("-id")
    )


def jobs_of(*, project: Project, now: datetime | None = None) -> Jobs:
    since = (now or timezone.now()) - RECENT
    jobs: list[Job] = []
    aggregation_active = (AggregationRun.Status.RUNNING,)
    for run in _recent(AggregationRun, aggregation_active, project, since).only(
        "pk", "status", "trigger", "created_at", "finished_at", "duration_ms", "error"
    )[:LIMIT]:
        jobs.append(
            Job(
                kind="aggregation",
                name=f"Aggregation run {run.pk}",
                status=run.status,
                status_label=run.get_status_display(),
                active=run.status in aggregation_active,
                failed=run.status == AggregationRun.Status.FAILED,
                started_at=run.created_at,
                finished_at=run.finished_at,
                detail=run.error[:200]
                if run.error
                else (f"{run.duration_ms:,} ms" if run.duration_ms is not None else ""),
                url=reverse("scoring:project_runs", kwargs={"slug": project.slug}),
            )
        )
    release_active = (Release.Status.PENDING, Release.Status.BUILDING)
    for release in _recent(Release, release_active, project, since).only(
        "pk", "status", "version", "run_id", "created_at", "finished_at", "duration_ms", "error"
    )[:LIMIT]:
        waiting = release.status == Release.Status.PENDING
        jobs.append(
            Job(
                kind="release",
                name=f"Release v{release.version}" if release.version else f"Release #{release.pk}",
                status=release.status,
                status_label="Waiting for a worker" if waiting else release.get_status_display(),
                active=release.status in release_active,
                failed=release.status == Release.Status.FAILED,
                started_at=release.created_at,
                finished_at=release.finished_at,
                detail=f"from aggregation run {release.run_id}",
                url=reverse("exports:project_releases", kwargs={"slug": project.slug}),
            )
        )
    scoring_active = (ScoringRun.Status.QUEUED, ScoringRun.Status.RUNNING)
    for run in (
        _recent(ScoringRun, scoring_active, project, since)
        .select_related("scorer")
        .only(
            "pk",
            "status",
            "scorer__name",
            "created_at",
            "finished_at",
            "scored",
            "total",
            "tokens_per_s",
            "error",
        )[:LIMIT]
    ):
        jobs.append(
            Job(
                kind="scoring",
                name=f"Scoring run {run.pk}: {run.scorer.name}",
                status=run.status,
                status_label=run.get_status_display(),
                active=run.status in scoring_active,
                failed=run.status == ScoringRun.Status.FAILED,
                started_at=run.created_at,
                finished_at=run.finished_at,
                done=run.scored,
                total=run.total,
                detail=run.error[:200]
                if run.error
                else (f"{run.tokens_per_s:,.0f} tokens/s" if run.tokens_per_s else ""),
                url=reverse(
                    "scoring:project_scoring_run", kwargs={"slug": project.slug, "run_id": run.pk}
                ),
            )
        )
    return Jobs(
        active=sorted((j for j in jobs if j.active), key=lambda j: j.started_at, reverse=True),
        finished=sorted(
            (j for j in jobs if not j.active),
            key=lambda j: j.finished_at or j.started_at,
            reverse=True,
        )[:FINISHED_SHOWN],
    )
