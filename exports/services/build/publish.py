"""Building a release and publishing it as the project's next version (DESIGN 7.1).

A build claims the release, writes every file into its own hidden temporary directory next
to the published ones, then publishes in one step: under a lock on the project row it takes
the next version number, marks the release ready and renames the directory to ``v<N>``
(atomic on one filesystem). A build that fails at any point removes its temporary directory
and leaves no version and no visible files.

Claims are compare-and-set, because the task is delivered at least once (``acks_late``, and
``reject_on_worker_lost`` redelivers the task of a killed worker):

- a build starts only by moving the release from pending to building, with a fresh token
  and ``build_claimed_at``; another delivery finds it building and does nothing;
- a claim older than ``RELEASE_BUILD_STALE_SECONDS`` is presumed dead and a delivery may take
  it over, by compare-and-set on (building, the old token), with a new token and directory;
- publishing (building -> ready) and failing (building -> failed) are compare-and-set on the
  build's own token. If a presumed-dead build was only slow, both builds finish, one
  publishes and the other finds its claim gone and discards its directory; no build ever
  marks a ready release failed, and no build deletes the directory of a live claim.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from annotation.models import Project

from ...models import Release
from ..writers import file_sha256
from .files import FilesResult, Progress, release_files_write

logger = logging.getLogger(__name__)

BUILDING_PREFIX = ".building-"


class ClaimLost(Exception):
    """This build's claim was taken over (or the release published) by another delivery."""


def export_root() -> Path:
    return Path(settings.EXPORT_DIR)


def release_path(release: Release) -> Path:
    return export_root() / release.directory


def release_build(*, release: Release, progress: Progress | None = None) -> Release:
    """Build the release's files and publish them as the project's next version.

    Idempotent: a ready or failed release is returned as is, and so is one that another
    delivery is building (status still 'building': the caller may come back later, when a
    dead build's claim has gone stale). Raises on failure after marking the release failed.
    """
    claim = _claim(release)
    release.refresh_from_db()
    if claim is None:
        return release
    token, previous = claim

    started = time.monotonic()
    project = release.project
    root = export_root() / project.slug
    root.mkdir(parents=True, exist_ok=True)
    if previous is not None:
        # The stale claim's worker is presumed dead; its directory is garbage. (Claims from
        # before tokens existed used random suffixes: all of this release's are garbage then.)
        pattern = _tmp_name(release, previous) if previous else f"{BUILDING_PREFIX}{release.pk}-*"
        for stale in root.glob(pattern):
            _remove(stale)
    tmp = root / _tmp_name(release, token)
    tmp.mkdir()
    try:
        result = release_files_write(
            directory=tmp,
            project=project,
            run=release.run,
            seed=release.seed,
            test_fraction=release.test_fraction,
            holdout_domains=release.holdout_domains,
            scorers=release.scorers,
            progress=progress,
        )
        _publish(release=release, token=token, tmp=tmp, root=root, result=result, started=started)
    except ClaimLost:
        _remove(tmp)
        logger.warning(
            "release %s: another delivery took over the build; this one's files are discarded",
            release.pk,
        )
    except BaseException as exc:
        _remove(tmp)
        Release.objects.filter(
            pk=release.pk, status=Release.Status.BUILDING, build_token=token
        ).update(
            status=Release.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:4000],
            finished_at=timezone.now(),
        )
        release.refresh_from_db()
        raise
    release.refresh_from_db()
    return release


def _tmp_name(release: Release, token: str) -> str:
    return f"{BUILDING_PREFIX}{release.pk}-{token}"


def _claim(release: Release) -> tuple[str, str | None] | None:
    """(this build's token, the stale claim's token it took over or None), or None when the
    release is not this delivery's to build."""
    token = uuid.uuid4().hex
    now = timezone.now()
    if Release.objects.filter(pk=release.pk, status=Release.Status.PENDING).update(
        status=Release.Status.BUILDING, build_token=token, build_claimed_at=now, error=""
    ):
        return token, None
    stale_before = now - timedelta(seconds=settings.RELEASE_BUILD_STALE_SECONDS)
    previous = (
        Release.objects.filter(pk=release.pk, status=Release.Status.BUILDING)
        .filter(Q(build_claimed_at__lt=stale_before) | Q(build_claimed_at__isnull=True))
        .values_list("build_token", flat=True)
        .first()
    )
    if previous is None:
        return None
    if Release.objects.filter(
        pk=release.pk, status=Release.Status.BUILDING, build_token=previous
    ).update(build_token=token, build_claimed_at=now):
        logger.warning("release %s: took over a stale build claim", release.pk)
        return token, previous
    return None


def _publish(
    *, release: Release, token: str, tmp: Path, root: Path, result: FilesResult, started: float
) -> None:
    _make_read_only(tmp)
    final: Path | None = None
    try:
        with transaction.atomic():
            # Serializes publishers of one project: the version number and the directory
            # name are taken together.
            Project.objects.select_for_update().filter(pk=release.project_id).first()
            db_max = (
                Release.objects.filter(project_id=release.project_id).aggregate(m=Max("version"))[
                    "m"
                ]
                or 0
            )
            # A directory with no row (a crash between rename and commit) keeps its number.
            disk_max = max(
                (
                    int(p.name[1:])
                    for p in root.iterdir()
                    if p.name[:1] == "v" and p.name[1:].isdigit()
                ),
                default=0,
            )
            version = max(db_max, disk_max) + 1
            published = Release.objects.filter(
                pk=release.pk, status=Release.Status.BUILDING, build_token=token
            ).update(
                status=Release.Status.READY,
                version=version,
                directory=f"{release.project.slug}/v{version}",
                files=result.files,
                counts=result.counts,
                finished_at=timezone.now(),
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            if not published:
                raise ClaimLost
            os.rename(tmp, root / f"v{version}")
            final = root / f"v{version}"
    except BaseException:
        if final is not None and final.exists():  # the commit failed after the rename
            os.rename(final, tmp)
        raise


def _remove(directory: Path) -> None:
    if directory.exists():
        directory.chmod(stat.S_IRWXU)
        shutil.rmtree(directory, ignore_errors=True)


def _make_read_only(directory: Path) -> None:
    """Published files are immutable: read-only files in a read-only directory."""
    for path in directory.iterdir():
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    directory.chmod(
        stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    )


def release_verify(*, release: Release) -> list[str]:
    """Files of a published release whose bytes no longer match their recorded sha256."""
    directory = release_path(release)
    bad = []
    for name, meta in sorted(release.files.items()):
        path = directory / name
        if not path.is_file() or file_sha256(path) != meta["sha256"]:
            bad.append(name)
    return bad
