"""Shared by the scorer tests: the tiny reward models (built once per session, in the test
session itself: nothing is downloaded), a clean per-process model cache around each test,
and a real Celery worker on the `scoring` queue."""

from contextlib import contextmanager

import pytest

from .tiny_rms import build_llama, build_qwen3


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    from scoring.backends import backend_cache_clear

    backend_cache_clear()
    yield
    backend_cache_clear()


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("rms")
    return {"llama": build_llama(root / "llama"), "qwen3": build_qwen3(root / "qwen3")}


@contextmanager
def scoring_worker_running():
    """A real Celery worker (solo pool, in a thread) consuming the `scoring` queue, for as
    long as the block runs (the test needs ``transactional_db``)."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from config.celery import app

    if app.conf.task_always_eager:
        pytest.fail("the scoring worker needs REDIS_URL (make test starts a redis-server)")

    def close_connections(**kwargs):
        # In the worker's thread, as Celery's Django fix-up does in a real worker: no
        # session outlives the test (the test database is dropped at the end).
        connections.close_all()

    task_postrun.connect(close_connections, weak=False)
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=["scoring"], shutdown_timeout=20
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_connections)


@pytest.fixture
def scoring_worker(transactional_db):
    with scoring_worker_running() as worker:
        yield worker
