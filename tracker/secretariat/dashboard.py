"""What the admin index shows: the open cycles' reports received against expected, stalled counts, and the
panels other rooms contribute (an app config's `admin_index_panel()`, e.g. the reminders' failures)."""

from django.apps import apps
from django.db.models import Count, Q

from tracker.core.models import Implementation, ReviewCycle, Status


def cycle_progress(cycle):
    """Per member state: items expected to report in the cycle and reports received, in one query."""
    expected = (
        Implementation.objects.current()
        .filter(recommendation__meeting__body_id=cycle.body_id)
        .exclude(status=Status.NOT_APPLICABLE)
    )
    rows = (
        expected.values("member_state__iso_code", "member_state__name_en", "member_state__name_ar")
        .annotate(
            expected=Count("pk"),
            received=Count("pk", filter=Q(last_report_cycle=cycle.pk)),
        )
        .order_by("member_state__name_en")
    )
    return [{**row, "missing": row["expected"] - row["received"]} for row in rows]


def room_panels():
    """(template, context) of each installed room that has something to show on the index."""
    return [config.admin_index_panel() for config in apps.get_app_configs() if hasattr(config, "admin_index_panel")]


def dashboard():
    open_cycles = list(ReviewCycle.objects.filter(state=ReviewCycle.State.OPEN).select_related("body"))
    return {
        "open_cycles": [(cycle, cycle_progress(cycle)) for cycle in open_cycles],
        "stalled_counts": Implementation.objects.count_by_reason(),
        "room_panels": room_panels(),
    }
