"""A body over the size limit (DATA_UPLOAD_MAX_MEMORY_SIZE) is a 413 in the API's problem details, never Django's HTML
400: JSON or multipart, from a partner system or from the browsable API of a signed-in officer, through the test
client and through a real server, whose client must be able to read the answer after writing the whole body."""

import http.client
import json
from urllib.parse import urlsplit

import pytest
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.test import APIClient

from tests.api.support import client_with, make_token
from tests.support.commitments import item_of
from tracker.core import services
from tracker.core.models import ProgressReport, Recommendation
from tracker.core.permissions import access_for

pytest_plugins = ["tests.api.support"]

PROBLEM_JSON = "application/problem+json"
LIMIT = 10_000


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT


def recommendation(text):
    return json.dumps({"meeting": 1, "reference": "R99", "text_en": text, "text_ar": "نص"})


def assert_too_large(response):
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"] == PROBLEM_JSON
    body = response.json()
    assert (body["status"], body["code"], body["title"]) == (413, "too_large", "Request Entity Too Large")


@pytest.fixture
def officer_browsing(secretariat_officer):
    """The secretariat officer in the browsable API: signed in, with the CSRF token a page of it would carry."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(secretariat_officer)
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    client.defaults["HTTP_X_CSRFTOKEN"] = token
    return client


def test_it_answers_an_oversized_body_from_the_browsable_api_with_413_not_an_html_400(officer_browsing, small_limit):
    big = recommendation("x" * (2 * LIMIT))
    page = officer_browsing.post(
        "/api/v1/recommendations/", big, content_type="application/json", HTTP_ACCEPT="text/html"
    )
    assert page.status_code == 413, page.content[:300]
    assert b"Bad Request (400)" not in page.content and b"too_large" in page.content
    assert_too_large(officer_browsing.post("/api/v1/recommendations/", big, content_type="application/json"))
    assert not Recommendation.objects.filter(reference="R99").exists()


def test_it_answers_an_oversized_report_from_a_partner_system_with_413(reference, small_limit):
    egypt_system = client_with(make_token("write", ("EG",), partner="egypt-system"))
    item = item_of("EG")
    body = json.dumps({"status": "in_progress", "progress": 40, "narrative": "x" * (2 * LIMIT)})
    response = egypt_system.post(
        f"/api/v1/implementations/{item.pk}/reports/", body, content_type="application/json", HTTP_IF_MATCH="*"
    )
    assert_too_large(response)
    assert not ProgressReport.objects.filter(implementation=item).exists()


def test_it_answers_an_oversized_multipart_field_with_413(reference, egypt_focal_point, small_limit):
    item = item_of("EG")
    data = services.ReportInput(status="in_progress", progress=40, narrative="A draft law went to parliament.")
    report = services.submit_report(item, egypt_focal_point, access_for(egypt_focal_point), data)
    egypt_system = client_with(make_token("write", ("EG",), partner="egypt-system"))
    response = egypt_system.post(
        f"/api/v1/progress-reports/{report.pk}/evidence/", {"note": "x" * (2 * LIMIT)}, format="multipart"
    )
    assert_too_large(response)
    assert not report.evidence.exists()


def test_it_answers_too_many_query_parameters_with_problem_details(reference):
    egypt_system = client_with(make_token("read", ("EG",), partner="egypt-system"))
    query = "&".join(f"p{number}=1" for number in range(1_100))  # over DATA_UPLOAD_MAX_NUMBER_FIELDS
    for path in ("/api/v1/themes/", "/api/v1/no-such-resource/"):
        response = egypt_system.get(f"{path}?{query}")
        assert response.status_code == 400 and response["Content-Type"] == PROBLEM_JSON, path
        assert response.json()["code"] == "too_many_fields"


def post_then_read(url, path, body, headers):
    """As most clients do: write the whole request, then read the answer."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())
    finally:
        connection.close()


def multipart(name, value):
    boundary = "tracker-test-boundary"
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n--{boundary}--\r\n'
    return body.encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.postgres
def test_it_lets_a_client_of_a_real_server_read_the_413_after_sending_the_body(
    reference, egypt_focal_point, api_server, settings
):
    item = item_of("EG")
    data = services.ReportInput(status="in_progress", progress=40, narrative="A draft law went to parliament.")
    report = services.submit_report(item, egypt_focal_point, access_for(egypt_focal_point), data)
    raw = make_token("write", ("EG",), partner="egypt-system")
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024 * 1024)  # the server's own limit, 5 MB
    auth = {"Authorization": f"Token {raw}"}
    json_body = json.dumps({"status": "in_progress", "progress": 40, "narrative": big}).encode()
    status, content_type, body = post_then_read(
        api_server,
        f"/api/v1/implementations/{item.pk}/reports/",
        json_body,
        {**auth, "Content-Type": "application/json", "If-Match": "*"},
    )
    assert (status, content_type, body["code"]) == (413, PROBLEM_JSON, "too_large")
    form_body, form_type = multipart("note", big)
    status, content_type, body = post_then_read(
        api_server, f"/api/v1/progress-reports/{report.pk}/evidence/", form_body, {**auth, "Content-Type": form_type}
    )
    assert (status, content_type, body["code"]) == (413, PROBLEM_JSON, "too_large")
    assert ProgressReport.objects.filter(implementation=item).count() == 1 and not report.evidence.exists()
