"""``scatter_chart``: two figures per labelled point (``XY``), such as annotator speed against
agreement, with an optional threshold line; a point can be drawn in the warning colour."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString

from .svg import (
    ACCENT,
    MUTED,
    WIDTH,
    _empty,
    _figure,
    _finite,
    _fmt,
    _join,
    _n,
    _nice_max,
    _table,
    _ticks,
    _x_gridline,
    _y_gridline,
)


@dataclass(frozen=True)
class XY:
    """One dot of a scatter: ``x`` and ``y`` None when undefined (the dot is left out of the
    drawing and listed as undefined in the table); ``warn`` draws it in the warning colour."""

    label: str
    x: float | None
    y: float | None
    warn: bool = False


WARN = "#b3261e"


def scatter_chart(
    points: Sequence[XY],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] = (0.0, 1.0),
    reference_y: float | None = None,
    caption: str = "",
    empty: str = "Nothing to draw yet.",
    digits: int = 2,
) -> SafeString:
    """Scatter plot: one dot per labelled point at (x, y), with a dashed horizontal line at
    ``reference_y`` (a threshold). ``x_range`` None: from 0 to the largest x rounded up to
    1, 2 or 5 times a power of ten (1 if none is positive). Values outside the axes are drawn at the edge. Points with an undefined
    coordinate are not drawn but keep their row in the hidden table; no point with both
    coordinates defined gives the empty state."""
    drawn = [p for p in points if _finite(p.x) is not None and _finite(p.y) is not None]
    if not drawn:
        return _empty(title, empty)
    if x_range is None:
        x_range = (0.0, _nice_max(max(float(p.x) for p in drawn)))
    (x_lo, x_hi), (y_lo, y_hi) = x_range, y_range
    if not x_hi > x_lo or not y_hi > y_lo:
        raise ValueError(f"scatter_chart needs increasing ranges, got {x_range} and {y_range}")
    left, right, top, bottom = 40.0, WIDTH - 12.0, 10.0, 210.0
    height = bottom + 36

    def x(v: float) -> float:
        return left + (right - left) * (min(max(v, x_lo), x_hi) - x_lo) / (x_hi - x_lo)

    def y(v: float) -> float:
        return bottom - (bottom - top) * (min(max(v, y_lo), y_hi) - y_lo) / (y_hi - y_lo)

    parts: list[SafeString] = []
    # 0 to 5: six ticks one apart; 0 to 1 or 2: five ticks a quarter of the way apart.
    x_ticks = 6 if round((x_hi - x_lo) / 10 ** math.floor(math.log10(x_hi - x_lo))) == 5 else 5
    for t in _ticks(x_lo, x_hi, x_ticks):
        parts.append(_x_gridline(x(t), top, bottom, f"{t:.3g}"))
    for t in _ticks(y_lo, y_hi):
        parts.append(_y_gridline(left, right, y(t), f"{t:.3g}"))
    if reference_y is not None:
        parts.append(
            format_html(
                '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}" stroke-width="1.5" '
                'stroke-dasharray="4 3"><title>{4}</title></line>',
                _n(left),
                _n(right),
                _n(y(reference_y)),
                WARN,
                f"threshold {reference_y:g}",
            )
        )
    parts.append(
        format_html(
            '<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>'
            '<text x="{}" y="{}" text-anchor="middle" fill="{}" transform="rotate(-90 {} {})">'
            "{}</text>",
            _n((left + right) / 2),
            _n(bottom + 30),
            MUTED,
            x_label,
            _n(10),
            _n((top + bottom) / 2),
            MUTED,
            _n(10),
            _n((top + bottom) / 2),
            y_label,
        )
    )
    for p in drawn:
        parts.append(
            format_html(
                '<circle cx="{}" cy="{}" r="5" fill="{}" fill-opacity="0.75">'
                "<title>{}: {} {}, {} {}</title></circle>",
                _n(x(float(p.x))),
                _n(y(float(p.y))),
                WARN if p.warn else ACCENT,
                p.label,
                x_label,
                _fmt(_finite(p.x), digits),
                y_label,
                _fmt(_finite(p.y), digits),
            )
        )
    table = _table(
        title,
        ["", x_label, y_label],
        ((p.label, _fmt(_finite(p.x), digits), _fmt(_finite(p.y), digits)) for p in points),
    )
    return _figure(title, caption, height, _join(parts), table)
