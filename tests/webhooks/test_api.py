"""/api/v1/webhook-endpoints/: a secretariat-level partner system registers its endpoints with its token (the secret
in the answer to a create or a rotation only); other callers are refused; updates need If-Match."""

import pytest
from rest_framework.test import APIClient

from tests.api.support import client_with, make_token
from tests.webhooks.support import endpoint_for, partner, report
from tracker.webhooks.models import Endpoint

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.api.support"]
URL = "/api/v1/webhook-endpoints/"


@pytest.fixture
def regional(reference):
    """A secretariat-level partner system's read-write token."""
    return client_with(make_token("write", (), secretariat=True, partner="regional-system"))


def register(client, **overrides):
    body = {"url": "https://partner.example/hooks", "events": ["report.submitted"], **overrides}
    return client.post(URL, body, format="json")


def test_it_registers_an_endpoint_whose_secret_verifies_the_deliveries(
    regional, egypt_focal_point, receiver, eager_tasks, django_capture_on_commit_callbacks
):
    created = register(regional, url=receiver.url, description="Regional dashboard")
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and created["ETag"] == '"1"' == body["etag"]
    assert (body["events"], body["member_states"], body["is_active"]) == (["report.submitted"], [], True)
    with django_capture_on_commit_callbacks(execute=True):
        report(egypt_focal_point, "EG")
    assert receiver.requests[0].verify(body["secret"])["type"] == "report.submitted"
    listed = regional.get(URL).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]] and "secret" not in listed[0]
    assert "secret" not in regional.get(f"{URL}{body['id']}/").json()


def test_it_rotates_the_secret_and_keeps_the_old_one_for_a_day(regional):
    created = register(regional).json()
    rotated = regional.post(f"{URL}{created['id']}/rotate-secret/")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    endpoint = Endpoint.objects.get()
    assert endpoint.signing_secrets() == [rotated.json()["secret"], created["secret"]]


def test_it_refuses_a_state_level_token_a_read_only_token_and_a_signed_in_officer(
    api, client, secretariat_officer, regional
):
    endpoint = register(regional).json()
    state_level = api("write", ("EG",), partner="egypt-system")
    for response in (state_level.get(URL), register(state_level), state_level.get(f"{URL}{endpoint['id']}/")):
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
    read_only = api("read", (), True, partner="regional-system")
    assert read_only.get(URL).status_code == 200
    assert register(read_only).status_code == 403
    client.force_login(secretariat_officer)
    assert client.get(URL).status_code == 403
    assert APIClient().get(URL).status_code == 401
    assert Endpoint.objects.count() == 1


def test_it_shows_a_partner_only_its_own_endpoints(api, regional):
    other = api("write", (), True, partner="other-system")
    theirs = register(other).json()
    assert regional.get(URL).json()["results"] == []
    assert regional.get(f"{URL}{theirs['id']}/").status_code == 404
    assert (
        regional.patch(f"{URL}{theirs['id']}/", {"description": "x"}, format="json", HTTP_IF_MATCH="*").status_code
        == 404
    )


def test_it_updates_with_if_match_only(regional):
    endpoint = register(regional).json()
    url = f"{URL}{endpoint['id']}/"
    assert regional.patch(url, {"description": "New"}, format="json").status_code == 428
    stale = regional.patch(url, {"description": "New"}, format="json", HTTP_IF_MATCH='"7"')
    assert stale.status_code == 412 and stale.json()["current"]["etag"] == '"1"'
    assert regional.patch(url, {"description": "New"}, format="json", HTTP_IF_MATCH='W/"1"').status_code == 412
    changed = regional.patch(url, {"description": "New", "events": ["cycle.moved"]}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200 and changed["ETag"] == '"2"'
    assert (changed.json()["description"], changed.json()["events"]) == ("New", ["cycle.moved"])


def test_it_pauses_and_enables_an_endpoint(regional):
    endpoint = register(regional).json()
    url = f"{URL}{endpoint['id']}/"
    paused = regional.patch(url, {"is_active": False}, format="json", HTTP_IF_MATCH=endpoint["etag"]).json()
    assert paused["is_active"] is False and paused["disabled_reason"]
    again = regional.patch(url, {"is_active": True}, format="json", HTTP_IF_MATCH=paused["etag"]).json()
    assert again["is_active"] is True and again["disabled_at"] is None


def test_it_registers_an_endpoint_paused_when_asked(regional):
    """Found by schemathesis: `is_active` on a create was a 500."""
    created = register(regional, is_active=False)
    assert created.status_code == 201, created.content
    assert created.json()["is_active"] is False
    endpoint = Endpoint.objects.get()
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, "Paused when registered through the API.")


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"url": "ftp://partner.example/"}, "url"),
        ({"url": "https://user:secret@partner.example/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"events": []}, "events"),
        ({"events": ["report.deleted"]}, "events"),
        ({"member_states": ["XX"]}, "member_states"),
        ({"secret": "whsec_mine"}, "secret"),
        ({"url": "https://partner.example/\x00"}, "url"),
    ],
)
def test_it_refuses_bad_input_with_a_problem_naming_the_field(regional, overrides, field):
    response = register(regional, **overrides)
    assert response.status_code == 400
    assert field in {name.split(".")[0] for name in response.json()["fields"]}  # an item of a list: `events.0`
    assert not Endpoint.objects.exists()


def test_it_keeps_an_endpoint_within_its_tokens_member_states(api):
    jordan = api("write", ("JO",), True, partner="jordan-secretariat")
    created = register(jordan).json()
    assert created["member_states"] == ["JO"]
    refused = register(jordan, member_states=["EG"])
    assert refused.status_code == 400 and "EG" in str(refused.json()["fields"]["member_states"])


def test_it_lets_the_admin_made_endpoint_be_read_by_its_partner(regional):
    endpoint_for(partner("regional-system", secretariat=True), "https://partner.example/x")
    assert len(regional.get(URL).json()["results"]) == 1
