"""Charts drawn as inline SVG on the server, so pages need no script and work offline.

Each chart is an <svg role="img"> whose first <title> names it for screen readers; each
bar carries its own <title> and its value written beside it, so no number is told by
colour or length alone. Markup is built only from literal templates whose `format`
escapes every value, so a label can never inject markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 150
PLOT_WIDTH = 260
WEEK_PLOT_WIDTH = 570
VALUE_WIDTH = 50
COLUMN_PLOT_HEIGHT = 160
COLUMN_MARGIN_LEFT = 40
COLUMN_MARGIN_BOTTOM = 40
COLUMN_MAX_WIDTH = 36
TOP = 8
COLUMN_TOP = 20

_SVG = Markup(
    '<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
    'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>{body}</svg>'
)
_EMPTY = Markup('<text class="empty" x="10" y="30">{message}</text>')
_BAR = Markup(
    '<g class="bar"><title>{label}: {count}</title>'
    '<text class="label" x="{label_x}" y="{middle}" text-anchor="end">{short}</text>'
    '<rect class="bar" x="{x}" y="{y}" width="{width}" height="{height}"/>'
    '<text class="value" x="{value_x}" y="{middle}">{value}</text></g>'
)
_LINE = Markup('<line class="axis" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"/>')
_COLUMN = Markup(
    '<g class="column"><title>{label}</title>'
    '<rect class="bar" x="{x:.1f}" y="{y}" width="{width:.1f}" height="{height}"/>'
    '<text class="value" x="{middle:.1f}" y="{value_y}" text-anchor="middle">{value}</text></g>'
)
_TEXT = Markup('<text class="{kind}" x="{x}" y="{y}" text-anchor="{anchor}">{text}</text>')


def _svg(width: int, height: int, title: str, body: Sequence[Markup]) -> Markup:
    return _SVG.format(width=width, height=height, title=title, body=Markup("").join(body))


def _empty(title: str, message: str) -> Markup:
    return _svg(PLOT_WIDTH, 50, title, [_EMPTY.format(message=message)])


def _shorten(label: str, limit: int = 24) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _count(value: int, unit: str) -> str:
    """ "1 case", "3 cases": a unit is given in the plural."""
    return f"{value} {unit[:-1] if value == 1 and unit.endswith('s') else unit}"


def _bar(index: int, label: str, value: int, top: int, unit: str) -> Markup:
    y = TOP + index * (BAR_HEIGHT + BAR_GAP)
    width = round(PLOT_WIDTH * value / top) if top else 0
    return _BAR.format(
        label=label,
        short=_shorten(label),
        value=value,
        count=_count(value, unit),
        label_x=LABEL_WIDTH - 6,
        middle=y + BAR_HEIGHT // 2 + 4,
        x=LABEL_WIDTH,
        y=y,
        width=width,
        height=BAR_HEIGHT,
        value_x=LABEL_WIDTH + width + 4,
    )


def bar_chart(
    items: Sequence[tuple[str, int]],
    *,
    title: str,
    unit: str = "cases",
    empty: str = "No cases in this range.",
) -> Markup:
    """A horizontal bar per (label, value), in the order given."""
    if not items or all(value == 0 for _, value in items):
        return _empty(title, empty)
    top = max(value for _, value in items)
    bars = [_bar(n, label, value, top, unit) for n, (label, value) in enumerate(items)]
    height = TOP * 2 + len(items) * (BAR_HEIGHT + BAR_GAP)
    axis = _LINE.format(x1=LABEL_WIDTH, y1=TOP, x2=LABEL_WIDTH, y2=height - TOP)
    return _svg(LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH, height, title, [axis, *bars])


def _column(index: int, step: float, day: date, value: int, top: int, unit: str) -> Markup:
    height = round(COLUMN_PLOT_HEIGHT * value / top) if top else 0
    width = min(step * 0.8, COLUMN_MAX_WIDTH)
    x = COLUMN_MARGIN_LEFT + index * step + (step - width) / 2
    y = COLUMN_TOP + COLUMN_PLOT_HEIGHT - height
    return _COLUMN.format(
        label=f"Week of {day.isoformat()}: {_count(value, unit)}",
        x=x,
        y=y,
        width=width,
        height=height,
        middle=x + width / 2,
        value_y=y - 2,
        value=value,
    )


def _tick(index: int, step: float, day: date, every: int) -> Markup:
    if index % every:
        return Markup("")
    x = round(COLUMN_MARGIN_LEFT + index * step + step / 2, 1)
    y = COLUMN_TOP + COLUMN_PLOT_HEIGHT + 14
    return _TEXT.format(kind="tick", x=x, y=y, anchor="middle", text=f"{day:%d %b}")


def _column_axes(width: int, top: int, axis_label: str) -> list[Markup]:
    bottom = COLUMN_TOP + COLUMN_PLOT_HEIGHT
    left = COLUMN_MARGIN_LEFT
    return [
        _LINE.format(x1=left, y1=bottom, x2=width, y2=bottom),
        _LINE.format(x1=left, y1=COLUMN_TOP, x2=left, y2=bottom),
        _TEXT.format(kind="tick", x=left - 4, y=COLUMN_TOP + 10, anchor="end", text=top),
        _TEXT.format(kind="tick", x=left - 4, y=bottom, anchor="end", text=0),
        _TEXT.format(kind="axis-label", x=left, y=bottom + 32, anchor="start", text=axis_label),
    ]


def week_chart(
    weeks: Sequence[tuple[date, int]],
    *,
    title: str,
    unit: str = "cases",
    axis_label: str = "Week starting (Monday)",
) -> Markup:
    """A column per ISO week (given by its Monday), oldest first, with its count above it."""
    if not weeks:
        return _empty(title, "No weeks in this range.")
    top = max(value for _, value in weeks)
    plot = max(WEEK_PLOT_WIDTH, len(weeks) * 12)
    step = plot / len(weeks)
    every = max(1, round(len(weeks) / 12))
    width = COLUMN_MARGIN_LEFT + plot
    parts = _column_axes(width, top, axis_label)
    for n, (day, value) in enumerate(weeks):
        parts.append(_column(n, step, day, value, top, unit))
        parts.append(_tick(n, step, day, every))
    height = COLUMN_TOP + COLUMN_PLOT_HEIGHT + COLUMN_MARGIN_BOTTOM
    return _svg(width + VALUE_WIDTH // 2, height, title, parts)


MONTH_PLOT_WIDTH = 240
_HIDDEN_COLUMN = Markup(
    '<g class="column hidden"><title>{label}</title>'
    '<text class="value hidden" x="{middle:.1f}" y="{value_y}" text-anchor="middle">{value}</text>'
    "</g>"
)
_EMPTY_COLUMN = Markup('<g class="column empty"><title>{label}</title></g>')


def _month_column(
    index: int, step: float, month: str, value: int | None, top: int, hidden: str
) -> Markup:
    bottom = COLUMN_TOP + COLUMN_PLOT_HEIGHT
    middle = COLUMN_MARGIN_LEFT + index * step + step / 2
    if value is None:
        label = f"{month}: {hidden} reports, withheld"
        return _HIDDEN_COLUMN.format(label=label, middle=middle, value_y=bottom - 2, value=hidden)
    if value == 0:
        return _EMPTY_COLUMN.format(label=f"{month}: no report")
    height = round(COLUMN_PLOT_HEIGHT * value / top) if top else 0
    width = min(step * 0.8, COLUMN_MAX_WIDTH)
    x = middle - width / 2
    y = bottom - height
    return _COLUMN.format(
        label=f"{month}: {_count(value, 'reports')}",
        x=x,
        y=y,
        width=width,
        height=height,
        middle=middle,
        value_y=y - 2,
        value=value,
    )


def month_chart(
    months: Sequence[tuple[str, int | None]],
    *,
    title: str,
    hidden: str,
    axis_label: str = "Month",
) -> Markup:
    """A column per month ("2026-11"), oldest first, with its count above it; a month
    without reports has none, and a count that is withheld (None) has no column and says
    `hidden` ("<5") in its place."""
    if not months:
        return _empty(title, "No months in this range.")
    top = max((value for _, value in months if value is not None), default=0)
    plot = max(MONTH_PLOT_WIDTH, len(months) * 24)
    step = plot / len(months)
    every = max(1, round(len(months) / 4))
    width = COLUMN_MARGIN_LEFT + plot
    parts = _column_axes(width, top, axis_label)
    if not top:
        del parts[2]  # every count withheld or none: the axis says 0 once, at the bottom
    y = COLUMN_TOP + COLUMN_PLOT_HEIGHT + 14
    for n, (month, value) in enumerate(months):
        parts.append(_month_column(n, step, month, value, top, hidden))
        if n % every == 0:
            x = round(COLUMN_MARGIN_LEFT + n * step + step / 2, 1)
            parts.append(_TEXT.format(kind="tick", x=x, y=y, anchor="middle", text=month))
    height = COLUMN_TOP + COLUMN_PLOT_HEIGHT + COLUMN_MARGIN_BOTTOM
    return _svg(width + VALUE_WIDTH // 2, height, title, parts)
