"""The inline SVG charts: escaped labels, one shape per value, titles for screen readers."""

from __future__ import annotations

import re
from datetime import date, timedelta
from xml.etree import ElementTree

from gateway.admin.charts import bar_chart, week_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)  # noqa: S314  (our own output)


def test_bar_chart_escapes_every_label() -> None:
    hostile = '<script>alert("x")</script> & "quotes"'
    markup = str(bar_chart([(hostile, 3)], title="<b>Title</b>"))
    assert "<script>" not in markup
    assert "<b>" not in markup
    root = _parse(markup)
    assert root.find(f"{SVG}title").text == "<b>Title</b>"  # type: ignore[union-attr]
    assert any(hostile in (node.text or "") for node in root.iter(f"{SVG}title"))


def test_bar_chart_draws_one_bar_per_item_scaled_to_the_largest() -> None:
    root = _parse(str(bar_chart([("a", 10), ("b", 5), ("c", 0)], title="T")))
    bars = list(root.iter(f"{SVG}rect"))
    assert len(bars) == 3
    widths = [int(bar.get("width", "-1")) for bar in bars]
    assert widths[0] == 2 * widths[1]
    assert widths[2] == 0
    values = [node.text for node in root.iter(f"{SVG}text") if node.get("class") == "value"]
    assert values == ["10", "5", "0"]


def test_bar_titles_say_the_value_in_words() -> None:
    markup = str(bar_chart([("North Kivu", 1), ("South Kivu", 2)], title="T"))
    assert "North Kivu: 1 case<" in markup
    assert "South Kivu: 2 cases<" in markup


def test_empty_charts_say_so() -> None:
    for markup in (
        bar_chart([], title="Empty"),
        bar_chart([("a", 0)], title="Empty"),
        week_chart([], title="Empty"),
    ):
        root = _parse(str(markup))
        assert root.get("role") == "img"
        assert list(root.iter(f"{SVG}rect")) == []
        assert re.search(r"No (cases|weeks) in this range", str(markup))


def test_week_chart_has_a_column_per_week_with_axes() -> None:
    monday = date(2026, 9, 7)
    weeks = [(monday + timedelta(weeks=n), n % 3) for n in range(12)]
    root = _parse(str(week_chart(weeks, title="Weekly")))
    columns = list(root.iter(f"{SVG}rect"))
    assert len(columns) == 12
    heights = [int(column.get("height", "-1")) for column in columns]
    assert heights[0] == 0
    assert heights[2] == 2 * heights[1]
    assert len(list(root.iter(f"{SVG}line"))) == 2
    titles = [node.text for node in root.iter(f"{SVG}title")]
    assert titles[0] == "Weekly"
    assert "Week of 2026-09-07: 0 cases" in titles
    assert any("Week starting" in (node.text or "") for node in root.iter(f"{SVG}text"))


def test_long_ranges_thin_out_the_tick_labels() -> None:
    monday = date(2024, 1, 1)
    weeks = [(monday + timedelta(weeks=n), 1) for n in range(156)]
    root = _parse(str(week_chart(weeks, title="Three years")))
    ticks = [node for node in root.iter(f"{SVG}text") if node.get("class") == "tick"]
    assert len(ticks) < 20
