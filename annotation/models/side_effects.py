from __future__ import annotations

from django.db import models

from .projects import Project


class SideEffectFailure(models.Model):
    """How often one kind of after-commit side effect (a cache counter, queueing a task)
    failed for one project, and the last error.

    Kept in the database, not in the process: gunicorn runs several workers, the cache is
    usually the thing that is down, and the count must survive a restart to be read on
    /healthz and by tests. One row per (what, project), so an outage adds to a counter
    instead of a row per request.
    """

    what = models.CharField(max_length=200)
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="side_effect_failures"
    )
    count = models.PositiveBigIntegerField(default=0)
    first_at = models.DateTimeField(auto_now_add=True)
    last_at = models.DateTimeField()
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["what", "project"], name="one_side_effect_counter_per_project"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.what} failed {self.count}x for project {self.project_id}"
