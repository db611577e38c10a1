"""Leases: which task an annotator gets next, and how its slot is held and given back.

The invariant (DESIGN 4.1): for every task, ``done + active leases <= quorum`` at all
times. Every change of a task's counters is either a compare-and-set
(``filter(..., filled__lt=quorum).update(...)`` and one row changed) or a write under the
task's row lock, and the CHECK constraints on Task refuse anything else. On PostgreSQL the
candidate rows are read with ``FOR UPDATE SKIP LOCKED`` so concurrent claimers never queue on
the same task; elsewhere the compare-and-set alone keeps the invariant.

Lock discipline, so concurrent writers never deadlock: rows are locked in the order
assignment -> prompt -> task -> domain progress; row locks are FOR NO KEY UPDATE, which
foreign-key checks of concurrent inserts do not wait for; and the domain progress counter is
each transaction's last write, so whoever holds it only has COMMIT left to do. A claimer
never waits while it holds candidate rows: SKIP LOCKED passes over rows others hold.

Gold items (DESIGN 4.5) sit beside all this: the normal claim passes over every task of a
gold prompt, and a gold lease (``Assignment.gold``, drawn at the project's ``gold_rate``)
holds no quorum slot, so its claim, release and submission move no counter.
"""

from __future__ import annotations

import random
import time
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from ..errors import ConflictError, DomainError
from ..models import Annotator, Assignment, DomainProgress, GoldItem, Membership, Project, Task
from .dashboard import dashboard_mark_stale_on_commit
from .tasks import tasks_sync_if_stale

State = Assignment.State

# How many open candidates one claim locks and picks from at random: enough that concurrent
# claimers rarely want the same row, few enough that the claim stays one short index scan.
CANDIDATE_WINDOW = 8
# Leases expired lazily per claim; the rest go on the next claims.
EXPIRE_BATCH = 200


class LeaseNotFound(DomainError):
    status_code = 404


class NotYourLease(DomainError):
    status_code = 403


class AnnotatorPaused(DomainError):
    status_code = 403


PAUSED_MESSAGE = (
    "You are paused by the project lead: no new tasks for now. Judgments you already "
    "started are still saved. Ask the project lead when you can continue."
)


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


def _gold_rng(project: Project, annotator: Annotator, latest: Assignment | None) -> random.Random:
    # Its own stream, apart from the task sampler's, so mixing gold in leaves the sampler's
    # draws (and everything seeded on them) as they were. Deterministic per (seed, annotator).
    return random.Random(f"gold:{project.seed}:{annotator.pk}:{latest.pk if latest else 0}")


def _gold_drawn(project: Project, annotator: Annotator, latest: Assignment | None) -> bool:
    """This claim is a gold one with probability ``project.gold_rate`` (DESIGN 4.5)."""
    if project.gold_rate <= 0:
        return False
    return _gold_rng(project, annotator, latest).random() < project.gold_rate


# Gold items one claim picks from at random (by id, among those the annotator has not had).
GOLD_WINDOW = 32


def _claim_gold(
    *, project: Project, annotator: Annotator, latest: Assignment | None, now: datetime
) -> Assignment | None:
    """A lease on a gold task the annotator never had, or None when none is left.

    Outside the quorum: no task or domain counter moves, so no lock is needed; the unique
    (annotator, task) constraint shows each gold item to an annotator at most once, and the
    one-active-lease constraint refuses a concurrent second claim (the caller's except).
    """
    candidates = list(
        GoldItem.objects.filter(project=project)
        .filter(
            ~Exists(Assignment.objects.filter(task_id=OuterRef("task_id"), annotator=annotator))
        )
        .order_by("id")
        .values_list("task_id", "kind")[:GOLD_WINDOW]
    )
    if not candidates:
        return None
    rng = random.Random(f"gold-pick:{project.seed}:{annotator.pk}:{latest.pk if latest else 0}")
    task_id, kind = rng.choice(candidates)
    with transaction.atomic():
        return Assignment.objects.create(
            project=project,
            task_id=task_id,
            annotator=annotator,
            state=State.ACTIVE,
            leased_at=now,
            expires_at=now + timedelta(seconds=project.lease_seconds),
            flipped=kind == GoldItem.Kind.PAIRWISE and rng.random() < 0.5,
            gold=True,
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
