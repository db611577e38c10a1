"""The lead dashboard's stored figures (DESIGN 7.4): the ones that are a scan over every
judgment of the project, kept in one row per project so a panel reads them in one query.

Measured on the 15,000-prompt project with 40 annotators (benchmarks/dashboard.py): the
annotator checks' grouped counts and medians read all 372,000 judgments, several hundred
milliseconds a request, however few arrived since. The row is refreshed by
``annotation.tasks.dashboard_refresh`` (the ``aggregate`` queue, in-process on the embedded
default), queued a few seconds after each commit that adds judgments or leases end
(``annotation.services.dashboard``); a panel shows when its figures were computed and, while
newer work waits for the refresh, says so and polls itself.
"""

from __future__ import annotations

from django.db import models

from .projects import Project


class DashboardSnapshot(models.Model):
    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="dashboard_snapshot"
    )
    # ``annotation.services.dashboard.dashboard_figures``: plain JSON, read as it is.
    figures = models.JSONField(default=dict)
    # When the reads behind ``figures`` began: work committed before then is in them.
    computed_at = models.DateTimeField()
    # The latest commit whose work may not be in ``figures``; null: they are current.
    stale_since = models.DateTimeField(null=True, blank=True)
    # A refresh is queued and has not started (the debounce: one queued refresh at a time).
    queued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"dashboard figures of {self.project_id} at {self.computed_at:%Y-%m-%d %H:%M:%S}"
