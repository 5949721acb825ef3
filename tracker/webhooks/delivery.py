"""Delivering events: claim the delivery, POST it signed, record the answer; retry with back-off; disable an
endpoint that keeps failing.

Each step is a compare-and-set on the Delivery row, so a doubled task, a beat that queues again or two workers
never make one attempt twice, and a worker killed mid-request loses nothing: its claim is a lease (the row's
`next_attempt_at`) that runs out, and beat's `deliver_due` queues the delivery again. No database transaction
is open while the request is under way: a slow endpoint holds no lock and delays no other endpoint.

The waits between attempts are WEBHOOK_RETRY_SECONDS (after the first attempt, the second...); after the last,
the delivery has failed and the admin can replay it. Any delivered event resets the endpoint's failure streak;
a streak of WEBHOOK_DISABLE_AFTER_FAILURES that began WEBHOOK_DISABLE_AFTER_HOURS ago disables the endpoint, fails
its pending deliveries and e-mails the secretariat once.
"""

import logging
import threading
import time
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.webhooks import signing, transport
from tracker.webhooks.models import Delivery, DeliveryAttempt, Endpoint

log = logging.getLogger(__name__)
State = Delivery.State

#: Retries due sooner than this are queued with a countdown; later ones are queued by beat when due.
COUNTDOWN_MAX_SECONDS = 300
#: Beat queues again a due delivery whose task has not run this long after it was queued (a lost message).
REQUEUE_AFTER = timedelta(minutes=5)
#: Deliveries beat queues per run.
DUE_BATCH = 500
#: After a broker error, this process does not try to publish for this long (beat catches up).
BROKER_PAUSE_SECONDS = 30
_broker = {"down_until": 0.0}
_broker_lock = threading.Lock()


def lease_seconds():
    """How long a claim holds: longer than the slowest request (connect, send, answer, read)."""
    return 5 * settings.WEBHOOK_TIMEOUT_SECONDS + 60


# --- Queueing ------------------------------------------------------------------------------------------------


def send_task(task, *args, countdown=None):
    """Queue a task; False (logged) when the broker cannot be reached. Never raises: the change is committed."""
    if time.monotonic() < _broker["down_until"]:
        return False
    try:
        task.apply_async(args, countdown=countdown, retry=False)
        return True
    except Exception as error:  # any broker failure: kombu raises several kinds
        with _broker_lock:
            _broker["down_until"] = time.monotonic() + BROKER_PAUSE_SECONDS
        log.warning("webhooks: broker unavailable, %s%r not queued: %r", task.name, args, error)
        return False


def publish(delivery_id, countdown=None):
    """Queue one delivery task; False when the broker cannot be reached (beat queues it later)."""
    from tracker.webhooks.tasks import deliver

    return send_task(deliver, delivery_id, countdown=countdown)


def enqueue(delivery_ids):
    """After commit: queue the new deliveries; those the broker refused are left for beat at once."""
    lost = [delivery_id for delivery_id in delivery_ids if not publish(delivery_id)]
    if lost:
        Delivery.objects.filter(pk__in=lost).update(enqueued_at=None)


def enqueue_due(now=None, limit=DUE_BATCH):
    """Beat: queue the deliveries that are due and have no task coming (a retry left to beat, a lost message, a
    claim whose worker died). The ids queued."""
    now = now or timezone.now()
    no_task_coming = (
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("next_attempt_at")) | Q(enqueued_at__lte=now - REQUEUE_AFTER)
    )
    due = Delivery.objects.filter(
        no_task_coming, state__in=[State.PENDING, State.DELIVERING], next_attempt_at__lte=now
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:limit])
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    for delivery_id in ids:
        publish(delivery_id)
    return ids


# --- One attempt ---------------------------------------------------------------------------------------------


def claim(delivery_id, now):
    """Compare-and-set: the delivery if it is due and nobody holds it (it is then held for the lease), else None.
    The condition reads the row's own columns only, so PostgreSQL re-checks it on a row another worker changed."""
    claimable = Delivery.objects.filter(
        pk=delivery_id, state__in=[State.PENDING, State.DELIVERING], next_attempt_at__lte=now
    )
    held_until = now + timedelta(seconds=lease_seconds())
    if not claimable.update(
        state=State.DELIVERING, next_attempt_at=held_until, attempts=F("attempts") + 1, updated_at=now
    ):
        return None
    return Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)


def deliver(delivery_id):
    """Make the next attempt of a delivery if it is due: the Answer, or None if there was nothing to do."""
    now = timezone.now()
    delivery = claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _mine(delivery).update(state=State.FAILED, next_attempt_at=None, last_error=_("The endpoint is disabled."))
        return None
    body = signing.body_of(delivery.event.payload)
    headers = signing.headers(delivery.event.webhook_id, body, endpoint.signing_secrets(now), now)
    answer = transport.post(endpoint.url, body, headers, settings.WEBHOOK_TIMEOUT_SECONDS)
    record(delivery, answer, started_at=now)
    return answer


def _mine(delivery):
    """The row, if the claim that read `delivery` still holds it (a replay or a later claim did not take over)."""
    return Delivery.objects.filter(
        pk=delivery.pk, state=State.DELIVERING, attempts=delivery.attempts, replays=delivery.replays
    )


def next_wait(attempts):
    """The wait after the `attempts`-th failed attempt, or None when it was the last."""
    schedule = settings.WEBHOOK_RETRY_SECONDS
    return timedelta(seconds=schedule[attempts - 1]) if attempts <= len(schedule) else None


def describe_failure(answer):
    if answer.status_code is not None:
        text = _("The endpoint answered HTTP %(status)s.") % {"status": answer.status_code}
        return f"{text} {answer.excerpt}".strip()[:1000]
    return answer.error


@transaction.atomic
def record(delivery, answer, started_at):
    """Log the attempt and move the delivery on: delivered, due again after the back-off, or failed."""
    now = timezone.now()
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        replay=delivery.replays,
        started_at=started_at,
        status_code=answer.status_code,
        response_ms=answer.response_ms,
        error="" if answer.delivered else describe_failure(answer),
        response_excerpt=answer.excerpt[:500],
    )
    seen = {"last_status_code": answer.status_code, "last_response_ms": answer.response_ms, "updated_at": now}
    if answer.delivered:
        _mine(delivery).update(state=State.DELIVERED, delivered_at=now, next_attempt_at=None, last_error="", **seen)
        Endpoint.objects.filter(pk=delivery.endpoint_id, failure_streak__gt=0).update(
            failure_streak=0, failing_since=None
        )
        return
    wait = next_wait(delivery.attempts)
    error = describe_failure(answer)
    if wait is None:
        _mine(delivery).update(state=State.FAILED, next_attempt_at=None, last_error=error, **seen)
    else:
        due = now + wait
        soon = wait.total_seconds() <= COUNTDOWN_MAX_SECONDS
        # A retry queued now with a countdown is marked queued for its due time; a later one is left to beat.
        queued = due if soon else F("enqueued_at")
        if _mine(delivery).update(
            state=State.PENDING, next_attempt_at=due, enqueued_at=queued, last_error=error, **seen
        ):
            if soon:
                transaction.on_commit(partial(publish, delivery.pk, int(wait.total_seconds())))
    note_failure(delivery.endpoint_id, now)


# --- Endpoints that keep failing ---------------------------------------------------------------------------


def note_failure(endpoint_id, now):
    """Count a failed attempt; disable the endpoint once the streak is long and old enough."""
    endpoints = Endpoint.objects.filter(pk=endpoint_id)
    endpoints.update(failure_streak=F("failure_streak") + 1, failing_since=Coalesce("failing_since", Value(now)))
    threshold = endpoints.filter(
        is_active=True,
        failure_streak__gte=settings.WEBHOOK_DISABLE_AFTER_FAILURES,
        failing_since__lte=now - timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS),
    )
    if threshold.exists():
        endpoint = Endpoint.objects.get(pk=endpoint_id)
        reason = _("%(count)s attempts in a row failed since %(since)s.") % {
            "count": endpoint.failure_streak,
            "since": timezone.localtime(endpoint.failing_since).strftime("%Y-%m-%d %H:%M"),
        }
        if deactivate(endpoint_id, reason, now):
            from tracker.webhooks.tasks import notify_disabled

            transaction.on_commit(partial(send_task, notify_disabled, endpoint_id))


def deactivate(endpoint_id, reason, now=None):
    """Switch an active endpoint off (once: True for the caller that did it); its pending deliveries fail."""
    now = now or timezone.now()
    switched = Endpoint.objects.filter(pk=endpoint_id, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:255], version=F("version") + 1, updated_at=now
    )
    if switched:
        pending = Delivery.objects.filter(endpoint_id=endpoint_id, state=State.PENDING)
        # A delivery that was tried keeps the error of its last attempt; one that never was says why not.
        pending.filter(last_error="").update(last_error=_("The endpoint was disabled: %(reason)s") % {"reason": reason})
        pending.update(state=State.FAILED, next_attempt_at=None, updated_at=now)
    return bool(switched)


# --- Replay --------------------------------------------------------------------------------------------------


@transaction.atomic
def replay(delivery_ids):
    """Send deliveries again from the first attempt (same event, same webhook-id, so a receiver that has it already
    can tell); the earlier attempts stay in the log. Not those in flight, nor those of an inactive endpoint.
    The number replayed."""
    now = timezone.now()
    chosen = list(
        Delivery.objects.filter(pk__in=list(delivery_ids), endpoint__is_active=True)
        .exclude(state=State.DELIVERING)
        .values_list("pk", flat=True)
    )
    Delivery.objects.filter(pk__in=chosen).update(
        state=State.PENDING,
        attempts=0,
        replays=F("replays") + 1,
        next_attempt_at=now,
        enqueued_at=now,
        delivered_at=None,
        last_error="",
        updated_at=now,
    )
    if chosen:
        transaction.on_commit(partial(enqueue, chosen))
    return len(chosen)
