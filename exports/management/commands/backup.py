"""manage.py backup DIRECTORY [--json]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotation.management.base import TrenchcoatCommand
from exports.services.backups import backup_create


class Command(TrenchcoatCommand):
    help = (
        "Back up the PostgreSQL database (pg_dump, custom format) and every published release "
        "file into DIRECTORY (new or empty): database.dump, releases.tar and backup.json with "
        "their sha256. Restore with manage.py restore DIRECTORY."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument("directory", help="where to write the backup (new or empty)")

    def run(self, **options: Any) -> dict[str, Any]:
        return backup_create(directory=Path(options["directory"]))

    def render(self, result: dict[str, Any]) -> None:
        database, releases = result["database"], result["releases"]
        self.stdout.write(f"backup written to {result['directory']}")
        self.stdout.write(
            f"  {database['sha256']}  {database['file']} ({database['bytes']} bytes, "
            f"database {database['name']})"
        )
        self.stdout.write(
            f"  {releases['sha256']}  {releases['file']} ({releases['bytes']} bytes, "
            f"{releases['files']} release files)"
        )
