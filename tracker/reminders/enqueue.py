"""Hand work to Celery after the transaction commits, and never let a broker outage reach the caller.

The broker timeouts in settings are short; on top of that a publish error is logged, not raised: the
database is the source of truth and the next beat run recomputes and sends whatever is due.
"""

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def publish(task, *args):
    """Send a task message now; returns False (and logs) when the broker cannot be reached."""
    try:
        task.apply_async(args=args, retry=False)
        return True
    except Exception as error:
        log.warning("broker unavailable, %s not queued (the next beat run catches up): %r", task.name, error)
        return False


def enqueue(task, *args):
    """Publish after commit (the worker must see the committed rows). JSON-safe arguments only: ids."""
    transaction.on_commit(lambda: publish(task, *args))
