import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from exports.models import Release
from exports.services.build import ALL_FILES
from exports.services.writers import file_sha256

pytestmark = pytest.mark.django_db


def test_release_json_prints_version_directory_and_checksums(export_dir, scored):
    out = StringIO()
    call_command(
        "release",
        "--project",
        "demo",
        "--seed",
        "3",
        "--holdout-domain",
        "math",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    doc = json.loads(out.getvalue())
    assert doc["ok"] is True and doc["version"] == "v1" and doc["seed"] == 3
    assert doc["holdout_domains"] == ["math"]
    assert doc["directory"] == str(export_dir / "demo" / "v1")
    assert sorted(doc["files"]) == sorted(ALL_FILES)
    for name, sha in doc["files"].items():
        assert file_sha256(export_dir / "demo" / "v1" / name) == sha


def test_release_without_an_aggregation_run_fails_with_one_line(export_dir, project):
    with pytest.raises(CommandError, match="no finished aggregation run") as exc:
        call_command("release", "--project", "demo", stdout=StringIO(), stderr=StringIO())
    assert "\n" not in str(exc.value)
    assert not Release.objects.exists()


def test_release_of_an_unknown_project_fails(export_dir, db):
    with pytest.raises(CommandError, match="no project 'nope'"):
        call_command("release", "--project", "nope", stdout=StringIO(), stderr=StringIO())


def test_release_prints_a_summary(export_dir, scored):
    out = StringIO()
    call_command("release", "--project", "demo", stdout=out, stderr=StringIO())
    assert "demo v1 from run" in out.getvalue()
