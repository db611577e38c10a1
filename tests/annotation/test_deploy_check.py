"""`manage.py check --deploy` under production settings: clean but for documented warnings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each warning left on purpose, and why (README, "Production", says the same).
ALLOWED_WARNINGS = {
    # TLS ends at the reverse proxy, which redirects HTTP to HTTPS; the container's health
    # check and in-network callers speak plain HTTP to gunicorn. SECURE_SSL_REDIRECT=1 turns
    # Django's own redirect on where no proxy does it.
    "security.W008",
    # HSTS preload is a request to browser vendors covering the whole registrable domain:
    # the domain's owner decides it, not this app (SECURE_HSTS_PRELOAD=1 opts in).
    "security.W021",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    production = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SECURE_", "DEBUG", "ALLOWED_HOSTS", "TRENCHCOAT_LOGIN"))
        # The browser tests set it in this process (Playwright's sync API runs an event loop);
        # a production server never has it.
        and name != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    production.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        TRENCHCOAT_PSEUDONYM_SALT=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="trenchcoat.example.org",
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=production,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_only_the_documented_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "ERROR")

    assert result.returncode == 0, result.stderr
    reported = set(re.findall(r"\(([a-z_]+\.[EW]\d+)\)", result.stdout + result.stderr))
    assert reported == ALLOWED_WARNINGS


def test_check_deploy_flags_insecure_cookies_when_they_are_turned_off():
    # The test above would pass vacuously if the check never ran: turning a default off shows up.
    result = run_manage("check", "--deploy", SECURE_COOKIES="0", SECURE_HSTS_SECONDS="0")

    reported = set(re.findall(r"\(([a-z_]+\.[EW]\d+)\)", result.stdout + result.stderr))
    assert {"security.W004", "security.W012", "security.W016"} <= reported


def test_a_login_failure_limit_below_one_is_refused_at_start_up():
    result = run_manage("check", TRENCHCOAT_LOGIN_FAILURE_LIMIT="0")

    assert result.returncode != 0
    assert "TRENCHCOAT_LOGIN_FAILURE_LIMIT and TRENCHCOAT_LOGIN_COOLOFF_MINUTES" in result.stderr
