"""Composition targets (DESIGN 4.5): the shares of response origins and of prompt sources a
project aims for, as ``{"human": 0.6, "model": 0.4}``. Empty means no target.

The validators run in ``full_clean``, so the admin and ``project_apply`` give the same
messages; each names the key or the sum to fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from django.core.exceptions import ValidationError

SHARE_TOLERANCE = 1e-6


def target_share_problems(value: object, allowed: Iterable[str], what: str) -> list[str]:
    """What is wrong with a targets object: a JSON object of known keys to shares in [0, 1]
    summing to 1, or empty (no target)."""
    allowed = list(allowed)
    if not isinstance(value, dict):
        return [
            f"must be a JSON object of {what} to share, e.g. "
            f'{{"{allowed[0]}": 0.6, "{allowed[-1]}": 0.4}}, or {{}} for no target'
        ]
    problems = []
    total = 0.0
    for key, share in value.items():
        if key not in allowed:
            problems.append(f"unknown {what} '{key}'; use {', '.join(allowed)}")
            continue
        if (
            not isinstance(share, int | float)
            or isinstance(share, bool)
            or not math.isfinite(share)
        ):
            problems.append(f"the share of '{key}' is {share!r}, not a number")
            continue
        if not 0.0 <= share <= 1.0:
            problems.append(f"the share of '{key}' is {share:g}; shares are between 0 and 1")
            continue
        total += share
    if not problems and value and abs(total - 1.0) > SHARE_TOLERANCE:
        listed = ", ".join(f"{k}={v:g}" for k, v in value.items())
        problems.append(f"shares must sum to 1, these sum to {total:.6g} ({listed})")
    return problems


def _check(value: object, allowed: Iterable[str], what: str) -> None:
    problems = target_share_problems(value, allowed, what)
    if problems:
        raise ValidationError("; ".join(problems))


def validate_origin_targets(value: object) -> None:
    from .items import Response  # items imports projects, which imports this module

    _check(value, Response.Origin.values, "origin")


def validate_source_targets(value: object) -> None:
    from .items import Prompt

    _check(value, Prompt.Source.values, "source")
