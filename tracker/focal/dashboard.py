"""What a focal point's "my state" page shows: items grouped by meeting, most urgent first."""

from dataclasses import dataclass, field
from itertools import groupby

from django.utils import timezone

from tracker.core.commitments import open_commitments
from tracker.core.models import Commitment, DueState, Implementation, MemberState, ReviewCycle
from tracker.core.querysets import StalledContext, explain_stalled

URGENCY = {
    DueState.OVERDUE: 0,
    DueState.DUE_SOON: 2,
    DueState.DUE: 3,
    DueState.AWAITING_VALIDATION: 4,
    DueState.REPORTED: 4,
    DueState.NONE: 5,
}


@dataclass
class Row:
    item: Implementation
    due: str
    reasons: list
    themes: list

    @property
    def urgency(self):
        return min(URGENCY[self.due], 1 if self.reasons else 9)


@dataclass
class MeetingGroup:
    meeting: object
    rows: list = field(default_factory=list)


def open_cycles():
    """The open cycle of each body, by body id (one query)."""
    return {c.body_id: c for c in ReviewCycle.objects.filter(state=ReviewCycle.State.OPEN).select_related("body")}


def state_items(access, state_ids, theme=None):
    items = (
        Implementation.objects.current()
        .visible_to(access)
        .filter(member_state_id__in=state_ids)
        .select_related("recommendation__meeting__body", "member_state")
        .prefetch_related("recommendation__themes")
    )
    if theme:
        items = items.filter(recommendation__themes__code=theme)
    return items


def build_rows(items, context, cycles, today):
    rows = []
    for item in items:
        cycle = cycles.get(item.recommendation.meeting.body_id)
        reasons = [text for _, text in explain_stalled(item, context)]
        rows.append(
            Row(
                item=item,
                due=item.due_state(cycle, today),
                reasons=reasons,
                themes=list(item.recommendation.themes.all()),
            )
        )
    return rows


def state_overview(access, state_ids, theme=None, now=None):
    """Groups of rows by meeting (newest meeting first), each sorted most urgent first."""
    context = StalledContext.load(now)
    today = timezone.localdate(context.now)
    cycles = open_cycles()
    rows = build_rows(state_items(access, state_ids, theme).with_stalled_reasons(context), context, cycles, today)
    rows.sort(
        key=lambda r: (
            -(r.item.recommendation.meeting.start_date or today).toordinal(),
            r.item.recommendation.meeting_id,
            r.urgency,
            r.item.recommendation.position,
        )
    )
    groups = [
        MeetingGroup(meeting, list(group))
        for meeting, group in groupby(rows, key=lambda r: r.item.recommendation.meeting)
    ]
    return groups, cycles


def states_overview(access):
    """For secretariat and reviewers: every member state with its number of items and stalled items."""
    from django.db.models import Count, Q

    stalled_ids = Implementation.objects.stalled().values("pk")
    return MemberState.objects.annotate(
        items=Count(
            "implementations",
            filter=Q(implementations__applies=True, implementations__recommendation__is_archived=False),
        ),
        stalled=Count("implementations", filter=Q(implementations__in=stalled_ids)),
    ).order_by("name_en")


def state_commitments(access, state_ids, today=None):
    """The open commitments the states' focal points owe, earliest due (so the late ones) first, each marked
    late or not. One query."""
    today = today or timezone.localdate()
    rows = list(open_commitments(access, state_ids, owners=[Commitment.Owner.STATE]))
    for commitment in rows:
        commitment.late = commitment.is_late(today)
    return rows
