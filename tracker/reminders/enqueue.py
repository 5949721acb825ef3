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


class _Publish:
    """An after-commit publish that knows what it sends, so the same message is queued once per transaction."""

    def __init__(self, task, args):
        self.task, self.args = task, args
        self.key = (task.name, args)

    def __call__(self):
        publish(self.task, *self.args)


def enqueue(task, *args):
    """Publish after commit (the worker must see the committed rows). JSON-safe arguments only: ids.

    The same task with the same arguments is queued once per transaction: loading the demo (hundreds of
    reports in one transaction) queued hundreds of identical clean-ups, and the worker spent minutes on them
    before beat's heartbeat. Django drops the callbacks of a rolled-back savepoint, so the check reads them."""
    connection = transaction.get_connection()
    call = _Publish(task, args)
    if connection.in_atomic_block and any(getattr(f, "key", None) == call.key for _, f, _ in connection.run_on_commit):
        return
    transaction.on_commit(call)
