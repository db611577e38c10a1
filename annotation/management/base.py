"""Shared behaviour of Trenchcoat's management commands (DESIGN 8).

Each command takes ``--json`` (one JSON document on stdout), shows progress on stderr, and
on failure exits non-zero with a one-line reason (problems of an input file follow it, one
per line).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ..errors import DomainError, ValidationProblems
from ..models import Project


class TrenchcoatCommand(BaseCommand):
    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="print one machine-readable JSON document on stdout"
        )

    def render(self, result: dict[str, Any]) -> None:
        """Human-readable output; the default prints the result's keys."""
        for key, value in result.items():
            self.stdout.write(f"{key}: {value}")

    def handle(self, *args: Any, **options: Any) -> None:
        """Calls ``self.run(**options) -> dict`` and prints its result."""
        as_json = options.get("json", False)
        try:
            result = self.run(**options)
        except DomainError as exc:
            lines = str(exc).splitlines()
            if as_json:
                body: dict[str, Any] = {"ok": False, "error": lines[0]}
                if isinstance(exc, ValidationProblems):
                    body["problems"] = [
                        {"line": p.line, "field": p.field, "message": p.message}
                        for p in exc.problems
                    ]
                self.stdout.write(json.dumps(body, indent=2))
            for line in lines[1:]:
                self.stderr.write(line)
            raise CommandError(lines[0]) from None
        if as_json:
            self.stdout.write(json.dumps({"ok": True, **result}, indent=2, default=str))
        else:
            self.render(result)

    @staticmethod
    def project(slug: str) -> Project:
        try:
            return Project.objects.get(slug=slug)
        except Project.DoesNotExist:
            raise CommandError(
                f"no project '{slug}'; create it with project_apply FILE.json"
            ) from None

    @staticmethod
    def existing_file(path: str) -> Path:
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        return file

    def progress_bar(self, options: dict[str, Any], unit: str) -> tqdm:
        """A progress bar on stderr when it is a terminal; none with --json."""
        return tqdm(
            desc=f"writing {unit}",
            unit=f" {unit}",
            disable=options["json"] or None,
            file=self.stderr._out,
        )
