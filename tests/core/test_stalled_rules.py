"""The stalled rules at their boundaries: exactly N days is not stalled, one day more is."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from tracker.core.models import FocalPointDesignation, Implementation, ReviewCycle, Status
from tracker.core.permissions import access_for
from tracker.core.querysets import StalledContext, StalledReason, explain_stalled, stalled_reasons_of
from tracker.core.services import ReportInput, close_cycle_now, move_cycle, record_outcome, save_draft, submit_report

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def item(reference):
    return Implementation.objects.get(
        recommendation__reference="R1", member_state__iso_code="EG", recommendation__meeting__code__contains="2021"
    )


def report(item, user, status=Status.IN_PROGRESS, progress=20, **extra):
    # The persona's designation starts today (real time); these tests travel back before it.
    FocalPointDesignation.objects.filter(user=user).update(start_date=date(2020, 1, 1))
    fresh = Implementation.objects.get(pk=item.pk)
    return submit_report(fresh, user, access_for(user), ReportInput(status=status, progress=progress, **extra))


def reasons(item, when):
    with time_machine.travel(when, tick=False):
        return stalled_reasons_of(Implementation.objects.with_stalled_reasons().get(pk=item.pk))


def make_cycle(body, deadline, state=ReviewCycle.State.PLANNED, name="2026-1"):
    return ReviewCycle.objects.create(
        body=body,
        name_en=f"Cycle {name}",
        name_ar=f"دورة {name}",
        period_start=deadline - timedelta(days=60),
        period_end=deadline + timedelta(days=30),
        report_deadline=deadline,
        state=state,
    )


def test_it_flags_no_report_only_after_more_than_n_days(item, egypt_focal_point):
    with time_machine.travel(T0, tick=False):
        report(item, egypt_focal_point)
    assert StalledReason.NO_RECENT_REPORT not in reasons(item, T0 + timedelta(days=180))
    assert StalledReason.NO_RECENT_REPORT in reasons(item, T0 + timedelta(days=181))


def test_it_uses_the_bodys_threshold(item, egypt_focal_point, reference):
    reference.stale_after_days = 90
    reference.save()
    with time_machine.travel(T0, tick=False):
        report(item, egypt_focal_point)
    assert StalledReason.NO_RECENT_REPORT not in reasons(item, T0 + timedelta(days=90))
    assert StalledReason.NO_RECENT_REPORT in reasons(item, T0 + timedelta(days=91))


def test_it_counts_a_never_reported_item_from_its_creation(item):
    Implementation.objects.filter(pk=item.pk).update(created_at=T0)
    assert StalledReason.NO_RECENT_REPORT not in reasons(item, T0 + timedelta(days=180))
    assert StalledReason.NO_RECENT_REPORT in reasons(item, T0 + timedelta(days=181))


def test_it_ignores_drafts(item, egypt_focal_point):
    with time_machine.travel(T0, tick=False):
        report(item, egypt_focal_point)
    with time_machine.travel(T0 + timedelta(days=170), tick=False):
        user = egypt_focal_point
        FocalPointDesignation.objects.filter(user=user).update(start_date=date(2020, 1, 1))
        save_draft(
            Implementation.objects.get(pk=item.pk),
            user,
            access_for(user),
            ReportInput(status=Status.IN_PROGRESS, progress=60),
        )
    assert StalledReason.NO_RECENT_REPORT in reasons(item, T0 + timedelta(days=181))
    assert Implementation.objects.get(pk=item.pk).progress == 20


def test_it_flags_a_missing_cycle_report_from_the_day_after_the_deadline(item, reference, egypt_focal_point):
    deadline = date(2026, 3, 31)
    with time_machine.travel(T0, tick=False):
        move_cycle(make_cycle(reference, deadline), ReviewCycle.State.OPEN)
    on_deadline = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)  # 23:00 in Riyadh, still the deadline day
    assert StalledReason.MISSING_CYCLE_REPORT not in reasons(item, on_deadline)
    assert StalledReason.MISSING_CYCLE_REPORT in reasons(item, on_deadline + timedelta(hours=1))
    with time_machine.travel(T0 + timedelta(days=5), tick=False):
        report(item, egypt_focal_point)
    assert StalledReason.MISSING_CYCLE_REPORT not in reasons(item, on_deadline + timedelta(days=1))


def test_it_does_not_count_a_report_of_an_earlier_cycle(item, reference, egypt_focal_point):
    with time_machine.travel(T0, tick=False):
        first = move_cycle(make_cycle(reference, date(2026, 2, 1), name="a"), ReviewCycle.State.OPEN)
        report(item, egypt_focal_point)
        move_cycle(first, ReviewCycle.State.UNDER_REVIEW)
        close_cycle_now(first)
        move_cycle(make_cycle(reference, date(2026, 3, 1), name="b"), ReviewCycle.State.OPEN)
    assert StalledReason.MISSING_CYCLE_REPORT in reasons(item, datetime(2026, 3, 2, 9, tzinfo=UTC))


def close(cycle):
    move_cycle(cycle, ReviewCycle.State.UNDER_REVIEW)
    return close_cycle_now(cycle)


def run_cycle(body, when, name):
    with time_machine.travel(when, tick=False):
        cycle = move_cycle(
            make_cycle(body, timezone.localdate() + timedelta(days=30), name=name), ReviewCycle.State.OPEN
        )
    with time_machine.travel(when + timedelta(days=40), tick=False):
        return close(cycle)


def test_it_flags_no_change_over_k_closed_cycles(item, reference, egypt_focal_point):
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        report(item, egypt_focal_point, progress=20)  # a change during cycle a
    run_cycle(reference, T0, "a")
    run_cycle(reference, T0 + timedelta(days=60), "b")  # unchanged over one whole closed cycle (b)
    assert StalledReason.UNCHANGED not in reasons(item, T0 + timedelta(days=101))
    run_cycle(reference, T0 + timedelta(days=120), "c")  # over two (b, c) = K
    assert StalledReason.UNCHANGED in reasons(item, T0 + timedelta(days=161))
    with time_machine.travel(T0 + timedelta(days=170), tick=False):
        report(item, egypt_focal_point, progress=40)
    run_cycle(reference, T0 + timedelta(days=180), "d")
    assert StalledReason.UNCHANGED not in reasons(item, T0 + timedelta(days=221))


def test_it_counts_the_closed_cycles_an_item_stayed_unchanged_in_its_explanation(item, reference, egypt_focal_point):
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        report(item, egypt_focal_point, progress=20)
    for days, name in [(0, "a"), (60, "b"), (120, "c"), (180, "d")]:
        run_cycle(reference, T0 + timedelta(days=days), name)
    with time_machine.travel(T0 + timedelta(days=230), tick=False):
        texts = dict(explain_stalled(Implementation.objects.select_related("recommendation__meeting").get(pk=item.pk)))
    assert texts[StalledReason.UNCHANGED] == "Status and progress unchanged over 3 closed cycles (limit 2)"


def test_it_never_rewrites_the_items_when_a_cycle_closes(item, reference, egypt_focal_point):
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        report(item, egypt_focal_point, progress=20)
    before = Implementation.objects.values("updated_at", "status_changed_at", "version").get(pk=item.pk)
    run_cycle(reference, T0, "a")
    assert Implementation.objects.values("updated_at", "status_changed_at", "version").get(pk=item.pk) == before


def test_it_lifts_the_unchanged_flag_the_moment_a_change_is_reported(item, reference, egypt_focal_point):
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        report(item, egypt_focal_point, progress=20)
    for days, name in [(0, "a"), (60, "b"), (120, "c")]:
        run_cycle(reference, T0 + timedelta(days=days), name)
    assert StalledReason.UNCHANGED in reasons(item, T0 + timedelta(days=161))
    with time_machine.travel(T0 + timedelta(days=162), tick=False):
        report(item, egypt_focal_point, progress=20, narrative="Same figures, new meeting.")
    assert StalledReason.UNCHANGED in reasons(item, T0 + timedelta(days=163))  # no change reported
    with time_machine.travel(T0 + timedelta(days=164), tick=False):
        report(item, egypt_focal_point, progress=45)
    assert StalledReason.UNCHANGED not in reasons(item, T0 + timedelta(days=165))


def test_it_flags_a_target_date_from_the_day_after(item):
    item.recommendation.target_date = date(2026, 6, 30)
    item.recommendation.save()
    assert StalledReason.PAST_TARGET not in reasons(item, datetime(2026, 6, 30, 20, tzinfo=UTC))
    assert StalledReason.PAST_TARGET in reasons(item, datetime(2026, 6, 30, 21, tzinfo=UTC))


def test_it_clears_the_obstacle_reason_when_the_review_records_a_solution(item, egypt_focal_point, secretariat_officer):
    with time_machine.travel(T0, tick=False):
        report(item, egypt_focal_point, obstacles="No budget line this year.")
    assert StalledReason.OPEN_OBSTACLE in reasons(item, T0 + timedelta(days=1))
    access = access_for(secretariat_officer)
    record_outcome(item, secretariat_officer, access, obstacle_category="resources", obstacle="Budget")
    assert StalledReason.OPEN_OBSTACLE in reasons(item, T0 + timedelta(days=1))
    record_outcome(
        item,
        secretariat_officer,
        access,
        obstacle_category="resources",
        solution="UNHCR funds a pilot",
        follow_up_by="UNHCR MENA",
        follow_up_due=date(2026, 6, 1),
    )
    assert StalledReason.OPEN_OBSTACLE not in reasons(item, T0 + timedelta(days=1))
    assert item.outcomes.count() == 2


def test_it_never_flags_implemented_or_not_applicable_items(item, egypt_focal_point):
    item.recommendation.target_date = date(2025, 1, 1)
    item.recommendation.save()
    Implementation.objects.filter(pk=item.pk).update(
        created_at=T0, has_open_obstacle=True, status_changed_at=T0, open_commitment_due=date(2025, 1, 1)
    )
    for status in (Status.IMPLEMENTED, Status.NOT_APPLICABLE):
        Implementation.objects.filter(pk=item.pk).update(status=status)
        assert reasons(item, T0 + timedelta(days=400)) == []
        with time_machine.travel(T0 + timedelta(days=400), tick=False):
            assert not Implementation.objects.stalled().filter(pk=item.pk).exists()
            annotated = Implementation.objects.with_stalled_reasons().get(pk=item.pk)
            assert annotated.is_stalled is False


def test_it_never_flags_an_item_that_no_longer_applies(item):
    Implementation.objects.filter(pk=item.pk).update(created_at=T0, applies=False, has_open_obstacle=True)
    assert reasons(item, T0 + timedelta(days=400)) == []


def test_it_explains_each_reason_with_its_numbers(item, egypt_focal_point, reference):
    with time_machine.travel(T0, tick=False):
        report(item, egypt_focal_point, obstacles="No budget.")
        move_cycle(make_cycle(reference, date(2026, 2, 1)), ReviewCycle.State.OPEN)
    item.recommendation.target_date = date(2026, 5, 1)
    item.recommendation.save()
    with time_machine.travel(T0 + timedelta(days=213), tick=False):
        found = Implementation.objects.select_related("recommendation__meeting").get(pk=item.pk)
        texts = dict(explain_stalled(found))
    assert texts[StalledReason.NO_RECENT_REPORT] == "No submitted report for 213 days (limit 180)"
    assert "deadline" in texts[StalledReason.MISSING_CYCLE_REPORT]
    assert "passed 191 days ago" in texts[StalledReason.MISSING_CYCLE_REPORT]
    assert texts[StalledReason.PAST_TARGET].endswith("passed 102 days ago")
    assert StalledReason.OPEN_OBSTACLE in texts


def test_it_explains_in_arabic(item):
    from django.utils import translation

    Implementation.objects.filter(pk=item.pk).update(created_at=T0)
    with time_machine.travel(T0 + timedelta(days=200), tick=False), translation.override("ar"):
        found = Implementation.objects.select_related("recommendation__meeting").get(pk=item.pk)
        text = dict(explain_stalled(found))[StalledReason.NO_RECENT_REPORT]
    assert "200" in text and "180" in text and "يوم" in text


def test_it_counts_by_reason_like_it_filters(item, egypt_focal_point):
    Implementation.objects.update(created_at=T0)
    Implementation.objects.filter(pk=item.pk).update(has_open_obstacle=True)
    with time_machine.travel(T0 + timedelta(days=200), tick=False):
        context = StalledContext.load()
        counts = Implementation.objects.count_by_reason(context)
        for reason in StalledReason:
            assert counts[reason.value] == Implementation.objects.stalled(reason, context).count()
    assert counts[StalledReason.OPEN_OBSTACLE.value] == 1
    assert counts[StalledReason.NO_RECENT_REPORT.value] == Implementation.objects.current().count()
