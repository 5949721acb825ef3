"""What the admin index shows: the open cycles' reports received against expected, stalled counts, and the
panels other rooms contribute (an app config's `admin_index_panel()`, e.g. the reminders' failures)."""

from django.apps import apps
from django.db.models import Count, Q
from django.utils import timezone

from tracker.core.counting import cached_counts
from tracker.core.models import Implementation, ReviewCycle, Status
from tracker.core.querysets import StalledContext


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


def dashboard(now=None):
    """The index's figures. Both counts pass over every item, so they are reused for a minute while nothing they
    depend on changed (`cached_counts`); the rules are evaluated at the start of the minute."""
    context = StalledContext.load((now or timezone.now()).replace(second=0, microsecond=0))
    open_cycles = list(ReviewCycle.objects.filter(state=ReviewCycle.State.OPEN).select_related("body"))
    progress = cached_counts("admin-cycle-progress", context, lambda: [cycle_progress(c) for c in open_cycles])
    return {
        "open_cycles": list(zip(open_cycles, progress, strict=True)),
        "stalled_counts": cached_counts(
            "admin-stalled-counts", context, lambda: Implementation.objects.count_by_reason(context)
        ),
        "room_panels": room_panels(),
    }
