"""The compiled statements of the hot API paths (tracker.api.compiled): the same answers as the querysets."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tracker.api import views
from tracker.api.compiled import CompiledQuery, NotCompilable
from tracker.core.models import Implementation, MemberState

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
