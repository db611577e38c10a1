"""Waiting on a condition that another thread or process brings about (a Celery worker, a
server starting): the condition is checked until it holds, with a deadline that only a hang
reaches. No test sleeps a fixed time and then asserts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], what: str, *, timeout: float = 60.0) -> T:
    """The first truthy value of ``condition()``; AssertionError naming ``what`` if none
    comes before ``timeout`` seconds. Exceptions from ``condition`` propagate."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not so after {timeout} s")
        time.sleep(0.05)  # the polling interval, not a wait standing in for the condition
