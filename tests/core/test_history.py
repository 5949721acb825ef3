"""Nothing unrecorded: changes made by set-based statements enter the items' history with who and why."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from tracker.core import services
from tracker.core.models import Implementation, ProgressReport, Recommendation, ReviewCycle
from tracker.core.permissions import access_for

pytestmark = pytest.mark.django_db(transaction=True)  # the PostgreSQL close path runs its own statement


def closed_cycle(body, officer):
    today = timezone.localdate()
    cycle = ReviewCycle.objects.create(
        body=body,
        name_en="C1",
        name_ar="د1",
        period_start=today - timedelta(180),
        period_end=today,
        report_deadline=today,
    )
    for target in ("open", "under_review"):
        cycle = services.move_cycle(cycle, target, by=officer)
    return services.close_cycle_now(cycle, by=officer)


def test_it_records_who_closed_a_cycle_and_rewrites_no_item(reference, secretariat_officer):
    item = Implementation.objects.get(recommendation__reference="R1", member_state__iso_code="EG")
    before = item.history.count()
    cycle = closed_cycle(reference, secretariat_officer)
    assert cycle.closed_by == secretariat_officer
    assert cycle.history.latest().history_user_id in (None, secretariat_officer.pk)
    assert [h.state for h in cycle.history.order_by("history_date")][-2:] == ["closing", "closed"]
    assert item.history.count() == before  # closing writes no item: nothing to record


def test_it_records_the_obstacle_an_outcome_clears_and_credits_the_next_change_right(
    reference, secretariat_officer, egypt_focal_point
):
    item = Implementation.objects.get(recommendation__reference="R1", member_state__iso_code="EG")
    data = services.ReportInput(status="in_progress", progress=20, narrative="x", obstacles="No budget.")
    services.submit_report(item, egypt_focal_point, access_for(egypt_focal_point), data)
    services.record_outcome(
        item,
        secretariat_officer,
        access_for(secretariat_officer),
        obstacle_category="resources",
        solution="UNHCR funds a workshop.",
    )
    cleared = Implementation.objects.get(pk=item.pk).history.latest()
    assert (cleared.has_open_obstacle, cleared.history_user_id) == (False, secretariat_officer.pk)
    assert cleared.history_change_reason.startswith("Review outcome")
    item.refresh_from_db()
    services.submit_report(
        item,
        egypt_focal_point,
        access_for(egypt_focal_point),
        services.ReportInput(status="in_progress", progress=30, narrative="y"),
    )
    latest, before = item.history.all()[:2]
    changed = [change.field for change in latest.diff_against(before).changes]
    # not the obstacle the outcome cleared
    assert changed == ["last_reported_at", "progress", "status_changed_at", "version"]


def test_it_records_the_states_a_recommendation_stops_applying_to(reference, secretariat_officer):
    recommendation = Recommendation.objects.get(reference="R2", meeting__body=reference)
    recommendation.applies_to.set(recommendation.meeting.body.member_states.filter(iso_code="EG"))
    jordan = Implementation.objects.get(recommendation=recommendation, member_state__iso_code="JO")
    latest = jordan.history.latest()
    assert latest.applies is False and "applies to changed" in latest.history_change_reason


def test_it_logs_who_archived_a_report(client, reference, secretariat_officer, egypt_focal_point):
    item = Implementation.objects.get(recommendation__reference="R1", member_state__iso_code="EG")
    report = services.submit_report(
        item,
        egypt_focal_point,
        access_for(egypt_focal_point),
        services.ReportInput(status="in_progress", progress=20, narrative="x"),
    )
    client.force_login(secretariat_officer)
    client.post(
        reverse("admin:tracker_progressreport_changelist"), {"action": "archive", "_selected_action": [report.pk]}
    )
    assert ProgressReport.objects.get(pk=report.pk).is_archived
    entry = LogEntry.objects.get(object_id=str(report.pk), content_type__model="progressreport")
    assert entry.user_id == secretariat_officer.pk
    history = client.get(reverse("admin:tracker_progressreport_history", args=[report.pk])).content.decode()
    assert "archived" in history.lower()
