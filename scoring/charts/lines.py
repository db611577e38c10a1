"""The dashboard's line chart (DESIGN 7.4): ``line_chart``, one figure across aggregation runs
with its CI band and an optional target line. Same rules as every chart: viewBox,
role="img", a hidden table, no style."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString

from .svg import (
    ACCENT,
    MUTED,
    TARGET,
    WIDTH,
    Point,
    _ci_text,
    _empty,
    _figure,
    _fmt,
    _join,
    _label_every,
    _n,
    _points_table,
    _short,
    _ticks,
    _y_gridline,
)


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    lo: float = 0.0,
    hi: float = 1.0,
    reference: float | None = None,
    reference_label: str = "",
    caption: str = "",
    empty: str = "Nothing to draw yet.",
    digits: int = 3,
) -> SafeString:
    """One figure across ordered categories (aggregation runs, oldest first): a line through
    the values, a shaded band between each point's CI bounds, and an optional dashed
    horizontal ``reference`` line (a target) labelled ``reference_label``. Values outside
    [lo, hi] are drawn at the edge. An undefined point breaks the line and the band and says
    "undefined" (with its note) in the table. No points: an empty state."""
    if not points:
        return _empty(title, empty)
    if not hi > lo:
        raise ValueError(f"line_chart needs hi > lo, got {lo} and {hi}")
    left, right, top, bottom = 34.0, WIDTH - 10.0, 8.0, 120.0
    height = bottom + 22
    every = _label_every(len(points), [p.label for p in points], right - left)

    def x(i: int) -> float:
        if len(points) == 1:
            return (left + right) / 2
        return left + (right - left) * i / (len(points) - 1)

    def y(v: float) -> float:
        return bottom - (bottom - top) * (min(max(v, lo), hi) - lo) / (hi - lo)

    parts: list[SafeString] = []
    for t in _ticks(lo, hi, 5):
        parts.append(_y_gridline(left, right, y(t), f"{t:g}"))
    # Runs of consecutive defined points: each gets its own band and line.
    runs: list[list[int]] = [[]]
    for i, p in enumerate(points):
        if p.value is None:
            runs.append([])
        else:
            runs[-1].append(i)
    for run in runs:
        ci = [i for i in run if points[i].low is not None and points[i].high is not None]
        if len(ci) == len(run) and len(run) > 1:
            outline = [(x(i), y(points[i].high)) for i in run] + [
                (x(i), y(points[i].low)) for i in reversed(run)
            ]
            parts.append(
                format_html(
                    '<polygon points="{}" fill="{}" fill-opacity="0.18"/>',
                    " ".join(f"{_n(a)},{_n(b)}" for a, b in outline),
                    ACCENT,
                )
            )
        elif len(run) == 1 and ci:
            i = run[0]
            parts.append(
                format_html(
                    '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="{3}" stroke-width="2" '
                    'stroke-opacity="0.4"/>',
                    _n(x(i)),
                    _n(y(points[i].low)),
                    _n(y(points[i].high)),
                    ACCENT,
                )
            )
        if len(run) > 1:
            parts.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
                    " ".join(f"{_n(x(i))},{_n(y(points[i].value))}" for i in run),
                    ACCENT,
                )
            )
    if reference is not None:
        parts.append(
            format_html(
                '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}" stroke-width="1.5" '
                'stroke-dasharray="4 3"><title>{4}</title></line>'
                '<text x="{1}" y="{5}" text-anchor="end" fill="{3}">{4}</text>',
                _n(left),
                _n(right),
                _n(y(reference)),
                TARGET,
                reference_label,
                _n(y(reference) - 4),
            )
        )
    for i, p in enumerate(points):
        if i % every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>',
                    _n(x(i)),
                    _n(bottom + 14),
                    MUTED,
                    _short(p.label),
                )
            )
        if p.value is not None:
            parts.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="3.5" fill="{}"><title>{}: {}{}</title></circle>',
                    _n(x(i)),
                    _n(y(p.value)),
                    ACCENT,
                    p.label,
                    _fmt(p.value, digits),
                    _ci_text(p, digits),
                )
            )
    return _figure(title, caption, height, _join(parts), _points_table(title, points, digits))
