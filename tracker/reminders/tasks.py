"""Celery tasks of the reminders. Thin: the work is in `sending` and `policy`; arguments are ids (JSON)."""

from celery import shared_task

from tracker.reminders import sending
from tracker.reminders.enqueue import publish

# Within CELERY_TASK_TIME_LIMIT (300 s): a run stops taking new batches after this and queues a follow-up.
SEND_BUDGET_SECONDS = 200


@shared_task(name="tracker.reminders.run", ignore_result=True, time_limit=300, soft_time_limit=270)
def run_reminders():
    """Beat: compute what is due from the database, then send it."""
    created, result = sending.run(budget_seconds=SEND_BUDGET_SECONDS)
    if result.more:
        publish(send_due_reminders)
    return {"created": created, **result.as_dict()}


@shared_task(name="tracker.reminders.send_due", ignore_result=True, time_limit=300, soft_time_limit=270)
def send_due_reminders():
    """Beat (every few minutes) and after admin actions: send pending rows, including retries now due."""
    result = sending.send_due(budget_seconds=SEND_BUDGET_SECONDS)
    if result.more:
        publish(send_due_reminders)  # no countdown: the next batch starts at once
    return result.as_dict()


@shared_task(name="tracker.reminders.cancel_stale", ignore_result=True, time_limit=120, soft_time_limit=100)
def cancel_stale_reminders(member_state_id=None):
    """After a report is submitted or a commitment changes: cancel the state's pending reminders no longer due."""
    return {"cancelled": sending.cancel_stale(member_state_id)}
