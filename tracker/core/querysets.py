"""Querysets: the one place where visibility and the stalled rules are computed, in the database.

The stalled rules read precomputed, indexed columns of Implementation (`last_reported_at`,
`last_report_cycle`, `status_changed_at`, `has_open_obstacle`, `open_commitment_due`) and a handful of
per-body constants (thresholds, the open cycle, when the last closed cycles began) loaded once per query, so
a scan over a million items is one indexed query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from django.db import models
from django.db.models import BooleanField, Case, CharField, ExpressionWrapper, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    # FocalPointDesignation, FrameworkTarget, ProgressReport and Recommendation are named in the quoted generic bases
    # of the querysets below, which ruff does not read.
    from tracker.core.models import (
        Body,
        FocalPointDesignation,  # noqa: F401
        FrameworkTarget,  # noqa: F401
        Implementation,
        ProgressReport,  # noqa: F401
        Recommendation,  # noqa: F401
        ReviewCycle,
    )
    from tracker.core.permissions import Access


class StalledReason(models.TextChoices):
    NO_RECENT_REPORT = "no_recent_report", _("No submitted report for too long")
    MISSING_CYCLE_REPORT = "missing_cycle_report", _("Deadline passed without a report for this cycle")
    UNCHANGED = "unchanged", _("No change over several closed cycles")
    PAST_TARGET = "past_target", _("Target date has passed")
    OPEN_OBSTACLE = "open_obstacle", _("Obstacle reported, no solution recorded")
    LATE_COMMITMENT = "late_commitment", _("A commitment of the last review is late")

    @property
    def bit(self) -> int:
        """This reason's bit in a frozen snapshot's `reasons` (declaration order: append, never reorder)."""
        return 1 << list(StalledReason).index(self)


SETTLED = ["implemented", "not_applicable"]
ANNOTATION_PREFIX = "stalled_"
BODY = "recommendation__meeting__body_id"


@dataclass
class StalledContext:
    """The constants the rules need: each body's thresholds and its open cycle, if its deadline passed.

    Loaded once (two small queries) and then turned into plain SQL conditions on the precomputed,
    indexed columns of Implementation, so the rules cost one scan whatever the number of items.
    """

    now: datetime
    bodies: list[Body] = field(default_factory=list)
    # body id -> open cycle whose deadline has passed
    overdue_cycles: dict[int, ReviewCycle] = field(default_factory=dict)
    # body id -> when each of its closed cycles began (the previous close, or the first one's opening),
    # most recent first: "unchanged over K closed cycles" means no change since the K-th of these.
    closed_windows: dict[int, list[datetime]] = field(default_factory=dict)
    # (reason, body, language, numbers) -> words: explain() words each distinct explanation once
    _worded: dict[tuple[Any, ...], str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, now: datetime | None = None, closing: ReviewCycle | None = None) -> Self:
        """The context now; with `closing`, as it will be once that cycle has closed at `now`. Two queries:
        the bodies, and the cycles that matter (open past their deadline, closed, the one closing)."""
        from tracker.core.models import Body, ReviewCycle

        now = now or timezone.now()
        today = timezone.localdate(now)
        bodies = list(Body.objects.only("id", "stale_after_days", "unchanged_cycles"))
        overdue = Q(state=ReviewCycle.State.OPEN, report_deadline__lt=today)
        cycles = list(ReviewCycle.objects.filter(overdue | closed_or(closing)).defer("record"))
        return cls(
            now=now,
            bodies=bodies,
            overdue_cycles={c.body_id: c for c in cycles if c.state == ReviewCycle.State.OPEN},
            closed_windows=closed_windows(closing, now, [c for c in cycles if c.state != ReviewCycle.State.OPEN]),
        )

    @property
    def today(self) -> date:
        return timezone.localdate(self.now)

    def body(self, body_id: int) -> Body:
        for body in self.bodies:
            if body.pk == body_id:
                return body
        from tracker.core.models import Body

        return Body()  # an unknown body gets the documented defaults

    def _per_body(self, attribute: str, make: Callable[[int], Q]) -> Q:
        """OR of `make(value)` per distinct threshold; the join to the body is skipped when all agree."""
        groups: dict[int, list[int]] = {}
        for body in self.bodies:
            groups.setdefault(getattr(body, attribute), []).append(body.pk)
        if len(groups) == 1:
            return make(next(iter(groups)))
        condition = Q(pk__in=[])
        for value, body_ids in groups.items():
            condition |= Q(**{f"{BODY}__in": body_ids}) & make(value)
        return condition

    def stale_cutoff(self, days: int) -> datetime:
        return self.now - timedelta(days=days)

    def no_recent_report(self) -> Q:
        """Last submitted report (or, never reported, the item's creation) more than N days ago."""

        def stale(days: int) -> Q:
            cutoff = self.stale_cutoff(days)
            return Q(last_reported_at__lt=cutoff) | Q(last_reported_at__isnull=True, created_at__lt=cutoff)

        return self._per_body("stale_after_days", stale)

    def missing_cycle_report(self) -> Q:
        condition = Q(pk__in=[])
        for body_id, cycle in self.overdue_cycles.items():
            not_reported = Q(last_report_cycle__isnull=True) | ~Q(last_report_cycle=cycle.pk)
            # A report waiting for the state's national validator is not missing: the review counts it apart.
            not_reported &= Q(awaiting_validation_since__isnull=True)
            if len(self.bodies) == 1 and self.bodies[0].pk == body_id:
                condition |= not_reported
            else:
                condition |= Q(**{BODY: body_id}) & not_reported
        return condition

    def unchanged_cutoff(self, body_id: int, cycles: int) -> datetime | None:
        """When the body's `cycles`-th most recent closed cycle began (None: fewer have closed)."""
        windows = self.closed_windows.get(body_id, [])
        return windows[cycles - 1] if len(windows) >= cycles else None

    def unchanged(self) -> Q:
        """Status and progress last changed before the K-th most recent closed cycle of the body began."""
        cutoffs: dict[datetime, list[int]] = {}
        for body in self.bodies:
            cutoff = self.unchanged_cutoff(body.pk, body.unchanged_cycles)
            if cutoff is not None:
                cutoffs.setdefault(cutoff, []).append(body.pk)
        if len(cutoffs) == 1 and len(self.bodies) == 1:
            return Q(status_changed_at__lt=next(iter(cutoffs)))
        condition = Q(pk__in=[])
        for cutoff, body_ids in cutoffs.items():
            condition |= Q(**{f"{BODY}__in": body_ids}) & Q(status_changed_at__lt=cutoff)
        return condition

    def unchanged_count(self, body_id: int, changed_at: datetime | None) -> int:
        """Over how many of the body's closed cycles an item that last changed at `changed_at` stayed unchanged."""
        windows = self.closed_windows.get(body_id, [])
        return sum(1 for start in windows if changed_at is None or changed_at < start)

    def late_commitment(self) -> Q:
        return Q(open_commitment_due__lt=self.today)

    def past_target(self) -> Q:
        return Q(recommendation__target_date__lt=self.today)

    def open_obstacle(self) -> Q:
        return Q(has_open_obstacle=True)

    def conditions(self) -> dict[StalledReason, Q]:
        """Each reason with the condition under which it holds for an unsettled item."""
        return {
            StalledReason.NO_RECENT_REPORT: self.no_recent_report(),
            StalledReason.MISSING_CYCLE_REPORT: self.missing_cycle_report(),
            StalledReason.UNCHANGED: self.unchanged(),
            StalledReason.PAST_TARGET: self.past_target(),
            StalledReason.OPEN_OBSTACLE: self.open_obstacle(),
            StalledReason.LATE_COMMITMENT: self.late_commitment(),
        }

    def next_moves(self) -> dict[str, models.Aggregate]:
        """Aggregates over unsettled items saying when the rules next move for one they do not catch yet: its report
        grows too old, its target date or its commitment's due date passes. `moves_at(row)` reads them. With
        bodies of different thresholds the answer errs early (a count kept for less long, never stale)."""
        days = [body.stale_after_days for body in self.bodies] or [0]
        unsettled, today = ~Q(status__in=SETTLED), self.today
        cutoff = self.stale_cutoff(max(days))
        not_yet = Q(last_reported_at__gte=cutoff) | Q(last_reported_at__isnull=True, created_at__gte=cutoff)
        target = Q(recommendation__target_date__gte=today)
        return {
            "next_stale": models.Min(Coalesce("last_reported_at", "created_at"), filter=unsettled & not_yet),
            "next_target": models.Min("recommendation__target_date", filter=unsettled & target),
            "next_due": models.Min("open_commitment_due", filter=unsettled & Q(open_commitment_due__gte=today)),
        }

    def moves_at(self, row: dict[str, Any]) -> datetime | None:
        """The last moment a row counted with `next_moves()` holds (None: no time rule moves it); pops them."""
        days = min([body.stale_after_days for body in self.bodies] or [0])
        stale, target, due = row.pop("next_stale"), row.pop("next_target"), row.pop("next_due")
        moments = [
            stale + timedelta(days=days) if stale else None,
            *(end_of(day) if day else None for day in (target, due)),
        ]
        return min((moment for moment in moments if moment), default=None)

    def any_condition(self) -> Q:
        condition = Q(pk__in=[])
        for one in self.conditions().values():
            condition |= one
        return condition

    # --- explanations ----------------------------------------------------------------------------

    def explain(self, item: Implementation, reason: StalledReason | str) -> str:
        """One reason in words with its numbers, e.g. "No submitted report for 213 days (limit 180)".

        `item` needs `recommendation.meeting` (select_related) for its body and target date. Worded once per
        distinct wording and language: the review's 550 cells share a handful (a deadline, a target date).
        """
        reason = StalledReason(reason)
        body = self.body(item.recommendation.meeting.body_id)
        numbers = self._numbers(item, reason, body)
        key = (reason, body.pk, get_language(), numbers)
        text = self._worded.get(key)
        if text is None:
            text = self._worded[key] = self._wording(reason, body, numbers)
        return text

    def _numbers(self, item: Implementation, reason: StalledReason, body: Body) -> tuple[Any, ...]:
        """What the wording of `reason` says about `item` (with the body and the day, all it depends on)."""
        if reason == StalledReason.NO_RECENT_REPORT:
            since = item.last_reported_at or item.created_at
            return (item.last_reported_at is None, (self.now - since).days if since else 0)
        if reason == StalledReason.UNCHANGED:
            return (self.unchanged_count(body.pk, item.status_changed_at),)
        if reason == StalledReason.LATE_COMMITMENT:
            return (item.open_commitment_due,)
        if reason == StalledReason.PAST_TARGET:
            return (item.recommendation.target_date,)
        return ()

    def _wording(self, reason: StalledReason, body: Body, numbers: tuple[Any, ...]) -> str:
        if reason == StalledReason.NO_RECENT_REPORT:
            never, days = numbers
            if never:
                return ngettext(
                    "Never reported, followed up for %(days)d day (limit %(limit)d)",
                    "Never reported, followed up for %(days)d days (limit %(limit)d)",
                    days,
                ) % {"days": days, "limit": body.stale_after_days}
            return ngettext(
                "No submitted report for %(days)d day (limit %(limit)d)",
                "No submitted report for %(days)d days (limit %(limit)d)",
                days,
            ) % {"days": days, "limit": body.stale_after_days}
        if reason == StalledReason.MISSING_CYCLE_REPORT:
            cycle = self.overdue_cycles.get(body.pk)
            if cycle is None:
                return str(reason.label)
            days = (self.today - cycle.report_deadline).days
            return ngettext(
                "No report for %(cycle)s, deadline %(deadline)s passed %(days)d day ago",
                "No report for %(cycle)s, deadline %(deadline)s passed %(days)d days ago",
                days,
            ) % {"cycle": cycle.name, "deadline": date_format(cycle.report_deadline), "days": days}
        if reason == StalledReason.UNCHANGED:
            (count,) = numbers
            return ngettext(
                "Status and progress unchanged over %(count)d closed cycle (limit %(limit)d)",
                "Status and progress unchanged over %(count)d closed cycles (limit %(limit)d)",
                count,
            ) % {"count": count, "limit": body.unchanged_cycles}
        if reason == StalledReason.LATE_COMMITMENT:
            (due,) = numbers
            days = (self.today - due).days if due else 0
            return ngettext(
                "A commitment due %(date)s is %(days)d day late",
                "A commitment due %(date)s is %(days)d days late",
                days,
            ) % {"date": date_format(due) if due else "", "days": days}
        if reason == StalledReason.PAST_TARGET:
            (target,) = numbers
            days = (self.today - target).days if target else 0
            return ngettext(
                "Target date %(date)s passed %(days)d day ago",
                "Target date %(date)s passed %(days)d days ago",
                days,
            ) % {"date": date_format(target) if target else "", "days": days}
        return gettext("Obstacle or support need reported; the review has recorded no solution")


def end_of(day: date) -> datetime:
    """The last moment of a local day: a rule "before today" on `day` starts to hold just after it."""
    midnight = datetime.combine(day + timedelta(days=1), datetime.min.time())
    return timezone.make_aware(midnight) - timedelta(microseconds=1)


def closed_or(closing: ReviewCycle | None) -> Q:
    from tracker.core.models import ReviewCycle

    condition = Q(state=ReviewCycle.State.CLOSED)
    return condition | Q(pk=closing.pk) if closing is not None else condition


def closed_windows(
    closing: ReviewCycle | None = None, now: datetime | None = None, cycles: list[ReviewCycle] | None = None
) -> dict[int, list[datetime]]:
    """{body id: when each closed cycle began, most recent first}; `closing` counts as closed at `now`.

    A closed cycle began when the one before it closed; the body's first began when it opened (or, opened
    before that was recorded, at the start of its period). `cycles`: the closed ones, if already loaded."""
    from tracker.core.models import ReviewCycle

    if cycles is None:
        cycles = list(ReviewCycle.objects.filter(closed_or(closing)).defer("record"))
    windows: dict[int, list[datetime]] = {}
    last_close: dict[int, datetime] = {}
    for cycle in sorted(cycles, key=lambda c: (c.body_id, _closed_at(c, closing, now), c.pk)):
        start = last_close.get(cycle.body_id) or cycle.opened_at or _midnight(cycle.period_start)
        windows.setdefault(cycle.body_id, []).insert(0, start)
        last_close[cycle.body_id] = _closed_at(cycle, closing, now)
    return windows


def _closed_at(cycle: ReviewCycle, closing: ReviewCycle | None, now: datetime | None) -> datetime:
    if closing is not None and cycle.pk == closing.pk:
        return now or timezone.now()
    assert cycle.closed_at is not None  # a database constraint: a closed cycle has its timestamp
    return cycle.closed_at


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _flag(condition: Q) -> ExpressionWrapper[Q]:
    return ExpressionWrapper(condition, output_field=BooleanField())


#: What "followed up and not settled" means; the stalled flags are false outside it.
FOLLOWED_UP = Q(applies=True, recommendation__is_archived=False) & ~Q(status__in=SETTLED)

#: The due states (DueState values) in the order a focal point's page lists them: first what the open cycle
#: still expects a report for (overdue, due soon, due), then the rest.
DUE_RANK = {"overdue": 0, "due_soon": 1, "due": 2, "awaiting_validation": 3, "reported": 4, "none": 5}
STILL_DUE = ("overdue", "due_soon", "due")


def _due_by_date(cycle: ReviewCycle, today: date) -> str:
    """What an item the cycle still expects is, by the calendar alone (as Implementation.due_state says)."""
    if cycle.report_deadline < today:
        return "overdue"
    soon = max(cycle.body.reminder_offsets() or [0])
    return "due_soon" if (cycle.report_deadline - today).days <= soon else "due"


def due_labels(open_cycles: Iterable[ReviewCycle], today: date) -> list[tuple[int, int, str]]:
    """(body, cycle, what an item it still expects is by the calendar): what the due states depend on today."""
    return sorted((cycle.body_id, cycle.pk, _due_by_date(cycle, today)) for cycle in open_cycles)


def _due_conditions(open_cycles: Iterable[ReviewCycle], today: date) -> list[tuple[Q, str]]:
    """[(condition, due state)], first match wins: Implementation.due_state as SQL conditions, per body."""
    conditions = []
    for cycle in open_cycles:
        expected = Q(**{BODY: cycle.body_id}, applies=True) & ~Q(status__in=SETTLED)
        conditions += [
            (expected & Q(last_report_cycle=cycle.pk), "reported"),
            (expected & Q(awaiting_validation_since__isnull=False), "awaiting_validation"),
            (expected, _due_by_date(cycle, today)),
        ]
    return conditions


class ImplementationQuerySet(models.QuerySet["Implementation"]):
    def changed_since(self, token: int) -> Self:
        """Items whose row, recommendation or body (its cycles and thresholds, which the stalled reasons
        follow) changed at or after a sync token (tracker.core.sync). The few changed recommendations and
        bodies are read first, so the item table is searched by indexes, not joined row by row."""
        from tracker.core.models import Body, Recommendation

        changed = Q(change_xid__gte=token)
        recommendations = list(Recommendation.objects.filter(change_xid__gte=token).values_list("pk", flat=True))
        if recommendations:
            changed |= Q(recommendation_id__in=recommendations)
        bodies = list(Body.objects.filter(change_xid__gte=token).values_list("pk", flat=True))
        if bodies:
            changed |= Q(**{f"{BODY}__in": bodies})
        return self.filter(changed)

    def current(self) -> Self:
        """Items that are followed up: the state is still concerned and the recommendation not archived."""
        return self.filter(applies=True, recommendation__is_archived=False)

    def unsettled(self) -> Self:
        return self.exclude(status__in=SETTLED)

    def visible_to(self, access: Access) -> Self:
        """What a user or partner may see (tracker.core.permissions says who sees what)."""
        if access.all_states and access.sees_confidential:
            return self
        return self.filter(item_scope(access))

    def with_stalled_reasons(self, context: StalledContext | None = None) -> Self:
        """Annotate `stalled_<reason>` booleans and `is_stalled` (all false for settled or no longer
        followed-up items). The context is kept on the queryset for `explain_stalled`."""
        context = context or StalledContext.load()
        flags = {
            f"{ANNOTATION_PREFIX}{reason.value}": _flag(FOLLOWED_UP & condition)
            for reason, condition in context.conditions().items()
        }
        return self.annotate(**flags, is_stalled=_flag(FOLLOWED_UP & context.any_condition()))

    def with_due_state(self, open_cycles: Iterable[ReviewCycle], today: date) -> Self:
        """Annotate `due_code` (the DueState value Implementation.due_state gives) and `due_rank` (DUE_RANK),
        computed in SQL so a page can filter, count and order by them. `open_cycles`: each body's open cycle, with
        its body loaded (its reminder days say what "due soon" means)."""
        conditions = _due_conditions(open_cycles, today)
        due = Case(
            *[When(condition, then=Value(state)) for condition, state in conditions],
            default=Value("none"),
            output_field=CharField(),
        )
        rank = Case(
            *[When(condition, then=Value(DUE_RANK[state])) for condition, state in conditions],
            default=Value(DUE_RANK["none"]),
            output_field=IntegerField(),
        )
        return self.annotate(due_code=due, due_rank=rank)

    def stalled(self, reason: StalledReason | str | None = None, context: StalledContext | None = None) -> Self:
        """Unsettled items for which the given reason (or any reason) holds."""
        context = context or StalledContext.load()
        if reason:
            condition = context.conditions()[StalledReason(reason)]
        else:
            condition = context.any_condition()
        return self.current().unsettled().filter(condition)

    def count_by_reason(self, context: StalledContext | None = None) -> dict[str, int]:
        """{reason: number of stalled items} in one aggregate query."""
        context = context or StalledContext.load()
        aggregates = {
            reason.value: models.Count("pk", filter=condition) for reason, condition in context.conditions().items()
        }
        return self.current().unsettled().aggregate(**aggregates)


def stalled_reasons_of(implementation: Implementation, context: StalledContext | None = None) -> list[StalledReason]:
    """The reasons that hold for an implementation, as StalledReason members.

    Read from the annotations of with_stalled_reasons() when present; otherwise computed by the same
    query for this one item (so there is still a single implementation of the rules).
    """
    names = [f"{ANNOTATION_PREFIX}{reason.value}" for reason in StalledReason]
    if not all(hasattr(implementation, name) for name in names):
        flags = (
            type(implementation)
            .objects.filter(pk=implementation.pk)
            .with_stalled_reasons(context)
            .values(*names)
            .first()
        ) or {}
        for name in names:
            setattr(implementation, name, bool(flags.get(name)))
    return [reason for reason in StalledReason if getattr(implementation, f"{ANNOTATION_PREFIX}{reason.value}")]


def explain_stalled(
    implementation: Implementation, context: StalledContext | None = None
) -> list[tuple[StalledReason, str]]:
    """[(reason, sentence with its numbers)] for every reason that holds, in the active language."""
    context = context or StalledContext.load()
    return [(reason, context.explain(implementation, reason)) for reason in stalled_reasons_of(implementation, context)]


def item_scope(access: Access) -> Q:
    """Implementations within an access's scopes, of public recommendations unless it sees confidential ones."""
    condition = Q() if access.sees_confidential else Q(recommendation__is_public=True)
    if access.all_states:
        return condition
    within = Q(pk__in=[])  # no scope: nothing
    for body_id, state_ids in sorted(access.scopes_by_body().items(), key=lambda pair: pair[0] or 0):
        scope = Q(member_state_id__in=sorted(state_ids))
        if body_id is not None:
            scope &= Q(recommendation__meeting__body_id=body_id)
        within |= scope
    return condition & within


class RecommendationQuerySet(models.QuerySet["Recommendation"]):
    def active(self) -> Self:
        return self.filter(is_archived=False)

    def visible_to(self, access: Access) -> Self:
        """Public recommendations, and the confidential ones the access sees an item of."""
        if access.sees_confidential and access.all_states:
            return self
        if not access.sees_confidential:
            return self.filter(is_public=True)
        from tracker.core.models import Implementation

        items = Implementation.objects.filter(item_scope(access)).values("recommendation_id")
        return self.filter(Q(is_public=True) | Q(pk__in=items))


class FrameworkTargetQuerySet(models.QuerySet["FrameworkTarget"]):
    def keyed(self, keys: Iterable[str]) -> Self:
        """The targets with these keys (framework code, "-", target code, e.g. sdg-10.7: `FrameworkTarget.key`), the
        one spelling the public filters, the downloads and the API share."""
        key = Concat("framework__code", Value("-"), "code", output_field=CharField())
        return self.annotate(key_text=key).filter(key_text__in=list(keys))


class ReportQuerySet(models.QuerySet["ProgressReport"]):
    def submitted(self) -> Self:
        return self.filter(state="submitted")

    def drafts(self) -> Self:
        return self.filter(state="draft")

    def working_drafts(self) -> Self:
        """The drafts in use: one per implementation (the state's shared draft); archived ones are kept aside."""
        return self.filter(state="draft", is_archived=False)

    def shared_draft_of(self, implementation: Implementation | int) -> ProgressReport | None:
        """The state's one working draft of the item, shared by all who report for the state (its primary and
        alternate focal points, the secretariat), whoever started it: a handover keeps it. None: no draft."""
        return (
            self.working_drafts()
            .filter(implementation=implementation)
            .select_related("author", "updated_by")
            .prefetch_related("evidence")
            .first()
        )


def data_version() -> list[str]:
    """When items, recommendations or cycles last changed (one query of index lookups): with the minute and the
    thresholds, what a cached count of the stalled rules depends on."""
    from django.db import connection

    from tracker.core.models import Implementation, Recommendation, ReviewCycle

    items, recommendations, cycles = (m._meta.db_table for m in (Implementation, Recommendation, ReviewCycle))
    sql = (
        f"SELECT (SELECT MAX(updated_at) FROM {items}), (SELECT MAX(updated_at) FROM {recommendations}), "
        f"(SELECT MAX(closed_at) FROM {cycles}), (SELECT MAX(opened_at) FROM {cycles})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [str(value) for value in cursor.fetchone()]


class DesignationQuerySet(models.QuerySet["FocalPointDesignation"]):
    def active(self, today: date | None = None) -> Self:
        """Designations in force: started and not ended. An ended designation loses access at once."""
        today = today or timezone.localdate()
        return self.filter(start_date__lte=today, end_date__isnull=True)


__all__ = [
    "due_labels",
    "DUE_RANK",
    "STILL_DUE",
    "DesignationQuerySet",
    "ImplementationQuerySet",
    "RecommendationQuerySet",
    "ReportQuerySet",
    "StalledContext",
    "StalledReason",
    "data_version",
    "explain_stalled",
    "stalled_reasons_of",
]
