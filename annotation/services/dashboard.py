"""Keeps the lead dashboard's stored figures fresh (DESIGN 7.4; ``models.dashboard`` says
why they are stored).

After each commit that adds judgments (the ``judgments_recorded`` signal) or ends a lease as
skipped, ``dashboard_mark_stale`` records the time and queues one refresh, debounced:
``settings.DASHBOARD_REFRESH_SECONDS`` later, and only while none is queued, so a burst of
submissions costs one recount. The refresh (``annotation.tasks.dashboard_refresh``, the
``aggregate`` queue; in-process at once on the embedded default) recounts everything and
clears the mark unless newer work arrived meanwhile, which queues the next refresh.
Pause, exclusion, gold accuracy, targets and names are not stored: panels read them now.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..composition import composition_counts
from ..models import DashboardSnapshot, Project
from ..quality_selectors import annotator_stats
from ..selectors import judgment_totals, judgments_by_day
from ..side_effects import BROKER_ERRORS

logger = logging.getLogger(__name__)

# Bumped when the shape of ``figures`` changes: an older row is recounted on its next read.
FIGURES_VERSION = 1
# Judgments per day are kept for this many days, up to the day of the count.
DAYS_KEPT = 30
# A refresh queued this long ago and never started was lost (a broker flushed): queue again.
LOST_AFTER = timedelta(minutes=10)


def criteria_keys(project: Project) -> list[str]:
    return list(project.criteria.order_by("position", "id").values_list("key", flat=True))


def dashboard_figures(*, project: Project, now: datetime) -> dict:
    """Everything the snapshot stores, counted now, as plain JSON: the annotator checks'
    counts (``annotator_stats``), the composition counts, judgments per day over the last
    ``DAYS_KEPT`` days up to ``now``'s day, and the lead page's totals."""
    keys = criteria_keys(project)
    first = timezone.localdate(now) - timedelta(days=DAYS_KEPT - 1)
    since = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    return {
        "version": FIGURES_VERSION,
        "criteria": keys,
        "annotators": {
            str(a): list(stats) for a, stats in annotator_stats(project=project, keys=keys).items()
        },
        "composition": composition_counts(project=project),
        "per_day": {
            day.isoformat(): n for day, n in judgments_by_day(project=project, since=since).items()
        },
        "totals": judgment_totals(project=project, now=now),
    }


def dashboard_refresh(*, project_id: int) -> DashboardSnapshot | None:
    """Recount the project's stored figures. None when the project is gone. Idempotent: a
    second refresh recounts the same; one that started before the stored figures were
    computed stores nothing."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        logger.warning("dashboard_refresh: project %s does not exist; nothing to do", project_id)
        return None
    # Un-queue before taking the start time: a commit marked after ``started`` finds nothing
    # queued and queues the next refresh; one marked before it is in what is read below.
    DashboardSnapshot.objects.filter(project_id=project_id).update(queued_at=None)
    started = timezone.now()
    figures = dashboard_figures(project=project, now=started)
    with transaction.atomic():
        snapshot, created = DashboardSnapshot.objects.select_for_update().get_or_create(
            project_id=project_id, defaults={"figures": figures, "computed_at": started}
        )
        if created or snapshot.computed_at > started:
            return snapshot
        snapshot.figures = figures
        snapshot.computed_at = started
        if snapshot.stale_since is not None and snapshot.stale_since <= started:
            snapshot.stale_since = None
        snapshot.save(update_fields=["figures", "computed_at", "stale_since"])
    return snapshot


def dashboard_refresh_enqueue(*, project_id: int, now: datetime | None = None) -> bool:
    """Queue one refresh unless one is already queued (compare-and-set on ``queued_at``).
    False when one was queued or nothing is stored yet (the first read counts)."""
    now = now or timezone.now()
    claimed = (
        DashboardSnapshot.objects.filter(project_id=project_id)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - LOST_AFTER))
        .update(queued_at=now)
    )
    if not claimed:
        return False
    from ..tasks import dashboard_refresh as task  # tasks import services

    try:
        task.apply_async((project_id,), countdown=settings.DASHBOARD_REFRESH_SECONDS)
    except Exception:
        # Give the claim back so that the next commit, or the next read, queues again.
        DashboardSnapshot.objects.filter(project_id=project_id, queued_at=now).update(
            queued_at=None
        )
        raise
    return True


def dashboard_mark_stale(*, project_id: int) -> bool:
    """Call after the commit of work the stored figures count. True when a refresh was
    queued now."""
    now = timezone.now()
    if not DashboardSnapshot.objects.filter(project_id=project_id).update(stale_since=now):
        return False
    return dashboard_refresh_enqueue(project_id=project_id, now=now)


def dashboard_mark_stale_on_commit(*, project_id: int) -> None:
    """``dashboard_mark_stale`` once the current transaction commits (skips, item imports,
    gold marks). A queue that cannot be reached is logged: the write stands, and the
    dashboard's next read queues the refresh."""

    def mark() -> None:
        try:
            dashboard_mark_stale(project_id=project_id)
        except BROKER_ERRORS:
            logger.exception("dashboard: could not queue a refresh of project %s", project_id)

    transaction.on_commit(mark)


def on_judgments_recorded(sender, *, project_id: int, **kwargs) -> None:
    """The ``judgments_recorded`` receiver (connected in ``apps.py``)."""
    dashboard_mark_stale(project_id=project_id)


def dashboard_snapshot_get(*, project: Project, keys: list[str] | None = None) -> DashboardSnapshot:
    """The stored figures a panel shows. Counted now, once, when there are none yet or, for
    the annotator checks (``keys``: the criteria keys now), the criteria changed
    (straight-lining depends on them). While stale, a refresh is queued if none is (a lost
    task, or a broker that was down at the commit)."""
    snapshot = DashboardSnapshot.objects.filter(project=project).first()
    if (
        snapshot is None
        or snapshot.figures.get("version") != FIGURES_VERSION
        or (keys is not None and snapshot.figures.get("criteria") != keys)
    ):
        return dashboard_refresh(project_id=project.pk)
    now = timezone.now()
    if snapshot.stale_since is not None and (
        snapshot.queued_at is None or snapshot.queued_at < now - LOST_AFTER
    ):
        try:
            dashboard_refresh_enqueue(project_id=project.pk, now=now)
        except BROKER_ERRORS:
            logger.exception("dashboard: could not queue a refresh of project %s", project.pk)
        snapshot.refresh_from_db()  # an in-process refresh (the embedded default) ran
    return snapshot


def stored_annotator_stats(snapshot: DashboardSnapshot) -> dict[int, tuple]:
    return {int(a): tuple(v) for a, v in snapshot.figures.get("annotators", {}).items()}


def stored_per_day(snapshot: DashboardSnapshot) -> dict[date, list[int]]:
    return {date.fromisoformat(d): n for d, n in snapshot.figures.get("per_day", {}).items()}
