"""Incremental sync, filters, pagination, languages and query counts."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api.support import etag_of
from tracker.api import views
from tracker.core.models import Implementation, MemberState, Recommendation, ThematicArea

pytest_plugins = ["tests.api.support"]


def all_pages(client, url):
    rows = []
    while url:
        page = client.get(url).json()
        rows += page["results"]
        url = page["next"]
    return rows


def test_it_returns_only_what_changed_since_the_last_sync(api):
    client = api("write")
    start = timezone.now()
    with time_machine.travel(start):
        first = client.get("/api/v1/implementations/?page_size=500").json()
    assert len(first["results"]) == 7 * 22
    item = Implementation.objects.filter(member_state__iso_code="JO").order_by("pk").first()
    with time_machine.travel(start + timedelta(minutes=5)):
        response = client.post(
            f"/api/v1/implementations/{item.pk}/reports/",
            {"status": "in_progress", "progress": 10},
            format="json",
            HTTP_IF_MATCH=etag_of(client, item),
        )
        assert response.status_code == 201
    with time_machine.travel(start + timedelta(minutes=10)):
        changed = client.get("/api/v1/implementations/", {"updated_since": first["server_time"]}).json()
        assert [row["id"] for row in changed["results"]] == [item.pk]
        reports = client.get("/api/v1/progress-reports/", {"updated_since": first["server_time"]}).json()
        assert len(reports["results"]) == 1
        nothing = client.get("/api/v1/implementations/", {"updated_since": changed["server_time"]}).json()
        assert nothing["results"] == []


def test_it_marks_archived_items_in_the_sync_instead_of_dropping_them(api):
    client = api("read")
    since = timezone.now()
    recommendation = Recommendation.objects.get(reference="R2")
    recommendation.is_archived = True
    recommendation.save()
    synced = all_pages(client, f"/api/v1/implementations/?updated_since={since.isoformat().replace('+', '%2B')}")
    assert len(synced) == 22 and all(row["is_archived"] for row in synced)
    recommendations = client.get("/api/v1/recommendations/", {"updated_since": since.isoformat()}).json()
    assert [(row["reference"], row["is_archived"]) for row in recommendations["results"]] == [("R2", True)]
    # Without updated_since, the plain list shows only current items, unless asked.
    assert len(all_pages(client, "/api/v1/implementations/")) == 6 * 22
    assert len(all_pages(client, "/api/v1/implementations/?include_archived=true")) == 7 * 22


def test_it_pages_with_a_cursor_without_losing_or_repeating_rows(api):
    rows = all_pages(api("read"), "/api/v1/implementations/?page_size=20")
    assert len(rows) == 154 and len({row["id"] for row in rows}) == 154


@pytest.mark.parametrize(
    "query,expected",
    [
        ("member_state=EG,jo", 14),
        ("meeting=2021-sharm-el-sheikh-workshop", 154),
        ("body=aimc&status=not_started", 154),
        ("status=implemented", 0),
        ("theme=data-collection-exchange", None),
        ("stalled=past_target", 22),
        ("stalled=any", 22),
        ("recommendation=999999", 0),
    ],
)
def test_it_filters(api, query, expected):
    Recommendation.objects.filter(reference="R3").update(target_date=timezone.localdate() - timedelta(days=1))
    rows = all_pages(api("read"), f"/api/v1/implementations/?page_size=500&{query}")
    if expected is None:
        theme = ThematicArea.objects.get(code="data-collection-exchange")
        expected = 22 * theme.recommendations.count()
    assert len(rows) == expected
    if "stalled" in query:
        assert all(row["is_stalled"] and "past_target" in row["stalled_reasons"] for row in rows)


@pytest.mark.parametrize(
    "query",
    [
        "updated_since=yesterday",
        "status=finished",
        "stalled=sometimes",
        "page_size=-1&cursor=%%%",
        "cursor=bm90IGEgY3Vyc29y",
        "recommendation=abc",
        "include_archived=perhaps",
        "ordering=secret",
        "member_state=" + "X" * 600,
    ],
)
def test_it_answers_bad_parameters_without_a_server_error(api, query):
    response = api("read").get(f"/api/v1/implementations/?{query}")
    assert response.status_code in (200, 400, 404)
    assert set(response.json()) >= {"status", "code", "detail", "fields"} or "results" in response.json()


def test_it_gives_both_languages_and_picks_the_default(api):
    client = api("read")
    jordan = MemberState.objects.get(iso_code="JO")
    arabic = client.get(f"/api/v1/member-states/{jordan.pk}/?lang=ar").json()
    assert (arabic["name"], arabic["name_en"], arabic["name_ar"]) == ("الأردن", "Jordan", "الأردن")
    english = client.get(f"/api/v1/member-states/{jordan.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["name"] == "Jordan"
    header = client.get(f"/api/v1/member-states/{jordan.pk}/", HTTP_ACCEPT_LANGUAGE="ar")
    assert header.json()["name"] == "الأردن" and header["Content-Language"] == "ar"
    recommendation = client.get("/api/v1/recommendations/?lang=ar").json()["results"][0]
    assert recommendation["text"] == recommendation["text_ar"] and recommendation["text_en"]


def test_it_answers_errors_in_the_chosen_language(api):
    response = api("read").get("/api/v1/implementations/?status=finished&lang=ar")
    assert response.status_code == 400
    assert response.json()["detail"] == "الطلب يحتوي على حقول غير صالحة."


@pytest.mark.parametrize(
    "endpoint",
    [
        "implementations",
        "recommendations",
        "progress-reports",
        "review-outcomes",
        "bodies",
        "meetings",
        "member-states",
        "themes",
        "review-cycles",
        "focal-points",
    ],
)
def test_it_runs_as_many_queries_for_10_rows_as_for_100(api, endpoint, django_assert_num_queries, egypt_focal_point):
    client = api("write", (), True)
    item = Implementation.objects.order_by("pk")
    for implementation in item[:30]:
        client.post(
            f"/api/v1/implementations/{implementation.pk}/reports/",
            {"status": "in_progress", "progress": 5},
            format="json",
            HTTP_IF_MATCH=etag_of(client, implementation),
        )
    counts = {}
    for size in (10, 100):
        views._PER_SECOND.clear()  # both cold: the same work apart from the page size
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/{endpoint}/?page_size={size}").status_code == 200
        counts[size] = len(queries)
    assert counts[10] == counts[100]
    assert counts[100] <= 8


def test_it_lists_a_page_of_implementations_in_six_queries_then_three(api, django_assert_num_queries):
    client = api("read", ("EG", "JO"))
    # The API token (with its scope and states), the sync token, the bodies' change stamps, the stalled constants
    # (bodies, open cycles), the page.
    with django_assert_num_queries(6):
        assert len(client.get("/api/v1/implementations/?page_size=100").json()["results"]) == 14
    # Within the same second, while no body changed, the stalled annotations are reused: the API token, the sync
    # token and the page, which carries the change stamps it is checked against.
    with time_machine.travel(timezone.now(), tick=False):
        client.get("/api/v1/implementations/?page_size=100")
        with django_assert_num_queries(3):
            client.get("/api/v1/implementations/?page_size=100")
