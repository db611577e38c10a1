"""Servers of a benchmark's own, on loopback in one temporary directory: a PostgreSQL
cluster (run as the `postgres` user when root, as bin/with-test-services does), Redis with its
append-only file (as docker-compose runs it), gunicorn and the two Celery workers of
docker-compose. Each can be stopped, killed and started again: benchmarks/faults.py does."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from annotate_load import free_port

ROOT = Path(__file__).resolve().parents[1]


class Servers:
    """PostgreSQL, Redis, gunicorn and two Celery workers, all on loopback, in one temp dir."""

    def __init__(self, work: Path, gunicorn_workers: int, env: dict[str, str]):
        """``env``: settings for every process started (on top of this one's environment)."""
        self.work = work
        self.gunicorn_workers = gunicorn_workers
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.pg_bin = _pg_bin()
        self.pgdata = work / "pgdata"
        self.pg_port, self.redis_port, self.web_port = free_port(), free_port(), free_port()
        self.redis: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg_port}/trenchcoat",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_COOKIES": "0",
            "LOG_LEVEL": "WARNING",
            **env,
        }

    def pg_start(self) -> None:
        self.pgdata.mkdir()
        if self.as_pg:
            shutil.chown(self.work, "postgres")
            shutil.chown(self.pgdata, "postgres")
        self._pg(
            "initdb", "-D", self.pgdata, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
            "--locale=C.UTF-8",
        )  # fmt: skip
        # Durability settings left at PostgreSQL's defaults (fsync, synchronous_commit on):
        # an acknowledged submission must survive the restart the way it would in production.
        options = (
            f"-p {self.pg_port} -k {self.work} -c listen_addresses=127.0.0.1 -c max_connections=100"
        )
        self._pg(
            "pg_ctl",
            "-D",
            self.pgdata,
            "-w",
            "-l",
            self.work / "postgres.log",
            "-o",
            options,
            "start",
        )
        self._pg("createdb", "-h", "127.0.0.1", "-p", self.pg_port, "-U", "postgres", "trenchcoat")

    def pg_restart(self) -> None:
        self._pg(
            "pg_ctl",
            "-D",
            self.pgdata,
            "-w",
            "-m",
            "fast",
            "-l",
            self.work / "postgres.log",
            "restart",
        )

    def pg_stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", self.pgdata, "-w", "-m", "immediate", "stop", check=False)

    def _pg(self, program: str, *args, check: bool = True) -> None:
        command = [*self.as_pg, str(Path(self.pg_bin) / program), *map(str, args)]
        done = subprocess.run(command, capture_output=True, text=True)
        if check and done.returncode:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")

    def redis_start(self) -> None:
        (self.work / "redis").mkdir(exist_ok=True)
        self.redis = subprocess.Popen(
            [
                "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                "--dir", str(self.work / "redis"), "--appendonly", "yes", "--save", "",
                "--logfile", str(self.work / "redis.log"),
            ]
        )  # fmt: skip
        wait_for(lambda: redis_client().ping(), what="redis")

    def redis_stop(self) -> None:
        if self.redis is not None:
            self.redis.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            self.redis.wait(timeout=30)
            self.redis = None

    def web_start(self) -> None:
        self.web = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "config.wsgi:application",
                "--bind", f"127.0.0.1:{self.web_port}", "--workers", str(self.gunicorn_workers),
                "--worker-class", "gthread", "--threads", "1", "--log-level", "warning",
                "--preload", "--timeout", "30",
            ],
            cwd=ROOT, env=self.env, stdout=self._log("gunicorn"), stderr=subprocess.STDOUT,
        )  # fmt: skip

        def healthy() -> bool:
            conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status in (200, 503)

        wait_for(healthy, what="gunicorn")

    def web_workers(self) -> list[int]:
        return children(self.web.pid)

    def worker_start(self, name: str) -> None:
        """`celery -A config worker` as docker-compose runs it; returns once it is ready."""
        queues = {
            "main": ["-Q", "default,aggregate,exports", "--concurrency", "2"],
            "scoring": ["-Q", "scoring", "--concurrency", "1", "--prefetch-multiplier", "1"],
        }[name]
        log = self.work / f"celery-{name}.log"
        offset = log.stat().st_size if log.exists() else 0
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", *queues, "-n", f"{name}@%h", "-l", "info"],
            cwd=ROOT, env=self.env, stdout=self._log(f"celery-{name}"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill takes the pool children too
        )  # fmt: skip

        def ready() -> bool:
            with open(log, "rb") as f:
                f.seek(offset)
                return b" ready." in f.read()

        wait_for(ready, what=f"celery worker {name}", timeout=120)

    def worker_kill(self, name: str) -> None:
        process = self.workers.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def _log(self, name: str):
        return open(self.work / f"{name}.log", "ab")

    def stop_all(self) -> None:
        for name in list(self.workers):
            with contextlib.suppress(ProcessLookupError):
                self.worker_kill(name)
        if self.web is not None:
            self.web.terminate()
            self.web.wait(timeout=30)
        self.redis_stop()
        self.pg_stop()


def _pg_bin() -> str:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return str(Path(found).resolve().parent)
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name or 0)
    )
    if not candidates:
        sys.exit("faults.py needs PostgreSQL and Redis: apt-get install postgresql redis-server")
    return str(candidates[-1])


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "R"


def wait_for(check, *, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def redis_client():
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=2)
