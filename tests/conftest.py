"""Shared fixtures: the personas (annotator, lead, researcher, outsider) and data paths.

The suite runs on PostgreSQL (``make test`` starts a throwaway cluster). Tests that need
``../shared/data`` skip when it is absent, unless TRENCHCOAT_REQUIRE_SHARED_DATA=1 (CI).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get(
        "TRENCHCOAT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data; skips the test (or fails it in CI) when it is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("TRENCHCOAT_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"{path} is missing and TRENCHCOAT_REQUIRE_SHARED_DATA=1")
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite (the embedded default, DATABASE_URL unset: `make test`'s SQLite pass), test
    in a file rather than Django's in-memory database, so that the concurrency tests' threads
    share it and wait on its lock (the busy timeout in settings) as `make dev` does."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(name)


@pytest.fixture(scope="session", autouse=True)
def _cache_keys_per_xdist_worker(worker_id):
    """Under ``pytest -n`` the workers share one Redis, and each worker's database numbers
    its users from 1: a key prefix per worker keeps one worker's throttle counts and cached
    figures out of another's."""
    if worker_id == "master":
        return
    from django.conf import settings
    from django.core.cache import caches

    for alias in settings.CACHES:
        settings.CACHES[alias]["KEY_PREFIX"] = f"test-{worker_id}"
        if hasattr(caches._connections, alias):
            delattr(caches._connections, alias)


@pytest.fixture(autouse=True)
def _per_process_caches_start_empty():
    """The claim path's per-process hints are keyed by project id, and SQLite reuses the ids
    a rolled-back test transaction took (PostgreSQL's sequences do not): a project must not
    inherit the previous test's "tasks are fresh" hint."""
    from annotation import selectors
    from annotation.services import assignments, tasks

    for cache in (
        tasks._fresh,
        assignments._expiry_checked,
        assignments._recently_empty,
        selectors._criteria_cache,
    ):
        cache.clear()


@pytest.fixture
def project(db):
    from annotation.services.projects import project_create

    return project_create(slug="demo", name="Demo", domains=[{"name": "general"}])


def _member(project, username: str, role: str):
    from django.contrib.auth import get_user_model

    from annotation.models import Membership

    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    if role:
        Membership.objects.create(user=user, project=project, role=role)
    return user


@pytest.fixture
def annotator_user(project):
    return _member(project, "ann", "annotator")


@pytest.fixture
def lead_user(project):
    return _member(project, "lead", "lead")


@pytest.fixture
def researcher_user(project):
    return _member(project, "res", "researcher")


@pytest.fixture
def api_token_for(db):
    """``api_token_for(user)`` -> a fresh API key for ``user`` (send ``Token <key>``)."""
    from annotation.services.tokens import api_token_create

    made = iter(range(1, 1_000_000))

    def create(user, *, expires_in_days: int = 30) -> str:
        name = f"test token {next(made)}"
        return api_token_create(user=user, name=name, expires_in_days=expires_in_days).key

    return create


@pytest.fixture
def outsider_user(project):
    return _member(project, "outsider", "")


# The queues the test worker consumes (the `scoring` queue's tests start their own worker).
QUEUES = ["default", "aggregate", "exports"]


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (solo pool, in a thread) consuming the test Redis.

    Eager mode is not a test of a task: this sends tasks through the broker and runs them in
    the worker, against the committed database (hence transactional_db).
    """
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    if app.conf.task_always_eager:
        pytest.fail("celery_worker needs REDIS_URL (make test starts a redis-server)")
    # Tests without a worker still queue real messages (after-commit triggers, release
    # requests) for rows that are gone by now: a worker must not spend its test on them.
    with app.connection_for_write() as conn:
        for queue in QUEUES:
            conn.default_channel.queue_purge(queue)
    with start_worker(
        app,
        pool="solo",
        perform_ping_check=False,
        queues=QUEUES,
        shutdown_timeout=20,
    ) as worker:
        yield worker


@pytest.fixture
def worker_closes_its_connection():
    """The worker thread's database connection would outlive the test and block the test
    database's teardown; close it after each task, in the worker's thread."""
    from celery.signals import task_postrun
    from django.db import connection

    def close(**kwargs):
        connection.close()

    task_postrun.connect(close, weak=False)
    yield
    task_postrun.disconnect(close)
