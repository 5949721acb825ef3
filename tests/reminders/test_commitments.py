"""Reminders of commitments: before the due date and when late, to the owner, in their language, exactly once."""

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from tests.conftest import designate, make_user
from tests.reminders.helpers import local
from tests.support.services import require_postgres, start_worker, wait_for
from tracker.core.models import Commitment, Implementation, Organisation, Profile, ReviewOutcome
from tracker.core.permissions import FOCAL_POINT_GROUP, SECRETARIAT_GROUP
from tracker.reminders import policy, sending
from tracker.reminders.enqueue import publish
from tracker.reminders.models import Reminder
from tracker.reminders.tasks import run_reminders

pytestmark = pytest.mark.django_db
State = Reminder.State
DUE = dt.date(2026, 12, 20)  # a Sunday; no review cycle is open, so only commitments are reminded
MAILBOX = "secretariat@aimc.example"
STATE_PAGE_LINK = 'href="https://tracker.example.org/" style="color:#0b5394;font-weight:bold"'  # not the footer's


def commit(iso="EG", owner=Commitment.Owner.STATE, due=DUE, organisation=None, description="Adopt the asylum law."):
    """A commitment agreed by the review on the state's first item (the outcome recorded by the secretariat)."""
    item = Implementation.objects.filter(member_state__iso_code=iso).order_by("pk").first()
    recorder, _ = User.objects.get_or_create(username="recorder")  # in no group: never a recipient itself
    outcome = ReviewOutcome.objects.create(
        implementation=item, obstacle_category="legal", solution="Draft the law.", recorded_by=recorder
    )
    return Commitment.objects.create(
        outcome=outcome,
        implementation=item,
        description=description,
        owner=owner,
        organisation=organisation,
        due_date=due,
        created_by=recorder,
    )


def unhcr(email="protection@unhcr.example", language="ar"):
    return Organisation.objects.create(
        code="unhcr-test",
        acronym_en="UNHCR",
        name_en="UN Refugee Agency",
        name_ar="المفوضية",
        email=email,
        language=language,
    )


def commitment_mails():
    return [m for m in mail.outbox if m.extra_headers["X-Reminder-Kind"].startswith("commitment")]


def run_on(offset, times=1):
    with time_machine.travel(local(DUE + dt.timedelta(days=offset)), tick=False):
        for _ in range(times):
            sending.run()


def html_of(message):
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def test_it_reminds_once_at_each_offset_before_the_due_date_however_often_it_runs(reference, egypt_focal_point):
    commit()
    seen = []
    for offset in range(-20, 1):
        mail.outbox.clear()
        run_on(offset, times=2)
        seen += [(offset, m.to[0]) for m in commitment_mails()]
    assert seen == [(-14, "fp-egypt@example.org"), (-3, "fp-egypt@example.org")]
    stages = Reminder.objects.order_by("pk").values_list("kind", "stage", "state")
    assert list(stages) == [("commitment_due", "14d-20261220", "sent"), ("commitment_due", "3d-20261220", "sent")]


def test_it_inserts_nothing_new_when_what_is_due_is_computed_twice(reference, egypt_focal_point):
    commitment = commit()
    with time_machine.travel(local(DUE - dt.timedelta(days=3)), tick=False):
        assert policy.plan() == 1
        assert policy.plan() == 0
        first, second = sending.send_due(), sending.send_due()
    assert (first.sent, second.sent) == (1, 0)
    row = Reminder.objects.get()
    assert (row.scope, row.commitment, row.member_state.iso_code) == (f"commitment-{commitment.pk}", commitment, "EG")


def test_it_never_gives_the_same_commitment_row_to_two_claims(reference, egypt_focal_point, jordan_focal_point):
    commit("EG"), commit("JO")
    with time_machine.travel(local(DUE - dt.timedelta(days=3)), tick=False):
        policy.plan()
        first, second, third = sending.claim(1), sending.claim(1), sending.claim(1)
    assert len(first) == len(second) == 1 and first != second
    assert third == []


def test_it_reminds_a_late_commitment_every_n_days_up_to_the_maximum_escalating(
    reference, egypt_focal_point, egypt_alternate, secretariat_officer
):
    reference.overdue_every_days, reference.overdue_max_reminders, reference.escalate_after_days = 5, 3, 10
    reference.secretariat_email = MAILBOX
    reference.save()
    commit()
    seen = []
    for offset in range(1, 31):
        mail.outbox.clear()
        run_on(offset, times=2)
        seen += [(offset, m.to, m.cc) for m in commitment_mails()]
    # Ahmed's alternate reads Arabic too: copied on his e-mail. The mailbox reads English: a copy in English.
    escalated = ["fp-egypt-alt@example.org"]
    assert seen == [
        (5, ["fp-egypt@example.org"], []),
        (10, ["fp-egypt@example.org"], escalated),
        (10, [MAILBOX], []),
        (15, ["fp-egypt@example.org"], escalated),
        (15, [MAILBOX], []),
    ]
    assert set(Reminder.objects.filter(kind="commitment_late").values_list("stage", flat=True)) == {
        "o1-20261220",
        "o2-20261220",
        "o3-20261220",
    }


def test_it_says_how_late_and_that_the_alternate_and_secretariat_are_copied(
    reference, jordan_focal_point, secretariat_officer
):
    alternate = make_user("fp-jordan-alt", FOCAL_POINT_GROUP)
    designate(alternate, "JO", reference, role="alternate", language="en")
    commit("JO", description="Open two registration centres.")
    run_on(16)  # catching up after an outage: only the latest round, the second (14 days late)
    [message] = commitment_mails()
    assert message.subject == "Late commitment for Jordan: it was due by Dec. 20, 2026"
    assert message.cc == ["fp-jordan-alt@example.org", "officer@example.org"]  # no mailbox: the officers
    assert "Late by 16 days" in message.body
    assert "To be done: Open two registration centres." in message.body
    assert "Copied to the alternate focal point and the secretariat: the commitment is late." in message.body
    assert Reminder.objects.get().stage == "o2-20261220"


def test_it_writes_to_each_focal_point_in_their_language_with_a_link_to_their_state_page(
    reference, egypt_focal_point, jordan_focal_point, settings
):
    settings.SITE_URL = "https://tracker.example.org"
    commit("EG"), commit("JO")
    run_on(-3)
    [egypt] = [m for m in commitment_mails() if m.to == ["fp-egypt@example.org"]]
    [jordan] = [m for m in commitment_mails() if m.to == ["fp-jordan@example.org"]]
    assert '<html lang="ar" dir="rtl">' in html_of(egypt)
    assert "20 ديسمبر، 2026" in egypt.subject and "مصر" in egypt.subject
    assert "السيد/السيدة Ahmed، تحية طيبة،" in egypt.body
    assert jordan.subject == "Reminder: commitment for Jordan due by Dec. 20, 2026"
    assert '<html lang="en" dir="ltr">' in html_of(jordan)
    assert "Due by: Dec. 20, 2026 (Due in 3 days)" in jordan.body
    assert "Member state: Jordan" in jordan.body
    for message in (egypt, jordan):
        assert "Adopt the asylum law." in message.body
        assert STATE_PAGE_LINK in html_of(message)
        assert ": https://tracker.example.org/\n" in message.body


def test_it_sends_the_alternates_the_reminder_when_no_primary_is_designated(reference, egypt_alternate):
    commit("EG")
    run_on(-3)
    assert [m.to for m in commitment_mails()] == [["fp-egypt-alt@example.org"]]


def test_it_reminds_the_secretariat_of_its_own_commitments_at_its_mailbox_in_its_language(
    reference, secretariat_officer, settings
):
    settings.SITE_URL = "https://tracker.example.org"
    Profile.objects.create(user=secretariat_officer, language="ar")  # the digest reaches the mailbox in it too
    reference.secretariat_email = MAILBOX
    reference.save()
    commitment = commit(owner=Commitment.Owner.SECRETARIAT)
    run_on(-14)
    [message] = commitment_mails()
    assert (message.to, message.cc) == ([MAILBOX], [])
    assert '<html lang="ar" dir="rtl">' in html_of(message)
    row = Reminder.objects.get()
    assert (row.recipient, row.recipient_email, row.language) == (None, MAILBOX, "ar")
    assert ": https://tracker.example.org/admin/" in message.body  # the admin's commitments (or, until then, its index)
    assert f"commitment-{commitment.pk}" == row.scope


def test_it_reminds_each_secretariat_officer_when_the_body_has_no_mailbox(reference, secretariat_officer):
    make_user("officer-2", SECRETARIAT_GROUP, is_staff=True)
    commit(owner=Commitment.Owner.SECRETARIAT)
    run_on(-3)
    assert sorted(m.to[0] for m in commitment_mails()) == ["officer-2@example.org", "officer@example.org"]
    assert all("You receive this e-mail as a member of the secretariat." in m.body for m in commitment_mails())


def test_it_writes_to_a_partner_organisation_in_its_language_copying_the_secretariat_without_a_link(
    reference, secretariat_officer, settings
):
    settings.SITE_URL = "https://tracker.example.org"
    reference.secretariat_email = MAILBOX
    reference.save()
    commit(owner=Commitment.Owner.PARTNER, organisation=unhcr(language="ar"))
    run_on(-3, times=2)
    [message, copy] = commitment_mails()  # the mailbox reads English: its copy is in English
    assert (message.to, message.cc) == (["protection@unhcr.example"], [])
    assert (copy.to, copy.cc) == ([MAILBOX], []) and '<html lang="en" dir="ltr">' in html_of(copy)
    assert '<html lang="ar" dir="rtl">' in html_of(message)
    assert "المفوضية" in message.body  # the organisation's Arabic name
    assert ": https://tracker.example.org/\n" not in message.body and STATE_PAGE_LINK not in html_of(message)
    row = Reminder.objects.get()
    assert (row.recipient_id, row.recipient_email) == (None, "protection@unhcr.example")


def test_it_reminds_the_secretariat_when_the_partner_has_no_address(reference, secretariat_officer):
    commit(owner=Commitment.Owner.PARTNER, organisation=unhcr(email="", language="en"))
    run_on(-3)
    [message] = commitment_mails()
    assert message.to == ["officer@example.org"]
    assert "UN Refugee Agency has no contact e-mail address: the secretariat receives this reminder." in message.body


def test_it_reminds_the_secretariat_when_the_state_has_no_active_focal_point(reference, secretariat_officer):
    commit("EG")
    run_on(-3)
    [message] = commitment_mails()
    assert message.to == ["officer@example.org"]
    assert "Egypt has no active focal point to remind: the secretariat receives this reminder." in message.body


def test_it_cancels_a_pending_reminder_of_a_commitment_done_meanwhile(reference, egypt_focal_point):
    commitment = commit()
    with time_machine.travel(local(DUE - dt.timedelta(days=3)), tick=False):
        policy.plan()
        Commitment.objects.filter(pk=commitment.pk).update(state=Commitment.State.DONE, done_at=timezone.now())
        result = sending.send_due()
        assert policy.plan() == 0  # a done commitment is due nothing
    assert (result.sent, result.cancelled) == (0, 1)
    assert commitment_mails() == []
    assert Reminder.objects.get().state == State.CANCELLED


def test_it_cancels_a_claimed_reminder_of_a_commitment_dropped_before_its_email_left(reference, egypt_focal_point):
    commitment = commit()
    with time_machine.travel(local(DUE - dt.timedelta(days=3)), tick=False):
        policy.plan()
        plan = policy.due()  # the run's plan, computed before the drop
        ids = sending.claim(10)
        Commitment.objects.filter(pk=commitment.pk).update(state=Commitment.State.DROPPED, dropped_reason="Moot.")
        result = sending.Result()
        sending.send_batch(ids, plan, result)
    assert (result.sent, result.cancelled) == (0, 1)
    assert Reminder.objects.get().state == State.CANCELLED


def test_it_tidies_up_the_pending_reminders_once_a_commitment_changes(
    reference, egypt_focal_point, django_capture_on_commit_callbacks
):
    commitment = commit()
    with time_machine.travel(local(DUE - dt.timedelta(days=3)), tick=False):
        policy.plan()
        commitment.state, commitment.dropped_reason = Commitment.State.DROPPED, "Agreed otherwise."
        with django_capture_on_commit_callbacks() as queued:
            commitment.save()
        assert len(queued) == 1  # cancel_stale, queued after commit
        assert sending.cancel_stale(commitment.implementation.member_state_id) == 1
    assert Reminder.objects.get().state == State.CANCELLED


def test_it_starts_over_when_the_due_date_moves(reference, egypt_focal_point):
    commitment = commit()
    run_on(-3)
    Commitment.objects.filter(pk=commitment.pk).update(due_date=DUE + dt.timedelta(days=30))
    mail.outbox.clear()
    run_on(16)  # 14 days before the new date
    assert len(commitment_mails()) == 1
    assert Reminder.objects.filter(state=State.SENT).order_by("pk").last().stage == "14d-20270119"


def test_it_puts_a_late_commitment_and_an_overdue_report_in_one_email(reference, egypt_focal_point):
    from tests.reminders.helpers import open_cycle

    open_cycle(reference, deadline=DUE)
    commit(due=DUE - dt.timedelta(days=7))
    run_on(7)
    [message] = [m for m in mail.outbox if m.to == ["fp-egypt@example.org"]]
    assert message.extra_headers["X-Reminder-Kind"] == "overdue"  # the most urgent gives the subject
    assert "Adopt the asylum law." in message.body
    assert set(Reminder.objects.values_list("kind", "state")) >= {("overdue", "sent"), ("commitment_late", "sent")}


def test_it_refuses_a_reminder_to_nobody_and_a_second_one_to_the_same_address(reference, egypt_focal_point):
    from django.db import IntegrityError

    key = {"body": reference, "kind": "commitment_due", "stage": "3d-20261220", "scope": "commitment-1"}
    with transaction.atomic(), pytest.raises(IntegrityError):
        Reminder.objects.create(**key)
    with transaction.atomic(), pytest.raises(IntegrityError):
        Reminder.objects.create(recipient=egypt_focal_point, recipient_email=MAILBOX, **key)
    Reminder.objects.create(recipient_email=MAILBOX, **key)
    with transaction.atomic(), pytest.raises(IntegrityError):
        Reminder.objects.create(recipient_email=MAILBOX, **key)


def test_it_shows_address_rows_in_the_reminder_log(client, reference, admin_user):
    from django.urls import reverse

    commit(owner=Commitment.Owner.PARTNER, organisation=unhcr())
    run_on(-3)
    with time_machine.travel(local(DUE), tick=True):
        client.force_login(admin_user)
        response = client.get(reverse("admin:reminders_reminder_changelist") + "?kind__exact=commitment_due")
    assert response.status_code == 200
    assert "protection@unhcr.example" in response.content.decode()


def test_it_lists_address_rows_in_the_dry_run(reference):
    from io import StringIO

    from django.core.management import call_command

    commit(owner=Commitment.Owner.PARTNER, organisation=unhcr())
    out = StringIO()
    with time_machine.travel(local(DUE - dt.timedelta(days=3)), tick=False):
        call_command("send_reminders", "--dry-run", stdout=out)
    assert "commitment_due commitment-" in out.getvalue() and "→ protection@unhcr.example" in out.getvalue()
    assert Reminder.objects.count() == 0


# --- exactly once when two senders race (PostgreSQL: SKIP LOCKED; SQLite serialises writers instead) ---


def in_thread(function):
    """Run `function` on its own database connection, as a second worker would."""

    def run():
        try:
            return function()
        finally:
            connection.close()

    return run


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_skips_the_rows_another_claimer_holds_on_postgresql(reference, egypt_focal_point, jordan_focal_point):
    require_postgres()
    commit("EG"), commit("JO")
    held, go_on = threading.Event(), threading.Event()

    def first_claimer():
        with transaction.atomic():  # the claim's locks stay until this commits
            ids = sending.claim(10)
            held.set()
            go_on.wait(10)
        return ids

    with time_machine.travel(local(DUE - dt.timedelta(days=3)), tick=False):
        policy.plan()
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(in_thread(first_claimer))
            assert held.wait(10)
            assert sending.claim(10) == []  # locked rows are skipped, not waited for
            go_on.set()
            assert len(first.result()) == 2
        assert sending.claim(10) == []  # now they are `sending`: still not ours
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENDING}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_sends_each_commitment_reminder_once_when_two_runs_race_on_postgresql(
    reference, egypt_focal_point, jordan_focal_point, secretariat_officer
):
    require_postgres()
    reference.secretariat_email = MAILBOX
    reference.save()
    commit("EG"), commit("JO"), commit("EG", owner=Commitment.Owner.PARTNER, organisation=unhcr())
    start = threading.Barrier(2)

    def beat_run():
        start.wait(10)
        return sending.run()

    with time_machine.travel(local(DUE - dt.timedelta(days=3)), tick=False):
        with ThreadPoolExecutor(2) as pool:
            results = [f.result() for f in [pool.submit(in_thread(beat_run)) for _ in range(2)]]
    assert Reminder.objects.count() == 3  # both planned the same rows: the second insert did nothing
    assert sum(result.rows_sent for _, result in results) == 3  # each row once (plus the copies in English)
    assert sorted(m.to[0] for m in commitment_mails()) == [
        "fp-egypt@example.org",
        "fp-jordan@example.org",
        "protection@unhcr.example",
        "secretariat@aimc.example",  # the partner's reminder, copied to the mailbox in its own language
    ]
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}


# --- through a real Celery worker (the pattern of test_worker.py) ---


@pytest.fixture
def roles(transactional_db):
    """A transactional test before this one flushed the groups that the migrations create: put them back."""
    from django.apps import apps

    from tracker.core.roles import ensure_roles

    ensure_roles(apps)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_it_sends_commitment_reminders_once_through_a_real_worker(
    roles, reference, egypt_focal_point, secretariat_officer, tmp_path
):
    from tests.reminders.test_worker import recipients, worker_env
    from tests.support.mail_backends import sent_files

    reference.secretariat_email = MAILBOX
    reference.save()
    today = timezone.localdate()
    commit("EG", due=today + dt.timedelta(days=3))
    commit("JO", due=today + dt.timedelta(days=3), owner=Commitment.Owner.PARTNER, organisation=unhcr())
    mail_dir = tmp_path / "mail"
    with start_worker(worker_env(mail_dir), name="reminders-commitments") as worker:
        try:
            for _ in range(3):  # a doubled (tripled) beat
                assert publish(run_reminders)
            wait_for(lambda: len(sent_files(mail_dir)) >= 3, timeout=90, message="three commitment e-mails")
            wait_for(lambda: worker.output().count("succeeded") >= 3, timeout=90, message="the three runs")
            time.sleep(1)
        except AssertionError:
            print(worker.output())
            raise
    # The partner reads Arabic, the mailbox English: the mailbox's copy of the partner's reminder is its own e-mail.
    assert recipients(mail_dir) == ["fp-egypt@example.org", "protection@unhcr.example", MAILBOX]
    assert set(Reminder.objects.values_list("kind", "state")) == {("commitment_due", "sent")}


def test_it_queues_one_clean_up_per_state_however_many_reports_a_transaction_holds(
    reference, egypt_focal_point, jordan_focal_point, django_capture_on_commit_callbacks
):
    from tracker.core.models import Implementation
    from tracker.core.permissions import access_for
    from tracker.core.services import ReportInput, submit_report

    data = ReportInput(status="in_progress", progress=20, narrative="Work started.")
    with django_capture_on_commit_callbacks() as queued:
        for user, iso in ((egypt_focal_point, "EG"), (egypt_focal_point, "EG"), (jordan_focal_point, "JO")):
            for item in Implementation.objects.filter(member_state__iso_code=iso)[:3]:
                submit_report(Implementation.objects.get(pk=item.pk), user, access_for(user), data)
    clean_ups = [call for call in queued if getattr(call, "key", ("",))[0] == "tracker.reminders.cancel_stale"]
    assert sorted(call.args for call in clean_ups) == sorted(
        [
            (egypt_focal_point.designations.get().member_state_id,),
            (jordan_focal_point.designations.get().member_state_id,),
        ]
    )
