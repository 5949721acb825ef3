import logging

from celery import shared_task
from django.utils import timezone

# The reminder tasks live with the reminders; importing them here lets autodiscovery register them.
from tracker.reminders.tasks import cancel_stale_reminders, run_reminders, send_due_reminders  # noqa: E402,F401

log = logging.getLogger(__name__)


@shared_task(ignore_result=False, time_limit=30, soft_time_limit=25)
def ping(token):
    """Round trip through the broker and a worker: returns what it was sent."""
    return {"pong": token, "at": timezone.now().isoformat()}


@shared_task(time_limit=30, soft_time_limit=25)
def heartbeat():
    """Beat's periodic sign of life in the logs: shows that beat and a worker both run."""
    log.info("beat heartbeat at %s", timezone.now().isoformat())
