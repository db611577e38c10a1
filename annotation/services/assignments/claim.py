"""The claim of the next task (DESIGN 4.2): the domain and kind order, the one-statement
claim on PostgreSQL and the ORM compare-and-set claim elsewhere, ``assignment_claim_next``
which ties them together (with a gold draw first, see ``gold``), and the lead's pause that
stops an annotator from claiming.
"""

from __future__ import annotations

import random
import time
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from ...errors import DomainError
from ...models import Annotator, Assignment, DomainProgress, GoldItem, Membership, Project, Task
from ..tasks import tasks_sync_if_stale
from .gold import _claim_gold, _gold_drawn
from .leases import _expire_due_now_and_then, _latest, _release

State = Assignment.State

# How many open candidates one claim locks and picks from at random: enough that concurrent
# claimers rarely want the same row, few enough that the claim stays one short index scan.
CANDIDATE_WINDOW = 8


class AnnotatorPaused(DomainError):
    status_code = 403


PAUSED_MESSAGE = (
    "You are paused by the project lead: no new tasks for now. Judgments you already "
    "started are still saved. Ask the project lead when you can continue."
)


def _rng_for(project: Project, annotator: Annotator, latest: Assignment | None) -> random.Random:
    # Seeded by the project seed, the annotator and how far they got: reproducible, and
    # different for two annotators asking at the same moment.
    return random.Random(f"claim:{project.seed}:{annotator.pk}:{latest.pk if latest else 0}")


def _domain_order(project: Project, rng: random.Random) -> list[int]:
    """Domain ids by largest deficit first: target_share minus the domain's share of the work
    given out so far (DESIGN 4.2 step 3); equal deficits in seeded random order."""
    rows = list(
        DomainProgress.objects.filter(project=project).values_list(
            "domain_id", "domain__target_share", "assigned"
        )
    )
    total = sum(r[2] for r in rows)
    keyed = []
    for domain_id, target, assigned in rows:
        share = assigned / total if total else 0.0
        keyed.append((-round(target - share, 12), rng.random(), domain_id))
    return [domain_id for *_, domain_id in sorted(keyed)]


def _kind_order(project: Project, rng: random.Random) -> list[str]:
    """DESIGN 4.2 step 2. Default mix: a prompt's pairs only open once its responses reached
    the Likert quorum, and open pairs go first so started prompts finish. With a project
    ``pairwise_weight`` w, a claim draws pairwise with probability w. Either way the other
    kind is the fallback when the first has nothing open."""
    likert, pairwise = Task.Kind.LIKERT.value, Task.Kind.PAIRWISE.value
    if project.pairwise_weight is None:
        return [pairwise, likert]
    return [pairwise, likert] if rng.random() < project.pairwise_weight else [likert, pairwise]


_CLAIM_SQL = """
WITH candidate AS (
    SELECT t.id, t.filled FROM annotation_task t
    WHERE t.domain_id = %(domain)s AND t.kind = %(kind)s AND t.unlocked
      AND t.filled < t.quorum AND t.done_count < %(base)s + t.extra_quorum
      AND NOT EXISTS (SELECT 1 FROM annotation_golditem g WHERE g.prompt_id = t.prompt_id)
      AND NOT EXISTS (
        SELECT 1 FROM annotation_assignment a
        WHERE a.task_id = t.id AND a.annotator_id = %(annotator)s)
    ORDER BY t.filled DESC, t.id
    LIMIT %(window)s
    FOR NO KEY UPDATE SKIP LOCKED
), chosen AS (
    SELECT id FROM candidate ORDER BY filled DESC, md5(id::text || %(salt)s) LIMIT 1
), taken AS (
    UPDATE annotation_task t SET filled = t.filled + 1, active_count = t.active_count + 1
    FROM chosen
    WHERE t.id = chosen.id AND t.filled < t.quorum AND t.done_count < %(base)s + t.extra_quorum
    RETURNING t.id, t.project_id, t.domain_id, t.prompt_id, t.kind, t.response_a_id,
              t.response_b_id, t.quorum, t.done_count, t.active_count, t.filled, t.unlocked,
              t.created_at
), lease AS (
    INSERT INTO annotation_assignment
        (project_id, task_id, annotator_id, state, leased_at, expires_at, flipped,
         skip_reason, skip_note)
    SELECT %(project)s, taken.id, %(annotator)s, 'active', %(now)s, %(expires)s,
           %(flipped)s, '', ''
    FROM taken
    RETURNING id, task_id
), progress AS (
    UPDATE annotation_domainprogress SET assigned = assigned + 1
    WHERE domain_id = %(domain)s AND EXISTS (SELECT 1 FROM lease)
)
SELECT lease.id, taken.* FROM lease JOIN taken ON taken.id = lease.task_id
"""
_TASK_COLUMNS = (
    "id",
    "project_id",
    "domain_id",
    "prompt_id",
    "kind",
    "response_a_id",
    "response_b_id",
    "quorum",
    "done_count",
    "active_count",
    "filled",
    "unlocked",
    "created_at",
)


def _claim_in_one_statement(
    *,
    project: Project,
    annotator: Annotator,
    domain_id: int,
    kind: str,
    base: int,
    now: datetime,
    rng: random.Random,
) -> Assignment | None:
    """PostgreSQL: the whole claim in one statement, so one round trip and the candidate
    rows are locked only for its duration. The steps of ``_claim_in``, but locking up to
    CANDIDATE_WINDOW open candidates with SKIP LOCKED, take the fullest (a seeded random one
    among equals) by a compare-and-set on ``filled < quorum``, insert the lease, count it in
    the domain; locks in the usual order (task, then domain progress last). A unique
    constraint refusing the lease rolls the whole statement back."""
    flipped = kind == Task.Kind.PAIRWISE and rng.random() < 0.5
    params = {
        "domain": domain_id,
        "kind": kind,
        "base": base,
        "annotator": annotator.pk,
        "window": CANDIDATE_WINDOW,
        "salt": f"{rng.random():.12f}",
        "project": project.pk,
        "now": now,
        "expires": now + timedelta(seconds=project.lease_seconds),
        "flipped": flipped,
    }
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    task = Task.from_db(connection.alias, _TASK_COLUMNS, row[1:])
    lease = Assignment(
        id=row[0],
        project=project,
        task=task,
        annotator=annotator,
        state=State.ACTIVE,
        leased_at=now,
        expires_at=params["expires"],
        flipped=flipped,
    )
    lease._state.adding = False
    lease._state.db = connection.alias
    return lease


def _claim_in(
    *,
    project: Project,
    annotator: Annotator,
    domain_id: int,
    kind: str,
    now: datetime,
    rng: random.Random,
) -> Assignment | None:
    # done_count below the project's quorum too: a task whose quorum was raised above it
    # (imports over quorum, a lowered quorum) keeps its live leases but gets no new one.
    base = project.likert_quorum if kind == Task.Kind.LIKERT else project.pairwise_quorum
    # The candidates are read before the write transaction: on SQLite a transaction takes
    # the database's one write lock at BEGIN (IMMEDIATE), and a claim tries up to four
    # (domain, kind) combinations, most of them empty. Reading them under the lock made
    # 32 concurrent annotators wait on one another's empty reads until "database is
    # locked". A candidate taken meanwhile is caught by the compare-and-set below.
    rows = list(
        Task.objects.filter(
            domain_id=domain_id,
            kind=kind,
            unlocked=True,
            filled__lt=F("quorum"),
            done_count__lt=F("extra_quorum") + base,
        )
        .filter(~Exists(Assignment.objects.filter(task_id=OuterRef("pk"), annotator=annotator)))
        .filter(~Exists(GoldItem.objects.filter(prompt_id=OuterRef("prompt_id"))))
        .order_by("-filled", "id")
        .values_list("id", "filled")[:CANDIDATE_WINDOW]
    )
    if not rows:
        return None
    # Closest to quorum first, oldest next; random among the equally full ones in the window.
    best = rows[0][1]
    ids = [task_id for task_id, filled in rows if filled == best]
    rng.shuffle(ids)
    ids += [task_id for task_id, filled in rows if filled != best]
    with transaction.atomic():
        for task_id in ids:
            # Compare-and-set: the slot is taken only if the task is still below quorum.
            if Task.objects.filter(
                pk=task_id, filled__lt=F("quorum"), done_count__lt=F("extra_quorum") + base
            ).update(filled=F("filled") + 1, active_count=F("active_count") + 1):
                break
        else:
            return None
        lease = Assignment.objects.create(
            project=project,
            task_id=task_id,
            annotator=annotator,
            state=State.ACTIVE,
            leased_at=now,
            expires_at=now + timedelta(seconds=project.lease_seconds),
            flipped=kind == Task.Kind.PAIRWISE and rng.random() < 0.5,
        )
        DomainProgress.objects.filter(domain_id=domain_id).update(assigned=F("assigned") + 1)
    return lease


# (project, domain, kind) combinations that recently had nothing open, with when to look
# again. Only an ordering hint, per process: they are tried last, never skipped, so a stale
# entry costs a query and never hides work. Saves the empty queries of a default-mix claim
# (pairs still locked) in the common case.
_EMPTY_FOR_SECONDS = 2.0
_recently_empty: dict[tuple[int, int, str], float] = {}


def assignment_claim_next(
    *,
    project: Project,
    annotator: Annotator,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Assignment | None:
    """The annotator's current lease, or a new one on the next task (DESIGN 4.2), or None
    when every open task is leased, done by them, or skipped by them."""
    now = now or timezone.now()
    latest = _latest(project, annotator)
    if latest is not None and latest.state == State.ACTIVE:
        if latest.expires_at > now:
            return latest
        _release(latest, state=State.EXPIRED, now=now)
    if project.status != Project.Status.ACTIVE:
        return None
    if annotator_is_paused(project=project, annotator=annotator):
        raise AnnotatorPaused(PAUSED_MESSAGE)
    _expire_due_now_and_then(project, now)
    tasks_sync_if_stale(project=project)
    if _gold_drawn(project, annotator, latest):
        try:
            lease = _claim_gold(project=project, annotator=annotator, latest=latest, now=now)
        except IntegrityError:  # a concurrent claim of the same annotator won
            lease = Assignment.objects.filter(
                annotator=annotator, project=project, state=State.ACTIVE
            ).first()
        if lease is not None:
            return lease
    rng = rng or _rng_for(project, annotator, latest)
    domains = _domain_order(project, rng)
    attempts = [(domain_id, kind) for kind in _kind_order(project, rng) for domain_id in domains]
    clock = time.monotonic()
    attempts.sort(key=lambda a: _recently_empty.get((project.pk, *a), 0.0) > clock)  # stable
    one_statement = connection.vendor == "postgresql"
    for domain_id, kind in attempts:
        try:
            if one_statement:
                base = (
                    project.likert_quorum if kind == Task.Kind.LIKERT else project.pairwise_quorum
                )
                # A single statement is atomic by itself; inside a caller's transaction a
                # savepoint keeps a refused lease from breaking it.
                with transaction.atomic() if connection.in_atomic_block else nullcontext():
                    lease = _claim_in_one_statement(
                        project=project,
                        annotator=annotator,
                        domain_id=domain_id,
                        kind=kind,
                        base=base,
                        now=now,
                        rng=rng,
                    )
            else:
                lease = _claim_in(
                    project=project,
                    annotator=annotator,
                    domain_id=domain_id,
                    kind=kind,
                    now=now,
                    rng=rng,
                )
        except IntegrityError:
            # The same annotator claimed concurrently (a double click, two tabs): the
            # one-active-lease constraint refused this one; theirs is the lease.
            current = Assignment.objects.filter(
                annotator=annotator, project=project, state=State.ACTIVE
            ).first()
            if current is None:
                raise
            return current
        if lease is not None:
            return lease
        _recently_empty[(project.pk, domain_id, kind)] = clock + _EMPTY_FOR_SECONDS
    return None


def annotator_is_paused(*, project: Project, annotator: Annotator) -> bool:
    """Whether a lead paused this annotator's membership (imported raters never claim)."""
    if annotator.user_id is None:
        return False
    return Membership.objects.filter(
        project=project, user_id=annotator.user_id, paused_at__isnull=False
    ).exists()
