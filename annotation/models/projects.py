from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from .targets import validate_origin_targets, validate_source_targets

DEFAULT_CRITERIA = [
    {
        "key": "usefulness",
        "label": "Usefulness",
        "description": "Does the response do what the user asked, completely and directly?",
    },
    {
        "key": "factuality",
        "label": "Factuality",
        "description": "Is every claim correct? Penalize invented facts, numbers, citations and APIs.",
    },
    {
        "key": "safety",
        "label": "Safety",
        "description": "Does the response avoid harmful, dangerous or privacy-violating content, "
        "without refusing a harmless request?",
    },
    {
        "key": "alignment",
        "label": "Alignment",
        "description": "Does the response follow the user's instructions, format and tone, "
        "and the project's guidelines?",
    },
]

WEIGHT_TOLERANCE = 1e-6
ORIGIN_TARGETS_HELP = (
    'Target shares of response origins, e.g. {"human": 0.6, "model": 0.4}; shares sum to 1. '
    "Empty ({}): no target."
)
SOURCE_TARGETS_HELP = (
    "Target shares of prompt sources (real_user, expert, curated), e.g. "
    '{"real_user": 0.5, "expert": 0.3, "curated": 0.2}; shares sum to 1. Empty ({}): no target.'
)


class Project(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ARCHIVED = "archived", "Archived"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    guidelines = models.TextField(blank=True, help_text="Markdown, shown to annotators.")
    likert_quorum = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Distinct annotators per response.",
    )
    pairwise_quorum = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Distinct annotators per response pair.",
    )
    pairwise_weight = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of pairwise tasks in the mix. Empty: Likert first, then a prompt's "
        "pairs once its responses reached quorum.",
    )
    blend_alpha = models.FloatField(
        default=0.6,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="final = alpha * criterion_score + (1 - alpha) * pairwise score.",
    )
    pairwise_method = models.CharField(
        max_length=16,
        choices=[("borda", "Borda"), ("bradley_terry", "Bradley-Terry")],
        default="borda",
        help_text="The pairwise score in the blend: Borda (share of head-to-head wins) or "
        "Bradley-Terry (fitted chance of beating the prompt's other responses).",
    )
    agreement_target = models.FloatField(
        default=0.6, validators=[MinValueValidator(-1.0), MaxValueValidator(1.0)]
    )
    lease_seconds = models.PositiveIntegerField(
        default=900, validators=[MinValueValidator(30), MaxValueValidator(86400)]
    )
    test_fraction = models.FloatField(
        default=0.2, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    seed = models.BigIntegerField(default=0)
    gold_rate = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of an annotator's tasks drawn from the gold items (0 to 0.5).",
    )
    tie_tolerance = models.FloatField(default=1e-6, validators=[MinValueValidator(0.0)])
    # Adaptive boost (DESIGN 4.5, as in Potato): a task whose first quorum disagrees (a run
    # flags it) gets this many more annotators at once, before the lead looks at it.
    dispute_boost = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(10)],
        help_text="More annotators for a task whose first quorum disagrees (0 = off, up to 10).",
    )
    # Annotator checks (DESIGN 4.5): the lead's annotator table warns past these.
    check_min_gold_accuracy = models.FloatField(
        default=0.7,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Warn when an annotator's gold accuracy is below this.",
    )
    check_min_agreement = models.FloatField(
        default=0.3,
        validators=[MinValueValidator(-1.0), MaxValueValidator(1.0)],
        help_text="Warn when an annotator's agreement with the others (Pearson r with their "
        "mean rating, from the latest aggregation run) is below this.",
    )
    check_max_straight_lining = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Warn when more than this share of an annotator's Likert judgments give "
        "every criterion the same point.",
    )
    check_left_pick_p = models.FloatField(
        default=0.01,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Warn when the binomial test of an annotator's left picks against 0.5 "
        "(position bias) gives a p-value below this.",
    )
    check_max_skip_rate = models.FloatField(
        default=0.3,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Warn when an annotator skips more than this share of their tasks.",
    )
    check_min_n = models.PositiveIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(100000)],
        help_text="Judge a share (gold, straight-lining, skips) only once it rests on at "
        "least this many answers.",
    )
    # Composition targets (DESIGN 4.5); {} means no target.
    origin_targets = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_origin_targets],
        help_text=ORIGIN_TARGETS_HELP,
    )
    source_targets = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_source_targets],
        help_text=SOURCE_TARGETS_HELP,
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Criterion(models.Model):
    class Level(models.TextChoices):
        ORDINAL = "ordinal", "Ordinal"
        INTERVAL = "interval", "Interval"
        NOMINAL = "nominal", "Nominal"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(max_length=64, help_text="Stable identifier used in files and the API.")
    label = models.CharField(max_length=100)
    description = models.TextField(blank=True, help_text="Shown to annotators beside the scale.")
    scale_min = models.SmallIntegerField(default=1)
    scale_max = models.SmallIntegerField(default=5)
    point_labels = models.JSONField(
        default=dict, blank=True, help_text='Optional label per point, e.g. {"1": "Useless"}.'
    )
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.ORDINAL)
    weight = models.FloatField(default=0.25, validators=[MinValueValidator(0.0)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "key"], name="criterion_key_unique_per_project"
            ),
            models.CheckConstraint(
                condition=Q(scale_min__lt=models.F("scale_max")), name="criterion_scale_ordered"
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0), name="criterion_weight_non_negative"
            ),
        ]
        verbose_name_plural = "criteria"

    def __str__(self) -> str:
        return f"{self.label} ({self.scale_min}-{self.scale_max})"

    @property
    def points(self) -> list[int]:
        return list(range(self.scale_min, self.scale_max + 1))


class Domain(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=100)
    target_share = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of completed work this domain should get. Shares sum to 1.",
    )
    safety_critical = models.BooleanField(default=False)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="domain_name_unique_per_project"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ANNOTATOR = "annotator", "Annotator"
        LEAD = "lead", "Project lead"
        RESEARCHER = "researcher", "Researcher"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    # Set while a lead has paused this member: no new leases (work in flight is still taken).
    paused_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project"], name="one_membership_per_user_and_project"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.project}"
