"""The dispute queue's writes (DESIGN 4.5): record what a run flagged, and the lead's three
actions on a dispute: adjudicate, ask for more judgments, dismiss. Nothing here deletes a
judgment; an adjudication counts only while its dispute stays adjudicated."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..errors import DomainError
from ..models import Adjudication, Dispute, DomainProgress, Project, Task
from .judgments import clean_ratings

MAX_MORE = 10
MAX_NOTE = 5000
Status = Dispute.Status
# What a run may move on its own: a lead's decision is never undone by a run.
RUN_MANAGED = (Status.OPEN, Status.MORE, Status.SETTLED)


def _key(kind: str, a: int, b: int | None) -> tuple[str, int, int | None]:
    return (kind, a, b if kind == Dispute.Kind.PAIRWISE else None)


def disputes_record(*, project: Project, run_id: int, rows: list[dict]) -> dict[str, int]:
    """Bring the queue up to date with a run's disputes (``AggregationRun.disputes``).

    A newly flagged item opens a dispute. A dispute waiting for more judgments opens again
    once its task reached its raised quorum and the run still flags it; one the run no
    longer flags is settled (so is an open one). Adjudicated and dismissed disputes keep
    their status. With the project's adaptive boost, a new dispute's task gets more
    annotators at once (``_boost``). Returns how many disputes were opened, reopened and
    settled and how many tasks were boosted. Queries do not grow with the disputes.
    """
    now = timezone.now()
    flagged = {}
    for d in rows:
        if d["kind"] == Dispute.Kind.LIKERT:
            key = _key(d["kind"], d["response_id"], None)
            reason = {"spans": d.get("spans", {})}
        else:
            key = _key(d["kind"], d["response_a"], d["response_b"])
            reason = {"votes": d.get("votes", {})}
        flagged[key] = (d["prompt_id"], reason)
    existing = {
        _key(x.kind, x.response_a_id, x.response_b_id): x
        for x in Dispute.objects.filter(project=project, status__in=RUN_MANAGED).select_related(
            "task"
        )
    }
    decided = set(
        _key(*k)
        for k in Dispute.objects.filter(project=project)
        .exclude(status__in=RUN_MANAGED)
        .values_list("kind", "response_a_id", "response_b_id")
    )
    tasks = _tasks_of(project, [k for k in flagged if k not in existing and k not in decided])
    counts = {"opened": 0, "reopened": 0, "settled": 0}
    new, changed = [], []
    for key, (prompt_id, reason) in flagged.items():
        if key in decided:
            continue
        dispute = existing.get(key)
        if dispute is None:
            new.append(
                Dispute(
                    project=project,
                    kind=key[0],
                    prompt_id=prompt_id,
                    response_a_id=key[1],
                    response_b_id=key[2],
                    task_id=tasks.get(key),
                    reason=reason,
                    flagged_run_id=run_id,
                    last_flagged_at=now,
                )
            )
            continue
        task_full = dispute.task is None or dispute.task.done_count >= dispute.task.quorum
        if dispute.status == Status.SETTLED or (dispute.status == Status.MORE and task_full):
            dispute.status = Status.OPEN
            counts["reopened"] += 1
        dispute.reason, dispute.flagged_run_id, dispute.last_flagged_at = reason, run_id, now
        changed.append(dispute)
    for key, dispute in existing.items():
        if key in flagged or dispute.status == Status.SETTLED:
            continue
        task_full = dispute.task is None or dispute.task.done_count >= dispute.task.quorum
        if dispute.status == Status.OPEN or task_full:
            dispute.status = Status.SETTLED
            counts["settled"] += 1
            changed.append(dispute)
    with transaction.atomic():
        Dispute.objects.bulk_create(new, batch_size=2000)
        Dispute.objects.bulk_update(
            changed, ["status", "reason", "flagged_run_id", "last_flagged_at"], batch_size=2000
        )
        counts["boosted"] = _boost(project, [d.task_id for d in new if d.task_id])
    counts["opened"] = len(new)
    return counts


def _boost(project: Project, task_ids: list[int]) -> int:
    """The adaptive boost (``Project.dispute_boost``, as in Potato): a newly disputed task
    whose first quorum is complete, and never raised, gets ``dispute_boost`` more
    annotators at once; its dispute waits for them (status "more"). Returns the number of
    tasks boosted; queries grow with the domains touched, not with tasks or annotators."""
    n = project.dispute_boost
    if n <= 0 or not task_ids:
        return 0
    # Lock order as in services.assignments: task rows before domain progress.
    tasks = list(
        Task.objects.select_for_update()
        .filter(pk__in=task_ids, extra_quorum=0, done_count__gte=F("quorum"))
        .order_by("pk")
        .values_list("pk", "domain_id")
    )
    if not tasks:
        return 0
    boosted = [pk for pk, _ in tasks]
    Task.objects.filter(pk__in=boosted).update(quorum=F("quorum") + n, extra_quorum=n)
    for domain_id, k in sorted(Counter(domain for _, domain in tasks).items()):
        DomainProgress.objects.filter(domain_id=domain_id).update(
            tasks_complete=F("tasks_complete") - k
        )
    Dispute.objects.filter(project=project, task_id__in=boosted, status=Status.OPEN).update(
        status=Status.MORE,
        more_asked=n,
        note=f"Adaptive boost: {n} more annotator{'s' if n > 1 else ''} asked automatically "
        "because the first quorum disagreed.",
    )
    return len(boosted)


def _tasks_of(project: Project, keys: list[tuple]) -> dict[tuple, int]:
    """Task ids of the items, two queries (Likert responses, pairs)."""
    out: dict[tuple, int] = {}
    likert = [a for kind, a, _ in keys if kind == Dispute.Kind.LIKERT]
    if likert:
        for pk, a in Task.objects.filter(
            project=project, kind=Task.Kind.LIKERT, response_a_id__in=likert
        ).values_list("pk", "response_a_id"):
            out[_key(Dispute.Kind.LIKERT, a, None)] = pk
    pairs = {(a, b) for kind, a, b in keys if kind == Dispute.Kind.PAIRWISE}
    if pairs:
        for pk, a, b in Task.objects.filter(
            project=project,
            kind=Task.Kind.PAIRWISE,
            response_a_id__in={a for a, _ in pairs},
        ).values_list("pk", "response_a_id", "response_b_id"):
            if (a, b) in pairs:
                out[_key(Dispute.Kind.PAIRWISE, a, b)] = pk
    return out


def _note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DomainError(f"note: too long ({MAX_NOTE} characters at most).")
    return note


def _decide(dispute: Dispute, status: str, by: AbstractBaseUser | None, note: str) -> None:
    dispute.status = status
    dispute.decided_by = by
    dispute.decided_at = timezone.now()
    dispute.note = note
    dispute.save(update_fields=["status", "decided_by", "decided_at", "note", "more_asked", "task"])


def dispute_adjudicate(
    *,
    dispute: Dispute,
    ratings: dict[str, Any] | None = None,
    choice: str = "",
    note: str = "",
    by: AbstractBaseUser | None = None,
) -> Adjudication:
    """Record the lead's deciding judgment: every criterion's rating for a Likert item, or
    a, b or tie for a pair (canonical order). A second adjudication replaces the first.
    The next run takes the item from it (``scoring.core.adjudication``)."""
    project = dispute.project
    note = _note(note)
    if dispute.kind == Dispute.Kind.LIKERT:
        if choice:
            raise DomainError("choice: a single response takes ratings, not a choice.")
        if not ratings:
            raise DomainError("ratings: give your rating on every criterion.")
        fields = {"ratings": clean_ratings(project, ratings), "choice": ""}
    else:
        if ratings:
            raise DomainError("ratings: a pair takes a choice (a, b or tie), not ratings.")
        if choice not in Adjudication.Choice.values:
            raise DomainError("choice: choose the winner of the pair: a, b or tie.")
        fields = {"ratings": {}, "choice": choice}
    with transaction.atomic():
        adjudication, _ = Adjudication.objects.update_or_create(
            dispute=dispute, defaults={**fields, "note": note, "by": by, "at": timezone.now()}
        )
        _decide(dispute, Status.ADJUDICATED, by, note)
    return adjudication


def dispute_ask_more(
    *, dispute: Dispute, n: Any, note: str = "", by: AbstractBaseUser | None = None
) -> Task:
    """Raise the quorum of the disputed item's task, and of no other, by ``n`` (1 to
    MAX_MORE): it re-enters the annotators' queue for ``n`` more annotators who have not
    judged it. ``Task.extra_quorum`` keeps the raise through later quorum changes. The run
    after those judgments opens the dispute again if they still disagree."""
    note = _note(note)
    try:
        n = int(n)
    except (TypeError, ValueError):
        raise DomainError(f"n: give a whole number of judgments, 1 to {MAX_MORE}.") from None
    if not 1 <= n <= MAX_MORE:
        raise DomainError(f"n: ask for 1 to {MAX_MORE} more judgments.")
    if dispute.task_id is None:  # tasks are built lazily: look again
        key = _key(dispute.kind, dispute.response_a_id, dispute.response_b_id)
        dispute.task_id = _tasks_of(dispute.project, [key]).get(key)
    if dispute.task_id is None:
        raise DomainError(
            "No annotation task serves this item (a pair outside the project's pair design, "
            "from an import), so no annotator can be asked for it: adjudicate or dismiss it."
        )
    with transaction.atomic():
        # Lock order as in services.assignments: the task row before domain progress.
        task = Task.objects.select_for_update().get(pk=dispute.task_id)
        was_complete = task.done_count >= task.quorum
        task.quorum += n
        task.extra_quorum += n
        task.save(update_fields=["quorum", "extra_quorum"])
        if was_complete:
            DomainProgress.objects.filter(domain_id=task.domain_id).update(
                tasks_complete=F("tasks_complete") - 1
            )
        dispute.more_asked += n
        _decide(dispute, Status.MORE, by, note)
    return task


def dispute_dismiss(
    *, dispute: Dispute, note: str = "", by: AbstractBaseUser | None = None
) -> None:
    """Leave the item as the annotators judged it; it leaves the open queue for good (a run
    never reopens a dismissed dispute)."""
    _decide(dispute, Status.DISMISSED, by, _note(note))
