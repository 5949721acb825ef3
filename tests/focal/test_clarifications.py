"""Clarifications: the secretariat (or a reviewer, where the body allows) asks a state about an item or a report; the
state's focal points and validator answer; each message is e-mailed once to the other side, each recipient in their
own language; nobody outside the thread sees it."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.focal.helpers import item_of
from tests.support.browser import screenshot, sign_in
from tracker.core import clarifications, services
from tracker.core.models import (
    CLARIFICATION_MAX_LENGTH,
    Body,
    Clarification,
    ClarificationMessage,
    FocalPointDesignation,
    Meeting,
    MemberState,
    Profile,
    Recommendation,
)
from tracker.core.permissions import Access, access_for
from tracker.core.tasks import notify_clarification

pytestmark = pytest.mark.django_db

QUESTION = "Which ministries signed the data-sharing protocol, and when?"
ANSWER = "وقّعت وزارتا الداخلية والخارجية البروتوكول في مارس ٢٠٢٦."
R2_EN = "data"  # a word of R2's English text (the reference fixture), absent from its Arabic text


@pytest.fixture(autouse=True)
def eager_tasks():
    """Celery runs the e-mail task in this process, at once, and raises what it raises."""
    from project.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def summaries_seen(reference):
    """The focal points already saw their handover summary, so "/" is their state's page."""
    FocalPointDesignation.objects.update(summary_seen_at=timezone.now())


def signed_in(client, user):
    client.force_login(user)
    return client


def ask_url(item):
    return reverse("ask_clarification", args=[item.pk])


def thread_url(clarification):
    return reverse("clarification", args=[clarification.pk])


def ask(client, officer, item, text=QUESTION, **extra):
    return signed_in(client, officer).post(ask_url(item), {"text": text, **extra})


def outbox_for(address):
    return [m for m in mail.outbox if m.to == [address]]


def r2_text(language):
    return getattr(item_of("EG").recommendation, f"text_{language}")


# --- The round trip and its e-mails ---------------------------------------------------------------------------


def test_it_makes_a_round_trip_with_each_email_in_its_recipients_language(
    client, secretariat_officer, egypt_focal_point, egypt_validator, django_capture_on_commit_callbacks
):
    item = item_of("EG")
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client, secretariat_officer, item)
    clarification = Clarification.objects.get()
    assert response.status_code == 302 and response["Location"] == thread_url(clarification)
    question = clarification.messages.get()
    assert (question.language, question.from_state, question.notified_at is not None) == ("en", False, True)
    assert sorted(m.to[0] for m in mail.outbox) == ["fp-egypt@example.org", "validator-egypt@example.org"]
    arabic, english = outbox_for("fp-egypt@example.org")[0], outbox_for("validator-egypt@example.org")[0]
    # The primary reads Arabic: the recommendation and the state in Arabic, the question quoted as written.
    assert r2_text("ar") in arabic.body and "مصر" in arabic.body and "الإنجليزية" in arabic.body
    assert r2_text("en") not in arabic.body and QUESTION in arabic.body
    # The validator reads English.
    assert r2_text("en") in english.body and "Egypt" in english.body and "written in English" in english.body
    assert r2_text("ar") not in english.body and QUESTION in english.body
    link = f"http://127.0.0.1:8000{thread_url(clarification)}"
    assert link in arabic.body and link in english.body
    assert "R2" in english.subject and "Egypt" in english.subject and "مصر" in arabic.subject

    mail.outbox.clear()
    client.logout()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(client, egypt_focal_point).post(
            thread_url(clarification), {"text": ANSWER}, HTTP_ACCEPT_LANGUAGE="ar"
        )
    assert response.status_code == 302
    clarification.refresh_from_db()
    assert clarification.state == "answered" and clarification.answered_at is not None
    answer = clarification.messages.last()
    assert (answer.language, answer.from_state, answer.author) == ("ar", True, egypt_focal_point)
    assert [m.to for m in mail.outbox] == [["officer@example.org"]]
    to_officer = mail.outbox[0]
    assert "Egypt replied to the clarification about R2" in to_officer.subject
    assert r2_text("en") in to_officer.body and "written in Arabic" in to_officer.body and ANSWER in to_officer.body


def test_it_reopens_an_answered_thread_when_the_secretariat_writes_again(
    secretariat_officer, egypt_focal_point, django_capture_on_commit_callbacks
):
    item = item_of("EG")
    officer, focal_point = access_for(secretariat_officer), access_for(egypt_focal_point)
    with django_capture_on_commit_callbacks(execute=True):
        thread = clarifications.ask(item, secretariat_officer, officer, QUESTION)
        clarifications.reply(thread, egypt_focal_point, focal_point, ANSWER)
    assert thread.state == "answered"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        clarifications.reply(thread, secretariat_officer, officer, "Please attach the signed protocol.")
    thread.refresh_from_db()
    assert (thread.state, thread.answered_at) == ("open", None)
    assert [m.to for m in mail.outbox] == [["fp-egypt@example.org"]]
    assert mail.outbox[0].subject == "رسالة جديدة من الأمانة العامة بشأن R2 (مصر)"  # in the focal point's Arabic


def test_it_copies_the_secretariat_mailbox_in_the_language_the_reminders_give_it(
    reference, secretariat_officer, egypt_focal_point, django_capture_on_commit_callbacks
):
    reference.secretariat_email = "aimc@example.org"
    reference.save()
    Profile.objects.create(user=secretariat_officer, language="ar")  # the first officer: the mailbox's language
    item = item_of("EG")
    thread = clarifications.ask(item, secretariat_officer, access_for(secretariat_officer), QUESTION)
    with django_capture_on_commit_callbacks(execute=True):
        clarifications.reply(thread, egypt_focal_point, access_for(egypt_focal_point), ANSWER)
    assert sorted(m.to[0] for m in mail.outbox) == ["aimc@example.org", "officer@example.org"]
    assert all(r2_text("ar") in m.body for m in mail.outbox)


def test_it_sends_a_message_once_when_its_task_runs_twice(secretariat_officer, egypt_focal_point, egypt_validator):
    with mock.patch.object(clarifications, "enqueue_notification"):  # the worker has not run it yet
        thread = clarifications.ask(item_of("EG"), secretariat_officer, access_for(secretariat_officer), QUESTION)
    message = thread.messages.get()
    assert notify_clarification(message.pk) == 2
    assert notify_clarification(message.pk) == 0  # a retry, or the same message queued twice
    assert len(mail.outbox) == 2


def test_it_gives_the_claim_back_when_the_mail_server_refuses_the_first_email(secretariat_officer, egypt_focal_point):
    with mock.patch.object(clarifications, "enqueue_notification"):
        thread = clarifications.ask(item_of("EG"), secretariat_officer, access_for(secretariat_officer), QUESTION)
    message = thread.messages.get()
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=ConnectionRefusedError):
        with pytest.raises(ConnectionRefusedError):
            clarifications.send_notification(message.pk)
    message.refresh_from_db()
    assert message.notified_at is None  # the retry will send it
    assert clarifications.send_notification(message.pk) == 1 and len(mail.outbox) == 1


def test_it_queues_again_the_messages_never_emailed(secretariat_officer, egypt_focal_point):
    with mock.patch.object(clarifications, "enqueue_notification"):
        thread = clarifications.ask(item_of("EG"), secretariat_officer, access_for(secretariat_officer), QUESTION)
    ClarificationMessage.objects.update(created_at=timezone.now() - timedelta(hours=1))
    assert clarifications.resend_unnotified() == [thread.messages.get().pk]
    assert len(mail.outbox) == 1 and clarifications.resend_unnotified() == []


def test_it_does_not_fail_the_message_when_the_broker_is_down(
    client, secretariat_officer, egypt_focal_point, django_capture_on_commit_callbacks
):
    with mock.patch.object(notify_clarification, "delay", side_effect=OSError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            response = ask(client, secretariat_officer, item_of("EG"))
    assert response.status_code == 302 and ClarificationMessage.objects.get().notified_at is None


# --- Where a thread shows, and to whom ------------------------------------------------------------------------


def test_it_shows_an_open_thread_on_the_item_and_the_home_page_until_it_is_answered(
    client, secretariat_officer, egypt_focal_point, summaries_seen
):
    item = item_of("EG")
    thread = clarifications.ask(item, secretariat_officer, access_for(secretariat_officer), QUESTION)
    signed_in(client, egypt_focal_point)
    home = client.get("/").content.decode()
    assert "Open clarifications" in home and f'href="{thread_url(thread)}"' in home
    page = client.get(reverse("item", args=[item.pk])).content.decode()
    assert QUESTION in page and 'dir="auto"' in page and f'href="{thread_url(thread)}"' in page
    assert "Ask Egypt for a clarification" not in page  # a focal point answers, never asks

    client.post(thread_url(thread), {"text": ANSWER})
    home = client.get("/").content.decode()
    assert "Open clarifications" not in home and thread_url(thread) not in home
    page = client.get(reverse("item", args=[item.pk])).content.decode()
    assert QUESTION in page and ANSWER in page and "Answered" in page


def test_it_shows_the_thread_to_the_states_validator_who_may_answer(
    client, secretariat_officer, egypt_validator, summaries_seen
):
    thread = clarifications.ask(item_of("EG"), secretariat_officer, access_for(secretariat_officer), QUESTION)
    signed_in(client, egypt_validator)
    assert thread_url(thread) in client.get("/").content.decode()
    assert client.post(thread_url(thread), {"text": "The protocol is attached to the report."}).status_code == 302
    thread.refresh_from_db()
    assert thread.state == "answered" and thread.messages.last().from_state


def test_it_hides_a_thread_from_everyone_outside_it(
    client, secretariat_officer, reviewer, jordan_focal_point, summaries_seen
):
    thread = clarifications.ask(item_of("EG"), secretariat_officer, access_for(secretariat_officer), QUESTION)
    signed_in(client, jordan_focal_point)
    assert client.get(thread_url(thread)).status_code == 404
    assert client.post(thread_url(thread), {"text": "Not mine."}).status_code == 404
    assert thread_url(thread) not in client.get("/").content.decode()
    signed_in(client, reviewer)  # the body does not let reviewers ask: the thread is not theirs to read
    assert client.get(thread_url(thread)).status_code == 404
    egypt = MemberState.objects.get(iso_code="EG")
    partner = Access(scopes=frozenset({(None, egypt.pk)}), sees_confidential=True, can_report=True)
    assert not clarifications.visible_to(partner).exists()
    assert clarifications.for_item(item_of("EG"), partner).threads == []
    assert ClarificationMessage.objects.count() == 1  # nothing was added


def test_it_keeps_a_thread_of_another_body_from_the_states_focal_point_for_this_one(
    client, secretariat_officer, egypt_focal_point, summaries_seen, django_capture_on_commit_callbacks
):
    body = Body.objects.create(code="unhcr-mena", acronym_en="MENA", name_en="MENA expert group", name_ar="فريق")
    body.member_states.set(MemberState.objects.filter(iso_code="EG"))
    meeting = Meeting.objects.create(body=body, code="mena-2025", kind="workshop", title_en="MENA", title_ar="م")
    Recommendation.objects.create(meeting=meeting, reference="M1", text_en="x", text_ar="س", is_public=True)
    item = item_of("EG", "M1")
    with django_capture_on_commit_callbacks(execute=True):
        thread = clarifications.ask(item, secretariat_officer, access_for(secretariat_officer), QUESTION)
    assert mail.outbox == []  # Egypt has nobody designated for that body: AIMC's focal point is not written to
    signed_in(client, egypt_focal_point)
    assert client.get(thread_url(thread)).status_code == 404
    assert thread_url(thread) not in client.get("/").content.decode()


def test_it_lets_a_reviewer_ask_only_where_the_body_allows(client, reviewer, egypt_focal_point, reference):
    item = item_of("EG")
    signed_in(client, reviewer)
    assert "Ask Egypt for a clarification" not in client.get(reverse("item", args=[item.pk])).content.decode()
    assert client.post(ask_url(item), {"text": QUESTION}).status_code == 403
    assert not Clarification.objects.exists()
    reference.reviewers_may_ask = True
    reference.save()
    assert "Ask Egypt for a clarification" in client.get(reverse("item", args=[item.pk])).content.decode()
    response = client.post(ask_url(item), {"text": QUESTION})
    thread = Clarification.objects.get()
    assert response.status_code == 302 and thread.asked_by == reviewer
    assert client.get(thread_url(thread)).status_code == 200


def test_it_lets_no_focal_point_ask(client, egypt_focal_point):
    response = signed_in(client, egypt_focal_point).post(ask_url(item_of("EG")), {"text": QUESTION})
    assert response.status_code == 403 and not Clarification.objects.exists()


def test_it_lists_open_threads_in_the_review_view(client, secretariat_officer, egypt_focal_point):
    thread = clarifications.ask(item_of("EG"), secretariat_officer, access_for(secretariat_officer), QUESTION)
    signed_in(client, secretariat_officer)
    page = client.get(reverse("review:index")).content.decode()
    assert "1 open clarification" in page and f'href="{thread_url(thread)}"' in page
    jordan = MemberState.objects.get(iso_code="JO")
    assert thread_url(thread) not in client.get(reverse("review:index"), {"state": jordan.pk}).content.decode()
    clarifications.reply(thread, egypt_focal_point, access_for(egypt_focal_point), ANSWER)
    assert thread_url(thread) not in client.get(reverse("review:index")).content.decode()


def test_it_shows_the_threads_read_only_in_the_admin(client, secretariat_officer, reviewer, egypt_focal_point):
    thread = clarifications.ask(item_of("EG"), secretariat_officer, access_for(secretariat_officer), QUESTION)
    signed_in(client, secretariat_officer)
    listing = client.get(reverse("admin:tracker_clarification_changelist"))
    assert listing.status_code == 200 and reverse("admin:tracker_clarification_change", args=[thread.pk]) in (
        listing.content.decode()
    )
    page = client.get(reverse("admin:tracker_clarification_change", args=[thread.pk])).content.decode()
    assert QUESTION in page and 'name="_save"' not in page
    signed_in(client, reviewer)  # the body does not let reviewers ask: not theirs to read in the admin either
    assert client.get(reverse("admin:tracker_clarification_change", args=[thread.pk])).status_code == 302
    assert "0 clarifications" in client.get(reverse("admin:tracker_clarification_changelist")).content.decode()


# --- What is refused ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n ", "x" * (CLARIFICATION_MAX_LENGTH + 1), "a\x00b"])
def test_it_answers_a_bad_message_with_a_form_error(client, secretariat_officer, egypt_focal_point, text):
    item = item_of("EG")
    response = ask(client, secretariat_officer, item, text)
    assert response.status_code == 400 and 'class="errorlist"' in response.content.decode()
    assert not Clarification.objects.exists()
    thread = clarifications.ask(item, secretariat_officer, access_for(secretariat_officer), QUESTION)
    response = signed_in(client, egypt_focal_point).post(thread_url(thread), {"text": text})
    assert response.status_code == 400 and 'class="errorlist"' in response.content.decode()
    thread.refresh_from_db()
    assert thread.state == "open" and thread.messages.count() == 1


def test_it_asks_about_a_submitted_report_of_the_item_only(client, secretariat_officer, egypt_focal_point):
    item, other = item_of("EG"), item_of("EG", "R3")
    data = services.ReportInput(status="in_progress", progress=40, narrative="Protocol drafted.")
    report = services.submit_report(item, egypt_focal_point, access_for(egypt_focal_point), data)
    elsewhere = services.submit_report(other, egypt_focal_point, access_for(egypt_focal_point), data)
    page = signed_in(client, secretariat_officer).get(ask_url(item), {"report": report.pk}).content.decode()
    assert f'<option value="{report.pk}" selected>' in page and f'value="{elsewhere.pk}"' not in page
    assert ask(client, secretariat_officer, item, report=elsewhere.pk).status_code == 400
    assert ask(client, secretariat_officer, item, report=report.pk).status_code == 302
    assert Clarification.objects.get().report == report
    with pytest.raises(ValidationError):
        clarifications.ask(item, secretariat_officer, access_for(secretariat_officer), QUESTION, report=elsewhere)


# --- Queries ----------------------------------------------------------------------------------------------------


def test_it_reads_the_lists_in_a_fixed_number_of_queries(secretariat_officer, egypt_focal_point, egypt_validator):
    officer, focal_point = access_for(secretariat_officer), access_for(egypt_focal_point)
    for reference in ["R1", "R2", "R3"]:
        thread = clarifications.ask(item_of("EG", reference), secretariat_officer, officer, QUESTION)
        clarifications.reply(thread, egypt_focal_point, focal_point, ANSWER)
        clarifications.reply(thread, secretariat_officer, officer, "And the date?")
    item = item_of("EG", "R2")
    item = type(item).objects.select_related("recommendation__meeting__body", "member_state").get(pk=item.pk)
    with CaptureQueriesContext(connection) as home:
        rows = [
            (t.implementation.recommendation.reference, t.implementation.member_state.name, t.asked_by.username)
            for t in clarifications.open_for_home(focal_point, sorted(focal_point.state_ids))
        ]
    assert len(rows) == 3 and len(home) == 1
    with CaptureQueriesContext(connection) as review:
        listed = [
            t.implementation.recommendation.text
            for t in clarifications.open_for_review(officer, item.recommendation.meeting.body)
        ]
    assert len(listed) == 3 and len(review) == 1
    with CaptureQueriesContext(connection) as timeline:
        threads = clarifications.for_item(item, focal_point).threads
        texts = [(m.author.username, m.text) for t in threads for m in t.messages.all()]
    assert len(texts) == 3 and len(timeline) == 2
    assert len(clarifications.open_for_state(item.recommendation.meeting.body_id, item.member_state_id)) == 3


# --- In a browser: the thread in Arabic, on a phone --------------------------------------------------------------


def assert_no_serious_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]]) for v in violations if v["impact"] in {"serious", "critical"}
    ]
    assert serious == [], page.url


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_lets_a_focal_point_answer_in_arabic_on_a_phone(phone, live_server, secretariat_officer, egypt_focal_point):
    FocalPointDesignation.objects.update(summary_seen_at=timezone.now())
    thread = clarifications.ask(item_of("EG"), secretariat_officer, access_for(secretariat_officer), QUESTION)
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    phone.locator("form.language-switch button").click()  # Arabic, right to left
    phone.wait_for_load_state()
    assert_no_serious_violations(phone)  # the home page with its "open clarifications" block
    phone.locator(f'.clarifications-open a[href="{thread_url(thread)}"]').click()
    phone.wait_for_load_state()
    phone.fill("#id_text", ANSWER)
    phone.locator("main form button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator("html").get_attribute("dir") == "rtl"
    messages = phone.locator("main p[dir=auto]")
    assert messages.count() == 2 and ANSWER in messages.nth(1).inner_text()
    # The English question reads left to right inside the right-to-left page, the Arabic answer right to left.
    directions = [messages.nth(i).evaluate("p => getComputedStyle(p).direction") for i in range(2)]
    assert directions == ["ltr", "rtl"]
    scroll = phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert scroll, "the thread scrolls sideways on a phone"
    screenshot(phone, "clarification-thread-ar")
    assert_no_serious_violations(phone)  # with the flash message shown
    phone.goto(f"{live_server.url}{reverse('item', args=[thread.implementation_id])}")
    assert ANSWER in phone.locator(".timeline .entry-clarification").inner_text()  # the thread on the timeline
    assert_no_serious_violations(phone)
    thread.refresh_from_db()
    assert thread.state == "answered"
