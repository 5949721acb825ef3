"""Celery tasks of the webhooks. Thin: the work is in `delivery` and `commitments`; arguments are ids (JSON)."""

from celery import shared_task
from django.conf import settings

# Longer than the slowest request a delivery makes (tracker.webhooks.delivery.lease_seconds says how slow).
_SOFT_LIMIT = 5 * settings.WEBHOOK_TIMEOUT_SECONDS + 30


@shared_task(
    name="tracker.webhooks.deliver",
    ignore_result=True,
    soft_time_limit=_SOFT_LIMIT,
    time_limit=_SOFT_LIMIT + 20,
)
def deliver(delivery_id):
    """One attempt of one delivery, if it is due (a duplicate message finds nothing to do)."""
    from tracker.webhooks import delivery

    answer = delivery.deliver(delivery_id)
    return None if answer is None else {"status": answer.status_code, "error": answer.error}


@shared_task(name="tracker.webhooks.deliver_due", ignore_result=True, time_limit=120, soft_time_limit=100)
def deliver_due():
    """Beat: queue the deliveries whose retry is due, or whose task was lost."""
    from tracker.webhooks import delivery

    return {"queued": len(delivery.enqueue_due())}


@shared_task(name="tracker.webhooks.announce_commitments", ignore_result=True, time_limit=300, soft_time_limit=240)
def announce_commitments():
    """Beat: announce the commitments that became due or late, each once."""
    from tracker.webhooks import commitments

    return {"announced": commitments.announce()}


@shared_task(
    name="tracker.webhooks.notify_disabled",
    ignore_result=True,
    autoretry_for=(OSError,),  # the mail server refused it (smtplib's errors are OSErrors)
    retry_backoff=60,
    max_retries=5,
    time_limit=120,
    soft_time_limit=100,
)
def notify_disabled(endpoint_id):
    """E-mail the secretariat that an endpoint was disabled."""
    from tracker.webhooks import notify

    return notify.endpoint_disabled(endpoint_id)
