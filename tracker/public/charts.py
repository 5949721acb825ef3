"""The public pages' progress chart: one horizontal bar per closed review cycle, the share of the published items
implemented and in progress when it closed. Server-rendered inline SVG: no JavaScript, no library, nothing from
another site.

Bars rather than lines because a phone is narrow and cycle names are long: each cycle gets a row, its full width
and its name above the bar. The SVG's direction is the page's, so in Arabic the bars grow from the right and
"start"-anchored text begins at the right edge. The two shares differ by colour and by hatching, so colour is
never the only signal; the chart is named by its <title> and <desc>, and the page follows it with the same
figures in a table. Colours and sizes are SVG presentation attributes, allowed by the Content-Security-Policy
(which forbids style attributes).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import translation
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

WIDTH = 360
EDGE = 2
ROW = 46  # a label line and a bar
LABEL_BASELINE = 15
BAR_TOP = 22
BAR_HEIGHT = 16
FONT = 13
NAME_CHARS = 30  # a longer cycle name is cut in the chart (the table under it has it in full)

IMPLEMENTED = "#116329"
IN_PROGRESS_FILL = "#f2cc60"
IN_PROGRESS_LINE = "#7d4e00"
TRACK = "#eaeef2"
TRACK_LINE = "#8c959f"
TEXT = "#1b1f24"


def number(value: int | float) -> str:
    """A number in the active language's format."""
    return number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def percent(value: int | float) -> str:
    return gettext("%(number)s%%") % {"number": number(value)}


@dataclass(frozen=True)
class CyclePoint:
    """What the published items added up to when one cycle closed."""

    name: str
    items: int
    implemented: int
    in_progress: int

    @property
    def share_implemented(self) -> int:
        return round(100 * self.implemented / self.items) if self.items else 0

    @property
    def share_in_progress(self) -> int:
        # Rounded so that the two shares never add up to more than the whole bar.
        if not self.items:
            return 0
        return min(round(100 * self.in_progress / self.items), 100 - self.share_implemented)


@dataclass(frozen=True)
class ProgressChart:
    """The SVG and the figures of its table."""

    chart_id: str
    title: str
    description: str
    svg: SafeString
    points: list[CyclePoint]


def progress_chart(chart_id: str, title: str, points: list[CyclePoint]) -> ProgressChart | None:
    """The chart of `points` (oldest cycle first), or None when no cycle has closed."""
    if not points:
        return None
    last = points[-1]
    description = gettext("When %(cycle)s closed: %(implemented)s implemented, %(in_progress)s in progress.") % {
        "cycle": last.name,
        "implemented": percent(last.share_implemented),
        "in_progress": percent(last.share_in_progress),
    }
    svg = _svg(chart_id, title, description, points, translation.get_language_bidi())
    return ProgressChart(chart_id, title, description, svg, points)


def _svg(chart_id: str, title: str, description: str, points: list[CyclePoint], rtl: bool) -> SafeString:
    height = ROW * len(points)
    rows = format_html_join("", "{}", ((_row(chart_id, index, point, rtl),) for index, point in enumerate(points)))
    return format_html(
        '<svg class="chart" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {w} {h}" width="100%" '
        'direction="{direction}" font-size="{font}" fill="{text}" focusable="false">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{description}</desc>'
        '<defs><pattern id="{id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="{fill}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="{line}" stroke-width="2"/></pattern></defs>{rows}</svg>',
        id=chart_id,
        w=WIDTH,
        h=height,
        direction="rtl" if rtl else "ltr",
        font=FONT,
        text=TEXT,
        title=title,
        description=description,
        fill=IN_PROGRESS_FILL,
        line=IN_PROGRESS_LINE,
        rows=rows,
    )


def _row(chart_id: str, index: int, point: CyclePoint, rtl: bool) -> SafeString:
    top = index * ROW
    inner = WIDTH - 2 * EDGE
    done = inner * point.share_implemented / 100
    going = inner * point.share_in_progress / 100
    start, end = (WIDTH - EDGE, EDGE) if rtl else (EDGE, WIDTH - EDGE)

    def x_of(offset: float, width: float) -> float:
        """The left x of a segment `offset` from the start edge (mirrored in right-to-left)."""
        return WIDTH - EDGE - offset - width if rtl else EDGE + offset

    name = point.name if len(point.name) <= NAME_CHARS else point.name[: NAME_CHARS - 1] + "…"
    figures = f"{percent(point.share_implemented)} · {percent(point.share_in_progress)}"
    return format_html(
        '<g><text x="{start}" y="{label}" text-anchor="start">{name}</text>'
        '<text x="{end}" y="{label}" text-anchor="end" font-weight="700">{figures}</text>'
        '<rect x="{edge}" y="{bar}" width="{inner}" height="{h}" fill="{track}" stroke="{track_line}"/>'
        '<rect x="{done_x}" y="{bar}" width="{done}" height="{h}" fill="{implemented}"/>'
        '<rect x="{going_x}" y="{bar}" width="{going}" height="{h}" fill="url(#{id}-hatch)" '
        'stroke="{going_line}"{hide}/></g>',
        start=start,
        end=end,
        label=top + LABEL_BASELINE,
        name=name,
        figures=figures,
        edge=EDGE,
        bar=top + BAR_TOP,
        inner=inner,
        h=BAR_HEIGHT,
        track=TRACK,
        track_line=TRACK_LINE,
        done_x=f"{x_of(0, done):.1f}",
        done=f"{done:.1f}",
        implemented=IMPLEMENTED,
        going_x=f"{x_of(done, going):.1f}",
        going=f"{going:.1f}",
        id=chart_id,
        going_line=IN_PROGRESS_LINE,
        hide=SafeString(' visibility="hidden"') if not going else "",
    )
