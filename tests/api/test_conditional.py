"""Conditional reads (RFC 9110): every item's detail carries an ETag, and If-None-Match naming it answers 304 with
no body; the view's own ETag (the one its writes check) where it has one, one of the item as rendered elsewhere."""

import pytest

from tests.api.support import client_with, make_token
from tests.support.commitments import agree, item_of, promise, review_cycle
from tracker.core import services
from tracker.core.models import Meeting
from tracker.core.permissions import access_for

pytest_plugins = ["tests.api.support"]

RESOURCES = [
    "bodies",
    "member-states",
    "themes",
    "meetings",
    "recommendations",
    "implementations",
    "progress-reports",
    "review-cycles",
    "review-outcomes",
    "focal-points",
    "commitments",
]
# The resources whose rows carry their ETag (`etag`), the one If-Match checks.
OWN_ETAG = {"recommendations", "implementations", "review-cycles"}


@pytest.fixture
def one_of_each(reference, secretariat_officer, egypt_focal_point):
    """Egypt's focal point reported on R2; the secretariat agreed a commitment on it in a cycle under review."""
    item = item_of("EG")
    data = services.ReportInput(status="in_progress", progress=40, narrative="A draft law went to parliament.")
    services.submit_report(item, egypt_focal_point, access_for(egypt_focal_point), data)
    agree(item, secretariat_officer, promise(), cycle=review_cycle(reference))


@pytest.fixture
def secretariat_system(one_of_each):
    """A partner system acting for the secretariat: it reads every resource."""
    return client_with(make_token("read", (), secretariat=True, partner="secretariat-system"))


def first_detail(client, resource):
    listed = client.get(f"/api/v1/{resource}/")
    assert listed.status_code == 200 and listed.json()["results"], resource
    return f"/api/v1/{resource}/{listed.json()['results'][0]['id']}/"


@pytest.mark.parametrize("resource", RESOURCES)
def test_it_gives_every_item_an_etag_and_answers_if_none_match_with_304(secretariat_system, resource):
    url = first_detail(secretariat_system, resource)
    read = secretariat_system.get(url)
    etag = read["ETag"]
    assert read.status_code == 200 and etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    if resource in OWN_ETAG:
        assert etag == read.json()["etag"]
    for named in (etag, f"W/{etag}", "*", f'"something-else", {etag}'):
        again = secretariat_system.get(url, HTTP_IF_NONE_MATCH=named)
        assert again.status_code == 304, named
        assert again["ETag"] == etag and again.content == b""
    assert secretariat_system.head(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    changed = secretariat_system.get(url, HTTP_IF_NONE_MATCH='"something-else"')
    assert changed.status_code == 200 and changed.json() == read.json()


def test_it_moves_the_etag_when_the_item_changes(secretariat_system):
    meeting = Meeting.objects.get(code="2021-sharm-el-sheikh-workshop")
    url = f"/api/v1/meetings/{meeting.pk}/"
    before = secretariat_system.get(url)["ETag"]
    assert secretariat_system.get(url)["ETag"] == before  # the same item, the same tag
    Meeting.objects.filter(pk=meeting.pk).update(venue_en="Sharm El-Sheikh, Egypt")
    after = secretariat_system.get(url, HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200 and after["ETag"] != before
    assert after.json()["venue_en"] == "Sharm El-Sheikh, Egypt"


def test_it_tags_each_language_of_an_item_apart(secretariat_system):
    url = first_detail(secretariat_system, "themes")
    english, arabic = secretariat_system.get(url), secretariat_system.get(url, {"lang": "ar"})
    assert english.json()["name"] != arabic.json()["name"]
    assert english["ETag"] != arabic["ETag"]
    assert secretariat_system.get(url, {"lang": "ar"}, HTTP_IF_NONE_MATCH=english["ETag"]).status_code == 200


def test_it_still_answers_404_for_an_item_it_does_not_show(reference, one_of_each):
    jordan = client_with(make_token("read", ("JO",), partner="jordan-system"))
    egypt_item = item_of("EG")
    response = jordan.get(f"/api/v1/implementations/{egypt_item.pk}/", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
