"""A real SMTP server on loopback, with faults, for the reminder tests and `make bench-reminders`.

    with SMTPSink() as sink:              # aiosmtpd in a thread of this process, 127.0.0.1:<free port>
        worker_env.update(sink.env())     # a Celery worker subprocess sends to it over TCP
        sink.settings(settings)           # or pytest-django's settings fixture, in this process
        sink.drop_after_data()            # faults apply to the messages from now on
        ...
        assert sink.count_by_recipient() == {"fp@example.org": 1}

It offers PIPELINING (RFC 2920), as Postfix and Exim do by default; `SMTPSink(pipelining=False)` is a server
that does not, to which a client sends one command at a time.

Every message whose DATA arrived in full is recorded as delivered, whatever the server then answers
(a late answer or a dropped connection included): that is what a real server has accepted, and what an
exactly-once sender must not send again. Only `refuse` (a 4xx/5xx answer at the end of DATA) and
`reject_rcpt` leave a message unrecorded. Faults are changed from the test's thread and read in the
server's, under one lock.
"""

import asyncio
import collections
import email
import email.policy
import logging
import threading
from dataclasses import dataclass
from functools import cached_property

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from tests.support.services import free_port

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
ACCEPTED = "250 2.0.0 Message accepted"

# aiosmtpd logs every SMTP command at INFO: ten lines per message drown a test's log and slow the benchmark.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass
class Received:
    """One message the server accepted: its envelope and its bytes (parsed on first use, off the hot path)."""

    mail_from: str
    rcpt_tos: tuple
    raw: bytes

    @cached_property
    def message(self):
        return email.message_from_bytes(self.raw, policy=email.policy.default)


class Faults:
    """The server's misbehaviour. A counted fault (n messages, None = until cleared) applies to the next ones."""

    def __init__(self, per_message_seconds=0.0):
        self.lock = threading.Lock()
        self.seconds = per_message_seconds  # before every 250 answer: a slow server
        self.counted = {}  # name -> (value, messages left or None)

    def set(self, name, value, n):
        if n is not None and n < 1:
            raise ValueError("n is a number of messages (>= 1) or None for every message until clear()")
        with self.lock:
            self.counted[name] = (value, n)

    def take(self, name):
        """The fault's value if it applies to this message (counting it down), else None."""
        with self.lock:
            value, left = self.counted.get(name, (None, None))
            if value is not None and left is not None:
                if left > 1:
                    self.counted[name] = (value, left - 1)
                else:
                    del self.counted[name]
            return value

    def at_data_end(self):
        """("refuse", code) | ("drop", None) | ("answer", seconds to wait before answering 250)."""
        if (code := self.take("refuse")) is not None:
            return "refuse", code
        if self.take("drop") is not None:
            return "drop", None
        late = self.take("late")
        return "answer", self.seconds if late is None else late

    def clear(self):
        with self.lock:
            self.seconds, self.counted = 0.0, {}


def _status(code, temporary, permanent):
    return f"{code} {temporary if code < 500 else permanent}"


class _Handler:
    """aiosmtpd's hooks, run in the server's event loop."""

    def __init__(self, sink):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # what aiosmtpd does when there is no hook
        if self.sink.pipelining:  # aiosmtpd reads pipelined commands in order; it only does not say so
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.sink.faults.take("rcpt")
        if code is not None:
            return _status(code, "4.2.1 Mailbox busy, try again later", "5.1.1 No such user")
        envelope.rcpt_tos.append(address)  # what aiosmtpd does when there is no hook
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        action, value = self.sink.faults.at_data_end()
        if action == "refuse":
            return _status(value, "4.3.0 Try again later", "5.7.1 Refused")
        self.sink.record(envelope)
        if action == "drop":
            server.transport.abort()
            # Never answer: connection_lost() cancels this task. Returning would write to a dead socket.
            await asyncio.get_running_loop().create_future()
        await asyncio.sleep(value)  # a client that gives up first closes the connection, which cancels this
        return ACCEPTED


class _TrackedSMTP(SMTP):
    """aiosmtpd's SMTP protocol, keeping its open connections so that down() can cut them like a crash."""

    def __init__(self, handler, connections, **kwargs):
        super().__init__(handler, **kwargs)
        self.connections = connections

    def connection_made(self, transport):
        self.connections.add(transport)
        super().connection_made(transport)

    def connection_lost(self, error):
        self.connections.discard(self.transport)
        super().connection_lost(error)


class _Controller(Controller):
    def __init__(self, handler, connections, **kwargs):
        super().__init__(handler, **kwargs)
        self.connections = connections

    def factory(self):
        return _TrackedSMTP(self.handler, self.connections, **self.SMTP_kwargs)


class SMTPSink:
    """A real SMTP server (aiosmtpd) in a thread of this process; see the module's docstring."""

    host = "127.0.0.1"

    def __init__(self, port=None, per_message_seconds=0.0, timeout=300, pipelining=True):
        self.port = port or free_port()
        self.pipelining = pipelining  # offered, as Postfix and Exim do by default
        self.timeout = timeout  # aiosmtpd drops a client silent this long (its default; tests are shorter)
        self.faults = Faults(per_message_seconds)
        self.received = []
        self._changed = threading.Condition()
        self._handler = _Handler(self)
        self._connections = set()
        self._controller = None

    # -- life cycle: `with SMTPSink() as sink`, or start()/stop(); down()/up() keep the port

    def start(self):
        self.up()
        return self

    def stop(self):
        self.down()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def up(self):
        """Listen (again) on the same port: a fresh controller, since a stopped one has closed its loop."""
        if self._controller is not None:
            return
        controller = _Controller(
            self._handler,
            self._connections,
            hostname=self.host,
            port=self.port,
            server_hostname="sink.invalid",  # else aiosmtpd resolves this host's FQDN on every connection
            data_size_limit=64 * 1024 * 1024,
            timeout=self.timeout,
            ready_timeout=10,
        )
        try:
            controller.start()
        except BaseException:
            controller.stop(no_assert=True)  # the thread may be running even though start() failed
            raise
        self._controller = controller

    def down(self):
        """Stop listening (connections are refused) and cut the open connections, like a crashed server."""
        controller, self._controller = self._controller, None
        if controller is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._cut_connections(), controller.loop).result(timeout=5)
        finally:
            controller.stop()  # always: it joins the server's thread

    async def _cut_connections(self):
        for transport in list(self._connections):
            transport.abort()
        await asyncio.sleep(0.01)  # let connection_lost() close the sockets before the loop stops

    @property
    def running(self):
        return self._controller is not None

    # -- faults, for the messages from now on

    def delay(self, seconds):
        """Answer every message 250 only after `seconds` (it is recorded first: it was delivered).

        A client whose timeout is shorter gets, from smtplib, SMTPServerDisconnected("... timed out") with
        the socket's TimeoutError as its __context__, not a TimeoutError.
        """
        with self.faults.lock:
            self.faults.seconds = seconds

    per_message_seconds = delay  # a slow server, e.g. sink.per_message_seconds(2)

    def drop_after_data(self, n=1):
        """Record the next n messages, then close their connection without any answer."""
        self.faults.set("drop", True, n)

    def answer_late(self, seconds, n=1):
        """Record the next n messages and answer them only after `seconds` (after the client's timeout)."""
        self.faults.set("late", seconds, n)

    def refuse(self, code=451, n=None):
        """Answer the next n messages (None: all, until clear()) `code` at the end of DATA; not recorded."""
        self.faults.set("refuse", code, n)

    def reject_rcpt(self, code=550, n=None):
        """Answer the next n RCPT commands (None: all, until clear()) `code`."""
        self.faults.set("rcpt", code, n)

    def clear(self):
        """No fault any more (the per-message delay included)."""
        self.faults.clear()

    # -- what was delivered

    def record(self, envelope):
        delivered = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content))
        with self._changed:
            self.received.append(delivered)
            self._changed.notify_all()

    @property
    def messages(self):
        """The accepted messages as email.message.EmailMessage (envelopes: `received`)."""
        with self._changed:
            return [r.message for r in self.received]

    def count_by_recipient(self):
        with self._changed:
            return collections.Counter(rcpt.lower() for r in self.received for rcpt in r.rcpt_tos)

    def __len__(self):
        with self._changed:
            return len(self.received)

    def wait_for(self, count, timeout=10):
        """Wait until at least `count` messages were accepted; True if they were in time."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.received) >= count, timeout)

    def take(self):
        """The messages received so far, forgotten here (the faults stay)."""
        with self._changed:
            taken, self.received = self.received, []
            return taken

    def reset(self):
        """Forget the messages received so far (the faults stay)."""
        with self._changed:
            self.received = []

    # -- pointing Django at it

    def django_settings(self):
        return {
            "EMAIL_BACKEND": SMTP_BACKEND,
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
        }

    def env(self):
        """For a subprocess (a Celery worker): the environment variables project/settings.py reads."""
        values = {key: str(value) for key, value in self.django_settings().items()}
        values.update(EMAIL_USE_TLS="false", EMAIL_USE_SSL="false")
        return values

    def settings(self, settings):
        """Point pytest-django's `settings` fixture (or any settings object) at this server."""
        for name, value in self.django_settings().items():
            setattr(settings, name, value)
        return settings
