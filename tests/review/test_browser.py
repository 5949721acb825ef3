"""The review mechanism on a secretariat officer's phone: every view fits 360 pixels, in Arabic and English."""

import pytest
from django.core.management import call_command

from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = {
    "matrix": "/review/",
    "table": "/review/?view=table&sort=state",
    "report": "/review/report/",
    "trends": "/review/trends/",
    "pack": "/review/pack/",
    "outcome": "/review/items/{item}/outcome/",  # with its commitment rows
}


@pytest.fixture
def demo(reference):
    from django.apps import apps

    from tracker.core.roles import ensure_roles

    ensure_roles(apps)  # a transactional test before this one flushed the data migration's groups
    call_command("load_demo_data", verbosity=0)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_it_fits_a_phone_screen_in_every_view(phone, live_server, demo, language):
    sign_in(phone, live_server, "secretariat", "demo-pass-2021")
    if language == "ar":
        phone.locator("form.language-switch button").click()
        phone.wait_for_load_state()
    from tracker.core.models import Implementation

    item = Implementation.objects.order_by("pk").first().pk
    for name, path in PAGES.items():
        phone.goto(f"{live_server.url}{path.format(item=item)}")
        assert phone.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} in {language} is {overflow} px wider than the phone"
        screenshot(phone, f"review-{name}-{language}")
