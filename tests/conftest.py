"""Personas and reference data shared by every test."""

import datetime as dt
import os

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.utils import timezone, translation

from tests.support.services import require_chromium
from tracker.core.dataload import load_fixture
from tracker.core.models import Body, FocalPointDesignation, MemberState, NationalValidation, Recommendation
from tracker.core.permissions import FOCAL_POINT_GROUP, REVIEWER_GROUP, SECRETARIAT_GROUP
from tracker.core.roles import ensure_roles

# The phone-sized Chromium page fixture of the browser tests.
pytest_plugins = ["tests.support.browser"]

PASSWORD = "a-strong-test-password-2021"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_configure(config):
    """Hash test passwords with a fast hasher (Django's advice for test suites): PBKDF2's million rounds
    cost a third of a second per account, and most tests create several."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts in the default language: a request in Arabic leaves Arabic active in this thread."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium (Debian's package) for the session; Playwright's loop lives in this thread,
    so Django's ORM may be called from the tests (DJANGO_ALLOW_ASYNC_UNSAFE)."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def reference(db):
    """The real reference data: 22 states, AIMC, themes, both meetings, the seven 2021 recommendations."""
    load_fixture(settings.BASE_DIR / "fixtures" / "reference.json")
    for recommendation in Recommendation.objects.all():
        recommendation.sync_implementations()
    return Body.objects.get(code="aimc")


def make_user(username, group, **extra):
    if not Group.objects.filter(name=group).exists():  # a transactional test flushed the data migration's groups
        ensure_roles(django_apps)
    user = User.objects.create_user(username, f"{username}@example.org", PASSWORD, **extra)
    user.groups.add(Group.objects.get(name=group))
    return user


# Before every date the tests travel to. "Since today" made a test that travels to 2026-11-30 fail once that day
# had passed in Riyadh: its focal points were not designated yet on the simulated day.
DESIGNATED_SINCE = dt.date(2025, 1, 1)


def designate(user, iso_code, body, role="primary", language="ar", summary_seen=True):
    """A designation in force since DESIGNATED_SINCE. The personas have already seen the summary of what their state
    has in progress (tracker.core.handover), so "/" is their state's page; tests/focal/test_handover.py shows it."""
    return FocalPointDesignation.objects.create(
        user=user,
        member_state=MemberState.objects.get(iso_code=iso_code),
        body=body,
        role=role,
        start_date=DESIGNATED_SINCE,
        preferred_language=language,
        summary_seen_at=timezone.now() if summary_seen else None,
    )


@pytest.fixture
def egypt_focal_point(reference):
    user = make_user("fp-egypt", FOCAL_POINT_GROUP, first_name="Ahmed")
    designate(user, "EG", reference)
    return user


@pytest.fixture
def egypt_alternate(reference):
    user = make_user("fp-egypt-alt", FOCAL_POINT_GROUP, first_name="Mona")
    designate(user, "EG", reference, role="alternate")
    return user


@pytest.fixture
def egypt_validator(reference):
    """Egypt's national validator for AIMC (English-speaking, to tell the e-mails' languages apart)."""
    user = make_user("validator-egypt", FOCAL_POINT_GROUP, first_name="Karim")
    designate(user, "EG", reference, role="validator", language="en")
    return user


@pytest.fixture
def egypt_requires_validation(reference):
    """Egypt's AIMC reports need national validation; Jordan's do not (no setting: the default)."""
    return NationalValidation.objects.create(
        body=reference, member_state=MemberState.objects.get(iso_code="EG"), required=True
    )


@pytest.fixture
def jordan_focal_point(reference):
    user = make_user("fp-jordan", FOCAL_POINT_GROUP, first_name="Rania")
    designate(user, "JO", reference, language="en")
    return user


@pytest.fixture
def secretariat_officer(reference):
    return make_user("officer", SECRETARIAT_GROUP, is_staff=True, first_name="Leila")


@pytest.fixture
def reviewer(reference):
    return make_user("unhcr-reviewer", REVIEWER_GROUP, is_staff=True, first_name="Samir")


# A test that needs a browser or a service through one of these fixtures carries that service's marker, so
# `make test-fast` (-m "not browser and not celery_worker and not postgres and not redis") leaves it out.
FIXTURE_MARKERS = {"chromium": "browser", "live_server": "browser", "journal_url": "redis", "api_server": "postgres"}


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)
