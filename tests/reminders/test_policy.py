"""Who gets which reminder on which day: the policy over a whole review cycle, idempotence, re-checks."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from tests.reminders.helpers import DEADLINE, local, open_cycle, report_everything, save_a_draft
from tracker.core import services
from tracker.core.models import FocalPointDesignation, ReviewCycle
from tracker.reminders import policy, sending
from tracker.reminders.models import Reminder

pytestmark = pytest.mark.django_db
State = Reminder.State

# (days from the deadline, recipient, kind, copied?) for every e-mail of a cycle whose deadline is
# Sunday 20 December 2026. Egypt saves a draft 10 days before (a draft does not silence a reminder);
# Jordan submits everything 5 days before (a submitted report does).
EXPECTED = [
    (-25, "officer", "secretariat_digest", False),  # the weekly digest of what is missing, state by state
    (-20, "officer", "secretariat_digest", False),  # Monday 30 November: a new week
    (-14, "fp-egypt", "before_deadline", False),
    (-14, "fp-jordan", "before_deadline", False),
    (-13, "officer", "secretariat_digest", False),
    (-6, "officer", "secretariat_digest", False),
    (-3, "fp-egypt", "before_deadline", False),  # Jordan reported: nothing for Jordan
    (1, "fp-egypt", "stalled_digest", False),  # first day with a stalled item (missing report) in December
    (1, "fp-egypt-alt", "stalled_digest", False),
    (1, "officer", "secretariat_digest", False),
    (7, "fp-egypt", "overdue", False),
    (8, "officer", "secretariat_digest", False),
    (12, "fp-egypt", "stalled_digest", False),  # 1 January: the monthly digest again
    (12, "fp-egypt-alt", "stalled_digest", False),
    (14, "fp-egypt", "overdue", True),  # 14 days overdue: the alternate and the secretariat are copied...
    (14, "officer", "overdue", False),  # ...the alternate on Ahmed's Arabic e-mail, the officer in an English copy
    (15, "officer", "secretariat_digest", False),
    (21, "fp-egypt", "overdue", True),
    (21, "officer", "overdue", False),
    (22, "officer", "secretariat_digest", False),
    (28, "fp-egypt", "overdue", True),  # the fourth and last overdue reminder
    (28, "officer", "overdue", False),
    (29, "officer", "secretariat_digest", False),
    (36, "officer", "secretariat_digest", False),
]


def kind_of(message):
    return message.extra_headers["X-Reminder-Kind"]


def test_it_sends_who_gets_what_on_which_day_over_a_whole_cycle(
    reference, egypt_focal_point, egypt_alternate, jordan_focal_point, secretariat_officer
):
    open_cycle(reference)
    seen = []
    for offset in range(-25, 41):  # the job runs every day, twice
        day = DEADLINE + dt.timedelta(days=offset)
        with time_machine.travel(local(day), tick=False):
            if offset == -10:
                save_a_draft(egypt_focal_point)
            if offset == -5:
                report_everything(jordan_focal_point)
            mail.outbox.clear()
            sending.run()
            sending.run()
            seen += [(offset, m.to[0].split("@")[0], kind_of(m), bool(m.cc)) for m in mail.outbox]
    assert sorted(seen) == sorted(EXPECTED)
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}


def test_it_copies_the_alternate_and_the_secretariat_when_escalating(
    reference, egypt_focal_point, egypt_alternate, secretariat_officer
):
    reference.secretariat_email = "secretariat@aimc.example"
    reference.save()
    open_cycle(reference)
    with time_machine.travel(local(DEADLINE + dt.timedelta(days=14)), tick=False):
        sending.run()
    [overdue, copy] = [m for m in mail.outbox if kind_of(m) == "overdue"]
    assert overdue.to == ["fp-egypt@example.org"]
    assert overdue.cc == ["fp-egypt-alt@example.org"]  # reads Arabic, as Ahmed
    assert (copy.to, copy.cc) == (["secretariat@aimc.example"], [])  # reads English: a copy in English
    assert copy.extra_headers["X-Reminder-Copy-Of"] == "fp-egypt@example.org"


def test_it_inserts_nothing_new_when_what_is_due_is_computed_twice(reference, egypt_focal_point):
    open_cycle(reference)
    with time_machine.travel(local(DEADLINE - dt.timedelta(days=3)), tick=False):
        assert policy.plan() == 1
        assert policy.plan() == 0
        first = sending.send_due()
        second = sending.send_due()
    assert (first.sent, second.sent) == (1, 0)
    assert len(mail.outbox) == 1
    assert Reminder.objects.get().state == State.SENT


def test_it_cancels_a_pending_reminder_once_the_reports_are_submitted(reference, jordan_focal_point):
    open_cycle(reference)
    with time_machine.travel(local(DEADLINE - dt.timedelta(days=3)), tick=False):
        policy.plan()
        report_everything(jordan_focal_point)
        result = sending.send_due()
    assert (result.sent, result.cancelled) == (0, 1)
    assert mail.outbox == []
    assert Reminder.objects.get().state == State.CANCELLED


def test_it_does_not_let_a_draft_silence_the_reminder(reference, egypt_focal_point):
    open_cycle(reference)
    with time_machine.travel(local(DEADLINE - dt.timedelta(days=3)), tick=False):
        save_a_draft(egypt_focal_point)
        sending.run()
    assert len(mail.outbox) == 1
    assert "مسودة" in mail.outbox[0].body  # "a draft is saved but has not been submitted"


def test_it_sends_nothing_stale_after_the_deadline_moves(reference, egypt_focal_point):
    cycle = open_cycle(reference)
    with time_machine.travel(local(DEADLINE - dt.timedelta(days=3)), tick=False):
        policy.plan()
        ReviewCycle.objects.filter(pk=cycle.pk).update(report_deadline=DEADLINE + dt.timedelta(days=30))
        result = sending.send_due()
    assert (result.sent, result.cancelled) == (0, 1)
    with time_machine.travel(local(DEADLINE + dt.timedelta(days=16)), tick=False):
        sending.run()  # 14 days before the new deadline
    [message] = mail.outbox
    assert "EG-14d-20270119" in Reminder.objects.filter(state=State.SENT).get().stage
    assert kind_of(message) == "before_deadline"


def test_it_sends_nothing_once_the_cycle_is_closed(reference, egypt_focal_point):
    cycle = open_cycle(reference)
    with time_machine.travel(local(DEADLINE + dt.timedelta(days=7)), tick=False):
        policy.plan()
        services.move_cycle(cycle, ReviewCycle.State.UNDER_REVIEW)
        sending.send_due()
    assert [m for m in mail.outbox if kind_of(m) == "overdue"] == []
    assert Reminder.objects.get(kind="overdue").state == State.CANCELLED


def test_it_reminds_the_new_focal_point_and_not_the_one_whose_designation_ended(reference, egypt_focal_point):
    from tests.conftest import designate, make_user
    from tracker.core.permissions import FOCAL_POINT_GROUP

    open_cycle(reference)
    with time_machine.travel(local(DEADLINE - dt.timedelta(days=3)), tick=False):
        policy.plan()
        FocalPointDesignation.objects.filter(user=egypt_focal_point).update(end_date=dt.date(2026, 12, 16))
        designate(make_user("fp-egypt-new", FOCAL_POINT_GROUP), "EG", reference, language="en")
        sending.run()
    assert [m.to for m in mail.outbox] == [["fp-egypt-new@example.org"]]
    assert Reminder.objects.get(recipient=egypt_focal_point).state == State.CANCELLED


def test_it_catches_up_with_only_the_latest_stage_after_an_outage(reference, egypt_focal_point):
    open_cycle(reference)
    with time_machine.travel(local(DEADLINE + dt.timedelta(days=22)), tick=False):  # nothing ran for weeks
        sending.run()
    assert [kind_of(m) for m in mail.outbox if m.to == ["fp-egypt@example.org"]] == ["overdue"]
    assert Reminder.objects.get(kind="overdue").stage == "EG-o3-20261220"


def test_it_validates_the_policy_offsets_in_the_admin(reference):
    from django.core.exceptions import ValidationError

    reference.remind_days_before = "14, three"
    with pytest.raises(ValidationError):
        reference.full_clean()
