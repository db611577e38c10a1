"""Shared start-up for benchmark scripts: Django on the DATABASE_URL, migrated."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not os.environ.get("DATABASE_URL"):
        sys.exit("set DATABASE_URL to a PostgreSQL database (make bench starts a throwaway one)")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
