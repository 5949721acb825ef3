"""Reminders against a real SMTP server on loopback (aiosmtpd) that is slow, drops connections or answers late,
sent by a real Celery worker. Each test counts the e-mails each recipient really received.

The timing is scaled down: EMAIL_TIMEOUT=1 and runs of a few seconds instead of 20 s and 200 s (timing.py
derives the task limits and the lease from them, as in production).
"""

import signal
import time
from collections import Counter

import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from tests.reminders.helpers import items_of
from tests.reminders.test_worker import cycle_due_in_three_days, focal_points, real_broker_in_ci, roles  # noqa: F401
from tests.support.services import free_port, redis_server, start_worker, subprocess_env, wait_for
from tests.support.smtp_server import SMTPSink
from tracker.core import services
from tracker.core.permissions import access_for
from tracker.reminders import policy, sending
from tracker.reminders.enqueue import publish
from tracker.reminders.models import Reminder
from tracker.reminders.smtp import EmailBackend
from tracker.reminders.tasks import send_due_reminders
from tracker.reminders.timing import Timing

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]
State = Reminder.State
QUICK = {"EMAIL_TIMEOUT": 1, "REMINDER_RUN_SECONDS": 3, "REMINDER_RETRY_BASE_SECONDS": 1}


@pytest.fixture
def sink():
    with SMTPSink() as server:
        yield server


def worker_env(sink, **extra):
    env = subprocess_env()
    env.update(sink.env())
    env.update({key: str(value) for key, value in {**QUICK, **extra}.items()})
    return env


def addresses(count):
    return sorted(Reminder.objects.values_list("recipient__email", flat=True))[:count]


def states():
    return Counter(Reminder.objects.values_list("state", flat=True))


def settled(expected):
    """Every row left pending/sending has reached one of `expected` states."""
    return lambda: set(states()) <= set(expected) and not Reminder.objects.filter(state=State.SENDING).exists()


def send_until(worker, condition, timeout=60, message="the reminders to settle"):
    """What beat does every few minutes, every second: queue a send run until `condition` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            print(worker.output())
            raise AssertionError(f"Timed out waiting for {message}: {states()}")
        publish(send_due_reminders)
        time.sleep(1)


def test_it_holds_the_one_answered_late_and_sends_the_others_once(reference, sink):
    focal_points(reference, 5)
    cycle_due_in_three_days(reference)
    assert policy.plan() == 5
    sink.answer_late(3, n=1)  # accepted, answered after the client's 1 s timeout
    with start_worker(worker_env(sink, REMINDER_UNKNOWN_OUTCOME="hold"), name="late-answer") as worker:
        send_until(worker, settled({State.SENT, State.UNKNOWN}))
    received = sink.count_by_recipient()
    assert sorted(received) == addresses(5) and set(received.values()) == {1}  # everyone once, nobody twice
    assert states() == {State.SENT: 4, State.UNKNOWN: 1}
    assert "may have delivered" in Reminder.objects.get(state=State.UNKNOWN).last_error


def test_it_resends_an_unknown_outcome_once_after_the_delay(reference, sink):
    focal_points(reference, 3)
    cycle_due_in_three_days(reference)
    policy.plan()
    sink.drop_after_data(n=1)  # the connection is cut after DATA: the next recipients get a new one
    env = worker_env(sink, REMINDER_UNKNOWN_OUTCOME="resend", REMINDER_UNKNOWN_DELAY_SECONDS=2)
    with start_worker(env, name="dropped-after-data") as worker:
        send_until(worker, settled({State.SENT}))
    received = sink.count_by_recipient()
    assert sorted(received) == addresses(3)
    assert sorted(received.values()) == [1, 1, 2]  # the one duplicate is the message whose answer was lost
    resent = Reminder.objects.get(unknown_at__isnull=False)
    assert received[resent.recipient.email] == 2 and resent.state == State.SENT


def test_it_never_cuts_a_slow_server_mid_conversation(reference, sink):
    focal_points(reference, 8)
    cycle_due_in_three_days(reference)
    policy.plan()
    sink.per_message_seconds(0.6)  # runs of 1 s: two or three e-mails each, then a follow-up run
    with start_worker(worker_env(sink, REMINDER_RUN_SECONDS=1), name="slow-server") as worker:
        send_until(worker, settled({State.SENT}))
        log = worker.output()
    assert sink.count_by_recipient() == Counter({address: 1 for address in addresses(8)})
    assert not Reminder.objects.exclude(last_error="").exists()  # no SMTPDataError(250), nothing failed
    assert "SoftTimeLimitExceeded" not in log


def test_it_leaves_true_states_when_a_time_limit_cuts_a_batch_anyway(reference, sink, settings):
    """timing.py makes this unreachable; if a stalled database made it happen, no delivered e-mail is failed."""
    focal_points(reference, 3)
    cycle_due_in_three_days(reference)
    policy.plan()
    settings.EMAIL_TIMEOUT = 10
    sink.answer_late(5, n=1)
    previous = signal.signal(signal.SIGALRM, _soft_time_limit)
    signal.setitimer(signal.ITIMER_REAL, 1.0)  # Celery's soft limit, while the server sits on its answer
    try:
        sink.settings(settings)
        with pytest.raises(SoftTimeLimitExceeded):
            sending.send_due(connection=EmailBackend())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert len(sink) == 1  # the first e-mail reached the server
    assert states() == {State.PENDING: 3}  # nothing failed, nothing left claimed
    unknown = Reminder.objects.get(unknown_at__isnull=False)  # to be resent once, after the delay
    assert unknown.recipient.email in sink.count_by_recipient() and unknown.due_at > timezone.now()
    assert Reminder.objects.filter(unknown_at__isnull=True, attempts=0).count() == 2  # handed back, no attempt


def _soft_time_limit(signum, frame):
    raise SoftTimeLimitExceeded()


def test_it_loses_at_most_a_handful_when_redis_loses_the_journal(reference, sink, tmp_path):
    focal_points(reference, 14)
    cycle_due_in_three_days(reference)
    policy.plan()
    port = free_port()
    sink.per_message_seconds(0.3)
    env = worker_env(sink, REMINDER_JOURNAL_URL=f"redis://127.0.0.1:{port}/0", REMINDER_MARK_EVERY=4)
    env["REMINDER_RUN_SECONDS"] = "30"  # one run, one batch: the kill lands in its middle
    with redis_server(port, tmp_path):
        with start_worker(env, name="journal-lost") as worker:
            publish(send_due_reminders)
            wait_for(lambda: len(sink) >= 7, timeout=60, message="the batch to be under way")
            worker.kill()
        redis.Redis(port=port).flushall()  # Redis restarted empty: the journal is gone
        time.sleep(Timing(run=30, timeout=1).lease)
        with start_worker(env, name="journal-lost-restarted") as again:
            send_until(again, settled({State.SENT}), timeout=90)
    received = sink.count_by_recipient()
    assert sorted(received) == addresses(14)  # nobody lost
    duplicates = sum(received.values()) - 14
    assert duplicates <= 4 + 1  # at most REMINDER_MARK_EVERY, plus the one in flight when killed


def test_it_leaves_out_an_item_reported_while_the_emails_go_out(reference, sink):
    focal_points(reference, 4)
    cycle_due_in_three_days(reference)
    policy.plan()
    last = Reminder.objects.order_by("recipient_id").select_related("recipient").last().recipient
    sink.per_message_seconds(1.5)  # the fourth e-mail starts some 4.5 s after the first
    env = worker_env(sink, REMINDER_RUN_SECONDS=30, EMAIL_TIMEOUT=5)
    with start_worker(env, name="reported-meanwhile") as worker:
        publish(send_due_reminders)
        wait_for(lambda: len(sink) >= 1, timeout=60, message="the first e-mail")
        started = time.monotonic()
        report_everything_of(last)  # the last recipient's state reports while the others' e-mails go out
        assert time.monotonic() - started < 3, "reporting took too long for this test's timing"
        send_until(worker, settled({State.SENT, State.CANCELLED}))
    assert last.email not in sink.count_by_recipient()
    assert Reminder.objects.get(recipient=last).state == State.CANCELLED
    assert len(sink) == 3


def report_everything_of(user):
    data = services.ReportInput(status="in_progress", progress=40, narrative="Work continues.")
    for item in items_of(user):
        services.submit_report(item, user, access_for(user), data)


def test_it_waits_out_an_outage_and_catches_up(reference, sink):
    focal_points(reference, 3)
    cycle_due_in_three_days(reference)
    policy.plan()
    sink.down()
    with start_worker(worker_env(sink, REMINDER_RETRY_HOURS=1), name="outage") as worker:
        send_until(worker, lambda: Reminder.objects.filter(attempts__gte=2).count() == 3, message="two tries each")
        assert states() == {State.PENDING: 3}  # waiting, not failed
        assert Reminder.objects.filter(retry_until__gt=timezone.now()).count() == 3
        sink.up()
        send_until(worker, settled({State.SENT}))
    assert sink.count_by_recipient() == Counter({address: 1 for address in addresses(3)})
