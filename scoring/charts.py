"""Server-side SVG charts (DESIGN 6.5 and 7.4): no JavaScript and no CDN, readable on a phone.

Each chart is a ``<figure>``: an SVG that scales to its container (``viewBox``, width 100%;
the stylesheet caps it so its 12-unit text shows at 12 to 18 px), ``role="img"`` with an ``aria-label`` and a
``<title>``, and a visually hidden table with the same numbers for screen readers. Every
piece of text goes through ``format_html`` (escaped). Colours are presentation attributes,
never ``style`` attributes: the Content-Security-Policy forbids inline styles.

Two charts cover the pages: ``interval_chart`` (a value with its CI per category, with an
optional reference line and band: accuracy by tertile, domain or generator, probe shares,
the leaderboard) and ``reliability_chart`` (mean confidence against accuracy per bin).
The dashboard adds its own below, and ``scatter_chart`` (two figures per labelled point:
annotator speed against agreement).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 320  # viewBox units: about 1:1 on a 390 px phone; at most 480 px wide on a laptop
FONT = 12
ACCENT = "#2f5bd3"
MUTED = "#5d6675"
GRID = "#dde1e7"
BAND = "#e7f6ec"
BAND_LINE = "#1f7a44"
LABEL_CHARS = 16


@dataclass(frozen=True)
class Point:
    """One category's figure: ``value`` None when undefined (``note`` says why)."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""

    @classmethod
    def from_estimate(cls, label: str, estimate: dict | None) -> Point:
        """From an ``Estimate.as_dict()`` (None: a figure that was not computed)."""
        if not estimate:
            return cls(label, None, note="not computed")
        return cls(
            label,
            _finite(estimate.get("value")),
            _finite(estimate.get("ci_low")),
            _finite(estimate.get("ci_high")),
            estimate.get("reason") or "",
        )


def _finite(x) -> float | None:
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _n(x: float) -> str:
    """A coordinate, short and locale-free."""
    return f"{x:.1f}"


def _fmt(x: float | None, digits: int = 3) -> str:
    return "undefined" if x is None else f"{x:.{digits}f}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _join(parts: Iterable[SafeString]) -> SafeString:
    """The parts as one fragment. Each part is a ``format_html`` result; one that is not
    (plain text by mistake) is escaped here instead of trusted."""
    return format_html_join("", "{}", ((part,) for part in parts))


def _empty(title: str, message: str) -> SafeString:
    return format_html(
        '<figure class="chart chart-empty"><figcaption>{}</figcaption>'
        '<p class="empty">{}</p></figure>',
        title,
        message,
    )


def _figure(title: str, caption: str, height: float, body: SafeString, table: SafeString):
    return format_html(
        '<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" '
        'width="100%" role="img" aria-label="{}" font-size="{}" '
        'font-family="system-ui, sans-serif"><title>{}</title>{}</svg>'
        "<figcaption>{}</figcaption>{}</figure>",
        WIDTH,
        _n(height),
        title,
        FONT,
        title,
        body,
        caption or title,
        table,
    )


def _table(title: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> SafeString:
    head = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in header))
    body = _join(
        format_html(
            '<tr><th scope="row">{}</th>{}</tr>',
            row[0],
            format_html_join("", "<td>{}</td>", ((cell,) for cell in row[1:])),
        )
        for row in rows
    )
    return format_html(
        '<table class="visually-hidden"><caption>{}</caption><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table>",
        title,
        head,
        body,
    )


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    return [lo + (hi - lo) * i / (count - 1) for i in range(count)]


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


def _points_table(title: str, points: Sequence[Point], digits: int) -> SafeString:
    """The hidden table of a chart of points: value (with its note) and CI per category."""
    return _table(
        title,
        ["category", "value", "95% CI"],
        (
            (
                p.label,
                _fmt(p.value, digits) + (f" ({p.note})" if p.note else ""),
                _ci_text(p, digits),
            )
            for p in points
        ),
    )


def _ci_text(p: Point, digits: int) -> str:
    if p.low is None or p.high is None:
        return ""
    return f" [{p.low:.{digits}f}, {p.high:.{digits}f}]"


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
        parts.append(
            format_html(
                '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="{3}"/>'
                '<text x="{0}" y="{4}" text-anchor="middle" fill="{5}">{6}</text>',
                _n(x(t)),
                _n(top),
                _n(bottom),
                GRID,
                _n(bottom + 14),
                MUTED,
                f"{t:g}",
            )
        )
    for t in _ticks(0.0, 1.0, 5):
        parts.append(
            format_html(
                '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}"/>'
                '<text x="{4}" y="{2}" text-anchor="end" dominant-baseline="middle" fill="{5}">'
                "{6}</text>",
                _n(left),
                _n(right),
                _n(y(t)),
                GRID,
                _n(left - 4),
                MUTED,
                f"{t:g}",
            )
        )
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


# Dashboard charts (DESIGN 7.4): judgments per day, a figure across runs with its CI band,
# shares against targets. Same rules as above: viewBox, role="img", a hidden table, no style.
SERIES_COLOURS = ("#2f5bd3", "#c2571a", "#1f7a44", "#7a3fb0")
TARGET = "#1d2330"


def _nice_max(v: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``v`` (1 for v <= 0)."""
    if v <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(v))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= v)


def _label_every(n: int, labels: Sequence[str], width: float) -> int:
    """Label every k-th category under an axis ``width`` units long so that labels never
    overlap (about 7 units per character at the 12-unit font, plus a gap)."""
    longest = max((len(_short(label)) for label in labels), default=1)
    return max(1, math.ceil(n * (7.0 * longest + 8.0) / width))


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
        parts.append(
            format_html(
                '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}"/>'
                '<text x="{4}" y="{2}" text-anchor="end" dominant-baseline="middle" fill="{5}">'
                "{6}</text>",
                _n(left),
                _n(right),
                _n(y(t)),
                GRID,
                _n(left - 4),
                MUTED,
                label,
            )
        )
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
        parts.append(
            format_html(
                '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}"/>'
                '<text x="{4}" y="{2}" text-anchor="end" dominant-baseline="middle" fill="{5}">'
                "{6}</text>",
                _n(left),
                _n(right),
                _n(y(t)),
                GRID,
                _n(left - 4),
                MUTED,
                f"{t:g}",
            )
        )
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
        parts.append(
            format_html(
                '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="{3}"/>'
                '<text x="{0}" y="{4}" text-anchor="middle" fill="{5}">{6}%</text>',
                _n(x(t)),
                _n(top),
                _n(top + plot_h),
                GRID,
                _n(top + plot_h + 14),
                MUTED,
                f"{t:g}",
            )
        )

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
        parts.append(
            format_html(
                '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="{3}"/>'
                '<text x="{0}" y="{4}" text-anchor="middle" fill="{5}">{6}</text>',
                _n(x(t)),
                _n(top),
                _n(bottom),
                GRID,
                _n(bottom + 14),
                MUTED,
                f"{t:.3g}",
            )
        )
    for t in _ticks(y_lo, y_hi):
        parts.append(
            format_html(
                '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}"/>'
                '<text x="{4}" y="{2}" text-anchor="end" dominant-baseline="middle" fill="{5}">'
                "{6}</text>",
                _n(left),
                _n(right),
                _n(y(t)),
                GRID,
                _n(left - 4),
                MUTED,
                f"{t:.3g}",
            )
        )
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
