"""Who sees what, on every face: access is per (body, member state), and confidential means confidential.

Two bodies share Egypt: the Egyptian focal point is designated for AIMC only, so the other body's Egyptian
item is not theirs. AIMC's R1 is confidential: partners not cleared for it never see it.
"""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.support import client_with, make_token
from tracker.core import services
from tracker.core.models import Body, Implementation, Meeting, MemberState, Recommendation
from tracker.core.permissions import access_for

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.api.support"]


@pytest.fixture
def other_body_item(reference):
    """Egypt's item of a recommendation of a second body (a UNHCR expert group with Egypt and Jordan)."""
    body = Body.objects.create(code="unhcr-mena", acronym_en="MENA-EG", name_en="MENA expert group", name_ar="فريق")
    body.member_states.set(MemberState.objects.filter(iso_code__in=["EG", "JO"]))
    meeting = Meeting.objects.create(body=body, code="mena-2025", kind="workshop", title_en="MENA", title_ar="م")
    recommendation = Recommendation.objects.create(
        meeting=meeting, reference="M1", text_en="x", text_ar="س", is_public=True
    )
    return Implementation.objects.get(recommendation=recommendation, member_state__iso_code="EG")


@pytest.fixture
def confidential_item(reference):
    recommendation = Recommendation.objects.get(reference="R1", meeting__body=reference)
    Recommendation.objects.filter(pk=recommendation.pk).update(is_public=False)
    Recommendation.objects.exclude(pk=recommendation.pk).update(is_public=True)
    return Implementation.objects.get(recommendation=recommendation, member_state__iso_code="EG")


def session_api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def submitted_report_with_evidence(item, officer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.focal.helpers import PDF_BYTES

    pdf = SimpleUploadedFile("law.pdf", PDF_BYTES, content_type="application/pdf")
    pdf.detected_type = "application/pdf"
    data = services.ReportInput(status="in_progress", progress=10, narrative="Draft law.")
    return services.submit_report(item, officer, access_for(officer), data, files=[pdf])


def test_it_keeps_another_bodys_item_of_the_same_state_from_its_focal_point(
    client, egypt_focal_point, other_body_item, secretariat_officer
):
    client.force_login(egypt_focal_point)
    assert client.get(reverse("item", args=[other_body_item.pk])).status_code == 404
    assert f"/items/{other_body_item.pk}/" not in client.get("/").content.decode()
    report = submitted_report_with_evidence(other_body_item, secretariat_officer)
    assert client.get(reverse("evidence", args=[report.evidence.get().pk])).status_code == 404


def test_it_refuses_a_report_on_another_bodys_item_in_the_service(egypt_focal_point, other_body_item):
    from django.core.exceptions import PermissionDenied

    data = services.ReportInput(status="in_progress", progress=10, narrative="x")
    with pytest.raises(PermissionDenied):
        services.submit_report(other_body_item, egypt_focal_point, access_for(egypt_focal_point), data)


def test_it_keeps_another_bodys_item_out_of_the_session_api(egypt_focal_point, other_body_item):
    api = session_api(egypt_focal_point)
    listed = api.get("/api/v1/implementations/?page_size=500").json()["results"]
    assert other_body_item.pk not in {row["id"] for row in listed} and listed
    assert api.get(f"/api/v1/implementations/{other_body_item.pk}/").status_code == 404


def test_it_shows_a_focal_point_the_confidential_item_of_their_own_state(client, egypt_focal_point, confidential_item):
    client.force_login(egypt_focal_point)
    assert client.get(reverse("item", args=[confidential_item.pk])).status_code == 200


def test_it_hides_confidential_recommendations_from_a_partner_not_cleared(api, confidential_item):
    egypt_reader = api("read", ["EG"])
    recommendations = egypt_reader.get("/api/v1/recommendations/?page_size=500").json()["results"]
    assert confidential_item.recommendation_id not in {row["id"] for row in recommendations} and recommendations
    items = egypt_reader.get("/api/v1/implementations/?page_size=500").json()["results"]
    assert confidential_item.pk not in {row["id"] for row in items} and items
    assert egypt_reader.get(f"/api/v1/implementations/{confidential_item.pk}/").status_code == 404
    assert egypt_reader.get(f"/api/v1/recommendations/{confidential_item.recommendation_id}/").status_code == 404


def test_it_hides_confidential_reports_and_outcomes_from_a_partner_not_cleared(
    api, confidential_item, secretariat_officer
):
    submitted_report_with_evidence(confidential_item, secretariat_officer)
    reports = api("read", ["EG"]).get("/api/v1/progress-reports/").json()["results"]
    assert reports == []


def test_it_shows_confidential_recommendations_to_a_cleared_partner(reference, confidential_item):
    from tracker.api.tokens import ensure_partner

    ensure_partner("unhcr-cleared", "UNHCR").__class__.objects.filter(code="unhcr-cleared").update(
        cleared_for_confidential=True
    )
    cleared = client_with(make_token("read", ["EG"], partner="unhcr-cleared"))
    assert cleared.get(f"/api/v1/implementations/{confidential_item.pk}/").status_code == 200
    assert cleared.get(f"/api/v1/recommendations/{confidential_item.recommendation_id}/").status_code == 200


def test_it_lets_the_secretariat_and_reviewers_see_everything(
    secretariat_officer, reviewer, confidential_item, other_body_item
):
    for person in (secretariat_officer, reviewer):
        visible = Implementation.objects.visible_to(access_for(person))
        assert {confidential_item.pk, other_body_item.pk} <= set(visible.values_list("pk", flat=True))
