"""The secretariat records, withdraws and audits the states' agreements, and manages the external frameworks."""

import pytest
from django.urls import reverse

from tests.public.conftest import agree
from tracker.core import publication
from tracker.core.models import Framework, FrameworkTarget, MemberState, PublicationConsent

pytestmark = pytest.mark.django_db


def test_it_records_an_agreement_with_who_recorded_it(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    egypt = MemberState.objects.get(iso_code="EG")
    response = client.post(
        reverse("admin:tracker_publicationconsent_add"),
        {
            "body": reference.pk,
            "member_state": egypt.pk,
            "publishes_progress": "on",
            "agreed_on": "2026-10-01",
            "agreed_by": "Ministry of Interior, letter 7/2026",
        },
    )
    assert response.status_code == 302
    consent = PublicationConsent.objects.get(member_state=egypt)
    assert consent.recorded_by == secretariat_officer and consent.publishes_progress


def test_it_shows_a_clear_error_for_an_undated_agreement(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    egypt = MemberState.objects.get(iso_code="EG")
    response = client.post(
        reverse("admin:tracker_publicationconsent_add"),
        {"body": reference.pk, "member_state": egypt.pk, "publishes_progress": "on"},
    )
    assert response.status_code == 200
    assert "Say when the state agreed." in response.content.decode()
    assert not PublicationConsent.objects.exists()


def test_it_withdraws_agreements_and_keeps_the_history(client, secretariat_officer, published):
    client.force_login(secretariat_officer)
    jordan = PublicationConsent.objects.get(member_state__iso_code="JO")
    response = client.post(
        reverse("admin:tracker_publicationconsent_changelist"),
        {"action": "withdraw", "_selected_action": [jordan.pk]},
    )
    assert response.status_code == 302
    jordan.refresh_from_db()
    assert not jordan.publishes_progress and jordan.recorded_by == secretariat_officer
    assert jordan.history.count() == 2
    assert not publication.published_states().filter(iso_code="JO").exists()


def test_it_lets_the_reviewer_read_but_not_change_agreements(client, reviewer, published):
    client.force_login(reviewer)
    assert client.get(reverse("admin:tracker_publicationconsent_changelist")).status_code == 200
    consent = PublicationConsent.objects.get(member_state__iso_code="EG")
    response = client.post(
        reverse("admin:tracker_publicationconsent_change", args=[consent.pk]), {"publishes_progress": ""}
    )
    assert response.status_code == 403
    consent.refresh_from_db()
    assert consent.publishes_progress


def test_it_manages_framework_targets_and_links_them_to_recommendations(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    gcr = Framework.objects.create(code="gcr", name_en="Global Compact on Refugees", name_ar="الميثاق العالمي")
    target = FrameworkTarget.objects.create(framework=gcr, code="1", title_en="Ease pressures", title_ar="تخفيف")
    assert target.key == "gcr-1"
    page = client.get(reverse("admin:tracker_framework_change", args=[gcr.pk]))
    assert "Ease pressures" in page.content.decode()
    found = client.get(
        reverse("admin:autocomplete"),
        {"term": "Ease", "app_label": "tracker", "model_name": "recommendation", "field_name": "framework_targets"},
    )
    assert found.json()["results"][0]["id"] == str(target.pk)


def test_it_refuses_a_target_code_with_spaces(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    sdg = Framework.objects.create(code="sdg", name_en="SDG", name_ar="أهداف")
    response = client.post(
        reverse("admin:tracker_frameworktarget_add"),
        {"framework": sdg.pk, "code": "10 7", "title_en": "x", "title_ar": "س", "position": 0},
    )
    assert response.status_code == 200 and not FrameworkTarget.objects.exists()


def test_it_has_no_delete_for_agreements(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    consent = agree(reference, "EG")
    response = client.get(reverse("admin:tracker_publicationconsent_delete", args=[consent.pk]))
    assert response.status_code == 403
