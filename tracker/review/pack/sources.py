"""Where a pack's numbers and items come from: a closed cycle's frozen record (tracker.core.record), never
live data, so its pack says the same forever; any other cycle's live review data (tracker.review.data).

Both sources answer the same questions with the same shapes, so the pack is assembled once for either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from tracker.core import record
from tracker.core.commitments import last_review
from tracker.core.models import Commitment, Implementation, MemberState, ReviewCycle
from tracker.core.querysets import StalledReason
from tracker.review.data import Filters, ReviewData

ANNEX_ORDER = ("recommendation__meeting_id", "recommendation__position", "recommendation_id")
COUNT_KEYS = ["total", "implemented", "not_applicable", "stalled", *(reason.value for reason in StalledReason)]


@dataclass
class StateCounts:
    state: MemberState
    counts: dict[str, int]
    reported: int | None = None  # None: the cycle expects no reports (planned)
    expected: int | None = None


class FrozenSource:
    """A closed cycle, read only from the snapshot rows and constants frozen at its close."""

    frozen = True

    def __init__(self, cycle: ReviewCycle) -> None:
        self.cycle = cycle
        self.context = record.frozen_context(cycle)
        self.targets = (cycle.record or {}).get("targets", {})

    @property
    def as_of(self) -> date:
        return timezone.localdate(self.cycle.closed_at)

    def per_state(self) -> list[StateCounts]:
        rows = record.per_state_rows(self.cycle)
        states = MemberState.objects.in_bulk([row["member_state_id"] for row in rows])
        return [
            StateCounts(
                state=states[row["member_state_id"]],
                counts={key: row[key] for key in COUNT_KEYS},
                reported=row["reported"],
                expected=row["expected"],
            )
            for row in rows
        ]

    def stalled(self, limit: int) -> list[Any]:
        return record.stalled_items(self.cycle, limit=limit)

    def outcomes(self) -> list[Any]:
        return list(record.outcomes(self.cycle))

    def state_items(self, state: MemberState, limit: int) -> list[Any]:
        rows = (
            record.snapshots(self.cycle, record.Scope(state=state))
            .select_related("implementation__recommendation__meeting", "implementation__member_state")
            .order_by(*(f"implementation__{key}" for key in ANNEX_ORDER))
        )
        items = [record.FrozenItem(row, self.context, self.targets) for row in rows[:limit]]
        for item in items:
            item.reported = item.snapshot.reported_in_cycle
        return items


class LiveSource:
    """A cycle that is not closed: the review view's own data, evaluated now."""

    frozen = False

    def __init__(self, cycle: ReviewCycle, now=None) -> None:
        self.cycle = cycle
        self.data = ReviewData.load(Filters(body=cycle.body, cycle=cycle), now=now)

    @property
    def as_of(self) -> date:
        return self.data.context.today

    def per_state(self) -> list[StateCounts]:
        rows = self.data.summary_rows()
        states = MemberState.objects.in_bulk([row["member_state_id"] for row in rows])
        return [
            StateCounts(
                state=states[row["member_state_id"]],
                counts={key: row[key] for key in COUNT_KEYS},
                reported=row.get("reported"),
                expected=row.get("expected"),
            )
            for row in rows
        ]

    def stalled(self, limit: int) -> list[Any]:
        return [self._decorated(item) for item in self.data.stalled_items()[:limit]]

    def outcomes(self) -> list[Any]:
        recorded = self.cycle.outcomes.select_related(
            "implementation__recommendation", "implementation__member_state", "recorded_by"
        )
        return list(recorded.order_by("implementation__recommendation_id", "created_at", "pk"))

    def state_items(self, state: MemberState, limit: int) -> list[Any]:
        items = self.data.table_items().filter(member_state=state).order_by(*ANNEX_ORDER)
        return [self._decorated(item) for item in items[:limit]]

    def _decorated(self, item):
        self.data.decorate(item)
        item.reported = item.last_report_cycle_id == self.cycle.pk
        return item


def item_count(cycle: ReviewCycle) -> int:
    """How many items the cycle's pack covers: its frozen rows, or the body's followed-up items now."""
    if cycle.state == ReviewCycle.State.CLOSED:
        return record.snapshots(cycle).count()
    return Implementation.objects.current().filter(recommendation__meeting__body_id=cycle.body_id).count()


def source_for(cycle: ReviewCycle, now=None) -> FrozenSource | LiveSource:
    """A closed cycle is read from its frozen record only; any other from live data."""
    if cycle.state == ReviewCycle.State.CLOSED:
        return FrozenSource(cycle)
    return LiveSource(cycle, now=now)


def last_review_commitments(cycle: ReviewCycle, frozen: bool) -> tuple[ReviewCycle | None, list[Commitment]]:
    """The commitments agreed at the review before this cycle, as they stood at this cycle's close (a closed
    cycle, from their history) or now."""
    previous = last_review(cycle.body, before=cycle)
    if previous is None:
        return None, []
    rows = list(
        Commitment.objects.filter(outcome__cycle=previous)
        .select_related("implementation__recommendation", "implementation__member_state", "organisation")
        .order_by("implementation__recommendation_id", "implementation__member_state_id", "due_date", "pk")
    )
    return previous, _as_at(rows, cycle.closed_at) if frozen else rows


def _as_at(rows: list[Commitment], moment) -> list[Commitment]:
    """The commitments with the state their history gives at `moment`; those recorded later are left out."""
    history = Commitment.history.filter(id__in=[row.pk for row in rows], history_date__lte=moment)
    latest: dict[int, str] = {}
    for pk, state in history.order_by("id", "history_date", "history_id").values_list("id", "state"):
        latest[pk] = state  # ascending: the last one seen is the one in force at `moment`
    kept = [row for row in rows if row.pk in latest]
    for row in kept:
        row.state = latest[row.pk]
    return kept
