"""The pieces every chart shares: sizes and palette, ``Point`` (one category's figure with its
CI), number formatting and escaping, the ``<figure>`` with its hidden table, axis ticks and
label spacing. Nothing here draws a chart by itself."""

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
# The dashboard's target marks (DESIGN 7.4).
TARGET = "#1d2330"


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


def _x_gridline(x: float, top: float, bottom: float, label: str) -> SafeString:
    """A vertical grid line down the plot at ``x``, labelled below its foot."""
    return format_html(
        '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="{3}"/>'
        '<text x="{0}" y="{4}" text-anchor="middle" fill="{5}">{6}</text>',
        _n(x),
        _n(top),
        _n(bottom),
        GRID,
        _n(bottom + 14),
        MUTED,
        label,
    )


def _y_gridline(left: float, right: float, y: float, label: str) -> SafeString:
    """A horizontal grid line across the plot at height ``y``, labelled at its left end."""
    return format_html(
        '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}"/>'
        '<text x="{4}" y="{2}" text-anchor="end" dominant-baseline="middle" fill="{5}">'
        "{6}</text>",
        _n(left),
        _n(right),
        _n(y),
        GRID,
        _n(left - 4),
        MUTED,
        label,
    )


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
