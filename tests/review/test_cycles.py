"""Review cycles: legal and illegal moves, the snapshot frozen at close, outcomes only by the secretariat."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tracker.core.models import CycleSnapshot, Implementation, ReviewCycle
from tracker.core.permissions import access_for
from tracker.core.services import close_cycle_now, finish_close, move_cycle, record_outcome


def make_cycle(body, name="2026-1", state="planned"):
    return ReviewCycle.objects.create(
        body=body,
        name_en=f"Cycle {name}",
        name_ar=f"دورة {name}",
        state=state,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
        report_deadline=date(2026, 5, 31),
    )


def test_it_moves_a_cycle_through_its_life(reference):
    cycle = make_cycle(reference)
    for target in ("open", "under_review", "open", "under_review"):
        cycle = move_cycle(cycle, target)
        assert cycle.state == target
    cycle = move_cycle(cycle, "closed")
    assert (cycle.state, cycle.closed_at) == ("closing", None)  # the freeze runs as a task, not in the request
    cycle = finish_close(cycle.pk)
    assert cycle.state == "closed" and cycle.closed_at is not None and cycle.opened_at is not None


@pytest.mark.parametrize(
    "start, target, message",
    [
        ("planned", "closed", "A cycle that is Planned cannot become Closed. From Planned it can only become: Open."),
        ("planned", "under_review", "A cycle that is Planned cannot become Under review."),
        ("open", "closed", "A cycle that is Open cannot become Closed. From Open it can only become: Under review."),
        ("closed", "open", "A cycle that is Closed cannot become Open. A closed cycle stays closed."),
        ("open", "planned", "A cycle that is Open cannot become Planned."),
        ("planned", "bogus", "Unknown cycle state: bogus."),
    ],
)
def test_it_refuses_illegal_moves_with_a_clear_message(reference, start, target, message):
    cycle = make_cycle(reference, state="planned")
    ReviewCycle.objects.filter(pk=cycle.pk).update(state=start, closed_at=timezone.now() if start == "closed" else None)
    cycle.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        move_cycle(cycle, target)
    assert message in " ".join(error.value.messages)
    cycle.refresh_from_db()
    assert cycle.state == start


def test_it_refuses_a_second_open_cycle(reference):
    move_cycle(make_cycle(reference, "a"), "open")
    with pytest.raises(ValidationError, match="already open"):
        move_cycle(make_cycle(reference, "b"), "open")


def test_it_freezes_a_snapshot_of_every_item_at_close(reference):
    Implementation.objects.filter(member_state__iso_code="EG").update(status="in_progress", progress=40)
    cycle = move_cycle(make_cycle(reference), "open")
    egypt = Implementation.objects.filter(member_state__iso_code="EG").first()
    Implementation.objects.filter(pk=egypt.pk).update(last_report_cycle=cycle)
    move_cycle(cycle, "under_review")
    close_cycle_now(cycle)
    current = Implementation.objects.current().filter(recommendation__meeting__body=reference)
    assert cycle.snapshots.count() == current.count() == 7 * 22
    snap = CycleSnapshot.objects.get(cycle=cycle, implementation=egypt)
    assert (snap.status, snap.progress, snap.reported_in_cycle) == ("in_progress", 40, True)
    assert cycle.snapshots.filter(reported_in_cycle=True).count() == 1
    # Later changes do not touch the frozen snapshot.
    Implementation.objects.filter(pk=egypt.pk).update(status="implemented", progress=100)
    snap.refresh_from_db()
    assert (snap.status, snap.progress) == ("in_progress", 40)
    # The reasons that held at the close are frozen with it: never reported for 180 days is one of them.
    assert snap.reasons is not None and snap.last_reported_at is None


def test_it_records_outcomes_only_for_the_secretariat(reference, reviewer, egypt_focal_point):
    item = Implementation.objects.first()
    for user in (reviewer, egypt_focal_point):
        with pytest.raises(PermissionDenied):
            record_outcome(item, user, access_for(user), obstacle_category="legal", solution="x")
    assert not item.outcomes.exists()


def test_it_files_an_outcome_under_the_cycle_being_reviewed(reference, secretariat_officer):
    cycle = move_cycle(move_cycle(make_cycle(reference), "open"), "under_review")
    item = Implementation.objects.first()
    outcome = record_outcome(item, secretariat_officer, access_for(secretariat_officer), obstacle_category="data")
    assert outcome.cycle == cycle


def test_it_refuses_an_outcome_without_a_category(reference, secretariat_officer):
    with pytest.raises(ValidationError):
        record_outcome(
            Implementation.objects.first(),
            secretariat_officer,
            access_for(secretariat_officer),
            obstacle_category="",
            solution="x",
        )


def test_it_counts_a_report_sent_while_the_cycle_is_under_review_for_that_cycle(reference, egypt_focal_point):
    from tracker.core.services import ReportInput, submit_report

    cycle = move_cycle(move_cycle(make_cycle(reference), "open"), "under_review")
    item = Implementation.objects.get(recommendation__reference="R1", member_state__iso_code="EG")
    report = submit_report(
        item,
        egypt_focal_point,
        access_for(egypt_focal_point),
        ReportInput(status="in_progress", progress=40, narrative="Late but in."),
    )
    assert report.cycle_id == cycle.pk
    cycle = close_cycle_now(cycle)
    assert CycleSnapshot.objects.get(cycle=cycle, implementation=item).reported_in_cycle


def test_it_refuses_every_move_while_a_close_is_under_way(reference):
    cycle = move_cycle(move_cycle(move_cycle(make_cycle(reference), "open"), "under_review"), "closed")
    for target in ("open", "under_review", "closed"):
        with pytest.raises(ValidationError, match="Its close is under way"):
            move_cycle(cycle, target)


def test_it_finishes_a_close_once_however_often_the_task_runs(reference):
    cycle = move_cycle(move_cycle(move_cycle(make_cycle(reference), "open"), "under_review"), "closed")
    first = finish_close(cycle.pk)
    closed_at = ReviewCycle.objects.get(pk=cycle.pk).closed_at
    assert first is not None and finish_close(cycle.pk) is None
    assert ReviewCycle.objects.get(pk=cycle.pk).closed_at == closed_at
    assert cycle.snapshots.count() == 7 * 22


def test_it_counts_a_report_sent_while_closing_for_the_next_round_not_the_closing_cycle(reference, egypt_focal_point):
    from tracker.core.services import ReportInput, submit_report

    closing = move_cycle(move_cycle(move_cycle(make_cycle(reference, "a"), "open"), "under_review"), "closed")
    item = Implementation.objects.get(recommendation__reference="R1", member_state__iso_code="EG")
    data = ReportInput(status="in_progress", progress=40, narrative="Sent during the close.")
    report = submit_report(item, egypt_focal_point, access_for(egypt_focal_point), data)
    assert report.cycle_id is None  # no other cycle takes reports yet: it counts for none, and is kept
    following = move_cycle(make_cycle(reference, "b"), "open")
    later = submit_report(
        Implementation.objects.get(pk=item.pk), egypt_focal_point, access_for(egypt_focal_point), data
    )
    assert later.cycle_id == following.pk
    finish_close(closing.pk)
    assert not CycleSnapshot.objects.get(cycle=closing, implementation=item).reported_in_cycle
    assert Implementation.objects.get(pk=item.pk).progress == 40


def test_it_enqueues_again_a_close_whose_task_was_lost(reference, monkeypatch):
    import time_machine

    from tracker.core import services

    sent = []
    monkeypatch.setattr(services, "enqueue_close", sent.append)
    cycle = move_cycle(move_cycle(make_cycle(reference), "open"), "under_review")
    with time_machine.travel(timezone.now() - timezone.timedelta(minutes=30)):
        cycle = move_cycle(cycle, "closed")
    assert services.resume_stuck_closes() == [cycle.pk] == sent


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_waits_for_a_report_in_flight_and_freezes_it_with_the_cycle_on_postgresql(reference, egypt_focal_point):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, transaction

    from tests.support.services import require_postgres
    from tracker.core.services import ReportInput, submit_report

    require_postgres()
    cycle = move_cycle(move_cycle(make_cycle(reference), "open"), "under_review")
    item = Implementation.objects.get(recommendation__reference="R1", member_state__iso_code="EG")
    in_flight, go_on = threading.Event(), threading.Event()

    def slow_report():
        try:
            with transaction.atomic():  # the report's share lock on its cycle holds until this commits
                data = ReportInput(status="in_progress", progress=40, narrative="Sent as the close starts.")
                submit_report(item, egypt_focal_point, access_for(egypt_focal_point), data)
                in_flight.set()
                go_on.wait(10)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        reporting = pool.submit(slow_report)
        assert in_flight.wait(10)
        closing = pool.submit(_close_in_thread, cycle)
        time.sleep(0.5)
        assert not closing.done()  # the close waits for the report to commit
        go_on.set()
        reporting.result()
        assert closing.result(timeout=10).state == "closing"
    finish_close(cycle.pk)
    assert CycleSnapshot.objects.get(cycle=cycle, implementation=item).reported_in_cycle


def _close_in_thread(cycle):
    from django.db import connection

    try:
        return move_cycle(cycle, "closed")
    finally:
        connection.close()
