"""Deliveries to a real receiver on loopback, verified with the standardwebhooks library: signed, retried with
back-off, never for a rolled-back change, within the partner's member states, disabled when they keep failing."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import WebhookVerificationError

from tests.webhooks.support import Receiver, endpoint_for, item, partner, report
from tracker.webhooks import delivery
from tracker.webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event, new_secret

pytestmark = pytest.mark.django_db

State = Delivery.State


def test_it_delivers_a_report_signed_as_the_standard_says(
    egypt_focal_point, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    hook = endpoint_for(partner(), receiver.url, events=["report.submitted"])
    with django_capture_on_commit_callbacks(execute=True):
        sent = report(egypt_focal_point, "EG")
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    payload = request.verify(hook.secret)  # raises unless the signature holds
    assert payload["type"] == "report.submitted"
    assert payload["data"]["id"] == sent.pk
    assert (payload["data"]["version"], payload["data"]["member_state"]) == (2, "EG")
    assert (payload["data"]["changed"], payload["data"]["state"], payload["data"]["progress"]) == (
        ["state"],
        "submitted",
        40,
    )
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == Event.objects.get().webhook_id
    assert request.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        request.verify(new_secret())
    done = Delivery.objects.get()
    assert (done.state, done.attempts, done.last_status_code) == (State.DELIVERED, 1, 200)
    assert done.last_response_ms is not None and done.delivered_at is not None


def test_it_keeps_focal_points_personal_data_and_texts_out_of_the_payload(
    egypt_focal_point, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    endpoint_for(partner(), receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        report(egypt_focal_point, "EG")
    assert {r.payload["type"] for r in receiver.requests} == {"report.submitted", "implementation.changed"}
    for request in receiver.requests:
        body = request.body.decode()
        for personal in ("fp-egypt", "Ahmed", "example.org", "Draft law"):
            assert personal not in body


def test_it_retries_a_receiver_that_is_down_then_up_after_the_back_off_and_delivers_once(
    egypt_focal_point, eager_tasks, django_capture_on_commit_callbacks
):
    down = Receiver()  # nobody listens on its port yet: connection refused
    hook = endpoint_for(partner(), down.url, events=["implementation.changed"])
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        report(egypt_focal_point, "EG")
    pending = Delivery.objects.get()
    assert (pending.state, pending.attempts) == (State.PENDING, 1)
    assert "Connection" in pending.last_error or "refused" in pending.last_error.lower()
    assert timedelta(seconds=4) < pending.next_attempt_at - start < timedelta(seconds=30)  # the first wait: 5 s
    assert delivery.deliver(pending.pk) is None  # not due yet: a duplicate or early task does nothing
    down.answers = [(503, 0)]
    down.start()
    try:
        with time_machine.travel(start + timedelta(seconds=10)):
            assert delivery.deliver(pending.pk).status_code == 503
            down.requests[0].verify(hook.secret)
        retry = Delivery.objects.get()
        assert (retry.state, retry.attempts, retry.last_status_code) == (State.PENDING, 2, 503)
        assert retry.next_attempt_at - (start + timedelta(seconds=10)) >= timedelta(seconds=299)  # then 5 minutes
        with time_machine.travel(start + timedelta(seconds=320)):
            assert delivery.deliver(pending.pk).status_code == 200
            down.requests[1].verify(hook.secret)
        assert delivery.deliver(pending.pk) is None
    finally:
        down.stop()
    assert len(down.requests) == 2
    assert down.requests[0].headers["webhook-id"] == down.requests[1].headers["webhook-id"]
    assert down.requests[0].body == down.requests[1].body
    assert Delivery.objects.get().state == State.DELIVERED
    log = list(DeliveryAttempt.objects.order_by("number").values_list("number", "status_code"))
    assert log == [(1, None), (2, 503), (3, 200)]


def test_it_counts_a_slow_receiver_as_a_failure_and_retries_it(egypt_focal_point, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    endpoint_for(partner(), receiver.url, events=["report.submitted"])
    report(egypt_focal_point, "EG")
    receiver.answers = [(200, 3)]
    answer = delivery.deliver(Delivery.objects.get().pk)
    assert answer.status_code is None and "No answer within 1 s." in answer.error
    slow = Delivery.objects.get()
    assert (slow.state, slow.attempts) == (State.PENDING, 1)
    assert slow.last_response_ms >= 1000 and "No answer" in slow.last_error


def test_it_sends_nothing_for_a_change_that_is_rolled_back(
    egypt_focal_point, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    endpoint_for(partner(), receiver.url)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        with pytest.raises(RuntimeError), transaction.atomic():
            report(egypt_focal_point, "EG")
            assert Event.objects.count() == 2  # written in the change's own transaction
            raise RuntimeError("the rest of the change failed")
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert queued == [] and receiver.requests == []


def test_it_sends_a_jordan_partner_no_egypt_event(
    egypt_focal_point, jordan_focal_point, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    everywhere = Receiver().start()
    try:
        endpoint_for(partner("jordan-system"), receiver.url, events=["report.submitted"], states=["JO"])
        endpoint_for(partner("regional-system"), everywhere.url, events=["report.submitted"])
        with django_capture_on_commit_callbacks(execute=True):
            report(egypt_focal_point, "EG")
            report(jordan_focal_point, "JO")
    finally:
        everywhere.stop()
    assert [r.payload["data"]["member_state"] for r in receiver.requests] == ["JO"]
    assert sorted(r.payload["data"]["member_state"] for r in everywhere.requests) == ["EG", "JO"]


def test_it_announces_a_confidential_item_only_to_partners_cleared_for_it(
    egypt_focal_point, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    cleared = Receiver().start()
    try:
        endpoint_for(partner("plain-system"), receiver.url, events=["report.submitted"])
        endpoint_for(partner("cleared-system", cleared_for_confidential=True), cleared.url, events=["report.submitted"])
        confidential = item("EG").recommendation
        confidential.is_public = False
        confidential.save()
        with django_capture_on_commit_callbacks(execute=True):
            report(egypt_focal_point, "EG")
    finally:
        cleared.stop()
    assert receiver.requests == [] and len(cleared.requests) == 1


def test_it_signs_with_both_secrets_for_a_day_after_a_rotation(
    egypt_focal_point, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    hook = endpoint_for(partner(), receiver.url, events=["report.submitted"])
    old = hook.secret
    new = hook.rotate_secret()
    with django_capture_on_commit_callbacks(execute=True):
        report(egypt_focal_point, "EG")
    first = receiver.requests[0]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert first.verify(old) == first.verify(new)  # a receiver with either secret accepts it
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        with django_capture_on_commit_callbacks(execute=True):
            report(egypt_focal_point, "EG", progress=60)
        later = receiver.requests[1]
        later.verify(new)
        with pytest.raises(WebhookVerificationError):
            later.verify(old)
    assert len(later.headers["webhook-signature"].split(" ")) == 1


def test_it_disables_an_endpoint_that_keeps_failing_and_emails_the_secretariat_once(
    egypt_focal_point, secretariat_officer, receiver, eager_tasks, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 1
    receiver.answers = [(500, 0)] * 10
    system = partner(contact_email="it@partner.example")
    hook = endpoint_for(system, receiver.url, events=["report.submitted"])
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        report(egypt_focal_point, "EG")  # attempt 1 fails
        report(egypt_focal_point, "EG", progress=50)  # attempt 1 of a second event fails
    waits = [timedelta(hours=2), timedelta(hours=3)]
    for wait in waits:  # long and many enough: three failures in a row, the first over an hour ago
        with time_machine.travel(start + wait), django_capture_on_commit_callbacks(execute=True):
            for pending in Delivery.objects.filter(state=State.PENDING):
                delivery.deliver(pending.pk)
    hook.refresh_from_db()
    assert not hook.is_active and hook.disabled_at is not None and "in a row" in hook.disabled_reason
    assert set(Delivery.objects.values_list("state", flat=True)) == {State.FAILED}
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [secretariat_officer.email] and sent.cc == ["it@partner.example"]
    assert receiver.url in sent.body and "HTTP 500" in sent.body and f"/admin/webhooks/endpoint/{hook.pk}/" in sent.body
    with django_capture_on_commit_callbacks(execute=True):
        report(egypt_focal_point, "EG", progress=70)
    assert Delivery.objects.count() == 2  # a disabled endpoint is sent nothing new
    assert len(receiver.requests) == 3 and len(mail.outbox) == 1


def test_it_queues_from_beat_a_retry_left_to_it_and_a_lost_message(
    egypt_focal_point, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    endpoint_for(partner(), receiver.url, events=["report.submitted"])
    receiver.answers = [(500, 0), (500, 0)]
    start = timezone.now()
    report(egypt_focal_point, "EG")  # its on-commit message is "lost": the callback never runs
    assert delivery.enqueue_due(now=start - timedelta(seconds=1)) == []
    pending = Delivery.objects.get()
    with time_machine.travel(start + timedelta(minutes=6)), django_capture_on_commit_callbacks(execute=True):
        assert delivery.enqueue_due() == [pending.pk]  # attempt 1 (500); attempt 2 in 5 s, queued with a countdown
        assert delivery.enqueue_due() == []
    with time_machine.travel(start + timedelta(minutes=7)), django_capture_on_commit_callbacks(execute=True):
        assert delivery.deliver(pending.pk).status_code == 500  # attempt 2; the third waits 5 minutes
    with time_machine.travel(start + timedelta(minutes=13)), django_capture_on_commit_callbacks(execute=True):
        assert delivery.enqueue_due() == []  # its countdown message is still expected...
    with time_machine.travel(start + timedelta(minutes=19)), django_capture_on_commit_callbacks(execute=True):
        assert delivery.enqueue_due() == [pending.pk]  # ...and never came
    assert Delivery.objects.get().state == State.DELIVERED and len(receiver.requests) == 3


def test_it_refuses_addresses_of_private_networks_when_they_are_not_allowed(egypt_focal_point, receiver, settings):
    from django.core.exceptions import ValidationError

    from tracker.webhooks.addresses import check_url

    hook = endpoint_for(partner(), receiver.url, events=["report.submitted"])
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOK_REQUIRE_HTTPS = True
    for url in ("http://partner.example/hook", "https://10.1.2.3/hook", "https://[::1]/", "https://localhost/x"):
        with pytest.raises(ValidationError):
            check_url(url)
    check_url("https://partner.example/hook")
    report(egypt_focal_point, "EG")
    answer = delivery.deliver(Delivery.objects.get().pk)
    assert "may not be reached" in answer.error and receiver.requests == []  # checked again when sending
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with time_machine.travel(timezone.now() + timedelta(seconds=10)):
        assert delivery.deliver(Delivery.objects.get().pk).status_code == 200
    assert len(receiver.requests) == 1 and Endpoint.objects.get(pk=hook.pk).failure_streak == 0


def test_it_names_the_urls_host_while_connecting_to_the_address_it_checked(egypt_focal_point, receiver):
    endpoint_for(partner(), f"http://localhost:{receiver.port}/hooks?source=tracker", events=["report.submitted"])
    report(egypt_focal_point, "EG")
    assert delivery.deliver(Delivery.objects.get().pk).status_code == 200
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"
    assert receiver.requests[0].path == "/hooks?source=tracker"
