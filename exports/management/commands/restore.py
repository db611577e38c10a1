"""manage.py restore DIRECTORY [--json]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotation.management.base import TrenchcoatCommand
from exports.services.backups import backup_restore


class Command(TrenchcoatCommand):
    help = (
        "Restore a backup made by manage.py backup into an EMPTY database (DATABASE_URL) and "
        "an empty releases directory (TRENCHCOAT_EXPORT_DIR). Checks the backup's sha256 "
        "first; the database is restored in one transaction. Then run manage.py migrate."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument("directory", help="a directory written by manage.py backup")

    def run(self, **options: Any) -> dict[str, Any]:
        return backup_restore(directory=Path(options["directory"]))

    def render(self, result: dict[str, Any]) -> None:
        self.stdout.write(
            f"restored the backup of {result['backup_created_at']} (code "
            f"{result['backup_code_version']}) into database {result['database']} and "
            f"{result['releases_directory']} ({result['release_files']} release files)"
        )
        self.stdout.write("next: python manage.py migrate (a no-op unless this code is newer)")
