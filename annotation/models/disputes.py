"""The dispute queue (DESIGN 4.5): items an aggregation run flagged, and what the lead did.

A dispute is one item (a response for Likert, an unordered response pair for pairwise),
recorded the first time a run flags it and kept up to date by every later run
(``disputes_record``). The lead adjudicates it (an ``Adjudication`` that decides the item in
the next runs), asks for more judgments (raises the task's quorum), or dismisses it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .assignments import Task
from .items import Prompt, Response
from .projects import Project


class Dispute(models.Model):
    class Kind(models.TextChoices):
        LIKERT = "likert", "Likert"
        PAIRWISE = "pairwise", "Pairwise"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MORE = "more", "More judgments asked"
        ADJUDICATED = "adjudicated", "Adjudicated"
        DISMISSED = "dismissed", "Dismissed"
        # An open dispute the latest run no longer flags (more judgments, an exclusion).
        SETTLED = "settled", "No longer disputed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="disputes")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="+")
    # Pairwise: canonical order (response_a.pk < response_b.pk), as in Task and the runs.
    response_a = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    response_b = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The task "ask for more" raises; none for a pair outside the pair design (an import).
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="disputes"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    # Why the latest flagging run flagged it: {"spans": {criterion: points}} or {"votes": ...}.
    reason = models.JSONField(default=dict, blank=True)
    # The aggregation run (scoring app) that flagged it last; a plain id, so annotation does
    # not depend on scoring.
    flagged_run_id = models.PositiveBigIntegerField()
    first_flagged_at = models.DateTimeField(auto_now_add=True)
    last_flagged_at = models.DateTimeField()
    more_asked = models.PositiveSmallIntegerField(default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="likert") & Q(response_b__isnull=True))
                | (
                    Q(kind="pairwise")
                    & Q(response_b__isnull=False)
                    & Q(response_a__lt=F("response_b"))
                ),
                name="dispute_shape_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["response_a"],
                condition=Q(kind="likert"),
                name="one_likert_dispute_per_response",
            ),
            models.UniqueConstraint(
                fields=["response_a", "response_b"],
                condition=Q(kind="pairwise"),
                name="one_pairwise_dispute_per_pair",
            ),
        ]
        indexes = [models.Index(fields=["project", "status", "id"], name="dispute_queue_idx")]

    def __str__(self) -> str:
        if self.kind == self.Kind.LIKERT:
            return f"Dispute over the ratings of response {self.response_a_id}"
        return f"Dispute over the pair {self.response_a_id} vs {self.response_b_id}"


class Adjudication(models.Model):
    """The lead's deciding judgment on a disputed item. While its dispute is adjudicated, the
    runs take a Likert item's criterion means from ``ratings`` and a pair's outcome from
    ``choice`` (DESIGN 4.5; ``scoring.core.adjudication``)."""

    class Choice(models.TextChoices):
        # In canonical order (response_a.pk < response_b.pk), as in GoldItem.
        A = "a", "Response A wins"
        B = "b", "Response B wins"
        TIE = "tie", "Tie"

    dispute = models.OneToOneField(Dispute, on_delete=models.CASCADE, related_name="adjudication")
    ratings = models.JSONField(default=dict, blank=True)
    choice = models.CharField(max_length=4, choices=Choice.choices, blank=True)
    note = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Adjudication of {self.dispute}"
