"""Submitting judgments under a lease: validated, idempotent, never lost.

- Idempotent by the client's UUID ``client_key``: a retry returns the stored judgment and
  writes nothing (DESIGN 4.1); the unique constraints on client_key and on
  (annotator, task) back this up under concurrency.
- A lease that expired but whose slot was not yet given away still holds its slot: the
  judgment counts. One whose slot was released takes a free slot if there is one, and is
  otherwise stored with ``over_quorum`` (human work is never thrown away).
- Nothing is written when the values, the lease or the key are wrong.
- A gold lease's judgment is stored flagged ``gold`` and counts toward nothing.
- A paused annotator's lease in flight is still accepted (pausing only stops new claims).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ..errors import ConflictError, DomainError
from ..models import (
    Annotator,
    Assignment,
    DomainProgress,
    LikertJudgment,
    PairwiseJudgment,
    Project,
    Prompt,
    Task,
)
from ..selectors import project_criteria
from ..side_effects import send_on_commit_safely
from ..signals import judgments_recorded
from .assignments import assignment_get_for

State = Assignment.State
FLAGS = {
    "unsure": "I am unsure about my judgment",
    "unsafe": "Contains unsafe or harmful content",
    "broken": "The item is broken (truncated, wrong language, garbled)",
}
MAX_COMMENT = 5000
MAX_DURATION_MS = 24 * 3600 * 1000
# ASCII digits only: str.isdigit() also accepts "²" (which int() rejects) and "٣" (which int()
# reads as 3); a few digits are plenty for any scale and keep int() cheap.
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}", re.ASCII)

Judgment = LikertJudgment | PairwiseJudgment


@dataclass(frozen=True)
class SubmitResult:
    judgment: Judgment
    created: bool

    @property
    def over_quorum(self) -> bool:
        return self.judgment.over_quorum


def _parse_key(client_key: Any) -> uuid.UUID:
    try:
        return client_key if isinstance(client_key, uuid.UUID) else uuid.UUID(str(client_key))
    except (ValueError, TypeError, AttributeError):
        raise DomainError(
            "The submission has no valid client key; reload the page and submit again."
        ) from None


def _clean_common(flags: Any, comment: Any, duration_ms: Any) -> tuple[list[str], str, int | None]:
    flags = list(flags or [])
    unknown = sorted(set(flags) - set(FLAGS))
    if unknown:
        raise DomainError(
            f"Unknown flag(s): {', '.join(map(str, unknown))}. Allowed: {', '.join(FLAGS)}."
        )
    comment = str(comment or "")
    if len(comment) > MAX_COMMENT:
        raise DomainError(
            f"The comment is too long ({len(comment)} characters; {MAX_COMMENT} at most)."
        )
    try:
        duration = int(duration_ms) if duration_ms not in (None, "") else None
    except (TypeError, ValueError):
        duration = None
    if duration is not None and not 0 <= duration <= MAX_DURATION_MS:
        duration = None
    return sorted(set(flags)), comment, duration


def clean_ratings(project: Project, ratings: dict[str, Any]) -> dict[str, int]:
    """Every criterion rated with an integer on its scale, and nothing else."""
    criteria = project_criteria(project)
    known = {c.key for c in criteria}
    problems = []
    unknown = sorted(set(ratings) - known)
    if unknown:
        problems.append(f"unknown criteria {', '.join(unknown)}")
    cleaned = {}
    for c in criteria:
        raw = ratings.get(c.key)
        if raw in (None, ""):
            problems.append(f"{c.label} is not rated")
            continue
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and WHOLE_NUMBER.fullmatch(raw.strip()):
            value = int(raw.strip())
        else:
            problems.append(f"{c.label}: {raw!r} is not a whole number")
            continue
        if not c.scale_min <= value <= c.scale_max:
            problems.append(f"{c.label}: {value} is outside the scale {c.scale_min}-{c.scale_max}")
            continue
        cleaned[c.key] = value
    if problems:
        raise DomainError("Nothing was saved: " + "; ".join(problems) + ".")
    return cleaned


def _existing(
    model, key: uuid.UUID, annotator: Annotator, assignment: Assignment
) -> SubmitResult | None:
    judgment = model.objects.filter(client_key=key).first()
    if judgment is None:
        return None
    if judgment.annotator_id != annotator.pk or judgment.assignment_id != assignment.pk:
        raise ConflictError(
            "This submission key belongs to another task; reload the page and submit again."
        )
    return SubmitResult(judgment=judgment, created=False)


def _submit(
    *,
    model,
    project: Project,
    annotator: Annotator,
    assignment_id: int,
    client_key: Any,
    now: datetime | None,
    build,
    lease: Assignment | None = None,
) -> SubmitResult:
    now = now or timezone.now()
    key = _parse_key(client_key)
    assignment = lease or assignment_get_for(
        project=project, annotator=annotator, assignment_id=assignment_id
    )
    judgment = build(assignment)  # validates before anything is written
    judgment.client_key = key
    judgment.annotator = annotator
    judgment.assignment = assignment
    try:
        with transaction.atomic():
            result = _record(project=project, assignment=assignment, judgment=judgment, now=now)
    except IntegrityError:
        # A concurrent retry with the same key won the race: return what it stored.
        found = _existing(model, key, annotator, assignment)
        if found is not None:
            return found
        raise ConflictError("You already submitted a judgment for this task.") from None
    if result.created:
        # The judgment is stored: a listener failing after the commit (Redis down) is
        # logged and counted, never turned into an error for a submission that succeeded.
        send_on_commit_safely(judgments_recorded, sender=model, project_id=project.pk, count=1)
    return result


def _record(
    *, project: Project, assignment: Assignment, judgment: Judgment, now: datetime
) -> SubmitResult:
    # Lock order: assignment -> prompt -> task -> domain progress (see services.assignments).
    # FOR NO KEY UPDATE throughout: it serializes writers of the row but lets inserts that
    # reference it (foreign-key checks take KEY SHARE) through, so they never wait on us.
    lease = Assignment.objects.select_for_update(no_key=True).get(pk=assignment.pk)
    lease.task = assignment.task  # loaded with it; a task never changes its prompt or kind
    if lease.state not in (State.ACTIVE, State.EXPIRED):
        # Only a finished lease can have a judgment (the judgment and DONE commit together):
        # a retry finds it here. The same key under another lease is refused by the unique
        # constraint on client_key, and _submit reports the conflict.
        found = _existing(type(judgment), judgment.client_key, judgment.annotator, lease)
        if found is not None:
            return found
    if lease.state == State.DONE:
        raise ConflictError("You already submitted a judgment for this task.")
    if lease.state == State.SKIPPED:
        raise ConflictError("You skipped this task; its judgment was not saved.")
    if lease.gold:
        # A gold answer: stored and flagged, and it fills no slot (DESIGN 4.5), so no
        # counter moves, whether the lease expired meanwhile or not.
        judgment.gold = True
        lease.state = State.DONE
        lease.finished_at = now
        lease.save(update_fields=["state", "finished_at"])
        judgment.save()
        return SubmitResult(judgment=judgment, created=True)
    default_mix = project.pairwise_weight is None
    if lease.task.kind == Task.Kind.LIKERT and default_mix:
        # Serializes the prompt's Likert submissions, so whichever completes the prompt's
        # last response sees the others' counts and unlocks its pairs.
        list(
            Prompt.objects.select_for_update(no_key=True)
            .filter(pk=lease.task.prompt_id)
            .order_by()
            .values_list("id")
        )
    task = lease.task
    # One UPDATE ... RETURNING per submission: it takes the task's row lock (as FOR NO KEY
    # UPDATE would) and reads the counters it wrote.
    holds_slot = lease.state == State.ACTIVE  # even past expires_at: nobody took the slot yet
    progress = {}
    if holds_slot:
        counted = _task_update_returning(
            "active_count = active_count - 1, done_count = done_count + 1", task.pk
        )
        progress = {"done": F("done") + 1}
    else:
        counted = _task_update_returning(
            "done_count = done_count + 1, filled = filled + 1", task.pk, "AND filled < quorum"
        )
        progress = {"done": F("done") + 1, "assigned": F("assigned") + 1}
    if counted is None:  # the slot was given away and the task is full: kept, not counted
        judgment.over_quorum = True
        progress = {}
    elif counted[0] == counted[1]:  # done_count reached the quorum
        progress["tasks_complete"] = F("tasks_complete") + 1
        if task.kind == Task.Kind.LIKERT and default_mix:
            _unlock_pairs_if_due(task.prompt_id)
    lease.state = State.DONE
    lease.finished_at = now
    lease.save(update_fields=["state", "finished_at"])
    judgment.save()
    if progress:
        # Last statement: a transaction holding a domain row never waits for anything else.
        DomainProgress.objects.filter(domain_id=task.domain_id).update(**progress)
    return SubmitResult(judgment=judgment, created=True)


def _task_update_returning(assignments: str, task_id: int, condition: str = "") -> tuple | None:
    """(done_count, quorum) after ``UPDATE task SET <assignments> WHERE id = task_id
    <condition>``, or None when the condition left the row unchanged."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Task._meta.db_table} SET {assignments} WHERE id = %s {condition} "
            "RETURNING done_count, quorum",
            [task_id],
        )
        return cursor.fetchone()


def _unlock_pairs_if_due(prompt_id: int) -> None:
    if Task.objects.filter(
        prompt_id=prompt_id, kind=Task.Kind.LIKERT, done_count__lt=F("quorum")
    ).exists():
        return
    Task.objects.filter(prompt_id=prompt_id, kind=Task.Kind.PAIRWISE, unlocked=False).update(
        unlocked=True
    )


def judgment_submit_likert(
    *,
    project: Project,
    annotator: Annotator,
    assignment_id: int,
    client_key: Any,
    ratings: dict[str, Any],
    flags: Any = (),
    comment: str = "",
    duration_ms: Any = None,
    now: datetime | None = None,
    lease: Assignment | None = None,
) -> SubmitResult:
    """``lease``: the assignment when the caller already fetched it with assignment_get_for."""

    def build(assignment: Assignment) -> LikertJudgment:
        if assignment.task.kind != Task.Kind.LIKERT:
            raise DomainError("This task is a comparison; choose left, right or tie.")
        clean_flags, clean_comment, duration = _clean_common(flags, comment, duration_ms)
        return LikertJudgment(
            response_id=assignment.task.response_a_id,
            ratings=clean_ratings(project, ratings),
            flags=clean_flags,
            comment=clean_comment,
            duration_ms=duration,
        )

    return _submit(
        model=LikertJudgment,
        project=project,
        annotator=annotator,
        assignment_id=assignment_id,
        client_key=client_key,
        now=now,
        build=build,
        lease=lease,
    )


def judgment_submit_pairwise(
    *,
    project: Project,
    annotator: Annotator,
    assignment_id: int,
    client_key: Any,
    choice: str,
    flags: Any = (),
    comment: str = "",
    duration_ms: Any = None,
    now: datetime | None = None,
    lease: Assignment | None = None,
) -> SubmitResult:
    """``choice`` is as shown: left, right or tie. ``lease`` as in judgment_submit_likert."""

    def build(assignment: Assignment) -> PairwiseJudgment:
        task = assignment.task
        if task.kind != Task.Kind.PAIRWISE:
            raise DomainError("This task is a rating; rate every criterion.")
        if choice not in PairwiseJudgment.Choice.values:
            raise DomainError("Choose left (A), right (B) or tie (T).")
        clean_flags, clean_comment, duration = _clean_common(flags, comment, duration_ms)
        left, right = (
            (task.response_b_id, task.response_a_id)
            if assignment.flipped
            else (
                task.response_a_id,
                task.response_b_id,
            )
        )
        return PairwiseJudgment(
            prompt_id=task.prompt_id,
            left_id=left,
            right_id=right,
            response_a_id=task.response_a_id,
            response_b_id=task.response_b_id,
            choice=choice,
            flags=clean_flags,
            comment=clean_comment,
            duration_ms=duration,
        )

    return _submit(
        model=PairwiseJudgment,
        project=project,
        annotator=annotator,
        assignment_id=assignment_id,
        client_key=client_key,
        now=now,
        build=build,
        lease=lease,
    )


def judgment_submit(
    *,
    project: Project,
    annotator: Annotator,
    assignment_id: int,
    client_key: Any,
    ratings: dict[str, Any] | None = None,
    choice: str = "",
    flags: Any = (),
    comment: str = "",
    duration_ms: Any = None,
    now: datetime | None = None,
) -> SubmitResult:
    """Either kind of judgment, by the kind of the leased task (what the task form posts)."""
    common = dict(
        project=project,
        annotator=annotator,
        assignment_id=assignment_id,
        client_key=client_key,
        flags=flags,
        comment=comment,
        duration_ms=duration_ms,
        now=now,
    )
    lease = assignment_get_for(project=project, annotator=annotator, assignment_id=assignment_id)
    if lease.task.kind == Task.Kind.LIKERT:
        return judgment_submit_likert(ratings=ratings or {}, lease=lease, **common)
    return judgment_submit_pairwise(choice=choice, lease=lease, **common)
