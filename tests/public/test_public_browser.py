"""The public pages in a real browser on a 360-pixel phone, in Arabic and English: right-to-left, nothing wider
than the screen, no serious accessibility violation (axe-core), no JavaScript needed."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.cache import cache

from tests.support.browser import screenshot
from tracker.core.models import Recommendation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def no_script_phone(chromium):
    """A 360-pixel phone with JavaScript switched off: the pages must work without it (axe needs it on)."""
    context = chromium.new_context(viewport={"width": 360, "height": 780}, java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()


def serious_violations(page):
    results = Axe().run(page)
    return [v["id"] for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]


def fits_the_screen(page):
    return page.evaluate("document.documentElement.scrollWidth") <= 360


def test_it_shows_the_public_pages_in_arabic_on_a_phone(phone, live_server, history):
    r1 = Recommendation.objects.get(reference="R1")
    pages = [
        "/public/ar/",
        f"/public/ar/recommendations/{r1.pk}/",
        "/public/ar/states/EG/",
        "/public/ar/?theme=legal-and-social-protection&status=implemented",
    ]
    for path in pages:
        phone.goto(live_server.url + path)
        assert phone.locator("html").get_attribute("dir") == "rtl", path
        assert phone.locator("html").get_attribute("lang") == "ar", path
        assert fits_the_screen(phone), path
        assert serious_violations(phone) == [], path
    phone.goto(f"{live_server.url}/public/ar/")
    assert phone.locator("h1").is_visible()
    screenshot(phone, "public-overview-ar")


def test_it_shows_the_public_overview_in_english_on_a_phone(phone, live_server, history):
    phone.goto(f"{live_server.url}/public/en/")
    assert phone.locator("html").get_attribute("dir") == "ltr"
    assert fits_the_screen(phone)
    assert serious_violations(phone) == []
    screenshot(phone, "public-overview-en")


def test_it_filters_and_switches_language_without_javascript(no_script_phone, live_server, published):
    page = no_script_phone
    page.goto(f"{live_server.url}/public/en/")
    page.select_option("#f-theme", "data-collection-exchange")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**/public/en/?theme=data-collection-exchange**")
    assert page.locator("a.rec-link").count() == 1
    page.locator("a.switch").click()
    page.wait_for_url("**/public/ar/?theme=data-collection-exchange**")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("a.rec-link").count() == 1
    assert fits_the_screen(page)
