"""Reachability of the database and the Celery broker, for /healthz and load balancers."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection

from .models import SideEffectFailure


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # any driver error means "unreachable" to a health check
        return {"ok": False, "vendor": connection.vendor, "error": exc.__class__.__name__}


def broker_status() -> dict:
    url = settings.CELERY_BROKER_URL
    if url.startswith("memory://") or settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager (tasks run in-process)"}
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        return {"ok": True, "mode": "redis"}
    except Exception as exc:
        return {"ok": False, "mode": "redis", "error": exc.__class__.__name__}


def side_effect_status() -> dict:
    """After-commit side effects (cache counters, queueing tasks) that failed and were
    skipped (annotation.side_effects): informational, it does not make /healthz fail."""
    try:
        rows = list(SideEffectFailure.objects.values_list("count", "last_at"))
    except DatabaseError:  # database_status reports it
        return {"failures": None, "last_at": None}
    last = max((at for _, at in rows), default=None)
    return {"failures": sum(c for c, _ in rows), "last_at": last.isoformat() if last else None}
