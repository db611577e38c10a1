"""The dashboard's bar charts (DESIGN 7.4): ``stacked_bar_chart`` (judgments per day, stacked
by series) and ``target_bar_chart`` (shares against targets, in percent). Same rules as every
chart: viewBox, role="img", a hidden table, no style."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString

from .svg import (
    ACCENT,
    FONT,
    MUTED,
    TARGET,
    WIDTH,
    _empty,
    _figure,
    _finite,
    _join,
    _label_every,
    _n,
    _nice_max,
    _short,
    _table,
    _ticks,
    _x_gridline,
    _y_gridline,
)

SERIES_COLOURS = ("#2f5bd3", "#c2571a", "#1f7a44", "#7a3fb0")


def stacked_bar_chart(
    bars: Sequence[tuple[str, Sequence[float]]],
    *,
    series: Sequence[str],
    title: str,
    caption: str = "",
    empty: str = "Nothing to draw yet.",
) -> SafeString:
    """Vertical bars, one per category (in order: days, oldest first), each stacked from its
    ``series`` values (counts, >= 0; the first series at the bottom). The y axis runs from 0
    to a round number at or above the tallest bar; about six categories are labelled under
    the axis, every one is in the tooltips and the table. No bars: an empty state. A bar of
    zeros keeps its place (a day without work is a fact, not a gap)."""
    if not bars:
        return _empty(title, empty)
    if any(len(values) != len(series) for _, values in bars):
        raise ValueError("stacked_bar_chart needs one value per series in every bar")
    top_value = _nice_max(max(sum(max(v, 0) for v in values) for _, values in bars))
    ticks = [(t, _count(t)) for t in _ticks(0.0, top_value, 5)]
    # The left margin fits the longest tick label ("37.5k"), about 0.6 em a character.
    left = max(34.0, 8.0 + 0.6 * FONT * max(len(label) for _, label in ticks))
    right, top, bottom = WIDTH - 8.0, 24.0, 170.0
    height = bottom + 22
    slot = (right - left) / len(bars)
    every = _label_every(len(bars), [label for label, _ in bars], right - left)

    def y(v: float) -> float:
        return bottom - (bottom - top) * v / top_value

    parts: list[SafeString] = []
    for k, name in enumerate(series):
        parts.append(
            format_html(
                '<rect x="{}" y="4" width="10" height="10" fill="{}"/>'
                '<text x="{}" y="13" fill="{}">{}</text>',
                _n(left + 90 * k),
                SERIES_COLOURS[k % len(SERIES_COLOURS)],
                _n(left + 90 * k + 14),
                MUTED,
                name,
            )
        )
    for t, label in ticks:
        parts.append(_y_gridline(left, right, y(t), label))
    width = max(slot * 0.75, 1.0)
    for i, (label, values) in enumerate(bars):
        x = left + slot * i + (slot - width) / 2
        base = 0.0
        for k, (name, v) in enumerate(zip(series, values, strict=True)):
            v = max(float(v), 0.0)
            if v:
                parts.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                        "<title>{}: {} {}</title></rect>",
                        _n(x),
                        _n(y(base + v)),
                        _n(width),
                        _n(y(base) - y(base + v)),
                        SERIES_COLOURS[k % len(SERIES_COLOURS)],
                        label,
                        f"{v:g}",
                        name,
                    )
                )
            base += v
        if i % every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>',
                    _n(x + width / 2),
                    _n(bottom + 14),
                    MUTED,
                    _short(label),
                )
            )
    table = _table(
        title,
        ["category", *series, "total"],
        ((label, *(f"{v:g}" for v in values), f"{sum(values):g}") for label, values in bars),
    )
    return _figure(title, caption, height, _join(parts), table)


def _count(value: float) -> str:
    """An axis count short enough for the left margin: 950, 9500, "12k", "1.5M"."""
    for size, suffix in ((1e6, "M"), (1e4, "k")):
        if abs(value) >= size:
            scale = size if suffix == "M" else 1e3
            return f"{value / scale:.3g}{suffix}"
    return f"{value:g}"


def target_bar_chart(
    rows: Sequence[tuple[str, float | None, float | None]],
    *,
    title: str,
    caption: str = "",
    empty: str = "Nothing to draw yet.",
) -> SafeString:
    """Shares against targets, one unit: percent. One row per category: a bar for the actual
    share (0 to 100), a dark tick at the target, and the gap (actual minus target) in
    percentage points at the right. ``rows``: (label, actual percent, target percent); a
    None actual draws no bar, a None target no tick and no gap. No rows: an empty state."""
    if not rows:
        return _empty(title, empty)
    label_w, right, top, row_h, axis_h = 96.0, WIDTH - 58.0, 8.0, 24.0, 22.0
    plot_h = row_h * len(rows)
    height = top + plot_h + axis_h

    def x(v: float) -> float:
        return label_w + (right - label_w) * min(max(v, 0.0), 100.0) / 100.0

    parts: list[SafeString] = []
    for t in _ticks(0.0, 100.0, 5):
        parts.append(_x_gridline(x(t), top, top + plot_h, f"{t:g}%"))

    def gap(actual: float | None, target: float | None) -> str:
        if actual is None or target is None:
            return ""
        return f"{actual - target:+.1f} pts"

    for i, (label, actual, target) in enumerate(rows):
        actual, target = _finite(actual), _finite(target)
        y = top + row_h * i
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" fill="#1d2330">'
                "<title>{}</title>{}</text>",
                _n(label_w - 6),
                _n(y + row_h / 2),
                label,
                _short(label),
            )
        )
        if actual is not None:
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}: {}%</title></rect>",
                    _n(label_w),
                    _n(y + 6),
                    _n(max(x(actual) - label_w, 0.0)),
                    _n(row_h - 12),
                    ACCENT,
                    label,
                    f"{actual:.1f}",
                )
            )
        if target is not None:
            parts.append(
                format_html(
                    '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="{3}" stroke-width="2.5">'
                    "<title>{4} target: {5}%</title></line>",
                    _n(x(target)),
                    _n(y + 2),
                    _n(y + row_h - 2),
                    TARGET,
                    label,
                    f"{target:.1f}",
                )
            )
        parts.append(
            format_html(
                '<text x="{}" y="{}" dominant-baseline="middle" fill="{}">{}</text>',
                _n(right + 6),
                _n(y + row_h / 2),
                MUTED,
                gap(actual, target),
            )
        )
    table = _table(
        title,
        ["category", "actual", "target", "gap"],
        (
            (
                label,
                "" if _finite(a) is None else f"{_finite(a):.1f}%",
                "" if _finite(t) is None else f"{_finite(t):.1f}%",
                gap(_finite(a), _finite(t)),
            )
            for label, a, t in rows
        ),
    )
    return _figure(title, caption, height, _join(parts), table)
