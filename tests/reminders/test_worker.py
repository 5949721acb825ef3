"""Reminders through the real parts: Celery beat, a worker process, the broker (Redis in CI), a mail folder.

The worker writes each e-mail to its own file (tests/mail_backends.py), so the test counts what really left.
"""

import datetime as dt
import email
import sys
import time

import pytest
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.conftest import designate, make_user
from tests.reminders.helpers import broker_at, open_cycle, report_everything
from tests.support.mail_backends import sent_files
from tests.support.services import (
    IN_CI,
    Process,
    free_port,
    redis_server,
    require_redis,
    start_worker,
    subprocess_env,
    wait_for,
)
from tracker.core.permissions import FOCAL_POINT_GROUP
from tracker.reminders import enqueue, policy
from tracker.reminders.enqueue import publish
from tracker.reminders.models import Reminder
from tracker.reminders.tasks import run_reminders, send_due_reminders
from tracker.reminders.timing import Timing

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]
State = Reminder.State


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """A transactional test before this one flushed the groups that the migrations create: put them back."""
    from django.apps import apps

    from tracker.core.roles import ensure_roles

    ensure_roles(apps)


@pytest.fixture(autouse=True)
def real_broker_in_ci():
    if IN_CI:
        require_redis()


def worker_env(mail_dir, **extra):
    env = subprocess_env()
    env.update(EMAIL_BACKEND="tests.support.mail_backends.FilePerMessageBackend", EMAIL_FILE_PATH=str(mail_dir))
    env.update({key: str(value) for key, value in extra.items()})
    return env


def recipients(mail_dir):
    return sorted(email.message_from_bytes(path.read_bytes())["To"] for path in sent_files(mail_dir))


def cycle_due_in_three_days(body):
    """An open cycle whose deadline is three days from today: the "3 days before" reminder is due now."""
    return open_cycle(body, deadline=timezone.localdate() + dt.timedelta(days=3))


def focal_points(body, count):
    states = ["MA", "TN", "IQ", "LB", "OM", "QA", "KW", "BH", "SA", "AE", "DZ", "LY", "SD", "YE"][:count]
    for iso in states:
        designate(make_user(f"fp-{iso.lower()}", FOCAL_POINT_GROUP), iso, body)


def beat(env, name, tmp_path):
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "project",
        "beat",
        "--loglevel=INFO",
        "-s",
        str(tmp_path / f"{name}-schedule"),
        "--pidfile=",
    ]
    return Process(args, env, tmp_path / f"{name}.log")


def test_it_goes_from_beat_to_task_to_email_once_even_with_two_beats(
    reference, egypt_focal_point, jordan_focal_point, tmp_path
):
    cycle_due_in_three_days(reference)
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="reminders (test)", task="tracker.reminders.run", interval=every_second)
    mail_dir = tmp_path / "mail"
    env = worker_env(mail_dir)
    with (
        start_worker(env, name="reminders-e2e") as worker,
        beat(env, "beat-1", tmp_path) as one,
        beat(env, "beat-2", tmp_path) as two,
    ):  # an accidental second beat must not duplicate anything
        try:
            wait_for(lambda: len(sent_files(mail_dir)) >= 2, timeout=90, message="two reminder e-mails")
            time.sleep(6)  # several more beats and runs: still nothing new
        except AssertionError:
            print(worker.output(), one.output(), two.output())
            raise
        runs = worker.output().count("Task tracker.reminders.run[")
    assert recipients(mail_dir) == ["fp-egypt@example.org", "fp-jordan@example.org"]
    assert runs >= 3
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}


@pytest.fixture(params=["journal", "database marks"])
def marks(request, tmp_path):
    """How the worker records sent e-mails: in a Redis send journal of its own, or row by row in the database."""
    if request.param == "database marks":
        yield {"REMINDER_JOURNAL_URL": "off"}
        return
    port = free_port()
    with redis_server(port, tmp_path):
        yield {"REMINDER_JOURNAL_URL": f"redis://127.0.0.1:{port}/0"}


def test_it_sends_every_reminder_exactly_once_when_a_worker_is_killed_mid_batch(reference, tmp_path, marks):
    focal_points(reference, 12)
    cycle_due_in_three_days(reference)
    assert policy.plan() == 12
    mail_dir = tmp_path / "mail"
    # Runs of 3 s (a lease of 10 s), and database marks only at a batch's end: the journal alone recovers.
    quick = {"REMINDER_RUN_SECONDS": 3, "EMAIL_TIMEOUT": 1, "REMINDER_MARK_EVERY": 100, **marks}
    slow = worker_env(mail_dir, TEST_EMAIL_DELAY=0.5, **quick)
    with start_worker(slow, name="reminders-killed") as worker:
        assert publish(send_due_reminders)
        wait_for(lambda: len(sent_files(mail_dir)) >= 3, timeout=60, message="the batch to be under way")
        time.sleep(0.2)  # in the middle of the next e-mail
        worker.kill()
    sent_before = len(sent_files(mail_dir))
    assert 3 <= sent_before < 12
    marked = Reminder.objects.filter(state=State.SENT).count()
    # With a journal the batch is marked at its end, which the killed worker never reached.
    assert marked == (0 if marks["REMINDER_JOURNAL_URL"] != "off" else sent_before)
    assert Reminder.objects.filter(state=State.SENDING).exists()  # the dead worker's claim
    time.sleep(Timing(run=3, timeout=1).lease)  # the lease runs out
    with start_worker(worker_env(mail_dir, **quick), name="reminders-restarted") as again:
        assert publish(send_due_reminders)  # what beat does every few minutes
        try:
            wait_for(
                lambda: Reminder.objects.filter(state=State.SENT).count() == 12,
                timeout=60,
                message="every reminder to be sent",
            )
        except AssertionError:
            print(again.output())
            raise
    assert len(sent_files(mail_dir)) == 12
    assert len(set(recipients(mail_dir))) == 12


@pytest.fixture
def private_broker():
    """Our own Redis on a free port (never the shared one), with the app of this process pointed at it."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with broker_at(url, socket_timeout=3, socket_connect_timeout=2, max_retries=1, visibility_timeout=3600):
        yield port, url


def test_it_lets_a_focal_point_submit_while_redis_is_down_and_catches_up_after(
    reference, egypt_focal_point, jordan_focal_point, tmp_path, private_broker
):
    port, url = private_broker
    cycle_due_in_three_days(reference)
    mail_dir = tmp_path / "mail"
    server = redis_server(port, tmp_path)
    with start_worker(
        worker_env(mail_dir, CELERY_BROKER_URL=url, CELERY_RESULT_BACKEND=url), name="reminders-redis-down"
    ) as worker:
        wait_for(lambda: " ready." in worker.output(), timeout=60, message="the worker to be ready")
        server.kill()  # Redis goes away
        started = time.monotonic()
        with transaction.atomic():
            report_everything(jordan_focal_point)  # each submit queues a clean-up after commit
        assert time.monotonic() - started < 6  # one broker timeout (about 2 s) for seven submits
        enqueue.reset()
        assert Reminder.objects.count() == 0  # nothing could be queued, nothing was lost: it is all in the DB
        server = redis_server(port, tmp_path)  # Redis is back
        try:
            wait_for(lambda: publish(run_reminders), timeout=30, message="the broker to accept a task")
            wait_for(lambda: len(sent_files(mail_dir)) >= 1, timeout=60, message="the reminder to go out")
        finally:
            print(worker.output())
            server.kill()
    assert recipients(mail_dir) == ["fp-egypt@example.org"]  # Jordan reported: no reminder for Jordan
    server.stop()
