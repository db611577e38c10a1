"""Reads for the annotation app's pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from . import access
from .markdown import render_markdown
from .models import (
    Annotator,
    Assignment,
    DomainProgress,
    JudgmentSource,
    LikertJudgment,
    PairwiseJudgment,
    Project,
    Prompt,
    Response,
    Task,
)


@dataclass(frozen=True)
class HomeRow:
    project: Project
    role: str
    # Open work: the user's live lease in the project, and their judgments there today.
    open_lease: bool = False
    today: int = 0

    @property
    def can_annotate(self) -> bool:
        return self.role in access.ANNOTATE

    @property
    def can_manage(self) -> bool:
        return self.role in access.MANAGE


def home_projects(*, user: AbstractBaseUser) -> list[HomeRow]:
    """The user's projects with their role in each (staff see every project as lead), and
    whether they have a task open there."""
    if user.is_staff:
        pairs = [(p, access.Role.LEAD) for p in Project.objects.order_by("name")]
    else:
        pairs = [
            (m.project, m.role)
            for m in user.memberships.select_related("project").order_by("project__name")
        ]
    annotator = Annotator.objects.filter(user=user).first() if user.is_authenticated else None
    leased: set[int] = set()
    if annotator is not None:
        leased = set(
            Assignment.objects.filter(
                annotator=annotator, state=Assignment.State.ACTIVE, expires_at__gt=timezone.now()
            ).values_list("project_id", flat=True)
        )
    return [
        HomeRow(
            project=p,
            role=role,
            open_lease=p.pk in leased,
            today=annotator_progress(project=p, annotator=annotator).today if annotator else 0,
        )
        for p, role in pairs
    ]


# --- Annotator pages -----------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionView:
    key: str
    label: str
    description_html: str
    points: list[tuple[int, str]]  # (value, label or "")
    selected: int | None = None


@dataclass(frozen=True)
class ResponseView:
    side: str  # "" for Likert, "left"/"right" for pairwise
    text_html: str


@dataclass(frozen=True)
class Progress:
    today: int
    complete: int
    total: int

    @property
    def percent(self) -> float:
        return round(100.0 * self.complete / self.total, 1) if self.total else 0.0


@dataclass(frozen=True)
class TaskView:
    assignment: Assignment
    kind: str
    prompt_html: str
    responses: list[ResponseView]
    criteria: list[CriterionView]


def criteria_views(project: Project, selected: dict[str, Any] | None = None) -> list[CriterionView]:
    selected = selected or {}
    views = []
    for c in project.criteria.all():
        labels = {str(k): str(v) for k, v in (c.point_labels or {}).items()}
        try:
            chosen = int(selected.get(c.key))
        except (TypeError, ValueError):
            chosen = None
        views.append(
            CriterionView(
                key=c.key,
                label=c.label,
                description_html=render_markdown(c.description),
                points=[(p, labels.get(str(p), "")) for p in c.points],
                selected=chosen,
            )
        )
    return views


def task_view(
    *, project: Project, assignment: Assignment, selected: dict[str, Any] | None = None
) -> TaskView:
    """What the task page shows for one lease, Markdown rendered and sanitized."""
    task = assignment.task
    ids = [task.response_a_id] + ([task.response_b_id] if task.response_b_id else [])
    texts = dict(Response.objects.filter(pk__in=ids).values_list("id", "text"))
    prompt_text = Prompt.objects.filter(pk=task.prompt_id).values_list("text", flat=True).get()
    if task.kind == Task.Kind.LIKERT:
        responses = [ResponseView(side="", text_html=render_markdown(texts[task.response_a_id]))]
        criteria = criteria_views(project, selected)
    else:
        left, right = (
            (task.response_b_id, task.response_a_id)
            if assignment.flipped
            else (
                task.response_a_id,
                task.response_b_id,
            )
        )
        responses = [
            ResponseView(side="left", text_html=render_markdown(texts[left])),
            ResponseView(side="right", text_html=render_markdown(texts[right])),
        ]
        criteria = []
    return TaskView(
        assignment=assignment,
        kind=task.kind,
        prompt_html=render_markdown(prompt_text),
        responses=responses,
        criteria=criteria,
    )


def _start_of_today() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def annotator_progress(*, project: Project, annotator: Annotator | None) -> Progress:
    """The annotator's judgments today in this project, and the project's tasks at quorum."""
    today = 0
    if annotator is not None:
        since = _start_of_today()
        today = (
            LikertJudgment.objects.filter(
                annotator=annotator, created_at__gte=since, response__project=project
            ).count()
            + PairwiseJudgment.objects.filter(
                annotator=annotator, created_at__gte=since, prompt__project=project
            ).count()
        )
    totals = DomainProgress.objects.filter(project=project).aggregate(
        complete=Sum("tasks_complete"), total=Sum("tasks_total")
    )
    return Progress(today=today, complete=totals["complete"] or 0, total=totals["total"] or 0)


# --- Lead's project page --------------------------------------------------------------------


@dataclass(frozen=True)
class DomainRow:
    name: str
    target_share: float
    safety_critical: bool
    tasks_complete: int
    tasks_total: int
    done: int
    done_share: float

    @property
    def percent(self) -> float:
        return round(100.0 * self.tasks_complete / self.tasks_total, 1) if self.tasks_total else 0.0

    @property
    def gap(self) -> float:
        """Share of judgments minus target, in percentage points."""
        return round(100.0 * (self.done_share - self.target_share), 1)


@dataclass(frozen=True)
class LeaseRow:
    annotator: str
    task: str
    leased_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class LeadOverview:
    domains: list[DomainRow]
    active_annotators: list[tuple[str, int]]  # (name, judgments in the window)
    open_leases: list[LeaseRow]
    open_lease_count: int
    per_day: list[tuple[date, int, int]]  # (day, likert, pairwise)
    judgments_total: int
    over_quorum: int


ACTIVE_WINDOW = timedelta(hours=24)
PER_DAY_WINDOW_DAYS = 14


def lead_overview(*, project: Project, now: datetime | None = None) -> LeadOverview:
    now = now or timezone.now()
    progress = list(
        DomainProgress.objects.filter(project=project)
        .select_related("domain")
        .order_by("domain__name")
    )
    done_total = sum(p.done for p in progress)
    domains = [
        DomainRow(
            name=p.domain.name,
            target_share=p.domain.target_share,
            safety_critical=p.domain.safety_critical,
            tasks_complete=p.tasks_complete,
            tasks_total=p.tasks_total,
            done=p.done,
            done_share=p.done / done_total if done_total else 0.0,
        )
        for p in progress
    ]
    likert = LikertJudgment.objects.filter(response__project=project)
    pairwise = PairwiseJudgment.objects.filter(prompt__project=project)
    since = now - ACTIVE_WINDOW
    active: dict[str, int] = {}
    for qs in (likert, pairwise):
        for name, n in (
            qs.filter(created_at__gte=since, source=JudgmentSource.ANNOTATED)
            .values_list("annotator__user__username")
            .annotate(n=Count("id"))
        ):
            active[name] = active.get(name, 0) + n
    leases = Assignment.objects.filter(
        project=project, state=Assignment.State.ACTIVE, expires_at__gt=now
    )
    open_leases = [
        LeaseRow(
            annotator=str(a.annotator),
            task=str(a.task),
            leased_at=a.leased_at,
            expires_at=a.expires_at,
        )
        for a in leases.select_related("annotator__user", "task").order_by("leased_at")[:50]
    ]
    first_day = (timezone.localtime(now) - timedelta(days=PER_DAY_WINDOW_DAYS - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    days: dict[date, list[int]] = {}
    for i, qs in enumerate((likert, pairwise)):
        for day, n in (
            qs.filter(created_at__gte=first_day)
            .annotate(day=TruncDate("created_at"))
            .values_list("day")
            .annotate(n=Count("id"))
        ):
            days.setdefault(day, [0, 0])[i] += n
    return LeadOverview(
        domains=domains,
        active_annotators=sorted(active.items(), key=lambda kv: (-kv[1], kv[0])),
        open_leases=open_leases,
        open_lease_count=leases.count(),
        per_day=[(d, counts[0], counts[1]) for d, counts in sorted(days.items(), reverse=True)],
        judgments_total=likert.count() + pairwise.count(),
        over_quorum=likert.filter(over_quorum=True).count()
        + pairwise.filter(over_quorum=True).count(),
    )
