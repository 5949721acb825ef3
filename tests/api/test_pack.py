"""The meeting pack through the API: asked for (202), followed, downloaded; only by clients that may review."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from tests.support.packs import make_cycle, pdf_text, two_reviews
from tracker.review.models import MeetingPack

pytest_plugins = ["tests.api.support"]


@pytest.fixture
def closed(reference, secretariat_officer, egypt_focal_point, jordan_focal_point):
    return two_reviews(reference, secretariat_officer, egypt_focal_point, jordan_focal_point)[1]


def pack_url(cycle, *rest):
    return "/".join([f"/api/v1/review-cycles/{cycle.pk}/pack", *map(str, rest)]) + "/"


def test_it_builds_a_pack_for_a_secretariat_level_partner_and_serves_the_file(api, closed, settings):
    settings.PACK_INLINE_MAX_ITEMS = 1000  # built at once: the status says ready
    client = api("write", secretariat=True)
    response = client.post(pack_url(closed), {"language": "en", "format": "pdf"}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == body["status_url"] and body["status_url"].endswith(pack_url(closed, body["id"]))
    assert (body["state"], body["progress"], body["language"], body["format"]) == ("ready", 100, "en", "pdf")
    status = client.get(pack_url(closed, body["id"])).json()
    assert status["file_url"].endswith(pack_url(closed, body["id"], "file"))
    download = client.get(status["file_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "Stalled items and why" in pdf_text(b"".join(download.streaming_content))


def test_it_queues_a_large_pack_and_answers_409_for_its_file_until_it_is_ready(api, closed, settings):
    settings.PACK_INLINE_MAX_ITEMS = 10
    client = api("write", secretariat=True)
    body = client.post(pack_url(closed), {"language": "ar", "format": "docx"}, format="json").json()
    assert (body["state"], body["file_url"]) == ("queued", None)
    early = client.get(pack_url(closed, body["id"], "file"), HTTP_ACCEPT="application/pdf")
    assert early.status_code == 409 and early.json()["code"] == "conflict"


def test_it_lets_a_reviewer_ask_through_the_session(reviewer, closed):
    client = APIClient()
    client.force_login(reviewer)
    response = client.post(pack_url(closed), {"language": "ar", "format": "docx"}, format="json")
    assert response.status_code == 202 and response.json()["state"] == "ready"


@pytest.mark.parametrize(
    "scope, secretariat, states, message",
    [
        ("write", False, (), "Only the secretariat, reviewers and secretariat-level partners"),
        ("write", True, ("EG",), "Only the secretariat, reviewers and secretariat-level partners"),
        ("read", True, (), "This token is read-only."),
    ],
)
def test_it_refuses_clients_that_may_not_review(api, closed, scope, secretariat, states, message):
    client = api(scope, states, secretariat)
    response = client.post(pack_url(closed), {"language": "en", "format": "pdf"}, format="json")
    assert response.status_code == 403 and message in response.json()["detail"]
    assert not MeetingPack.objects.exists()


def test_it_lets_a_read_only_secretariat_token_follow_a_pack(api, closed):
    pack = MeetingPack.objects.create(cycle=closed, language="en", format="pdf")
    response = api("read", secretariat=True).get(pack_url(closed, pack.pk))
    assert response.status_code == 200 and response.json()["state"] == "queued"


def test_it_refuses_a_focal_point(egypt_focal_point, closed):
    pack = MeetingPack.objects.create(cycle=closed, language="en", format="pdf")
    client = APIClient()
    client.force_login(egypt_focal_point)
    assert client.post(pack_url(closed), {"language": "en", "format": "pdf"}, format="json").status_code == 403
    assert client.get(pack_url(closed, pack.pk)).status_code == 403
    assert client.get(pack_url(closed, pack.pk, "file")).status_code == 403


def test_it_asks_for_credentials(closed):
    assert APIClient().post(pack_url(closed), {"language": "en", "format": "pdf"}, format="json").status_code == 401


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"language": "fr", "format": "pdf"}, "language"),
        ({"language": "ar", "format": "exe"}, "format"),
        ({}, "format"),
    ],
)
def test_it_answers_bad_fields_with_400(api, closed, payload, field):
    response = api("write", secretariat=True).post(pack_url(closed), payload, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]


def test_it_answers_404_for_an_unknown_cycle_or_pack(api, closed):
    client = api("write", secretariat=True)
    assert client.post("/api/v1/review-cycles/424242/pack/", {"language": "en", "format": "pdf"}).status_code == 404
    other = MeetingPack.objects.create(cycle=closed, language="en", format="pdf")
    assert client.get(f"/api/v1/review-cycles/424242/pack/{other.pk}/").status_code == 404
    assert client.get(pack_url(closed, 424242)).status_code == 404


def test_it_answers_409_while_the_cycle_is_being_closed(api, reference):
    cycle = make_cycle(reference, "2026-1", dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    type(cycle).objects.filter(pk=cycle.pk).update(state="closing")
    response = api("write", secretariat=True).post(pack_url(cycle), {"language": "en", "format": "pdf"}, format="json")
    assert response.status_code == 409 and "is being closed" in response.json()["detail"]


def test_it_documents_the_pack_in_the_schema(client, db):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/review-cycles/{cycle_id}/pack/" in schema
    assert "/api/v1/review-cycles/{cycle_id}/pack/{id}/file/" in schema
    assert schema.count("operationId: review_cycles_pack_") == 3
