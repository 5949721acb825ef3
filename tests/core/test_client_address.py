"""Sign-in guesses under unknown names are counted per client address: behind the proxy, the address nginx saw
(X-Forwarded-For, which it sets), never the proxy's own; without the proxy, a client's X-Forwarded-For is ignored."""

import pytest
from django.test import RequestFactory

from tracker.core.auth import client_address

pytestmark = pytest.mark.django_db


def guess(client, name, forwarded_for):
    return client.post(
        "/accounts/login/",
        {"username": name, "password": "wrong"},
        REMOTE_ADDR="10.0.0.2",  # nginx, for every client
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_it_locks_one_client_behind_the_proxy_and_not_the_others(client, settings):
    settings.BEHIND_TLS_PROXY = True
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        guess(client, f"nobody-{attempt}", "203.0.113.7")
    assert guess(client, "nobody-else", "203.0.113.7").status_code == 429
    assert guess(client, "nobody-else", "198.51.100.4").status_code == 200


def test_it_ignores_a_client_forwarded_for_without_the_proxy(client, settings):
    settings.BEHIND_TLS_PROXY = False
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        guess(client, f"nobody-{attempt}", f"198.51.100.{attempt}")  # a new "address" each time: not believed
    assert guess(client, "nobody-else", "198.51.100.99").status_code == 429


def test_it_reads_the_address_nginx_appended_last(settings):
    settings.BEHIND_TLS_PROXY = True
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    assert client_address(request) == "203.0.113.7"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2")
    assert client_address(request) == "10.0.0.2"
