"""The web app never imports the heavy model libraries (DESIGN 6.1): only a backend that
loads a model does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "sentence_transformers", "vllm")

PROBE = """
import importlib, pkgutil, sys
import django
django.setup()
import config.urls, config.api_urls, config.celery
for app in ("annotation", "scoring", "exports"):
    package = importlib.import_module(app)
    for info in pkgutil.walk_packages(package.__path__, app + "."):
        if ".migrations" in info.name or ".tests" in info.name:
            continue
        importlib.import_module(info.name)
from django.core.management import get_commands, load_command_class
for name, app in get_commands().items():
    if app in ("annotation", "scoring", "exports"):
        load_command_class(app, name)
print(" ".join(sorted(m for m in {HEAVY!r} if m in sys.modules)) or "none")
""".replace("{HEAVY!r}", repr(HEAVY))


def test_the_web_app_and_every_app_module_import_without_torch():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "test-only-secret-key-not-for-production"),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "none"
