"""What a focal point's "my state" page shows: a summary counted in the database, then one page of items,
what the open cycle still expects first (overdue, due soon, due), filtered by theme, status and due state."""

from dataclasses import dataclass
from functools import partial

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q
from django.utils import timezone

from tracker.core import memo
from tracker.core.commitments import open_commitments
from tracker.core.counting import cached_counts
from tracker.core.models import Commitment, DueState, Implementation, MemberState, ReviewCycle
from tracker.core.querysets import SETTLED, STILL_DUE, StalledContext, due_labels, explain_stalled

#: Items on one page: a phone on a slow line gets a small page whatever the size of the state.
PAGE_SIZE = 50
#: The due filter's choice that stands for every state the open cycle still expects a report for.
STILL_DUE_CHOICE = "to_report"
SUMMARY_MEMO = "focal-summary"
#: The stable order of the list: due rank, then the newest meeting, the recommendation's place, the item.
ORDER = [
    "due_rank",
    F("recommendation__meeting__start_date").desc(nulls_first=True),
    "recommendation__meeting_id",
    "recommendation__position",
    "recommendation__reference",
    "pk",
]


@dataclass
class Row:
    item: Implementation
    due: str
    reasons: list
    themes: list


@dataclass
class StatePage:
    summary: dict[str, int]
    page: Page
    rows: list[Row]
    cycles: dict[int, ReviewCycle]

    @property
    def page_range(self):
        """The page numbers to link to: the first, the last, and the neighbours of this one (… between)."""
        return list(self.page.paginator.get_elided_page_range(self.page.number, on_each_side=1, on_ends=1))


def open_cycles():
    """The open cycle of each body, by body id (one query)."""
    return {c.body_id: c for c in ReviewCycle.objects.filter(state=ReviewCycle.State.OPEN).select_related("body")}


def state_items(access, state_ids):
    """The items the page is about: followed up, visible to the user, of the chosen states."""
    return Implementation.objects.current().visible_to(access).filter(member_state_id__in=state_ids)


def filtered(items, filters):
    """The items that pass the valid filters (`HomeFilterForm.cleaned()`); their due state is annotated
    (`with_due_state`)."""
    if filters.get("theme"):
        items = items.filter(recommendation__themes=filters["theme"])
    if filters.get("status"):
        items = items.filter(status=filters["status"])
    due = filters.get("due")
    if due == STILL_DUE_CHOICE:
        items = items.filter(due_code__in=STILL_DUE)
    elif due:
        items = items.filter(due_code=due)
    return items


def summary(access, state_ids, cycles, context):
    """How many items, how many in each due state, how many stalled: counted per member state and kept in the
    database between requests (tracker.core.memo), so a state of 45,000 items is counted again only after one
    of its items changed, its due states moved (the key) or its stalled rules' time ran out."""
    key = memo.memo_key(
        SUMMARY_MEMO,
        (
            access.sees_confidential,
            access.all_states,
            sorted((b or 0, sorted(s)) for b, s in access.scopes_by_body().items()),
        ),
        sorted(state_ids),
        due_labels(cycles.values(), context.today),
        memo.rule_parts(context),
    )
    rows = memo.per_state(SUMMARY_MEMO, key, context.now, partial(_count_states, access, state_ids, cycles, context))
    counts = {state.value: 0 for state in DueState} | {"total": 0, "still_due": 0, "stalled": 0}
    for row in rows:
        for due, number in row["due"].items():
            counts[due] += number
            counts["total"] += number
            counts["still_due"] += number if due in STILL_DUE else 0
        counts["stalled"] += row["stalled"]
    return counts


def _count_states(access, state_ids, cycles, context, ids):
    """Per member state of `ids` (None: all of `state_ids`): its items per due state and its stalled items, one
    aggregate query grouped by state and due state, no item loaded."""
    chosen = list(state_ids) if ids is None else [pk for pk in ids if pk in set(state_ids)]
    if not chosen:
        return []
    items = state_items(access, chosen).with_due_state(cycles.values(), context.today).with_stalled_reasons(context)
    groups = items.values("member_state_id", "due_code").annotate(
        items=Count("pk"), stalled=Count("pk", filter=Q(is_stalled=True)), **context.next_moves()
    )
    rows = {}
    for group in groups.order_by():
        row = rows.setdefault(group["member_state_id"], {"member_state_id": group["member_state_id"], "due": {}})
        row["due"][group["due_code"]] = group["items"]
        row["stalled"] = row.get("stalled", 0) + group["stalled"]
        moments = [moment for moment in (row.get("valid_through"), context.moves_at(group)) if moment]
        row["valid_through"] = min(moments, default=None)
    return list(rows.values())


def build_rows(items, context):
    """The rows of one page; the due state and the stalled flags come annotated, the themes prefetched."""
    return [
        Row(
            item=item,
            due=item.due_code,
            reasons=[text for _, text in explain_stalled(item, context)],
            themes=list(item.recommendation.themes.all()),
        )
        for item in items
    ]


def state_page(access, state_ids, filters, page_number, now=None):
    """The summary of the states' items and one page of the filtered ones. A fixed number of queries: the
    context, the open cycles, the summary, the count of the filtered items (none when unfiltered: the summary's
    total is that count), the page's ids, its rows and their themes. The page's ids are chosen first, so the
    database sorts narrow rows, not every item's texts."""
    context = StalledContext.load(now)
    cycles = open_cycles()
    items = state_items(access, state_ids).with_due_state(cycles.values(), context.today)
    counts = summary(access, state_ids, cycles, context)
    ordered = filtered(items, filters).order_by(*ORDER).values_list("pk", flat=True)
    paginator = Paginator(ordered, PAGE_SIZE)
    if not any(filters.get(name) for name in ("theme", "status", "due")):
        paginator.count = counts["total"]  # unfiltered: the summary has counted them (saves a count of every item)
    page = paginator.get_page(page_number)
    ids = list(page.object_list)
    loaded = (
        Implementation.objects.filter(pk__in=ids)
        .with_due_state(cycles.values(), context.today)
        .with_stalled_reasons(context)
        .select_related("recommendation__meeting__body", "member_state")
        .prefetch_related("recommendation__themes")
    )
    by_id = {item.pk: item for item in loaded}
    rows = build_rows([by_id[pk] for pk in ids], context)
    return StatePage(counts, page, rows, cycles)


def states_overview(access, now=None):
    """For secretariat and reviewers: every member state with its number of followed-up items and stalled items,
    the rules evaluated at the minute (so a cached answer is the one the minute would give)."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    context = StalledContext.load(now)
    counts = cached_counts("focal-states-overview", context, lambda: state_counts(context))
    states = list(MemberState.objects.order_by("name_en"))
    for state in states:
        state.items, state.stalled = counts.get(state.pk, (0, 0))
    return states


def state_counts(context):
    """{state id: (followed-up items, stalled items)}: one aggregate pass over the items grouped by state, the
    stalled ones counted with the rules' conditions as a filter (not `IN (the stalled ids)`: with PostgreSQL's
    default work_mem that list is compared row by row)."""
    stalled = ~Q(status__in=SETTLED) & context.any_condition()
    rows = (
        Implementation.objects.current()
        .values("member_state_id")
        .annotate(items=Count("pk"), stalled=Count("pk", filter=stalled))
        .order_by()
    )
    return {row["member_state_id"]: (row["items"], row["stalled"]) for row in rows}


#: Open commitments on the home page: the ones due first. The rest are on the commitments page, in pages of PAGE_SIZE.
HOME_COMMITMENTS = 10


def state_commitments(access, state_ids, today=None):
    """The open commitments the states' focal points owe, earliest due (so the late ones) first. A queryset."""
    return open_commitments(access, state_ids, owners=[Commitment.Owner.STATE])


def home_commitments(access, state_ids, today=None):
    """The first HOME_COMMITMENTS open commitments, each marked late or not, and whether more follow. One query:
    a state with a thousand open commitments still gets a small home page."""
    rows = mark_late(state_commitments(access, state_ids)[: HOME_COMMITMENTS + 1], today)
    return rows[:HOME_COMMITMENTS], len(rows) > HOME_COMMITMENTS


def commitments_page(access, state_ids, page_number, today=None):
    """One page of the states' open commitments (a count and a page: two queries)."""
    page = Paginator(state_commitments(access, state_ids), PAGE_SIZE).get_page(page_number)
    return page, mark_late(page.object_list, today)


def mark_late(commitments, today=None):
    today = today or timezone.localdate()
    rows = list(commitments)
    for commitment in rows:
        commitment.late = commitment.is_late(today)
    return rows
