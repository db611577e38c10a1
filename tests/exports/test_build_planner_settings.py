"""The release build plans its full scans with nested loops and JIT off (exports/services/
build/files.py); a build inside a caller's transaction must hand the planner back as it
found it. SET LOCAL outlives a savepoint, and with nested loops off every later small query
of the caller was costed at 10^10 and JIT-compiled: half a second each (issue 12, item 3:
the route matrix found the admin's pages taking seconds after a build)."""

import pytest
from django.db import connection, transaction

from exports.services.build import release_build, release_request

from .factories import scored_project

pytestmark = pytest.mark.django_db


def _settings() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_nestloop'), current_setting('cursor_tuple_fraction'),"
            " current_setting('jit')"
        )
        return cursor.fetchone()


def test_a_build_inside_a_transaction_leaves_the_planner_settings_as_it_found_them(
    project, export_dir
):
    scored_project(project, n_prompts=6, annotators=3)
    with transaction.atomic():
        before = _settings()
        release = release_build(release=release_request(project=project))
        assert release.is_ready
        assert _settings() == before
    assert before[0] == "on"
