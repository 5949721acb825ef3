"""Bad input to the API answers a 4xx in the API's one error shape, never a 500: cursors, filters and other
query-string values, and request bodies (deeply nested, too large, NUL characters, over-long values)."""

import base64
import json
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from tests.api.support import etag_of
from tests.api.test_access import READ_ENDPOINTS
from tests.support.bad_input import NUL, postgresql_refuses_nul
from tracker.core.models import Implementation, Meeting, ProgressReport, Recommendation, ReviewCycle

pytest_plugins = ["tests.api.support"]

LIST_ENDPOINTS = [*READ_ENDPOINTS, "focal-points"]


def cursor(text):
    return base64.b64encode(text.encode()).decode()


def assert_error_shape(response, status):
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["status"] == status and body["code"] and body["detail"]
    return body


@pytest.fixture
def secretariat(api):
    return api("write", (), True, partner="secretariat-system")


def egypt_item():
    return Implementation.objects.filter(member_state__iso_code="EG").order_by("pk").first()


# --- Cursors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_cursor",
    [
        cursor("p=abc"),
        cursor("p=\x00"),
        cursor("p=1\x00"),
        cursor("o=1&p=" + "9" * 5000),
        cursor("r=1&p=1e9"),
        "not-base64!",
        cursor("o=-5"),
        "%00",
    ],
)
def test_it_answers_a_malformed_cursor_with_404_on_every_list(secretariat, bad_cursor):
    for endpoint in LIST_ENDPOINTS:
        with postgresql_refuses_nul():
            response = secretariat.get(f"/api/v1/{endpoint}/", {"cursor": bad_cursor})
        body = assert_error_shape(response, 404)
        assert body["code"] == "not_found" and "cursor" in body["detail"].lower(), endpoint


@pytest.mark.parametrize(
    ("endpoint", "ordering"),
    [
        ("implementations", "updated_at"),
        ("implementations", "-updated_at"),
        ("progress-reports", "submitted_at"),
        ("review-cycles", "report_deadline"),
        ("recommendations", "-updated_at"),
    ],
)
def test_it_answers_a_cursor_that_does_not_fit_the_ordering_with_404(secretariat, endpoint, ordering):
    response = secretariat.get(f"/api/v1/{endpoint}/", {"ordering": ordering, "cursor": cursor("p=abc")})
    assert_error_shape(response, 404)


def test_it_still_follows_its_own_cursors(secretariat):
    first = secretariat.get("/api/v1/implementations/", {"page_size": 5, "ordering": "-updated_at"}).json()
    second = secretariat.get(first["next"])
    assert second.status_code == 200 and len(second.json()["results"]) == 5
    plain = secretariat.get("/api/v1/implementations/", {"page_size": 5}).json()
    assert secretariat.get(plain["next"]).status_code == 200


# --- Filters and other query-string values ----------------------------------------------------------------


QUERY_NAMES = [
    "body",
    "meeting",
    "member_state",
    "theme",
    "status",
    "stalled",
    "recommendation",
    "implementation",
    "cycle",
    "state",
    "kind",
    "active",
    "is_public",
    "updated_since",
    "include_archived",
    "ordering",
    "page_size",
    "lang",
    "format",
]


@pytest.mark.parametrize("value", [NUL, f"EG{NUL}", "x" * 5000, "99999999999999999999"])
def test_it_answers_a_bad_query_string_value_with_400_or_ignores_it(secretariat, value):
    for endpoint in LIST_ENDPOINTS:
        for name in QUERY_NAMES:
            with postgresql_refuses_nul():
                response = secretariat.get(f"/api/v1/{endpoint}/", {name: value})
            assert response.status_code in (200, 400, 404), (endpoint, name, response.status_code)
            if response.status_code != 200:
                assert_error_shape(response, response.status_code)


def test_it_names_the_filter_it_refuses(secretariat):
    with postgresql_refuses_nul():
        response = secretariat.get("/api/v1/implementations/", {"member_state": f"EG{NUL}"})
    body = assert_error_shape(response, 400)
    assert body["fields"] == {"member_state": ["Null characters are not allowed."]}


# --- Request bodies ---------------------------------------------------------------------------------------


def post_report(client, body, content_type="application/json"):
    item = egypt_item()
    return client.post(
        f"/api/v1/implementations/{item.pk}/reports/",
        body,
        content_type=content_type,
        HTTP_IF_MATCH=etag_of(client, item),
    )


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_it_answers_deeply_nested_json_with_400(api, depth):
    body = '{"status": "in_progress", "progress": 40, "narrative": ' + "[" * depth + "]" * depth + "}"
    response = post_report(api("write", ("EG",)), body)
    body = assert_error_shape(response, 400)
    assert body["code"] == "parse_error" and "nested" in body["detail"]
    assert not ProgressReport.objects.exists()


def test_it_accepts_json_nested_as_deep_as_a_client_needs(api):
    body = {"status": "in_progress", "progress": 40, "narrative": "Within limits."}
    assert post_report(api("write", ("EG",)), json.dumps(body)).status_code == 201


def test_it_answers_a_body_over_the_size_limit_with_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"status": "in_progress", "progress": 40, "narrative": "x" * 20_000})
    response = post_report(api("write", ("EG",)), body)
    assert_error_shape(response, 413)
    assert not ProgressReport.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        '{"progress": NaN}',
        b'{"narrative": "\xff"}',
        "[]",
        '"text"',
        "",
        '{"progress": 1e400}',
        '{"progress": 99999999999999999999999999}',
    ],
)
def test_it_answers_malformed_json_with_400(api, raw):
    response = post_report(api("write", ("EG",)), raw)
    assert_error_shape(response, 400)
    assert not ProgressReport.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("narrative", f"a{NUL}b"),
        ("obstacles", f"{NUL}"),
        ("support_needed", "x" * 20_001),
        ("status", NUL),
        ("progress", NUL),
    ],
)
def test_it_answers_a_bad_report_field_with_400_naming_it(api, field, value):
    body = {"status": "in_progress", "progress": 40, "narrative": "Draft law.", field: value}
    with postgresql_refuses_nul():
        response = post_report(api("write", ("EG",)), json.dumps(body))
    assert field in assert_error_shape(response, 400)["fields"]
    assert not ProgressReport.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text_en", f"Share{NUL} data."),
        ("reference", f"R{NUL}"),
        ("reference", "R" * 33),
        ("themes", [NUL]),
        ("applies_to", ["E\x00"]),
    ],
)
def test_it_answers_a_bad_recommendation_field_with_400_naming_it(secretariat, field, value):
    meeting = Meeting.objects.get(code="2021-sharm-el-sheikh-workshop")
    body = {
        "meeting": meeting.pk,
        "reference": "R99",
        "text_en": "Share data.",
        "text_ar": "تبادل البيانات.",
        field: value,
    }
    with postgresql_refuses_nul():
        response = secretariat.post("/api/v1/recommendations/", body, format="json")
    assert field in assert_error_shape(response, 400)["fields"]
    assert not Recommendation.objects.filter(reference="R99").exists()


@pytest.mark.parametrize(
    ("field", "value"), [("name_en", f"2027{NUL}"), ("name_ar", "x" * 201), ("period_start", f"2027-01-01{NUL}")]
)
def test_it_answers_a_bad_review_cycle_field_with_400_naming_it(secretariat, reference, field, value):
    body = {
        "body": reference.pk,
        "name_en": "2027 H1",
        "name_ar": "النصف الأول 2027",
        "period_start": "2027-01-01",
        "period_end": "2027-06-30",
        "report_deadline": "2027-06-15",
        field: value,
    }
    with postgresql_refuses_nul():
        response = secretariat.post("/api/v1/review-cycles/", body, format="json")
    assert field in assert_error_shape(response, 400)["fields"]
    assert not ReviewCycle.objects.filter(name_ar="النصف الأول 2027").exists()


def test_it_answers_deeply_nested_json_in_a_patch_with_400(secretariat):
    recommendation = Recommendation.objects.order_by("pk").first()
    etag = secretariat.get(f"/api/v1/recommendations/{recommendation.pk}/")["ETag"]
    response = secretariat.patch(
        f"/api/v1/recommendations/{recommendation.pk}/",
        "[" * 5000 + "]" * 5000,
        content_type="application/json",
        HTTP_IF_MATCH=etag,
    )
    assert assert_error_shape(response, 400)["code"] == "parse_error"


# --- Issue 16: what was silently ignored or clamped is refused, naming what is wrong ------------------------


def test_it_refuses_unknown_fields_in_a_report_naming_them(api):
    body = {"status": "in_progress", "progress": 40, "version": 7, "submitted_at": "2020-01-01T00:00:00Z"}
    response = post_report(api("write", ("EG",)), json.dumps(body))
    fields = assert_error_shape(response, 400)["fields"]
    assert set(fields) == {"version", "submitted_at"}
    assert not ProgressReport.objects.exists()


def test_it_refuses_unknown_fields_in_a_recommendation_naming_them(secretariat):
    meeting = Meeting.objects.get(code="2021-sharm-el-sheikh-workshop")
    body = {"meeting": meeting.pk, "reference": "R99", "position": 99, "text_en": "Share data.", "colour": "red"}
    response = secretariat.post("/api/v1/recommendations/", body, format="json")
    assert set(assert_error_shape(response, 400)["fields"]) == {"colour"}
    assert not Recommendation.objects.filter(reference="R99").exists()


def test_it_refuses_an_implemented_report_whose_narrative_is_only_invisible_characters(api):
    invisible = "\u200b\u200f\u2060 \ufeff\u200e"
    body = {"status": "implemented", "progress": 100, "narrative": invisible}
    response = post_report(api("write", ("EG",)), json.dumps(body))
    assert "narrative" in assert_error_shape(response, 400)["fields"]
    assert not ProgressReport.objects.exists()


@pytest.mark.parametrize("value", ["abc", "0", "-1", "501", "", "1.5"])
def test_it_answers_a_bad_page_size_with_400_naming_it(secretariat, value):
    response = secretariat.get("/api/v1/implementations/", {"page_size": value})
    assert "page_size" in assert_error_shape(response, 400)["fields"]


@pytest.mark.parametrize(
    ("endpoint", "name"),
    [
        ("implementations", "include_archived"),  # found by schemathesis: read as "no filter", not a boolean
        ("commitments", "include_archived"),
        ("recommendations", "include_archived"),
        ("progress-reports", "implementation"),  # found by schemathesis: read as "no filter", every report
        ("progress-reports", "cycle"),
        ("implementations", "recommendation"),
        ("implementations", "stalled"),
        ("review-outcomes", "implementation"),
        ("review-cycles", "state"),
        ("focal-points", "active"),
    ],
)
def test_it_answers_a_typed_filter_given_empty_with_400_naming_it(secretariat, endpoint, name):
    response = secretariat.get(f"/api/v1/{endpoint}/?{name}=")
    assert name in assert_error_shape(response, 400)["fields"]


def test_it_reads_a_code_filter_given_empty_as_no_filter(secretariat):
    """A text filter takes any text: given empty it selects no code, and so filters nothing."""
    everything = secretariat.get("/api/v1/implementations/?page_size=500").json()["results"]
    assert secretariat.get("/api/v1/implementations/?member_state=&page_size=500").json()["results"] == everything


def test_it_answers_an_empty_updated_since_with_400_naming_it(secretariat):
    for endpoint in ("implementations", "progress-reports", "recommendations"):
        response = secretariat.get(f"/api/v1/{endpoint}/?updated_since=")
        assert "updated_since" in assert_error_shape(response, 400)["fields"], endpoint


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/implementations/?page_size=0", 400),
        ("/api/v1/implementations/999999999/", 404),
        ("/api/v1/no-such-resource/", 404),
        ("/api/nowhere", 404),
        ("/api/v1/webhook-endpoints/%0A1/", 404),  # found by schemathesis: a newline in the path was an HTML 404
        ("/api/v1/no%0Awhere/", 404),
    ],
)
def test_it_answers_errors_as_rfc_9457_problem_details(secretariat, path, status):
    response = secretariat.get(path)
    assert response["Content-Type"] == "application/problem+json"
    body = assert_error_shape(response, status)
    assert body["type"] == "about:blank" and body["title"] == HTTPStatus(status).phrase


def test_it_answers_a_missing_token_and_a_stale_write_as_problem_details(api):
    response = APIClient().get("/api/v1/implementations/")
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"
    item = egypt_item()
    partner = api("write", ("EG",))
    read_before = etag_of(partner, item)
    stale = post_report(partner, json.dumps({"status": "in_progress", "progress": 5}))
    assert stale.status_code == 201
    again = partner.post(
        f"/api/v1/implementations/{item.pk}/reports/",
        {"status": "in_progress", "progress": 9},
        format="json",
        HTTP_IF_MATCH=read_before,
    )
    assert again.status_code == 412 and again["Content-Type"] == "application/problem+json"
    assert again.json()["title"] == "Precondition Failed"
