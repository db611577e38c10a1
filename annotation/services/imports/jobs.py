"""Background imports: a big upload is kept on disk, recorded as a queued ImportBatch and
imported by a worker (``annotation.tasks.import_run``), which reports its progress on that
row for the status endpoint and the upload page to show.

The job is idempotent: a redelivered task finds the batch done or failed and does nothing,
and two deliveries running at once cannot both write, because the rows and the DONE status
commit together under a lock on the batch row (``result.batch_open``). A job that fails
records its problems on the batch. The kept file is deleted once the job has finished.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import OperationalError, transaction
from django.utils import timezone

from ...errors import DomainError, ValidationProblems
from ...models import ImportBatch, Project
from ...side_effects import QUEUE_UNREACHABLE, task_enqueue_safely
from .items import items_import
from .judgments import judgments_import
from .reading import check_size, storable_filename
from .result import JobTaken, Progress

logger = logging.getLogger(__name__)

ACTIVE = (ImportBatch.Status.QUEUED, ImportBatch.Status.CHECKING, ImportBatch.Status.WRITING)


def import_dir() -> Path:
    path = Path(settings.IMPORT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def count_lines(chunks: Iterable[bytes]) -> int:
    """Lines in a file read in chunks (a last line without a newline counts)."""
    lines, last = 0, b"\n"
    for chunk in chunks:
        lines += chunk.count(b"\n")
        last = chunk[-1:] or last
    return lines + (last != b"\n")


def import_runs_in_background(upload: UploadedFile) -> bool:
    """Whether the upload has more lines than one request should import."""
    return count_lines(upload.chunks()) > settings.IMPORT_BACKGROUND_LINES


def import_job_start(
    *,
    project: Project,
    kind: str,
    upload: UploadedFile,
    user,
    on_duplicate: str = "reject",
) -> ImportBatch:
    """Keeps the upload in ``settings.IMPORT_DIR``, records the queued job and queues it
    once committed. If the queue cannot be reached the job is marked failed at once."""
    check_size(upload.size, upload.name)
    # The format is read from the batch's filename; the kept file's name is ours.
    name = f"{uuid.uuid4().hex}.upload"
    destination = import_dir() / name
    if hasattr(upload, "temporary_file_path"):
        # Already on disk (Django streamed it there): a rename when on the same device.
        shutil.move(upload.temporary_file_path(), destination)
    else:
        with open(destination, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    batch = ImportBatch.objects.create(
        project=project,
        kind=kind,
        filename=storable_filename(upload.name),
        created_by=user if getattr(user, "is_authenticated", False) else None,
        status=ImportBatch.Status.QUEUED,
        options={"on_duplicate": on_duplicate} if kind == ImportBatch.Kind.ITEMS else {},
        lines_total=_lines_in(destination),
        file_name=name,
        counts={},
    )
    transaction.on_commit(partial(_enqueue, batch.pk, project.pk))
    return batch


def _lines_in(path: Path) -> int:
    with open(path, "rb") as stream:
        return count_lines(iter(partial(stream.read, 1 << 20), b""))


def _enqueue(batch_id: int, project_id: int) -> None:
    from ...tasks import import_run

    if not task_enqueue_safely(import_run, batch_id, project_id=project_id):
        import_job_fail(
            batch_id=batch_id,
            error=f"The import could not be queued ({QUEUE_UNREACHABLE}); nothing was "
            "written. Upload the file again in a minute.",
        )


def import_job_run(*, batch_id: int) -> dict[str, Any]:
    """Runs a queued import; returns a small summary. A database outage propagates (the
    task retries it, and the file is kept for the retry); any other failure is recorded on
    the batch."""
    claimed = ImportBatch.objects.filter(pk=batch_id, status__in=ACTIVE).update(
        status=ImportBatch.Status.CHECKING, lines_checked=0
    )
    batch = ImportBatch.objects.select_related("project", "created_by").filter(pk=batch_id).first()
    if batch is None:
        logger.warning("import_run: import %s does not exist; nothing to do", batch_id)
        return {"batch_id": batch_id, "status": "missing"}
    if not claimed:
        logger.info("import_run: import %s is already %s; nothing to do", batch_id, batch.status)
        return {"batch_id": batch_id, "status": batch.status}
    path = import_dir() / batch.file_name
    progress = Progress(
        checked=partial(_checked, batch_id),
        writing=lambda counts: _set_status(batch_id, ImportBatch.Status.WRITING),
    )
    try:
        if batch.kind == ImportBatch.Kind.ITEMS:
            items_import(
                project=batch.project,
                source=path,
                filename=batch.filename,
                user=batch.created_by,
                on_duplicate=batch.options.get("on_duplicate", "reject"),
                progress=progress,
                job=batch,
            )
        else:
            judgments_import(
                project=batch.project,
                source=path,
                filename=batch.filename,
                user=batch.created_by,
                progress=progress,
                job=batch,
            )
    except JobTaken:
        logger.info("import_run: import %s was finished by another delivery", batch_id)
    except OperationalError:
        raise
    except ValidationProblems as exc:
        import_job_fail(
            batch_id=batch_id, error=str(exc).splitlines()[0].rstrip(":"), problems=exc.problems
        )
    except DomainError as exc:
        import_job_fail(batch_id=batch_id, error=str(exc))
    except FileNotFoundError:
        import_job_fail(
            batch_id=batch_id, error="The uploaded file is no longer there; upload it again."
        )
    except Exception:
        logger.exception("import_run: import %s failed", batch_id)
        import_job_fail(
            batch_id=batch_id,
            error="The import failed unexpectedly and nothing was written; the error is in "
            "the worker's log.",
        )
        raise
    batch.refresh_from_db()
    if batch.is_finished:
        _delete_file(batch_id)
    return {"batch_id": batch_id, "status": batch.status, "counts": batch.counts}


def import_job_fail(*, batch_id: int, error: str, problems=()) -> None:
    """Records why the job failed (if it is still running) and deletes its file."""
    ImportBatch.objects.filter(pk=batch_id, status__in=ACTIVE).update(
        status=ImportBatch.Status.FAILED,
        error=error,
        problems=[{"line": p.line, "field": p.field, "message": p.message} for p in problems],
        finished_at=timezone.now(),
    )
    _delete_file(batch_id)


def _checked(batch_id: int, lines: int) -> None:
    ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.CHECKING).update(
        lines_checked=lines
    )


def _set_status(batch_id: int, status: str) -> None:
    ImportBatch.objects.filter(pk=batch_id, status__in=ACTIVE).update(status=status)


def _delete_file(batch_id: int) -> None:
    name = ImportBatch.objects.filter(pk=batch_id).values_list("file_name", flat=True).first()
    if name:
        (import_dir() / name).unlink(missing_ok=True)
        ImportBatch.objects.filter(pk=batch_id).update(file_name="")


def import_job_summary(batch: ImportBatch) -> dict[str, Any]:
    """What the status endpoint and the upload page show of an import."""
    summary: dict[str, Any] = {
        "id": batch.pk,
        "kind": batch.kind,
        "filename": batch.filename,
        "status": batch.status,
        "progress": {"lines_checked": batch.lines_checked, "lines_total": batch.lines_total},
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
        "error": batch.error,
        # By line, as ValidationProblems lists them (jobs recorded before that was so, too).
        "problems": sorted(
            batch.problems or [], key=lambda p: (p.get("line") is not None, p.get("line") or 0)
        ),
        "result": batch.counts if batch.status == ImportBatch.Status.DONE else None,
    }
    return summary
