"""scoring/charts/: well-formed, accessible SVG; hostile labels escaped; empty input gives an
empty state. No database."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.utils.html import format_html

from scoring.charts import Point, interval_chart, reliability_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "quotes" \'single\''


def parts(html: str) -> tuple[ET.Element, ET.Element]:
    """The figure as XML, and its SVG."""
    figure = ET.fromstring(html)
    assert figure.tag == "figure"
    return figure, figure.find(f"{SVG}svg")


def bins(n: int = 10) -> list[dict]:
    return [
        {
            "lower": 0.5 + k * 0.05,
            "upper": 0.55 + k * 0.05,
            "count": 5 + k,
            "confidence": 0.525 + k * 0.05,
            "accuracy": 0.5 + k * 0.05,
        }
        for k in range(n)
    ]


def test_an_interval_chart_is_well_formed_accessible_and_scales():
    html = interval_chart(
        [Point("a", 0.7, 0.6, 0.8), Point("b", 0.4, 0.3, 0.5)],
        title="Accuracy by domain",
        reference=0.5,
        band=(0.82, 0.8, 0.84),
        band_label="human noise ceiling",
    )
    figure, svg = parts(html)
    assert svg.get("role") == "img" and svg.get("aria-label") == "Accuracy by domain"
    assert svg.find(f"{SVG}title").text == "Accuracy by domain"
    assert svg.get("width") == "100%" and svg.get("viewBox").startswith("0 0 320 ")
    assert "style" not in html  # the CSP forbids inline styles
    assert len(svg.findall(f"{SVG}circle")) == 2
    assert len(svg.findall(f"{SVG}rect")) == 1  # the band
    table = figure.find("table")
    assert table.get("class") == "visually-hidden"
    cells = [[c.text for c in tr] for tr in table.find("tbody")]
    assert cells == [["a", "0.700", " [0.600, 0.800]"], ["b", "0.400", " [0.300, 0.500]"]]


def test_the_dots_sit_where_their_values_are():
    html = interval_chart([Point("lo", 0.0), Point("hi", 1.0), Point("mid", 0.5)], title="t")
    _, svg = parts(html)
    xs = [float(c.get("cx")) for c in svg.findall(f"{SVG}circle")]
    assert xs[0] < xs[2] < xs[1]
    assert xs[2] == pytest.approx((xs[0] + xs[1]) / 2, abs=0.1)


def test_values_outside_the_axis_are_drawn_at_its_edge():
    _, svg = parts(interval_chart([Point("x", 7.0, -3.0, 9.0), Point("y", 1.0)], title="t"))
    first, second = svg.findall(f"{SVG}circle")
    assert first.get("cx") == second.get("cx")


def test_hostile_labels_are_escaped_everywhere():
    html = interval_chart(
        [
            Point(HOSTILE, 0.5, 0.4, 0.6),
            Point.from_estimate(HOSTILE, {"value": None, "reason": HOSTILE}),
        ],
        title=HOSTILE,
        caption=HOSTILE,
        band=(0.8, 0.7, 0.9),
        band_label=HOSTILE,
    )
    assert "<script>" not in html
    figure, svg = parts(html)  # still well-formed XML
    assert svg.get("aria-label") == HOSTILE
    assert figure.find("figcaption").text == HOSTILE
    reliability = reliability_chart(bins(), title=HOSTILE, caption=HOSTILE)
    assert "<script>" not in reliability
    parts(reliability)


def test_long_labels_are_shortened_on_the_chart_but_whole_in_the_tooltip_and_table():
    label = "a-very-long-generator-model-name-v2"
    figure, svg = parts(interval_chart([Point(label, 0.5)], title="t"))
    text = next(t for t in svg.iter(f"{SVG}text") if t.find(f"{SVG}title") is not None)
    assert text.find(f"{SVG}title").text == label
    assert text.find(f"{SVG}title").tail.endswith("…") and len(text.find(f"{SVG}title").tail) == 16
    assert figure.find("table/tbody/tr/th").text == label


def test_an_undefined_figure_keeps_its_row_and_says_why():
    point = Point.from_estimate("code", {"value": None, "reason": "no pairs in this domain"})
    figure, svg = parts(interval_chart([Point("general", 0.6), point], title="t"))
    assert len(svg.findall(f"{SVG}circle")) == 1
    assert "no pairs in this domain" in ET.tostring(svg, encoding="unicode")
    assert "undefined (no pairs in this domain)" in ET.tostring(figure, encoding="unicode")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "x"])
def test_non_finite_numbers_count_as_undefined(bad):
    point = Point.from_estimate("x", {"value": bad, "ci_low": bad, "ci_high": 0.5})
    assert point.value is None and point.low is None
    _, svg = parts(interval_chart([point], title="t"))
    assert svg.findall(f"{SVG}circle") == []


def test_no_points_give_an_empty_state_not_a_crash():
    html = interval_chart([], title="Accuracy by domain", empty="No domains yet.")
    figure = ET.fromstring(html)
    assert figure.find("svg") is None and figure.find(f"{SVG}svg") is None
    assert figure.find("p").text == "No domains yet."


def test_a_reliability_diagram_has_the_diagonal_and_dots_sized_by_count():
    figure, svg = parts(reliability_chart(bins(), title="Reliability"))
    circles = svg.findall(f"{SVG}circle")
    assert len(circles) == 10
    radii = [float(c.get("r")) for c in circles]
    assert radii == sorted(radii) and radii[0] < radii[-1]  # counts grow with k
    diagonal = next(line for line in svg.iter(f"{SVG}line") if line.find(f"{SVG}title") is not None)
    # From (0.5, 0.5) to (1, 1): x from the left edge to the right, y from mid to the top.
    assert float(diagonal.get("x1")) < float(diagonal.get("x2"))
    assert float(diagonal.get("y1")) > float(diagonal.get("y2"))
    # Perfectly calibrated bins lie on the diagonal.
    for c, b in zip(circles, bins(), strict=True):
        x1, y1 = float(diagonal.get("x1")), float(diagonal.get("y1"))
        x2, y2 = float(diagonal.get("x2")), float(diagonal.get("y2"))
        t = (b["confidence"] - 0.5) / 0.5
        assert float(c.get("cx")) == pytest.approx(x1 + t * (x2 - x1), abs=0.2)
        assert float(c.get("cy")) == pytest.approx(
            y1 + (b["accuracy"] - 0.5) / 0.5 * (y2 - y1), abs=0.2
        )
    assert len(figure.findall("table/tbody/tr")) == 10


def test_a_reliability_diagram_leaves_out_empty_bins_and_has_an_empty_state():
    some = bins()
    some[3] = {**some[3], "count": 0, "confidence": None, "accuracy": None}
    _, svg = parts(reliability_chart(some, title="r"))
    assert len(svg.findall(f"{SVG}circle")) == 9
    empty = reliability_chart([{**b, "count": 0} for b in bins()], title="r")
    assert "No calibrated pairs" in empty and "<svg" not in empty


def test_charts_load_no_script_and_nothing_from_elsewhere():
    html = interval_chart([Point("a", 0.5)], title="t") + reliability_chart(bins(), title="r")
    assert "<script" not in html and "http://" not in re.sub(r'xmlns="[^"]+"', "", html)


# scatter_chart ------------------------------------------------------------------------------


def test_a_scatter_is_well_formed_accessible_and_puts_dots_where_their_values_are():
    from scoring.charts import XY, scatter_chart

    html = scatter_chart(
        [XY("slow", 40.0, 0.9), XY("fast", 4.0, 0.1, warn=True), XY("no run", 10.0, None)],
        title="Speed against agreement",
        x_label="median seconds",
        y_label="r",
        reference_y=0.3,
    )
    figure, svg = parts(html)
    assert svg.get("role") == "img" and svg.get("aria-label") == "Speed against agreement"
    assert "style" not in html
    slow, fast = svg.findall(f"{SVG}circle")
    assert float(slow.get("cx")) > float(fast.get("cx"))  # more seconds: further right
    assert float(slow.get("cy")) < float(fast.get("cy"))  # more agreement: higher up
    assert slow.get("fill") != fast.get("fill")  # a warning has its own colour
    dashed = [line for line in svg.findall(f"{SVG}line") if line.get("stroke-dasharray")]
    assert len(dashed) == 1 and dashed[0].get("y1") == dashed[0].get("y2")
    cells = [[c.text for c in tr] for tr in figure.find("table").find("tbody")]
    assert cells[2] == ["no run", "10.00", "undefined"]  # listed, not drawn


def test_a_scatter_escapes_hostile_labels_and_has_an_empty_state():
    from scoring.charts import XY, scatter_chart

    html = scatter_chart([XY(HOSTILE, 1.0, 0.5)], title=HOSTILE, x_label=HOSTILE, y_label="y")
    parts(html)  # well-formed XML: nothing leaked unescaped
    assert "<script>" not in html
    empty = scatter_chart([XY("a", None, 0.5)], title="t", x_label="x", y_label="y", empty="None")
    assert 'class="chart chart-empty"' in empty and "<svg" not in empty
    with pytest.raises(ValueError):
        scatter_chart([XY("a", 1.0, 1.0)], title="t", x_label="x", y_label="y", y_range=(1, 0))


def test_a_plain_text_part_is_escaped_not_trusted():
    from scoring.charts import _join

    joined = _join([format_html("<g>{}</g>", "a"), "<script>alert(1)</script>"])
    assert "<g>a</g>" in joined and "<script>" not in joined and "&lt;script&gt;" in joined
