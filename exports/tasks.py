"""Release builds on the `exports` queue (routed by CELERY_TASK_ROUTES)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import Release

logger = logging.getLogger(__name__)


@shared_task(name="exports.tasks.release_build", bind=True, acks_late=True, max_retries=None)
def release_build(self, release_id: int) -> dict:
    """Build and publish one release. Idempotent: a ready release is left as it is.

    Not retried on failure: a build fails only on a bug or a full disk, and the failed
    release records why; a lead can request another one. A delivery that finds another
    worker's claim on the build does nothing now and, on a worker, comes back when that
    claim would be stale, so the build of a killed worker is finished by its redelivery.
    """
    from .services.build import release_build as build

    release = Release.objects.select_related("project", "run").filter(pk=release_id).first()
    if release is None:
        logger.warning("release %s does not exist; nothing to build", release_id)
        return {"release": release_id, "status": "missing"}
    try:
        release = build(release=release)
    except Exception:
        logger.exception("release %s of %s failed", release_id, release.project.slug)
        release.refresh_from_db()
    if (
        release.status == Release.Status.BUILDING
        and not self.request.called_directly
        and not self.request.is_eager
    ):
        claimed_at = release.build_claimed_at or timezone.now()
        stale_at = claimed_at + timedelta(seconds=settings.RELEASE_BUILD_STALE_SECONDS)
        countdown = max(1, int((stale_at - timezone.now()).total_seconds()) + 1)
        logger.info(
            "release %s is being built by another delivery; checking again in %s s",
            release_id,
            countdown,
        )
        raise self.retry(countdown=countdown)
    return {"release": release.pk, "status": release.status, "version": release.version}


@shared_task(name="exports.tasks.release_catch_up", acks_late=True)
def release_catch_up() -> dict:
    """The periodic job (beat, every 5 minutes; CELERY_BEAT_SCHEDULE): queue again the
    builds whose message was lost (``release_catch_up_enqueue``). Idempotent."""
    from .services.build import release_catch_up_enqueue

    return {"queued": release_catch_up_enqueue()}
