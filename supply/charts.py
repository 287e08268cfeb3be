"""Small charts for the admin, drawn on the server as inline SVG: no JavaScript, no library.

Pure functions from numbers to a safe SVG string. Lines are told apart by colour (the
Okabe–Ito palette, readable with the common colour-vision deficiencies) and by dash pattern,
so nothing depends on colour alone; text and axes use `currentColor` and follow the admin's
light or dark theme. Every chart has `role="img"`, an `aria-label` and a <title>.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F7F7F")
DASHES = ("", "9 4", "2 3", "12 3 3 3", "5 5", "1 6", "16 4")
FONT_SIZE = 12
CHAR_WIDTH = 6.2  # rough width of one character at FONT_SIZE, for laying out the legend
LEGEND_ROW = 20
LEGEND_SAMPLE = 30
MARGIN = {"left": 64, "right": 16, "top": 10, "bottom": 30}
DATE_STEPS = (1, 2, 7, 14, 28, 56, 91, 182, 364)


@dataclass(frozen=True)
class Series:
    """One line: a label and one value per day from the chart's start date. `style` picks its
    colour and dash pattern, so that a line keeps them across charts; by default its position."""

    label: str
    values: Sequence[int | float]
    style: int | None = None


def line_chart(
    *,
    series: Sequence[Series],
    start: date,
    label: str,
    description: str = "",
    marks: Sequence[tuple[int, str]] = (),
    y_title: str = "",
    width: int = 640,
    plot_height: int = 170,
    empty_text: str | None = None,
) -> SafeString:
    """A line chart of daily values: dates (dd.mm.) along x, values along y, a legend on top.

    `label` becomes the chart's accessible name (aria-label and <title>); `description` its
    <desc>. `marks` are (day index, text) drawn as labelled vertical lines; `y_title` names the
    values. Without any values the chart shows `empty_text` instead of lines.
    """
    drawn = [s for s in series if len(s.values)]
    legend = _legend_layout([s.label for s in drawn], width - MARGIN["left"] - MARGIN["right"])
    legend_height = (max((row for _x, row in legend), default=-1) + 1) * LEGEND_ROW
    top = MARGIN["top"] + legend_height + (8 if legend_height else 0)
    height = top + plot_height + MARGIN["bottom"]
    left, right = MARGIN["left"], width - MARGIN["right"]
    bottom = top + plot_height

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}" role="img" aria-label="{escape(label)}" class="chart"'
        f' font-family="system-ui, sans-serif" font-size="{FONT_SIZE}"'
        ' style="max-width: 100%; height: auto; overflow: visible">',
        f"<title>{escape(label)}</title>",
    ]
    if description:
        parts.append(f"<desc>{escape(description)}</desc>")
    if not drawn:
        parts.append(
            f'<rect x="{left}" y="{top}" width="{right - left}" height="{plot_height}" fill="none"'
            ' stroke="currentColor" stroke-opacity="0.3" stroke-dasharray="4 4"/>'
            f'<text x="{(left + right) / 2:g}" y="{top + plot_height / 2:g}" text-anchor="middle"'
            f' fill="currentColor">{escape(empty_text or _("Keine Daten"))}</text></svg>'
        )
        return mark_safe("".join(parts))  # every text in it is escaped

    days = max(len(s.values) for s in drawn)
    low = min(0, min(min(s.values) for s in drawn))
    high = max(0, max(max(s.values) for s in drawn))
    ticks = nice_ticks(low, high)
    y_min, y_max = ticks[0], ticks[-1]

    def x_at(index: int) -> float:
        return left + (right - left) * (index / (days - 1) if days > 1 else 0.5)

    def y_at(value: float) -> float:
        return bottom - (bottom - top) * (value - y_min) / (y_max - y_min)

    parts.append('<g class="grid" stroke="currentColor" stroke-opacity="0.15">')
    for value in ticks:
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y_at(value):.1f}" y2="{y_at(value):.1f}"/>')
    date_ticks = _date_ticks(start, days)
    for index in date_ticks:
        parts.append(f'<line x1="{x_at(index):.1f}" x2="{x_at(index):.1f}" y1="{top}" y2="{bottom}"/>')
    parts.append("</g>")
    # The axes, and the zero line when values go below zero.
    parts.append(
        f'<g stroke="currentColor" stroke-opacity="0.6"><line x1="{left}" x2="{left}" y1="{top}"'
        f' y2="{bottom}"/><line x1="{left}" x2="{right}" y1="{y_at(0):.1f}" y2="{y_at(0):.1f}"/></g>'
    )
    parts.append('<g class="y-axis" fill="currentColor" text-anchor="end">')
    for value in ticks:
        parts.append(f'<text x="{left - 6}" y="{y_at(value) + 4:.1f}">{escape(_number(value))}</text>')
    parts.append("</g>")
    if y_title:
        middle = (top + bottom) / 2
        parts.append(
            f'<text class="y-title" x="12" y="{middle:g}" transform="rotate(-90 12 {middle:g})"'
            f' text-anchor="middle" fill="currentColor">{escape(y_title)}</text>'
        )
    parts.append('<g class="x-axis" fill="currentColor" text-anchor="middle">')
    for index in date_ticks:
        day = start + timedelta(days=index)
        parts.append(f'<text x="{x_at(index):.1f}" y="{bottom + 18}">{day:%d.%m.}</text>')
    parts.append("</g>")

    for index, text in marks:
        if 0 <= index < days:
            x = x_at(index)
            parts.append(
                f'<g class="mark"><line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}"'
                ' stroke="currentColor" stroke-opacity="0.6" stroke-dasharray="3 3"/>'
                f'<text x="{x - 4:.1f}" y="{top + 12}" text-anchor="end" fill="currentColor"'
                f' font-size="{FONT_SIZE - 1}">{escape(text)}</text></g>'
            )

    parts.append('<g class="lines" fill="none" stroke-width="2" stroke-linejoin="round">')
    for number, line in enumerate(drawn):
        style = number if line.style is None else line.style
        points = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(line.values))
        if len(line.values) == 1:  # one point draws no line: repeat it a little to the right
            points += f" {x_at(0) + 4:.1f},{y_at(line.values[0]):.1f}"
        parts.append(
            f'<polyline stroke="{_colour(style)}"{_dash_attribute(style)} points="{points}">'
            f"<title>{escape(line.label)}</title></polyline>"
        )
    parts.append("</g>")

    parts.append('<g class="legend" fill="currentColor">')
    for number, (line, (x, row)) in enumerate(zip(drawn, legend, strict=True)):
        style = number if line.style is None else line.style
        x0, y = left + x, MARGIN["top"] + row * LEGEND_ROW + LEGEND_ROW / 2
        parts.append(
            f'<line x1="{x0:g}" x2="{x0 + LEGEND_SAMPLE - 6:g}" y1="{y:g}" y2="{y:g}" stroke-width="2"'
            f' stroke="{_colour(style)}"{_dash_attribute(style)}/>'
            f'<text x="{x0 + LEGEND_SAMPLE:g}" y="{y + 4:g}">{escape(line.label)}</text>'
        )
    parts.append("</g></svg>")
    return mark_safe("".join(parts))  # every text in it is escaped


def shelf_chart(
    *,
    centre_name: str,
    start: date,
    shelf: dict[str, Sequence[int]],
    names: dict[str, str],
    plan_days: int | None = None,
):
    """Doses on the shelf at the end of each day, one line per vaccine that has any.

    `shelf` maps vaccine codes to daily doses (the plan run report's "shelf"); `names` maps
    codes to the names in the legend, and its order gives each vaccine the same colour and dash
    on every chart. With `plan_days`, a line marks the end of the planned window.
    """
    codes = list(names) + [code for code in shelf if code not in names]
    series = [
        Series(names.get(code, code), shelf[code], style)
        for style, code in enumerate(codes)
        if code in shelf and any(value != 0 for value in shelf[code])
    ]
    label = shelf_summary(centre_name, series)
    description = "; ".join(
        _("%(vaccine)s: höchstens %(most)s, am Ende %(last)s")
        % {"vaccine": s.label, "most": _number(max(s.values)), "last": _number(s.values[-1])}
        for s in series
    )
    marks = [(plan_days - 1, _("Ende Planungszeitraum"))] if plan_days else []
    return line_chart(
        series=series,
        start=start,
        label=label,
        description=description,
        marks=marks,
        y_title=_("Dosen"),
        empty_text=_("Kein Impfstoff im Lager im Planungszeitraum"),
    )


def shelf_summary(centre_name: str, series: Sequence[Series]) -> str:
    """E.g. "Dosen im Lager, Impfzentrum Dresden: höchstens 12.000 (Comirnaty), am Ende 0"."""
    if not series:
        return _("Dosen im Lager, %(centre)s: kein Bestand") % {"centre": centre_name}
    most = max(series, key=lambda s: max(s.values))
    return _("Dosen im Lager, %(centre)s: höchstens %(most)s (%(vaccine)s), am Ende %(last)s") % {
        "centre": centre_name,
        "most": _number(max(most.values)),
        "vaccine": most.label,
        "last": _number(sum(s.values[-1] for s in series)),
    }


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten apart) covering [low, high]
    in about `count` steps; whole numbers in, whole-number ticks out."""
    if high <= low:
        high = low + 1
    whole = float(low).is_integer() and float(high).is_integer()
    raw = (high - low) / (count + 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(
        step
        for step in (m * magnitude for m in (1, 2, 2.5, 5, 10))
        if step >= raw and not (whole and step >= 1 and not float(step).is_integer())
    )
    if whole and step < 1:
        step = 1  # whole doses: no ticks between them
    first, last = math.floor(low / step), math.ceil(high / step)
    return [_clean(i * step) for i in range(first, last + 1)]


def _clean(value: float) -> float:
    rounded = round(value, 10)
    return int(rounded) if float(rounded).is_integer() else rounded


def _date_ticks(start: date, days: int, most: int = 7) -> list[int]:
    """Indexes of the days to label: evenly spaced, on Mondays once a step spans weeks."""
    step = next((s for s in DATE_STEPS if days / s <= most), DATE_STEPS[-1])
    first = (7 - start.weekday()) % 7 if step % 7 == 0 else 0
    return list(range(first, days, step))


def _legend_layout(labels: Sequence[str], width: float) -> list[tuple[float, int]]:
    """Where each legend entry goes: (x offset, row), wrapping to a new row when one is full."""
    placed, x, row = [], 0.0, 0
    for label in labels:
        entry = LEGEND_SAMPLE + len(label) * CHAR_WIDTH + 18
        if x and x + entry > width:
            x, row = 0.0, row + 1
        placed.append((x, row))
        x += entry
    return placed


def _colour(number: int) -> str:
    return COLOURS[number % len(COLOURS)]


def _dash_attribute(number: int) -> str:
    dash = DASHES[number % len(DASHES)]
    return f' stroke-dasharray="{dash}"' if dash else ""


def _number(value: float) -> str:
    return number_format(value, force_grouping=True)
