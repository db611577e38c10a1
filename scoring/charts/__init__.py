"""Server-side SVG charts (DESIGN 6.5 and 7.4): no JavaScript and no CDN, readable on a phone.

Each chart is a ``<figure>``: an SVG that scales to its container (``viewBox``, width 100%;
the stylesheet caps it so its 12-unit text shows at 12 to 18 px), ``role="img"`` with an ``aria-label`` and a
``<title>``, and a visually hidden table with the same numbers for screen readers. Every
piece of text goes through ``format_html`` (escaped). Colours are presentation attributes,
never ``style`` attributes: the Content-Security-Policy forbids inline styles.

Two charts cover the pages: ``interval_chart`` (a value with its CI per category, with an
optional reference line and band: accuracy by tertile, domain or generator, probe shares,
the leaderboard) and ``reliability_chart`` (mean confidence against accuracy per bin).
The dashboard adds its own (``bars``, ``lines``), and ``scatter_chart`` (two figures per
labelled point: annotator speed against agreement).

The package: ``svg`` holds the shared sizes, palette, ``Point`` and helpers; ``intervals`` the
interval and reliability charts; ``bars`` and ``lines`` the dashboard's charts; ``scatter``
the scatter plot. Import from ``scoring.charts``: every public name is re-exported here.
"""

from .bars import SERIES_COLOURS, stacked_bar_chart, target_bar_chart
from .intervals import interval_chart, reliability_chart
from .lines import line_chart
from .scatter import WARN, XY, scatter_chart
from .svg import (
    ACCENT,
    BAND,
    BAND_LINE,
    FONT,
    GRID,
    LABEL_CHARS,
    MUTED,
    TARGET,
    WIDTH,
    Point,
    _join,
)

__all__ = [
    "ACCENT",
    "BAND",
    "BAND_LINE",
    "FONT",
    "GRID",
    "LABEL_CHARS",
    "MUTED",
    "SERIES_COLOURS",
    "TARGET",
    "WARN",
    "WIDTH",
    "XY",
    "Point",
    "_join",
    "interval_chart",
    "line_chart",
    "reliability_chart",
    "scatter_chart",
    "stacked_bar_chart",
    "target_bar_chart",
]
