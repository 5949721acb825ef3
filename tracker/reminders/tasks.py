"""Celery tasks of the reminders. Thin: the work is in `sending` and `policy`; arguments are ids (JSON).

The send tasks' time limits come from timing.py (REMINDER_RUN_SECONDS and EMAIL_TIMEOUT), like the run's
deadline and the lease on claimed rows, so the three always agree.
"""

from celery import shared_task

from tracker.reminders import sending, timing
from tracker.reminders.enqueue import publish

LIMITS = timing.current()
SEND_LIMITS = {"soft_time_limit": LIMITS.soft_limit, "time_limit": LIMITS.hard_limit}


@shared_task(name="tracker.reminders.run", ignore_result=True, **SEND_LIMITS)
def run_reminders():
    """Beat: compute what is due from the database, then send it."""
    created, result = sending.run()
    if result.more:
        publish(send_due_reminders)
    return {"created": created, **result.as_dict()}


@shared_task(name="tracker.reminders.send_due", ignore_result=True, **SEND_LIMITS)
def send_due_reminders():
    """Beat (every few minutes) and after admin actions: send pending rows, including retries now due."""
    result = sending.send_due()
    if result.more:
        publish(send_due_reminders)  # no countdown: the next batch starts at once
    return result.as_dict()


@shared_task(name="tracker.reminders.cancel_stale", ignore_result=True, time_limit=120, soft_time_limit=100)
def cancel_stale_reminders(member_state_id=None):
    """After a report is submitted or a commitment changes: cancel the state's pending reminders no longer due."""
    return {"cancelled": sending.cancel_stale(member_state_id)}
