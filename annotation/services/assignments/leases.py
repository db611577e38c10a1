"""Leases once held: the annotator behind a user, an annotator's own lease, and giving a
slot back without a judgment (expiry, skip).

A release is a compare-and-set on the lease state, so of two concurrent releases (or a
release and a submission) only one frees the slot. Expiry is lazy: every claim expires the
project's due leases (at most once a second per process), so no cron is needed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ...errors import ConflictError, DomainError
from ...models import Annotator, Assignment, DomainProgress, Project, Task
from ..dashboard import dashboard_mark_stale_on_commit

State = Assignment.State

# Leases expired lazily per claim; the rest go on the next claims.
EXPIRE_BATCH = 200


class LeaseNotFound(DomainError):
    status_code = 404


class NotYourLease(DomainError):
    status_code = 403


def annotator_for_user(*, user: AbstractBaseUser) -> Annotator:
    """The user's Annotator row, created on first use (safe against a concurrent create)."""
    annotator = Annotator.objects.filter(user=user).first()
    if annotator is not None:
        return annotator
    try:
        with transaction.atomic():
            return Annotator.objects.create(user=user)
    except IntegrityError:
        return Annotator.objects.get(user=user)


def assignment_get_for(*, project: Project, annotator: Annotator, assignment_id: int) -> Assignment:
    """The annotator's own lease in this project; 404 if unknown, 403 if someone else's."""
    assignment = (
        Assignment.objects.select_related("task").filter(pk=assignment_id, project=project).first()
    )
    if assignment is None:
        raise LeaseNotFound("There is no such task in this project. Ask for the next task instead.")
    if assignment.annotator_id != annotator.pk:
        raise NotYourLease(
            "This task is leased to another annotator; it cannot be submitted or skipped by you."
        )
    return assignment


def _release(assignment: Assignment, *, state: str, now: datetime, **fields) -> bool:
    """Ends an active lease without a judgment (expired or skipped) and frees its slot.

    Compare-and-set on the lease state: of two concurrent releases (or a release and a
    submission) exactly one moves it out of ``active``, and only that one decrements.
    """
    with transaction.atomic():
        changed = Assignment.objects.filter(pk=assignment.pk, state=State.ACTIVE).update(
            state=state, finished_at=now, **fields
        )
        if changed != 1:
            return False
        if assignment.gold:  # a gold lease never held a quorum slot
            assignment.state = state
            assignment.finished_at = now
            return True
        Task.objects.filter(pk=assignment.task_id).update(
            active_count=F("active_count") - 1, filled=F("filled") - 1
        )
        DomainProgress.objects.filter(domain__tasks=assignment.task_id).update(
            assigned=F("assigned") - 1
        )
    assignment.state = state
    assignment.finished_at = now
    for name, value in fields.items():
        setattr(assignment, name, value)
    return True


# When each project's due leases were last looked for, per process (the clock a claim runs
# on). Expiry is lazy anyway: looking once a second per process instead of on every claim
# delays a freed slot by at most that second, and saves a query on the hot path.
_EXPIRY_EVERY = timedelta(seconds=1)
_expiry_checked: dict[int, datetime] = {}


def _expire_due_now_and_then(project: Project, now: datetime) -> None:
    last = _expiry_checked.get(project.pk)
    if last is not None and last <= now < last + _EXPIRY_EVERY:
        return
    if leases_expire_due(project=project, now=now) < EXPIRE_BATCH:
        _expiry_checked[project.pk] = now


def leases_expire_due(*, project: Project, now: datetime | None = None) -> int:
    """Frees the slots of the project's leases past their expiry. Called by every claim, so
    no cron is needed; returns how many this call expired."""
    now = now or timezone.now()
    due = list(
        Assignment.objects.filter(
            project=project, state=State.ACTIVE, expires_at__lte=now
        ).order_by("expires_at")[:EXPIRE_BATCH]
    )
    return sum(_release(a, state=State.EXPIRED, now=now) for a in due)


def assignment_current(
    *, project: Project, annotator: Annotator, now: datetime | None = None
) -> Assignment | None:
    """The annotator's live lease in this project, if any (an expired one is released)."""
    now = now or timezone.now()
    latest = _latest(project, annotator)
    if latest is None or latest.state != State.ACTIVE:
        return None
    if latest.expires_at > now:
        return latest
    _release(latest, state=State.EXPIRED, now=now)
    return None


def _latest(project: Project, annotator: Annotator) -> Assignment | None:
    # The newest lease is the active one when there is one: a claim only happens without one.
    return (
        Assignment.objects.select_related("task")
        .filter(annotator=annotator, project=project)
        .order_by("-id")
        .first()
    )


def assignment_skip(
    *,
    project: Project,
    annotator: Annotator,
    assignment_id: int,
    reason: str,
    note: str = "",
    now: datetime | None = None,
) -> Assignment:
    """Gives the slot back; the annotator is never offered this task again."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if reason not in SKIP_REASONS:
        raise DomainError(f"Choose a reason for skipping: {', '.join(SKIP_REASONS)}.")
    if len(note) > 2000:
        raise DomainError("The note is too long (2000 characters at most).")
    assignment = assignment_get_for(
        project=project, annotator=annotator, assignment_id=assignment_id
    )
    if assignment.state == State.SKIPPED:
        return assignment
    if assignment.state == State.ACTIVE and _release(
        assignment, state=State.SKIPPED, now=now, skip_reason=reason, skip_note=note
    ):
        # The skip rate on the lead's dashboard is stored (services.dashboard).
        dashboard_mark_stale_on_commit(project_id=project.pk)
        return assignment
    assignment.refresh_from_db()
    if assignment.state == State.EXPIRED:
        # Its slot is already free; record the skip so it is never offered again.
        if Assignment.objects.filter(pk=assignment.pk, state=State.EXPIRED).update(
            state=State.SKIPPED, skip_reason=reason, skip_note=note
        ):
            dashboard_mark_stale_on_commit(project_id=project.pk)
        assignment.refresh_from_db()
        return assignment
    if assignment.state == State.SKIPPED:
        return assignment
    raise ConflictError("This task was already submitted; it cannot be skipped any more.")


SKIP_REASONS = {
    "unqualified": "Outside my expertise",
    "unreadable": "Broken, empty or unreadable",
    "disturbing": "Content I prefer not to judge",
    "other": "Other (see note)",
}
