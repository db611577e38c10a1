from __future__ import annotations

import pytest

from .factories import scored_project


@pytest.fixture
def project(db):
    """The personas' project, with three domains so that stratification means something."""
    from annotation.services.projects import project_create

    return project_create(
        slug="demo",
        name="Demo",
        domains=[{"name": "chat"}, {"name": "code"}, {"name": "math"}],
    )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The personas are created with passwords; PBKDF2 would dominate the permission matrix.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "releases"
    return settings.EXPORT_DIR


@pytest.fixture
def scored(project):
    return scored_project(project, n_prompts=60)
