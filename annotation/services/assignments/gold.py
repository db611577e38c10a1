"""Gold items (DESIGN 4.5): whether a claim is a gold one, drawn at the project's
``gold_rate`` on its own seeded stream, and the gold lease itself, which holds no quorum slot.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef

from ...models import Annotator, Assignment, GoldItem, Project

State = Assignment.State


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
