"""Test-only e-mail backends. A worker started by a test selects one with EMAIL_BACKEND in its environment."""

import os
import smtplib
import time
import uuid
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


class FilePerMessageBackend(BaseEmailBackend):
    """Writes each message to its own file in EMAIL_FILE_PATH, after sleeping TEST_EMAIL_DELAY seconds.

    The delay makes a batch slow enough for a test to kill the worker in the middle of it; the file is
    written only once the "delivery" completes, like an SMTP server accepting a message.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.conf import settings

        self.folder = Path(settings.EMAIL_FILE_PATH)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.delay = float(os.environ.get("TEST_EMAIL_DELAY", "0"))

    def send_messages(self, messages):
        for message in messages:
            time.sleep(self.delay)
            path = self.folder / f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
            path.write_bytes(message.message().as_bytes())
        return len(messages)


def sent_files(folder):
    return sorted(Path(folder).glob("*.eml"))


class FlakyBackend(BaseEmailBackend):
    """Refuses every message with the given SMTP error; `sent` collects what it accepted otherwise."""

    def __init__(self, error=None, **kwargs):
        super().__init__(**kwargs)
        self.error = error
        self.sent = []

    def send_messages(self, messages):
        if self.error is not None:
            raise self.error
        self.sent.extend(messages)
        return len(messages)


TEMPORARY = smtplib.SMTPResponseException(451, b"4.3.0 Try again later")
PERMANENT = smtplib.SMTPRecipientsRefused({"x@example.org": (550, b"5.1.1 No such user")})


class SlowBackend(FlakyBackend):
    """Accepts every message, taking `delay` seconds each, like a slow SMTP server."""

    def __init__(self, delay, **kwargs):
        super().__init__(**kwargs)
        self.delay = delay

    def send_messages(self, messages):
        time.sleep(self.delay * len(messages))
        return super().send_messages(messages)
