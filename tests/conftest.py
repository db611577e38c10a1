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
def outsider_user(project):
    return _member(project, "outsider", "")


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
    with start_worker(
        app,
        pool="solo",
        perform_ping_check=False,
        queues=["default", "aggregate", "exports"],
        shutdown_timeout=20,
    ) as worker:
        yield worker
