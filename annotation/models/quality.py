"""Quality control rows (DESIGN 4.5): gold items and excluded annotators.

A gold item is a response (Likert) or a response pair (pairwise) with the answer a lead
expects. Its prompt becomes a gold prompt: every task of that prompt leaves the normal
stream, and the prompt, its responses and their judgments stay out of aggregation and so out
of every release. Gold tasks are served through a separate lease path that never touches the
quorum counters (``Assignment.gold``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .assignments import Task
from .items import Prompt, Response
from .judgments import Annotator
from .projects import Project


class GoldItem(models.Model):
    class Kind(models.TextChoices):
        LIKERT = "likert", "Likert"
        PAIRWISE = "pairwise", "Pairwise"

    class Choice(models.TextChoices):
        # In canonical order (response_a.pk < response_b.pk), whatever side was shown.
        A = "a", "Response A wins"
        B = "b", "Response B wins"
        TIE = "tie", "Tie"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="gold_items")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="gold_items")
    # The task annotators are leased; made by gold_mark when the pair design has none.
    task = models.OneToOneField(Task, on_delete=models.CASCADE, related_name="gold_item")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    response_a = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    response_b = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Likert: {criterion key: expected point}; a judgment is correct when every criterion is
    # within ``tolerance`` points of it.
    expected_ratings = models.JSONField(default=dict, blank=True)
    tolerance = models.PositiveSmallIntegerField(default=1)
    expected_choice = models.CharField(max_length=4, choices=Choice.choices, blank=True)
    explanation = models.TextField(help_text="Why this is the expected answer.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="likert") & Q(response_b__isnull=True) & Q(expected_choice=""))
                | (
                    Q(kind="pairwise")
                    & Q(response_b__isnull=False)
                    & Q(response_a__lt=F("response_b"))
                    & Q(expected_choice__in=["a", "b", "tie"])
                ),
                name="gold_item_shape_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.LIKERT:
            return f"Gold rating of response {self.response_a_id}"
        return f"Gold choice on {self.response_a_id} vs {self.response_b_id}"


class AnnotatorExclusion(models.Model):
    """While this row exists, aggregation leaves the annotator's judgments in this project
    out; deleting it (``annotator_include``) brings them back. No judgment is touched."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="annotator_exclusions"
    )
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="exclusions")
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "annotator"], name="one_exclusion_per_annotator_and_project"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} excluded from {self.project}"
