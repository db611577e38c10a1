"""docker-compose.yml and the Dockerfile, checked against the settings module and the README.

Where docker compose is installed, `docker compose config` must accept the file too (the
`compose` fixture runs it); everywhere, the file is read as YAML (anchors and merge keys
resolved as compose resolves them) and each service is checked against what
`config/settings.py` needs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection

from tests.annotation.test_deploy_check import ALLOWED_WARNINGS
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
# The entry points that import config.settings.
APP_COMMANDS = ("gunicorn", "celery", "python")


def env_example() -> dict[str, str]:
    """.env.example as compose's env_file reads it, every value an operator must fill in
    filled with a stand-in."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            # Long and varied, as `check --deploy` wants a SECRET_KEY to be.
            stand_in = hashlib.sha256(key.strip().encode()).hexdigest()
            values[key.strip()] = value.strip() or stand_in
    return values


def interpolate(value, env: dict[str, str]):
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} substitution."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise AssertionError(f"{name} must be set: {arg} (.env.example lacks it)")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def docker_compose_available() -> bool:
    if not shutil.which("docker"):
        return False
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    return version.returncode == 0


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict:
    env = env_example()
    if docker_compose_available():
        # The file as an operator runs it: beside a .env made from .env.example.
        here = tmp_path_factory.mktemp("compose")
        shutil.copy(ROOT / "docker-compose.yml", here / "docker-compose.yml")
        (here / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        result = subprocess.run(
            ["docker", "compose", "config", "--quiet"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return interpolate(raw, env)


def app_services(compose: dict) -> dict[str, dict]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("command") and service["command"][0] in APP_COMMANDS
    }


def service_env(service: dict) -> dict[str, str]:
    """The environment compose gives a service: its env_file, then `environment` over it."""
    env: dict[str, str] = {}
    if service.get("env_file"):
        assert service["env_file"] == ".env"
        env.update(env_example())
    env.update({k: str(v) for k, v in (service.get("environment") or {}).items()})
    return env


def celery_option(command: list[str], *names: str) -> str | None:
    for i, word in enumerate(command):
        if word in names:
            return command[i + 1]
    return None


def mounts(service: dict) -> dict[str, str]:
    """{container path: source} of a service's volumes."""
    result = {}
    for volume in service.get("volumes") or []:
        source, target = volume.split(":")[:2]
        result[target] = source
    return result


def production_settings(env: dict[str, str]) -> dict:
    """The settings module imported with nothing but ``env`` (as in the container)."""
    code = (
        "import json, os\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'\n"
        "from django.conf import settings as s\n"
        "db = s.DATABASES['default']\n"
        "print(json.dumps({'DEBUG': s.DEBUG, 'ENGINE': db['ENGINE'], 'HOST': db['HOST'],\n"
        "  'NAME': db['NAME'], 'USER': db['USER'], 'PASSWORD': db['PASSWORD'],\n"
        "  'BROKER': s.CELERY_BROKER_URL, 'EAGER': s.CELERY_TASK_ALWAYS_EAGER,\n"
        "  'CACHE': s.CACHES['default']['BACKEND'], 'ALLOWED_HOSTS': s.ALLOWED_HOSTS,\n"
        "  'EXPORT_DIR': str(s.EXPORT_DIR), 'IMPORT_DIR': str(s.IMPORT_DIR)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_runs_every_service_production_needs(compose):
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat", "scoring"} <= set(services)
    assert services["scoring"]["profiles"] == ["gpu"]
    for name, service in app_services(compose).items():
        depends = service.get("depends_on") or {}
        if name != "migrate":
            assert depends["migrate"] == {"condition": "service_completed_successfully"}, name


def test_every_celery_queue_the_settings_route_to_has_a_worker_and_no_other(compose):
    routed = {settings.CELERY_TASK_DEFAULT_QUEUE} | {
        route["queue"] for route in settings.CELERY_TASK_ROUTES.values()
    }
    workers = {
        name: service["command"]
        for name, service in app_services(compose).items()
        if service["command"][:4] == ["celery", "-A", "config", "worker"]
    }
    consumed = {
        name: set(celery_option(command, "-Q", "--queues").split(","))
        for name, command in workers.items()
    }
    assert set().union(*consumed.values()) == routed
    # The GPU worker alone takes scoring chunks, one at a time (DESIGN 2).
    assert consumed["scoring"] == {"scoring"}
    assert celery_option(workers["scoring"], "--concurrency", "-c") == "1"
    assert celery_option(workers["scoring"], "--prefetch-multiplier") == "1"
    assert all("scoring" not in queues for name, queues in consumed.items() if name != "scoring")


def test_exactly_one_beat_runs_the_periodic_jobs(compose):
    assert settings.CELERY_BEAT_SCHEDULE
    beats = [
        name
        for name, service in app_services(compose).items()
        if service["command"][:4] == ["celery", "-A", "config", "beat"]
    ]
    assert beats == ["beat"]
    assert "deploy" not in compose["services"]["beat"]  # no replicas


def test_each_app_service_starts_on_postgres_and_redis_from_its_own_environment(compose):
    postgres = compose["services"]["postgres"]["environment"]
    for name, service in app_services(compose).items():
        loaded = production_settings(service_env(service))
        assert loaded["DEBUG"] is False, name
        assert loaded["ENGINE"] == "django.db.backends.postgresql", name
        assert loaded["HOST"] == "postgres", name
        assert (loaded["NAME"], loaded["USER"], loaded["PASSWORD"]) == (
            postgres["POSTGRES_DB"],
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
        ), name
        assert loaded["BROKER"].startswith("redis://redis:6379/"), name
        assert loaded["EAGER"] is False, name
        assert loaded["CACHE"] == "django.core.cache.backends.redis.RedisCache", name
        if name == "web":
            assert loaded["ALLOWED_HOSTS"], "web answers no host without ALLOWED_HOSTS"


def test_data_lives_in_named_volumes_and_web_and_worker_share_the_file_directories(compose):
    for name in ("web", "worker"):
        service = compose["services"][name]
        loaded = production_settings(service_env(service))
        volumes = mounts(service)
        # Releases are written by the worker and served by web; uploads go the other way.
        assert volumes[loaded["EXPORT_DIR"]] == "releases", name
        assert volumes[loaded["IMPORT_DIR"]] == "imports", name
    # The postgres image keeps its cluster here (PGDATA); outside a volume it would die with
    # the container.
    assert mounts(compose["services"]["postgres"])["/var/lib/postgresql/data"] == "pgdata"
    named = {
        source
        for service in compose["services"].values()
        for source in mounts(service).values()
        if "/" not in source  # a bind mount (./models) is a path
    }
    assert named == set(compose["volumes"])


def test_check_deploy_reports_only_the_documented_warnings_in_the_web_service(compose):
    """The same check as tests/annotation/test_deploy_check.py, in the environment compose
    gives the web service (.env.example filled in)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **service_env(compose["services"]["web"])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    reported = set(re.findall(r"\(([a-z_]+\.[EW]\d+)\)", result.stdout + result.stderr))
    assert reported == ALLOWED_WARNINGS, result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_the_web_health_check_passes_against_gunicorn_with_the_production_hosts(compose):
    """The container's health check calls gunicorn on 127.0.0.1, which ALLOWED_HOSTS does
    not list: it must name an allowed host, or Django answers 400 and the container is
    marked unhealthy."""
    web = compose["services"]["web"]
    port = free_port()
    database = connection.settings_dict
    env = {
        **service_env(web),
        "PATH": os.environ["PATH"],
        # This test's throwaway servers stand in for the postgres and redis services.
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
            f"{database['PORT']}/{database['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
    }
    command = list(web["command"])
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = "1"
    server = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def answering() -> bool:
            assert server.poll() is None, server.stderr.read().decode()
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        wait_until(answering, "gunicorn listening")
        with pytest.raises(urllib.error.HTTPError) as plain:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert plain.value.code == 400  # why the check must send an allowed Host

        kind, *check = web["healthcheck"]["test"]
        assert kind == "CMD" and check[:2] == ["python", "-c"]
        code = check[2]
        assert code.count("127.0.0.1:8000") == 1
        result = subprocess.run(
            [sys.executable, "-c", code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)


def dockerfile_stages() -> dict[str, dict]:
    """{stage name: {"cmd": [...] or None, "entrypoint": [...] or None, "text": ...}}; a stage
    without its own CMD inherits its base stage's."""
    stages: dict[str, dict] = {}
    current = None
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        from_line = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, re.IGNORECASE)
        if from_line:
            base, current = from_line.groups()
            inherited = stages.get(base, {"cmd": None, "entrypoint": None})
            stages[current] = {**inherited, "text": ""}
            continue
        if current is None:  # comments before the first FROM
            continue
        stages[current]["text"] += line + "\n"
        for instruction in ("CMD", "ENTRYPOINT"):
            if line.startswith(instruction + " "):
                # Exec (JSON) form: gunicorn and celery run as PID 1 and get the SIGTERM of
                # `docker stop` themselves, not through a shell that would drop it.
                stages[current][instruction.lower()] = json.loads(line[len(instruction) + 1 :])
    return stages


def readme_production_commands() -> dict[str, list[str]]:
    """The commands README's "Production" section shows, by program and subcommand."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Production\n", 1)[1].split("\n## ", 1)[0]
    commands = {}
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] in ("gunicorn", "celery"):
                key = "gunicorn" if words[0] == "gunicorn" else f"celery {words[3]}"
                if key == "celery worker" and "scoring" in words:
                    key = "celery worker scoring"
                commands[key] = words
    return commands


def test_the_image_starts_the_commands_the_readme_shows(compose):
    stages = dockerfile_stages()
    readme = readme_production_commands()
    services = compose["services"]
    assert stages["app"]["entrypoint"] is None and stages["scoring"]["entrypoint"] is None
    assert stages["app"]["cmd"] == readme["gunicorn"] == services["web"]["command"]
    assert (
        stages["scoring"]["cmd"]
        == readme["celery worker scoring"]
        == services["scoring"]["command"]
    )
    assert readme["celery worker"] == services["worker"]["command"]
    assert readme["celery beat"] == services["beat"]["command"]


def test_the_image_has_the_pg_dump_of_the_compose_postgres_version(compose):
    """`manage.py backup` runs pg_dump in the app image: of the server's major version, as
    an older pg_dump refuses a newer server."""
    client = re.search(r"postgresql-client-(\d+)", dockerfile_stages()["app"]["text"])
    server = re.fullmatch(r"postgres:(\d+)(\.\d+)*", compose["services"]["postgres"]["image"])
    assert client and server and client.group(1) == server.group(1)
