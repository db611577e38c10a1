"""Charts of a value with its CI per category: ``interval_chart`` (a horizontal dot plot with
an optional reference line and band: accuracy by tertile, domain or generator, probe shares,
the leaderboard) and ``reliability_chart`` (mean confidence against accuracy per bin)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString

from .svg import (
    ACCENT,
    BAND,
    BAND_LINE,
    GRID,
    MUTED,
    WIDTH,
    Point,
    _ci_text,
    _empty,
    _figure,
    _finite,
    _fmt,
    _join,
    _n,
    _points_table,
    _short,
    _table,
    _ticks,
    _x_gridline,
    _y_gridline,
)


def interval_chart(
    points: Sequence[Point],
    *,
    title: str,
    lo: float = 0.0,
    hi: float = 1.0,
    reference: float | None = None,
    band: tuple[float | None, float | None, float | None] | None = None,
    band_label: str = "",
    caption: str = "",
    empty: str = "Nothing to draw yet.",
    digits: int = 3,
) -> SafeString:
    """Horizontal dot plot: one row per category, the value as a dot with its CI as a
    whisker, on an axis from ``lo`` to ``hi`` (values outside are drawn at the edge).

    ``reference``: a dashed vertical line (0.5: a coin flip). ``band``: (value, low, high),
    a shaded interval with a line at the value (the human noise ceiling). An undefined
    category keeps its row and says "undefined". No points: an empty state, not a chart.
    """
    if not points:
        return _empty(title, empty)
    if not hi > lo:
        raise ValueError(f"interval_chart needs hi > lo, got {lo} and {hi}")
    label_w, right, top, row_h, axis_h = 120.0, WIDTH - 14.0, 8.0, 24.0, 30.0
    plot_h = row_h * len(points)
    height = top + plot_h + axis_h

    def x(v: float) -> float:
        v = min(max(v, lo), hi)
        return label_w + (right - label_w) * (v - lo) / (hi - lo)

    parts: list[SafeString] = []
    for t in _ticks(lo, hi):
        parts.append(
            format_html(
                '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="{3}" stroke-width="1"/>'
                '<text x="{0}" y="{4}" text-anchor="middle" fill="{5}">{6}</text>',
                _n(x(t)),
                _n(top),
                _n(top + plot_h),
                GRID,
                _n(top + plot_h + 14),
                MUTED,
                f"{t:g}",
            )
        )
    if band is not None:
        value, low, high = (_finite(b) for b in band)
        if low is not None and high is not None:
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" opacity="0.8">'
                    "<title>{}</title></rect>",
                    _n(x(low)),
                    _n(top),
                    _n(max(x(high) - x(low), 1.0)),
                    _n(plot_h),
                    BAND,
                    band_label,
                )
            )
        if value is not None:
            parts.append(
                format_html(
                    '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="{3}" stroke-width="2">'
                    "<title>{4}</title></line>",
                    _n(x(value)),
                    _n(top),
                    _n(top + plot_h),
                    BAND_LINE,
                    band_label,
                )
            )
    if reference is not None:
        parts.append(
            format_html(
                '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="{3}" stroke-width="1.5" '
                'stroke-dasharray="4 3"/>',
                _n(x(reference)),
                _n(top),
                _n(top + plot_h),
                MUTED,
            )
        )
    for i, p in enumerate(points):
        y = top + row_h * i + row_h / 2
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" fill="#1d2330">'
                "<title>{}</title>{}</text>",
                _n(label_w - 6),
                _n(y),
                p.label,
                _short(p.label),
            )
        )
        if p.value is None:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" dominant-baseline="middle" fill="{}" font-style="italic">'
                    "undefined<title>{}</title></text>",
                    _n(label_w + 4),
                    _n(y),
                    MUTED,
                    p.note or "undefined",
                )
            )
            continue
        if p.low is not None and p.high is not None:
            parts.append(
                format_html(
                    '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}" stroke-width="2"/>'
                    '<line x1="{0}" x2="{0}" y1="{4}" y2="{5}" stroke="{3}" stroke-width="2"/>'
                    '<line x1="{1}" x2="{1}" y1="{4}" y2="{5}" stroke="{3}" stroke-width="2"/>',
                    _n(x(p.low)),
                    _n(x(p.high)),
                    _n(y),
                    ACCENT,
                    _n(y - 5),
                    _n(y + 5),
                )
            )
        parts.append(
            format_html(
                '<circle cx="{}" cy="{}" r="5" fill="{}"><title>{}: {}{}</title></circle>',
                _n(x(p.value)),
                _n(y),
                ACCENT,
                p.label,
                _fmt(p.value, digits),
                _ci_text(p, digits),
            )
        )
    return _figure(title, caption, height, _join(parts), _points_table(title, points, digits))


def reliability_chart(bins: Sequence[dict], *, title: str, caption: str = "") -> SafeString:
    """Reliability diagram: per bin, the mean confidence (x, from 0.5 to 1: the confidence
    is max(p, 1 - p)) against how often the more likely side was the humans' choice (y,
    0 to 1), a dot whose area grows with the bin's count, joined in order; the diagonal is
    perfect calibration. ``bins``: ``[{"lower", "upper", "count", "confidence",
    "accuracy"}]`` as ``scoring.core.metaeval.calibration`` writes them; empty bins are
    left out. No bin with a count: an empty state."""
    used = [
        b
        for b in bins
        if (b.get("count") or 0) > 0
        and _finite(b.get("confidence")) is not None
        and _finite(b.get("accuracy")) is not None
    ]
    if not used:
        return _empty(title, "No calibrated pairs to draw.")
    left, right, top, bottom = 40.0, WIDTH - 12.0, 10.0, 270.0
    height = bottom + 36

    def x(c: float) -> float:
        return left + (right - left) * (min(max(c, 0.5), 1.0) - 0.5) / 0.5

    def y(a: float) -> float:
        return bottom - (bottom - top) * min(max(a, 0.0), 1.0)

    parts: list[SafeString] = []
    for t in _ticks(0.5, 1.0, 6):
        parts.append(_x_gridline(x(t), top, bottom, f"{t:g}"))
    for t in _ticks(0.0, 1.0, 5):
        parts.append(_y_gridline(left, right, y(t), f"{t:g}"))
    parts.append(
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1.5" '
            'stroke-dasharray="4 3"><title>perfect calibration</title></line>'
            '<text x="{}" y="{}" text-anchor="middle" fill="{}">mean confidence</text>'
            '<text x="{}" y="{}" text-anchor="middle" fill="{}" transform="rotate(-90 {} {})">'
            "accuracy</text>",
            _n(x(0.5)),
            _n(y(0.5)),
            _n(x(1.0)),
            _n(y(1.0)),
            MUTED,
            _n((left + right) / 2),
            _n(bottom + 30),
            MUTED,
            _n(10),
            _n((top + bottom) / 2),
            MUTED,
            _n(10),
            _n((top + bottom) / 2),
        )
    )
    largest = max(int(b["count"]) for b in used)
    coords = [(x(float(b["confidence"])), y(float(b["accuracy"]))) for b in used]
    parts.append(
        format_html(
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"/>',
            " ".join(f"{_n(cx)},{_n(cy)}" for cx, cy in coords),
            ACCENT,
        )
    )
    for b, (cx, cy) in zip(used, coords, strict=True):
        radius = 3 + 7 * math.sqrt(int(b["count"]) / largest)
        parts.append(
            format_html(
                '<circle cx="{}" cy="{}" r="{}" fill="{}" fill-opacity="0.75">'
                "<title>confidence {} to {}: {} pairs, mean confidence {}, accuracy {}</title>"
                "</circle>",
                _n(cx),
                _n(cy),
                _n(radius),
                ACCENT,
                _fmt(_finite(b.get("lower")), 2),
                _fmt(_finite(b.get("upper")), 2),
                int(b["count"]),
                _fmt(float(b["confidence"])),
                _fmt(float(b["accuracy"])),
            )
        )
    table = _table(
        title,
        ["confidence bin", "pairs", "mean confidence", "accuracy"],
        (
            (
                f"{_fmt(_finite(b.get('lower')), 2)} to {_fmt(_finite(b.get('upper')), 2)}",
                str(int(b["count"])),
                _fmt(float(b["confidence"])),
                _fmt(float(b["accuracy"])),
            )
            for b in used
        ),
    )
    return _figure(title, caption, height, _join(parts), table)
