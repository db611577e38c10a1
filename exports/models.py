from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models import Project
from scoring.models import AggregationRun


class Release(models.Model):
    """One dataset release of a project, built from one aggregation run (DESIGN 7).

    A release is requested (pending), built by the `exports` worker (building) and then either
    published (ready: it has a version number and an immutable directory of files) or failed
    (no version, no files). Only ready releases are visible as datasets. The version number is
    taken at publish time, so a failed build never burns or shows a version.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="releases")
    run = models.ForeignKey(AggregationRun, on_delete=models.PROTECT, related_name="releases")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # v1, v2, ... per project; set when the build is published.
    version = models.PositiveIntegerField(null=True, blank=True)
    seed = models.BigIntegerField()
    test_fraction = models.FloatField()
    holdout_domains = models.JSONField(default=list, blank=True)
    # {scorer name: scoring run id}, pinned at request time (each scorer's latest finished
    # run then), so a rebuild writes the same scores.parquet and metaeval.json.
    scorers = models.JSONField(default=dict, blank=True)
    # Relative to settings.EXPORT_DIR, e.g. "demo/v3".
    directory = models.CharField(max_length=500, blank=True)
    # {file name: {"sha256": ..., "bytes": ..., "rows": ...}} for every file, manifest included.
    files = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # The current build's claim: a fresh token each time a worker claims the build (pending ->
    # building, or taking over a stale claim). Every later step of a build is conditional on
    # still holding its token, so a redelivered task can never clobber another's work.
    build_token = models.CharField(max_length=32, blank=True)
    build_claimed_at = models.DateTimeField(null=True, blank=True)
    # When the periodic catch-up last queued the build again (a build whose message was lost:
    # exports.services.build.release_catch_up_enqueue); at most once per stale period.
    requeued_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version"],
                condition=Q(version__isnull=False),
                name="release_version_unique_per_project",
            ),
            models.CheckConstraint(
                condition=Q(status="ready", version__isnull=False)
                | (~Q(status="ready") & Q(version__isnull=True)),
                name="release_ready_iff_versioned",
            ),
        ]

    def __str__(self) -> str:
        label = f"v{self.version}" if self.version else f"#{self.pk} ({self.status})"
        return f"{self.project.slug} {label}"

    def save(self, *args, **kwargs) -> None:
        # Published releases are immutable: their files are fixed and their row with them.
        if self.pk and Release.objects.filter(pk=self.pk, status=self.Status.READY).exists():
            raise ValueError(f"release {self} is published and cannot change")
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        return f"v{self.version}" if self.version else "pending"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY
