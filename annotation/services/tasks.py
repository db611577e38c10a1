"""Building the task table from a project's prompts and responses.

Tasks are derived data: ``tasks_sync`` is idempotent and safe to run concurrently (inserts
ignore conflicts on the unique constraints), so imports may call it, and a claim calls it
lazily when ``tasks_sync_if_stale`` sees responses or quorums it has not built tasks for.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum, Value
from django.db.models.functions import Greatest

from ..models import DomainProgress, Project, Response, Task, TaskSync

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
    Task.objects.bulk_create(
        [
            Task(
                project=project,
                domain_id=domain_id,
                prompt_id=prompt_id,
                kind=Task.Kind.LIKERT,
                response_a_id=response_id,
                quorum=project.likert_quorum,
            )
            for response_id, prompt_id, domain_id in missing
        ],
        batch_size=2000,
        ignore_conflicts=True,
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
        new_pairs = []
        for pid, rids in by_prompt.items():
            for a, b in pair_design(rids, rng=_prompt_rng(project, pid)):
                if (a, b) not in existing:
                    new_pairs.append(
                        Task(
                            project=project,
                            domain_id=domain_of[pid],
                            prompt_id=pid,
                            kind=Task.Kind.PAIRWISE,
                            response_a_id=a,
                            response_b_id=b,
                            quorum=project.pairwise_quorum,
                            unlocked=pairs_unlocked,
                        )
                    )
        Task.objects.bulk_create(new_pairs, batch_size=2000, ignore_conflicts=True)
        pairwise_created = len(new_pairs)

    # Quorum changes. A task already fuller than a lowered quorum keeps its current level as
    # its quorum: the CHECK constraint never lets filled exceed quorum, and no new lease is
    # given on it.
    for kind, quorum in (
        (Task.Kind.LIKERT, project.likert_quorum),
        (Task.Kind.PAIRWISE, project.pairwise_quorum),
    ):
        Task.objects.filter(project=project, kind=kind).exclude(quorum=quorum).update(
            quorum=Greatest(Value(quorum), F("filled"))
        )

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
        or Response.objects.filter(project=project, id__gt=state.response_max_id).exists()
    )


def tasks_sync_if_stale(*, project: Project) -> bool:
    """Run ``tasks_sync`` when responses newer than the last sync exist or a quorum or the
    mix changed. Costs two indexed single-row queries when nothing changed."""
    if not _is_stale(project, TaskSync.objects.filter(project=project).first()):
        return False
    tasks_sync(project=project, only_if_stale=True)
    return True
