"""How long a send run, one e-mail, its task and its claim on rows may last: all derived from two settings.

`REMINDER_RUN_SECONDS` says how long a run goes on starting e-mails; `EMAIL_TIMEOUT` bounds one SMTP
conversation (smtp.py enforces it as a deadline over the whole conversation, not per socket read). From
them, in this order, each limit leaves room for the one before it:

    run deadline  <  soft time limit  <  hard time limit  <  lease

- A run starts a recipient's e-mails only if they can end before the run deadline plus their own bound,
  so the soft time limit never cuts an SMTP conversation (a cut would leave its outcome unknown).
- The hard limit follows the soft one by one timeout: time to write the batch's marks and hand back rows.
- The lease (after which another run takes back a dead run's rows) outlasts the hard limit: a live run's
  rows are never taken back while it may still send them.
"""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Timing:
    run: float  # seconds during which a run starts new e-mails
    timeout: float  # EMAIL_TIMEOUT: connecting, and then one message's whole conversation, each

    @property
    def per_message(self):
        """The longest one message can take: (re)connecting, then its conversation."""
        return 2 * self.timeout

    @property
    def per_recipient(self):
        """A recipient's e-mails: theirs, plus one copy per other language (escalations)."""
        return len(settings.LANGUAGES) * self.per_message

    @property
    def soft_limit(self):
        return self.run + self.per_recipient + self.timeout

    @property
    def hard_limit(self):
        return self.soft_limit + self.timeout

    @property
    def lease(self):
        return self.hard_limit + self.timeout


def current():
    return Timing(run=settings.REMINDER_RUN_SECONDS, timeout=settings.EMAIL_TIMEOUT)
