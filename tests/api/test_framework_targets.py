"""External framework targets in the API: read on recommendations, filtered on, written by key by the secretariat."""

import pytest

from tracker.core.models import Framework, FrameworkTarget, Recommendation

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.api.support"]


@pytest.fixture
def targets(reference):
    sdg = Framework.objects.create(code="sdg", name_en="SDG", name_ar="أهداف التنمية المستدامة", position=1)
    gcr = Framework.objects.create(code="gcr", name_en="GCR", name_ar="الميثاق العالمي", position=2)
    migration = FrameworkTarget.objects.create(framework=sdg, code="10.7", title_en="Migration", title_ar="الهجرة")
    hosts = FrameworkTarget.objects.create(framework=gcr, code="1", title_en="Ease pressures", title_ar="تخفيف")
    Recommendation.objects.get(reference="R1").framework_targets.add(hosts, migration)
    Recommendation.objects.get(reference="R2").framework_targets.add(migration)
    return migration, hosts


def test_it_shows_a_recommendations_targets_by_key_in_the_taxonomys_order(api, targets):
    partner = api("read", ("EG",))
    r1 = Recommendation.objects.get(reference="R1")
    body = partner.get(f"/api/v1/recommendations/{r1.pk}/").json()
    assert body["framework_targets"] == ["sdg-10.7", "gcr-1"]


def test_it_filters_items_and_recommendations_by_target(api, targets):
    partner = api("read", ("EG",))
    items = partner.get("/api/v1/implementations/", {"framework_target": "gcr-1"}).json()["results"]
    assert {item["reference"] for item in items} == {"R1"}
    items = partner.get("/api/v1/implementations/", {"framework_target": "sdg-10.7"}).json()["results"]
    assert {item["reference"] for item in items} == {"R1", "R2"}
    found = partner.get("/api/v1/recommendations/", {"framework_target": "sdg-10.7,gcr-9"}).json()["results"]
    assert sorted(r["reference"] for r in found) == ["R1", "R2"]
    assert partner.get("/api/v1/implementations/", {"framework_target": "sdg-99"}).json()["results"] == []


def test_it_lets_the_secretariat_set_targets_by_key_and_moves_the_etag(api, targets):
    secretariat = api("write", (), True, partner="secretariat-system")
    r3 = Recommendation.objects.get(reference="R3")
    url = f"/api/v1/recommendations/{r3.pk}/"
    etag = secretariat.get(url)["ETag"]
    response = secretariat.patch(url, {"framework_targets": ["gcr-1"]}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["framework_targets"] == ["gcr-1"]
    assert secretariat.get(url)["ETag"] != etag
    assert list(r3.framework_targets.values_list("code", flat=True)) == ["1"]


def test_it_refuses_an_unknown_target_key_naming_it(api, targets):
    secretariat = api("write", (), True, partner="secretariat-system")
    r3 = Recommendation.objects.get(reference="R3")
    url = f"/api/v1/recommendations/{r3.pk}/"
    etag = secretariat.get(url)["ETag"]
    response = secretariat.patch(url, {"framework_targets": ["sdg-99.9"]}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 400
    assert "sdg-99.9" in response.content.decode()
    assert not r3.framework_targets.exists()
