"""Celery tasks of the annotation app: big imports run on a worker (queue `default`)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

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
