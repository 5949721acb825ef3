"""Issue 15, a handover hands over the state's working memory: the successor's welcome e-mail lists the shared
drafts, the reports awaiting validation, the open clarifications and commitments and where the items stand; they
see the same once after signing in, then on request; the outgoing focal point's access ends; drafts are kept."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.focal.helpers import report_data
from tests.support.browser import screenshot
from tests.support.commitments import agree, item_of, promise
from tracker.core import handover, services
from tracker.core.models import (
    Clarification,
    ClarificationMessage,
    FocalPointDesignation,
    ProgressReport,
    ReviewCycle,
)
from tracker.core.permissions import access_for

pytestmark = pytest.mark.django_db

QUESTION = "Which ministry leads the data-sharing protocol?"
ARABIC_LETTERS = re.compile("[\u0600-\u06ff]")


def signed_in(client, user):
    client.force_login(user)
    return client


def ask(item, officer, text=QUESTION):
    """An open clarification of the item, as the secretariat asks it (the thread's first message)."""
    clarification = Clarification.objects.create(implementation=item, asked_by=officer)
    ClarificationMessage.objects.create(
        clarification=clarification, author=officer, from_state=False, text=text, language="en"
    )
    return clarification


def open_cycle(body, deadline_in_days=30):
    today = timezone.localdate()
    return ReviewCycle.objects.create(
        body=body,
        name_en="Cycle 2026-2",
        name_ar="دورة 2026-2",
        state=ReviewCycle.State.OPEN,
        period_start=today - timedelta(days=60),
        period_end=today + timedelta(days=60),
        report_deadline=today + timedelta(days=deadline_in_days),
    )


def hand_over(client, officer, designation, django_capture_on_commit_callbacks, **person):
    """The secretariat's "Hand over" in the admin, with the welcome e-mail sent (on commit)."""
    client.force_login(officer)
    url = reverse("admin:tracker_focalpointdesignation_handover", args=[designation.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"language": "en", **person})
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()
    return FocalPointDesignation.objects.select_related("user").get(user__email=person["email"], end_date=None)


@pytest.fixture
def egypt_in_progress(client, reference, egypt_focal_point, secretariat_officer):
    """Egypt's primary (Ahmed) leaves work under way: a shared draft on R2, an open commitment on R4 (due in ten
    days) and one on R1 (due in sixty), an open clarification on R3; a cycle is open, and Ahmed reported on R6 in
    it with an obstacle (so R6 is stalled until the review records a solution)."""
    open_cycle(reference)
    r2, r6 = item_of("EG", "R2"), item_of("EG", "R6")
    signed_in(client, egypt_focal_point).post(
        f"/items/{r2.pk}/", report_data(r2, action="draft", narrative="Half-written by Ahmed")
    )
    client.post(f"/items/{r6.pk}/", report_data(r6, obstacles="No budget for the training this year."))
    client.logout()
    agree(item_of("EG", "R4"), secretariat_officer, promise("Train the border staff on referrals", days=10))
    agree(item_of("EG", "R1"), secretariat_officer, promise("Publish the referral procedures", days=60))
    ask(item_of("EG", "R3"), secretariat_officer)
    return FocalPointDesignation.objects.get(user=egypt_focal_point)


@pytest.fixture
def youssef(client, secretariat_officer, egypt_in_progress, django_capture_on_commit_callbacks):
    """The secretariat hands Egypt's primary designation over to Youssef, who reads English."""
    return hand_over(
        client,
        secretariat_officer,
        egypt_in_progress,
        django_capture_on_commit_callbacks,
        email="youssef@interior.gov.eg",
        first_name="Youssef",
        last_name="Mansour",
    )


def successor_signs_in(client, designation):
    """Signs in through the sign-in form, as after setting a password from the welcome e-mail."""
    designation.user.set_password(PASSWORD)
    designation.user.save()
    return client.post(
        "/accounts/login/",
        {"username": designation.user.username, "password": PASSWORD},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )


# --- The handover ---------------------------------------------------------------------------------------------


def test_it_ends_the_outgoing_focal_points_access(client, egypt_focal_point, egypt_in_progress, youssef):
    egypt_in_progress.refresh_from_db()
    assert egypt_in_progress.end_date == timezone.localdate()
    signed_in(client, egypt_focal_point)
    assert client.get(f"/items/{item_of('EG', 'R2').pk}/").status_code == 404
    assert client.get("/").status_code == 403
    assert client.get("/summary/").status_code == 403
    assert not handover.needs_summary(egypt_focal_point)  # an ended designation asks nothing of anyone


def test_it_emails_the_successor_the_states_working_memory_in_english(youssef):
    [message] = mail.outbox
    assert message.to == ["youssef@interior.gov.eg"]
    assert message.subject == "You are designated as a national focal point"
    body = message.body
    assert "Dear Youssef Mansour," in body
    assert "You are designated as the Primary national focal point of Egypt for AIMC." in body
    assert "/accounts/reset/" in body
    assert "What Egypt has in progress" in body
    drafts = body.split("Shared drafts")[1]
    assert "R2: draft last changed by Ahmed on" in drafts
    assert f"http://127.0.0.1:8000/items/{item_of('EG', 'R2').pk}/" in drafts
    clarifications = body.split("Open clarifications")[1]
    assert "R3: asked on" in clarifications and QUESTION in clarifications
    assert f"http://127.0.0.1:8000/clarifications/{Clarification.objects.get().pk}/" in clarifications
    commitments = body.split("Open commitments of your state")[1]
    assert commitments.index("R4: due by") < commitments.index("R1: due by")  # the earliest due first
    assert "Train the border staff on referrals" in commitments and "late" not in commitments
    assert "7 recommendations are followed up." in body
    assert "- Not started: 6\n- In progress: 1\n- Stalled: 1\n" in body
    assert "Open review cycle: Cycle 2026-2." in body
    assert "- Reports still due: 6\n- Overdue: 0\n" in body and "- Reported in this cycle: 1" in body
    assert "Reports awaiting national validation" not in body  # none: the section is left out
    assert not ARABIC_LETTERS.search(body)  # in the successor's language, names and all


def test_it_emails_an_arabic_speaking_successor_in_arabic(
    client, secretariat_officer, egypt_in_progress, django_capture_on_commit_callbacks
):
    hand_over(
        client,
        secretariat_officer,
        egypt_in_progress,
        django_capture_on_commit_callbacks,
        email="karim@interior.gov.eg",
        first_name="كريم",
        language="ar",
    )
    body = mail.outbox[0].body
    assert "تم تعيينكم نقطة اتصال وطنية" in body
    assert "- لم يبدأ التنفيذ: 6" in body  # the status counts in Arabic too
    assert "Not started" not in body


def test_it_flags_a_commitment_that_fell_late_in_the_email(
    client, secretariat_officer, egypt_in_progress, django_capture_on_commit_callbacks
):
    with time_machine.travel(datetime.now(UTC) + timedelta(days=20), tick=False):
        hand_over(
            client,
            secretariat_officer,
            egypt_in_progress,
            django_capture_on_commit_callbacks,
            email="youssef@interior.gov.eg",
            first_name="Youssef",
        )
        memory = handover.working_memory(egypt_in_progress.body_id, egypt_in_progress.member_state_id)
    commitments = mail.outbox[0].body.split("Open commitments of your state")[1]
    assert "R4: late, it was due by" in commitments and "R1: due by" in commitments
    assert [c.late for c in memory.commitments] == [True, False] and memory.late_commitments == 1


# --- The first sign-in -------------------------------------------------------------------------------------


def test_it_shows_the_successor_the_summary_once_after_signing_in(client, youssef):
    response = successor_signs_in(client, youssef)
    assert response.redirect_chain[-1] == ("/summary/", 302)
    page = response.content.decode()
    assert "What Egypt has in progress" in page
    assert f'href="/items/{item_of("EG", "R2").pk}/"' in page and "Draft last changed by Ahmed" in page
    thread = f"/clarifications/{Clarification.objects.get().pk}/"
    assert QUESTION in page and f'href="{thread}"' in page
    assert "Train the border staff on referrals" in page and "Publish the referral procedures" in page
    assert "You are a national focal point (Primary) of Egypt for AIMC." in page
    youssef.refresh_from_db()
    assert youssef.summary_seen_at is None  # seeing it is not enough: "Continue" says it was read

    response = client.post("/summary/")
    assert response.status_code == 302 and response.url == "/"
    youssef.refresh_from_db()
    assert youssef.summary_seen_at is not None
    assert QUESTION in client.get(thread).content.decode()  # the predecessor's open question is theirs to answer
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert home.status_code == 200 and home.templates[0].name == "focal/my_state.html"
    assert 'href="/summary/"' in home.content.decode()  # reachable later from the home page
    assert "Half-written by Ahmed" not in home.content.decode()
    assert "What Egypt has in progress" in client.get("/summary/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    client.logout()
    again = successor_signs_in(client, youssef)
    assert again.redirect_chain == [("/", 302)] and again.templates[0].name == "focal/my_state.html"


def test_it_lets_the_successor_continue_and_submit_the_predecessors_draft(client, egypt_focal_point, youssef):
    """A handover that keeps drafts: the one the predecessor started is the successor's to finish."""
    item = item_of("EG", "R2")
    draft = ProgressReport.objects.shared_draft_of(item)
    page = signed_in(client, youssef.user).get(f"/items/{item.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Half-written by Ahmed" in page and "Draft last changed by Ahmed" in page
    response = client.post(f"/items/{item.pk}/", report_data(item, narrative="Finished by Youssef"))
    assert response.status_code == 302
    report = ProgressReport.objects.get(implementation=item)
    assert (report.pk, report.is_submitted, report.narrative) == (draft.pk, True, "Finished by Youssef")
    assert report.author == youssef.user
    assert not handover.working_memory(youssef.body_id, youssef.member_state_id).drafts


def test_it_tells_a_national_validator_they_are_a_validator(
    client,
    reference,
    egypt_focal_point,
    egypt_validator,
    egypt_requires_validation,
    secretariat_officer,
    django_capture_on_commit_callbacks,
):
    open_cycle(reference)
    item = item_of("EG", "R5")
    signed_in(client, egypt_focal_point).post(f"/items/{item.pk}/", report_data(item, narrative="For validation"))
    assert ProgressReport.objects.get(implementation=item).is_awaiting_validation
    client.logout()
    old = FocalPointDesignation.objects.get(user=egypt_validator)
    layla = hand_over(
        client,
        secretariat_officer,
        old,
        django_capture_on_commit_callbacks,
        email="layla@mofa.gov.eg",
        first_name="Layla",
    )
    [message] = mail.outbox
    assert message.subject == "You are designated as a national validator"
    assert "You are designated as the national validator of Egypt for AIMC." in message.body
    assert "focal point" not in message.body.lower()
    awaiting = message.body.split("Reports awaiting national validation")[1]
    assert "R5: sent for validation by Ahmed on" in awaiting
    assert "- Awaiting national validation: 1" in message.body

    response = successor_signs_in(client, layla)  # any role sees the summary once
    assert response.redirect_chain[-1] == ("/summary/", 302)
    page = response.content.decode()
    assert "You are the national validator of Egypt for AIMC." in page
    assert "Sent for validation by Ahmed" in page and f'href="/items/{item.pk}/"' in page


# --- Who sees what ---------------------------------------------------------------------------------------------


def test_it_shows_each_state_only_its_own_working_memory(
    client, egypt_in_progress, jordan_focal_point, secretariat_officer
):
    FocalPointDesignation.objects.filter(user=jordan_focal_point).update(summary_seen_at=None)  # first sign-in
    assert handover.needs_summary(jordan_focal_point)
    response = signed_in(client, jordan_focal_point).get("/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.redirect_chain == [("/summary/", 302)]
    page = response.content.decode()
    assert "What Jordan has in progress" in page
    assert "Ahmed" not in page and QUESTION not in page and "Train the border staff" not in page
    assert "Your state has no shared drafts, reports awaiting validation, open clarifications" in page
    assert signed_in(client, secretariat_officer).get("/summary/").status_code == 403
    client.post("/summary/")
    assert handover.needs_summary(jordan_focal_point)  # the secretariat's "Continue" marks nobody else's


def test_it_marks_only_the_users_own_active_designations_seen(egypt_focal_point, egypt_alternate):
    FocalPointDesignation.objects.update(summary_seen_at=None)  # both sign in for the first time
    assert handover.mark_summary_seen(egypt_alternate) == 1
    assert not handover.needs_summary(egypt_alternate) and handover.needs_summary(egypt_focal_point)
    assert handover.mark_summary_seen(egypt_alternate) == 0  # the first time is kept


# --- Cost ------------------------------------------------------------------------------------------------------


def test_it_gathers_the_working_memory_in_the_same_queries_whatever_the_number_of_items(
    client, egypt_in_progress, egypt_alternate, secretariat_officer, django_assert_num_queries
):
    body_id, state_id = egypt_in_progress.body_id, egypt_in_progress.member_state_id
    with django_assert_num_queries(8):
        few = handover.working_memory(body_id, state_id)
    assert (len(few.drafts), len(few.clarifications), len(few.commitments)) == (1, 1, 2)
    signed_in(client, egypt_alternate).get("/summary/")  # the session and the access are set up first
    with CaptureQueriesContext(connection) as before:
        client.get("/summary/")

    access = access_for(egypt_alternate)
    for reference in ("R3", "R5", "R6", "R7"):
        data = services.ReportInput(status="in_progress", progress=10, narrative=f"Draft of {reference}")
        services.save_draft(item_of("EG", reference), egypt_alternate, access, data)
        agree(item_of("EG", reference), secretariat_officer, promise(f"Promise on {reference}"))
        ask(item_of("EG", reference), secretariat_officer, f"Question on {reference}")
    with django_assert_num_queries(8):
        many = handover.working_memory(body_id, state_id)
    assert (len(many.drafts), len(many.clarifications), len(many.commitments)) == (5, 5, 6)
    with CaptureQueriesContext(connection) as after:
        page = client.get("/summary/")
    assert "Question on R7" in page.content.decode()
    assert len(after.captured_queries) == len(before.captured_queries)


# --- On a phone, in Arabic ----------------------------------------------------------------------------------


def overflow(page):
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def serious_accessibility_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        (v["id"], [n["html"][:200] for n in v["nodes"]])
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_shows_the_summary_on_a_phone_in_arabic(
    chromium, live_server, client, secretariat_officer, egypt_in_progress, django_capture_on_commit_callbacks
):
    successor = hand_over(
        client,
        secretariat_officer,
        egypt_in_progress,
        django_capture_on_commit_callbacks,
        email="youssef@interior.gov.eg",
        first_name="يوسف",
        language="ar",
    )
    successor.user.set_password(PASSWORD)
    successor.user.save()
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="ar")
    phone = context.new_page()
    try:
        context.add_cookies([{"name": "wrt_language", "value": "ar", "url": live_server.url}])
        phone.goto(f"{live_server.url}/accounts/login/")
        phone.fill("#id_username", successor.user.username)
        phone.fill("#id_password", PASSWORD)
        phone.locator("main button[type=submit]").click()
        phone.wait_for_url(f"{live_server.url}/summary/")
        assert phone.locator("html").get_attribute("dir") == "rtl"
        assert phone.locator(".handover-drafts .item-card").count() == 1
        assert phone.locator(".handover-commitments .item-card").count() == 2
        assert overflow(phone) == 0
        assert serious_accessibility_violations(phone) == []
        screenshot(phone, "handover-summary-ar")
        phone.locator("main form button[type=submit]").click()
        phone.wait_for_url(f"{live_server.url}/")
        assert phone.locator("a[href='/summary/']").count() == 1
    finally:
        context.close()
    successor.refresh_from_db()
    assert successor.summary_seen_at is not None
