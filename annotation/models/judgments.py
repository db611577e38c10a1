from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .items import Prompt, Response
from .projects import Project


class Annotator(models.Model):
    """Whoever gave a judgment: a user of this app, or a rater imported from another tool.

    Agreement and exports work on annotators, so imported raters count like any other.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="annotator",
    )
    # External raters are scoped to the project they were imported into.
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="external_annotators"
    )
    external_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(project__isnull=True) & Q(external_id=""))
                | (Q(user__isnull=True) & Q(project__isnull=False) & ~Q(external_id="")),
                name="annotator_is_user_or_external",
            ),
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=Q(user__isnull=True),
                name="external_annotator_unique_per_project",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id if self.user_id is None else str(self.user)

    @property
    def is_external(self) -> bool:
        return self.user_id is None


class ImportBatch(models.Model):
    """One import file: what it was, who brought it and what it created.

    A small import is checked and written in one request and recorded here once done. A big
    one (over ``settings.IMPORT_BACKGROUND_LINES`` lines) is recorded first, queued, and run
    by a worker (``annotation.tasks.import_run``), which moves it through
    queued -> checking -> writing -> done or failed; ``file_name`` names the uploaded file in
    ``settings.IMPORT_DIR`` until the job has finished.
    """

    class Kind(models.TextChoices):
        ITEMS = "items", "Prompts and responses"
        JUDGMENTS = "judgments", "Judgments"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        CHECKING = "checking", "Checking"
        WRITING = "writing", "Writing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    counts = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DONE)
    # How the job was asked to run, e.g. {"on_duplicate": "merge"}.
    options = models.JSONField(default=dict, blank=True)
    lines_total = models.PositiveIntegerField(null=True, blank=True)
    lines_checked = models.PositiveIntegerField(default=0)
    # A failed job's problems: [{"line", "field", "message"}], and the one-line reason.
    problems = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.kind} import {self.filename} ({self.created_at:%Y-%m-%d})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class JudgmentSource(models.TextChoices):
    ANNOTATED = "annotated", "Annotated here"
    IMPORTED = "imported", "Imported"


class LikertJudgment(models.Model):
    response = models.ForeignKey(
        Response, on_delete=models.PROTECT, related_name="likert_judgments"
    )
    annotator = models.ForeignKey(
        Annotator, on_delete=models.PROTECT, related_name="likert_judgments"
    )
    # {criterion key: integer on that criterion's scale}; validated by the services.
    ratings = models.JSONField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    client_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.CharField(
        max_length=16, choices=JudgmentSource.choices, default=JudgmentSource.ANNOTATED
    )
    # Arrived after its lease expired and the quorum was met meanwhile. Kept: human work is
    # never thrown away, and aggregation may use it.
    over_quorum = models.BooleanField(default=False)
    # An answer to a gold item: counts toward nothing, scores the annotator's gold accuracy.
    gold = models.BooleanField(default=False, db_default=False)
    import_batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL)
    # The lease it was given under; null for imported judgments.
    assignment = models.OneToOneField(
        "annotation.Assignment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="likert_judgment",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "annotator"], name="one_likert_judgment_per_annotator"
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"]),
            models.Index(fields=["annotator", "created_at"], name="likert_annotator_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Likert by {self.annotator} on {self.response_id}"


class PairwiseJudgment(models.Model):
    class Choice(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"
        TIE = "tie", "Tie"

    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="pairwise_judgments")
    # As shown, so position bias can be measured.
    left = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="+")
    right = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="+")
    # The same pair in canonical order (response_a.pk < response_b.pk), for the uniqueness
    # constraint and for analysis.
    response_a = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="+")
    response_b = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="+")
    annotator = models.ForeignKey(
        Annotator, on_delete=models.PROTECT, related_name="pairwise_judgments"
    )
    choice = models.CharField(max_length=8, choices=Choice.choices)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    client_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.CharField(
        max_length=16, choices=JudgmentSource.choices, default=JudgmentSource.ANNOTATED
    )
    over_quorum = models.BooleanField(default=False)
    # An answer to a gold item: counts toward nothing, scores the annotator's gold accuracy.
    gold = models.BooleanField(default=False, db_default=False)
    import_batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL)
    assignment = models.OneToOneField(
        "annotation.Assignment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pairwise_judgment",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response_a", "response_b", "annotator"],
                name="one_pairwise_judgment_per_annotator",
            ),
            models.CheckConstraint(
                condition=Q(response_a__lt=F("response_b")), name="pair_in_canonical_order"
            ),
            models.CheckConstraint(condition=~Q(left=F("right")), name="pair_of_two_responses"),
        ]
        indexes = [
            models.Index(fields=["created_at"]),
            models.Index(fields=["annotator", "created_at"], name="pairwise_annotator_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Pairwise by {self.annotator}: {self.left_id} vs {self.right_id} -> {self.choice}"

    @property
    def winner_id(self) -> int | None:
        """The preferred response's id, or None for a tie."""
        if self.choice == self.Choice.LEFT:
            return self.left_id
        if self.choice == self.Choice.RIGHT:
            return self.right_id
        return None
