"""Side effects after a commit (cache counters, queueing tasks) never fail the request.

Once judgments or a release are committed, the request has succeeded: answering 500 because
Redis is down would make the client retry what is already stored, and hide that it was
stored. So a signal sent after a commit goes through ``send_on_commit_safely`` and a task
queued after one through ``task_enqueue_safely``: a failure is logged (with the project) and
counted in ``SideEffectFailure`` (shown on /healthz). Automatic aggregation missed that way
is caught up by the periodic job (scoring.tasks.auto_aggregation_catch_up); where a person
asked for the work (a run, a release), the caller tells them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from .models import SideEffectFailure

logger = logging.getLogger(__name__)


def side_effect_failure_record(*, what: str, project_id: int, error: BaseException) -> None:
    """Log the failure and add one to its counter. Never raises: the database may be what
    failed, and then the log line is all there is."""
    logger.warning(
        "after-commit side effect %s failed for project %s: %s: %s",
        what,
        project_id,
        type(error).__name__,
        error,
        exc_info=error,
    )
    message = f"{type(error).__name__}: {error}"[:2000]
    now = timezone.now()
    fields = {"count": F("count") + 1, "last_at": now, "last_error": message}
    try:
        if SideEffectFailure.objects.filter(what=what, project_id=project_id).update(**fields):
            return
        try:
            with transaction.atomic():
                SideEffectFailure.objects.create(
                    what=what, project_id=project_id, count=1, last_at=now, last_error=message
                )
        except IntegrityError:  # a concurrent failure created the row first
            SideEffectFailure.objects.filter(what=what, project_id=project_id).update(**fields)
    except DatabaseError:
        logger.exception("could not count the failure of %s for project %s", what, project_id)


def send_on_commit_safely(signal: Signal, *, sender: Any, project_id: int, **kwargs: Any) -> None:
    """Send ``signal`` after the commit. Each receiver that raises is recorded under its own
    name (``send_robust`` has already logged its traceback), and the others still run."""

    def send() -> None:
        for receiver, result in signal.send_robust(sender=sender, project_id=project_id, **kwargs):
            if isinstance(result, Exception):
                name = f"{receiver.__module__}.{getattr(receiver, '__qualname__', receiver)}"
                side_effect_failure_record(what=name, project_id=project_id, error=result)

    transaction.on_commit(send)


# What queueing a task raises when the broker cannot be reached: kombu wraps connection
# errors in its OperationalError; redis-py and the socket layer raise their own.
BROKER_ERRORS = (KombuOperationalError, RedisError, OSError)
QUEUE_UNREACHABLE = "the task queue (Redis) is unreachable"


def task_enqueue_safely(task: Any, *args: Any, project_id: int) -> bool:
    """Queue a Celery task now (call it once the data it needs is committed). False, with the
    failure logged and counted, when the broker cannot be reached: the caller tells the user.
    Other errors (an eager task failing in-process on the embedded default) propagate."""
    try:
        task.delay(*args)
    except BROKER_ERRORS as exc:
        side_effect_failure_record(what=f"queue {task.name}", project_id=project_id, error=exc)
        return False
    return True
