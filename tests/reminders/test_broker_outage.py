"""Redis, the broker, goes away while a worker runs a task: the worker lives on and the work catches up after.

celery 5.7.0 with kombu 5.7.0 killed such a worker ("Unrecoverable error: AttributeError: 'NoneType' object has
no attribute 'hostname'"): project/celery.py works around it. Whatever else makes a worker or beat exit,
bin/keep-running starts it again under `make run`, where honcho would otherwise stop every process.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from tests.conftest import designate, make_user
from tests.reminders.helpers import broker_at, open_cycle
from tests.support.mail_backends import sent_files
from tests.support.services import ROOT, free_port, redis_server, start_worker, subprocess_env, wait_for
from tracker.core.models import Heartbeat
from tracker.core.permissions import FOCAL_POINT_GROUP
from tracker.core.tasks import heartbeat
from tracker.reminders import enqueue, policy
from tracker.reminders.enqueue import publish
from tracker.reminders.models import Reminder
from tracker.reminders.tasks import run_reminders, send_due_reminders

KEEP_RUNNING = ROOT / "bin" / "keep-running"
STATES = ["MA", "TN", "IQ", "LB", "OM", "QA", "KW", "BH", "SA", "AE", "DZ", "LY", "SD", "YE"]


@pytest.fixture
def roles(transactional_db):
    """A transactional test before this one flushed the groups that the migrations create: put them back."""
    from django.apps import apps

    from tracker.core.roles import ensure_roles

    ensure_roles(apps)


def focal_points(body, states):
    for iso in states:
        designate(make_user(f"fp-{iso.lower()}", FOCAL_POINT_GROUP), iso, body)


@pytest.mark.celery_worker
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("redis_stop", [signal.SIGKILL, signal.SIGTERM], ids=["redis-killed", "redis-stopped"])
def test_a_worker_lives_through_a_broker_outage_mid_task_and_the_reminders_catch_up(
    reference, roles, tmp_path, redis_stop
):
    open_cycle(reference, deadline=timezone.localdate() + dt.timedelta(days=3))  # "3 days before" is due now
    focal_points(reference, STATES[:12])
    assert policy.plan() == 12
    port = free_port()  # our own Redis, which the test stops: never the shared one
    url = f"redis://127.0.0.1:{port}/0"
    mail_dir = tmp_path / "mail"
    env = subprocess_env()
    env.update(
        CELERY_BROKER_URL=url,
        CELERY_RESULT_BACKEND=url,
        REMINDER_JOURNAL_URL="off",  # marks in the database: this test is about the broker, not the journal
        EMAIL_BACKEND="tests.support.mail_backends.FilePerMessageBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        TEST_EMAIL_DELAY="0.5",  # a batch of 12 takes 6 s: long enough to lose Redis in the middle of it
    )
    # Prefork, as in Procfile and Procfile.local: the main process keeps consuming while a child runs the task.
    prefork = ("--pool=prefork", "--concurrency=2")
    with broker_at(url, socket_timeout=3, socket_connect_timeout=2, max_retries=1):
        server = redis_server(port, tmp_path)
        worker = start_worker(env, name=f"broker-outage-{redis_stop.name.lower()}", extra=prefork)
        try:
            wait_for(lambda: " ready." in worker.output(), timeout=60, message="the worker to be ready")
            assert publish(send_due_reminders)
            wait_for(lambda: len(sent_files(mail_dir)) >= 2, timeout=60, message="the batch to be under way")
            server.kill(redis_stop)  # an acks_late task is running, its message unacknowledged
            server.stop()
            focal_points(reference, STATES[12:])  # work that arrives during the outage
            time.sleep(5)
            assert "Unrecoverable error" not in worker.output(), "the worker gave up when Redis went away"
            assert worker.proc.poll() is None
            server = redis_server(port, tmp_path)  # Redis is back, empty (no persistence here)
            enqueue.reset()
            back = timezone.now()
            wait_for(lambda: publish(heartbeat), timeout=30, message="the broker to accept a task")
            wait_for(
                lambda: Heartbeat.objects.filter(name="worker", at__gte=back).exists(),
                timeout=60,
                message="the worker to run a task published after the outage",
            )
            assert publish(run_reminders)  # what beat does: plan what became due, send what is pending
            wait_for(
                lambda: Reminder.objects.filter(state=Reminder.State.SENT).count() == 14,
                timeout=60,
                message="every reminder to be sent",
            )
            assert worker.proc.poll() is None
        except BaseException:
            print(worker.output())
            raise
        finally:
            worker.stop()
            server.stop()
    assert "Unrecoverable error" not in worker.output()
    assert len(sent_files(mail_dir)) == 14  # each focal point reminded once


def keep_running(*command, log, delay="0.2"):
    env = dict(os.environ, KEEP_RUNNING_DELAY=delay)
    return subprocess.Popen(
        ["sh", str(KEEP_RUNNING), *command], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_process(proc):
    """SIGTERM first (honcho then stops its own processes), SIGKILL to the group if that does not do."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_keep_running_starts_a_command_again_when_it_exits(tmp_path):
    runs = tmp_path / "runs"
    with open(tmp_path / "log", "wb") as log:
        proc = keep_running("sh", "-c", f"echo run >> {runs}; exit 3", log=log)
        try:
            wait_for(lambda: runs.exists() and len(runs.read_text().split()) >= 3, timeout=10, message="3 runs")
            assert proc.poll() is None
            proc.send_signal(signal.SIGTERM)  # to the wrapper alone, as a supervisor that signals one pid
            proc.wait(timeout=5)
            count = len(runs.read_text().split())
            time.sleep(1)
            assert len(runs.read_text().split()) == count  # nothing started after the stop
        finally:
            stop_process(proc)
    assert "exited with status 3; starting it again" in (tmp_path / "log").read_text()


def test_keep_running_passes_a_stop_on_and_waits_for_the_command_to_finish(tmp_path):
    done = tmp_path / "done"
    # A command that takes a second to shut down on SIGTERM (like a worker's warm shutdown), then exits 0.
    script = f"trap 'sleep 1; touch {done}; exit 0' TERM; echo up; while :; do sleep 0.1; done"
    with open(tmp_path / "log", "wb") as log:
        proc = keep_running("sh", "-c", script, log=log)
        try:
            wait_for(lambda: b"up" in (tmp_path / "log").read_bytes(), timeout=10, message="the command to start")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            assert done.exists()  # the wrapper waited for the command's shutdown
        finally:
            stop_process(proc)


def test_under_honcho_a_worker_that_exits_is_restarted_and_ctrl_c_still_stops_everything(tmp_path):
    runs = tmp_path / "runs"
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"crashy: exec sh {KEEP_RUNNING} sh -c 'echo run >> {runs}; sleep 0.5; exit 1'\nsteady: exec sleep 600\n"
    )
    honcho = [sys.executable, "-m", "honcho", "--procfile", str(procfile), "start"]
    env = dict(os.environ, KEEP_RUNNING_DELAY="0.2")
    with open(tmp_path / "log", "wb") as log:
        proc = subprocess.Popen(honcho, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: runs.exists() and len(runs.read_text().split()) >= 3, timeout=20, message="3 runs")
            assert proc.poll() is None  # honcho did not stop everything
            proc.send_signal(signal.SIGINT)  # Ctrl-C
            proc.wait(timeout=15)
        finally:
            stop_process(proc)
    output = (tmp_path / "log").read_text()
    assert "SIGINT received" in output
    assert "crashy.1 stopped" in output and "steady.1 stopped" in output
