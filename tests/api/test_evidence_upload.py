"""Evidence through the API: a partner system sends its report as JSON, then the report's files as multipart on
their own endpoint, under the focal point form's rules (tracker.core.evidence): the type read from the content, the
size limit, the quotas, with the form's messages. Another state's report is not found, a read-only token may read
the files but not add any, and a sent report takes files only from its sender while it is the item's latest."""

import hashlib
from datetime import date, timedelta

import pytest
import requests
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.support import make_token
from tests.focal.helpers import PDF_BYTES, as_bytes, item_of, report_data
from tracker.core import services
from tracker.core.models import Evidence, ProgressReport, ReviewCycle

pytest_plugins = ["tests.api.support"]
pytestmark = pytest.mark.django_db

EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00 this is a Windows executable"
HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.fixture
def egypt_partner(api):
    """A partner system that reports for Egypt (a read-write token of Egypt)."""
    return api("write", ("EG",), partner="egypt-partner")


def pdf_file(name="minutes.pdf", size=None):
    content = PDF_BYTES if size is None else PDF_BYTES + b"0" * (size - len(PDF_BYTES))
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def named_pdf(name, content):
    """A file whose name (and declared type) says PDF, whatever its content."""
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def send_report(client, item=None):
    """The partner's report on Egypt's item, as JSON (the API's one way to send a report); its id."""
    item = item or item_of("EG")
    body = {"status": "in_progress", "progress": 40, "narrative": "The protocol is drafted."}
    response = client.post(f"/api/v1/implementations/{item.pk}/reports/", body, format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def upload(client, report_id, *files, **extra):
    return client.post(
        f"/api/v1/progress-reports/{report_id}/evidence/",
        {"file": list(files), **extra},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )


# --- Stored, and read back identical -------------------------------------------------------------------


def test_it_stores_a_pdf_sent_after_the_report_and_reads_it_back_identical(egypt_partner):
    report_id = send_report(egypt_partner)
    content = PDF_BYTES + b"the minutes of the inter-agency meeting"
    response = upload(egypt_partner, report_id, named_pdf("minutes.pdf", content))
    assert response.status_code == 201, response.content
    (stored,) = response.json()
    digest = hashlib.sha256(content).hexdigest()
    assert stored["original_name"] == "minutes.pdf" and stored["content_type"] == "application/pdf"
    assert (stored["size"], stored["sha256"], stored["report"]) == (len(content), digest, report_id)
    assert response["Location"] == stored["url"]
    assert egypt_partner.get(stored["url"]).json() == stored

    download = egypt_partner.get(stored["file_url"])
    assert download.status_code == 200
    assert hashlib.sha256(as_bytes(download)).hexdigest() == digest
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="minutes.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Repr-Digest"].startswith("sha-256=:") and download["Cache-Control"] == "private, no-store"
    # The report lists it with its other metadata.
    assert egypt_partner.get(f"/api/v1/progress-reports/{report_id}/").json()["evidence"][0]["sha256"] == digest


def test_it_serves_a_file_under_the_type_of_its_content_not_its_name(egypt_partner):
    report_id = send_report(egypt_partner)
    stored = upload(egypt_partner, report_id, named_pdf("setup.exe", PDF_BYTES)).json()[0]
    download = egypt_partner.get(stored["file_url"], HTTP_ACCEPT="application/pdf")
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="setup.pdf"'


def test_it_stores_several_files_at_once_or_none_of_them(egypt_partner):
    report_id = send_report(egypt_partner)
    refused = upload(egypt_partner, report_id, pdf_file("a.pdf"), named_pdf("b.pdf", EXECUTABLE))
    assert refused.status_code == 400
    assert not Evidence.objects.exists()

    response = upload(egypt_partner, report_id, pdf_file("a.pdf"), pdf_file("b.pdf"))
    assert response.status_code == 201
    assert [f["original_name"] for f in response.json()] == ["a.pdf", "b.pdf"]
    assert response["Location"].endswith(f"/api/v1/progress-reports/{report_id}/evidence/")
    listed = egypt_partner.get(f"/api/v1/progress-reports/{report_id}/evidence/").json()
    assert [f["original_name"] for f in listed] == ["a.pdf", "b.pdf"]


# --- The form's content checks, size limit and quotas -------------------------------------------------


@pytest.mark.parametrize("content", [EXECUTABLE, HTML_PAGE], ids=["executable", "html"])
def test_it_refuses_a_file_named_pdf_whose_content_is_not_one_with_400_naming_it(egypt_partner, content):
    report_id = send_report(egypt_partner)
    response = upload(egypt_partner, report_id, named_pdf("budget.pdf", content))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid"
    assert problem["fields"]["file"] == ["“budget.pdf” is not a PDF, image, Word or Excel file."]
    assert not Evidence.objects.exists()


def test_it_refuses_a_file_over_the_size_limit_with_413_naming_it(egypt_partner, settings):
    settings.EVIDENCE_MAX_BYTES = 1000
    report_id = send_report(egypt_partner)
    response = upload(egypt_partner, report_id, pdf_file("scan.pdf", size=1001))
    assert response.status_code == 413
    problem = response.json()
    assert problem["code"] == "too_large"
    assert problem["fields"]["file"] == ["“scan.pdf” is 1001\xa0bytes, over the limit of 1000\xa0bytes."]
    assert not Evidence.objects.exists()


def test_it_refuses_a_body_larger_than_any_upload_needs_before_reading_it(egypt_partner, settings):
    settings.EVIDENCE_MAX_BYTES, settings.EVIDENCE_MAX_FILES_PER_REPORT = 1000, 1
    report_id = send_report(egypt_partner)
    response = upload(egypt_partner, report_id, pdf_file("huge.pdf", size=1_200_000))
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "a report takes at most 1 file of 1000\xa0bytes" in response.json()["detail"]
    assert not Evidence.objects.exists()


def test_it_refuses_more_files_than_a_report_holds_with_409_and_the_forms_message(egypt_partner, settings):
    settings.EVIDENCE_MAX_FILES_PER_REPORT = 2
    report_id = send_report(egypt_partner)
    assert upload(egypt_partner, report_id, pdf_file("a.pdf"), pdf_file("b.pdf")).status_code == 201
    response = upload(egypt_partner, report_id, pdf_file("c.pdf"))
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "quota_exceeded"
    assert problem["detail"] == "A report holds at most 2 evidence files; this one would have 3."
    assert Evidence.objects.count() == 2


def test_it_refuses_files_over_the_member_states_quota_with_409(egypt_partner, settings):
    settings.EVIDENCE_MAX_BYTES_PER_STATE = 5000
    report_id = send_report(egypt_partner)
    assert upload(egypt_partner, report_id, pdf_file("a.pdf", size=3000)).status_code == 201
    response = upload(egypt_partner, report_id, pdf_file("b.pdf", size=3000))
    assert response.status_code == 409
    assert "over the limit of 4.9\xa0KB for a member state" in response.json()["detail"]
    assert Evidence.objects.count() == 1


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_web_form_and_the_api_refuse_the_same_file_with_the_same_message(
    client, egypt_focal_point, egypt_partner, language
):
    """One rule (tracker.core.evidence.check_file) and one message, whichever way the file comes."""
    file = ("virus.pdf", EXECUTABLE)
    report_id = send_report(egypt_partner, item_of("EG", "R3"))
    response = egypt_partner.post(
        f"/api/v1/progress-reports/{report_id}/evidence/",
        {"file": named_pdf(*file)},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    (message,) = response.json()["fields"]["file"]
    assert "virus.pdf" in message
    assert ("is not a PDF" in message) == (language == "en")  # in the language asked for

    client.force_login(egypt_focal_point)
    client.cookies["django_language"] = language
    item = item_of("EG")
    page = client.post(
        f"/items/{item.pk}/", report_data(item, evidence=[named_pdf(*file)]), HTTP_ACCEPT_LANGUAGE=language
    )
    assert page.status_code == 200
    assert message in page.content.decode()
    assert not Evidence.objects.exists()


# --- Who may add and read files -------------------------------------------------------------------------


def test_it_does_not_find_an_egypt_report_for_a_jordan_token(egypt_partner, api):
    report_id = send_report(egypt_partner)
    stored = upload(egypt_partner, report_id, pdf_file()).json()[0]
    jordan = api("write", ("JO",), partner="jordan-partner")
    for response in (
        upload(jordan, report_id, pdf_file()),
        jordan.get(f"/api/v1/progress-reports/{report_id}/evidence/"),
        jordan.get(f"/api/v1/progress-reports/{report_id}/evidence/{stored['id']}/"),
        jordan.get(f"/api/v1/progress-reports/{report_id}/evidence/{stored['id']}/file/"),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
    assert Evidence.objects.count() == 1


def test_it_lets_a_read_only_token_read_the_files_but_not_add_any(egypt_partner, api):
    report_id = send_report(egypt_partner)
    stored = upload(egypt_partner, report_id, pdf_file()).json()[0]
    reader = api("read", ("EG",), partner="egypt-partner")
    response = upload(reader, report_id, pdf_file("more.pdf"))
    assert response.status_code == 403
    assert response.json()["detail"] == "This token is read-only."
    assert Evidence.objects.count() == 1
    assert as_bytes(reader.get(stored["file_url"])) == PDF_BYTES


def test_it_answers_404_for_a_file_of_another_report(egypt_partner):
    first = send_report(egypt_partner)
    stored = upload(egypt_partner, first, pdf_file()).json()[0]
    second = send_report(egypt_partner, item_of("EG", "R3"))
    assert egypt_partner.get(f"/api/v1/progress-reports/{second}/evidence/{stored['id']}/file/").status_code == 404
    assert egypt_partner.get(f"/api/v1/progress-reports/{2**70}/evidence/").status_code == 404


def test_it_takes_files_from_the_reports_sender_only(egypt_partner, api):
    report_id = send_report(egypt_partner)
    other_system = api("write", ("EG",), partner="another-egypt-partner")
    response = upload(other_system, report_id, pdf_file())
    assert response.status_code == 403
    assert "Only the sender of a report" in response.json()["detail"]
    assert not Evidence.objects.exists()


def test_it_does_not_show_the_states_draft(client, egypt_focal_point, egypt_partner):
    item = item_of("EG")
    client.force_login(egypt_focal_point)
    assert client.post(f"/items/{item.pk}/", report_data(item, action="draft")).status_code == 302
    draft = ProgressReport.objects.get(state=ProgressReport.State.DRAFT)
    assert upload(egypt_partner, draft.pk, pdf_file()).status_code == 404
    assert egypt_partner.get(f"/api/v1/progress-reports/{draft.pk}/evidence/").status_code == 404


# --- Which report still takes files ------------------------------------------------------------------


def test_it_closes_a_report_to_files_once_a_newer_one_is_sent(egypt_partner):
    first = send_report(egypt_partner)
    send_report(egypt_partner)
    response = upload(egypt_partner, first, pdf_file())
    assert response.status_code == 409
    assert response.json()["code"] == "superseded"
    assert not Evidence.objects.exists()


def test_it_closes_a_report_to_files_when_the_close_of_its_cycle_begins(egypt_partner, reference):
    cycle = ReviewCycle.objects.create(
        body=reference,
        name_en="Review cycle 2026-1",
        name_ar="دورة المراجعة 2026-1",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
        report_deadline=date(2026, 6, 15),
        state=ReviewCycle.State.OPEN,
        opened_at=timezone.now(),
    )
    report_id = send_report(egypt_partner)
    assert ProgressReport.objects.get(pk=report_id).cycle == cycle
    services.move_cycle(cycle, ReviewCycle.State.UNDER_REVIEW)
    assert upload(egypt_partner, report_id, pdf_file("a.pdf")).status_code == 201  # still this round's report
    services.close_cycle_now(ReviewCycle.objects.get(pk=cycle.pk))
    response = upload(egypt_partner, report_id, pdf_file("b.pdf"))
    assert response.status_code == 409
    assert response.json()["code"] == "cycle_closed"
    assert Evidence.objects.count() == 1


def test_it_takes_files_on_a_report_awaiting_national_validation(egypt_partner, egypt_requires_validation):
    response = egypt_partner.post(
        f"/api/v1/implementations/{item_of('EG').pk}/reports/",
        {"status": "in_progress", "progress": 40, "narrative": "The protocol is drafted."},
        format="json",
        HTTP_IF_MATCH="*",
    )
    assert response.json()["state"] == "awaiting_validation"
    assert upload(egypt_partner, response.json()["id"], pdf_file()).status_code == 201
    assert ProgressReport.objects.get(pk=response.json()["id"]).evidence.count() == 1


def test_it_hides_an_archived_reports_files_from_partners(egypt_partner):
    report_id = send_report(egypt_partner)
    stored = upload(egypt_partner, report_id, pdf_file()).json()[0]
    ProgressReport.objects.filter(pk=report_id).update(is_archived=True)
    assert egypt_partner.get(stored["file_url"]).status_code == 404
    assert upload(egypt_partner, report_id, pdf_file()).status_code == 404


def test_it_moves_the_report_in_the_sync_when_a_file_is_added(egypt_partner):
    report_id = send_report(egypt_partner)
    sent_at = ProgressReport.objects.get(pk=report_id).updated_at
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert upload(egypt_partner, report_id, pdf_file()).status_code == 201
    assert ProgressReport.objects.get(pk=report_id).updated_at >= sent_at + timedelta(minutes=5)


# --- Bad requests get problem details, not a 500 -------------------------------------------------------


def test_it_refuses_a_json_body_with_415_problem_details(egypt_partner):
    report_id = send_report(egypt_partner)
    response = egypt_partner.post(f"/api/v1/progress-reports/{report_id}/evidence/", {"file": "x"}, format="json")
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unsupported_media_type"


def test_it_refuses_an_upload_without_a_file_or_with_unknown_fields(egypt_partner):
    report_id = send_report(egypt_partner)
    empty = upload(egypt_partner, report_id)
    assert empty.status_code == 400 and "file" in empty.json()["fields"]
    unknown = upload(egypt_partner, report_id, pdf_file(), note="the minutes")
    assert unknown.status_code == 400 and unknown.json()["fields"] == {"note": ["This field does not exist."]}
    not_a_file = upload(egypt_partner, report_id, "just text")
    assert not_a_file.status_code == 400 and list(not_a_file.json()["fields"]) == ["file.0"]  # the first file part
    assert upload(egypt_partner, report_id, SimpleUploadedFile("empty.pdf", b"")).status_code == 400
    assert not Evidence.objects.exists()


def test_it_refuses_an_upload_without_credentials_with_401(reference):
    response = APIClient().post("/api/v1/progress-reports/1/evidence/", {"file": pdf_file()}, format="multipart")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_it_refuses_more_file_parts_than_django_reads_with_problem_details(egypt_partner, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    report_id = send_report(egypt_partner)
    response = upload(egypt_partner, report_id, pdf_file("a.pdf"), pdf_file("b.pdf"), pdf_file("c.pdf"))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "more files or fields" in response.json()["detail"]
    assert not Evidence.objects.exists()


def test_it_shows_a_signed_in_focal_point_the_files_in_the_browsable_api(client, egypt_focal_point, egypt_partner):
    report_id = send_report(egypt_partner)
    upload(egypt_partner, report_id, pdf_file())
    client.force_login(egypt_focal_point)
    page = client.get(f"/api/v1/progress-reports/{report_id}/evidence/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert "minutes.pdf" in page.content.decode()


# --- Through a real server --------------------------------------------------------------------------------


@pytest.mark.postgres
def test_it_takes_a_multipart_upload_from_a_real_client_through_gunicorn(reference, api_server):
    """What a partner's HTTP library sends (requests' multipart, through gunicorn), read back byte for byte."""
    headers = {"Authorization": f"Token {make_token('write', ('EG',), partner='egypt-partner')}"}
    item = item_of("EG")
    sent = requests.post(
        f"{api_server}/api/v1/implementations/{item.pk}/reports/",
        json={"status": "in_progress", "progress": 40, "narrative": "The protocol is drafted."},
        headers={**headers, "If-Match": "*"},
        timeout=20,
    )
    assert sent.status_code == 201, sent.text
    content = PDF_BYTES + bytes(range(256)) * 4000  # 1 MB: spooled to a temporary file by the server
    response = requests.post(
        f"{api_server}/api/v1/progress-reports/{sent.json()['id']}/evidence/",
        files=[("file", ("rapport final.pdf", content, "application/pdf")), ("file", ("photo.png", PNG))],
        headers=headers,
        timeout=20,
    )
    assert response.status_code == 201, response.text
    pdf, png = response.json()
    assert (pdf["content_type"], png["content_type"]) == ("application/pdf", "image/png")
    download = requests.get(pdf["file_url"], headers=headers, timeout=20)
    assert download.content == content
    assert download.headers["Content-Disposition"] == 'attachment; filename="rapport final.pdf"'
    refused = requests.post(
        f"{api_server}/api/v1/progress-reports/{sent.json()['id']}/evidence/",
        files=[("file", ("report.pdf", HTML_PAGE, "application/pdf"))],
        headers=headers,
        timeout=20,
    )
    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "report.pdf" in refused.json()["fields"]["file"][0]
