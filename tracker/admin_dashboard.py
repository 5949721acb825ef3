"""What the admin index shows: the open cycles' reports received against expected, stalled counts, failures."""

from django.db.models import Count, Q

from tracker.models import Implementation, Reminder, ReviewCycle, Status
from tracker.reminders.sending import past_the_lease


def cycle_progress(cycle):
    """Per member state: items expected to report in the cycle and reports received, in one query."""
    expected = Implementation.objects.current().filter(recommendation__meeting__body_id=cycle.body_id).exclude(
        status=Status.NOT_APPLICABLE
    )
    rows = expected.values("member_state__iso_code", "member_state__name_en", "member_state__name_ar").annotate(
        expected=Count("pk"), received=Count("pk", filter=Q(last_report_cycle=cycle.pk)),
    ).order_by("member_state__name_en")
    return [{**row, "missing": row["expected"] - row["received"]} for row in rows]


def dashboard():
    open_cycles = list(ReviewCycle.objects.filter(state=ReviewCycle.State.OPEN).select_related("body"))
    return {
        "open_cycles": [(cycle, cycle_progress(cycle)) for cycle in open_cycles],
        "stalled_counts": Implementation.objects.count_by_reason(),
        "failed_reminders": Reminder.objects.filter(state=Reminder.State.FAILED).count(),
        "held_reminders": Reminder.objects.filter(past_the_lease()).count(),
    }
