"""Sending: retries with back-off, failures, leases, claims, the admin log and the management command."""

import datetime as dt
import gc
import time
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import designate, make_user
from tests.reminders.helpers import DEADLINE, broker_at, local, open_cycle
from tests.support.mail_backends import PERMANENT, TEMPORARY, FlakyBackend, SlowBackend
from tracker.core.permissions import FOCAL_POINT_GROUP
from tracker.reminders import policy, sending, timing
from tracker.reminders.enqueue import publish
from tracker.reminders.models import Reminder
from tracker.reminders.tasks import send_due_reminders

pytestmark = pytest.mark.django_db
State = Reminder.State
DAY = DEADLINE - dt.timedelta(days=3)


@pytest.fixture
def due_reminder(reference, egypt_focal_point):
    open_cycle(reference)
    with time_machine.travel(local(DAY), tick=False):
        policy.plan()
    return Reminder.objects.get()


def send_at(moment, connection=None):
    with time_machine.travel(moment, tick=False):
        return sending.send_due(connection=connection)


def test_it_retries_a_temporary_smtp_failure_with_back_off_through_the_retry_window(due_reminder, settings):
    settings.REMINDER_RETRY_HOURS = 1
    settings.REMINDER_RETRY_BASE_SECONDS = 600
    flaky = FlakyBackend(TEMPORARY)
    moment = local(DAY)
    result = send_at(moment, flaky)
    due_reminder.refresh_from_db()
    assert (result.retried, due_reminder.state, due_reminder.attempts) == (1, State.PENDING, 1)
    assert due_reminder.due_at == moment + dt.timedelta(seconds=600)
    assert due_reminder.retry_until == moment + dt.timedelta(hours=1)
    assert "451" in due_reminder.last_error
    assert send_at(moment + dt.timedelta(seconds=599), flaky).retried == 0  # not before its time
    send_at(moment + dt.timedelta(seconds=600), flaky)
    due_reminder.refresh_from_db()
    assert due_reminder.due_at == moment + dt.timedelta(seconds=600 + 1200)  # the wait doubles
    send_at(moment + dt.timedelta(seconds=1800), flaky)
    due_reminder.refresh_from_db()
    assert due_reminder.due_at == moment + dt.timedelta(hours=1)  # the last try falls on the window's end
    result = send_at(moment + dt.timedelta(hours=1), flaky)
    due_reminder.refresh_from_db()
    assert (result.failed, due_reminder.state, due_reminder.attempts) == (1, State.FAILED, 4)
    assert flaky.sent == []


def test_it_keeps_retrying_an_outage_for_the_whole_window(due_reminder, settings):
    settings.REMINDER_RETRY_HOURS = 24
    flaky = FlakyBackend(TEMPORARY)
    moment = local(DAY)
    for _ in range(30):  # one try an hour at most once the back-off has grown: 24 h is ~27 tries
        due_reminder.refresh_from_db()
        if due_reminder.state != State.PENDING:
            break
        send_at(max(moment, due_reminder.due_at), flaky)
    due_reminder.refresh_from_db()
    assert due_reminder.state == State.FAILED
    assert 20 <= due_reminder.attempts <= 30
    assert due_reminder.retry_until == moment + dt.timedelta(hours=24)


def test_it_sends_on_a_later_attempt_once_the_server_recovers(due_reminder):
    flaky = FlakyBackend(TEMPORARY)
    send_at(local(DAY), flaky)
    flaky.error = None
    result = send_at(local(DAY, hour=12), flaky)
    due_reminder.refresh_from_db()
    assert (result.sent, due_reminder.state, len(flaky.sent)) == (1, State.SENT, 1)


def test_it_fails_a_permanent_smtp_refusal_at_once(due_reminder):
    result = send_at(local(DAY), FlakyBackend(PERMANENT))
    due_reminder.refresh_from_db()
    assert (result.failed, due_reminder.state, due_reminder.attempts) == (1, State.FAILED, 1)


def test_it_fails_a_recipient_without_an_email_address(due_reminder, egypt_focal_point):
    egypt_focal_point.email = ""
    egypt_focal_point.save()
    send_at(local(DAY))
    due_reminder.refresh_from_db()
    assert (due_reminder.state, due_reminder.last_error) == (State.FAILED, "The recipient has no e-mail address.")


def test_it_never_gives_the_same_row_to_two_claims(reference, egypt_focal_point, jordan_focal_point):
    open_cycle(reference)
    with time_machine.travel(local(DAY), tick=False):
        policy.plan()
        first, second, third = sending.claim(1), sending.claim(1), sending.claim(1)
    assert len(first) == len(second) == 1 and first != second
    assert third == []


def test_it_takes_back_rows_of_a_worker_that_died_after_the_lease(due_reminder, settings):
    lease = dt.timedelta(seconds=timing.current().lease)
    with time_machine.travel(local(DAY), tick=False):
        assert sending.claim(10) == [due_reminder.pk]  # ... and the worker dies here
    assert send_at(local(DAY) + lease - dt.timedelta(seconds=1)).sent == 0  # still leased
    assert send_at(local(DAY) + lease + dt.timedelta(seconds=1)).sent == 1
    assert len(mail.outbox) == 1


def test_it_hands_back_unsent_rows_when_its_run_is_over(due_reminder, reference, jordan_focal_point, settings):
    for iso in ["MA", "TN"]:
        designate(make_user(f"fp-{iso.lower()}", FOCAL_POINT_GROUP), iso, reference)
    with time_machine.travel(local(DAY), tick=False):
        policy.plan()
    settings.REMINDER_RUN_SECONDS = 1  # e-mails of 0.4 s start at 0, 0.4 and 0.8 s; the fourth waits
    slow = SlowBackend(0.4)
    result = send_at(local(DAY), slow)
    assert (result.sent, result.released, result.more) == (3, 1, True)  # handed back, and a follow-up asked
    assert send_at(local(DAY), slow).sent == 1
    assert len({m.to[0] for m in slow.sent}) == len(slow.sent) == 4
    assert set(Reminder.objects.values_list("state", "attempts")) == {(State.SENT, 1)}  # a hand-back is no attempt


def test_it_shows_the_reminder_log_with_its_filters(client, due_reminder, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:reminders_reminder_changelist")
    for query in [
        "",
        "?state__exact=pending",
        f"?cycle__id__exact={due_reminder.cycle_id}",
        "?kind__exact=before_deadline",
        f"?member_state__id__exact={due_reminder.member_state_id}",
    ]:
        response = client.get(url + query)
        assert response.status_code == 200
        assert "fp-egypt" in response.content.decode()


def test_it_resends_a_failed_reminder_from_the_admin(client, due_reminder, admin_user):
    Reminder.objects.update(state=State.FAILED, attempts=5, last_error="SMTP 451")
    client.force_login(admin_user)
    url = reverse("admin:reminders_reminder_changelist")
    response = client.post(url, {"action": "resend", "_selected_action": [due_reminder.pk]}, follow=True)
    assert response.status_code == 200
    due_reminder.refresh_from_db()
    assert (due_reminder.state, due_reminder.attempts, due_reminder.last_error) == (State.PENDING, 0, "")
    with time_machine.travel(local(DAY, hour=10), tick=False):
        assert sending.send_due().sent == 1


def test_it_computes_due_reminders_from_the_admin_without_a_selection(client, reference, egypt_focal_point, admin_user):
    open_cycle(reference)
    url = reverse("admin:reminders_reminder_changelist")
    with time_machine.travel(local(DAY), tick=True):
        client.force_login(admin_user)  # inside the travel: the session would have expired otherwise
        response = client.post(url, {"action": "send_due_now"}, follow=True)
    assert response.status_code == 200
    assert "new reminders are due" in response.content.decode()
    assert Reminder.objects.filter(recipient=egypt_focal_point).exists()


def test_it_runs_the_same_job_from_the_command_line(reference, egypt_focal_point):
    open_cycle(reference)
    out = StringIO()
    with time_machine.travel(local(DAY), tick=False):
        call_command("send_reminders", "--dry-run", stdout=out)
        assert Reminder.objects.count() == 0
        call_command("send_reminders", stdout=out)
        call_command("send_reminders", stdout=out)
    text = out.getvalue()
    assert "before_deadline cycle-" in text and "→ fp-egypt" in text
    assert "1 e-mails sent" in text and "0 e-mails sent" in text
    assert len(mail.outbox) == 1


def test_it_logs_instead_of_raising_when_the_broker_is_down():
    with broker_at("redis://127.0.0.1:1/0", socket_connect_timeout=2, socket_timeout=3):  # nothing listens there
        started = time.monotonic()
        assert publish(send_due_reminders) is False
        assert publish(send_due_reminders) is False  # the second attempt waits for nothing
        assert time.monotonic() - started < 6


def test_it_lists_the_reminder_log_with_a_constant_number_of_queries(
    client, reference, egypt_focal_point, jordan_focal_point, admin_user, django_assert_max_num_queries
):
    open_cycle(reference)
    for offset in (14, 3):
        with time_machine.travel(local(DEADLINE - dt.timedelta(days=offset)), tick=False):
            sending.run()
    assert Reminder.objects.count() >= 4
    with time_machine.travel(local(DAY, hour=10), tick=False):
        client.force_login(admin_user)
        with django_assert_max_num_queries(20):
            response = client.get(reverse("admin:reminders_reminder_changelist"))
    assert response.status_code == 200


VISIBILITY_TIMEOUT = 3600  # Redis hands an unacknowledged task to another worker after this


def test_it_schedules_the_reminder_tasks_within_the_broker_limits(settings):
    from project.celery import app

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"tracker.reminders.run", "tracker.reminders.send_due"} <= tasks
    for name in ("tracker.reminders.run", "tracker.reminders.send_due", "tracker.reminders.cancel_stale"):
        task = app.tasks[name]
        assert task.time_limit and task.soft_time_limit < task.time_limit < VISIBILITY_TIMEOUT
        assert task.ignore_result
    limits = timing.current()
    assert app.tasks["tracker.reminders.send_due"].time_limit == limits.hard_limit < limits.lease  # keeps its rows
    assert settings.CELERY_DB_REUSE_MAX


def test_it_says_in_the_log_what_happens_to_an_unknown_outcome(client, due_reminder, admin_user, settings):
    client.force_login(admin_user)
    url = reverse("admin:reminders_reminder_changelist")
    assert "is sent once more after 30 minutes" in client.get(url).content.decode()
    settings.REMINDER_UNKNOWN_OUTCOME = "hold"
    assert "is held here: mark it sent, or resend it" in client.get(url).content.decode()


def test_it_marks_only_an_unknown_outcome_as_delivered(client, due_reminder, reference, admin_user):
    Reminder.objects.update(state=State.UNKNOWN, unknown_at=local(DAY))
    client.force_login(admin_user)
    index = client.get(reverse("admin:index")).content.decode()
    assert "Reminders with an unknown outcome: 1" in index
    url = reverse("admin:reminders_reminder_changelist")
    client.post(url, {"action": "mark_delivered", "_selected_action": [due_reminder.pk]}, follow=True)
    due_reminder.refresh_from_db()
    assert (due_reminder.state, due_reminder.sent_at) == (State.SENT, local(DAY))
    Reminder.objects.update(state=State.FAILED)
    client.post(url, {"action": "mark_delivered", "_selected_action": [due_reminder.pk]}, follow=True)
    due_reminder.refresh_from_db()
    assert due_reminder.state == State.FAILED  # a failed e-mail is never marked delivered


def test_it_works_out_what_is_due_once_a_run_and_sends_from_it(reference, egypt_focal_point, monkeypatch):
    open_cycle(reference)
    plans = []
    monkeypatch.setattr(policy, "due", lambda now=None, due=policy.due: plans.append(due(now)) or plans[-1])
    with time_machine.travel(local(DAY), tick=False):
        created, result = sending.run()
    assert (created, result.sent, len(plans)) == (1, 1, 1)  # the rows written and the sender's re-check: one plan
    assert mail.outbox[0].to == [egypt_focal_point.email]


def test_it_reads_no_state_body_or_cycle_the_plan_already_holds(reference, egypt_focal_point, jordan_focal_point):
    open_cycle(reference)
    with time_machine.travel(local(DAY), tick=False):
        due_now = policy.due()
        policy.write(due_now)
        with CaptureQueriesContext(connection) as queries:
            assert sending.send_due(plan=due_now).sent == 2
    tables = ('FROM "tracker_memberstate"', 'FROM "tracker_body"', 'FROM "tracker_reviewcycle"')
    assert [q["sql"] for q in queries if any(table in q["sql"] for table in tables)] == []
    assert {m.to[0] for m in mail.outbox} == {egypt_focal_point.email, jordan_focal_point.email}


def test_it_leaves_what_was_alive_before_the_run_out_of_full_collections_while_it_sends(due_reminder, monkeypatch):
    frozen_while_sending = []
    send_one = sending.smtp.send_one
    monkeypatch.setattr(
        sending.smtp, "send_one", lambda *args: frozen_while_sending.append(gc.get_freeze_count()) or send_one(*args)
    )
    assert send_at(local(DAY)).sent == 1
    assert frozen_while_sending[0] > 1000  # the plan, the rows, Django itself: not walked by each full collection
    assert gc.get_freeze_count() == 0  # and back in the collector's care after the run
