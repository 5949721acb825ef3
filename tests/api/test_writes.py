"""Safe writes: ETag / If-Match on every update, the web form's rules on reports, one error format."""

import pytest

from tracker.core.models import Implementation, Meeting, ProgressReport, Recommendation, ReviewCycle

pytest_plugins = ["tests.api.support"]


@pytest.fixture
def egypt(api):
    return api("write", ("EG",))


@pytest.fixture
def secretariat(api):
    return api("write", (), True, partner="secretariat-system")


def egypt_item():
    return Implementation.objects.filter(member_state__iso_code="EG").order_by("pk").first()


def report(client, item, etag, **data):
    body = {"status": "in_progress", "progress": 40, "narrative": "Draft law sent to parliament.", **data}
    headers = {"HTTP_IF_MATCH": etag} if etag is not None else {}
    return client.post(f"/api/v1/implementations/{item.pk}/reports/", body, format="json", **headers)


def test_it_gives_items_an_etag_and_accepts_a_report_with_it(egypt):
    item = egypt_item()
    read = egypt.get(f"/api/v1/implementations/{item.pk}/")
    assert read["ETag"] == read.json()["etag"] and read["ETag"].startswith('"')
    response = report(egypt, item, read["ETag"])
    assert response.status_code == 201
    assert response["ETag"] == egypt.get(f"/api/v1/implementations/{item.pk}/")["ETag"] != read["ETag"]
    assert response.json()["progress"] == 40
    item.refresh_from_db()
    assert (item.status, item.progress, item.version) == ("in_progress", 40, 2)


def test_it_requires_if_match_with_428(egypt):
    item = egypt_item()
    for etag in (None, "", "  "):
        response = report(egypt, item, etag)
        assert response.status_code == 428
        assert response.json()["code"] == "if_match_required"
    assert not ProgressReport.objects.exists()


def test_it_reads_if_match_as_rfc_9110_says(egypt):
    """`*` matches any current item; a list matches if one of its tags does; a weak tag never matches a write."""
    item = egypt_item()
    etag = egypt.get(f"/api/v1/implementations/{item.pk}/")["ETag"]
    assert report(egypt, item, f"W/{etag}").status_code == 412  # the strong comparison a write needs
    assert report(egypt, item, f'"7", W/{etag}').status_code == 412
    assert report(egypt, item, f'"7", {etag}').status_code == 201
    assert report(egypt, item, "*").status_code == 201
    item.refresh_from_db()
    assert item.version == 3 and ProgressReport.objects.count() == 2


def test_it_applies_the_same_if_match_rules_to_an_update(api):
    secretariat = api("write", (), True, partner="secretariat-system")
    recommendation = Recommendation.objects.order_by("pk").first()
    url = f"/api/v1/recommendations/{recommendation.pk}/"
    etag = secretariat.get(url)["ETag"]
    assert (
        secretariat.patch(url, {"target_date": "2030-01-01"}, format="json", HTTP_IF_MATCH=f"W/{etag}").status_code
        == 412
    )
    assert (
        secretariat.patch(url, {"target_date": "2030-01-01"}, format="json", HTTP_IF_MATCH=f'"x", {etag}').status_code
        == 200
    )


def test_it_refuses_a_stale_write_with_412_and_the_current_version(egypt, api):
    item = egypt_item()
    etag = egypt.get(f"/api/v1/implementations/{item.pk}/")["ETag"]
    other_writer = api("write", ("EG",), partner="second-system")
    assert report(other_writer, item, etag, progress=60).status_code == 201
    response = report(egypt, item, etag, progress=10)
    assert response.status_code == 412
    body = response.json()
    assert body["current_version"] == 2 and body["current"]["progress"] == 60
    assert response["ETag"] == body["current"]["etag"] == egypt.get(f"/api/v1/implementations/{item.pk}/")["ETag"]
    # Nothing lost: the first write stands, the second was not applied.
    assert ProgressReport.objects.count() == 1
    assert report(egypt, item, response["ETag"], progress=70).status_code == 201


def test_it_treats_an_unparseable_if_match_as_stale(egypt):
    assert report(egypt, egypt_item(), '"yesterday"').status_code == 412


def test_it_applies_the_web_form_rules_with_field_messages(egypt):
    item = egypt_item()
    etag = egypt.get(f"/api/v1/implementations/{item.pk}/")["ETag"]
    response = report(egypt, item, etag, status="implemented", progress=80, narrative="")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["fields"]) == {"progress", "narrative"}
    response = report(egypt, item, etag, status="done", progress="a lot")
    assert set(response.json()["fields"]) == {"status", "progress"}
    assert not ProgressReport.objects.exists()


def test_it_refuses_going_back_to_not_started(egypt):
    item = egypt_item()
    first = report(egypt, item, egypt.get(f"/api/v1/implementations/{item.pk}/")["ETag"])
    assert first.status_code == 201
    response = report(egypt, item, first["ETag"], status="not_started", progress=0)
    assert response.status_code == 400
    assert "status" in response.json()["fields"]


@pytest.mark.parametrize("payload", ["not json", "[]", '{"progress": null}', '{"status": ["x"], "progress": {}}'])
def test_it_answers_bad_bodies_with_400(egypt, payload):
    response = egypt.post(
        f"/api/v1/implementations/{egypt_item().pk}/reports/",
        payload,
        content_type="application/json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_it_creates_a_recommendation_with_its_implementations(secretariat):
    meeting = Meeting.objects.get(code="2021-sharm-el-sheikh-workshop")
    response = secretariat.post(
        "/api/v1/recommendations/",
        {
            "meeting": meeting.pk,
            "reference": "R8",
            "text_en": "Share data.",
            "text_ar": "تبادل البيانات.",
            "applies_to": ["EG", "JO"],
        },
        format="json",
    )
    assert response.status_code == 201
    created = Recommendation.objects.get(reference="R8")
    applying = created.implementations.filter(applies=True)
    assert sorted(applying.values_list("member_state__iso_code", flat=True)) == ["EG", "JO"]
    duplicate = secretariat.post(
        "/api/v1/recommendations/",
        {
            "meeting": meeting.pk,
            "reference": "R8",
            "text_en": "Again.",
            "text_ar": "مرة أخرى.",
        },
        format="json",
    )
    assert duplicate.status_code == 400


def test_it_updates_a_recommendation_only_with_a_current_etag(secretariat):
    recommendation = Recommendation.objects.get(reference="R1")
    url = f"/api/v1/recommendations/{recommendation.pk}/"
    etag = secretariat.get(url)["ETag"]
    assert secretariat.patch(url, {"is_public": False}, format="json").status_code == 428
    response = secretariat.patch(url, {"is_archived": True}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200 and response.json()["is_archived"] is True
    assert response["ETag"] != etag
    stale = secretariat.patch(url, {"text_en": "Overwritten."}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["current"]["is_archived"] is True
    recommendation.refresh_from_db()
    assert recommendation.text_en != "Overwritten."


def test_it_never_deletes(secretariat):
    recommendation = Recommendation.objects.get(reference="R1")
    assert secretariat.delete(f"/api/v1/recommendations/{recommendation.pk}/").status_code == 405


def test_it_moves_a_review_cycle_through_the_service(secretariat, reference):
    created = secretariat.post(
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
    assert created.status_code == 201 and created.json()["state"] == "planned"
    url = f"/api/v1/review-cycles/{created.json()['id']}/"
    opened = secretariat.patch(url, {"state": "open"}, format="json", HTTP_IF_MATCH=created["ETag"])
    assert opened.status_code == 200 and opened.json()["opened_at"]
    closed = secretariat.patch(url, {"state": "closed"}, format="json", HTTP_IF_MATCH=opened["ETag"])
    assert closed.status_code == 400
    assert "cannot become" in closed.json()["fields"]["non_field_errors"][0]
    assert ReviewCycle.objects.get().state == "open"


def test_it_checks_cycle_dates(secretariat, reference):
    response = secretariat.post(
        "/api/v1/review-cycles/",
        {
            "body": reference.pk,
            "name_en": "Backwards",
            "name_ar": "معكوسة",
            "period_start": "2027-06-30",
            "period_end": "2027-01-01",
            "report_deadline": "2027-01-15",
        },
        format="json",
    )
    assert response.status_code == 400
    assert not ReviewCycle.objects.exists()
