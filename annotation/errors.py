"""Errors a user can cause. Views and the API map them to 400/409 with the message as is."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """A problem the user can fix; ``str(error)`` is written for that person."""

    status_code = 400


class ConflictError(DomainError):
    """The request is valid but clashes with the current state (a stale lease, a taken slot)."""

    status_code = 409


@dataclass(frozen=True)
class Problem:
    """One problem in an input file: where it is, which field, and what to do about it."""

    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return f"{where}, field '{self.field}': {self.message}"


class ValidationProblems(DomainError):
    """Every problem found in one input; nothing was written."""

    def __init__(self, problems: list[Problem], *, what: str = "input"):
        # By line, as a person fixes a file top to bottom; problems of the whole file first.
        problems = sorted(problems, key=lambda p: (p.line is not None, p.line or 0))
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"{what} rejected, nothing was written ({len(problems)} {noun}):\n{shown}{more}"
        )
