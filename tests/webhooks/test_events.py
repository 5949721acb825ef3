"""Which changes are announced, and what each event says: the core operations emit them, in their transaction."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.support.commitments import agree, promise
from tests.webhooks.support import endpoint_for, item, partner, report
from tracker.core import services, validation
from tracker.core.models import MemberState, ProgressReport, Recommendation, ReviewCycle
from tracker.core.permissions import access_for
from tracker.webhooks import commitments
from tracker.webhooks.models import CommitmentNotice, Delivery, Event

pytestmark = pytest.mark.django_db

HOOK = "https://partner.example/hooks"  # nothing is sent in these tests: they read the outbox


def announced(event_type=None):
    events = Event.objects.order_by("pk")
    if event_type:
        events = events.filter(type=event_type)
    return [event.payload["data"] for event in events]


def test_it_announces_nothing_while_no_endpoint_chose_the_event(egypt_focal_point):
    endpoint_for(partner(), HOOK, events=["cycle.moved"])
    report(egypt_focal_point, "EG")
    assert not Event.objects.exists()


def test_it_says_what_changed_on_the_item_with_its_new_version(egypt_focal_point):
    endpoint_for(partner(), HOOK, events=["implementation.changed"])
    report(egypt_focal_point, "EG", progress=40)
    report(egypt_focal_point, "EG", progress=40)
    first, second = announced("implementation.changed")
    assert (first["version"], first["member_state"], first["status"], first["progress"]) == (2, "EG", "in_progress", 40)
    assert set(first["changed"]) == {"status", "progress", "last_reported_at"}
    assert (second["version"], second["changed"]) == (3, ["last_reported_at"])


def test_it_announces_a_report_sent_for_validation_then_approved_or_returned(
    egypt_focal_point, egypt_validator, egypt_requires_validation
):
    endpoint_for(partner(), HOOK, events=["report.submitted", "report.validated", "report.returned"])
    sent = report(egypt_focal_point, "EG")
    validation.return_to_focal_points(sent, egypt_validator, access_for(egypt_validator), "Add the decree number.")
    services.submit_report(
        item("EG"),
        egypt_focal_point,
        access_for(egypt_focal_point),
        services.ReportInput(status="in_progress", progress=50, narrative="Decree 12/2026."),
        expected_draft_revision=ProgressReport.objects.get(pk=sent.pk).revision,
    )
    validation.approve(ProgressReport.objects.get(pk=sent.pk), egypt_validator, access_for(egypt_validator))
    types = list(Event.objects.order_by("pk").values_list("type", flat=True))
    assert types == ["report.submitted", "report.returned", "report.submitted", "report.validated"]
    states = [data["state"] for data in announced()]
    assert states == ["awaiting_validation", "draft", "awaiting_validation", "submitted"]
    assert [data["version"] for data in announced()] == [1, 1, 1, 2]  # the item changes once approved


def test_it_announces_every_move_of_a_cycle_including_its_close(reference):
    endpoint_for(partner("jordan-system"), HOOK, events=["cycle.moved"], states=["JO"])  # cycles concern everyone
    cycle = ReviewCycle.objects.create(
        body=reference,
        name_en="Cycle 2026",
        name_ar="دورة 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
        report_deadline=date(2026, 5, 31),
    )
    for target in ("open", "under_review", "closed"):
        cycle = services.move_cycle(cycle, target)
    services.finish_close(cycle.pk)
    moves = [(data["previous_state"], data["state"]) for data in announced("cycle.moved")]
    assert moves == [("planned", "open"), ("open", "under_review"), ("under_review", "closing"), ("closing", "closed")]
    versions = [data["version"] for data in announced()]
    assert versions == sorted(versions) and len(set(versions)) == 4
    assert announced()[-1]["body"] == "aimc" and announced()[-1]["closed_at"].endswith("Z")


def test_it_announces_an_outcome_and_the_obstacle_it_clears(egypt_focal_point, secretariat_officer):
    endpoint_for(partner(), HOOK, events=["outcome.recorded", "implementation.changed"])
    data = services.ReportInput(status="in_progress", progress=20, obstacles="No budget line.")
    services.submit_report(item("EG", "R2"), egypt_focal_point, access_for(egypt_focal_point), data)
    agree(item("EG", "R2"), secretariat_officer)
    (outcome,) = announced("outcome.recorded")
    assert (outcome["member_state"], outcome["records_solution"], outcome["version"]) == ("EG", True, 2)
    cleared = announced("implementation.changed")[-1]
    assert (cleared["changed"], cleared["has_open_obstacle"]) == (["has_open_obstacle"], False)
    assert "No budget line" not in str(announced()) and "protocol" not in str(announced())


def test_it_announces_items_that_no_longer_apply_to_a_state(reference):
    endpoint_for(partner(), HOOK, events=["implementation.changed"])
    recommendation = Recommendation.objects.get(reference="R1")
    recommendation.applies_to.set(MemberState.objects.filter(iso_code__in=["EG", "JO"]))
    gone = announced("implementation.changed")
    assert len(gone) == MemberState.objects.count() - 2
    assert all(data["changed"] == ["applies"] and data["applies"] is False for data in gone)
    assert {"EG", "JO"}.isdisjoint(data["member_state"] for data in gone)


def test_it_announces_a_commitment_due_then_late_once_each_however_often_beat_runs(
    egypt_focal_point, jordan_focal_point, secretariat_officer
):
    endpoint_for(partner("jordan-system"), HOOK, events=["commitment.due", "commitment.late"], states=["JO"])
    (egypt,) = agree(item("EG", "R2"), secretariat_officer, promise(days=10))
    (jordan,) = agree(item("JO", "R2"), secretariat_officer, promise(days=10))
    assert commitments.announce() == 0  # ten days ahead: not due yet
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        assert commitments.announce() == 2  # both became due (a notice each): Jordan's endpoint gets Jordan's
        assert commitments.announce() == 0  # a second beat announces nothing more
    with time_machine.travel(timezone.now() + timedelta(days=11)):
        assert commitments.announce() == 2
        assert commitments.announce() == 0
    due, late = announced("commitment.due"), announced("commitment.late")
    assert [(d["id"], d["days_left"], d["changed"]) for d in due] == [(jordan.pk, 6, ["is_due"])]
    assert [(d["id"], d["days_left"], d["is_late"]) for d in late] == [(jordan.pk, -1, True)]
    assert CommitmentNotice.objects.filter(commitment=egypt).count() == 2
    assert Delivery.objects.count() == 2


def test_it_skips_the_commitment_scan_while_nobody_listens(egypt_focal_point, secretariat_officer):
    agree(item("EG", "R2"), secretariat_officer, promise(days=1))
    assert commitments.announce() == 0 and not CommitmentNotice.objects.exists()
