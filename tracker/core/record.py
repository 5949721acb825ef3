"""A closed cycle's record: frozen at its close, read forever after without looking at live data.

At the close, one INSERT ... SELECT writes a snapshot row per followed-up item (status, progress, whether it
reported in the cycle, the stalled reasons that held then as a bit mask, and the dates their explanations
need), and the cycle keeps in `ReviewCycle.record` the few constants the rules used (thresholds, when the
earlier cycles began, the deadline then overdue, past target dates). Every count of a closed cycle's report,
exports and meeting pack is then an aggregate over its own snapshot rows, so it prints the same numbers
forever, whatever is reported, archived or re-thresholded later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.utils.dateparse import parse_date, parse_datetime

from tracker.core.models import (
    Body,
    CycleSnapshot,
    Implementation,
    Recommendation,
    ReviewCycle,
    ReviewOutcome,
    Status,
)
from tracker.core.querysets import FOLLOWED_UP, StalledContext, StalledReason

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from tracker.core.models import MemberState

RECORD_VERSION = 1


# --- freezing ------------------------------------------------------------------------------------


def freeze_record(cycle: ReviewCycle, now: datetime) -> dict[str, Any]:
    """Write the cycle's snapshot rows and return the constants to keep in `cycle.record`."""
    from tracker.core.commitments import commitment_summary

    context = StalledContext.load(now, closing=cycle)
    _insert_snapshots(cycle, context)
    commitments = commitment_summary(cycle.body, before=cycle, today=context.today)
    return {**_constants(cycle, context), "commitments": commitments.as_record()}


def _reasons_mask(context: StalledContext) -> Any:
    """The sum of the bits of the reasons that hold: one CASE per reason, evaluated by the database."""
    total: Any = Value(0)
    for reason, condition in context.conditions().items():
        total = total + Case(When(FOLLOWED_UP & condition, then=Value(reason.bit)), default=Value(0))
    return total


def _insert_snapshots(cycle: ReviewCycle, context: StalledContext) -> None:
    """One INSERT ... SELECT. No ON CONFLICT: finish_close runs it once per cycle (a second run finds the cycle
    closed), and the unique index would refuse a duplicate anyway, rolling the close back."""
    items = Implementation.objects.current().filter(recommendation__meeting__body_id=cycle.body_id).order_by()
    rows = items.annotate(
        snapshot_cycle=Value(cycle.pk, output_field=IntegerField()),
        snapshot_reported=Case(When(last_report_cycle=cycle.pk, then=Value(True)), default=Value(False)),
        snapshot_reasons=_reasons_mask(context),
    ).values(
        "id",
        "status",
        "progress",
        "snapshot_cycle",
        "snapshot_reported",
        "snapshot_reasons",
        "last_reported_at",
        "status_changed_at",
    )
    select, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(CycleSnapshot._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (implementation_id, status, progress, cycle_id, reported_in_cycle, reasons, "
            f"last_reported_at, status_changed_at) {select}",
            params,
        )


def _constants(cycle: ReviewCycle, context: StalledContext) -> dict[str, Any]:
    body = context.body(cycle.body_id)
    overdue = context.overdue_cycles.get(cycle.body_id)
    past = Recommendation.objects.filter(meeting__body_id=cycle.body_id, target_date__lt=context.today)
    targets = dict(past.values_list("pk", "target_date"))
    return {
        "version": RECORD_VERSION,
        "now": context.now.isoformat(),
        "stale_after_days": body.stale_after_days,
        "unchanged_cycles": body.unchanged_cycles,
        "windows": [start.isoformat() for start in context.closed_windows.get(cycle.body_id, [])],
        "overdue_cycle": overdue
        and {"name_en": overdue.name_en, "name_ar": overdue.name_ar, "deadline": overdue.report_deadline.isoformat()},
        "targets": {str(pk): day.isoformat() for pk, day in targets.items() if day is not None},
    }


# --- reading -------------------------------------------------------------------------------------


def frozen_context(cycle: ReviewCycle) -> StalledContext | None:
    """The stalled rules' context as it was at the close (None for a cycle closed before records existed)."""
    record = cycle.record
    if not record:
        return None
    now = parse_datetime(record["now"])
    assert now is not None
    body = Body(pk=cycle.body_id, stale_after_days=record["stale_after_days"])
    body.unchanged_cycles = record["unchanged_cycles"]
    overdue = {}
    if record["overdue_cycle"]:
        info = record["overdue_cycle"]
        overdue[cycle.body_id] = ReviewCycle(
            body_id=cycle.body_id,
            name_en=info["name_en"],
            name_ar=info["name_ar"],
            report_deadline=date.fromisoformat(info["deadline"]),
        )
    windows = [parse_datetime(start) for start in record["windows"]]
    return StalledContext(
        now=now,
        bodies=[body],
        overdue_cycles=overdue,
        closed_windows={cycle.body_id: [w for w in windows if w is not None]},
    )


@dataclass
class Scope:
    """Which of the record's items: the review view's structural filters."""

    meeting: Any = None
    state: MemberState | None = None
    theme: Any = None
    status: str = ""
    reason: str = ""  # a StalledReason value, "any", or ""


def snapshots(cycle: ReviewCycle, scope: Scope | None = None) -> QuerySet[CycleSnapshot]:
    scope = scope or Scope()
    rows = CycleSnapshot.objects.filter(cycle=cycle)
    if scope.meeting:
        rows = rows.filter(implementation__recommendation__meeting=scope.meeting)
    if scope.state:
        rows = rows.filter(implementation__member_state=scope.state)
    if scope.theme:
        rows = rows.filter(implementation__recommendation__themes=scope.theme)
    if scope.status:
        rows = rows.filter(status=scope.status)
    if scope.reason == "any":
        rows = rows.filter(reasons__gt=0)
    elif scope.reason:
        rows = rows.alias(chosen=F("reasons").bitand(StalledReason(scope.reason).bit)).filter(chosen__gt=0)
    return rows


def _bit_aliases() -> dict[str, Any]:
    return {f"bit_{reason.value}": F("reasons").bitand(reason.bit) for reason in StalledReason}


def aggregates() -> dict[str, Any]:
    """The counts of a set of snapshot rows: the same keys as the live review summary."""
    expected = ~Q(status=Status.NOT_APPLICABLE)
    counts: dict[str, Any] = {
        "total": Count("pk"),
        "implemented": Count("pk", filter=Q(status=Status.IMPLEMENTED)),
        "not_applicable": Count("pk", filter=Q(status=Status.NOT_APPLICABLE)),
        "stalled": Count("pk", filter=Q(reasons__gt=0)),
        "expected": Count("pk", filter=expected),
        "reported": Count("pk", filter=expected & Q(reported_in_cycle=True)),
    }
    for reason in StalledReason:
        counts[reason.value] = Count("pk", filter=Q(**{f"bit_{reason.value}__gt": 0}))
    return counts


def per_state_rows(cycle: ReviewCycle, scope: Scope | None = None) -> list[dict[str, Any]]:
    """One row of counts per member state, as frozen."""
    rows = snapshots(cycle, scope).order_by().alias(**_bit_aliases())
    return list(rows.values(member_state_id=F("implementation__member_state_id")).annotate(**aggregates()))


def per_recommendation_rows(cycle: ReviewCycle, scope: Scope | None = None) -> list[dict[str, Any]]:
    """One row of counts per recommendation, as frozen."""
    rows = snapshots(cycle, scope).order_by().alias(**_bit_aliases())
    return list(rows.values(recommendation_id=F("implementation__recommendation_id")).annotate(**aggregates()))


class FrozenItem:
    """A snapshot row dressed as the item it froze, for the templates and exports that show items."""

    def __init__(self, snapshot: CycleSnapshot, context: StalledContext | None, targets: dict[str, str]) -> None:
        item = snapshot.implementation
        self.pk, self.snapshot = item.pk, snapshot
        self.recommendation: Recommendation = item.recommendation
        target = targets.get(str(item.recommendation_id))
        self.recommendation.target_date = parse_date(target) if target else None
        self.member_state = item.member_state
        self.status, self.progress = snapshot.status, snapshot.progress
        self.last_reported_at = snapshot.last_reported_at
        self.status_changed_at = snapshot.status_changed_at
        self.created_at = item.created_at
        self.open_commitment_due: date | None = None  # not frozen: its explanation says the reason alone
        self.reasons = [reason for reason in StalledReason if (snapshot.reasons or 0) & reason.bit]
        self.explanations = [self._explain(context, reason) for reason in self.reasons]

    def _explain(self, context: StalledContext | None, reason: StalledReason) -> str:
        if context is None or (reason == StalledReason.LATE_COMMITMENT):
            return str(reason.label)
        return context.explain(self, reason)  # type: ignore[arg-type]

    def get_status_display(self) -> str:
        return str(Status(self.status).label)


def stalled_items(cycle: ReviewCycle, scope: Scope | None = None, limit: int = 500) -> list[FrozenItem]:
    """The items stalled at the close, in recommendation then state order, each with its frozen reasons."""
    rows = (
        snapshots(cycle, scope)
        .filter(reasons__gt=0)
        .select_related("implementation__recommendation__meeting", "implementation__member_state")
        .order_by("implementation__recommendation_id", "implementation__member_state_id")[:limit]
    )
    context = frozen_context(cycle)
    targets = (cycle.record or {}).get("targets", {})
    return [FrozenItem(row, context, targets) for row in rows]


def frozen_items(cycle: ReviewCycle, scope: Scope | None = None) -> Iterator[FrozenItem]:
    """Every item of the record in recommendation then state order, streamed (for exports)."""
    rows = (
        snapshots(cycle, scope)
        .select_related("implementation__recommendation__meeting", "implementation__member_state")
        .order_by("implementation__recommendation_id", "implementation__member_state_id")
    )
    context = frozen_context(cycle)
    targets = (cycle.record or {}).get("targets", {})
    for row in rows.iterator(chunk_size=2000):
        yield FrozenItem(row, context, targets)


def frozen_commitments(cycle: ReviewCycle) -> Any:
    """The commitments from the last review as they stood at this cycle's close (None if not frozen)."""
    from tracker.core.commitments import CommitmentSummary

    frozen = (cycle.record or {}).get("commitments")
    return CommitmentSummary.from_record(frozen) if frozen is not None else None


def outcomes(cycle: ReviewCycle) -> QuerySet[ReviewOutcome]:
    """The outcomes recorded in the cycle up to its close."""
    recorded = cycle.outcomes.all()
    if cycle.closed_at is not None:
        recorded = recorded.filter(created_at__lte=cycle.closed_at)
    return recorded.select_related(
        "implementation__recommendation", "implementation__member_state", "recorded_by"
    ).order_by("implementation__recommendation_id", "created_at", "pk")
