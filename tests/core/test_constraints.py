"""The database itself refuses what the model forbids, whatever path the data takes."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tracker.core.models import (
    CycleSnapshot,
    FocalPointDesignation,
    Implementation,
    Meeting,
    MemberState,
    ProgressReport,
    Recommendation,
    ReviewCycle,
)

pytestmark = pytest.mark.django_db


def refused(**kwargs):
    return pytest.raises(IntegrityError, **kwargs)


def save_refused(obj):
    with transaction.atomic(), refused():
        obj.save()


def egypt_item():
    return Implementation.objects.get(recommendation__reference="R1", member_state__iso_code="EG")


def test_it_refuses_a_duplicate_reference_within_a_meeting(reference):
    meeting = Meeting.objects.get(code="2021-sharm-el-sheikh-workshop")
    save_refused(Recommendation(meeting=meeting, reference="R1", text_en="x", text_ar="س"))


def test_it_allows_the_same_reference_in_another_meeting(reference):
    other = Meeting.objects.get(code="2016-expert-meeting-security-protection")
    Recommendation.objects.create(meeting=other, reference="R1", text_en="x", text_ar="س")
    assert Recommendation.objects.filter(reference="R1").count() == 2


def test_it_refuses_a_second_implementation_for_the_same_state(reference):
    item = egypt_item()
    save_refused(Implementation(recommendation=item.recommendation, member_state=item.member_state))


def test_it_refuses_progress_above_100_on_an_implementation(reference):
    with transaction.atomic(), refused():
        Implementation.objects.filter(pk=egypt_item().pk).update(progress=101)


def test_it_refuses_progress_above_100_on_a_report(reference, egypt_focal_point):
    save_refused(
        ProgressReport(implementation=egypt_item(), author=egypt_focal_point, status="in_progress", progress=150)
    )


def test_it_refuses_a_submitted_report_without_a_timestamp(reference, egypt_focal_point):
    save_refused(
        ProgressReport(
            implementation=egypt_item(), author=egypt_focal_point, state="submitted", status="in_progress", progress=10
        )
    )


def test_it_refuses_a_submitted_implemented_report_without_narrative(reference, egypt_focal_point):
    save_refused(
        ProgressReport(
            implementation=egypt_item(),
            author=egypt_focal_point,
            state="submitted",
            submitted_at=timezone.now(),
            status="implemented",
            progress=100,
        )
    )


def test_it_refuses_a_second_active_primary_focal_point(egypt_focal_point, jordan_focal_point, reference):
    egypt = MemberState.objects.get(iso_code="EG")
    save_refused(FocalPointDesignation(user=jordan_focal_point, member_state=egypt, body=reference, role="primary"))


def test_it_allows_a_new_primary_once_the_old_one_has_ended(egypt_focal_point, jordan_focal_point, reference):
    FocalPointDesignation.objects.filter(user=egypt_focal_point).update(end_date=timezone.localdate())
    egypt = MemberState.objects.get(iso_code="EG")
    FocalPointDesignation.objects.create(user=jordan_focal_point, member_state=egypt, body=reference)
    assert FocalPointDesignation.objects.filter(member_state=egypt).count() == 2


def test_it_refuses_a_designation_that_ends_before_it_starts(jordan_focal_point, reference):
    egypt = MemberState.objects.get(iso_code="EG")
    save_refused(
        FocalPointDesignation(
            user=jordan_focal_point,
            member_state=egypt,
            body=reference,
            role="alternate",
            start_date=date(2026, 5, 1),
            end_date=date(2026, 4, 1),
        )
    )


def cycle(body, **overrides):
    fields = {
        "body": body,
        "name_en": "Cycle",
        "name_ar": "دورة",
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 6, 30),
        "report_deadline": date(2026, 7, 15),
    }
    return ReviewCycle(**{**fields, **overrides})


def test_it_refuses_a_second_open_cycle_for_a_body(reference):
    cycle(reference, state="open").save()
    save_refused(cycle(reference, state="open", name_en="Another"))


def test_it_refuses_a_cycle_whose_period_ends_before_it_starts(reference):
    save_refused(cycle(reference, period_end=date(2025, 12, 1)))


def test_it_refuses_a_deadline_before_the_period(reference):
    save_refused(cycle(reference, report_deadline=date(2025, 12, 1)))


def test_it_refuses_a_closed_cycle_without_a_close_time(reference):
    save_refused(cycle(reference, state="closed"))


def test_it_refuses_two_snapshots_of_one_item_in_one_cycle(reference):
    closed = cycle(reference, state="closed", closed_at=timezone.now())
    closed.save()
    CycleSnapshot.objects.create(cycle=closed, implementation=egypt_item(), status="not_started", progress=0)
    save_refused(CycleSnapshot(cycle=closed, implementation=egypt_item(), status="in_progress", progress=5))


def test_it_refuses_a_lowercase_iso_code(db):
    save_refused(MemberState(iso_code="eg", name_en="Egypt", name_ar="مصر"))


def test_it_refuses_a_meeting_that_ends_before_it_starts(reference):
    save_refused(
        Meeting(
            body=reference,
            code="bad",
            kind="workshop",
            title_en="x",
            title_ar="س",
            start_date=date(2021, 6, 10),
            end_date=date(2021, 6, 1) - timedelta(days=1),
        )
    )
