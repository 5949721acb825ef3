"""Commitments in the API: read within the token's scope (as implementations are), filtered, paged by cursor;
marked done by their owners with a write token, through the same service, with clear 4xx errors."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
import yaml
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.focal.helpers import pdf
from tests.support.commitments import agree, item_of, promise, unhcr
from tracker.core import commitments
from tracker.core.models import Commitment, Recommendation
from tracker.core.permissions import access_for

pytest_plugins = ["tests.api.support"]
pytestmark = pytest.mark.django_db

URL = "/api/v1/commitments/"


@pytest.fixture
def agreed(secretariat_officer):
    """Egypt: a state commitment due in 5 days and a partner's in 40; Jordan: one due in 10."""
    egypt_state, egypt_partner = agree(
        item_of("EG"),
        secretariat_officer,
        promise("Sign the protocol", days=5),
        promise("Send two experts", days=40, owner="partner", organisation=unhcr()),
    )
    [jordan] = agree(item_of("JO", "R3"), secretariat_officer, promise("Train officers", days=10))
    return egypt_state, egypt_partner, jordan


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def done(client, commitment, note="The protocol was signed."):
    return client.post(f"{URL}{commitment.pk}/done/", {"note": note}, format="json")


# --- Reading ----------------------------------------------------------------------------------------------


def test_it_shows_a_state_token_only_its_states_commitments(api, agreed):
    egypt_state, egypt_partner, jordan = agreed
    listed = results(api("read", ("EG",)).get(URL))
    assert [row["id"] for row in listed] == [egypt_state.pk, egypt_partner.pk]
    row = listed[1]
    assert (row["member_state"], row["owner"], row["organisation"], row["state"]) == ("EG", "partner", "unhcr", "open")
    assert row["reference"] == "R2" and row["body_code"] == "aimc" and row["is_late"] is False
    assert api("read", ("EG",)).get(f"{URL}{jordan.pk}/").status_code == 404
    assert len(results(api("read").get(URL))) == 3


def test_it_hides_the_commitments_of_confidential_recommendations_from_uncleared_partners(api, agreed):
    Recommendation.objects.filter(reference="R2").update(is_public=False)
    assert [row["member_state"] for row in results(api("read").get(URL))] == ["JO"]
    assert len(results(api("read", (), True, partner="secretariat-system").get(URL))) == 3


def test_it_filters_by_state_lateness_place_and_due_date(api, agreed, egypt_focal_point):
    egypt_state, egypt_partner, jordan = agreed
    commitments.mark_done(egypt_state, egypt_focal_point, access_for(egypt_focal_point), "Signed.")
    client = api("read")
    with time_machine.travel(datetime.now(UTC) + timedelta(days=20), tick=False):
        assert [r["id"] for r in results(client.get(URL, {"late": "true"}))] == [jordan.pk]
        assert [r["id"] for r in results(client.get(URL, {"late": "false"}))] == [egypt_state.pk, egypt_partner.pk]
    assert [r["id"] for r in results(client.get(URL, {"state": "done"}))] == [egypt_state.pk]
    assert [r["id"] for r in results(client.get(URL, {"member_state": "jo,ma"}))] == [jordan.pk]
    assert len(results(client.get(URL, {"body": "aimc"}))) == 3 and not results(client.get(URL, {"body": "other"}))
    soon = (timezone.localdate() + timedelta(days=10)).isoformat()
    assert [r["id"] for r in results(client.get(URL, {"due_before": soon}))] == [egypt_state.pk, jordan.pk]
    assert [r["id"] for r in results(client.get(URL, {"due_after": soon}))] == [egypt_partner.pk, jordan.pk]


@pytest.mark.parametrize(
    "query",
    [{"state": "late"}, {"due_before": "tomorrow"}, {"due_after": "2026-13-01"}, {"cycle": "x"}, {"owner": "me"}],
)
def test_it_answers_bad_filters_with_400(api, agreed, query):
    response = api("read").get(URL, query)
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_it_pages_by_cursor_with_a_constant_number_of_queries(api, agreed, secretariat_officer, egypt_focal_point):
    client = api("read")
    with CaptureQueriesContext(connection) as few:
        first = client.get(URL, {"page_size": 2})
    more = agree(item_of("EG", "R5"), secretariat_officer, promise(), promise(), promise())
    for commitment in more:
        commitments.mark_done(commitment, egypt_focal_point, access_for(egypt_focal_point), "Done.", files=[pdf()])
    with CaptureQueriesContext(connection) as many:
        page = client.get(URL, {"page_size": 2})
    assert len(many) == len(few)
    assert "cursor=" in first.json()["next"]
    seen = [row["id"] for row in page.json()["results"]]
    following = client.get(page.json()["next"]).json()["results"]
    assert not set(seen) & {row["id"] for row in following}
    last = client.get(f"{URL}{more[-1].pk}/").json()
    assert [f["original_name"] for f in last["evidence"]] == ["minutes.pdf"]


def test_it_documents_the_resource_in_the_schema(reference, tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    assert {f"{URL}", f"{URL}{{id}}/", f"{URL}{{id}}/done/"} <= set(paths)
    assert "409" in paths[f"{URL}{{id}}/done/"]["post"]["responses"]


# --- Marking done -----------------------------------------------------------------------------------------


def test_it_lets_a_write_token_of_the_state_mark_its_commitment_done(api, agreed):
    egypt_state = agreed[0]
    response = done(api("write", ("EG",)), egypt_state)
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["state"], body["done_note"]) == (egypt_state.pk, "done", "The protocol was signed.")
    stored = Commitment.objects.get(pk=egypt_state.pk)
    assert stored.state == "done" and stored.done_by.username == "partner-unhcr-partner"


@pytest.mark.parametrize(
    ("scope", "states", "secretariat", "expected"),
    [
        ("read", ("EG",), False, 403),
        ("read", (), True, 403),
        ("write", ("JO",), False, 404),
        ("write", (), True, 200),
    ],
)
def test_it_lets_only_owners_with_a_write_token_mark_a_state_commitment_done(
    api, agreed, scope, states, secretariat, expected
):
    response = done(api(scope, states, secretariat), agreed[0])
    assert response.status_code == expected, response.json()
    assert Commitment.objects.get(pk=agreed[0].pk).state == ("done" if expected == 200 else "open")


def test_it_lets_only_secretariat_level_tokens_mark_a_partners_commitment_done(api, agreed):
    partners = agreed[1]
    refused = done(api("write", ("EG",)), partners)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert Commitment.objects.get(pk=partners.pk).state == "open"
    assert done(api("write", (), True, partner="secretariat-system"), partners).status_code == 200


def test_it_answers_409_when_the_commitment_is_not_open(api, agreed, secretariat_officer):
    egypt_state, egypt_partner, _ = agreed
    client = api("write", ("EG",))
    assert done(client, egypt_state).status_code == 200
    again = done(client, egypt_state, "A second note.")
    assert again.status_code == 409 and again.json()["code"] == "done"
    commitments.drop(egypt_partner, secretariat_officer, access_for(secretariat_officer), "Overtaken.")
    dropped = done(api("write", (), True, partner="secretariat-system"), egypt_partner)
    assert dropped.status_code == 409 and dropped.json()["code"] == "dropped"
    assert Commitment.objects.get(pk=egypt_state.pk).done_note == "The protocol was signed."


@pytest.mark.parametrize("body", [{}, {"note": "   "}, {"note": "x" * 20_001}, {"note": ["a"]}, {"note": "a\x00b"}])
def test_it_answers_a_bad_note_with_400_and_changes_nothing(api, agreed, body):
    response = api("write", ("EG",)).post(f"{URL}{agreed[0].pk}/done/", body, format="json")
    assert response.status_code == 400 and "note" in response.json()["fields"]
    assert Commitment.objects.get(pk=agreed[0].pk).state == "open"


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999999"])
def test_it_answers_404_for_an_unknown_commitment(api, agreed, pk):
    assert api("write", ("EG",)).post(f"{URL}{pk}/done/", {"note": "Done."}, format="json").status_code == 404
