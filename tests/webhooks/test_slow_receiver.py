"""A slow receiver holds no lock and delays no other endpoint: two deliveries at once, in two threads (as two worker
processes would run them), against the real database."""

import threading
import time

import pytest

from tests.webhooks.support import Receiver, endpoint_for, partner, report
from tracker.webhooks import delivery
from tracker.webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """A transactional test before this one flushed the groups that the migrations create: put them back."""
    from django.apps import apps

    from tracker.core.roles import ensure_roles

    ensure_roles(apps)


def deliver_in_thread(delivery_id, results):
    from django.db import connection

    try:
        results.append(delivery.deliver(delivery_id))
    finally:
        connection.close()


def test_it_delivers_to_a_fast_endpoint_while_a_slow_one_is_still_answering(egypt_focal_point, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    slow, fast = Receiver().start(), Receiver().start()
    try:
        slow.answers = [(200, 6)]  # longer than the timeout
        endpoint_for(partner("slow-system"), slow.url, events=["report.submitted"])
        endpoint_for(partner("fast-system"), fast.url, events=["report.submitted"])
        report(egypt_focal_point, "EG")
        slow_delivery, fast_delivery = Delivery.objects.order_by("endpoint__partner__code").reverse()
        results = []
        waiting = threading.Thread(target=deliver_in_thread, args=(slow_delivery.pk, results))
        waiting.start()
        assert slow.wait_for(1, timeout=10)  # the slow endpoint has the request and is taking its time
        started = time.monotonic()
        assert delivery.deliver(fast_delivery.pk).status_code == 200
        assert time.monotonic() - started < 1.5 and waiting.is_alive()
        waiting.join(timeout=20)
    finally:
        slow.stop()
        fast.stop()
    assert results[0].status_code is None and "No answer within 2 s." in results[0].error
    states = dict(Delivery.objects.values_list("endpoint__partner__code", "state"))
    assert states == {"fast-system": "delivered", "slow-system": "pending"}  # the slow one is retried later
