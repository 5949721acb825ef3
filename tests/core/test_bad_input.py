"""Bad input answers a clear 4xx with a message, never a 500: sign-in, and the core's rules on report texts."""

import pytest
from axes.models import AccessAttempt
from django.core.exceptions import ValidationError

from tests.support.bad_input import NUL, postgresql_refuses_nul
from tracker.core import services
from tracker.core.models import REPORT_TEXT_MAX_LENGTH, Implementation, ProgressReport
from tracker.core.permissions import access_for

pytestmark = pytest.mark.django_db

SIGN_IN_PAGES = ["/accounts/login/", "/admin/login/"]


@pytest.mark.parametrize("url", SIGN_IN_PAGES)
def test_it_answers_an_over_long_username_with_an_error_on_the_sign_in_page(client, egypt_focal_point, url):
    # The lockout (axes) stored the typed name in a column of 255 characters: PostgreSQL refused a longer one with
    # a 500. A name longer than any account's is now a form error: no sign-in is attempted, nothing is recorded.
    response = client.post(url, {"username": "x" * 300, "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "at most 254 characters" in response.content.decode()
    assert not AccessAttempt.objects.exists()


@pytest.mark.parametrize("url", SIGN_IN_PAGES)
def test_it_answers_a_nul_in_the_username_with_an_error_on_the_sign_in_page(client, egypt_focal_point, url):
    with postgresql_refuses_nul():
        response = client.post(url, {"username": f"fp-egypt{NUL}", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()


def test_it_still_signs_in_with_an_e_mail_address_of_254_characters(client, egypt_focal_point):
    address = "a" * 239 + "@example.org.eg"
    assert len(address) == 254
    egypt_focal_point.email = address
    egypt_focal_point.save()
    response = client.post("/accounts/login/", {"username": address, "password": "a-strong-test-password-2021"})
    assert response.status_code == 302


def egypt_item():
    return Implementation.objects.get(recommendation__reference="R2", member_state__iso_code="EG")


@pytest.mark.parametrize("field", ["narrative", "obstacles", "support_needed"])
def test_it_refuses_a_nul_in_a_report_text_in_the_service(egypt_focal_point, field):
    # The service is the one path of the web form, the admin and the API: it must refuse what PostgreSQL refuses.
    data = services.ReportInput(status="in_progress", progress=10, **{field: f"before{NUL}after"})
    with postgresql_refuses_nul(), pytest.raises(ValidationError) as refused:
        services.submit_report(egypt_item(), egypt_focal_point, access_for(egypt_focal_point), data)
    assert field in refused.value.message_dict
    assert not ProgressReport.objects.exists()


@pytest.mark.parametrize("field", ["narrative", "obstacles", "support_needed"])
def test_it_refuses_an_over_long_report_text_in_the_service(egypt_focal_point, field):
    data = services.ReportInput(status="in_progress", progress=10, **{field: "x" * (REPORT_TEXT_MAX_LENGTH + 1)})
    with pytest.raises(ValidationError) as refused:
        services.save_draft(egypt_item(), egypt_focal_point, access_for(egypt_focal_point), data)
    assert "at most 20000 characters" in " ".join(refused.value.message_dict[field])
    assert not ProgressReport.objects.exists()


def test_it_refuses_a_nul_in_a_review_outcome_in_the_service(secretariat_officer):
    with postgresql_refuses_nul(), pytest.raises(ValidationError) as refused:
        services.record_outcome(
            egypt_item(),
            secretariat_officer,
            access_for(secretariat_officer),
            obstacle_category="legal",
            solution=f"a{NUL}b",
            follow_up_by=f"x{NUL}",
        )
    assert {"solution", "follow_up_by"} <= set(refused.value.message_dict)
