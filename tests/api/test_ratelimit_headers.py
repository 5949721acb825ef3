"""The RateLimit header fields (draft-ietf-httpapi-ratelimit-headers) on every answer of the API, from the throttle's
own count: 200, 400, 403, 404 (an item's, and the catch-all's), 401 and 429 alike, at no extra cache call."""

import re

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIClient

from tests.api.support import client_with

pytest_plugins = ["tests.api.support"]

LIMIT = re.compile(r'^"default";r=(\d+);t=(\d+)$')


def standing(response):
    """(remaining, seconds) from the RateLimit field; the policy must be the configured one."""
    assert response["RateLimit-Policy"] == '"default";q=5;w=60', response.status_code
    match = LIMIT.match(response["RateLimit"])
    assert match, response["RateLimit"]
    return int(match[1]), int(match[2])


@pytest.fixture
def five_a_minute(settings):
    settings.API_THROTTLE_RATE = "5/minute"


def test_it_counts_down_on_answers_of_every_kind(api, five_a_minute):
    egypt_system = api("read", ("EG",), partner="egypt-system")
    answers = [
        egypt_system.get("/api/v1/themes/"),  # 200
        egypt_system.get("/api/v1/implementations/?page_size=0"),  # 400
        egypt_system.get("/api/v1/implementations/999999999/"),  # 404 of an item
        egypt_system.get("/api/v1/no-such-resource/"),  # 404 of the catch-all
        egypt_system.post("/api/v1/recommendations/", {}, format="json"),  # 403: a read-only token
    ]
    assert [a.status_code for a in answers] == [200, 400, 404, 404, 403]
    assert [standing(a)[0] for a in answers] == [4, 3, 2, 1, 0]
    assert all(0 < standing(a)[1] <= 60 for a in answers)
    refused = egypt_system.get("/api/v1/themes/")
    assert refused.status_code == 429
    assert standing(refused) == (0, int(refused["Retry-After"]))
    other = api("read", ("JO",), partner="jordan-system").get("/api/v1/themes/")
    assert standing(other)[0] == 4  # another client, its own count


def test_it_counts_requests_without_valid_credentials_against_their_address(reference, five_a_minute):
    address = {"REMOTE_ADDR": "203.0.113.7"}  # an address of its own: no other test's requests count against it
    nobody, forger = APIClient(**address), client_with("0" * 64)
    forger.defaults.update(address)
    first = nobody.get("/api/v1/themes/")
    assert first.status_code == 401 and standing(first)[0] == 4
    assert forger.get("/api/v1/themes/").status_code == 401
    lost = forger.get("/api/v1/no-such-resource/")  # an unknown path is a 404, whatever the token
    assert lost.status_code == 404 and standing(lost)[0] == 2
    for _ in range(2):
        nobody.get("/api/v1/themes/")
    guessing = forger.get("/api/v1/themes/")
    assert guessing.status_code == 429 and guessing.json()["code"] == "throttled"
    assert standing(guessing) == (0, int(guessing["Retry-After"]))


def test_it_sends_no_rate_limit_headers_when_throttling_is_off(api, settings):
    settings.API_THROTTLE_RATE = None
    response = api("read").get("/api/v1/themes/")
    assert response.status_code == 200
    assert not response.has_header("RateLimit") and not response.has_header("RateLimit-Policy")


class CountingCache(LocMemCache):
    """The throttle's cache, counting the calls made to it."""

    calls = []

    def __getattribute__(self, name):
        if name in {"get", "set", "add", "get_many", "set_many", "incr", "touch", "delete", "has_key"}:
            CountingCache.calls.append(name)
        return super().__getattribute__(name)


def test_it_reads_the_headers_from_the_throttles_own_cache_calls(api, settings):
    settings.API_THROTTLE_RATE = "600/minute"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "api-throttle": {"BACKEND": f"{__name__}.CountingCache", "LOCATION": "counting"},
    }
    client = api("read")
    CountingCache.calls.clear()
    response = client.get("/api/v1/themes/")
    assert standing_of(response) == 599
    assert CountingCache.calls == ["get", "set"]  # DRF's throttle: read the log, write it back; nothing more


def standing_of(response):
    return int(LIMIT.match(response["RateLimit"])[1])


def test_it_documents_the_headers_on_every_answer_of_the_schema(client, db):
    schema = client.get("/api/schema/?format=json").json()
    components = schema["components"]["headers"]
    assert {"RateLimit", "RateLimit-Policy"} <= set(components)
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            for code, answer in operation["responses"].items():
                headers = answer.get("headers", {})
                assert {"RateLimit", "RateLimit-Policy"} <= set(headers), f"{method} {path} {code}"
