from __future__ import annotations

from django.db import models

from annotation.models import Project, Response


class AggregationRun(models.Model):
    """One immutable aggregation of a project's judgments (DESIGN 5).

    Runs are idempotent: the same judgments and config give identical numbers, and
    ``input_fingerprint`` (sha256 over the judgments and the config snapshot) says so.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        COMMAND = "command", "Management command"
        PAGE = "page", "Project page"
        API = "api", "API"
        AUTO = "auto", "Automatic (new judgments)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="aggregation_runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.COMMAND)
    config = models.JSONField(default=dict)
    counts = models.JSONField(default=dict)
    exclusions = models.JSONField(default=list)
    agreement = models.JSONField(default=dict)
    disputes = models.JSONField(default=list)
    tie_rule = models.JSONField(default=dict)
    input_fingerprint = models.CharField(max_length=64, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.project} ({self.status})"


class ResponseScore(models.Model):
    """One response's scores in one run."""

    class FinalSource(models.TextChoices):
        BLEND = "blend", "alpha * criterion_score + (1 - alpha) * borda"
        CRITERIA_ONLY = "criteria_only", "criterion_score (no pairwise data)"
        BORDA_ONLY = "borda_only", "borda (no Likert quorum)"

    run = models.ForeignKey(AggregationRun, on_delete=models.CASCADE, related_name="scores")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="scores")
    criterion_means = models.JSONField(default=dict)  # {criterion key: mean normalized score}
    criterion_score = models.FloatField(null=True, blank=True)
    borda = models.FloatField(null=True, blank=True)
    final = models.FloatField(null=True, blank=True)
    final_source = models.CharField(max_length=16, choices=FinalSource.choices, blank=True)
    n_likert = models.PositiveIntegerField(default=0)
    n_pairwise = models.PositiveIntegerField(default=0)
    pairwise_wins = models.PositiveIntegerField(default=0)
    rank = models.PositiveIntegerField(null=True, blank=True)  # 1 = best within its prompt
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "response"], name="one_score_per_response_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response_id} in run {self.run_id}: {self.final}"
