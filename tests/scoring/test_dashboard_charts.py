"""The dashboard's charts in scoring/charts/ (stacked bars, a line with its CI band, shares
against targets): well-formed, accessible SVG drawn where the numbers say. No database."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from scoring.charts import Point, line_chart, stacked_bar_chart, target_bar_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "quotes"'


def parts(html: str) -> tuple[ET.Element, ET.Element]:
    figure = ET.fromstring(html)
    assert figure.tag == "figure"
    svg = figure.find(f"{SVG}svg")
    assert svg.get("role") == "img" and svg.get("aria-label")
    assert svg.get("width") == "100%" and svg.get("viewBox").startswith("0 0 320 ")
    assert "style=" not in html  # the CSP forbids inline styles
    return figure, svg


def rows(figure: ET.Element) -> list[list[str]]:
    return [[c.text or "" for c in tr] for tr in figure.find("table/tbody")]


def test_stacked_bars_stack_each_series_on_the_last_and_keep_zero_days():
    bars = [("Mon", (3, 1)), ("Tue", (0, 0)), ("Wed", (6, 2))]
    figure, svg = parts(stacked_bar_chart(bars, series=("Likert", "pairwise"), title="Per day"))
    rects = [r for r in svg.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [r.find(f"{SVG}title").text for r in rects] == [
        "Mon: 3 Likert",
        "Mon: 1 pairwise",
        "Wed: 6 Likert",
        "Wed: 2 pairwise",
    ]
    mon_likert, mon_pairwise, wed_likert, wed_pairwise = rects
    height = lambda r: float(r.get("height"))  # noqa: E731
    assert height(wed_likert) == pytest.approx(2 * height(mon_likert), abs=0.2)
    assert height(wed_pairwise) == pytest.approx(2 * height(mon_pairwise), abs=0.2)
    # Pairwise sits on top of Likert: its bottom edge is the Likert bar's top edge.
    top = float(mon_likert.get("y"))
    assert float(mon_pairwise.get("y")) + height(mon_pairwise) == pytest.approx(top, abs=0.2)
    # The empty day keeps its slot: the third bar is right of where a two-bar chart would be.
    assert float(wed_likert.get("x")) > float(mon_likert.get("x")) * 2
    assert rows(figure) == [
        ["Mon", "3", "1", "4"],
        ["Tue", "0", "0", "0"],
        ["Wed", "6", "2", "8"],
    ]


def test_stacked_bars_need_a_value_per_series_and_have_an_empty_state():
    with pytest.raises(ValueError, match="one value per series"):
        stacked_bar_chart([("Mon", (1,))], series=("a", "b"), title="t")
    html = stacked_bar_chart([], series=("a",), title="t", empty="No judgments yet.")
    assert "<svg" not in html and "No judgments yet." in html


def test_a_line_chart_draws_the_band_the_line_and_the_target():
    points = [Point(f"run {i}", v, v - 0.1, v + 0.1) for i, v in enumerate((0.4, 0.5, 0.7))]
    figure, svg = parts(
        line_chart(points, title="Alpha", reference=0.6, reference_label="target 0.6")
    )
    assert len(svg.findall(f"{SVG}polygon")) == 1  # the CI band
    line = svg.find(f"{SVG}polyline")
    ys = [float(p.split(",")[1]) for p in line.get("points").split()]
    assert ys[0] > ys[1] > ys[2]  # rising alpha: the line climbs (SVG y grows downwards)
    target = next(x for x in svg.iter(f"{SVG}line") if x.get("stroke-dasharray"))
    assert target.find(f"{SVG}title").text == "target 0.6"
    # The target line sits between the 0.5 and 0.7 points.
    assert ys[2] < float(target.get("y1")) < ys[1]
    assert rows(figure)[2] == ["run 2", "0.700", " [0.600, 0.800]"]


def test_an_undefined_run_breaks_the_line_and_says_why():
    points = [
        Point("run 1", 0.5, 0.4, 0.6),
        Point("run 2", 0.6, 0.5, 0.7),
        Point("run 3", None, note="fewer than two pairable values"),
        Point("run 4", 0.7, 0.6, 0.8),
    ]
    figure, svg = parts(line_chart(points, title="Alpha"))
    assert len(svg.findall(f"{SVG}polyline")) == 1  # runs 1-2; run 4 stands alone
    assert len(svg.findall(f"{SVG}circle")) == 3
    assert rows(figure)[2][1] == "undefined (fewer than two pairable values)"


def test_a_single_run_is_a_dot_with_its_interval():
    _, svg = parts(line_chart([Point("run 9", 0.55, 0.5, 0.6)], title="Alpha"))
    assert len(svg.findall(f"{SVG}circle")) == 1 and svg.find(f"{SVG}polyline") is None


def test_target_bars_show_actual_target_and_the_gap_in_points():
    figure, svg = parts(
        target_bar_chart([("code", 62.5, 60.0), ("chat", 37.5, 40.0)], title="Domains")
    )
    bars = [r for r in svg.findall(f"{SVG}rect")]
    assert [b.find(f"{SVG}title").text for b in bars] == ["code: 62.5%", "chat: 37.5%"]
    assert float(bars[0].get("width")) / float(bars[1].get("width")) == pytest.approx(
        62.5 / 37.5, rel=1e-2
    )
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "+2.5 pts" in texts and "-2.5 pts" in texts
    assert rows(figure) == [
        ["code", "62.5%", "60.0%", "+2.5 pts"],
        ["chat", "37.5%", "40.0%", "-2.5 pts"],
    ]


def test_hostile_labels_are_escaped_in_every_dashboard_chart():
    charts = [
        stacked_bar_chart([(HOSTILE, (1, 2))], series=(HOSTILE, "b"), title=HOSTILE),
        line_chart([Point(HOSTILE, 0.5)], title=HOSTILE, reference=0.6, reference_label=HOSTILE),
        target_bar_chart([(HOSTILE, 50.0, 40.0)], title=HOSTILE, caption=HOSTILE),
    ]
    for html in charts:
        assert "<script>" not in html
        _, svg = parts(html)
        assert svg.get("aria-label") == HOSTILE


def test_large_counts_on_the_axis_are_shortened_and_exact_in_the_table():
    bars = [("Mon", (12_000, 3_500)), ("Tue", (9_000, 500))]
    figure, svg = parts(stacked_bar_chart(bars, series=("Likert", "pairwise"), title="Per day"))
    ticks = [t.text for t in svg.findall(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks[0] == "0" and "20k" in ticks and all(len(t) <= 5 for t in ticks)
    # The widest label ends 4 units left of the axis and starts inside the picture.
    axis = min(float(line.get("x1")) for line in svg.findall(f"{SVG}line"))
    widest = max(len(t) for t in ticks)
    assert axis - 4 - 0.6 * 12 * widest >= 0
    assert rows(figure) == [["Mon", "12000", "3500", "15500"], ["Tue", "9000", "500", "9500"]]
