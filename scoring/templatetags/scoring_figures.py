"""Template filters for meta-evaluation figures: an ``Estimate.as_dict()`` as a value with its
95% CI, or "undefined" with the reason in a tooltip."""

from __future__ import annotations

import json
import math

from django import template
from django.utils.html import format_html

register = template.Library()


def _number(x, digits: int) -> str | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return f"{x:.{digits}f}" if math.isfinite(x) else None


@register.filter
def est(estimate, digits: int = 3):
    """``0.712 [0.681, 0.744]``; undefined: "undefined" with the reason as its title; a
    figure that was not computed: a dash."""
    if not isinstance(estimate, dict):
        return format_html('<span class="muted">{}</span>', "–")
    value = _number(estimate.get("value"), digits)
    if value is None:
        return format_html(
            '<span class="muted undefined" title="{}">undefined</span>',
            estimate.get("reason") or "undefined",
        )
    low, high = _number(estimate.get("ci_low"), digits), _number(estimate.get("ci_high"), digits)
    if low is None or high is None:
        return format_html('<span class="figure">{}</span>', value)
    return format_html(
        '<span class="figure">{}</span> <span class="ci">[{}, {}]</span>', value, low, high
    )


@register.filter
def as_json(value) -> str:
    """A config or count value as JSON (null, true, lists), not as Python writes it."""
    return json.dumps(value, sort_keys=True, default=str)


@register.filter
def number(x, digits: int = 3) -> str:
    """A float with ``digits`` decimals, or a dash."""
    text = _number(x, digits)
    return "–" if text is None else text
