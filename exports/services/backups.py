"""Backups that restore: the PostgreSQL database and the release files, together.

A backup is a directory of three files:

- ``database.dump``: ``pg_dump --format=custom`` of the whole database (one consistent
  snapshot: projects, judgments, runs, scores, releases' rows, users, tokens);
- ``releases.tar``: every published release under ``EXPORT_DIR`` (builds in progress are
  left out: they are not releases yet);
- ``backup.json``: when it was taken, by which code version, and the sha256 and size of the
  two others, checked before a restore touches anything.

The database is dumped first, the files archived second. A release is published by renaming
its directory before its row commits as ready (``build/publish.py``), so every release the
dump calls ready has its files in the archive; one published in between is in the archive
with no row pointing at it, which is harmless.

Not in a backup: Redis (the broker's queue and the cache; nothing durable: lost tasks are
caught up by the beat job; releases that were pending or building are marked failed on
restore, to be requested again), uploads waiting in ``IMPORT_DIR``, scorer
model weights, and the secrets (``SECRET_KEY``, ``TRENCHCOAT_PSEUDONYM_SALT``): keep ``.env``
safe on its own. A rebuild gives byte-identical release files only with the same salt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tarfile
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.client import DatabaseClient
from django.utils import timezone

from annotation.errors import DomainError

from ..models import Release
from .build.publish import BUILDING_PREFIX, export_root

DATABASE_FILE = "database.dump"
RELEASES_FILE = "releases.tar"
MANIFEST_FILE = "backup.json"
FORMAT = "trenchcoat-backup/1"
# Created by mkfs on a fresh filesystem mounted as the releases directory; not a release.
IGNORED_IN_EMPTY_DIRECTORY = {"lost+found"}
INTERRUPTED_BY_RESTORE = (
    "The backup this database was restored from was taken before this release was built; "
    "nothing was published. Request it again."
)


class BackupError(DomainError):
    """A backup or restore that cannot proceed; nothing was changed."""


def backup_create(*, directory: Path) -> dict[str, Any]:
    """Write a backup of the database and the release files into ``directory`` (new or empty).

    Written into a hidden sibling first and renamed into place when complete, so a failed
    backup leaves no directory that looks like a backup.
    """
    directory = Path(directory).absolute()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BackupError(f"{directory} already exists and is not empty; choose a new directory")
    database = _postgres_settings()
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = directory.parent / f".{directory.name}.partial-{uuid.uuid4().hex[:8]}"
    partial.mkdir()
    try:
        _run_tool(
            "pg_dump",
            [
                "--format=custom",
                "--no-password",
                f"--file={partial / DATABASE_FILE}",
                *_connection_args(database),
                f"--dbname={database['NAME']}",
            ],
            database,
        )
        release_files = _archive_releases(partial / RELEASES_FILE)
        manifest = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "code_version": settings.TRENCHCOAT_VERSION,
            "database": {"name": database["NAME"], **_file_meta(partial / DATABASE_FILE)},
            "releases": {"files": release_files, **_file_meta(partial / RELEASES_FILE)},
        }
        (partial / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        if directory.exists():
            directory.rmdir()
        os.rename(partial, directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return {"directory": str(directory), **manifest}


def backup_restore(*, directory: Path) -> dict[str, Any]:
    """Restore a backup into an empty database and an empty releases directory.

    Checks everything before changing anything: the backup's checksums, that the database
    has no tables and that ``EXPORT_DIR`` holds no files. The release files are unpacked
    into a hidden directory first; the database is restored in one transaction
    (``pg_restore --single-transaction --exit-on-error``); only then are the files moved
    into place. A failure at any point leaves the database and the directory as they were.
    """
    directory = Path(directory).absolute()
    manifest = _backup_read(directory)
    database = _postgres_settings()
    tables = connections[DEFAULT_DB_ALIAS].introspection.table_names()
    if tables:
        raise BackupError(
            f"database '{database['NAME']}' is not empty ({len(tables)} tables); restore needs "
            "an empty one: create it (createdb) and point DATABASE_URL at it"
        )
    root = export_root()
    root.mkdir(parents=True, exist_ok=True)
    present = sorted(p.name for p in root.iterdir() if p.name not in IGNORED_IN_EMPTY_DIRECTORY)
    if present:
        raise BackupError(
            f"releases directory {root} is not empty ({', '.join(present[:3])}); restore "
            "needs an empty one (TRENCHCOAT_EXPORT_DIR)"
        )

    staging = root / f".restoring-{uuid.uuid4().hex[:8]}"
    try:
        with tarfile.open(directory / RELEASES_FILE) as archive:
            # The "data" filter refuses absolute paths, links out of the directory and
            # device files, and drops the archive's owners: the files belong to this user.
            archive.extractall(staging, filter="data")
        _run_tool(
            "pg_restore",
            [
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                "--no-password",
                *_connection_args(database),
                f"--dbname={database['NAME']}",
                str(directory / DATABASE_FILE),
            ],
            database,
        )
        for entry in sorted(staging.iterdir()):
            os.rename(entry, root / entry.name)
    finally:
        _remove_tree(staging)
    interrupted = _interrupted_releases_fail()
    return {
        "directory": str(directory),
        "database": database["NAME"],
        "releases_directory": str(root),
        "backup_created_at": manifest["created_at"],
        "backup_code_version": manifest["code_version"],
        "release_files": manifest["releases"]["files"],
        "interrupted_releases": interrupted,
    }


def _interrupted_releases_fail() -> list[int]:
    """Releases pending or building when the backup was taken: their build task was in
    Redis, which a backup does not hold, and their partial files were left out. Nothing would
    ever build them; they are marked failed, saying so, for a lead to request again."""
    interrupted = Release.objects.filter(
        status__in=[Release.Status.PENDING, Release.Status.BUILDING]
    )
    ids = sorted(interrupted.values_list("pk", flat=True))
    interrupted.update(
        status=Release.Status.FAILED,
        error=INTERRUPTED_BY_RESTORE,
        build_token="",
        finished_at=timezone.now(),
    )
    return ids


def _backup_read(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise BackupError(f"{directory} is not a backup: it has no {MANIFEST_FILE}")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as exc:
        raise BackupError(f"{path} is not valid JSON ({exc}); the backup is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: format is not {FORMAT!r}; not a backup this version reads")
    for key, name in (("database", DATABASE_FILE), ("releases", RELEASES_FILE)):
        file = directory / name
        if not file.is_file():
            raise BackupError(f"{file} is missing; the backup is incomplete")
        if _file_meta(file)["sha256"] != manifest[key]["sha256"]:
            raise BackupError(
                f"{file}: sha256 differs from the one in {MANIFEST_FILE}; the backup is damaged"
            )
    return manifest


def _archive_releases(target: Path) -> int:
    """Every published release file under EXPORT_DIR, by path relative to it; the number of
    files. Sorted, so the same releases give the same archive members in the same order."""
    root = export_root()
    count = 0
    with tarfile.open(target, "w") as archive:
        if not root.is_dir():
            return 0
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith((BUILDING_PREFIX, ".restoring-"))
                and d not in IGNORED_IN_EMPTY_DIRECTORY
            )
            here = Path(dirpath)
            if here != root:
                archive.add(here, arcname=str(here.relative_to(root)), recursive=False)
            for name in sorted(filenames):
                path = here / name
                archive.add(path, arcname=str(path.relative_to(root)), recursive=False)
                count += 1
    return count


def _file_meta(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"file": path.name, "sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _postgres_settings() -> dict[str, Any]:
    database = connections[DEFAULT_DB_ALIAS].settings_dict
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise BackupError(
            "backup and restore work on PostgreSQL (DATABASE_URL=postgres://...); the embedded "
            f"SQLite default is one file: copy {database['NAME']} while the app is stopped"
        )
    return database


def _connection_args(database: dict[str, Any]) -> list[str]:
    args = []
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if database.get(key):
            args.append(f"{option}={database[key]}")
    return args


def _run_tool(name: str, args: list[str], database: dict[str, Any]) -> None:
    # Django's dbshell client turns the settings into libpq's variables (PGPASSWORD,
    # PGSSLMODE, PGSERVICE, ...): the password never appears on a command line.
    _, libpq_env = DatabaseClient.settings_to_cmd_args_env(database, [])
    result = subprocess.run(
        [str(postgres_tool(name)), *args],
        env={**os.environ, **(libpq_env or {})},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise BackupError(f"{name} failed: {lines[-1] if lines else f'exit {result.returncode}'}")


def postgres_tool(name: str) -> Path:
    """``pg_dump`` or ``pg_restore``: from ``TRENCHCOAT_PG_BIN`` when set, else the PATH, else
    the newest Debian/Ubuntu install (``/usr/lib/postgresql/N/bin``). Its major version must
    be at least the server's."""
    if settings.POSTGRES_BIN_DIR:
        tool = Path(settings.POSTGRES_BIN_DIR) / name
        if not os.access(tool, os.X_OK):
            raise BackupError(f"TRENCHCOAT_PG_BIN={settings.POSTGRES_BIN_DIR} has no {name}")
        return tool
    found = shutil.which(name)
    if found:
        return Path(found)
    installs = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if installs:
        return installs[-1]
    raise BackupError(
        f"{name} not found: install PostgreSQL's client tools (apt-get install "
        "postgresql-client), the server's major version or newer, or set TRENCHCOAT_PG_BIN"
    )


def _remove_tree(path: Path) -> None:
    """Remove a tree that may hold published (read-only) directories."""
    if not path.exists():
        return
    for dirpath, _, _ in os.walk(path):
        Path(dirpath).chmod(stat.S_IRWXU)
    shutil.rmtree(path)
