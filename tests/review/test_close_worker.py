"""Closing a cycle through the real parts: the review view answers at once, a Celery worker freezes the record."""

import pytest

from tests.support.services import IN_CI, require_redis, start_worker, subprocess_env, wait_for
from tracker.core.models import ReviewCycle
from tracker.core.services import move_cycle

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """A transactional test before this one flushed the groups that the migrations create: put them back."""
    from django.apps import apps

    from tracker.core.roles import ensure_roles

    ensure_roles(apps)


@pytest.fixture(autouse=True)
def real_broker_in_ci():
    if IN_CI:
        require_redis()


def test_it_closes_a_cycle_in_a_worker_while_the_page_shows_it_closing(client, reference, secretariat_officer):
    cycle = ReviewCycle.objects.create(
        body=reference,
        name_en="2027 H1",
        name_ar="النصف الأول 2027",
        period_start="2027-01-01",
        period_end="2027-06-30",
        report_deadline="2027-05-31",
    )
    move_cycle(move_cycle(cycle, "open"), "under_review")
    client.force_login(secretariat_officer)
    answer = client.post("/review/cycles/move/", {"cycle": cycle.pk, "target": "closed", "confirmed": "yes"})
    assert ReviewCycle.objects.get(pk=cycle.pk).state == "closing"
    assert "being frozen" in client.get(answer["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    with start_worker(subprocess_env(), name="close-cycle") as worker:
        try:
            wait_for(lambda: ReviewCycle.objects.get(pk=cycle.pk).state == "closed", timeout=60, message="the close")
        except AssertionError:
            print(worker.output())
            raise
    closed = ReviewCycle.objects.get(pk=cycle.pk)
    assert closed.snapshots.count() == 7 * 22 and closed.record["unchanged_cycles"] == 2
    assert closed.closed_by == secretariat_officer
