"""Idempotency-Key on the API's POSTs (draft-ietf-httpapi-idempotency-key-header): a retry gets the first answer and
nothing happens twice; the same key on another request is a 422, and while its first request runs a 409; a key is
its client's own, kept 24 hours; a server error is not kept, and a key abandoned by a killed worker is freed."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import include, path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from tests.api.support import client_with, make_token
from tests.focal.helpers import PDF_BYTES
from tests.support.commitments import item_of
from tests.support.packs import two_reviews
from tests.support.services import require_postgres
from tracker.api.models import IdempotencyKey
from tracker.core.models import Evidence, Implementation, ProgressReport, Recommendation
from tracker.review.models import MeetingPack

pytest_plugins = ["tests.api.support"]

KEY = '"8e03978e-40d5-43e8-bc93-6894a57f9324"'
REPORT = {"status": "in_progress", "progress": 40, "narrative": "A draft law went to parliament."}


def reports_url(item):
    return f"/api/v1/implementations/{item.pk}/reports/"


def send_report(client, item, body=None, key=KEY, if_match="*"):
    headers = {"HTTP_IF_MATCH": if_match}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(reports_url(item), body or REPORT, format="json", **headers)


@pytest.fixture
def egypt_system(reference):
    return client_with(make_token("write", ("EG",), partner="egypt-system"))


def test_it_answers_a_retried_report_as_the_first_time_and_files_it_once(egypt_system):
    item = item_of("EG")
    first = send_report(egypt_system, item)
    retried = send_report(egypt_system, item)
    assert first.status_code == retried.status_code == 201
    assert retried.content == first.content and retried["ETag"] == first["ETag"]
    assert retried["Content-Type"] == first["Content-Type"] == "application/json"
    assert retried["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert ProgressReport.objects.filter(implementation=item).count() == 1
    item.refresh_from_db()
    assert item.progress == 40
    another = send_report(egypt_system, item, key='"another-key"')  # a new key: a new report
    assert another.status_code == 201 and ProgressReport.objects.filter(implementation=item).count() == 2


def test_it_takes_the_key_bare_as_well_as_quoted(egypt_system):
    item = item_of("EG")
    assert send_report(egypt_system, item, key="plain-key-1").status_code == 201
    assert send_report(egypt_system, item, key='"plain-key-1"')["Idempotent-Replayed"] == "true"


def test_it_answers_the_same_key_on_a_different_request_with_422(egypt_system):
    item, other = item_of("EG"), item_of("EG", "R3")
    assert send_report(egypt_system, item).status_code == 201
    for response in (
        send_report(egypt_system, item, {**REPORT, "progress": 60}),  # another body
        send_report(egypt_system, other),  # another path
        send_report(egypt_system, item, if_match='"another-tag"'),  # another precondition
    ):
        assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "idempotency_key_reused"
    assert ProgressReport.objects.count() == 1


def test_it_keeps_each_clients_keys_apart(reference):
    egypt_system = client_with(make_token("write", ("EG",), partner="egypt-system"))
    jordan_system = client_with(make_token("write", ("JO",), partner="jordan-system"))
    assert send_report(egypt_system, item_of("EG")).status_code == 201
    jordans = send_report(jordan_system, item_of("JO"))
    assert jordans.status_code == 201 and not jordans.has_header("Idempotent-Replayed")
    assert ProgressReport.objects.count() == 2


def test_it_answers_a_retried_refusal_the_same_and_keeps_no_key_without_a_client(egypt_system):
    item = item_of("EG")
    refused = send_report(egypt_system, item, {**REPORT, "progress": 140})
    again = send_report(egypt_system, item, {**REPORT, "progress": 140})
    assert refused.status_code == again.status_code == 400 and again.content == refused.content
    assert again["Idempotent-Replayed"] == "true"
    anonymous = send_report(APIClient(), item, key='"from-nobody"')
    assert anonymous.status_code == 401 and not IdempotencyKey.objects.filter(key="from-nobody").exists()


@pytest.mark.parametrize("key", ['""', "é-not-ascii", "k" * 256, '"tab\tinside"'])
def test_it_answers_a_malformed_key_with_400(egypt_system, key):
    response = send_report(egypt_system, item_of("EG"), key=key)
    assert response.status_code == 400 and response.json()["code"] == "invalid_idempotency_key"
    assert not ProgressReport.objects.exists()


def test_it_forgets_a_key_after_24_hours(egypt_system):
    item = item_of("EG")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert send_report(egypt_system, item).status_code == 201
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        assert send_report(egypt_system, item, {**REPORT, "progress": 60}).status_code == 422
    with time_machine.travel(start + timedelta(hours=24, minutes=1), tick=False):
        fresh = send_report(egypt_system, item, {**REPORT, "progress": 60})
    assert fresh.status_code == 201 and not fresh.has_header("Idempotent-Replayed")
    assert ProgressReport.objects.filter(implementation=item).count() == 2
    assert IdempotencyKey.objects.count() == 1  # the expired row was deleted as the key was claimed again


def test_it_frees_a_key_whose_request_never_finished(egypt_system):
    """What a worker killed mid-request leaves: the key claimed, no answer."""
    token = egypt_system.get("/api/v1/bodies/").wsgi_request.auth
    started = timezone.now()
    IdempotencyKey.objects.create(
        client=f"token:{token.pk}", key="killed", started_at=started, expires_at=started + timedelta(hours=24)
    )
    item = item_of("EG")
    assert send_report(egypt_system, item, key='"killed"').status_code == 409
    with time_machine.travel(started + timedelta(minutes=6), tick=False):
        taken_over = send_report(egypt_system, item, key='"killed"')
    assert taken_over.status_code == 201 and ProgressReport.objects.filter(implementation=item).count() == 1


def test_it_honours_the_key_on_writes_of_the_secretariat(reference):
    secretariat_system = client_with(make_token("write", (), secretariat=True, partner="secretariat-system"))
    body = {
        "meeting": item_of("EG").recommendation.meeting_id,
        "reference": "R99",
        "text_en": "Share data.",
        "text_ar": "تبادل البيانات.",
        "applies_to": ["EG", "JO"],
    }
    created = [
        secretariat_system.post("/api/v1/recommendations/", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
        for _ in range(2)
    ]
    assert [answer.status_code for answer in created] == [201, 201]
    assert created[1].content == created[0].content and created[1]["ETag"] == created[0]["ETag"]
    assert Recommendation.objects.filter(reference="R99").count() == 1


def test_it_gives_a_retried_pack_request_the_same_location(
    reference, reviewer, secretariat_officer, egypt_focal_point, jordan_focal_point
):
    closed = two_reviews(reference, secretariat_officer, egypt_focal_point, jordan_focal_point)[1]
    client = APIClient()
    client.force_login(reviewer)  # a signed-in reviewer: the key is the user's
    url = f"/api/v1/review-cycles/{closed.pk}/pack/"
    asked = [
        client.post(url, {"language": "ar", "format": "docx"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
        for _ in range(2)
    ]
    assert [answer.status_code for answer in asked] == [202, 202]
    assert asked[1]["Location"] == asked[0]["Location"] and asked[1]["Idempotent-Replayed"] == "true"
    assert MeetingPack.objects.count() == 1


def multipart_file(boundary, name, content):
    """One `file` part, framed by the boundary a client picked (each try may pick another)."""
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
    head += "Content-Type: application/pdf\r\n\r\n"
    return head.encode() + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_it_stores_a_retried_upload_once_whatever_its_boundary(egypt_system):
    report = send_report(egypt_system, item_of("EG"), key=None).json()
    url = f"/api/v1/progress-reports/{report['id']}/evidence/"

    def upload(boundary, content):
        body, content_type = multipart_file(boundary, "minutes.pdf", content)
        return egypt_system.generic("POST", url, body, content_type, HTTP_IDEMPOTENCY_KEY=KEY)

    first = upload("first-try-boundary", PDF_BYTES + b"the minutes")
    retried = upload("second-try-boundary-of-another-length", PDF_BYTES + b"the minutes")
    assert first.status_code == retried.status_code == 201, first.content
    assert retried.content == first.content and retried["Location"] == first["Location"]
    assert retried["Idempotent-Replayed"] == "true"
    other_file = upload("third-try-boundary", PDF_BYTES + b"other minutes")
    assert other_file.status_code == 422
    assert Evidence.objects.filter(report_id=report["id"]).count() == 1


# --- A server error is not kept -----------------------------------------------------------------------------


class FailsOnce(APIView):
    """A POST endpoint whose first call fails as a server error does (a dependency down)."""

    calls = 0

    def post(self, request):
        FailsOnce.calls += 1
        if FailsOnce.calls == 1:
            raise RuntimeError("the dependency is down")
        return Response({"call": FailsOnce.calls}, status=201)


urlpatterns = [
    path("api/v1/fails-once/", FailsOnce.as_view()),
    path("", include("project.urls")),
]


@pytest.mark.urls(__name__)
def test_it_keeps_no_answer_of_a_server_error(reference):
    FailsOnce.calls = 0
    client = client_with(make_token("write", (), secretariat=True, partner="secretariat-system"))
    client.raise_request_exception = False
    answers = [client.post("/api/v1/fails-once/", {}, format="json", HTTP_IDEMPOTENCY_KEY=KEY) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [500, 201, 201]
    assert answers[1].json() == answers[2].json() == {"call": 2}  # the retry ran; the next got its answer
    assert answers[2]["Idempotent-Replayed"] == "true" and FailsOnce.calls == 2


# --- Two requests at once, on PostgreSQL ---------------------------------------------------------------------


@pytest.mark.postgres
def test_it_runs_one_of_two_concurrent_requests_with_one_key(reference, transactional_db):
    require_postgres()
    raw = make_token("write", ("EG",), partner="egypt-system")
    item = item_of("EG")
    answers = []

    def send():
        try:
            answers.append(send_report(client_with(raw), item))
        finally:
            connection.close()

    requests = [threading.Thread(target=send) for _ in range(2)]
    with transaction.atomic():
        # The item locked, as by another writer: whichever request claimed the key waits inside the report service.
        Implementation.objects.select_for_update().get(pk=item.pk)
        for request in requests:
            request.start()
        deadline = time.monotonic() + 30
        while not answers and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [answer.status_code for answer in answers] == [409]  # the other, answered at once
        assert answers[0].json()["code"] == "idempotency_key_in_use"
    for request in requests:
        request.join(timeout=30)
    assert sorted(answer.status_code for answer in answers) == [201, 409]
    assert ProgressReport.objects.filter(implementation=item).count() == 1
    retried = send_report(client_with(raw), item)
    assert retried.status_code == 201 and retried["Idempotent-Replayed"] == "true"
