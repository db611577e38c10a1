"""Requesting a release: validate, record it as pending, queue its build."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from annotation.errors import ConflictError, DomainError, Problem, ValidationProblems
from annotation.models import Domain, Project
from annotation.side_effects import QUEUE_UNREACHABLE, task_enqueue_safely
from scoring.models import AggregationRun
from scoring.scoring_runs import scorer_for_project

from ... import selectors
from ...models import Release

logger = logging.getLogger(__name__)

# Release.seed is a bigint.
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1


def release_request(
    *,
    project: Project,
    user=None,
    run: AggregationRun | None = None,
    seed: int | None = None,
    holdout_domains: Iterable[str] = (),
    test_fraction: float | None = None,
    scorers: Iterable[str] = (),
) -> Release:
    """Validate and record a pending release of ``run`` (default: the latest finished run).

    ``scorers``: names of scorers whose scores and meta-evaluation the release carries; each
    one's latest finished scoring run is pinned now, so that a rebuild uses the same runs.
    """
    if run is None:
        run = selectors.run_latest_done(project=project)
        if run is None:
            raise ConflictError(
                f"project '{project.slug}' has no finished aggregation run yet; "
                f"run `manage.py aggregate --project {project.slug}` first"
            )
    if run.project_id != project.pk:
        raise DomainError(f"aggregation run {run.pk} belongs to another project")
    if run.status != AggregationRun.Status.DONE:
        raise ConflictError(
            f"aggregation run {run.pk} is {run.status}, not done; release a finished run"
        )
    if selectors.run_score_count(run=run) == 0:
        raise ConflictError(
            f"aggregation run {run.pk} gave no response a final score (none reached the Likert "
            "quorum and none has a pair that reached the pairwise quorum); nothing to release"
        )

    problems: list[Problem] = []
    holdout = sorted(set(holdout_domains))
    known = set(Domain.objects.filter(project=project).values_list("name", flat=True))
    for name in holdout:
        if name not in known:
            problems.append(
                Problem(
                    None,
                    "holdout_domains",
                    f"no domain '{name}' in this project; known: {', '.join(sorted(known))}",
                )
            )
    fraction = project.test_fraction if test_fraction is None else test_fraction
    if not 0.0 <= fraction <= 1.0:
        problems.append(Problem(None, "test_fraction", f"{fraction} is not between 0 and 1"))
    if seed is not None and not SEED_MIN <= seed <= SEED_MAX:
        problems.append(
            Problem(None, "seed", f"{seed} is out of range; use one from {SEED_MIN} to {SEED_MAX}")
        )
    pinned, scorer_problems = _scorers_pin(project=project, run=run, names=scorers)
    problems.extend(scorer_problems)
    if problems:
        raise ValidationProblems(problems, what="release")
    return Release.objects.create(
        project=project,
        run=run,
        seed=project.seed if seed is None else int(seed),
        test_fraction=fraction,
        holdout_domains=holdout,
        scorers=pinned,
        created_by=user if user is not None and user.is_authenticated else None,
    )


def _scorers_pin(
    *, project: Project, run: AggregationRun, names: Iterable[str]
) -> tuple[dict[str, int], list[Problem]]:
    """{scorer name: its latest finished scoring run a release of ``run`` can carry}, and a
    problem for each name that is not such a scorer."""
    pinned: dict[str, int] = {}
    problems: list[Problem] = []
    for name in sorted(set(names)):
        try:
            scorer = scorer_for_project(project=project, name=name)
        except DomainError as exc:
            problems.append(Problem(None, "scorers", str(exc)))
            continue
        scoring_run = selectors.scoring_run_for_release(run=run, scorer=scorer)
        if scoring_run is None:
            problems.append(
                Problem(
                    None,
                    "scorers",
                    f"scorer '{name}' has no finished scoring run over this project's responses "
                    f"(or this run's release); score them first with `manage.py score --project "
                    f"{project.slug} --scorer {name}` (or `manage.py import_scores` for an "
                    "external scorer)",
                )
            )
            continue
        pinned[name] = scoring_run.pk
    return pinned, problems


RELEASE_NOT_QUEUED = (
    f"The release could not be queued for building: {QUEUE_UNREACHABLE}. It is marked failed "
    "and nothing was published; request it again in a minute."
)


def release_enqueue(*, release: Release) -> bool:
    """Queue the build of a committed release. When the broker cannot be reached, the
    failure is logged and counted, the release is marked failed with the reason (compare-and-
    set on pending, so a build that did start is left alone), and False is returned for the
    caller to say so: never an error after the release was committed."""
    from ...tasks import release_build as release_build_task

    if task_enqueue_safely(release_build_task, release.pk, project_id=release.project_id):
        return True
    Release.objects.filter(pk=release.pk, status=Release.Status.PENDING).update(
        status=Release.Status.FAILED, error=RELEASE_NOT_QUEUED, finished_at=timezone.now()
    )
    release.refresh_from_db()
    return False


def release_catch_up_enqueue(*, now: datetime | None = None) -> list[int]:
    """Queue again the builds that no worker will ever deliver: releases still pending, or
    building under a claim that went stale (its worker died), RELEASE_BUILD_STALE_SECONDS
    after they were requested, claimed or last queued here. Their message was lost with the
    broker's data (a Redis restarted without persistence) or never redelivered. Returns the
    ids queued.

    The periodic job (beat, every 5 minutes) calls it. Each release is claimed by compare-
    and-set on ``requeued_at``, so two deliveries of the job queue it once per stale period;
    a build delivered twice is harmless (``publish``: the claim is compare-and-set too)."""
    from ...tasks import release_build as release_build_task

    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.RELEASE_BUILD_STALE_SECONDS)
    waiting = Q(requeued_at__isnull=True) | Q(requeued_at__lte=stale_before)
    lost = Q(status=Release.Status.PENDING, created_at__lte=stale_before) | Q(
        status=Release.Status.BUILDING, build_claimed_at__lte=stale_before
    )
    queued = []
    for release_id, project_id, requeued_at in Release.objects.filter(lost & waiting).values_list(
        "id", "project_id", "requeued_at"
    ):
        claimed = (
            Release.objects.filter(pk=release_id, requeued_at=requeued_at)
            .filter(lost)
            .update(requeued_at=now)
        )
        if claimed and task_enqueue_safely(release_build_task, release_id, project_id=project_id):
            queued.append(release_id)
    if queued:
        logger.info("catch-up: queued the builds of releases %s again", queued)
    return queued
