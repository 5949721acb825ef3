"""Two-factor sign-in for staff means everywhere: pages, exports, outcomes, the session API, cycle moves."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD
from tracker.core.models import Implementation, ReviewCycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def mandatory(settings):
    settings.OTP_REQUIRED_FOR_SECRETARIAT = True


def sign_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def code_of(device):
    return str(totp(device.bin_key)).zfill(6)


STAFF_SURFACES = ["/review/", "/review/export.csv", "/review/report/", "/admin/", "/?state=EG"]


def test_it_sends_staff_with_only_a_password_to_the_second_factor_everywhere(
    client, mandatory, secretariat_officer, reference
):
    sign_in(client, secretariat_officer)
    item = Implementation.objects.first()
    for url in [*STAFF_SURFACES, reverse("review:outcome", args=[item.pk]), f"/items/{item.pk}/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/"), url


def test_it_refuses_the_session_api_to_staff_with_only_a_password(client, mandatory, secretariat_officer):
    sign_in(client, secretariat_officer)
    response = client.get("/api/v1/focal-points/")
    assert (response.status_code, response.json()["code"]) == (403, "second_factor_required")


def test_it_moves_no_cycle_for_staff_with_only_a_password(client, mandatory, secretariat_officer, reference):
    from django.utils import timezone

    today = timezone.localdate()
    cycle = ReviewCycle.objects.create(
        body=reference, name_en="C", name_ar="د", period_start=today, period_end=today, report_deadline=today
    )
    sign_in(client, secretariat_officer)
    client.post(reverse("review:move_cycle"), {"cycle": cycle.pk, "target": "open"})
    cycle.refresh_from_db()
    assert cycle.state == "planned"


def test_it_enrols_an_authenticator_and_accepts_the_first_correct_code(client, mandatory, reviewer):
    sign_in(client, reviewer)
    page = client.get("/accounts/two-factor/?next=/review/").content.decode()
    assert "<svg" in page
    device = TOTPDevice.objects.get(user=reviewer, confirmed=False)
    response = client.post("/accounts/two-factor/", {"code": code_of(device), "next": "/review/"})
    assert (response.status_code, response["Location"]) == (302, "/review/")
    device.refresh_from_db()
    assert device.confirmed and client.get("/review/").status_code == 200


def test_it_refuses_a_wrong_code_and_keeps_the_enrolment_open(client, mandatory, reviewer):
    sign_in(client, reviewer)
    client.get("/accounts/two-factor/")
    response = client.post("/accounts/two-factor/", {"code": "000000"})
    assert response.status_code == 400 and "not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=reviewer, confirmed=True).exists()
    assert client.get("/review/").status_code == 302


def test_it_asks_for_the_code_of_an_existing_authenticator_even_when_optional(client, secretariat_officer):
    device = TOTPDevice.objects.create(user=secretariat_officer, name="phone", confirmed=True)
    sign_in(client, secretariat_officer)
    assert client.get("/review/").status_code == 302
    assert client.post("/accounts/two-factor/", {"code": code_of(device), "next": "/review/"}).status_code == 302
    assert client.get("/review/").status_code == 200


def test_it_only_follows_local_next_addresses_after_the_code(client, secretariat_officer):
    device = TOTPDevice.objects.create(user=secretariat_officer, name="phone", confirmed=True)
    sign_in(client, secretariat_officer)
    response = client.post("/accounts/two-factor/", {"code": code_of(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_it_leaves_focal_points_to_their_password(client, mandatory, egypt_focal_point):
    sign_in(client, egypt_focal_point)
    assert client.get("/").status_code == 200
