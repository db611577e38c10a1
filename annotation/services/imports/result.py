"""What an import reports back: its result, and the progress callbacks it calls as it goes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils import timezone

from ...models import ImportBatch

OnDuplicate = Literal["reject", "merge", "keep"]

# Past this many problems an import stops reading: the person has enough to fix.
MAX_PROBLEMS = 1000


@dataclass
class ImportResult:
    batch: ImportBatch | None
    created: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    merged: dict[str, int] = field(default_factory=dict)
    near_duplicate_clusters: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch.pk if self.batch else None,
            "created": self.created,
            "unchanged": self.unchanged,
            "merged": self.merged,
            "near_duplicate_clusters": self.near_duplicate_clusters,
        }


@dataclass
class Progress:
    """Where an import reports as it goes; every callback is optional.

    ``checked(lines)``: lines read and checked so far (called every few hundred lines).
    ``writing(counts)``: the file is clean; these rows are about to be written.
    ``written(rows)``: this many more rows were written (inside the import's transaction).
    """

    checked: Callable[[int], None] | None = None
    writing: Callable[[dict[str, int]], None] | None = None
    written: Callable[[int], None] | None = None

    @classmethod
    def of(cls, progress: Progress | Callable[[int], None] | None) -> Progress:
        """A bare callable (a progress bar's ``update``) counts rows written."""
        if isinstance(progress, Progress):
            return progress
        return cls(written=progress)

    def report_checked(self, lines: int) -> None:
        if self.checked:
            self.checked(lines)

    def report_writing(self, counts: dict[str, int]) -> None:
        if self.writing:
            self.writing(counts)

    def report_written(self, rows: int) -> None:
        if self.written and rows:
            self.written(rows)


class JobTaken(Exception):
    """Another delivery of the same background import finished it first; write nothing."""


def batch_open(
    *,
    project,
    kind: str,
    filename: str,
    sha256: str,
    user,
    job: ImportBatch | None,
    options: dict[str, Any] | None = None,
) -> ImportBatch:
    """The batch row the import's rows point to, inside the import's transaction.

    Without a job, a new row. With one (a background import), the job's own row, locked
    until COMMIT: a second delivery of the same job waits here, then finds it finished and
    writes nothing (the rows and the DONE status commit together).
    """
    if job is None:
        return ImportBatch.objects.create(
            project=project,
            kind=kind,
            filename=filename,
            sha256=sha256,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            counts={},
            options=options or {},
        )
    batch = ImportBatch.objects.select_for_update().get(pk=job.pk)
    if batch.is_finished:
        raise JobTaken(batch.pk)
    batch.sha256 = sha256
    return batch


def batch_close(batch: ImportBatch, counts: dict[str, Any]) -> None:
    batch.counts = counts
    batch.status = ImportBatch.Status.DONE
    batch.finished_at = timezone.now()
    batch.save(update_fields=["counts", "sha256", "status", "finished_at"])
