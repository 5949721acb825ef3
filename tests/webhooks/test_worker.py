"""Webhooks through the real parts on PostgreSQL: a committed change reaches a receiver on loopback through the
broker and a Celery worker process (retried after a 503), a rolled-back one never does, and a delivery whose
message never reached the broker is queued again by beat's task."""

import time

import pytest
from django.db import transaction

from tests.reminders.helpers import broker_at
from tests.support.services import require_postgres, start_worker, subprocess_env, wait_for
from tests.webhooks.support import endpoint_for, partner, report
from tracker.webhooks import delivery
from tracker.webhooks.models import Delivery, Event
from tracker.webhooks.tasks import deliver_due

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """A transactional test before this one flushed the groups that the migrations create: put them back."""
    from django.apps import apps

    from tracker.core.roles import ensure_roles

    ensure_roles(apps)


@pytest.fixture
def worker():
    require_postgres()
    env = subprocess_env()
    env["WEBHOOK_RETRY_SECONDS"] = "1,1,1"
    with start_worker(env, name="webhooks-e2e") as running:
        yield running


def delivered(count):
    return Delivery.objects.filter(state=Delivery.State.DELIVERED).count() >= count


def test_it_delivers_a_committed_change_through_the_worker_and_never_a_rolled_back_one(
    egypt_focal_point, jordan_focal_point, receiver, worker
):
    hook = endpoint_for(partner(), receiver.url, events=["report.submitted"])
    receiver.answers = [(503, 0)]
    with pytest.raises(RuntimeError), transaction.atomic():
        report(jordan_focal_point, "JO")
        raise RuntimeError("the change failed after its report")
    report(egypt_focal_point, "EG")
    try:
        wait_for(lambda: delivered(1), timeout=60, message="the delivery")
    except AssertionError:
        print(worker.output())
        raise
    time.sleep(2)  # nothing else arrives
    assert len(receiver.requests) == 2  # the 503, then the retry a second later
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == Event.objects.get().webhook_id
    assert second.verify(hook.secret)["data"]["member_state"] == "EG"
    assert second.at - first.at >= 0.9
    assert Delivery.objects.get().attempts == 2


def test_it_delivers_what_the_broker_never_got_once_beat_queues_it(egypt_focal_point, receiver, worker):
    hook = endpoint_for(partner(), receiver.url, events=["report.submitted"])
    with broker_at("redis://127.0.0.1:1/0"):  # nothing listens there: the message is lost
        report(egypt_focal_point, "EG")
    delivery._broker["down_until"] = 0.0  # the broker is back
    time.sleep(1)
    assert receiver.requests == [] and Delivery.objects.get().enqueued_at is None
    deliver_due.delay()  # what beat runs every minute
    try:
        wait_for(lambda: delivered(1), timeout=60, message="the delivery queued by beat's task")
    except AssertionError:
        print(worker.output())
        raise
    assert len(receiver.requests) == 1 and receiver.requests[0].verify(hook.secret)
