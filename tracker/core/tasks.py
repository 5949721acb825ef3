import logging

from celery import shared_task
from django.utils import timezone

log = logging.getLogger(__name__)


# Named as before the core moved to tracker.core: beat schedules stored in the database use these names.
@shared_task(name="tracker.tasks.ping", ignore_result=False, time_limit=30, soft_time_limit=25)
def ping(token: str) -> dict[str, str]:
    """Round trip through the broker and a worker: returns what it was sent."""
    return {"pong": token, "at": timezone.now().isoformat()}


@shared_task(name="tracker.tasks.heartbeat", time_limit=30, soft_time_limit=25)
def heartbeat() -> None:
    """Beat's periodic sign of life, run by a worker: /health/worker/ reads when it last ran."""
    from tracker.core.models import Heartbeat

    now = timezone.now()
    Heartbeat.objects.update_or_create(name="worker", defaults={"at": now})
    log.info("beat heartbeat at %s", now.isoformat())


@shared_task(name="tracker.tasks.close_cycle", acks_late=True, time_limit=1800, soft_time_limit=1700)
def close_cycle(cycle_id: int) -> bool:
    """Freeze a closing cycle's record (tracker.core.services.finish_close); True if this run closed it."""
    from tracker.core.services import finish_close

    return finish_close(cycle_id) is not None


@shared_task(name="tracker.tasks.resume_stuck_closes", time_limit=60, soft_time_limit=50)
def resume_stuck_closes() -> list[int]:
    """Beat's safety net: enqueue again a close whose task was lost."""
    from tracker.core.services import resume_stuck_closes as resume

    return resume()


@shared_task(
    name="tracker.tasks.notify_clarification",
    acks_late=True,
    autoretry_for=(OSError,),  # the mail server refused the first e-mail (smtplib's errors are OSErrors)
    retry_backoff=60,
    max_retries=5,
    time_limit=120,
    soft_time_limit=100,
)
def notify_clarification(message_id: int) -> int:
    """E-mail a clarification message to the other side of its thread, once (tracker.core.clarifications)."""
    from tracker.core.clarifications import send_notification

    return send_notification(message_id)


@shared_task(name="tracker.tasks.resend_clarification_emails", time_limit=60, soft_time_limit=50)
def resend_clarification_emails() -> list[int]:
    """Beat's safety net: queue again the clarification messages whose e-mails were never sent."""
    from tracker.core.clarifications import resend_unnotified

    return resend_unnotified()
