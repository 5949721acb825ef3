"""The reminders' SMTP connection: Django's SMTP backend, told where in the conversation a failure happened.

A timeout or a dropped connection after the whole message was handed to the server (the final "." of DATA
was sent) does not mean the message was lost: the server may have queued it and only its answer was lost.
That is an *unknown* outcome (`UnknownOutcome`), which the sender never retries at full speed. Before that
point a failure is an ordinary one (the server cannot accept a message it has not fully received), and so is
a refusal the server answered after it (4xx, 5xx): it said it did not take the message.

Every failure also abandons the connection (no QUIT on a conversation that is out of step, which is how a
late "250" was once read as the answer to the next command), so the next recipient gets a fresh one.

One message's whole conversation, and connecting, are each bounded by `EMAIL_TIMEOUT` as a deadline, not per
socket read: a server that trickles its answers cannot stretch a message past it (timing.py relies on it).
"""

import re
import smtplib
import time
from functools import partial

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend

from tracker.reminders import wire

DJANGO_SMTP = "django.core.mail.backends.smtp.EmailBackend"
END_OF_DATA = b"\r\n.\r\n"
LINE_STARTING_WITH_A_DOT = re.compile(rb"(?m)^\.")


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

    def deliver(self, sender, recipients, data):
        """smtplib's `sendmail` for an envelope wire.py already checked: the same commands, replies and exceptions,
        without parsing each address again, and with MAIL, RCPT and DATA in one write where the server offers
        PIPELINING (RFC 2920, as Postfix and Exim do): one round trip an e-mail fewer, two where it is far."""
        self.ehlo_or_helo_if_needed()
        size = f" SIZE={len(data)}" if self.does_esmtp and self.has_extn("size") else ""
        commands = [f"MAIL FROM:{_quoted(sender)}{size}", *(f"RCPT TO:{_quoted(r)}" for r in recipients), "DATA"]
        if any("\r" in command or "\n" in command for command in commands):
            raise ValueError("An SMTP command cannot contain a line break.")
        replies = self._commands(commands)
        _check_envelope(sender, recipients, replies)
        self.send(_data(data))
        code, answer = self.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, answer)

    def _commands(self, commands):
        """Each command's reply. Not pipelining, it stops where smtplib does: after a refused MAIL, and before DATA
        when every recipient was refused."""
        if self.does_esmtp and self.has_extn("pipelining"):
            self.send("".join(f"{command}\r\n" for command in commands))
            return [self.getreply() for _ in commands]
        replies = []
        for command in commands:
            if command == "DATA" and not any(code in (250, 251) for code, _ in replies[1:]):
                break  # every recipient refused: no DATA (smtplib's order)
            self.send(f"{command}\r\n")
            replies.append(self.getreply())
            if command.startswith("MAIL") and replies[-1][0] != 250:
                break
        return replies


def _refused(error):
    """The server answered the message with a refusal (4xx, 5xx): a known outcome, not delivered."""
    return isinstance(error, smtplib.SMTPResponseException) and 400 <= error.smtp_code < 600


def _quoted(address):
    return f"<{address}>" if wire.PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _check_envelope(sender, recipients, replies):
    """smtplib's exceptions for the envelope's replies: the sender refused, every recipient refused, DATA refused.
    The connection is abandoned after any of them (send_one), so a pipelined reply left unread does not matter."""
    code, answer = replies[0]
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, answer, sender)
    answers = dict(zip(recipients, replies[1 : 1 + len(recipients)], strict=True))
    refused = {r: reply for r, reply in answers.items() if reply[0] not in (250, 251)}
    if len(refused) == len(recipients):
        raise smtplib.SMTPRecipientsRefused(refused)
    code, answer = replies[1 + len(recipients)]
    if code != 354:
        raise smtplib.SMTPDataError(code, answer)


def _data(message):
    """The message as DATA sends it: a line starting with "." doubled, ended by CRLF "." CRLF (smtplib's rules)."""
    if message.startswith(b".") or b"\n." in message:
        message = LINE_STARTING_WITH_A_DOT.sub(b"..", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message + b".\r\n"


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
            if handed_over and not _refused(error):
                raise UnknownOutcome(repr(error)) from error
            raise

    def _send(self, message):
        """Django's `_send` (errors raised, never silenced), with the envelope and bytes written by wire.py."""
        if not message.recipients():
            return False
        self.connection.deliver(*wire.envelope(message))
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
