"""The send journal: one "sent" statement per batch, and a dead worker's sent e-mails are never sent again.

Each test runs its own redis-server (a real one, on a free port), so the shared Redis is never touched.
"""

import datetime as dt

import pytest
import redis
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import designate, make_user
from tests.reminders.helpers import DEADLINE, local, open_cycle
from tests.support.services import free_port, redis_server
from tracker.core.permissions import FOCAL_POINT_GROUP
from tracker.reminders import journal, policy, sending, timing
from tracker.reminders.models import Reminder

pytestmark = pytest.mark.django_db
State = Reminder.State
DAY = DEADLINE - dt.timedelta(days=3)
LEASE = dt.timedelta(seconds=timing.current().lease)
AFTER_THE_LEASE = local(DAY) + LEASE + dt.timedelta(seconds=1)


@pytest.fixture
def journal_url(settings, tmp_path):
    port = free_port()
    with redis_server(port, tmp_path):
        settings.REMINDER_JOURNAL_URL = f"redis://127.0.0.1:{port}/0"
        yield settings.REMINDER_JOURNAL_URL


@pytest.fixture
def due(reference, egypt_focal_point, jordan_focal_point, journal_url):
    """Egypt's and Jordan's "3 days before" reminders, written on the day."""
    open_cycle(reference)
    with time_machine.travel(local(DAY), tick=False):
        policy.plan()
    return {row.recipient.username: row for row in Reminder.objects.select_related("recipient")}


def send_at(moment):
    with time_machine.travel(moment, tick=False):
        return sending.send_due()


def entries(url):
    return redis.Redis.from_url(url).hgetall(journal.current().key)


def died_after_sending(row):
    """A worker claims every due row, sends `row`'s e-mail, notes it in the journal, and is killed."""
    with time_machine.travel(local(DAY), tick=False):
        sending.claim(10)
    row.refresh_from_db()
    assert journal.current().record([row], local(DAY), ["alt@example.org"], first=True)


def test_it_marks_a_whole_batch_sent_with_one_statement(due, reference, journal_url):
    for iso in ["MA", "TN", "IQ", "LB"]:
        designate(make_user(f"fp-{iso.lower()}", FOCAL_POINT_GROUP), iso, reference)
    with time_machine.travel(local(DAY), tick=False):
        assert policy.plan() == 4
    with CaptureQueriesContext(connection) as queries:
        result = send_at(local(DAY))
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "tracker_reminder"')]
    assert result.sent == 6
    assert len(updates) == 2  # claim ("sending") and the batch's "sent" mark, not one per e-mail
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}
    assert Reminder.objects.filter(sent_at=local(DAY)).count() == 6
    assert entries(journal_url) == {}  # cleared once the database holds the marks


@pytest.mark.django_db(transaction=True)  # outside a transaction, as a worker sends: SQLite's level can change
def test_it_commits_the_interim_marks_without_waiting_for_the_disk_and_the_last_one_durably(due, reference, settings):
    settings.REMINDER_MARK_EVERY = 2
    for iso in ["MA", "TN", "IQ"]:
        designate(make_user(f"fp-{iso.lower()}", FOCAL_POINT_GROUP), iso, reference)
    with time_machine.travel(local(DAY), tick=False):
        policy.plan()
    with CaptureQueriesContext(connection) as queries:
        assert send_at(local(DAY)).sent == 5
    sql = [q["sql"] for q in queries]
    marks = [i for i, statement in enumerate(sql) if "sent_at = v.sent_at" in statement]  # write_sent's statements
    assert len(marks) == 3  # after the 2nd and 4th e-mails, then the batch's last one
    if connection.vendor == "postgresql":
        relaxed = [i for i in marks if sql[i - 1] == "SET LOCAL synchronous_commit TO OFF"]
        assert relaxed == marks[:-1]
    else:
        levels = [(i, s) for i, s in enumerate(sql) if s.startswith("PRAGMA synchronous =")]
        assert [s for _, s in levels] == ["PRAGMA synchronous = NORMAL", "PRAGMA synchronous = 2"]
        assert levels[0][0] < marks[0] and marks[-2] < levels[1][0] < marks[-1]
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}


def recording_sends(monkeypatch, seen):
    """Calls `seen(message)` as each e-mail is handed to the backend."""
    send_one = sending.smtp.send_one

    def recording(connection, message):
        seen(message)
        send_one(connection, message)

    monkeypatch.setattr(sending.smtp, "send_one", recording)


def test_it_notes_each_e_mail_in_the_journal_before_the_next_one_leaves(due, journal_url, monkeypatch):
    """Redis answers while the next e-mail is composed, but that e-mail waits for the answer: a worker killed
    as it leaves never finds the one before unnoted (and sends it again)."""
    pk_of = {row.recipient.email: str(row.pk).encode() for row in due.values()}
    noted_when_sent = []
    recording_sends(monkeypatch, lambda message: noted_when_sent.append((message.to[0], set(entries(journal_url)))))
    assert send_at(local(DAY)).sent == 2
    (first, noted_before_first), (_second, noted_before_second) = noted_when_sent
    assert (noted_before_first, noted_before_second) == (set(), {pk_of[first]})
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}
    assert entries(journal_url) == {}


def test_it_marks_the_database_before_the_next_e_mail_when_the_journal_does_not_answer(due, monkeypatch):
    """Redis took the note, then its answer never came: the row is marked in the database, still before the
    next e-mail leaves."""
    states_when_sent = []
    recording_sends(
        monkeypatch, lambda message: states_when_sent.append(dict(Reminder.objects.values_list("pk", "state")))
    )
    answer = journal.RedisJournal._read

    def lost_answer(self):
        if self._unread:
            self.release(broken=True)
            raise redis.ConnectionError("Connection reset by peer")
        answer(self)

    monkeypatch.setattr(journal.RedisJournal, "_read", lost_answer)
    assert send_at(local(DAY)).sent == 2
    assert sorted(states_when_sent[1].values()) == [State.SENDING, State.SENT]
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}


def test_it_does_not_resend_what_a_dead_worker_noted_in_the_journal(due, journal_url):
    died_after_sending(due["fp-egypt"])
    result = send_at(AFTER_THE_LEASE)
    assert (result.recovered, result.sent) == (1, 1)
    assert [m.to for m in mail.outbox] == [["fp-jordan@example.org"]]
    egypt = Reminder.objects.get(pk=due["fp-egypt"].pk)
    assert (egypt.state, egypt.sent_at, egypt.cc) == (State.SENT, local(DAY), ["alt@example.org"])
    assert entries(journal_url) == {}


def test_it_ignores_an_entry_written_under_another_claim(due):
    died_after_sending(due["fp-egypt"])
    Reminder.objects.filter(pk=due["fp-egypt"].pk).update(attempts=7)  # not the claim the entry names
    result = send_at(AFTER_THE_LEASE)
    assert (result.recovered, result.sent) == (0, 2)
    assert sorted(m.to[0] for m in mail.outbox) == ["fp-egypt@example.org", "fp-jordan@example.org"]


def test_it_holds_a_dead_workers_rows_while_the_journal_cannot_be_read(due, settings):
    with time_machine.travel(local(DAY), tick=False):
        sending.claim(1)  # Egypt's row, claimed by a worker that then died
    settings.REMINDER_JOURNAL_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    result = send_at(AFTER_THE_LEASE)
    assert result.sent == 1  # Jordan's pending row still goes, marked in the database
    assert Reminder.objects.get(pk=due["fp-jordan"].pk).state == State.SENT
    assert Reminder.objects.get(pk=due["fp-egypt"].pk).state == State.SENDING  # sent or not: unknown yet
    assert [m.to for m in mail.outbox] == [["fp-jordan@example.org"]]


def test_it_sends_a_dead_workers_row_that_the_journal_does_not_know(due, journal_url):
    with time_machine.travel(local(DAY), tick=False):
        sending.claim(10)  # the worker died before sending anything
    result = send_at(AFTER_THE_LEASE)
    assert (result.recovered, result.sent) == (0, 2)
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}


def test_it_keeps_each_deployments_entries_apart(due, journal_url, settings):
    died_after_sending(due["fp-egypt"])
    assert journal.current().key.endswith(connection.settings_dict["NAME"])
    assert list(entries(journal_url)) == [str(due["fp-egypt"].pk).encode()]
    ttl = redis.Redis.from_url(journal_url).ttl(journal.current().key)
    assert 0 < ttl <= journal.ENTRY_TTL_SECONDS  # a dead worker's entries expire if never taken back


def admin_index(client, user, moment, language="en"):
    with time_machine.travel(moment, tick=False):
        client.force_login(user)  # at that moment: an idle session would have expired
        return client.get("/admin/", HTTP_ACCEPT_LANGUAGE=language).text


def test_it_shows_the_secretariat_rows_held_since_a_sender_stopped(client, due, settings, secretariat_officer):
    with time_machine.travel(local(DAY), tick=False):
        sending.claim(1)
    settings.REMINDER_JOURNAL_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert "held since a sender stopped" not in admin_index(client, secretariat_officer, local(DAY) + LEASE / 2)
    send_at(AFTER_THE_LEASE)
    page = admin_index(client, secretariat_officer, AFTER_THE_LEASE)
    assert "Reminders held since a sender stopped: 1" in page and "?state__exact=sending" in page
    assert "تذكيرات معلّقة منذ توقّف عملية إرسال: 1" in admin_index(client, secretariat_officer, AFTER_THE_LEASE, "ar")
