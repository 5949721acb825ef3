"""What the public pages show, read from tracker.core.publication only: every item, count and chart below starts
from `published_recommendations()` or `published_implementations()`, so a confidential recommendation or a state
that did not agree (or withdrew) is in none of them.

Each page costs a fixed number of queries however many states, recommendations or cycles there are: counts are
grouped in the database (`tallies`), histories read in one query per page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from tracker.core.models import (
    LICENCE_URLS,
    Body,
    Implementation,
    Meeting,
    MemberState,
    OpenDataLicence,
    Recommendation,
    ReviewCycle,
    Status,
)
from tracker.core.publication import (
    Tally,
    published_implementations,
    published_recommendations,
    published_snapshots,
    published_states,
    tallies,
    tally,
)
from tracker.public.charts import CyclePoint, ProgressChart, progress_chart
from tracker.public.filters import Filters

EMPTY = Tally(items=0, states_reporting=0, implemented=0, in_progress=0, reported=0)


# --- the overview -----------------------------------------------------------------------------------


@dataclass
class RecommendationRow:
    recommendation: Recommendation
    tally: Tally


@dataclass
class MeetingSection:
    meeting: Meeting
    tally: Tally
    recommendations: list[RecommendationRow] = field(default_factory=list)
    chart: ProgressChart | None = None


@dataclass
class BodySection:
    body: Body
    tally: Tally
    licence_name: str
    licence_url: str
    meetings: list[MeetingSection] = field(default_factory=list)
    states: list[MemberState] = field(default_factory=list)


def overview(filters: Filters) -> list[BodySection]:
    """Per body, then per meeting: the published recommendations the filters keep, with their counts, the
    progress across closed cycles, and the states whose progress is published."""
    chosen = filters.recommendations(published_recommendations())
    items = filters.items(published_implementations().filter(recommendation__in=chosen))
    recommendations = chosen.filter(pk__in=items.values("recommendation")) if filters.status else chosen
    recommendations = recommendations.select_related("meeting__body").prefetch_related("themes")
    by_recommendation = tallies(items, "recommendation")
    by_meeting = tallies(items, "recommendation__meeting")
    by_body = tallies(items, "recommendation__meeting__body")
    charts = _meeting_charts(chosen)
    bodies: dict[int, BodySection] = {}
    meetings: dict[int, MeetingSection] = {}
    for recommendation in recommendations.order_by("meeting__body__code", "-meeting__start_date", "meeting__code"):
        meeting = recommendation.meeting
        if meeting.body_id not in bodies:
            bodies[meeting.body_id] = _body_section(meeting.body, by_body.get(meeting.body_id, EMPTY))
        if meeting.pk not in meetings:
            section = MeetingSection(meeting, by_meeting.get(meeting.pk, EMPTY), chart=charts.get(meeting.pk))
            meetings[meeting.pk] = section
            bodies[meeting.body_id].meetings.append(section)
        row = RecommendationRow(recommendation, by_recommendation.get(recommendation.pk, EMPTY))
        meetings[meeting.pk].recommendations.append(row)
    _add_states(bodies)
    return list(bodies.values())


def _body_section(body: Body, counts: Tally) -> BodySection:
    licence = OpenDataLicence(body.open_data_licence)
    return BodySection(body, counts, licence_name=str(licence.label), licence_url=LICENCE_URLS[licence.value])


def _add_states(bodies: dict[int, BodySection]) -> None:
    """The states whose progress each body publishes (two queries)."""
    pairs = published_implementations().order_by().values_list("recommendation__meeting__body", "member_state")
    states = published_states().in_bulk()
    for body_id, state_id in set(pairs.distinct()):
        if body_id in bodies:
            bodies[body_id].states.append(states[state_id])
    for section in bodies.values():
        section.states.sort(key=lambda state: state.name)


def _meeting_charts(recommendations: QuerySet[Recommendation]) -> dict[int, ProgressChart]:
    """Per meeting, the shares implemented and in progress when each closed cycle closed (two queries)."""
    snapshots = published_snapshots().filter(implementation__recommendation__in=recommendations)
    rows = _cycle_counts(snapshots, "implementation__recommendation__meeting")
    cycles = _cycle_names({row["cycle"] for row in rows})
    points: dict[int, list[tuple[Any, CyclePoint]]] = defaultdict(list)
    for row in rows:
        cycle = cycles[row["cycle"]]
        point = CyclePoint(cycle.name, row["items"], row["implemented"], row["in_progress"])
        points[row["implementation__recommendation__meeting"]].append((cycle.period_start, point))
    title = gettext("Progress across review cycles")
    return {
        meeting: chart
        for meeting, dated in points.items()
        if (chart := progress_chart(f"chart-meeting-{meeting}", title, _in_order(dated)))
    }


def _cycle_counts(snapshots: QuerySet, *by: str) -> list[dict[str, Any]]:
    counts = {
        "items": Count("pk"),
        "implemented": Count("pk", filter=Q(status=Status.IMPLEMENTED)),
        "in_progress": Count("pk", filter=Q(status=Status.IN_PROGRESS)),
    }
    return list(snapshots.order_by().values("cycle", *by).annotate(**counts))


def _cycle_names(ids: set[int]) -> dict[int, ReviewCycle]:
    return ReviewCycle.objects.only("name_en", "name_ar", "period_start").in_bulk(list(ids))


def _in_order(dated: list[tuple[Any, CyclePoint]]) -> list[CyclePoint]:
    return [point for _start, point in sorted(dated, key=lambda pair: pair[0])]


# --- one recommendation -----------------------------------------------------------------------------


@dataclass
class HistoryRow:
    state: MemberState
    cells: list[Any]  # per cycle, oldest first: the snapshot's (status label, progress), or None


@dataclass
class RecommendationPage:
    recommendation: Recommendation
    tally: Tally
    items: list[Implementation]
    cycles: list[ReviewCycle]
    history: list[HistoryRow]
    chart: ProgressChart | None
    licence_name: str
    licence_url: str


def recommendation_page(pk: int) -> RecommendationPage:
    """A published recommendation with each agreeing state's item and its history; 404 for any other."""
    recommendations = published_recommendations().select_related("meeting__body")
    recommendations = recommendations.prefetch_related("themes", "framework_targets__framework")
    recommendation = recommendations.filter(pk=pk).first()
    if recommendation is None:
        raise Http404
    items = published_implementations().filter(recommendation=recommendation)
    listed = list(items.select_related("member_state").order_by("member_state__name_en"))
    _by_name(listed)
    snapshots = published_snapshots().filter(implementation__recommendation=recommendation)
    rows = list(snapshots.values("cycle", "implementation__member_state", "status", "progress"))
    cycles = sorted(_cycle_names({row["cycle"] for row in rows}).values(), key=lambda cycle: cycle.period_start)
    licence = OpenDataLicence(recommendation.meeting.body.open_data_licence)
    return RecommendationPage(
        recommendation=recommendation,
        tally=tally(items),
        items=listed,
        cycles=cycles,
        history=_history(listed, cycles, rows),
        chart=_chart_from_rows("chart-recommendation", cycles, rows),
        licence_name=str(licence.label),
        licence_url=LICENCE_URLS[licence.value],
    )


def _by_name(items: list[Implementation]) -> None:
    """In the order of the states' names in the page's language."""
    items.sort(key=lambda item: item.member_state.name)


def _history(items: list[Implementation], cycles: list[ReviewCycle], rows: list[dict[str, Any]]) -> list[HistoryRow]:
    labels = dict(Status.choices)
    found = {(row["implementation__member_state"], row["cycle"]): row for row in rows}
    history = []
    for item in items:
        cells = [found.get((item.member_state_id, cycle.pk)) for cycle in cycles]
        if any(cells):
            shown = [(labels.get(cell["status"], ""), cell["progress"]) if cell else None for cell in cells]
            history.append(HistoryRow(item.member_state, shown))
    return history


def _chart_from_rows(chart_id: str, cycles: list[ReviewCycle], rows: list[dict[str, Any]]) -> ProgressChart | None:
    points = []
    for cycle in cycles:
        statuses = [row["status"] for row in rows if row["cycle"] == cycle.pk]
        done = statuses.count(Status.IMPLEMENTED)
        points.append(CyclePoint(cycle.name, len(statuses), done, statuses.count(Status.IN_PROGRESS)))
    return progress_chart(chart_id, gettext("Progress across review cycles"), points)


# --- one member state -------------------------------------------------------------------------------


@dataclass
class StateMeeting:
    meeting: Meeting
    tally: Tally
    items: list[Implementation] = field(default_factory=list)


@dataclass
class StatePage:
    state: MemberState
    tally: Tally
    meetings: list[StateMeeting]
    chart: ProgressChart | None


def state_page(iso: str) -> StatePage:
    """A state's published items, per meeting, and its progress across cycles; 404 unless it agreed."""
    state = published_states().filter(iso_code=iso).first() if iso.isascii() and iso.isupper() else None
    if state is None:
        raise Http404
    items = published_implementations().filter(member_state=state)
    listed = items.select_related("recommendation__meeting__body").prefetch_related("recommendation__themes")
    listed = listed.order_by(
        "recommendation__meeting__body__code",
        "-recommendation__meeting__start_date",
        "recommendation__meeting",
        "recommendation__position",
        "recommendation__reference",
    )
    by_meeting = tallies(items, "recommendation__meeting")
    meetings: dict[int, StateMeeting] = {}
    for item in listed:
        meeting = item.recommendation.meeting
        if meeting.pk not in meetings:
            meetings[meeting.pk] = StateMeeting(meeting, by_meeting.get(meeting.pk, EMPTY))
        meetings[meeting.pk].items.append(item)
    rows = _cycle_counts(published_snapshots().filter(implementation__member_state=state))
    cycles = _cycle_names({row["cycle"] for row in rows})
    dated = [(cycles[row["cycle"]].period_start, CyclePoint(cycles[row["cycle"]].name, *_figures(row))) for row in rows]
    chart = progress_chart("chart-state", gettext("Progress across review cycles"), _in_order(dated))
    return StatePage(state, tally(items), list(meetings.values()), chart)


def _figures(row: dict[str, Any]) -> tuple[int, int, int]:
    return row["items"], row["implemented"], row["in_progress"]
