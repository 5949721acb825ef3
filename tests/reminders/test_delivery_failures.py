"""The secretariat is told, once a day, about reminders that failed for good (a retry window spent, or refused)."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from tests.reminders.helpers import DEADLINE, local, open_cycle
from tests.support.mail_backends import PERMANENT, FlakyBackend
from tracker.reminders import policy, sending
from tracker.reminders.models import Reminder

pytestmark = pytest.mark.django_db
Kind, State = Reminder.Kind, Reminder.State
DAY = DEADLINE - dt.timedelta(days=3)


@pytest.fixture
def failed_reminder(reference, egypt_focal_point):
    """Egypt's focal point's reminder, refused for good by the mail server (before any officer exists)."""
    open_cycle(reference)
    with time_machine.travel(local(DAY), tick=False):
        policy.plan()
        sending.send_due(connection=FlakyBackend(PERMANENT))
    return Reminder.objects.get(recipient=egypt_focal_point)


def plan_and_send(moment):
    with time_machine.travel(moment, tick=False):
        policy.plan()
        return sending.send_due()


def notices():
    return Reminder.objects.filter(kind=Kind.DELIVERY_FAILED)


def test_it_tells_the_secretariat_what_failed_and_where_to_resend_it(failed_reminder, secretariat_officer, settings):
    settings.SITE_URL = "https://tracker.example.org"
    assert failed_reminder.state == State.FAILED and failed_reminder.failed_at == local(DAY)
    plan_and_send(local(DAY, hour=10))
    [notice] = [m for m in mail.outbox if m.to == [secretariat_officer.email]]
    assert notice.subject == "Reminders not delivered for AIMC: 1"
    assert "fp-egypt" in notice.body and "550" in notice.body  # who, and the server's refusal
    assert "https://tracker.example.org/admin/reminders/reminder/?state__exact=failed&body__id__exact=" in notice.body
    assert notices().get().state == State.SENT


def test_it_tells_once_a_day_and_stops_when_nothing_failed_lately(failed_reminder, secretariat_officer):
    plan_and_send(local(DAY, hour=10))
    plan_and_send(local(DAY, hour=15))  # the same day: nothing new
    assert notices().count() == 1
    plan_and_send(local(DAY + dt.timedelta(days=2)))  # the failure is two days old
    assert notices().count() == 1


def test_it_never_sends_a_notice_about_a_failed_notice(failed_reminder, secretariat_officer):
    with time_machine.travel(local(DAY, hour=10), tick=False):
        policy.plan()
        sending.send_due(connection=FlakyBackend(PERMANENT))  # the notice itself is refused
    assert notices().get().state == State.FAILED
    long_ago = local(DAY) - dt.timedelta(days=3)
    Reminder.objects.exclude(kind=Kind.DELIVERY_FAILED).filter(state=State.FAILED).update(failed_at=long_ago)
    plan_and_send(local(DAY + dt.timedelta(days=1), hour=9))  # only the failed notice is recent
    assert notices().count() == 1


def test_it_lets_the_secretariat_resend_with_a_fresh_retry_window(failed_reminder):
    sending.resend(Reminder.objects.filter(pk=failed_reminder.pk), now=local(DAY, hour=11))
    failed_reminder.refresh_from_db()
    assert (failed_reminder.state, failed_reminder.failed_at, failed_reminder.retry_until) == (
        State.PENDING,
        None,
        None,
    )
