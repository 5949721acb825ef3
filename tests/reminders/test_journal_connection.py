"""The send journal keeps one Redis connection for a batch's notes and gives it back when the batch ends."""

import pytest
import redis
import time_machine

from tests.reminders.helpers import local
from tests.reminders.test_journal import DAY, due, entries, journal_url, send_at  # noqa: F401 (fixtures)
from tracker.reminders import journal, sending
from tracker.reminders.models import Reminder

pytestmark = pytest.mark.django_db


def test_it_gives_the_batchs_connection_back_to_the_pool(due, journal_url):  # noqa: F811
    result = send_at(local(DAY))
    assert result.sent == 2 and entries(journal_url) == {}
    assert not journal.current().client.connection_pool._in_use_connections


def test_it_closes_a_connection_whose_command_failed_so_no_late_reply_is_read_as_the_next(due, journal_url):  # noqa: F811
    with time_machine.travel(local(DAY), tick=False):
        sending.claim(10)
    rows = [Reminder.objects.get(pk=row.pk) for row in due.values()]
    notes = journal.current()
    assert notes.record(rows[:1], local(DAY), [], first=True)
    held = notes._held
    with pytest.raises(redis.ResponseError):
        notes._run([("HSET", notes.key)])  # wrong number of arguments: an error reply
    assert notes._held is None and held._sock is None  # closed, not handed back as it was
    assert notes.record(rows[1:], local(DAY), [])  # on a fresh connection
    assert len(entries(journal_url)) == 2
    notes.release()
