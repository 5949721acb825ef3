"""The secretariat's lists on a laptop (1280×800): every key column shows, in Arabic and English."""

import pytest
from django.core.management import call_command

from tests.support.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def laptop(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    yield context.new_page()
    context.close()


@pytest.fixture
def demo(reference):
    from django.apps import apps

    from tracker.core.roles import ensure_roles

    ensure_roles(apps)  # a transactional test before this one flushed the data migration's groups
    call_command("load_demo_data", verbosity=0)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_it_shows_every_column_of_the_key_lists_on_a_laptop(laptop, live_server, demo, language):
    laptop.context.add_cookies([{"name": "wrt_language", "value": language, "url": live_server.url}])
    laptop.goto(f"{live_server.url}/admin/login/")
    laptop.fill("#id_username", "secretariat")
    laptop.fill("#id_password", "demo-pass-2021")
    laptop.locator("input[type=submit]").click()
    for model in ("implementation", "recommendation", "progressreport"):
        laptop.goto(f"{live_server.url}/admin/tracker/{model}/")
        edges = laptop.evaluate(
            "[...document.querySelectorAll('#result_list thead th')].map(th => th.getBoundingClientRect())"
            ".map(r => [Math.round(r.left), Math.round(r.right)])"
        )
        assert edges and all(left >= 0 and right <= 1280 for left, right in edges), (model, language, edges)
        screenshot(laptop, f"admin-{model}-{language}")
