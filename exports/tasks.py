"""Release builds on the `exports` queue (routed by CELERY_TASK_ROUTES)."""

from __future__ import annotations

import logging

from celery import shared_task

from .models import Release

logger = logging.getLogger(__name__)


@shared_task(name="exports.tasks.release_build", acks_late=True)
def release_build(release_id: int) -> dict:
    """Build and publish one release. Idempotent: a ready release is left as it is.

    Not retried: a build fails only on a bug or a full disk, and the failed release records
    why; a lead can request another one.
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
    return {"release": release.pk, "status": release.status, "version": release.version}
