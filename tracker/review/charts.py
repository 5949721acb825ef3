"""Server-rendered SVG line charts of the trends: no JavaScript, no library, nothing from another site.

A chart is an <svg role="img"> scaled by its viewBox (width 100 %), named by its <title> and <desc>, followed in
the page by its data table for screen readers. Right-to-left in Arabic: the oldest cycle is on the right, the
value axis on the right, the legend reads from the right. Lines differ by colour, dash and marker shape, so
colour is never the only signal. Every label is escaped (format_html); numbers follow the active language's
formats (project/formats/ar). Colours, dashes and sizes are SVG presentation attributes, allowed by the
Content-Security-Policy (no style attribute), so the same SVG renders in the meeting pack without our CSS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.utils import translation
from django.utils.formats import date_format, number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext, ngettext

from tracker.core.trends import PERCENT_MEASURES, Change, Direction, Measure, Point, Series

WIDTH = 360
AXIS_SIDE = 40  # room for the value axis' labels
FAR_SIDE = 8
INSET = 20  # the first and last cycles stand this far inside the plot, so their labels clear the axis
TOP = 16
TICK_ROOM = 40  # two lines of cycle labels under the plot
LEGEND_ROW = 18
FONT = 12
POINT_FONT = 11
LABEL_GAP = 12  # least vertical distance between two point labels of one cycle
LEGEND_CHARS = 22  # a longer name is cut in the legend (the data table has it in full)

#: colour (at least 4.5:1 on white), dash pattern, marker shape; a line keeps its style in every chart.
STYLES = [
    ("#0b5cad", "", "circle"),
    ("#1a7f37", "6 3", "square"),
    ("#8a5a00", "2 3", "triangle"),
    ("#c62828", "", "diamond"),
    ("#8250df", "6 3", "circle"),
    ("#0e7490", "2 3", "square"),
    ("#6e2b00", "", "triangle"),
    ("#57606a", "6 3", "diamond"),
]
MEASURE_STYLE = {measure: index for index, measure in enumerate(Measure)}
ARROWS = {"up": "↑", "down": "↓", "same": "="}


# --- numbers --------------------------------------------------------------------------------------


def number(value: int | float) -> str:
    """A number in the active language's format (Arabic: Western digits, comma between thousands)."""
    return number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def percent(value: int | float) -> str:
    return gettext("%(number)s%%") % {"number": number(value)}


# --- the renderer ---------------------------------------------------------------------------------


@dataclass
class Column:
    """One cycle on the time axis: a short tick label (one or two lines) and its full name for the table."""

    ticks: tuple[str, ...]
    name: str


@dataclass
class Line:
    """One polyline. A value of None is a gap in the line; its table cell says why (`missing`)."""

    label: str
    values: list[int | None]
    style: int = 0
    missing: list[str] = field(default_factory=list)

    def cell(self, index: int, percent_axis: bool) -> str:
        value = self.values[index]
        if value is not None:
            return percent(value) if percent_axis else number(value)
        return self.missing[index] if index < len(self.missing) and self.missing[index] else gettext("no items")


@dataclass
class Table:
    caption: str
    corner: str
    headers: list[str]
    rows: list[tuple[str, list[str]]]


@dataclass
class Chart:
    """What the partial needs: the SVG and its data table."""

    chart_id: str
    title: str
    description: str
    svg: SafeString
    table: Table


@dataclass
class _Frame:
    """The plot's geometry, mirrored for right-to-left."""

    columns: int
    height: int
    top_value: int
    rtl: bool

    @property
    def left(self) -> int:
        return FAR_SIDE if self.rtl else AXIS_SIDE

    @property
    def right(self) -> int:
        return WIDTH - (AXIS_SIDE if self.rtl else FAR_SIDE)

    @property
    def bottom(self) -> int:
        return TOP + self.height

    def x(self, index: int) -> float:
        if self.columns == 1:
            return (self.left + self.right) / 2
        step = (self.right - self.left - 2 * INSET) / (self.columns - 1)
        offset = INSET + index * step
        return self.right - offset if self.rtl else self.left + offset

    def y(self, value: float) -> float:
        return self.bottom - self.height * value / self.top_value if self.top_value else self.bottom

    def anchor(self, side: str) -> str:
        """text-anchor for text that should end at x ("right") or begin at x ("left"), physically. The SVG's
        direction is the language's, so Arabic text shapes and orders correctly; "start" then means the right
        end of the text in right-to-left."""
        if side == "middle":
            return "middle"
        ends_at_x = side == "right"
        return "start" if ends_at_x == self.rtl else "end"


def line_chart(
    chart_id: str,
    title: str,
    columns: list[Column],
    lines: list[Line],
    *,
    percent_axis: bool = True,
    description: str = "",
    rtl: bool | None = None,
    height: int = 130,
) -> Chart:
    """An SVG line chart of `lines` over `columns` (oldest first) with its data table.

    `percent_axis`: a 0–100 % axis, else a count axis from 0 to a round number above the largest value.
    `rtl` defaults to the active language's direction. `description` goes to the SVG's <desc> (a summary of
    each line is made when it is empty).
    """
    rtl = translation.get_language_bidi() if rtl is None else rtl
    chart_id = slugify(chart_id) or "chart"
    values = [v for line in lines for v in line.values if v is not None]
    top, ticks = (100, [0, 25, 50, 75, 100]) if percent_axis else _count_axis(max(values, default=0))
    frame = _Frame(columns=max(len(columns), 1), height=height, top_value=top, rtl=rtl)
    description = description or _describe(columns, lines, percent_axis)
    legend_rows = math.ceil(len(lines) / 2)
    total_height = frame.bottom + TICK_ROOM + legend_rows * LEGEND_ROW + 4
    body = format_html(
        "{}{}{}{}{}",
        _value_axis(frame, ticks, percent_axis),
        _time_axis(frame, columns),
        format_html_join("", "{}", ((_line(frame, line, columns, percent_axis),) for line in lines)),
        _point_labels(frame, lines, percent_axis),
        _legend(frame, lines, frame.bottom + TICK_ROOM),
    )
    svg = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" viewBox="0 0 {w} {h}" width="100%" '
        'role="img" aria-labelledby="{id}-title {id}-desc" direction="{dir}" font-size="{font}" '
        'font-family="Noto Sans, Noto Sans Arabic, system-ui, sans-serif">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        w=WIDTH,
        h=total_height,
        id=chart_id,
        dir="rtl" if rtl else "ltr",
        font=FONT,
        title=title,
        desc=description,
        body=body,
    )
    return Chart(chart_id, title, description, svg, _table(title, columns, lines, percent_axis))


def _count_axis(largest: int) -> tuple[int, list[int]]:
    """A round top (1, 2 or 5 times a power of ten, in at most 5 steps) and its ticks; at least 0–4."""
    if largest <= 4:
        return 4, [0, 1, 2, 3, 4]
    rough = largest / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(power * m for m in (1, 2, 5, 10) if power * m >= rough)
    top = step * math.ceil(largest / step)
    return top, list(range(0, top + 1, step))


def _f(value: float) -> str:
    """A coordinate: plain digits whatever the language (number_format would group them)."""
    return f"{value:.1f}"


def _value_axis(frame: _Frame, ticks: list[int], percent_axis: bool) -> SafeString:
    label_x = frame.left - 5 if not frame.rtl else frame.right + 5
    rows = []
    for tick in ticks:
        y = _f(frame.y(tick))
        rows.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1"/>'
                '<text x="{}" y="{}" text-anchor="{}" dominant-baseline="middle" fill="#57606a">{}</text>',
                frame.left,
                frame.right,
                y,
                y,
                "#8c959f" if tick == 0 else "#d0d7de",
                label_x,
                y,
                frame.anchor("right" if not frame.rtl else "left"),
                percent(tick) if percent_axis else number(tick),
            )
        )
    return format_html('<g class="axis value-axis">{}</g>', mark_safe("".join(rows)))


def _time_axis(frame: _Frame, columns: list[Column]) -> SafeString:
    parts = []
    for index, column in enumerate(columns):
        x = _f(frame.x(index))
        spans = format_html_join(
            "",
            '<tspan x="{}" dy="{}">{}</tspan>',
            ((x, 0 if n == 0 else FONT + 2, text) for n, text in enumerate(column.ticks)),
        )
        parts.append(
            format_html(
                '<text y="{}" text-anchor="middle" fill="#57606a">{}</text>', _f(frame.bottom + FONT + 4), spans
            )
        )
    return format_html('<g class="axis time-axis">{}</g>', mark_safe("".join(parts)))


def _marker(shape: str, x: float, y: float, colour: str, tip: str) -> SafeString:
    tip_html = format_html("<title>{}</title>", tip)
    common = format_html('fill="{}" stroke="#fff" stroke-width="1"', colour)
    if shape == "circle":
        return format_html('<circle cx="{}" cy="{}" r="3.5" {}>{}</circle>', _f(x), _f(y), common, tip_html)
    if shape == "square":
        return format_html(
            '<rect x="{}" y="{}" width="7" height="7" {}>{}</rect>', _f(x - 3.5), _f(y - 3.5), common, tip_html
        )
    offsets = [(0, -4.5), (4, 3), (-4, 3)] if shape == "triangle" else [(0, -4.5), (4.5, 0), (0, 4.5), (-4.5, 0)]
    points = " ".join(f"{_f(x + dx)},{_f(y + dy)}" for dx, dy in offsets)
    return format_html('<polygon points="{}" {}>{}</polygon>', points, common, tip_html)


def _segments(frame: _Frame, values: list[int | None]) -> list[list[tuple[float, float]]]:
    """The polyline's runs of known values: a gap where a value is missing."""
    runs: list[list[tuple[float, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append((frame.x(index), frame.y(value)))
    return [run for run in runs if run]


def _line(frame: _Frame, line: Line, columns: list[Column], percent_axis: bool) -> SafeString:
    colour, dash, shape = STYLES[line.style % len(STYLES)]
    polylines = format_html_join(
        "",
        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" stroke-dasharray="{}" '
        'stroke-linejoin="round"/>',
        (
            (" ".join(f"{_f(x)},{_f(y)}" for x, y in run), colour, dash or "none")
            for run in _segments(frame, line.values)
        ),
    )
    markers = format_html_join(
        "",
        "{}",
        (
            (
                _marker(
                    shape,
                    frame.x(index),
                    frame.y(value),
                    colour,
                    f"{line.label}, {columns[index].name}: {line.cell(index, percent_axis)}",
                ),
            )
            for index, value in enumerate(line.values)
            if value is not None and index < len(columns)
        ),
    )
    return format_html('<g class="series">{}{}</g>', polylines, markers)


def _point_labels(frame: _Frame, lines: list[Line], percent_axis: bool) -> SafeString:
    """Each point's value above it; labels of one cycle are pushed apart so they never overlap."""
    texts = []
    for index in range(frame.columns):
        placed = sorted(
            (frame.y(value), n, line)
            for n, line in enumerate(lines)
            if index < len(line.values) and (value := line.values[index]) is not None
        )
        ys = _spread([y - 7 for y, _n, _line in placed], frame.bottom - 2)
        for label_y, (_y, _n, line) in zip(ys, placed, strict=True):
            texts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" fill="{}" stroke="#fff" stroke-width="3" '
                    'paint-order="stroke" font-size="{}" font-weight="600">{}</text>',
                    _f(frame.x(index)),
                    _f(label_y),
                    STYLES[line.style % len(STYLES)][0],
                    POINT_FONT,
                    line.cell(index, percent_axis),
                )
            )
    return format_html('<g class="point-labels" aria-hidden="true">{}</g>', mark_safe("".join(texts)))


def _spread(ys: list[float], lowest: float) -> list[float]:
    """Baselines at least LABEL_GAP apart, top to bottom; moved up together if the last would fall below
    `lowest` (into the cycle labels), but never above the top of the drawing."""
    placed: list[float] = []
    for y in ys:
        placed.append(max(y, placed[-1] + LABEL_GAP if placed else POINT_FONT))
    overflow = min(placed[-1] - lowest if placed else 0, placed[0] - POINT_FONT if placed else 0)
    return [y - overflow for y in placed] if overflow > 0 else placed


def _legend(frame: _Frame, lines: list[Line], top: float) -> SafeString:
    """Two columns of entries, read from the start side: a sample of the line with its marker, then the name."""
    column_width = (WIDTH - 2 * FAR_SIDE) / 2
    entries = []
    for index, line in enumerate(lines):
        colour, dash, shape = STYLES[line.style % len(STYLES)]
        row, column = divmod(index, 2)
        y = top + row * LEGEND_ROW + 6
        start = WIDTH - FAR_SIDE - column * column_width if frame.rtl else FAR_SIDE + column * column_width
        sample_end = start - 22 if frame.rtl else start + 22
        text_x = start - 28 if frame.rtl else start + 28
        label = line.label if len(line.label) <= LEGEND_CHARS else line.label[: LEGEND_CHARS - 1] + "…"
        entries.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="2" stroke-dasharray="{}"/>{}'
                '<text x="{}" y="{}" text-anchor="{}" dominant-baseline="middle" fill="#1b1f24">{}</text>',
                _f(start),
                _f(sample_end),
                _f(y),
                _f(y),
                colour,
                dash or "none",
                _marker(shape, (start + sample_end) / 2, y, colour, line.label),
                _f(text_x),
                _f(y),
                frame.anchor("right" if frame.rtl else "left"),
                label,
            )
        )
    return format_html('<g class="legend">{}</g>', mark_safe("".join(entries)))


def _describe(columns: list[Column], lines: list[Line], percent_axis: bool) -> str:
    """Each line in words, for the SVG's <desc>: "Reporting rate: 40% at Cycle 1; 45% at Cycle 2."."""
    sentences = []
    for line in lines:
        steps = [
            gettext("%(value)s at %(cycle)s") % {"value": line.cell(i, percent_axis), "cycle": column.name}
            for i, column in enumerate(columns)
        ]
        sentences.append(gettext("%(line)s: %(values)s.") % {"line": line.label, "values": "; ".join(steps)})
    return " ".join(sentences)


def _table(title: str, columns: list[Column], lines: list[Line], percent_axis: bool) -> Table:
    rows = [(column.name, [line.cell(i, percent_axis) for line in lines]) for i, column in enumerate(columns)]
    return Table(caption=title, corner=gettext("Review cycle"), headers=[line.label for line in lines], rows=rows)


# --- trends as panels of charts -------------------------------------------------------------------


@dataclass
class ChangeLine:
    """One measure "since the last review", in words; the arrow (the value's movement) is not the only signal."""

    label: str
    value: str
    delta: str
    direction: str  # "better", "worse", "same" or "" (cannot be compared)
    words: str
    arrow: str


@dataclass
class TrendPanel:
    """Everything `templates/review/_trend_chart.html` renders: no request, no other context needed."""

    panel_id: str
    heading: str
    charts: list[Chart]
    changes: list[ChangeLine]
    detail: str = ""
    link: str = ""
    level: int = 3
    notes: list[str] = field(default_factory=list)
    show_tables: bool = False


def columns_of(series: Series) -> list[Column]:
    """The time axis: the month and year each cycle's period ended (several cycles may close on one day, never
    two periods end together), and the cycle's name in full for the table."""
    return [
        Column(ticks=(date_format(p.cycle.period_end, "M"), date_format(p.cycle.period_end, "Y")), name=p.cycle.name)
        for p in series.points
    ]


def trend_panel(
    series: Series,
    panel_id: str,
    *,
    heading: str | None = None,
    level: int = 3,
    link: str = "",
    show_tables: bool = False,
    rtl: bool | None = None,
) -> TrendPanel:
    """Two charts of one series (the three percentages; the stalled count), with what changed since the last
    review. Build it in the language it will be shown in (translation.override for the meeting pack)."""
    heading = heading if heading is not None else series.label
    columns = columns_of(series)
    percent_lines = [_measure_line(series, measure) for measure in PERCENT_MEASURES]
    stalled_line = _measure_line(series, Measure.STALLED)
    charts = [
        line_chart(
            f"{panel_id}-percent",
            gettext("%(group)s: reporting rate, share implemented and average progress") % {"group": heading},
            columns,
            percent_lines,
            rtl=rtl,
        ),
        line_chart(
            f"{panel_id}-stalled",
            gettext("%(group)s: stalled items at each close") % {"group": heading},
            columns,
            [stalled_line],
            percent_axis=False,
            rtl=rtl,
            height=80,
        ),
    ]
    return TrendPanel(
        panel_id=slugify(panel_id),
        heading=heading,
        detail=series.detail,
        link=link,
        level=level,
        charts=charts,
        changes=[change_line(series, change) for change in series.changes],
        notes=_unrecorded_note(series),
        show_tables=show_tables,
    )


def _missing(point: Point, measure: Measure) -> str:
    """Why a point has no value: no item of the group was frozen (or none applied), or the stalled reasons were
    not frozen at that close."""
    if measure == Measure.STALLED and point.frozen:
        return gettext("not recorded")
    return gettext("no items")


def _measure_line(series: Series, measure: Measure) -> Line:
    return Line(
        str(measure.label),
        [point.value(measure) for point in series.points],
        style=MEASURE_STYLE[measure],
        missing=[_missing(point, measure) for point in series.points],
    )


def _unrecorded_note(series: Series) -> list[str]:
    cycles = [p.cycle.name for p in series.points if p.frozen and p.stalled is None]
    if not cycles:
        return []
    return [gettext("Stalled items were not recorded at the close of: %(cycles)s.") % {"cycles": ", ".join(cycles)}]


def change_line(series: Series, change: Change) -> ChangeLine:
    measure = change.measure
    show = percent if measure.is_percent else number
    latest = series.latest
    value = show(change.after) if change.after is not None else _missing(latest, measure) if latest else ""
    direction = change.direction
    if direction is None:
        words = (
            gettext("no earlier review to compare with")
            if len(series.points) < 2
            else gettext("cannot be compared with the last review")
        )
        return ChangeLine(str(measure.label), value, "", "", words, "")
    delta = change.delta or 0
    sign = "+" if delta > 0 else "−"
    if measure.is_percent:
        delta_text = ngettext("%(sign)s%(number)s point", "%(sign)s%(number)s points", abs(delta))
    else:
        delta_text = ngettext("%(sign)s%(number)s item", "%(sign)s%(number)s items", abs(delta))
    words = {
        Direction.BETTER: gettext("better since the last review"),
        Direction.WORSE: gettext("worse since the last review"),
        Direction.SAME: gettext("the same as at the last review"),
    }[direction]
    arrow = ARROWS["up" if delta > 0 else "down" if delta < 0 else "same"]
    return ChangeLine(
        str(measure.label),
        value,
        # Isolated left-to-right (U+2066 ... U+2069) so the sign stays before the number in Arabic.
        delta_text % {"sign": "\u2066" + sign, "number": number(abs(delta)) + "\u2069"} if delta else "",
        direction.value,
        words,
        arrow,
    )
