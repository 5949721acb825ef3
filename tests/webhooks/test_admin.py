"""The admin: an endpoint's secret shown once (at creation and rotation), enabling again, and replaying deliveries."""

import re

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages

from tests.conftest import PASSWORD
from tests.webhooks.support import endpoint_for, item, partner, report
from tracker.webhooks import delivery
from tracker.webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event

pytestmark = pytest.mark.django_db
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


@pytest.fixture
def administrator(reference, client):
    user = User.objects.create_superuser("administrator", "admin@example.org", PASSWORD)
    client.force_login(user)
    return client


def shown(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def act(client, model, action, *objects):
    data = {"action": action, "_selected_action": [o.pk for o in objects]}
    return client.post(f"/admin/webhooks/{model}/", data, follow=True)


def test_it_shows_a_new_endpoints_secret_once(administrator):
    system = partner()
    response = administrator.post(
        "/admin/webhooks/endpoint/add/",
        {
            "partner": system.pk,
            "url": "https://partner.example/hooks",
            "description": "Dashboard",
            "events": ["report.submitted", "cycle.moved"],
        },
        follow=True,
    )
    endpoint = Endpoint.objects.get()
    secrets = SECRET.findall(" ".join(shown(response)))
    assert secrets == [endpoint.secret] and endpoint.events == ["report.submitted", "cycle.moved"]
    page = administrator.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page and "whsec_" not in page


def test_it_refuses_a_url_on_a_private_network(administrator, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = administrator.post(
        "/admin/webhooks/endpoint/add/",
        {"partner": partner().pk, "url": "https://192.168.1.10/hooks", "events": ["cycle.moved"]},
    )
    assert response.status_code == 200 and "private network" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_it_rotates_a_secret_showing_the_new_one_once(administrator):
    endpoint = endpoint_for(partner(), "https://partner.example/hooks")
    old = endpoint.secret
    response = act(administrator, "endpoint", "rotate_secret", endpoint)
    endpoint.refresh_from_db()
    assert SECRET.findall(" ".join(shown(response))) == [endpoint.secret] != [old]
    assert endpoint.signing_secrets() == [endpoint.secret, old]


def test_it_replays_a_failed_delivery_from_the_first_attempt(
    administrator, egypt_focal_point, receiver, eager_tasks, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_RETRY_SECONDS = [5]  # one retry, then failed
    endpoint = endpoint_for(partner(), receiver.url, events=["report.submitted"])
    receiver.answers = [(500, 0), (500, 0)]
    report(egypt_focal_point, "EG")
    failed = Delivery.objects.get()
    delivery.deliver(failed.pk)
    Delivery.objects.filter(pk=failed.pk).update(next_attempt_at=failed.created_at)  # due now
    delivery.deliver(failed.pk)
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == (Delivery.State.FAILED, 2)
    with django_capture_on_commit_callbacks(execute=True):
        response = act(administrator, "delivery", "replay", failed)
    assert "1 delivery queued again." in shown(response)
    failed.refresh_from_db()
    assert (failed.state, failed.attempts, failed.replays) == (Delivery.State.DELIVERED, 1, 1)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1 and len(receiver.requests) == 3
    assert receiver.requests[-1].verify(endpoint.secret)
    log = list(DeliveryAttempt.objects.order_by("pk").values_list("replay", "number", "status_code"))
    assert log == [(0, 1, 500), (0, 2, 500), (1, 1, 200)]
    page = administrator.get(f"/admin/webhooks/delivery/{failed.pk}/change/").content.decode()
    assert "report.submitted" in page and failed.event.webhook_id in page


def test_it_enables_a_disabled_endpoint_again_with_a_fresh_count(administrator, egypt_focal_point):
    endpoint = endpoint_for(partner(), "https://partner.example/hooks")
    delivery.deactivate(endpoint.pk, "Kept failing.")
    Endpoint.objects.filter(pk=endpoint.pk).update(failure_streak=12)
    assert "1 endpoint enabled" in " ".join(shown(act(administrator, "endpoint", "enable", endpoint)))
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failure_streak == 0 and endpoint.disabled_reason == ""


def test_it_lists_deliveries_and_endpoints_for_the_secretariat(administrator, egypt_focal_point):
    endpoint_for(partner(), "https://partner.example/hooks")
    report(egypt_focal_point, "EG")
    for page in ("/admin/webhooks/delivery/", "/admin/webhooks/endpoint/", "/admin/webhooks/delivery/?state=pending"):
        assert administrator.get(page).status_code == 200
    assert "partner.example" in administrator.get("/admin/webhooks/delivery/").content.decode()


def test_it_lets_the_secretariat_manage_endpoints_and_keeps_reviewers_out(client, secretariat_officer, reviewer):
    client.force_login(secretariat_officer)
    assert client.get("/admin/webhooks/endpoint/").status_code == 200
    client.force_login(reviewer)
    assert client.get("/admin/webhooks/endpoint/").status_code == 403


def test_it_announces_an_outcome_and_a_change_of_applies_made_in_the_admin(administrator):
    endpoint_for(partner(), "https://partner.example/hooks", events=["outcome.recorded", "implementation.changed"])
    egypt = item("EG")
    added = administrator.post(
        "/admin/tracker/reviewoutcome/add/",
        {"implementation": egypt.pk, "obstacle_category": "resources", "solution": "Donor funding agreed."},
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    changed = administrator.post(
        f"/admin/tracker/implementation/{egypt.pk}/change/",
        {"applies": "", **inline_management_forms()},
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    types = [event.type for event in Event.objects.order_by("pk")]
    assert types == ["outcome.recorded", "implementation.changed"]
    assert Event.objects.order_by("pk").last().payload["data"]["changed"] == ["applies"]


def inline_management_forms():
    """The implementation page's inlines (reports, outcomes), posted empty."""
    forms = {}
    for prefix in ("reports", "outcomes"):
        forms.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return forms
