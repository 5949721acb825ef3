"""The outbox: the receiver of the core's domain events (tracker.core.events).

It runs inside the transaction of the change: it writes the Event and one Delivery per active endpoint that
chose the event type and may see the item, and asks for the deliveries to be queued once that transaction
commits. A rolled-back change takes its Event and Deliveries with it and queues nothing.
"""

import logging
from functools import partial

from django.db import transaction
from django.utils import timezone

from tracker.core.events import json_value
from tracker.webhooks.models import Delivery, Endpoint, Event

log = logging.getLogger(__name__)


def record_event(sender, event_type, build, implementation=None, **kwargs):
    """Connected to `domain_event`. Writing the event runs in a savepoint of its own: a failure there is logged and
    never fails the change being made, whose transaction goes on."""
    endpoints = audience(event_type, implementation)
    if not endpoints:
        return
    try:
        with transaction.atomic():
            delivery_ids = write_event(event_type, build, implementation, endpoints)
    except Exception:
        log.exception("webhooks: the %s event could not be recorded", event_type)
        return
    from tracker.webhooks.delivery import enqueue

    transaction.on_commit(partial(enqueue, delivery_ids))


def audience(event_type, implementation):
    """The active endpoints that chose this event type and may see the item (None: an event for everyone)."""
    rows = Endpoint.objects.filter(is_active=True, partner__is_active=True).values_list("pk", "events")
    chosen = [pk for pk, events in rows if event_type in events]
    if not chosen:
        return []
    endpoints = list(Endpoint.objects.filter(pk__in=chosen).select_related("partner").order_by("pk"))
    if implementation is None:
        return endpoints
    states = {}
    links = Endpoint.member_states.through.objects.filter(endpoint_id__in=chosen)
    for endpoint_id, state_id in links.values_list("endpoint_id", "memberstate_id"):
        states.setdefault(endpoint_id, set()).add(state_id)
    return [e for e in endpoints if e.access(states.get(e.pk, set())).sees_item(implementation)]


def write_event(event_type, build, implementation, endpoints):
    """The Event (its data built now) and one Delivery per endpoint; the ids of the deliveries."""
    now = timezone.now()
    event = Event.objects.create(
        type=event_type,
        payload={"type": event_type, "timestamp": json_value(now), "data": build()},
        member_state_id=implementation.member_state_id if implementation is not None else None,
    )
    deliveries = Delivery.objects.bulk_create(
        [Delivery(event=event, endpoint=endpoint, next_attempt_at=now, enqueued_at=now) for endpoint in endpoints]
    )
    return [delivery.pk for delivery in deliveries]
