"""A redis-server of a test's own, to stop and start for real, and the app pointed at it.

The binary is found on PATH, as bin/with-test-services finds it. ``broker_at`` points the
Celery app at another broker: the app reads its settings once, so the URL is set on its conf
and its cached connection and producer pools are dropped, on the way in and out.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from config.celery import app

from .waiting import wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path):
        self.binary = shutil.which("redis-server")
        assert self.binary, "the tests need redis-server on PATH (apt-get install redis-server)"
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, f"redis-server on port {self.port} answering", timeout=10)

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.ConnectionError:
            if self.process.poll() is not None:
                raise  # it exited: no use waiting
            return False

    def kill(self) -> None:
        """SIGKILL, as an outage would: nothing is saved (the server keeps no data anyway)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)

    def queued_tasks(self, queue: str) -> list[tuple[str, str]]:
        """(task name, argsrepr) of each message waiting in a Celery queue, oldest first."""
        out = []
        for raw in reversed(self.client().lrange(queue, 0, -1)):  # LPUSHed: oldest last
            headers = json.loads(raw)["headers"]
            out.append((headers["task"], headers["argsrepr"]))
        return out


def _drop_pools() -> None:
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Send tasks to ``url`` (not eagerly) until the block ends."""
    # The app reads Django settings under the CELERY_ namespace, so its keys carry the prefix.
    keys = ("CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(dict(zip(keys, (url, False), strict=True)))
    _drop_pools()
    try:
        yield
    finally:
        app.conf.update(saved)
        _drop_pools()


def cache_at(url: str) -> dict:
    """A CACHES setting for ``override_settings``/``settings`` pointing at ``url``."""
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
