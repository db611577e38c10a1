"""Celery tasks of the annotation app: big imports run on a worker (queue `default`); the
dashboard's stored figures are recounted on the `aggregate` queue (config.settings)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from .services.dashboard import dashboard_refresh as dashboard_refresh_service
from .services.imports import import_job_run
from .services.imports.jobs import import_job_fail


@shared_task(name="annotation.tasks.import_run", bind=True, acks_late=True, max_retries=3)
def import_run(self, batch_id: int) -> dict:
    """Run one queued import (an ImportBatch id). Idempotent: a redelivered task finds the
    batch finished and does nothing. Retried only when the database is unreachable; after
    the last retry the import is marked failed."""
    try:
        return import_job_run(batch_id=batch_id)
    except OperationalError as exc:
        if self.request.retries >= self.max_retries:
            import_job_fail(
                batch_id=batch_id,
                error="The database was unavailable; nothing was written. Upload the file again.",
            )
            raise
        raise self.retry(exc=exc, countdown=5 * 2**self.request.retries) from exc


@shared_task(
    name="annotation.tasks.dashboard_refresh",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def dashboard_refresh(project_id: int) -> dict:
    """Recount one project's stored dashboard figures (queued, debounced, after commits that
    add judgments or skips). Idempotent; a missing project is logged, not retried."""
    snapshot = dashboard_refresh_service(project_id=project_id)
    return {
        "project_id": project_id,
        "computed_at": snapshot.computed_at.isoformat() if snapshot else None,
    }
