"""manage.py backup and restore: a project restored into an empty database rebuilds its
release byte for byte (README, "Backups").

The restore and the rebuild run as production runs them: `manage.py` in a fresh process,
pointed by DATABASE_URL at a second, empty database on the test's PostgreSQL server and by
TRENCHCOAT_EXPORT_DIR at an empty directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from annotation.models import LikertJudgment, PairwiseJudgment
from exports.models import Release
from exports.services.backups import INTERRUPTED_BY_RESTORE
from exports.services.build import release_build, release_path, release_request
from scoring.models import AggregationRun, ResponseScore
from scoring.services import aggregation_run_create

from .factories import scored_project

ROOT = Path(__file__).resolve().parents[2]


def sha256_of_files(directory: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
    }


def server(dbname: str) -> dict[str, str]:
    settings = connection.settings_dict
    return {
        "dbname": dbname,
        "host": settings["HOST"] or "",
        "port": str(settings["PORT"] or ""),
        "user": settings["USER"] or "",
        "password": settings["PASSWORD"] or "",
    }


@pytest.fixture
def empty_database():
    """A new, empty database on the test's PostgreSQL server; dropped afterwards."""
    name = f"restored_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**server("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(**server("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args: str, database: str, export_dir: Path) -> dict:
    """`manage.py ARGS --json` in a new process on ``database`` and ``export_dir``."""
    s = server(database)
    url = f"postgres://{s['user']}:{s['password']}@{s['host']}:{s['port']}/{database}"
    env = {**os.environ, "DATABASE_URL": url, "TRENCHCOAT_EXPORT_DIR": str(export_dir)}
    if os.environ.get("PG_BIN"):  # bin/with-test-services: the cluster's own binaries
        env["TRENCHCOAT_PG_BIN"] = os.environ["PG_BIN"]
    result = subprocess.run(
        [sys.executable, "manage.py", *args, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def count(database: str, model) -> int:
    with psycopg.connect(**server(database)) as conn:
        return conn.execute(f'SELECT count(*) FROM "{model._meta.db_table}"').fetchone()[0]


@pytest.fixture
def pg_bin(settings):
    if os.environ.get("PG_BIN"):
        settings.POSTGRES_BIN_DIR = os.environ["PG_BIN"]


@pytest.mark.django_db(transaction=True)
def test_a_restored_backup_rebuilds_the_release_byte_for_byte(
    project, export_dir, tmp_path, empty_database, pg_bin
):
    scored_project(project, n_prompts=24, annotators=4, with_run=False)
    run = aggregation_run_create(project=project, trigger="command")
    assert run.status == AggregationRun.Status.DONE
    original = release_build(release=release_request(project=project, run=run, seed=7))
    assert original.version == 1
    original_files = sha256_of_files(release_path(original))
    assert set(original_files) >= {"manifest.json", "responses.parquet", "judgments.jsonl"}
    judgments = (
        LikertJudgment.objects.filter(response__project=project).count(),
        PairwiseJudgment.objects.filter(prompt__project=project).count(),
    )
    assert judgments[0] > 0 and judgments[1] > 0
    # Requested but not built when the backup is taken: its task lives in Redis only.
    unbuilt = release_request(project=project, run=run, seed=8)

    call_command("backup", str(tmp_path / "backup"))
    restored_dir = tmp_path / "restored-releases"
    restored = manage(
        "restore", str(tmp_path / "backup"), database=empty_database, export_dir=restored_dir
    )
    assert restored["ok"] and restored["release_files"] == len(original_files)
    assert restored["interrupted_releases"] == [unbuilt.pk]

    # The database: the same judgments, run, scores and release rows.
    assert count(empty_database, LikertJudgment) == judgments[0]
    assert count(empty_database, PairwiseJudgment) == judgments[1]
    assert count(empty_database, AggregationRun) == AggregationRun.objects.count()
    assert count(empty_database, ResponseScore) == ResponseScore.objects.count()
    with psycopg.connect(**server(empty_database)) as conn:
        row = conn.execute(
            f'SELECT status, version, directory, files, counts FROM "{Release._meta.db_table}" '
            "WHERE id = %s",
            [original.pk],
        ).fetchone()
        unbuilt_row = conn.execute(
            f'SELECT status, version, error FROM "{Release._meta.db_table}" WHERE id = %s',
            [unbuilt.pk],
        ).fetchone()
    assert row == ("ready", 1, "demo/v1", original.files, original.counts)
    assert unbuilt_row == ("failed", None, INTERRUPTED_BY_RESTORE)
    # The release files came back as they were.
    assert sha256_of_files(restored_dir / "demo" / "v1") == original_files

    # Built again from the restored database alone: the same bytes in every file.
    rebuilt = manage(
        "release",
        "--project",
        "demo",
        "--run",
        str(run.pk),
        "--seed",
        "7",
        database=empty_database,
        export_dir=restored_dir,
    )
    assert rebuilt["version"] == "v2"
    assert sha256_of_files(Path(rebuilt["directory"])) == original_files
    assert rebuilt["files"] == {name: meta["sha256"] for name, meta in original.files.items()}
    assert (Path(rebuilt["directory"]) / "manifest.json").read_bytes() == (
        release_path(original) / "manifest.json"
    ).read_bytes()


@pytest.mark.django_db
def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(
    project, export_dir, tmp_path, pg_bin
):
    # A backup of this very database, restored onto itself: it has tables.
    call_command("backup", str(tmp_path / "backup"))
    with pytest.raises(CommandError, match="is not empty .* tables.*restore needs an empty one"):
        call_command("restore", str(tmp_path / "backup"))
    assert not export_dir.exists() or list(export_dir.iterdir()) == []


@pytest.mark.django_db
def test_restore_refuses_a_damaged_backup_before_touching_anything(
    project, export_dir, tmp_path, pg_bin
):
    call_command("backup", str(tmp_path / "backup"))
    dump = tmp_path / "backup" / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="database.dump: sha256 differs .* damaged"):
        call_command("restore", str(tmp_path / "backup"))


@pytest.mark.django_db
def test_backup_refuses_a_directory_that_is_not_empty(project, export_dir, tmp_path, pg_bin):
    target = tmp_path / "backup"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="already exists and is not empty"):
        call_command("backup", str(target))
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
