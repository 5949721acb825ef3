"""Helpers for the API tests: partner tokens and an API client that sends them."""

import pytest
from rest_framework.test import APIClient

from tracker.api.tokens import ensure_partner, issue_token
from tracker.core.models import MemberState


def make_token(scope="read", states=(), secretariat=False, partner="unhcr-partner", expires_days=None):
    system = ensure_partner(partner, partner.upper(), secretariat_level=secretariat)
    found = MemberState.objects.filter(iso_code__in=states)
    _token, raw = issue_token(system, scope, states=found, expires_days=expires_days)
    return raw


def etag_of(client, item):
    """The item's ETag as the API gives it (read before a write, as a partner does)."""
    return client.get(f"/api/v1/implementations/{item.pk}/")["ETag"]


def client_with(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@pytest.fixture
def api(reference):
    """A factory: api(scope, states, secretariat) -> an APIClient with a fresh token."""

    def factory(scope="read", states=(), secretariat=False, partner="unhcr-partner"):
        return client_with(make_token(scope, states, secretariat, partner))

    return factory


@pytest.fixture(autouse=True)
def fresh_stalled_annotations():
    """The API builds the stalled annotations at most once a second per access; tests start cold."""
    from tracker.api import views

    views._PER_SECOND.clear()
    views.KnownStamps.value = None
    yield
    views._PER_SECOND.clear()
    views.KnownStamps.value = None
