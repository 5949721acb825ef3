"""What the review view shows, assembled from the querysets in a constant number of queries:
the filtered items, the counts per reason and per state (one aggregate), a page of the matrix
(recommendations × member states) and what changed since the last closed cycle.
"""

import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from tracker.core import memo, record
from tracker.core.counting import cached_counts
from tracker.core.models import Body, Implementation, MemberState, Recommendation, ReviewCycle, Status
from tracker.core.querysets import (
    FOLLOWED_UP,
    SETTLED,
    StalledContext,
    StalledReason,
    stalled_reasons_of,
)
from tracker.core.services import current_cycle_of
from tracker.review.forms import ANY_REASON

ROWS_PER_PAGE = 25
SUMMARY_CACHE_SECONDS = 60
FROZEN_CACHE_SECONDS = 24 * 3600
TABLE_ROWS_PER_PAGE = 50
SUMMARY_MEMO = "review-summary"
URL_SENTINEL = 987654321  # an item id no real item has, replaced in the reversed URL


def cell_texts():
    """What every cell of a matrix shares, translated once per page instead of once per cell (550 a page)."""
    return {
        "empty": format_html('<td class="cell empty" title="{}"></td>', gettext("Does not apply")),
        "stalled": format_html(
            '<span aria-hidden="true" class="mark">!</span><span class="visually-hidden">{}</span>', gettext("stalled")
        ),
        "changed": mark_safe('<span aria-hidden="true" class="chg">•</span>'),
        "statuses": {value: str(label) for value, label in Status.choices},
        "was": gettext("was %(before)s"),
    }


def render_cell(item, texts=None):
    """One matrix cell as HTML (escaped by format_html): 550 cells a page, so built here rather than by
    the template engine, which is several times slower for this."""
    texts = texts or cell_texts()
    if item is None:
        return texts["empty"]
    classes = (
        f"cell status-{item.status}" + (" stalled" if item.reasons else "") + ("" if item.matches_filter else " dimmed")
    )
    label = f"{item.member_state.name}: {texts['statuses'].get(item.status, item.status)} {item.progress}%"
    title = "\n".join(
        [label, *(f"! {text}" for text in item.explanations)]
        + ([f"• {texts['was'] % {'before': item.before_label}}"] if item.changed else [])
    )
    marks = mark_safe((texts["stalled"] if item.reasons else "") + (texts["changed"] if item.changed else ""))
    return format_html(
        '<td class="{}"><a href="{}" title="{}"><span class="visually-hidden">{}</span>{}</a></td>',
        classes,
        item.url,
        title,
        label,
        marks,
    )


def completion(implemented, applicable):
    """Implemented share of the items that apply (not-applicable ones are left out), in percent."""
    return round(100 * implemented / applicable) if applicable else None


@dataclass
class Filters:
    body: Body | None
    cycle: ReviewCycle | None = None
    meeting: object = None
    state: MemberState | None = None
    theme: object = None
    status: str = ""
    reason: str = ""
    sort: str = "reference"
    view: str = "matrix"
    page: int = 1

    @classmethod
    def from_form(cls, values):
        body = values.get("body") or Body.objects.order_by("pk").first()
        if body is None:
            return cls(body=None)
        cycle = values.get("cycle")
        if cycle is not None and cycle.body_id != body.pk:
            cycle = None
        return cls(
            body=body,
            cycle=cycle or current_cycle_of(body.pk) or latest_cycle(body),
            meeting=values.get("meeting"),
            state=values.get("state"),
            theme=values.get("theme"),
            status=values.get("status") or "",
            reason=values.get("reason") or "",
            sort=values.get("sort") or "reference",
            view=values.get("view") or "matrix",
            page=values.get("page") or 1,
        )


def latest_cycle(body):
    return ReviewCycle.objects.filter(body=body).order_by("-period_start").first()


def baseline_cycle(filters):
    """The closed cycle whose snapshot "what changed" compares with: the chosen one if it is closed,
    otherwise the body's last closed cycle."""
    cycle = filters.cycle
    if cycle is not None and cycle.state == ReviewCycle.State.CLOSED:
        return cycle
    return (
        ReviewCycle.objects.filter(body=filters.body, state=ReviewCycle.State.CLOSED)
        .order_by("-closed_at", "-pk")
        .first()
    )


def summarise(rows, cycle):
    """Totals, per-state rows and per-reason counts from aggregate rows (live or frozen: the same keys).
    With a cycle, each state's missing reports are counted and the states most missing come first."""
    aggregates = ["total", "implemented", "not_applicable", "stalled", *(r.value for r in StalledReason)]
    states = {s.pk: s for s in MemberState.objects.filter(pk__in=[r["member_state_id"] for r in rows])}
    per_state = []
    totals = dict.fromkeys(aggregates, 0)
    for row in rows:
        for key in aggregates:
            totals[key] += row[key]
        per_state.append(
            {
                "state": states[row["member_state_id"]],
                **row,
                "completion": completion(row["implemented"], row["total"] - row["not_applicable"]),
            }
        )
    if cycle is not None:
        # The secretariat's first question: which states are late for this cycle. Most missing first.
        for row in per_state:
            row["awaiting"] = row.get("awaiting", 0)
            row["missing"] = row["expected"] - row["reported"] - row["awaiting"]
        per_state.sort(key=lambda r: (-r["missing"], r["state"].name))
    else:
        per_state.sort(key=lambda r: (r["completion"] is None, -(r["completion"] or 0), r["state"].name))
    totals["completion"] = completion(totals["implemented"], totals["total"] - totals["not_applicable"])
    reasons = [{"reason": reason, "count": totals[reason.value]} for reason in StalledReason]
    return {"totals": totals, "per_state": per_state, "reasons": reasons, "cycle": cycle}


@dataclass
class ReviewData:
    filters: Filters
    context: StalledContext = None
    baseline: ReviewCycle | None = None
    _items: object = field(default=None, repr=False)
    _item_url: str | None = field(default=None, repr=False)

    @classmethod
    def load(cls, filters, now=None):
        # Rules evaluated at the start of the minute: the page is consistent and its counts cacheable.
        now = (now or timezone.now()).replace(second=0, microsecond=0)
        return cls(filters=filters, context=StalledContext.load(now), baseline=baseline_cycle(filters))

    # --- the filtered items ----------------------------------------------------------------------

    def base_items(self, every_state=False):
        """Items followed up in the chosen body, meeting, state, theme and status (any reason)."""
        f = self.filters
        items = Implementation.objects.current().filter(recommendation__meeting__body=f.body)
        if f.meeting:
            items = items.filter(recommendation__meeting=f.meeting)
        if f.state and not every_state:
            items = items.filter(member_state=f.state)
        if f.theme:
            items = items.filter(recommendation__themes=f.theme)
        if f.status:
            items = items.filter(status=f.status)
        return items

    def reason_condition(self):
        reason = self.filters.reason
        if not reason:
            return None
        if reason == ANY_REASON:
            return FOLLOWED_UP & self.context.any_condition()
        return FOLLOWED_UP & self.context.conditions()[StalledReason(reason)]

    def items(self):
        """base_items() narrowed to the chosen reason."""
        items = self.base_items()
        condition = self.reason_condition()
        return items.filter(condition) if condition is not None else items

    # --- summary: counts per reason and completion per state, one aggregate query ----------------

    def summary_rows(self):
        """The per-state aggregate rows, reused for a minute while nothing they depend on changed (`cached_counts`:
        the minute the rules are evaluated at, the data, the thresholds) under the filters and the reporting
        cycle. Changes made without touching `updated_at` show within a minute."""
        f = self.filters
        scope = [getattr(value, "pk", value) for value in (f.body, f.meeting, f.state, f.theme, f.status)]
        cycle = getattr(self.reporting_cycle(), "pk", None)
        return cached_counts("review-summary", self.context, self._summary_rows, *scope, cycle)

    def _summary_rows(self):
        """Counted per state and kept in the database (tracker.core.memo) where every state's memo answers the
        filters: after a restart, only the states changed since are counted again. Other filters count live."""
        f = self.filters
        if f.meeting or f.theme or f.status:
            return self._count_states(None, every_state=False)
        cycle = getattr(self.reporting_cycle(), "pk", None)
        key = memo.memo_key(SUMMARY_MEMO, f.body.pk, cycle, memo.rule_parts(self.context), sorted(self._aggregates()))
        rows = memo.per_state(SUMMARY_MEMO, key, self.context.now, self._count_states)
        return [row for row in rows if not f.state or row["member_state_id"] == f.state.pk]

    def _aggregates(self):
        unsettled = ~Q(status__in=SETTLED)
        aggregates = {
            "total": Count("pk"),
            "implemented": Count("pk", filter=Q(status=Status.IMPLEMENTED)),
            "not_applicable": Count("pk", filter=Q(status=Status.NOT_APPLICABLE)),
            "stalled": Count("pk", filter=unsettled & self.context.any_condition()),
        }
        for reason, condition in self.context.conditions().items():
            aggregates[reason.value] = Count("pk", filter=unsettled & condition)
        cycle = self.reporting_cycle()
        if cycle is not None:  # what the open (or under review) cycle still expects, state by state
            expected = ~Q(status=Status.NOT_APPLICABLE)
            aggregates["expected"] = Count("pk", filter=expected)
            reported = Q(last_report_cycle=cycle.pk)
            aggregates["reported"] = Count("pk", filter=expected & reported)
            # Sent by the state's focal points, waiting for its national validator: neither reported nor missing.
            awaiting = Q(awaiting_validation_since__isnull=False)
            aggregates["awaiting"] = Count("pk", filter=expected & ~reported & awaiting)
        return aggregates

    def _count_states(self, state_ids, every_state=True):
        """The per-state aggregate rows of `state_ids` (None: all), each with the last moment it holds
        (`StalledContext.moves_at`)."""
        items = self.base_items(every_state=every_state).order_by()
        if state_ids is not None:
            items = items.filter(member_state_id__in=state_ids)
        rows = list(items.values("member_state_id").annotate(**self._aggregates(), **self.context.next_moves()))
        for row in rows:
            row["valid_through"] = self.context.moves_at(row)
        return rows

    def reporting_cycle(self):
        """The chosen cycle while reports still come in for it (open or under review), else None."""
        cycle = self.filters.cycle
        live = (ReviewCycle.State.OPEN, ReviewCycle.State.UNDER_REVIEW)
        return cycle if cycle is not None and cycle.state in live else None

    def summary(self):
        return summarise(self.summary_rows(), self.reporting_cycle())

    def scope(self, with_reason=True):
        """The filters as the frozen record understands them (the summary, like the live one, ignores the reason)."""
        f = self.filters
        reason = f.reason if with_reason else ""
        return record.Scope(meeting=f.meeting, state=f.state, theme=f.theme, status=f.status, reason=reason)

    def frozen(self):
        """The chosen cycle's frozen record, if it is closed with one (its report and exports read only that)."""
        cycle = self.filters.cycle
        return cycle if cycle is not None and cycle.is_closed and cycle.record else None

    def frozen_summary(self):
        """The summary as it stood at the close, from the cycle's snapshot rows (cached: it never changes)."""
        cycle = self.frozen()
        key = "frozen-summary:" + hashlib.sha256(repr([cycle.pk, *self._scope_key()]).encode()).hexdigest()
        rows = cache.get(key)
        if rows is None:
            rows = record.per_state_rows(cycle, self.scope(with_reason=False))
            cache.set(key, rows, FROZEN_CACHE_SECONDS)
        return summarise(rows, cycle)

    def _scope_key(self):
        f = self.filters
        return [getattr(f.meeting, "pk", None), getattr(f.state, "pk", None), getattr(f.theme, "pk", None), f.status]

    # --- the matrix ------------------------------------------------------------------------------

    def recommendation_page(self):
        """The recommendations (rows) of the current page, and whether there is a next page."""
        f = self.filters
        start = (f.page - 1) * ROWS_PER_PAGE
        window = slice(start, start + ROWS_PER_PAGE + 1)
        if f.sort in ("stalled", "completion"):
            ids = self._ranked_recommendation_ids(window)
            by_id = Recommendation.objects.select_related("meeting").in_bulk(ids)
            rows = [by_id[pk] for pk in ids if pk in by_id]
        else:
            rows = list(
                self._recommendations().select_related("meeting").order_by("meeting_id", "position", "id")[window]
            )
        return rows[:ROWS_PER_PAGE], len(rows) > ROWS_PER_PAGE

    def _recommendations(self):
        f = self.filters
        recs = Recommendation.objects.filter(meeting__body=f.body, is_archived=False)
        if f.meeting:
            recs = recs.filter(meeting=f.meeting)
        if f.theme:
            recs = recs.filter(themes=f.theme)
        if f.state or f.status or f.reason:
            # Walk recommendations in order and probe the unique (recommendation, state) index.
            recs = recs.filter(Exists(self.items().filter(recommendation=OuterRef("pk"))))
        return recs

    def _ranked_recommendation_ids(self, window):
        unsettled = ~Q(status__in=SETTLED)
        grouped = self.items().order_by().values("recommendation_id")
        if self.filters.sort == "stalled":
            ranked = grouped.annotate(n=Count("pk", filter=unsettled & self.context.any_condition()))
            ranked = ranked.order_by("-n", "recommendation_id")
        else:
            ranked = grouped.annotate(
                done=Count("pk", filter=Q(status=Status.IMPLEMENTED))
                * 1000
                / (Count("pk", filter=~Q(status=Status.NOT_APPLICABLE)) + 1)
            ).order_by("done", "recommendation_id")
        return [row["recommendation_id"] for row in ranked[window]]

    def cells(self, recommendations):
        """The page's implementations with their stalled flags and the baseline snapshot."""
        items = (
            Implementation.objects.filter(recommendation__in=[r.pk for r in recommendations])
            .current()
            .with_stalled_reasons(self.context)
        )
        if self.filters.state:
            items = items.filter(member_state=self.filters.state)
        if self.baseline is not None:
            snapshot = self.baseline.snapshots.filter(implementation=OuterRef("pk"))
            items = items.annotate(
                before_status=Subquery(snapshot.values("status")[:1]),
                before_progress=Subquery(snapshot.values("progress")[:1]),
            )
        items = list(items)
        # The page's recommendations (with their meeting) and its states are shared by the cells: one instance
        # each, not one per cell as select_related would build.
        recommendations = {rec.pk: rec for rec in recommendations}
        states = MemberState.objects.in_bulk({item.member_state_id for item in items})
        for item in items:
            item.recommendation, item.member_state = (
                recommendations[item.recommendation_id],
                states[item.member_state_id],
            )
        return items

    def matches(self, item):
        f = self.filters
        if f.status and item.status != f.status:
            return False
        if f.reason == ANY_REASON:
            return item.is_stalled
        if f.reason:
            return StalledReason(f.reason) in stalled_reasons_of(item)
        return True

    def matrix(self):
        recommendations, has_next = self.recommendation_page()
        cells = self.cells(recommendations)
        states = sorted({c.member_state for c in cells}, key=lambda s: s.name)
        by_key = {(c.recommendation_id, c.member_state_id): c for c in cells}
        rows, changes, texts = [], [], cell_texts()
        for rec in recommendations:
            row_cells, implemented, applicable = [], 0, 0
            for state in states:
                item = by_key.get((rec.pk, state.pk))
                if item is not None:
                    self.decorate(item)
                    implemented += item.status == Status.IMPLEMENTED
                    applicable += item.status != Status.NOT_APPLICABLE
                    if item.changed:
                        changes.append(item)
                row_cells.append(render_cell(item, texts))
            rows.append({"recommendation": rec, "cells": row_cells, "completion": completion(implemented, applicable)})
        return {"states": states, "rows": rows, "has_next": has_next, "changes": changes}

    def item_url(self, pk):
        """reverse("item") once a page: the cells' links differ only by the id."""
        if self._item_url is None:
            self._item_url = reverse("item", args=[URL_SENTINEL])
        return self._item_url.replace(str(URL_SENTINEL), str(pk))

    def decorate(self, item):
        """Attach what the templates and exports show: reasons, explanations, change, link."""
        item.reasons = stalled_reasons_of(item)
        item.explanations = [self.context.explain(item, reason) for reason in item.reasons]
        item.matches_filter = self.matches(item)
        item.url = self.item_url(item.pk)
        before = getattr(item, "before_status", None)
        if self.baseline is None:
            item.changed = False
        elif before is None:
            item.changed = (item.status, item.progress) != (Status.NOT_STARTED, 0)
        else:
            item.changed = (item.status, item.progress) != (before, item.before_progress)
        if item.changed:
            item.before_label = Status(before).label if before else Status.NOT_STARTED.label
        return item

    # --- the table -------------------------------------------------------------------------------

    TABLE_ORDER = {
        "reference": ("recommendation_id", "member_state_id"),
        "state": ("member_state_id", "recommendation_id"),
        "oldest_report": ("last_reported_at", "id"),
        "status": ("status", "recommendation_id", "member_state_id"),
    }

    def table_items(self):
        order = self.TABLE_ORDER.get(self.filters.sort, self.TABLE_ORDER["reference"])
        return (
            self.items()
            .with_stalled_reasons(self.context)
            .select_related("recommendation__meeting", "member_state")
            .order_by(*order)
        )

    def stalled_items(self):
        return self.table_items().filter(FOLLOWED_UP & self.context.any_condition())

    def table(self):
        f = self.filters
        start = (f.page - 1) * TABLE_ROWS_PER_PAGE
        items = self.table_items()
        if self.baseline is not None:
            snapshot = self.baseline.snapshots.filter(implementation=OuterRef("pk"))
            items = items.annotate(
                before_status=Subquery(snapshot.values("status")[:1]),
                before_progress=Subquery(snapshot.values("progress")[:1]),
            )
        rows = list(items[start : start + TABLE_ROWS_PER_PAGE + 1])
        for item in rows:
            self.decorate(item)
        return {"items": rows[:TABLE_ROWS_PER_PAGE], "has_next": len(rows) > TABLE_ROWS_PER_PAGE}
