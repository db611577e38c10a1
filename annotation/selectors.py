"""Reads for the annotation app's pages."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.safestring import SafeString

from . import access
from .markdown import render_markdown
from .models import (
    Annotator,
    ApiToken,
    Assignment,
    Criterion,
    DomainProgress,
    JudgmentSource,
    LikertJudgment,
    Membership,
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

    @property
    def can_read_results(self) -> bool:
        return self.role in access.READ_RESULTS


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
    description_html: SafeString  # sanitized by render_markdown; templates print it as is
    points: list[tuple[int, str]]  # (value, label or "")
    selected: int | None = None

    @property
    def labelled(self) -> bool:
        """Whether any point has a label; pages without one say which end is worst."""
        return any(label for _, label in self.points)


@dataclass(frozen=True)
class ResponseView:
    side: str  # "" for Likert, "left"/"right" for pairwise
    text_html: SafeString  # sanitized by render_markdown


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
    prompt_html: SafeString  # sanitized by render_markdown
    responses: list[ResponseView]
    criteria: list[CriterionView]


# Per process: (project id, project updated_at) -> (monotonic expiry, criteria). Every task
# page and every Likert submit reads the criteria; they change only with the project
# (project_apply and the admin save the project row, which moves updated_at), and an edit
# made elsewhere is seen within CRITERIA_CACHE_SECONDS.
CRITERIA_CACHE_SECONDS = 30.0
_criteria_cache: dict[tuple[int, Any], tuple[float, list[Criterion]]] = {}


def project_criteria(project: Project) -> list[Criterion]:
    """The project's criteria in order, cached per process (read-only: do not modify)."""
    key = (project.pk, project.updated_at)
    hit = _criteria_cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    criteria = list(project.criteria.all())
    if len(_criteria_cache) > 256:
        _criteria_cache.clear()
    _criteria_cache[key] = (time.monotonic() + CRITERIA_CACHE_SECONDS, criteria)
    return criteria


def criteria_views(project: Project, selected: dict[str, Any] | None = None) -> list[CriterionView]:
    selected = selected or {}
    views = []
    for c in project_criteria(project):
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
    rows = Response.objects.filter(pk__in=ids).order_by().values_list("id", "text", "prompt__text")
    texts = {pk: text for pk, text, _ in rows}
    prompt_text = rows[0][2]
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
    # One round trip for the three figures (on every task page).
    since = _start_of_today()
    annotator_id = annotator.pk if annotator is not None else None
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT
              (SELECT count(*) FROM {LikertJudgment._meta.db_table} j
                 JOIN {Response._meta.db_table} r ON r.id = j.response_id
                WHERE j.annotator_id = %(annotator)s AND j.created_at >= %(since)s
                  AND r.project_id = %(project)s)
            + (SELECT count(*) FROM {PairwiseJudgment._meta.db_table} j
                 JOIN {Prompt._meta.db_table} p ON p.id = j.prompt_id
                WHERE j.annotator_id = %(annotator)s AND j.created_at >= %(since)s
                  AND p.project_id = %(project)s),
              (SELECT coalesce(sum(tasks_complete), 0) FROM {DomainProgress._meta.db_table}
                WHERE project_id = %(project)s),
              (SELECT coalesce(sum(tasks_total), 0) FROM {DomainProgress._meta.db_table}
                WHERE project_id = %(project)s)
            """,
            {"annotator": annotator_id, "since": since, "project": project.pk},
        )
        today, complete, total = cursor.fetchone()
    return Progress(today=int(today), complete=int(complete), total=int(total))


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

    # The completion table shows shares in one unit, percent, and the gap in points.
    @property
    def target_percent(self) -> float:
        return round(100.0 * self.target_share, 1)

    @property
    def done_percent(self) -> float:
        return round(100.0 * self.done_share, 1)


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
    judgments_total: int
    over_quorum: int


ACTIVE_WINDOW = timedelta(hours=24)


def domain_rows(*, project: Project) -> list[DomainRow]:
    """Each domain's task completion and its share of the judgments done, by name. One
    query (the per-domain counters)."""
    progress = list(
        DomainProgress.objects.filter(project=project)
        .select_related("domain")
        .order_by("domain__name")
    )
    done_total = sum(p.done for p in progress)
    return [
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


def judgment_totals(*, project: Project, now: datetime | None = None) -> dict[str, Any]:
    """Every judgment of the project (gold answers and imports included), how many arrived
    over quorum, and ``active``: [name, judgments] of each annotator who judged here in
    the ``ACTIVE_WINDOW`` before ``now``, busiest first. Four queries, two of them reading
    every judgment and two joining the day's to every response of the project (60 to 150
    ms with 15,000 prompts): the lead page reads them as stored (``services.dashboard``)."""
    now = now or timezone.now()
    totals: dict[str, Any] = {"judgments": 0, "over_quorum": 0}
    active: dict[str, int] = {}
    for qs in (
        LikertJudgment.objects.filter(response__project=project),
        PairwiseJudgment.objects.filter(prompt__project=project),
    ):
        row = qs.aggregate(n=Count("id"), over=Count("id", filter=Q(over_quorum=True)))
        totals["judgments"] += row["n"]
        totals["over_quorum"] += row["over"]
        for name, n in (
            qs.filter(created_at__gte=now - ACTIVE_WINDOW, source=JudgmentSource.ANNOTATED)
            # An annotator is a user or a rater known by an external id (Annotator.__str__).
            .values_list(Coalesce("annotator__user__username", "annotator__external_id"))
            .annotate(n=Count("id"))
        ):
            active[name] = active.get(name, 0) + n
    totals["active"] = [list(kv) for kv in sorted(active.items(), key=lambda kv: (-kv[1], kv[0]))]
    return totals


def judgments_by_day(*, project: Project, since: datetime) -> dict[date, list[int]]:
    """[Likert, pairwise] judgments recorded per calendar day (the site's time zone) from
    ``since`` on, days without any left out. Gold answers and imported judgments count:
    they are recorded work. Two queries (one per kind)."""
    counts: dict[date, list[int]] = {}
    kinds = (
        LikertJudgment.objects.filter(response__project=project),
        PairwiseJudgment.objects.filter(prompt__project=project),
    )
    for i, judgments in enumerate(kinds):
        for day, n in (
            judgments.filter(created_at__gte=since)
            .annotate(day=TruncDate("created_at"))
            .values_list("day")
            .annotate(n=Count("id"))
            .order_by()
        ):
            counts.setdefault(day, [0, 0])[i] += n
    return counts


def lead_overview(
    *, project: Project, now: datetime | None = None, totals: dict[str, Any] | None = None
) -> LeadOverview:
    """``totals``: ``judgment_totals`` as stored (counted at their own time), or None to
    count now."""
    now = now or timezone.now()
    domains = domain_rows(project=project)
    totals = judgment_totals(project=project, now=now) if totals is None else totals
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
    return LeadOverview(
        domains=domains,
        active_annotators=[(name, n) for name, n in totals["active"]],
        open_leases=open_leases,
        open_lease_count=leases.count(),
        judgments_total=totals["judgments"],
        over_quorum=totals["over_quorum"],
    )


def api_tokens_of(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's own API tokens, newest first (never their keys: only digests are stored)."""
    return ApiToken.objects.filter(user=user).order_by("-created")


def api_token_owners_managed_by(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet:
    """Whose API tokens ``user`` may see, create and revoke in the admin.

    Staff: everyone's. A project lead: only people who belong to the projects they lead and
    to no other project, and who are neither staff nor superusers; a token of anyone else
    would reach data the lead has no say over. Everyone else: nobody's.
    """
    users = get_user_model().objects
    if not (user.is_authenticated and user.is_active):
        return users.none()
    if user.is_staff:
        return users.all()
    led = Membership.objects.filter(user=user, role=Membership.Role.LEAD).values("project_id")
    inside = Membership.objects.filter(user=OuterRef("pk"), project__in=led)
    outside = Membership.objects.filter(user=OuterRef("pk")).exclude(project__in=led)
    return (
        users.filter(is_staff=False, is_superuser=False)
        .filter(Exists(inside))
        .exclude(Exists(outside))
    )
