"""Focal point pages: what each persona may see and do, validation, conflicts, evidence, language."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.focal.helpers import as_bytes, fake_pdf, item_of, pdf, report_data
from tracker.core.models import Evidence, FocalPointDesignation, Implementation, Profile, ProgressReport

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def test_it_shows_a_focal_point_the_items_of_their_state(client, egypt_focal_point):
    response = signed_in(client, egypt_focal_point).get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.content.count(b'class="item-card"') == 7
    assert b"Egypt" in response.content and b"Jordan" not in response.content


def test_it_shows_the_alternate_the_same_items(client, egypt_alternate):
    response = signed_in(client, egypt_alternate).get("/")
    assert response.content.count(b'class="item-card"') == 7


def test_it_answers_404_for_another_states_item(client, jordan_focal_point):
    assert signed_in(client, jordan_focal_point).get(f"/items/{item_of('EG').pk}/").status_code == 404


def test_it_refuses_a_report_on_another_states_item_and_saves_nothing(client, jordan_focal_point):
    item = item_of("EG")
    response = signed_in(client, jordan_focal_point).post(f"/items/{item.pk}/", report_data(item))
    assert response.status_code == 404
    assert not ProgressReport.objects.exists()


def test_it_cuts_access_at_once_when_a_designation_ends(client, egypt_focal_point):
    FocalPointDesignation.objects.filter(user=egypt_focal_point).update(end_date=timezone.localdate())
    signed_in(client, egypt_focal_point)
    assert client.get("/").status_code == 403
    assert client.get(f"/items/{item_of('EG').pk}/").status_code == 404


def test_it_lets_a_reviewer_see_but_not_report(client, reviewer):
    item = item_of("EG")
    signed_in(client, reviewer)
    assert client.get("/?state=EG").status_code == 200
    assert client.get(f"/items/{item.pk}/").status_code == 200
    assert client.post(f"/items/{item.pk}/", report_data(item)).status_code == 403
    assert not ProgressReport.objects.exists()


def test_it_lets_the_secretariat_choose_a_state(client, secretariat_officer):
    signed_in(client, secretariat_officer)
    assert b"?state=EG" in client.get("/").content
    assert client.get("/?state=EG").content.count(b'class="item-card"') == 7


def test_it_sends_anonymous_visitors_to_sign_in(client, reference):
    for path in ["/", f"/items/{item_of('EG').pk}/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


PERSONAS = ["egypt_focal_point", "egypt_alternate", "jordan_focal_point", "secretariat_officer", "reviewer", None]
EXPECTED = {  # persona: (view EG item, report on EG item)
    "egypt_focal_point": (200, 302),
    "egypt_alternate": (200, 302),
    "jordan_focal_point": (404, 404),
    "secretariat_officer": (200, 302),
    "reviewer": (200, 403),
    None: (302, 302),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_applies_the_permission_matrix(client, request, reference, persona):
    if persona:
        signed_in(client, request.getfixturevalue(persona))
    item = item_of("EG")
    view, report = EXPECTED[persona]
    assert client.get(f"/items/{item.pk}/").status_code == view
    assert client.post(f"/items/{item.pk}/", report_data(item)).status_code == report
    submitted = ProgressReport.objects.submitted().count()
    assert submitted == (1 if report == 302 and persona else 0)


def test_it_submits_a_report_with_evidence_and_shows_it_in_the_timeline(client, egypt_focal_point):
    item = item_of("EG")
    signed_in(client, egypt_focal_point)
    response = client.post(f"/items/{item.pk}/", report_data(item, evidence=pdf()))
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.progress, item.version) == ("in_progress", 30, 2)
    evidence = Evidence.objects.get()
    assert evidence.original_name == "minutes.pdf" and "minutes" not in evidence.file.name
    page = client.get(f"/items/{item.pk}/").content.decode()
    assert "minutes.pdf" in page and "تم إعداد مسودة" in page


def test_it_saves_a_draft_without_changing_the_item(client, egypt_focal_point):
    item = item_of("EG")
    signed_in(client, egypt_focal_point).post(f"/items/{item.pk}/", report_data(item, action="draft"))
    item.refresh_from_db()
    assert ProgressReport.objects.drafts().count() == 1
    assert (item.status, item.version, item.last_reported_at) == ("not_started", 1, None)


def test_it_brings_back_the_draft_and_submits_it_as_the_same_report(client, egypt_focal_point):
    item = item_of("EG")
    signed_in(client, egypt_focal_point).post(f"/items/{item.pk}/", report_data(item, action="draft"))
    assert "تم إعداد مسودة" in client.get(f"/items/{item.pk}/").content.decode()
    client.post(f"/items/{item.pk}/", report_data(item))
    assert ProgressReport.objects.count() == 1
    assert ProgressReport.objects.get().is_submitted


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"progress": 150}, "Progress must be between 0 and 100."),
        ({"progress": -1}, "Progress must be between 0 and 100."),
        ({"status": "implemented", "progress": 100, "narrative": ""}, "Describe what was done"),
        ({"status": "not_started", "progress": 40}, "cannot have progress above 0"),
        ({"status": "in_progress", "progress": 100}, "Progress 100 means implemented"),
        ({"status": "finished"}, "Select a valid choice"),
    ],
)
def test_it_refuses_bad_input_with_field_messages_and_saves_nothing(
    client, egypt_focal_point, overrides, field_message
):
    item = item_of("EG")
    response = signed_in(client, egypt_focal_point).post(
        f"/items/{item.pk}/", report_data(item, **overrides), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert field_message in response.content.decode()
    assert not ProgressReport.objects.exists()
    assert not Evidence.objects.exists()


def test_it_refuses_going_back_to_not_started(client, egypt_focal_point):
    item = item_of("EG")
    signed_in(client, egypt_focal_point).post(f"/items/{item.pk}/", report_data(item))
    item.refresh_from_db()
    response = client.post(f"/items/{item.pk}/", report_data(item, status="not_started", progress=0))
    assert "cannot go back to not started" in response.content.decode()
    assert ProgressReport.objects.count() == 1


def test_it_refuses_a_file_whose_content_is_not_an_allowed_type(client, egypt_focal_point):
    item = item_of("EG")
    response = signed_in(client, egypt_focal_point).post(f"/items/{item.pk}/", report_data(item, evidence=fake_pdf()))
    assert "is not a PDF, image, Word or Excel file" in response.content.decode()
    assert not ProgressReport.objects.exists() and not Evidence.objects.exists()


def test_it_refuses_a_file_over_the_size_limit(client, egypt_focal_point, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    item = item_of("EG")
    response = signed_in(client, egypt_focal_point).post(
        f"/items/{item.pk}/", report_data(item, evidence=pdf(size=2048))
    )
    assert "is 2.0 KB, over the limit of 1.0 KB" in response.content.decode()
    assert not ProgressReport.objects.exists()


def test_it_refuses_a_stale_save_and_keeps_what_was_typed(client, egypt_focal_point, egypt_alternate):
    item = item_of("EG")
    opened_version = item.version
    signed_in(client, egypt_alternate).post(f"/items/{item.pk}/", report_data(item, narrative="Alternate's report."))
    typed = "نص كتبته نقطة الاتصال الأساسية ولا يجوز أن يضيع."
    response = signed_in(client, egypt_focal_point).post(
        f"/items/{item.pk}/", report_data(item, narrative=typed, version=opened_version), HTTP_ACCEPT_LANGUAGE="en"
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert typed in page and "Alternate&#x27;s report." in page and "after you opened the form" in page
    assert ProgressReport.objects.count() == 1


def test_it_serves_evidence_only_to_those_who_may_see_the_item(client, egypt_focal_point, jordan_focal_point):
    item = item_of("EG")
    signed_in(client, egypt_focal_point).post(f"/items/{item.pk}/", report_data(item, evidence=pdf()))
    evidence = Evidence.objects.get()
    response = client.get(f"/evidence/{evidence.pk}/")
    assert response.status_code == 200 and as_bytes(response).startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    assert signed_in(client, jordan_focal_point).get(f"/evidence/{evidence.pk}/").status_code == 404
    client.logout()
    assert client.get(f"/evidence/{evidence.pk}/").status_code == 302


def test_it_keeps_a_draft_and_its_files_to_those_who_report_for_the_state(client, egypt_focal_point, reviewer):
    item = item_of("EG")
    signed_in(client, egypt_focal_point).post(f"/items/{item.pk}/", report_data(item, action="draft", evidence=pdf()))
    evidence = Evidence.objects.get()
    signed_in(client, reviewer)
    assert client.get(f"/evidence/{evidence.pk}/").status_code == 404
    assert "تم إعداد مسودة" not in client.get(f"/items/{item.pk}/").content.decode()


def test_it_remembers_the_chosen_language_for_the_user(client, jordan_focal_point):
    signed_in(client, jordan_focal_point).post("/language/", {"language": "ar", "next": "/"})
    assert Profile.objects.get(user=jordan_focal_point).language == "ar"
    client.cookies.clear()
    client.force_login(jordan_focal_point)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="ar" dir="rtl">' in response.content.decode()


def test_it_negotiates_the_language_from_the_browser(client, reference):
    assert 'dir="rtl"' in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'dir="ltr"' in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_it_signs_in_with_username_or_email(client, egypt_focal_point):
    from tests.conftest import PASSWORD

    response = client.post("/accounts/login/", {"username": "fp-egypt@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_it_locks_an_account_after_repeated_failures(client, egypt_focal_point, settings):
    from tests.conftest import PASSWORD

    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "fp-egypt", "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": "fp-egypt", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_it_sends_a_password_reset_link(client, egypt_focal_point):
    response = client.post("/accounts/password_reset/", {"email": "fp-egypt@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_it_expires_sessions_after_inactivity(client, egypt_focal_point, settings):
    signed_in(client, egypt_focal_point).get("/")
    session = client.session
    assert session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_it_sends_a_strict_content_security_policy(client, reference):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_it_flags_overdue_items_first(client, egypt_focal_point, reference):
    from tracker.core.models import ReviewCycle

    today = timezone.localdate()
    ReviewCycle.objects.create(
        body=reference,
        name_en="Cycle",
        name_ar="دورة",
        state="open",
        period_start=today - timedelta(days=100),
        period_end=today - timedelta(days=10),
        report_deadline=today - timedelta(days=1),
    )
    page = signed_in(client, egypt_focal_point).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count("flag-overdue") == 7
    assert "No report for Cycle, deadline" in page


def test_it_runs_the_same_number_of_queries_whatever_the_number_of_items(
    client, egypt_focal_point, django_assert_max_num_queries, django_assert_num_queries
):
    signed_in(client, egypt_focal_point)
    client.get("/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/")
    meeting = Implementation.objects.first().recommendation.meeting
    for number in range(10):
        meeting.recommendations.create(reference=f"X{number}", text_en="More", text_ar="المزيد")
    client.get("/")  # the summary kept per state is counted again once after a change (tests/core/test_memo.py)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/").content.count(b'class="item-card"') == 17
    assert len(many) == len(few)


def test_it_runs_the_same_number_of_queries_on_the_item_page_whatever_the_timeline(client, egypt_focal_point):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    item = item_of("EG")
    signed_in(client, egypt_focal_point)
    client.post(f"/items/{item.pk}/", report_data(item, evidence=pdf()))
    with CaptureQueriesContext(connection) as one:
        client.get(f"/items/{item.pk}/")
    for progress in (40, 50, 60):
        item.refresh_from_db()
        client.post(f"/items/{item.pk}/", report_data(item, progress=progress, evidence=pdf()))
    with CaptureQueriesContext(connection) as four:
        client.get(f"/items/{item.pk}/")
    assert len(four) == len(one)


def test_it_locks_the_account_whatever_spelling_the_guesses_use(client, egypt_focal_point, settings):
    from tests.conftest import PASSWORD

    spellings = [
        "fp-egypt@example.org",
        "FP-EGYPT@example.org",
        " fp-egypt@example.org ",
        "fp-egypt@EXAMPLE.ORG",
        "FP-Egypt",
    ]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": spellings[attempt % len(spellings)], "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "fp-egypt", "password": PASSWORD})
    assert response.status_code == 429


def test_it_locks_unknown_names_by_address(client, db, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": f"nobody-{attempt}", "password": "wrong"})
    assert client.post("/accounts/login/", {"username": "nobody-else", "password": "x"}).status_code == 429
