"""The compiled statements of the hot API paths (tracker.api.compiled): the same answers as the querysets."""

from datetime import date, timedelta
from urllib.parse import quote

import orjson
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from tracker.api import views
from tracker.api.authentication import candidates
from tracker.api.compiled import CompiledQuery, NotCompilable
from tracker.api.rows import content_etag
from tracker.api.serializers import ImplementationSerializer
from tracker.api.tokens import token_access
from tracker.core.models import Body, Implementation, MemberState, Recommendation
from tracker.core.querysets import ANNOTATION_PREFIX, StalledContext, StalledReason

pytest_plugins = ["tests.api.support"]


def walk(client, url, link="next"):
    rows, pages = [], 0
    while url:
        page = client.get(url).json()
        rows += page["results"]
        url, pages = page[link], pages + 1
    return rows, pages


@pytest.mark.parametrize("states", [(), ("EG", "JO")])
def test_it_pages_through_compiled_pages_like_the_queryset(api, states):
    client = api("read", states)
    compiled, pages = walk(client, "/api/v1/implementations/?page_size=5")
    # An ordering parameter takes the general queryset path: the rows must be the same, in order.
    general, _ = walk(client, "/api/v1/implementations/?page_size=5&ordering=id")
    assert compiled == general
    assert len(compiled) == (14 if states else 154) and pages > 2


def test_it_pages_backwards_through_compiled_pages(api):
    client = api("read")
    forward, _ = walk(client, "/api/v1/implementations/?page_size=20")
    last_page = client.get("/api/v1/implementations/?page_size=20")
    while last_page.json()["next"]:
        last_page = client.get(last_page.json()["next"])
    backward, _ = walk(client, last_page.json()["previous"], link="previous")
    assert len(backward) + len(last_page.json()["results"]) == len(forward)


def test_it_computes_the_stalled_reasons_of_compiled_pages_at_the_current_time(api):
    client = api("read", ("EG",))
    first = client.get("/api/v1/implementations/").json()["results"]
    assert not any("no_recent_report" in row["stalled_reasons"] for row in first)
    # The same compiled statement a year later: the cut-off is a parameter, not a frozen constant.
    with time_machine.travel(timezone.now() + timedelta(days=365)):
        later = client.get("/api/v1/implementations/").json()["results"]
    assert [row["id"] for row in later] == [row["id"] for row in first]
    assert all("no_recent_report" in row["stalled_reasons"] for row in later)


def test_it_sees_a_new_report_in_the_next_compiled_page(api):
    client = api("write", ("EG",))
    item = Implementation.objects.filter(member_state__iso_code="EG").order_by("pk").first()
    before = client.get("/api/v1/implementations/").json()["results"][0]
    response = client.post(
        f"/api/v1/implementations/{item.pk}/reports/",
        {"status": "in_progress", "progress": 40},
        format="json",
        HTTP_IF_MATCH=before["etag"],
    )
    assert response.status_code == 201
    after = client.get("/api/v1/implementations/").json()["results"][0]
    assert (after["id"], after["progress"], after["version"]) == (item.pk, 40, before["version"] + 1)


def test_it_refuses_to_compile_when_a_field_changes_the_stand_in_value(reference):
    # A number given to a text field becomes text: it could not be found among the parameters.
    query = CompiledQuery("test-mismatch", lambda code: MemberState.objects.filter(iso_code=code).values_list("pk"))
    with pytest.raises(NotCompilable):
        query.rows("k", [-123456789], [1])


def test_it_runs_a_compiled_query_with_each_new_value(reference):
    query = CompiledQuery("test-codes", lambda code: MemberState.objects.filter(iso_code=code).values_list("name_en"))
    assert query.rows("k", ["wrt:code"], ["EG"]) == [("Egypt",)]
    assert query.rows("k", ["wrt:code"], ["JO"]) == [("Jordan",)]
    assert query.rows("k", ["wrt:code"], ["XX"]) == []


def test_it_falls_back_to_the_queryset_when_the_page_cannot_be_compiled(api, monkeypatch):
    def refuse(*args, **kwargs):
        raise NotCompilable("test")

    monkeypatch.setattr(views.IMPLEMENTATION_PAGE, "rows", refuse)
    response = api("read", ("EG",)).get("/api/v1/implementations/")
    assert response.status_code == 200 and len(response.json()["results"]) == 7


# --- The compiled paths against the generic one: the same JSON as the serializer of model instances ---------------

ITEM_FIELDS = set(ImplementationSerializer().fields)


def serialized(access, pk):
    """The item as ImplementationSerializer gives it from a model instance read by the ORM (no compiled statement,
    no row builder): the contract's answer, as canonical JSON (keys sorted)."""
    context = StalledContext.load()
    item = (
        Implementation.objects.visible_to(access)
        .with_stalled_reasons(context)
        .select_related("recommendation__meeting__body", "member_state")
        .get(pk=pk)
    )
    recommendation = item.recommendation
    data = {
        "id": item.pk,
        "recommendation": recommendation.pk,
        "reference": recommendation.reference,
        "meeting_code": recommendation.meeting.code,
        "body_code": recommendation.meeting.body.code,
        "member_state": item.member_state.iso_code,
        "applies": item.applies,
        "is_archived": recommendation.is_archived or not item.applies,
        "status": item.status,
        "progress": item.progress,
        "last_reported_at": item.last_reported_at,
        "last_report_cycle": item.last_report_cycle_id,
        "has_open_obstacle": item.has_open_obstacle,
        "unchanged_cycles": context.unchanged_count(recommendation.meeting.body_id, item.status_changed_at),
        "is_stalled": bool(item.is_stalled),
        "stalled_reasons": [r.value for r in StalledReason if getattr(item, f"{ANNOTATION_PREFIX}{r.value}")],
        "version": item.version,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }
    data["etag"] = content_etag(data)
    assert set(data) == ITEM_FIELDS
    return canonical(ImplementationSerializer(data).data)


def canonical(data):
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)


def access_of(client):
    """The Access of the client's token, as authentication gives it."""
    raw = client._credentials["HTTP_AUTHORIZATION"].removeprefix("Token ")
    ((_auth_token, api_token),) = [pair for pair in candidates(raw[:15]) if pair[1] is not None]
    return token_access(api_token)


@pytest.fixture
def utc(settings):
    """Times in UTC, so that the serializer writes them as the API does (…Z)."""
    settings.TIME_ZONE = "UTC"
    with timezone.override("UTC"):
        yield


@pytest.fixture
def compiled_calls(monkeypatch):
    """How many times the compiled implementations statement answered (a fallback does not count)."""
    calls = []
    answer = views.IMPLEMENTATION_PAGE.rows

    def counted(*args, **kwargs):
        found = answer(*args, **kwargs)
        calls.append(len(found))
        return found

    monkeypatch.setattr(views.IMPLEMENTATION_PAGE, "rows", counted)
    return calls


@pytest.fixture
def varied(reference):
    """Items of every kind: reported on, archived, no longer applying, past target, with an open obstacle."""
    egypt = Implementation.objects.filter(member_state__iso_code="EG").order_by("pk")
    first, second, third = egypt[0], egypt[1], egypt[2]
    Implementation.objects.filter(pk=first.pk).update(
        status="in_progress", progress=40, last_reported_at=timezone.now()
    )
    Implementation.objects.filter(pk=second.pk).update(has_open_obstacle=True)
    Implementation.objects.filter(pk=third.pk).update(applies=False)
    Recommendation.objects.filter(pk=egypt[3].recommendation_id).update(is_archived=True)
    Recommendation.objects.filter(pk=egypt[4].recommendation_id).update(target_date=date(2020, 1, 1))
    return list(egypt.values_list("pk", flat=True))


def unfold(response):
    """The page's rows, each as canonical JSON."""
    assert response.status_code == 200, response.content
    return [canonical(row) for row in response.json()["results"]]


def test_it_answers_an_item_as_the_serializer_does_from_the_model(api, varied, utc, compiled_calls):
    client = api("read", ("EG",))
    access = access_of(client)
    for pk in varied:
        response = client.get(f"/api/v1/implementations/{pk}/")
        assert response.status_code == 200
        assert canonical(response.json()) == serialized(access, pk)
        assert response["ETag"] == response.json()["etag"]
    assert compiled_calls == [1] * len(varied)  # every item came from the compiled statement


def test_it_answers_an_item_from_the_queryset_with_the_same_bytes_when_the_statement_cannot_compile(
    api, varied, monkeypatch
):
    client = api("read", ("EG",))
    compiled = [client.get(f"/api/v1/implementations/{pk}/") for pk in varied]

    def refuse(*args, **kwargs):
        raise NotCompilable("test")

    monkeypatch.setattr(views.IMPLEMENTATION_PAGE, "rows", refuse)
    general = [client.get(f"/api/v1/implementations/{pk}/") for pk in varied]
    assert [(r.content, r["ETag"]) for r in compiled] == [(r.content, r["ETag"]) for r in general]
    assert client.get(f"/api/v1/implementations/{varied[0]}/", HTTP_IF_NONE_MATCH=general[0]["ETag"]).status_code == 304


def test_it_answers_304_and_404_on_the_compiled_item_path(api, varied, compiled_calls):
    client = api("read", ("EG",))
    etag = client.get(f"/api/v1/implementations/{varied[0]}/")["ETag"]
    assert client.get(f"/api/v1/implementations/{varied[0]}/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    jordan = Implementation.objects.filter(member_state__iso_code="JO").first()
    assert client.get(f"/api/v1/implementations/{jordan.pk}/").status_code == 404  # not visible to the token
    assert client.get(f"/api/v1/implementations/{2**63}/").status_code == 404  # beyond bigint: the queryset says
    assert compiled_calls == [1, 1, 0]


@pytest.mark.parametrize(
    "query",
    [
        "member_state=EG,JO&stalled=any",
        "member_state=EG&status=in_progress",
        "changed_since={token}",
        "updated_since={since}",
    ],
)
def test_it_answers_filtered_and_sync_pages_as_the_serializer_does(api, varied, utc, compiled_calls, query):
    client = api("read", ("EG", "JO"))
    access = access_of(client)
    token = client.get("/api/v1/implementations/?page_size=500").json()["sync_token"]
    since = timezone.now()
    changed = Implementation.objects.filter(pk__in=varied[:3])
    for item in changed:
        item.progress = 60
        item.save(update_fields=["progress", "updated_at"])
    url = "/api/v1/implementations/?page_size=4&" + query.format(token=token, since=quote(since.isoformat()))
    compiled_calls.clear()
    rows, pages = [], 0
    while url:
        response = client.get(url)
        rows += unfold(response)
        url, pages = response.json()["next"], pages + 1
    # Every page came from the compiled statement; but a changed_since page on PostgreSQL, where the token is the
    # oldest transaction running (this test's own): the recommendations `varied` changed count as changed since, the
    # build's read answers otherwise than when it was compiled, and the page is the queryset's, as it must be.
    from_queryset = "changed_since" in query and connection.vendor == "postgresql"
    assert rows and len(compiled_calls) == (0 if from_queryset else pages)
    assert rows == [serialized(access, orjson.loads(row)["id"]) for row in rows]
    if "since" in query:
        assert {orjson.loads(row)["id"] for row in rows} >= set(varied[:3])


def test_it_answers_a_filtered_page_from_the_queryset_alike_when_the_statement_cannot_compile(api, varied, monkeypatch):
    client = api("read", ("EG", "JO"))
    url = "/api/v1/implementations/?member_state=EG,JO&stalled=any&page_size=5"
    compiled = unfold(client.get(url))

    def refuse(*args, **kwargs):
        raise NotCompilable("test")

    monkeypatch.setattr(views.IMPLEMENTATION_PAGE, "rows", refuse)
    assert unfold(client.get(url)) == compiled and len(compiled) == 3  # the open obstacle; past target in EG and JO


def test_it_follows_a_change_of_the_bodys_thresholds_in_the_next_answer(api, varied):
    client = api("read", ("EG",))
    reported = varied[0]  # reported on today
    before = client.get(f"/api/v1/implementations/{reported}/").json()
    assert "no_recent_report" not in before["stalled_reasons"]
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        body = Body.objects.get(code="aimc")
        body.stale_after_days = 1  # stamps the body: the stamps the stalled context is built from move
        body.save()
        after = client.get(f"/api/v1/implementations/{reported}/").json()
    assert "no_recent_report" in after["stalled_reasons"] and after["etag"] != before["etag"]


@pytest.mark.django_db(transaction=True)  # each write its own transaction: its own stamp
def test_it_reads_a_page_again_when_its_statement_finds_the_bodies_changed(api, varied, compiled_calls):
    client = api("read", ("EG",))
    reported = varied[0]
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):  # one second: one context per stamps
        before = client.get(f"/api/v1/implementations/{reported}/").json()
        Body.objects.filter(code="aimc").update(stale_after_days=1)  # stamps the body, whatever the path
        after = client.get(f"/api/v1/implementations/{reported}/").json()
    assert "no_recent_report" not in before["stalled_reasons"] and "no_recent_report" in after["stalled_reasons"]
    assert compiled_calls == [1, 1, 1]  # the second answer's first read carried new stamps: read again, with them


@pytest.mark.django_db(transaction=True)  # each write its own transaction: its own stamp
def test_it_checks_an_empty_page_against_the_bodies_stamps_read_apart(api, varied):
    client = api("read", ("EG",))
    url = "/api/v1/implementations/?stalled=no_recent_report"
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        assert unfold(client.get(url)) == []
        Body.objects.filter(code="aimc").update(stale_after_days=1)
        assert len(unfold(client.get(url))) == len(varied) - 2  # not the archived, nor the one not applying
