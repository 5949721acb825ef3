"""Throttling per token: 429 with Retry-After; another token is not affected."""

from django.test import override_settings

pytest_plugins = ["tests.api.support"]


@override_settings(API_THROTTLE_RATE="3/minute")
def test_it_throttles_each_token_with_retry_after(api):
    busy, other = api("read", partner="busy"), api("read", partner="other")
    assert [busy.get("/api/v1/themes/").status_code for _ in range(3)] == [200, 200, 200]
    response = busy.get("/api/v1/themes/")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["code"] == "throttled"
    assert other.get("/api/v1/themes/").status_code == 200


@override_settings(API_THROTTLE_RATE=None)
def test_it_can_switch_throttling_off(api):
    client = api("read")
    assert all(client.get("/api/v1/themes/").status_code == 200 for _ in range(5))
