"""Tasks, leases and the counters that keep ``done + active <= quorum`` exact.

A task is one unit of annotation: a response (Likert) or an unordered response pair of one
prompt (pairwise). Its row carries the counters the claim compares-and-sets against, so a
claim touches one task row, never a count over judgments:

    filled = done_count + active_count <= quorum      (CHECK constraints, DESIGN 4.1)

``done_count`` counts judgments inside the quorum; a late judgment that arrives after the
quorum was met is stored with ``over_quorum`` and not counted here.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from .items import Prompt, Response
from .judgments import Annotator
from .projects import Domain, Project


class Task(models.Model):
    class Kind(models.TextChoices):
        LIKERT = "likert", "Likert"
        PAIRWISE = "pairwise", "Pairwise"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    # Denormalized from the prompt: the claim filters by domain through the open-task index.
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="tasks")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # Likert: the response. Pairwise: the pair in canonical order (response_a.pk < response_b.pk).
    response_a = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    response_b = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    quorum = models.PositiveSmallIntegerField()
    # Judgments a lead asked for on top of the project's quorum (a dispute's "ask for
    # more", DESIGN 4.5): kept through quorum changes, and claims serve the task up to
    # project quorum + extra_quorum.
    extra_quorum = models.PositiveSmallIntegerField(default=0, db_default=0)
    done_count = models.PositiveIntegerField(default=0)
    active_count = models.PositiveIntegerField(default=0)
    filled = models.PositiveIntegerField(default=0)
    # Pairs wait until every response of their prompt reached the Likert quorum (the default
    # mix); with a project pairwise_weight they are unlocked from the start.
    unlocked = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(filled=F("done_count") + F("active_count")),
                name="task_filled_is_done_plus_active",
            ),
            models.CheckConstraint(
                condition=Q(filled__lte=F("quorum")), name="task_never_over_quorum"
            ),
            models.CheckConstraint(
                condition=(Q(kind="likert") & Q(response_b__isnull=True))
                | (
                    Q(kind="pairwise")
                    & Q(response_b__isnull=False)
                    & Q(response_a__lt=F("response_b"))
                ),
                name="task_shape_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["response_a"],
                condition=Q(kind="likert"),
                name="one_likert_task_per_response",
            ),
            models.UniqueConstraint(
                fields=["response_a", "response_b"],
                condition=Q(kind="pairwise"),
                name="one_pairwise_task_per_pair",
            ),
        ]
        indexes = [
            # The claim query: open tasks of one domain and kind, closest to quorum first, then
            # oldest. Partial, so full tasks drop out of it and a claim never scans them.
            models.Index(
                F("domain"),
                F("kind"),
                F("filled").desc(),
                F("id"),
                condition=Q(unlocked=True, filled__lt=F("quorum")),
                name="task_open_claim_idx",
            ),
            models.Index(fields=["prompt", "kind"], name="task_prompt_kind_idx"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.LIKERT:
            return f"Likert task on response {self.response_a_id}"
        return f"Pairwise task on {self.response_a_id} vs {self.response_b_id}"


class Assignment(models.Model):
    """A lease: one annotator holds one slot of one task until it is done, skipped or expires."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        DONE = "done", "Done"
        EXPIRED = "expired", "Expired"
        SKIPPED = "skipped", "Skipped"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(Annotator, on_delete=models.PROTECT, related_name="assignments")
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # Pairwise: True shows response_b on the left. Drawn per lease, stored so the judgment
    # records the sides exactly as shown.
    flipped = models.BooleanField(default=False)
    skip_reason = models.CharField(max_length=32, blank=True)
    # A gold lease (DESIGN 4.5): given outside the quorum, so it never moves the task's
    # counters, on claim, release or submission alike.
    gold = models.BooleanField(default=False, db_default=False)
    skip_note = models.TextField(blank=True)

    class Meta:
        constraints = [
            # Never the same task twice, never a skipped one: any lease, in any state, bars a
            # second one for the same annotator.
            models.UniqueConstraint(
                fields=["annotator", "task"], name="one_assignment_per_annotator_and_task"
            ),
            models.UniqueConstraint(
                fields=["annotator", "project"],
                condition=Q(state="active"),
                name="one_active_lease_per_annotator_and_project",
            ),
        ]
        indexes = [
            models.Index(
                fields=["project", "expires_at"],
                condition=Q(state="active"),
                name="assignment_active_expiry_idx",
            ),
            models.Index(
                F("annotator"), F("project"), F("id").desc(), name="assignment_latest_idx"
            ),
            models.Index(fields=["task", "state"], name="assignment_task_state_idx"),
        ]

    def __str__(self) -> str:
        return f"Lease {self.pk} of task {self.task_id} to {self.annotator} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE


class DomainProgress(models.Model):
    """Per-domain counters: what the stratified sampler and the lead's page read.

    ``assigned`` is the sum of the domain's tasks' ``filled`` (judgments in quorum plus active
    leases): counting leases, not only finished work, keeps concurrent claimers from all
    chasing the same under-served domain.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="domain_progress")
    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="progress")
    assigned = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    tasks_total = models.PositiveIntegerField(default=0)
    tasks_complete = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "domain progress"

    def __str__(self) -> str:
        return f"{self.domain}: {self.tasks_complete}/{self.tasks_total} tasks at quorum"


class TaskSync(models.Model):
    """What the project's task table was last built from, so a claim can tell in one cheap
    query whether imports or a quorum change need ``tasks_sync`` first."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="task_sync")
    response_max_id = models.BigIntegerField(default=0)
    likert_quorum = models.PositiveSmallIntegerField(default=0)
    pairwise_quorum = models.PositiveSmallIntegerField(default=0)
    pairs_unlocked = models.BooleanField(default=False)
    synced_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Task sync of {self.project}"
