"""The SVG chart builder: well-formed, accessible, scaled, and sensible without data."""

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from django.utils import translation

from supply.charts import COLOURS, DASHES, MARGIN, Series, line_chart, nice_ticks, shelf_chart

SVG = "{http://www.w3.org/2000/svg}"
MONDAY = date(2021, 4, 19)


@pytest.fixture(autouse=True)
def german():
    with translation.override("de"):
        yield


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def polylines(root):
    return root.findall(f".//{SVG}polyline")


def points(polyline):
    return [tuple(map(float, pair.split(","))) for pair in polyline.get("points").split()]


def texts(root, group_class):
    group = next(g for g in root.iter(f"{SVG}g") if g.get("class") == group_class)
    return [(text.text, float(text.get("x")), float(text.get("y"))) for text in group.iter(f"{SVG}text")]


def test_chart_is_well_formed_svg_with_an_accessible_name():
    svg = line_chart(series=[Series("Comirnaty", [0, 5, 3])], start=MONDAY, label="Dosen im Lager")
    root = parse(svg)

    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Dosen im Lager"
    assert root.find(f"{SVG}title").text == "Dosen im Lager"
    assert svg.__html__() == str(svg)  # safe to put straight into a template


def test_one_polyline_per_series_with_distinct_colours_and_dash_patterns():
    series = [Series(f"Impfstoff {n}", [n, n + 1, n + 2]) for n in range(4)]
    root = parse(line_chart(series=series, start=MONDAY, label="x"))

    lines = polylines(root)
    assert len(lines) == 4
    assert [line.find(f"{SVG}title").text for line in lines] == [s.label for s in series]
    styles = {(line.get("stroke"), line.get("stroke-dasharray")) for line in lines}
    assert len({colour for colour, _dash in styles}) == 4
    assert len({dash for _colour, dash in styles}) == 4
    assert [line.get("stroke") for line in lines] == list(COLOURS[:4])
    # The legend repeats each line's colour and dash, next to its label.
    legend = [line for line in root.iter(f"{SVG}line") if line.get("stroke") in COLOURS]
    assert [(line.get("stroke"), line.get("stroke-dasharray")) for line in legend] == [
        (line.get("stroke"), line.get("stroke-dasharray")) for line in lines
    ]
    assert [text for text, _x, _y in texts(root, "legend")] == [s.label for s in series]
    assert len(set(DASHES)) == len(DASHES) and len(set(COLOURS)) == len(COLOURS)


def test_values_are_scaled_to_the_plot_area():
    width = 640
    root = parse(line_chart(series=[Series("A", [0, 500, 1000, 250])], start=MONDAY, label="x", width=width))

    ticks = texts(root, "y-axis")
    assert [text for text, _x, _y in ticks] == ["0", "200", "400", "600", "800", "1.000"]
    tick_y = {text: y - 4 for text, _x, y in ticks}  # labels sit 4px below their grid line
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points(polylines(root)[0])
    assert x0 == MARGIN["left"] and x3 == width - MARGIN["right"]
    assert x1 - x0 == pytest.approx(x2 - x1, abs=0.1) == pytest.approx(x3 - x2, abs=0.1)
    assert y0 == pytest.approx(tick_y["0"]) and y2 == pytest.approx(tick_y["1.000"])
    assert y1 == pytest.approx((y0 + y2) / 2, abs=0.1)
    assert y3 == pytest.approx(y0 + (y2 - y0) / 4, abs=0.1)


def test_date_labels_are_day_and_month_on_mondays_for_long_ranges():
    root = parse(line_chart(series=[Series("A", list(range(70)))], start=date(2021, 4, 21), label="x"))

    labels = [text for text, _x, _y in texts(root, "x-axis")]
    assert labels == ["26.04.", "10.05.", "24.05.", "07.06.", "21.06."]  # every other Monday
    assert all(re.fullmatch(r"\d\d\.\d\d\.", label) for label in labels)


def test_short_ranges_label_more_days():
    root = parse(line_chart(series=[Series("A", [1] * 5)], start=MONDAY, label="x"))
    assert [text for text, _x, _y in texts(root, "x-axis")] == [
        "19.04.",
        "20.04.",
        "21.04.",
        "22.04.",
        "23.04.",
    ]


def test_negative_values_extend_the_axis_below_zero():
    root = parse(line_chart(series=[Series("A", [100, -30, 40])], start=MONDAY, label="x"))
    labels = [text for text, _x, _y in texts(root, "y-axis")]
    assert labels[0].startswith("-") and "0" in labels


def test_empty_data_draws_no_lines_but_says_so():
    for series in ([], [Series("A", [])]):
        root = parse(line_chart(series=series, start=MONDAY, label="Leer", empty_text="Nichts da"))
        assert polylines(root) == []
        assert root.get("role") == "img"
        assert [t.text for t in root.iter(f"{SVG}text")] == ["Nichts da"]


def test_a_single_day_still_draws_a_visible_line():
    root = parse(line_chart(series=[Series("A", [7])], start=MONDAY, label="x"))
    assert len(points(polylines(root)[0])) == 2


def test_text_is_escaped():
    svg = line_chart(series=[Series('<b>"A" & B</b>', [1, 2])], start=MONDAY, label="a < b & c")
    root = parse(svg)
    assert root.get("aria-label") == "a < b & c"
    assert polylines(root)[0].find(f"{SVG}title").text == '<b>"A" & B</b>'


def test_nice_ticks():
    assert nice_ticks(0, 12_000) == [0, 2000, 4000, 6000, 8000, 10_000, 12_000]
    assert nice_ticks(0, 7) == [0, 2, 4, 6, 8]
    assert nice_ticks(0, 0) == [0, 1]  # whole doses: no fractional ticks
    assert nice_ticks(-30, 100) == [-50, -25, 0, 25, 50, 75, 100]


def test_shelf_chart_summarises_in_its_accessible_name_and_skips_empty_vaccines():
    shelf = {"comirnaty": [6000, 12000, 3000, 0], "moderna": [0, 0, 0, 0], "astra": [0, 100, 50, 0]}
    names = {"comirnaty": "Comirnaty", "moderna": "Spikevax", "astra": "Vaxzevria"}
    root = parse(shelf_chart(centre_name="Impfzentrum Dresden", start=MONDAY, shelf=shelf, names=names))

    assert root.get("aria-label") == (
        "Dosen im Lager, Impfzentrum Dresden: höchstens 12.000 (Comirnaty), am Ende 0"
    )
    assert len(polylines(root)) == 2  # Spikevax never on the shelf: no line
    assert "Comirnaty: höchstens 12.000, am Ende 0" in root.find(f"{SVG}desc").text


def test_shelf_chart_without_stock():
    root = parse(shelf_chart(centre_name="Impfzentrum Riesa", start=MONDAY, shelf={"x": [0, 0]}, names={}))
    assert polylines(root) == []
    assert root.get("aria-label") == "Dosen im Lager, Impfzentrum Riesa: kein Bestand"


def test_marks_and_the_value_axis_title():
    svg = line_chart(
        series=[Series("A", [1, 2, 3, 4])],
        start=MONDAY,
        label="x",
        marks=[(2, "Ende"), (9, "weg")],
        y_title="Dosen",
    )
    root = parse(svg)
    marks = [g for g in root.iter(f"{SVG}g") if g.get("class") == "mark"]
    assert [m.find(f"{SVG}text").text for m in marks] == ["Ende"]  # a mark beyond the data is left out
    x = float(marks[0].find(f"{SVG}line").get("x1"))
    assert x == pytest.approx(points(polylines(root)[0])[2][0], abs=0.1)
    assert next(t for t in root.iter(f"{SVG}text") if t.get("class") == "y-title").text == "Dosen"


def test_a_vaccine_keeps_its_line_style_on_every_chart():
    names = {"comirnaty": "Comirnaty", "moderna": "Spikevax", "astra": "Vaxzevria"}
    both = parse(
        shelf_chart(centre_name="A", start=MONDAY, shelf={"astra": [5, 1], "comirnaty": [3, 2]}, names=names)
    )
    alone = parse(shelf_chart(centre_name="B", start=MONDAY, shelf={"astra": [5, 1]}, names=names))

    def styles(root):
        return {
            line.find(f"{SVG}title").text: (line.get("stroke"), line.get("stroke-dasharray"))
            for line in polylines(root)
        }

    assert list(styles(both)) == ["Comirnaty", "Vaxzevria"]  # in the order of `names`
    assert styles(both)["Vaxzevria"] == styles(alone)["Vaxzevria"] == (COLOURS[2], DASHES[2])
    assert styles(both)["Comirnaty"] == (COLOURS[0], None)  # solid
