"""Who may do what through the API: token scope × member state × endpoint × method."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.support import client_with, make_token
from tracker.api.models import ApiToken
from tracker.core.models import Implementation, Meeting

pytest_plugins = ["tests.api.support"]

READ_ENDPOINTS = [
    "bodies",
    "member-states",
    "themes",
    "meetings",
    "recommendations",
    "implementations",
    "progress-reports",
    "review-cycles",
    "review-outcomes",
]


def item(iso_code):
    return Implementation.objects.filter(member_state__iso_code=iso_code).order_by("pk").first()


def report_on(client, implementation):
    # A client that may not read the item sends any tag: it is refused before the tag matters.
    etag = client.get(f"/api/v1/implementations/{implementation.pk}/").get("ETag", '"unread"')
    return client.post(
        f"/api/v1/implementations/{implementation.pk}/reports/",
        {"status": "in_progress", "progress": 30, "narrative": "Committee formed."},
        format="json",
        HTTP_IF_MATCH=etag,
    )


def new_recommendation(client):
    meeting = Meeting.objects.get(code="2021-sharm-el-sheikh-workshop")
    return client.post(
        "/api/v1/recommendations/",
        {
            "meeting": meeting.pk,
            "reference": "R99",
            "text_en": "Share data.",
            "text_ar": "تبادل البيانات.",
            "applies_to": ["EG", "JO"],
            "themes": ["data-collection-exchange"],
        },
        format="json",
    )


@pytest.mark.parametrize("endpoint", READ_ENDPOINTS + ["focal-points"])
def test_it_answers_401_without_credentials(reference, endpoint):
    response = APIClient().get(f"/api/v1/{endpoint}/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_it_answers_401_for_a_wrong_malformed_revoked_or_expired_token(reference):
    assert client_with("0" * 64).get("/api/v1/bodies/").status_code == 401
    assert client_with("not-hex-é").get("/api/v1/bodies/").status_code == 401
    raw = make_token("read")
    ApiToken.objects.get().revoke()
    assert client_with(raw).get("/api/v1/bodies/").status_code == 401
    raw = make_token("read", expires_days=1)
    assert client_with(raw).get("/api/v1/bodies/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert client_with(raw).get("/api/v1/bodies/").status_code == 401


def test_it_stops_the_tokens_of_an_inactive_partner(reference):
    raw = make_token("read")
    ApiToken.objects.get().partner.__class__.objects.update(is_active=False)
    assert client_with(raw).get("/api/v1/bodies/").status_code == 401


@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
@pytest.mark.parametrize(
    "scope,states,secretariat",
    [
        ("read", (), False),
        ("read", ("EG",), False),
        ("write", ("EG",), False),
        ("write", (), True),
    ],
)
def test_it_lets_every_token_read(api, endpoint, scope, states, secretariat):
    assert api(scope, states, secretariat).get(f"/api/v1/{endpoint}/").status_code == 200


def test_it_shows_a_state_token_only_its_states(api):
    client = api("read", ("EG",))
    listed = client.get("/api/v1/implementations/?page_size=500").json()["results"]
    assert listed and {row["member_state"] for row in listed} == {"EG"}
    assert client.get(f"/api/v1/implementations/{item('EG').pk}/").status_code == 200
    assert client.get(f"/api/v1/implementations/{item('JO').pk}/").status_code == 404


def test_it_hides_reports_and_outcomes_of_other_states(api):
    report_on(api("write", ("JO",)), item("JO"))
    egypt = api("read", ("EG",))
    assert egypt.get("/api/v1/progress-reports/").json()["results"] == []
    jordan = api("read", ("JO",), partner="other")
    assert len(jordan.get("/api/v1/progress-reports/").json()["results"]) == 1


@pytest.mark.parametrize(
    "scope,states,secretariat,expected",
    [
        ("read", (), False, 403),
        ("read", (), True, 403),
        ("write", ("EG",), False, 201),
        ("write", ("JO",), False, 404),
        ("write", (), False, 201),
        ("write", (), True, 201),
    ],
)
def test_it_lets_only_write_tokens_of_the_state_report(api, scope, states, secretariat, expected):
    response = report_on(api(scope, states, secretariat), item("EG"))
    assert response.status_code == expected, response.json()


@pytest.mark.parametrize(
    "scope,secretariat,expected",
    [
        ("read", False, 403),
        ("read", True, 403),
        ("write", False, 403),
        ("write", True, 201),
    ],
)
def test_it_lets_only_secretariat_level_write_tokens_create_recommendations(api, scope, secretariat, expected):
    response = new_recommendation(api(scope, (), secretariat))
    assert response.status_code == expected
    if expected == 403:
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    "scope,secretariat,expected", [("read", True, 403), ("write", False, 403), ("write", True, 201)]
)
def test_it_lets_only_secretariat_level_write_tokens_create_cycles(api, reference, scope, secretariat, expected):
    response = api(scope, (), secretariat).post(
        "/api/v1/review-cycles/",
        {
            "body": reference.pk,
            "name_en": "2027 H1",
            "name_ar": "النصف الأول 2027",
            "period_start": "2027-01-01",
            "period_end": "2027-06-30",
            "report_deadline": "2027-06-15",
        },
        format="json",
    )
    assert response.status_code == expected


@pytest.mark.parametrize("secretariat,expected", [(False, 403), (True, 200)])
def test_it_shows_focal_point_contacts_to_secretariat_level_only(api, egypt_focal_point, secretariat, expected):
    response = api("read", (), secretariat).get("/api/v1/focal-points/")
    assert response.status_code == expected
    if expected == 200:
        [row] = response.json()["results"]
        assert row["email"] == egypt_focal_point.email and row["member_state"] == "EG"


def test_it_names_report_authors_to_secretariat_level_only(api):
    report_on(api("write", ("EG",)), item("EG"))
    assert api("read").get("/api/v1/progress-reports/").json()["results"][0]["author"] is None
    author = api("read", (), True, partner="sec").get("/api/v1/progress-reports/").json()["results"][0]["author"]
    assert author["name"] == "partner-unhcr-partner"


def test_it_lets_signed_in_users_browse_with_their_own_access(egypt_focal_point, client):
    client.force_login(egypt_focal_point)
    listed = client.get("/api/v1/implementations/?page_size=500").json()["results"]
    assert {row["member_state"] for row in listed} == {"EG"}
    assert client.get("/api/v1/implementations/", HTTP_ACCEPT="text/html").status_code == 200
    assert client.get("/api/v1/focal-points/").status_code == 403


def test_it_refuses_reads_to_a_signed_in_user_without_a_role(reference, django_user_model, client):
    client.force_login(django_user_model.objects.create_user("nobody", password="x-strong-password-1"))
    assert client.get("/api/v1/implementations/").status_code == 403
