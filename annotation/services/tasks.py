"""Building the task table from a project's prompts and responses.

Tasks are derived data: ``tasks_sync`` is idempotent and safe to run concurrently (inserts
ignore conflicts on the unique constraints). ``items_import`` calls it in its own
transaction, so imported items are claimable the moment they commit; a claim still calls it
lazily when ``tasks_sync_if_stale`` sees responses or quorums it has not built tasks for
(items written by other paths, a changed quorum).

``tasks_count_judgments`` brings tasks up to date with judgments written outside a lease
(imports): imported judgments count toward quorum like any other.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum, Value
from django.db.models.functions import Greatest

from ..bulk import bulk_insert
from ..models import (
    DomainProgress,
    LikertJudgment,
    PairwiseJudgment,
    Project,
    Prompt,
    Response,
    Task,
    TaskSync,
)

# Up to this many responses a prompt gets every pair (4 responses: 6 pairs).
ALL_PAIRS_UP_TO = 4
# Above it, each response is compared with this many others (a circulant design).
PAIR_DEGREE = 4


def pair_design(response_ids: Sequence[int], *, rng: random.Random) -> list[tuple[int, int]]:
    """The pairs to compare for one prompt's responses, each in canonical order (a < b).

    Up to ``ALL_PAIRS_UP_TO`` responses: all n(n-1)/2 pairs. Above: a circulant graph over a
    seeded shuffle of the responses, response k paired with k+1 and k+2 (mod n). Every
    response is in exactly ``PAIR_DEGREE`` = 4 pairs (balanced) and the cycle k -> k+1 joins
    them all (connected), so Borda scores of one prompt are comparable; 2n pairs instead of
    n(n-1)/2. Fewer than two responses: no pairs.
    """
    ids = sorted(set(response_ids))
    n = len(ids)
    if n < 2:
        return []
    if n <= ALL_PAIRS_UP_TO:
        return list(itertools.combinations(ids, 2))
    order = ids[:]
    rng.shuffle(order)
    pairs = set()
    for k in range(n):
        for step in range(1, PAIR_DEGREE // 2 + 1):
            a, b = order[k], order[(k + step) % n]
            pairs.add((min(a, b), max(a, b)))
    return sorted(pairs)


@dataclass(frozen=True)
class SyncSummary:
    likert_created: int
    pairwise_created: int


def _prompt_rng(project: Project, prompt_id: int) -> random.Random:
    return random.Random(f"pairs:{project.seed}:{prompt_id}")


def tasks_sync(*, project: Project, only_if_stale: bool = False) -> SyncSummary:
    """Create missing tasks (a Likert task per response, the pair design per prompt), apply
    quorum changes, unlock pairs that are due, and recount the per-domain progress.

    Concurrent calls for one project run one after the other (they lock its TaskSync row);
    with ``only_if_stale`` a caller that waited finds the work done and returns at once.
    """
    TaskSync.objects.get_or_create(project=project)
    with transaction.atomic():
        state = TaskSync.objects.select_for_update().get(project=project)
        if only_if_stale and not _is_stale(project, state):
            return SyncSummary(likert_created=0, pairwise_created=0)
        return _sync(project, state)


def _sync(project: Project, state: TaskSync) -> SyncSummary:
    # Lock order as in services.assignments: task rows before domain progress rows.
    pairs_unlocked = project.pairwise_weight is not None

    # Domains first: every domain gets a progress row, with or without tasks.
    DomainProgress.objects.bulk_create(
        [DomainProgress(project=project, domain=d) for d in project.domains.all()],
        ignore_conflicts=True,
    )

    missing = (
        Response.objects.filter(project=project)
        .exclude(Exists(Task.objects.filter(kind=Task.Kind.LIKERT, response_a=OuterRef("pk"))))
        .values_list("id", "prompt_id", "prompt__domain_id")
    )
    missing = list(missing)
    # Under the TaskSync row lock no other sync inserts tasks, so COPY (no ON CONFLICT) is safe.
    bulk_insert(
        Task,
        ("project_id", "domain_id", "prompt_id", "kind", "response_a_id", "quorum"),
        (
            (project.pk, domain_id, prompt_id, Task.Kind.LIKERT, response_id, project.likert_quorum)
            for response_id, prompt_id, domain_id in missing
        ),
    )

    # Pairs for every prompt that got new responses (a grown prompt gets the pairs its new
    # design adds; pairs already made are kept).
    touched = {prompt_id for _, prompt_id, _ in missing}
    pairwise_created = 0
    if touched:
        by_prompt: dict[int, list[int]] = defaultdict(list)
        domain_of: dict[int, int] = {}
        for rid, pid, did in Response.objects.filter(prompt_id__in=touched).values_list(
            "id", "prompt_id", "prompt__domain_id"
        ):
            by_prompt[pid].append(rid)
            domain_of[pid] = did
        existing = set(
            Task.objects.filter(prompt_id__in=touched, kind=Task.Kind.PAIRWISE).values_list(
                "response_a_id", "response_b_id"
            )
        )
        new_pairs = [
            (
                project.pk,
                domain_of[pid],
                pid,
                Task.Kind.PAIRWISE,
                a,
                b,
                project.pairwise_quorum,
                pairs_unlocked,
            )
            for pid, rids in by_prompt.items()
            for a, b in pair_design(rids, rng=_prompt_rng(project, pid))
            if (a, b) not in existing
        ]
        bulk_insert(
            Task,
            (
                "project_id",
                "domain_id",
                "prompt_id",
                "kind",
                "response_a_id",
                "response_b_id",
                "quorum",
                "unlocked",
            ),
            new_pairs,
        )
        pairwise_created = len(new_pairs)

    # Quorum changes. A task already fuller than a lowered quorum keeps its current level as
    # its quorum: the CHECK constraint never lets filled exceed quorum, and no new lease is
    # given on it.
    for kind, quorum in (
        (Task.Kind.LIKERT, project.likert_quorum),
        (Task.Kind.PAIRWISE, project.pairwise_quorum),
    ):
        # A dispute's "ask for more" (extra_quorum) stays on top of the project's quorum.
        Task.objects.filter(project=project, kind=kind).exclude(
            quorum=Value(quorum) + F("extra_quorum")
        ).update(quorum=Greatest(Value(quorum) + F("extra_quorum"), F("filled")))

    pairs = Task.objects.filter(project=project, kind=Task.Kind.PAIRWISE, unlocked=False)
    if pairs_unlocked:
        pairs.update(unlocked=True)
    else:
        unfinished = Task.objects.filter(
            kind=Task.Kind.LIKERT, prompt_id=OuterRef("prompt_id"), done_count__lt=F("quorum")
        )
        pairs.exclude(Exists(unfinished)).update(unlocked=True)

    _recount_progress(project)
    state.response_max_id = (
        Response.objects.filter(project=project).aggregate(m=Max("id"))["m"] or 0
    )
    state.likert_quorum = project.likert_quorum
    state.pairwise_quorum = project.pairwise_quorum
    state.pairs_unlocked = pairs_unlocked
    state.save()
    return SyncSummary(likert_created=len(missing), pairwise_created=pairwise_created)


def _recount_progress(project: Project) -> None:
    rows = (
        Task.objects.filter(project=project)
        .values("domain_id")
        .annotate(
            total=Count("id"),
            complete=Count("id", filter=Q(done_count__gte=F("quorum"))),
            assigned=Sum("filled"),
            done=Sum("done_count"),
        )
        .order_by("domain_id")
    )
    for row in rows:
        DomainProgress.objects.filter(domain_id=row["domain_id"]).update(
            tasks_total=row["total"],
            tasks_complete=row["complete"],
            assigned=row["assigned"],
            done=row["done"],
        )


def _is_stale(project: Project, state: TaskSync | None) -> bool:
    return (
        state is None
        or state.likert_quorum != project.likert_quorum
        or state.pairwise_quorum != project.pairwise_quorum
        or state.pairs_unlocked != (project.pairwise_weight is not None)
        # Ordered by id so PostgreSQL walks the primary key from the last synced id, not
        # every response of the project through the project index.
        or bool(
            Response.objects.filter(project=project, id__gt=state.response_max_id)
            .order_by("id")
            .values_list("id")[:1]
        )
    )


# Per process: project id -> (monotonic time until which it counts as synced, the quorums
# and mix it was synced for). Imports build their tasks in their own transaction, so new
# responses from any other path (a script's bulk insert) wait at most this long for a claim
# to notice them; a changed quorum or mix is seen at once (compared with the project row the
# request already read).
FRESH_FOR_SECONDS = 1.0
_fresh: dict[int, tuple[float, tuple[int, int, bool]]] = {}


def _sync_key(project: Project) -> tuple[int, int, bool]:
    return (project.likert_quorum, project.pairwise_quorum, project.pairwise_weight is not None)


def tasks_sync_if_stale(*, project: Project) -> bool:
    """Run ``tasks_sync`` when responses newer than the last sync exist or a quorum or the
    mix changed. Looks at most once a second per process; then two indexed single-row
    queries when nothing changed."""
    until, key = _fresh.get(project.pk, (0.0, None))
    if key == _sync_key(project) and time.monotonic() < until:
        return False
    synced = False
    if _is_stale(project, TaskSync.objects.filter(project=project).first()):
        tasks_sync(project=project, only_if_stale=True)
        synced = True
    _fresh[project.pk] = (time.monotonic() + FRESH_FOR_SECONDS, _sync_key(project))
    return synced


def tasks_count_judgments(
    *, project: Project, response_ids: set[int], pairs: set[tuple[int, int]]
) -> int:
    """Recount ``done_count`` of the Likert tasks of ``response_ids`` and of the pairwise
    tasks of ``pairs`` (canonical order) from their stored judgments (any source, outside
    the ones kept as over-quorum), keep their live leases, and move the domain counters by
    the difference. Returns how many tasks changed. Call inside the transaction that wrote
    the judgments, after ``tasks_sync`` built the tasks.

    A task whose judgments plus live leases now exceed its quorum gets
    ``quorum = Greatest(quorum, filled)``: the CHECK constraints hold, and since a claim
    never leases a task whose ``done_count`` reached the project's quorum, no new lease is
    given on it. A pair outside the prompt's pair design has no task: its judgments are
    stored and aggregated, but they fill no slot and nobody is asked for more.

    Locks follow services.assignments: prompts, then tasks (by id), then domain progress
    last; the counts are read after the task locks, so no concurrent submit is missed.
    """
    if not response_ids and not pairs:
        return 0
    likert_q = Q(kind=Task.Kind.LIKERT, response_a_id__in=response_ids)
    prompt_of = dict(
        Response.objects.filter(pk__in=response_ids | {a for a, _ in pairs}).values_list(
            "id", "prompt_id"
        )
    )
    pair_prompts = {prompt_of[a] for a, _ in pairs}
    prompt_ids = {prompt_of[r] for r in response_ids} | pair_prompts
    list(
        Prompt.objects.select_for_update(no_key=True)
        .filter(pk__in=prompt_ids)
        .order_by("id")
        .values_list("id")
    )
    pair_q = Q(kind=Task.Kind.PAIRWISE, prompt_id__in=pair_prompts)
    tasks = list(
        Task.objects.select_for_update(no_key=True)
        .filter(Q(project=project) & (likert_q | pair_q))
        .order_by("id")
    )
    likert_done = dict(
        LikertJudgment.objects.filter(response_id__in=response_ids, over_quorum=False, gold=False)
        .values_list("response_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    pair_done = {
        (a, b): n
        for a, b, n in PairwiseJudgment.objects.filter(
            prompt_id__in=pair_prompts, over_quorum=False, gold=False
        )
        .values_list("response_a_id", "response_b_id")
        .annotate(n=Count("id"))
        .order_by()
    }
    changed: list[Task] = []
    deltas: dict[int, dict[str, int]] = defaultdict(
        lambda: {"done": 0, "assigned": 0, "complete": 0}
    )
    unlock_prompts: set[int] = set()
    for task in tasks:
        if task.kind == Task.Kind.LIKERT:
            done = likert_done.get(task.response_a_id, 0)
        else:
            done = pair_done.get((task.response_a_id, task.response_b_id), 0)
        if done == task.done_count:
            continue
        was_complete = task.done_count >= task.quorum
        delta = deltas[task.domain_id]
        delta["done"] += done - task.done_count
        delta["assigned"] += done - task.done_count
        task.done_count = done
        task.filled = done + task.active_count
        task.quorum = max(task.quorum, task.filled)
        delta["complete"] += int(task.done_count >= task.quorum) - int(was_complete)
        changed.append(task)
        if task.kind == Task.Kind.LIKERT and task.done_count >= task.quorum:
            unlock_prompts.add(task.prompt_id)
    Task.objects.bulk_update(changed, ["done_count", "filled", "quorum"], batch_size=2000)
    if unlock_prompts and project.pairwise_weight is None:
        # The default mix: a prompt's pairs open once all its responses reached quorum.
        unfinished = Task.objects.filter(
            kind=Task.Kind.LIKERT, prompt_id=OuterRef("prompt_id"), done_count__lt=F("quorum")
        )
        Task.objects.filter(
            prompt_id__in=unlock_prompts, kind=Task.Kind.PAIRWISE, unlocked=False
        ).exclude(Exists(unfinished)).update(unlocked=True)
    # Deltas, not a recount: a concurrent claim's F() increment on the same row is kept.
    for domain_id in sorted(deltas):
        d = deltas[domain_id]
        DomainProgress.objects.filter(domain_id=domain_id).update(
            done=F("done") + d["done"],
            assigned=F("assigned") + d["assigned"],
            tasks_complete=F("tasks_complete") + d["complete"],
        )
    return len(changed)
