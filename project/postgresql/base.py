"""Django's PostgreSQL backend with a health check that costs no round trip while the connection is quiet.

CONN_HEALTH_CHECKS runs `SELECT 1` before each request reuses a kept connection: one more statement per request, a
fifth of an API item's database work. A server that restarts, fails over or ends the session
(pg_terminate_backend, idle_session_timeout) first sends the session's end (an error, then the socket's close),
which leaves the idle connection's socket readable. So a connection that is idle, in no transaction, and has
nothing to read is taken as it is; one with anything to read (the end, or any message we did not ask for) gets
Django's `SELECT 1`, which reads it and fails if the session has ended. A host that vanishes without a word is
found by neither check before the statement times out.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq

# Anything to read, or the socket's end: the full check decides.
_ATTENTION = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLNVAL


def _has_something_to_read(connection):
    poller = select.poll()
    poller.register(connection.pgconn.socket, _ATTENTION)
    return bool(poller.poll(0))


def is_quiet(connection):
    """True if the psycopg connection is open, idle outside a transaction, and the server has sent nothing since."""
    if connection.closed or connection.pgconn.status != pq.ConnStatus.OK:
        return False
    if connection.info.transaction_status != pq.TransactionStatus.IDLE:
        return False
    return not _has_something_to_read(connection)


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if self.health_check_enabled and not self.health_check_done and self.connection is not None:
            if is_quiet(self.connection):
                self.health_check_done = True
                return
        super().close_if_health_check_failed()
