"""The meeting pack's content, assembled once in the pack's language and laid out as sections of text and tables
that the Word and the PDF writers render alike: both formats say exactly the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import formats, timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from tracker.core.commitments import Counts
from tracker.core.models import Commitment, ReviewCycle
from tracker.core.querysets import StalledReason
from tracker.core.trends import GroupBy, Measure, trends
from tracker.review.charts import change_line, trend_panel
from tracker.review.data import completion
from tracker.review.pack.sources import StateCounts, last_review_commitments, source_for

STALLED_LIMIT = 500  # stalled items listed in the body of the pack (all are counted)
ANNEX_ITEMS_LIMIT = 300  # items listed per member state annex
TEXT_CHARS = 90  # a recommendation's text is cut to this in tables; the reference names it in full

Cell = str | list[str]
Progress = Callable[[int], None]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    numeric: tuple[int, ...] = ()  # columns of numbers (aligned to the end)
    empty: str = ""  # said instead of the table when it has no row


@dataclass
class Chart:
    title: str
    svg: str  # server-rendered SVG: drawn in the PDF; the Word document has the chart's data table instead


@dataclass
class Subheading:
    text: str


Block = str | Subheading | Table | Chart


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 1
    new_page: bool = False


@dataclass
class PackContent:
    lang: str
    title: str
    subtitle: str
    situation: str  # "Situation at the close of <cycle>, <date>" (frozen) or "Situation on <date>"
    prepared: str
    frozen: bool
    totals: dict[str, int]
    overview: Section
    commitments: Section
    trends: Section | None
    stalled: Section
    outcomes: Section
    annexes: list[Section]

    @property
    def rtl(self) -> bool:
        return self.lang == "ar"

    def sections(self) -> list[Section]:
        ordered = [self.overview, self.commitments, self.trends, self.stalled, self.outcomes, *self.annexes]
        return [section for section in ordered if section is not None]

    def text(self) -> str:
        """Every word of the pack, in order (what a reader of either file reads)."""
        lines = [self.title, self.subtitle, self.situation, self.prepared]
        for section in self.sections():
            lines.append(section.title)
            for block in section.blocks:
                lines.extend(_block_text(block))
        return "\n".join(line for line in lines if line)


def _block_text(block: Block) -> list[str]:
    if isinstance(block, str):
        return [block]
    if isinstance(block, Subheading):
        return [block.text]
    if isinstance(block, Chart):
        return [block.title]
    cells = [cell for row in block.rows for cell in row]
    return [*block.headers, *(part for cell in cells for part in ([cell] if isinstance(cell, str) else cell))]


def assemble(cycle: ReviewCycle, lang: str, progress: Progress | None = None, now=None) -> PackContent:
    """The pack of a cycle in Arabic or English. `progress(percent)` is called as each part is ready."""
    report = progress or (lambda percent: None)
    with translation.override(lang):
        source = source_for(cycle, now=now)
        per_state = sorted(source.per_state(), key=lambda row: row.state.name)
        totals = _totals(per_state)
        trend_section, state_trends = _trends(cycle, source)
        report(10)
        content = PackContent(
            lang=lang,
            title=_("Meeting pack: %(body)s") % {"body": cycle.body.name},
            subtitle=_subtitle(cycle),
            situation=_situation(cycle, source),
            prepared=_("Prepared on %(date)s") % {"date": _date(timezone.localdate())},
            frozen=source.frozen,
            totals=totals,
            overview=_overview(totals, per_state),
            commitments=_commitments(cycle, source),
            trends=trend_section,
            stalled=_stalled(source, totals),
            outcomes=_outcomes(source),
            annexes=[],
        )
        report(40)
        for index, row in enumerate(per_state, start=1):
            content.annexes.append(_annex(source, row, state_trends.get(row.state.pk, [])))
            report(40 + 40 * index // max(len(per_state), 1))
    return content


# --- the parts -----------------------------------------------------------------------------------


def _date(day) -> str:
    return formats.date_format(day, "DATE_FORMAT") if day else "–"


def _percent(value: int | None) -> str:
    return "–" if value is None else f"{value}%"


def _subtitle(cycle: ReviewCycle) -> str:
    parts = [
        cycle.name,
        cycle.get_state_display(),
        f"{_('report deadline')} {_date(cycle.report_deadline)}",
    ]
    if cycle.review_meeting_date:
        parts.append(f"{_('review meeting')} {_date(cycle.review_meeting_date)}")
    return " · ".join(parts)


def _situation(cycle: ReviewCycle, source) -> str:
    if source.frozen:
        return _("Situation at the close of %(cycle)s, %(date)s") % {"cycle": cycle.name, "date": _date(source.as_of)}
    return _("Situation on %(date)s") % {"date": _date(source.as_of)}


def _totals(per_state: list[StateCounts]) -> dict[str, Any]:
    keys = per_state[0].counts.keys() if per_state else ["total", "implemented", "not_applicable", "stalled"]
    totals = {key: sum(row.counts[key] for row in per_state) for key in keys}
    expects = [row for row in per_state if row.expected is not None]
    totals["expected"] = sum(row.expected for row in expects) if expects else None
    totals["reported"] = sum(row.reported or 0 for row in expects) if expects else None
    totals["completion"] = completion(totals["implemented"], totals["total"] - totals["not_applicable"])
    return totals


def _implemented(counts: dict[str, Any]) -> str:
    share = completion(counts["implemented"], counts["total"] - counts["not_applicable"])
    return f"{counts['implemented']} ({_percent(share)})"


def _reported(reported: int | None, expected: int | None) -> str:
    return "–" if expected is None else f"{reported} / {expected}"


def _overview(totals: dict[str, Any], per_state: list[StateCounts]) -> Section:
    facts = [
        [_("Items followed up"), str(totals["total"])],
        [_("Implemented"), _implemented(totals)],
    ]
    if totals["expected"] is not None:
        facts.append([_("Reports submitted in this cycle"), _reported(totals["reported"], totals["expected"])])
    facts.append([_("Stalled items"), str(totals["stalled"])])
    facts += [[f"– {reason.label}", str(totals.get(reason.value, 0))] for reason in StalledReason]
    states = Table(
        headers=[_("Member state"), _("Items"), _("Implemented"), _("Reports submitted in this cycle"), _("Stalled")],
        rows=[
            [
                row.state.name,
                str(row.counts["total"]),
                _implemented(row.counts),
                _reported(row.reported, row.expected),
                str(row.counts["stalled"]),
            ]
            for row in per_state
        ],
        numeric=(1, 2, 3, 4),
        empty=_("No item is followed up in this body."),
    )
    return Section(
        _("Overview"),
        [
            Table(headers=[_("Figure"), _("Number")], rows=facts, numeric=(1,)),
            Subheading(_("Completion per member state")),
            states,
        ],
    )


def _commitments(cycle: ReviewCycle, source) -> Section:
    review, rows = last_review_commitments(cycle, frozen=source.frozen)
    title = _("Commitments from the last review")
    if review is None:
        return Section(title, [_("There was no earlier review: no commitment to follow up yet.")])
    keys = [_commitment_state(row, source.as_of) for row in rows]
    totals = _tally([(review.name, key) for key in keys])[0][1] if rows else Counts()
    blocks: list[Block] = [
        _("%(cycle)s: %(done)d done, %(open)d open, %(late)d late, %(dropped)d dropped.")
        % {"cycle": review.name, **totals.as_record()}
    ]
    if rows:
        pairs = list(zip(rows, keys, strict=True))
        by_state = _tally([(row.implementation.member_state.name, key) for row, key in pairs])
        by_recommendation = _tally([(row.implementation.recommendation.reference, key) for row, key in pairs])
        blocks += [
            Subheading(_("Per member state")),
            _tally_table(_("Member state"), by_state),
            Subheading(_("Per recommendation")),
            _tally_table(_("Recommendation"), by_recommendation),
        ]
    blocks.append(
        Table(
            headers=[_("Item"), _("What is to be done"), _("Who"), _("Due by"), pgettext("commitment", "state")],
            rows=[
                [_item_label(row.implementation), row.description, _owner(row), _date(row.due_date), _state_label(key)]
                for row, key in zip(rows, keys, strict=True)
            ],
            empty=_("No commitment was agreed at the last review."),
        )
    )
    return Section(title, blocks)


def _commitment_state(row: Commitment, day) -> str:
    """done, open, late (open past its due date on `day`) or dropped: the columns of the core's Counts."""
    return "late" if row.is_late(day) else row.state


def _state_label(key: str) -> str:
    return _("Late") if key == "late" else str(Commitment.State(key).label)


def _owner(row: Commitment) -> str:
    if row.owner == Commitment.Owner.PARTNER and row.organisation is not None:
        return str(row.organisation)
    return str(Commitment.Owner(row.owner).label)


def _tally(pairs: list[tuple[str, str]]) -> list[tuple[str, Counts]]:
    """Counts per name, late first (what the meeting takes up first), then by name."""
    counts: dict[str, Counts] = {}
    for name, key in pairs:
        tally = counts.setdefault(name, Counts())
        setattr(tally, key, getattr(tally, key) + 1)
    return sorted(counts.items(), key=lambda entry: (-entry[1].late, -entry[1].open, entry[0]))


def _tally_table(first: str, rows: list[tuple[str, Counts]]) -> Table:
    keys = ("done", "open", "late", "dropped")
    return Table(
        headers=[first, *(_state_label(key) for key in keys)],
        rows=[[name, *(str(getattr(counts, key)) for key in keys)] for name, counts in rows],
        numeric=(1, 2, 3, 4),
    )


# --- trends ----------------------------------------------------------------------------------------


def _trends(cycle: ReviewCycle, source) -> tuple[Section, dict[int, list[Block]]]:
    """The region's trend over the closed cycles up to this one (a closed cycle's pack shows the trend as it
    stood at its close), every state's change since the last review, and each state's own charts for its annex."""
    title = _("Trends")
    until = cycle if source.frozen else None
    region = trends(cycle.body, until=until)
    if not region.cycles:
        return Section(title, [_("Trends start once a first review cycle is closed.")]), {}
    per_state = trends(cycle.body, by=GroupBy.STATE, cycles=region.cycles)
    blocks = _panel_blocks(trend_panel(region.overall, "pack-region", heading=cycle.body.name))
    blocks += [Subheading(_("Member states since the last review")), _states_since(per_state.series)]
    annexes = {
        series.key: _panel_blocks(trend_panel(series, f"pack-state-{series.key}")) for series in per_state.series
    }
    return Section(title, blocks), annexes


def _panel_blocks(panel) -> list[Block]:
    """A trend panel (tracker.review.charts) as blocks: what changed, its charts, then their data tables."""
    changes = Table(
        headers=[_("Measure"), _("At the last close"), _("Since the last review")],
        rows=[
            [c.label, c.value, " ".join(part for part in (c.arrow, c.delta, c.words) if part)] for c in panel.changes
        ],
    )
    charts: list[Block] = [Chart(title=chart.title, svg=str(chart.svg)) for chart in panel.charts]
    tables: list[Block] = [
        Table(
            headers=[chart.table.corner, *chart.table.headers],
            rows=[[name, *cells] for name, cells in chart.table.rows],
        )
        for chart in panel.charts
    ]
    return [changes, *charts, *tables, *panel.notes]


def _states_since(series_list) -> Table:
    measures = list(Measure)
    rows = []
    for series in series_list:
        cells = []
        for measure in measures:
            change = change_line(series, series.change(measure))
            cells.append(f"{change.value} ({change.delta})" if change.delta else change.value)
        rows.append([series.label, *cells])
    return Table(headers=[_("Member state"), *(str(m.label) for m in measures)], rows=rows, numeric=(1, 2, 3, 4))


def _item_label(item) -> str:
    return f"{item.recommendation.reference} · {item.member_state.name}"


def _recommendation(item) -> str:
    text = Truncator(item.recommendation.text).chars(TEXT_CHARS)
    return f"{item.recommendation.reference} · {text}"


def _status(item) -> str:
    return f"{item.get_status_display()} {item.progress}%"


def _stalled(source, totals: dict[str, Any]) -> Section:
    items = source.stalled(STALLED_LIMIT)
    table = Table(
        headers=[_("Recommendation"), _("Member state"), _("Status"), _("Reasons")],
        rows=[[_recommendation(i), i.member_state.name, _status(i), list(i.explanations)] for i in items],
        empty=_("No stalled item."),
    )
    blocks: list[Block] = [table]
    if totals["stalled"] > len(items):
        blocks.insert(0, _listed(len(items), totals["stalled"]))
    return Section(_("Stalled items and why"), blocks)


def _listed(shown: int, count: int) -> str:
    return _("The first %(shown)d of %(count)d are listed.") % {"shown": shown, "count": count}


def _outcomes(source) -> Section:
    rows = []
    for outcome in source.outcomes():
        obstacle = outcome.get_obstacle_category_display() + (f": {outcome.obstacle}" if outcome.obstacle else "")
        rows.append(
            [
                _item_label(outcome.implementation),
                obstacle,
                outcome.solution or "–",
                outcome.follow_up_by or "–",
                _date(outcome.follow_up_due),
            ]
        )
    table = Table(
        headers=[
            _("Item"),
            _("Obstacle category"),
            _("Solution agreed"),
            _("Who follows up"),
            _("Follow up by (date)"),
        ],
        rows=rows,
        empty=_("No outcome recorded in this cycle."),
    )
    return Section(_("Outcomes recorded in this cycle"), [table])


def _annex(source, row: StateCounts, trend: list[Block]) -> Section:
    items = source.state_items(row.state, ANNEX_ITEMS_LIMIT)
    facts = [
        f"{_('Items followed up')}: {row.counts['total']}",
        f"{_('Implemented')}: {_implemented(row.counts)}",
        *(
            [f"{_('Reports submitted in this cycle')}: {_reported(row.reported, row.expected)}"]
            if row.expected is not None
            else []
        ),
        f"{_('Stalled items')}: {row.counts['stalled']}",
    ]
    table = Table(
        headers=[_("Recommendation"), _("Status"), _("Reported in this cycle"), _("Reasons")],
        rows=[
            [_recommendation(i), _status(i), _("Yes") if i.reported else _("No"), list(i.explanations) or "–"]
            for i in items
        ],
        empty=_("No item is followed up in this state."),
    )
    blocks: list[Block] = [" · ".join(facts), table]
    if row.counts["total"] > len(items):
        blocks.insert(1, _listed(len(items), row.counts["total"]))
    if trend:
        blocks += [Subheading(_("Trend")), *trend]
    return Section(_("Annex: %(state)s") % {"state": row.state.name}, blocks, new_page=True)
