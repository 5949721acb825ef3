"""The reminders' SMTP connection: Django's SMTP backend, told where in the conversation a failure happened.

A timeout or a dropped connection after the whole message was handed to the server (the final "." of DATA
was sent) does not mean the message was lost: the server may have queued it and only its answer was lost.
That is an *unknown* outcome (`UnknownOutcome`), which the sender never retries at full speed. Before that
point a failure is an ordinary one (the server cannot accept a message it has not fully received).

Every failure also abandons the connection (no QUIT on a conversation that is out of step, which is how a
late "250" was once read as the answer to the next command), so the next recipient gets a fresh one.

One message's whole conversation, and connecting, are each bounded by `EMAIL_TIMEOUT` as a deadline, not per
socket read: a server that trickles its answers cannot stretch a message past it (timing.py relies on it).
"""

import smtplib
import time
from functools import partial

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend

from tracker.reminders import wire

DJANGO_SMTP = "django.core.mail.backends.smtp.EmailBackend"
END_OF_DATA = b"\r\n.\r\n"


class UnknownOutcome(Exception):
    """The server received the whole message, then the conversation broke: it may or may not deliver it."""


class CannotConnect(OSError):
    """The mail server could not be reached at all: no message of the batch can go now."""


class _Deadline:
    """An smtplib connection whose every read and write shares one deadline, and which notes the hand-over."""

    def __init__(self, *args, deadline=None, **kwargs):
        self.deadline = deadline
        self.handed_over = False
        super().__init__(*args, **kwargs)

    def begin(self, deadline):
        self.deadline, self.handed_over = deadline, False

    def _bound(self):
        if self.deadline is None or self.sock is None:
            return
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the message's time with the mail server is up")
        self.sock.settimeout(left)

    def send(self, s):
        self._bound()
        super().send(s)
        if isinstance(s, bytes) and s.endswith(END_OF_DATA):
            self.handed_over = True

    def getreply(self):
        self._bound()
        return super().getreply()


class _SMTP(_Deadline, smtplib.SMTP):
    pass


class _SMTPSSL(_Deadline, smtplib.SMTP_SSL):
    pass


class EmailBackend(DjangoSMTPBackend):
    """Django's SMTP backend with `send_one`: one message, a bounded conversation, a classified failure."""

    @property
    def connection_class(self):
        cls = _SMTPSSL if self.use_ssl else _SMTP
        return partial(cls, deadline=time.monotonic() + self.timeout)  # connecting is bounded too

    def send_one(self, message):
        """Send one message; on failure abandon the connection and raise (UnknownOutcome after the hand-over)."""
        try:
            self._open()
            self.connection.begin(time.monotonic() + self.timeout)
            self._send(message)
        except BaseException as error:  # a soft time limit too: the conversation is over either way
            handed_over = self.connection is not None and self.connection.handed_over
            self.abandon()
            if handed_over:
                raise UnknownOutcome(repr(error)) from error
            raise

    def _send(self, message):
        """Django's `_send` (errors raised, never silenced), with the envelope and bytes written by wire.py."""
        if not message.recipients():
            return False
        self.connection.sendmail(*wire.envelope(message))
        return True

    def _open(self):
        try:
            self.open()
        except OSError as error:
            raise CannotConnect(repr(error)) from error

    def abandon(self):
        """Drop the connection without a QUIT: after a failure the conversation cannot be trusted."""
        for connection in (self.connection, self._partial_connection):
            if connection is not None:
                connection.close()
        self.connection = self._partial_connection = None


def connection():
    """The connection the sender uses: ours wherever the configured backend is Django's SMTP backend."""
    if settings.EMAIL_BACKEND == DJANGO_SMTP:
        return EmailBackend(timeout=settings.EMAIL_TIMEOUT)
    return get_connection()


def send_one(connection, message):
    """Send one message on any backend: ours tells unknown outcomes apart; others fail like Django's."""
    if isinstance(connection, EmailBackend):
        connection.send_one(message)
    else:
        connection.send_messages([message])
