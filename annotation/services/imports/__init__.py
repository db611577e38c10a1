"""Imports of prompts/responses and of existing judgments (DESIGN 4.4).

Every import is all or nothing: the whole file is parsed and checked first, every problem is
collected with its line number and field, and only a clean file is written, in one
transaction. Re-importing the same file changes nothing: rows that already exist with the
same content are counted as unchanged; rows that exist with different content are problems
(stored work is never overwritten).

Imports keep the task table exact in the same transaction (tasks are derived data, so they
commit or roll back with what they are derived from): ``tasks_sync`` makes imported items
claimable the moment they commit, and imported judgments count toward quorum.

The steps, one module each: ``reading`` (the file, line by line, and the checks every value
passes), ``item_parsing``, ``items`` and ``item_writing``, ``judgment_parsing`` and
``judgments``, ``result`` (what an import reports and the batch row it writes), and ``jobs``
(big files, imported by a worker).
"""

from .items import items_import
from .jobs import (
    import_job_run,
    import_job_start,
    import_job_summary,
    import_runs_in_background,
)
from .judgments import judgments_import
from .reading import ImportTooLarge, too_large_message
from .result import ImportResult, OnDuplicate, Progress

__all__ = [
    "ImportResult",
    "ImportTooLarge",
    "OnDuplicate",
    "Progress",
    "import_job_run",
    "import_job_start",
    "import_job_summary",
    "import_runs_in_background",
    "items_import",
    "judgments_import",
    "too_large_message",
]
