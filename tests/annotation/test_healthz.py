import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["broker"] == {"ok": True, "mode": "redis"}


def test_healthz_answers_503_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


def _settings_import(env: dict) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "TRENCHCOAT_PSEUDONYM_SALT"}
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()",
        ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


def test_it_refuses_to_start_in_production_with_the_placeholder_secret():
    result = _settings_import({})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_starts_with_a_secret_and_rejects_a_malformed_boolean():
    assert (
        _settings_import({"SECRET_KEY": "s" * 50, "TRENCHCOAT_PSEUDONYM_SALT": "x"}).returncode == 0
    )
    bad = _settings_import(
        {"SECRET_KEY": "s" * 50, "TRENCHCOAT_PSEUDONYM_SALT": "x", "DEBUG": "maybe"}
    )
    assert "DEBUG='maybe' is not a boolean" in bad.stderr


def test_it_refuses_to_start_in_production_without_a_pseudonym_salt():
    result = _settings_import({"SECRET_KEY": "s" * 50})
    assert "TRENCHCOAT_PSEUDONYM_SALT is not set" in result.stderr
