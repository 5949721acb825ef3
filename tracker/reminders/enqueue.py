"""Hand work to Celery after the transaction commits, and never let a broker outage reach the caller.

The broker timeouts in settings are short (a refused connection still costs about 2 s in kombu); on top
of that a publish error is logged, not raised, and for `PAUSE_SECONDS` afterwards this process does not
try again, so a run of submits during an outage costs one timeout, not one each. Nothing is lost: the
database is the source of truth and the next beat run recomputes and sends whatever is due.
"""

import logging
import threading
import time

from django.db import transaction

log = logging.getLogger(__name__)
PAUSE_SECONDS = 30
_state = {"down_until": 0.0}
_lock = threading.Lock()


def publish(task, *args):
    """Send a task message now; returns False (and logs) when the broker cannot be reached."""
    if time.monotonic() < _state["down_until"]:
        log.info("broker recently unreachable: %s not queued (the next beat run catches up)", task.name)
        return False
    try:
        task.apply_async(args=args, retry=False)
        return True
    except Exception as error:
        with _lock:
            _state["down_until"] = time.monotonic() + PAUSE_SECONDS
        log.warning("broker unavailable, %s not queued (the next beat run catches up): %r", task.name, error)
        return False


def reset():
    """Forget a past outage (tests, or after an operator fixed the broker)."""
    _state["down_until"] = 0.0


def enqueue(task, *args):
    """Publish after commit (the worker must see the committed rows). JSON-safe arguments only: ids."""
    transaction.on_commit(lambda: publish(task, *args))
