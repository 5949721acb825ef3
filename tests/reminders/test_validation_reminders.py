"""Issue 15, national validation in the reminders: Egypt requires it, so a report its focal point sends waits
for Egypt's national validator, who is reminded of it before the deadline (exactly once per stage, escalating
like reports do); the focal point is no longer chased for it. Jordan, without validation, is unaffected."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from tests.conftest import designate, make_user
from tests.reminders.helpers import DEADLINE, items_of, local, open_cycle
from tracker.core import services, validation
from tracker.core.models import ProgressReport
from tracker.core.permissions import FOCAL_POINT_GROUP, access_for
from tracker.reminders import policy, sending
from tracker.reminders.compose import Audience, BatchContent
from tracker.reminders.models import Reminder

pytestmark = pytest.mark.django_db
Kind, State = Reminder.Kind, Reminder.State
SENT_ON = DEADLINE - dt.timedelta(days=5)  # Tuesday 15 December 2026


def on(offset):
    return local(DEADLINE + dt.timedelta(days=offset))


def run_on(offset):
    with time_machine.travel(on(offset), tick=False):
        return sending.run()


def to(address):
    return [m for m in mail.outbox if m.to == [address]]


def item_r2(user):
    [item] = [i for i in items_of(user) if i.recommendation.reference == "R2"]
    return item


def send_r2(user):
    """The focal point submits R2: for Egypt it goes to the validator, for Jordan straight to the secretariat."""
    with time_machine.travel(local(SENT_ON), tick=False):
        data = services.ReportInput(status="in_progress", progress=40, narrative="Decree drafted.")
        return services.submit_report(item_r2(user), user, access_for(user), data)


def copies_to(address):
    return [m for m in to(address) if "X-Reminder-Copy-Of" in m.extra_headers]


def rows_to(user):
    return set(Reminder.objects.filter(recipient=user).values_list("kind", "state"))


@pytest.fixture
def egypt_sent_r2(reference, egypt_requires_validation, egypt_focal_point, egypt_validator):
    open_cycle(reference)
    report = send_r2(egypt_focal_point)
    assert report.state == ProgressReport.State.AWAITING_VALIDATION
    return report


def test_it_reminds_the_validator_once_of_the_report_awaiting_validation(
    egypt_sent_r2, egypt_focal_point, egypt_validator, settings
):
    settings.SITE_URL = "https://tracker.example.org"
    run_on(-3)
    [message] = to("validator-egypt@example.org")
    item = item_r2(egypt_focal_point)
    assert message.subject == "Reminder: reports awaiting your validation by Dec. 20, 2026"
    assert message.extra_headers["X-Reminder-Kind"] == Kind.VALIDATION_DUE
    assert "Dear Karim," in message.body  # in English, the validator's language
    assert "Reports awaiting your validation: the deadline is Dec. 20, 2026" in message.body
    assert "The focal points of Egypt sent these reports for your validation:" in message.body
    assert "* R2: " in message.body and "* R1: " not in message.body  # only what waits for them
    assert "Why: Sent for validation by Ahmed on Dec. 15, 2026" in message.body
    assert f"https://tracker.example.org/items/{item.pk}/" in message.body
    assert "https://tracker.example.org/validation/" in message.body  # their queue
    assert "You receive this e-mail as a designated national validator." in message.body
    assert message.cc == []
    mail.outbox.clear()
    run_on(-3)  # a second run the same day
    assert to("validator-egypt@example.org") == []
    assert Reminder.objects.filter(recipient=egypt_validator).count() == 1
    assert rows_to(egypt_validator) == {(Kind.VALIDATION_DUE, State.SENT)}


def test_it_no_longer_chases_the_focal_point_for_the_report_awaiting_validation(egypt_sent_r2, egypt_focal_point):
    run_on(-3)
    [message] = to("fp-egypt@example.org")
    assert message.extra_headers["X-Reminder-Kind"] == Kind.BEFORE_DEADLINE
    assert f"/items/{item_r2(egypt_focal_point).pk}/" not in message.body
    others = [item for item in items_of(egypt_focal_point) if item.recommendation.reference != "R2"]
    assert message.body.count("لم يُقدَّم تقرير تقدم في هذه الدورة") == len(others) == 6
    assert all(f"/items/{item.pk}/" in message.body for item in others)
    assert rows_to(egypt_focal_point) == {(Kind.BEFORE_DEADLINE, State.SENT)}


@pytest.mark.parametrize("decide", ["approve", "return"])
def test_it_cancels_the_planned_validator_reminder_once_the_report_is_decided(
    decide, egypt_sent_r2, egypt_validator, egypt_focal_point
):
    with time_machine.travel(on(-3), tick=False):
        policy.plan()
        access = access_for(egypt_validator)
        if decide == "approve":
            validation.approve(egypt_sent_r2, egypt_validator, access)
        else:
            validation.return_to_focal_points(egypt_sent_r2, egypt_validator, access, "Add the decree number.")
        result = sending.send_due()
    assert to("validator-egypt@example.org") == []
    assert rows_to(egypt_validator) == {(Kind.VALIDATION_DUE, State.CANCELLED)}
    assert result.cancelled >= 1
    [message] = to("fp-egypt@example.org")  # the focal point's own reminder still goes
    listed = f"/items/{item_r2(egypt_focal_point).pk}/" in message.body
    assert listed == (decide == "return")  # a returned report is the state's draft again: missing once more


def test_it_copies_the_focal_point_and_the_secretariat_once_the_validation_is_overdue(
    egypt_sent_r2, egypt_validator, egypt_alternate, secretariat_officer
):
    run_on(7)  # the first overdue round: not escalated yet
    [message] = to("validator-egypt@example.org")
    assert message.subject == "Overdue: reports awaiting your validation for Review cycle 2026-2"
    assert message.cc == []
    mail.outbox.clear()
    run_on(14)  # 14 days overdue: escalated
    [message] = to("validator-egypt@example.org")
    assert message.extra_headers["X-Reminder-Kind"] == Kind.VALIDATION_OVERDUE
    assert message.cc == ["officer@example.org"]  # the officer reads English, as the validator does
    assert "Copied to the focal point and the secretariat" in message.body
    [copy] = copies_to("fp-egypt@example.org")  # the primary focal point reads Arabic: a copy of their own
    assert copy.subject.startswith("نسخة: ")  # in Arabic
    assert copy.extra_headers["X-Reminder-Copy-Of"] == "validator-egypt@example.org"
    assert copies_to("fp-egypt-alt@example.org") == []
    row = Reminder.objects.get(recipient=egypt_validator, stage="EG-o2-20261220")
    assert row.cc == ["fp-egypt@example.org", "officer@example.org"]  # the alternate is not copied
    assert Reminder.objects.filter(recipient=egypt_validator, kind=Kind.VALIDATION_OVERDUE).count() == 2


def test_it_leaves_jordan_without_national_validation_unaffected(
    reference, egypt_requires_validation, egypt_validator, jordan_focal_point
):
    open_cycle(reference)
    report = send_r2(jordan_focal_point)
    assert report.state == ProgressReport.State.SUBMITTED
    run_on(-3)
    [message] = to("fp-jordan@example.org")
    assert message.body.count("Why: No progress report submitted in this cycle") == 6  # R2 counts as reported
    assert not Reminder.objects.filter(
        member_state__iso_code="JO", kind__in=[Kind.VALIDATION_DUE, Kind.VALIDATION_OVERDUE]
    ).exists()
    assert to("validator-egypt@example.org") == []  # nothing waits in Egypt


def test_it_never_sends_a_validator_the_focal_point_reminders(
    reference, egypt_requires_validation, egypt_validator, secretariat_officer
):
    """Egypt has a validator and no focal point: the validator is not "everyone" to remind of deadlines."""
    open_cycle(reference)
    for offset in [-14, -3, 1, 7, 14]:
        run_on(offset)
    assert to("validator-egypt@example.org") == []
    assert not Reminder.objects.filter(recipient=egypt_validator).exists()
    [digest, *_] = to("officer@example.org")
    assert "Member states without an active focal point: Algeria, Bahrain, " in digest.body
    assert "Egypt" in digest.body.split("without an active focal point")[1]


def test_it_tells_the_focal_point_and_the_secretariat_when_no_validator_is_designated(
    reference, egypt_requires_validation, egypt_focal_point, secretariat_officer
):
    open_cycle(reference)
    send_r2(egypt_focal_point)
    with time_machine.travel(on(-3), tick=False):
        policy.plan()
    row = Reminder.objects.get(kind=Kind.VALIDATION_DUE)
    assert (row.recipient, row.cc, row.language) == (egypt_focal_point, ["officer@example.org"], "ar")
    run_on(-3)
    [copy] = copies_to("officer@example.org")  # of Ahmed's e-mail, whose deadline reminder comes first
    assert copy.extra_headers["X-Reminder-Copy-Of"] == "fp-egypt@example.org"
    assert "Reports of Egypt awaiting national validation: no validator is designated" in copy.body
    assert "Egypt has no active national validator to approve them:" in copy.body
    assert "You receive it as the secretariat, which follows up the reports awaiting national validation." in (
        copy.body
    )
    assert "* R2: " in copy.body
    assert rows_to(egypt_focal_point) == {(Kind.BEFORE_DEADLINE, State.SENT), (Kind.VALIDATION_DUE, State.SENT)}


def test_it_reminds_the_secretariat_when_nobody_of_the_state_can_be_reached(
    reference, egypt_requires_validation, egypt_focal_point, secretariat_officer
):
    open_cycle(reference)
    send_r2(egypt_focal_point)
    designation = egypt_focal_point.designations.get()
    designation.end_date = designation.start_date
    designation.save()
    with time_machine.travel(on(-3), tick=False):
        policy.plan()
    row = Reminder.objects.get(kind=Kind.VALIDATION_DUE)
    assert (row.recipient, row.cc) == (secretariat_officer, [])
    run_on(-3)
    [message] = [m for m in to("officer@example.org") if m.extra_headers["X-Reminder-Kind"] == Kind.VALIDATION_DUE]
    assert message.subject == "Reports of Egypt awaiting national validation: no validator is designated"
    assert "Egypt has no active focal point either: register its national validator" in message.body
    assert "You receive this e-mail as a member of the secretariat." in message.body


def test_it_lists_reports_awaiting_validation_apart_in_the_secretariat_digest(egypt_sent_r2, secretariat_officer):
    run_on(-3)  # the week's first run sends the week's digest
    [digest] = [m for m in to("officer@example.org") if m.extra_headers["X-Reminder-Kind"] == Kind.SECRETARIAT_DIGEST]
    assert "Egypt — items without a report: 6" in digest.body
    assert "Egypt — reports awaiting national validation: 1" in digest.body
    assert "without an active validator" not in digest.body  # Egypt has its validator


def test_it_recognises_a_validator_copied_on_an_email(egypt_sent_r2, egypt_validator, egypt_focal_point):
    with time_machine.travel(on(-3), tick=False):
        policy.plan()
        plan = policy.due()
    row = Reminder.objects.get(recipient=egypt_focal_point)
    content = BatchContent([row], plan)
    readers = content.readers(row, ["Validator-Egypt@example.org"])
    [reader] = readers["en"]
    assert (reader.audience, reader.user) == (Audience.VALIDATOR, egypt_validator)


def test_it_reminds_every_active_validator_of_the_state(egypt_sent_r2, reference, egypt_validator):
    second = make_user("validator-egypt-2", FOCAL_POINT_GROUP, first_name="Salma")
    designate(second, "EG", reference, role="validator", language="ar")
    run_on(-3)
    assert len(to("validator-egypt@example.org")) == 1
    [message] = to("validator-egypt-2@example.org")
    assert "20 ديسمبر، 2026" in message.subject  # in Arabic, her language
