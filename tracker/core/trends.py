"""Trends: the review mechanism's four measures, cycle after cycle, read only from the frozen snapshots.

Each closed review cycle froze one `CycleSnapshot` row per followed-up item at its close, so a trend is an
aggregate over those rows grouped by cycle (and by member state, thematic area or recommendation), and prints
the same numbers whatever is reported later. The measures leave out items frozen as "not applicable":

- reporting rate: items that reported in the cycle, of the items that apply;
- share implemented: items implemented, of the items that apply;
- average progress: the mean progress of the items that apply;
- stalled: items with at least one stalled reason at the close (unknown for cycles closed before reasons
  were frozen: their snapshot rows hold NULL, which is "not recorded", never 0).

`trends()` costs the same few queries whatever the number of cycles or groups: the closed cycles, one
aggregate over their snapshot rows, and the labels of the groups. Who may read trends is the views' business:
the secretariat and reviewers see every item, confidential or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any

from django.db import models
from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext_lazy as _

from tracker.core import memo
from tracker.core.models import (
    Body,
    CycleSnapshot,
    Meeting,
    MemberState,
    Recommendation,
    ReviewCycle,
    Status,
    ThematicArea,
)

DEFAULT_CYCLES = 6
TREND_MEMO = "trend"


class Measure(models.TextChoices):
    REPORTING_RATE = "reporting_rate", _("Reporting rate")
    IMPLEMENTED_SHARE = "implemented_share", _("Share implemented")
    AVERAGE_PROGRESS = "average_progress", _("Average progress")
    STALLED = "stalled", _("Stalled items")

    @property
    def is_percent(self) -> bool:
        return self != Measure.STALLED

    @property
    def higher_is_better(self) -> bool:
        """More reports, more implemented, more progress are better; fewer stalled items are."""
        return self != Measure.STALLED


PERCENT_MEASURES = [Measure.REPORTING_RATE, Measure.IMPLEMENTED_SHARE, Measure.AVERAGE_PROGRESS]


class Direction(StrEnum):
    BETTER = "better"
    WORSE = "worse"
    SAME = "same"


class GroupBy(models.TextChoices):
    STATE = "state", _("Member state")
    THEME = "theme", _("Thematic area")
    RECOMMENDATION = "recommendation", _("Recommendation")


class Order(models.TextChoices):
    NATURAL = "natural", _("In their usual order")
    STALLED = "stalled", _("Most stalled first")
    LEAST_IMPLEMENTED = "least_implemented", _("Least implemented first")
    WORSENED = "worsened", _("Most worsened since the last review first")


# The snapshot's path to each grouping (None: the whole region, one group).
GROUP_PATHS = {
    GroupBy.STATE: "implementation__member_state_id",
    GroupBy.THEME: "implementation__recommendation__themes",
    GroupBy.RECOMMENDATION: "implementation__recommendation_id",
}


@dataclass(frozen=True)
class Point:
    """One group's measures at one closed cycle: percentages rounded to whole numbers (None: no item applied),
    and the stalled count (None: not recorded at that close, or no item)."""

    cycle: ReviewCycle
    frozen: int = 0  # snapshot rows of the group in the cycle, "not applicable" ones included
    items: int = 0  # of them, the items that apply
    reported: int = 0
    implemented: int = 0
    reporting_rate: int | None = None
    implemented_share: int | None = None
    average_progress: int | None = None
    stalled: int | None = None

    def value(self, measure: Measure) -> int | None:
        value: int | None = getattr(self, measure.value)
        return value


@dataclass(frozen=True)
class Change:
    """A measure at the last closed cycle against the one before: `direction` is None when either is unknown."""

    measure: Measure
    before: int | None
    after: int | None

    @property
    def delta(self) -> int | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def direction(self) -> Direction | None:
        delta = self.delta
        if delta is None:
            return None
        if delta == 0:
            return Direction.SAME
        return Direction.BETTER if (delta > 0) == self.measure.higher_is_better else Direction.WORSE


@dataclass
class Series:
    """One group (a member state, a thematic area, a recommendation, or the whole selection when `group` is
    None) over the closed cycles, oldest first: one point per cycle, empty where it had no item."""

    key: Any
    group: MemberState | ThematicArea | Recommendation | None
    points: list[Point]
    body: Body | None = None

    @property
    def label(self) -> str:
        """The group's short name, in the active language."""
        if isinstance(self.group, Recommendation):
            return self.group.reference
        return str(self.group if self.group is not None else self.body or "")

    @property
    def detail(self) -> str:
        """A recommendation's text (the label is only its reference); empty for other groups."""
        return self.group.text if isinstance(self.group, Recommendation) else ""

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None

    def change(self, measure: Measure) -> Change:
        """Since the last review: the last closed cycle against the one before it."""
        if len(self.points) < 2:
            return Change(measure, None, self.points[-1].value(measure) if self.points else None)
        return Change(measure, self.points[-2].value(measure), self.points[-1].value(measure))

    @property
    def changes(self) -> list[Change]:
        return [self.change(measure) for measure in Measure]


@dataclass
class Trends:
    """What `trends()` found: the closed cycles (oldest first) and one page of series."""

    body: Body
    by: GroupBy | None
    cycles: list[ReviewCycle]
    series: list[Series] = field(default_factory=list)
    total: int = 0  # groups in every page
    page: int = 1
    per_page: int | None = None

    @property
    def has_next(self) -> bool:
        return self.per_page is not None and self.page * self.per_page < self.total

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def overall(self) -> Series | None:
        """The one series of an ungrouped call."""
        return self.series[0] if self.by is None and self.series else None


def closed_cycles(body: Body, last: int = DEFAULT_CYCLES, until: ReviewCycle | None = None) -> list[ReviewCycle]:
    """The body's last `last` closed cycles, oldest first; with `until`, none closed after that one (a meeting
    pack of a past cycle shows the trend as it stood then)."""
    cycles = ReviewCycle.objects.filter(body=body, state=ReviewCycle.State.CLOSED)
    if until is not None and until.closed_at is not None:
        cycles = cycles.filter(closed_at__lte=until.closed_at)
    newest_first = cycles.order_by(F("closed_at").desc(nulls_last=True), "-period_start", "-pk")[: max(last, 1)]
    return list(reversed(newest_first))


def trends(
    body: Body,
    by: GroupBy | str | None = None,
    state: MemberState | None = None,
    theme: ThematicArea | None = None,
    meeting: Meeting | None = None,
    last: int = DEFAULT_CYCLES,
    *,
    until: ReviewCycle | None = None,
    cycles: Sequence[ReviewCycle] | None = None,
    order: Order | str = Order.NATURAL,
    limit: int | None = None,
    page: int = 1,
) -> Trends:
    """The four measures of each group, over the body's last closed cycles.

    `by` groups the snapshot rows per member state, thematic area or recommendation (None: one series for
    the whole selection); `state`, `theme` and `meeting` narrow the items. An item with several themes counts
    under each. `order` sorts the groups (most stalled, least implemented, most worsened since the last review
    first, each judged at the last closed cycle); `limit` groups per page, `page` from 1. `cycles` (oldest
    first) replaces the query of `closed_cycles(body, last, until)` when the caller already has them.
    """
    by = GroupBy(by) if by else None
    cycles = list(cycles) if cycles is not None else closed_cycles(body, last, until)
    result = Trends(body=body, by=by, cycles=cycles, page=max(page, 1), per_page=limit)
    if not cycles:
        return result
    rows = _aggregate(cycles, by, state=state, theme=theme, meeting=meeting)
    groups = _groups(body, by, state=state, theme=theme, meeting=meeting, present={row["group_key"] for row in rows})
    series = _series(cycles, rows, groups, body)
    series = _ordered(series, Order(order))
    result.total = len(series)
    if limit is not None:
        start = (result.page - 1) * limit
        series = series[start : start + limit]
    result.series = series
    return result


def _aggregate(
    cycles: Sequence[ReviewCycle],
    by: GroupBy | None,
    *,
    state: MemberState | None,
    theme: ThematicArea | None,
    meeting: Meeting | None,
) -> list[dict[str, Any]]:
    """One row per (cycle, group) with the counts the measures need: a single GROUP BY over the snapshots.

    Closed cycles' snapshots never change, and an item never changes state: grouped by state or not at all, and
    narrowed by state only, the rows are kept in the database for good (tracker.core.memo), keyed by the cycles."""
    if by in (None, GroupBy.STATE) and theme is None and meeting is None:
        closes = [(cycle.pk, cycle.closed_at.isoformat() if cycle.closed_at else None) for cycle in cycles]
        key = memo.memo_key(TREND_MEMO, closes, by, getattr(state, "pk", None))
        compute = partial(_count_snapshots, cycles, by, state=state, theme=None, meeting=None)
        rows: list[dict[str, Any]] = memo.kept(TREND_MEMO, key, compute, reads=(), valid_through=None)
        return rows
    return _count_snapshots(cycles, by, state=state, theme=theme, meeting=meeting)


def _count_snapshots(
    cycles: Sequence[ReviewCycle],
    by: GroupBy | None,
    *,
    state: MemberState | None,
    theme: ThematicArea | None,
    meeting: Meeting | None,
) -> list[dict[str, Any]]:
    rows = CycleSnapshot.objects.filter(cycle_id__in=[cycle.pk for cycle in cycles]).order_by()
    if state is not None:
        rows = rows.filter(implementation__member_state=state)
    if meeting is not None:
        rows = rows.filter(implementation__recommendation__meeting=meeting)
    if by is None:
        rows = rows.annotate(group_key=models.Value(0, output_field=models.IntegerField()))
    else:
        rows = rows.annotate(group_key=F(GROUP_PATHS[by])).filter(group_key__isnull=False)
    if theme is not None:
        # Grouped by theme, the theme filter is on the grouping's own join (a second join would pair each of
        # an item's themes with the chosen one).
        rows = (
            rows.filter(group_key=theme.pk)
            if by == GroupBy.THEME
            else rows.filter(implementation__recommendation__themes=theme)
        )
    applies = ~Q(status=Status.NOT_APPLICABLE)
    return list(
        rows.values("cycle_id", "group_key").annotate(
            frozen=Count("pk"),
            items=Count("pk", filter=applies),
            reported=Count("pk", filter=applies & Q(reported_in_cycle=True)),
            implemented=Count("pk", filter=Q(status=Status.IMPLEMENTED)),
            progress_sum=Sum("progress", filter=applies),
            stalled=Count("pk", filter=Q(reasons__gt=0)),
            unrecorded=Count("pk", filter=Q(reasons__isnull=True)),
        )
    )


def _groups(
    body: Body,
    by: GroupBy | None,
    *,
    state: MemberState | None,
    theme: ThematicArea | None,
    meeting: Meeting | None,
    present: set[Any],
) -> list[tuple[Any, Any]]:
    """(key, object) of each group in its usual order, in one query: states by name in the active language,
    themes by position, recommendations by meeting and position. Only groups that have snapshot rows are kept."""
    if by is None:
        return [(0, None)] if present else []
    if by == GroupBy.STATE:
        states = body.member_states.all() if state is None else MemberState.objects.filter(pk=state.pk)
        return [(s.pk, s) for s in sorted(states, key=lambda s: s.name) if s.pk in present]
    if by == GroupBy.THEME:
        themes = ThematicArea.objects.all() if theme is None else ThematicArea.objects.filter(pk=theme.pk)
        return [(t.pk, t) for t in themes if t.pk in present]
    recommendations = Recommendation.objects.filter(meeting__body=body).select_related("meeting")
    if meeting is not None:
        recommendations = recommendations.filter(meeting=meeting)
    recommendations = recommendations.only(
        "pk", "reference", "position", "text_en", "text_ar", "meeting__start_date", "meeting__code"
    ).order_by(F("meeting__start_date").desc(nulls_last=True), "meeting__code", "position", "reference")
    return [(r.pk, r) for r in recommendations if r.pk in present]


def _series(
    cycles: Sequence[ReviewCycle], rows: list[dict[str, Any]], groups: list[tuple[Any, Any]], body: Body
) -> list[Series]:
    by_key: dict[tuple[int, Any], dict[str, Any]] = {(row["cycle_id"], row["group_key"]): row for row in rows}
    return [
        Series(key=key, group=group, body=body, points=[_point(cycle, by_key.get((cycle.pk, key))) for cycle in cycles])
        for key, group in groups
    ]


def _percent(part: int | None, whole: int) -> int | None:
    return round(100 * (part or 0) / whole) if whole else None


def _point(cycle: ReviewCycle, row: dict[str, Any] | None) -> Point:
    if row is None:
        return Point(cycle=cycle)
    items = row["items"]
    return Point(
        cycle=cycle,
        frozen=row["frozen"],
        items=items,
        reported=row["reported"],
        implemented=row["implemented"],
        reporting_rate=_percent(row["reported"], items),
        implemented_share=_percent(row["implemented"], items),
        average_progress=round((row["progress_sum"] or 0) / items) if items else None,
        stalled=None if row["unrecorded"] else row["stalled"],
    )


def _ordered(series: list[Series], order: Order) -> list[Series]:
    """A stable sort on the last closed cycle's figures, keeping the usual order on ties; unknown values last."""
    if order == Order.STALLED:
        return sorted(series, key=lambda s: -_latest(s, Measure.STALLED, unknown=-1))
    if order == Order.LEAST_IMPLEMENTED:
        return sorted(series, key=lambda s: _latest(s, Measure.IMPLEMENTED_SHARE, unknown=101))
    if order == Order.WORSENED:
        return sorted(series, key=lambda s: -_worsening(s))
    return series


def _latest(series: Series, measure: Measure, unknown: int) -> int:
    value = series.latest.value(measure) if series.latest else None
    return unknown if value is None else value


def _worsening(series: Series) -> int:
    """How far the group fell since the last review: points of reporting rate, share implemented and progress
    lost, plus stalled items gained."""
    total = 0
    for change in series.changes:
        if change.delta is not None:
            total += -change.delta if change.measure.higher_is_better else change.delta
    return total
