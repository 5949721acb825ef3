"""Nothing typed in the report form is lost when the submission fails: invalid input, a dropped connection, an
expired session (static/js/keep-draft.js keeps a copy in the browser, per user and item, until the server has it)."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.sessions.models import Session

from tests.conftest import PASSWORD
from tests.focal.helpers import item_of, report_data
from tests.support.browser import screenshot, sign_in
from tracker.core import services
from tracker.core.models import ProgressReport
from tracker.core.permissions import access_for

TYPED = "نص كتبته نقطة الاتصال على هاتفها قبل أن ينقطع الاتصال."
OBSTACLES = "لا توجد ميزانية مخصصة."


@pytest.mark.django_db
def test_an_invalid_form_comes_back_with_everything_typed(client, egypt_focal_point):
    item = item_of("EG")
    data = report_data(item, progress=150, obstacles=OBSTACLES, support_needed="Training")
    client.force_login(egypt_focal_point)
    response = client.post(f"/items/{item.pk}/", data)
    html = response.content.decode()
    assert response.status_code == 200 and not ProgressReport.objects.exists()
    assert data["narrative"] in html and OBSTACLES in html and "Training" in html and 'value="150"' in html


def type_report(page):
    page.select_option("#id_status", "in_progress")
    page.fill("#id_progress", "40")
    page.fill("#id_narrative", TYPED)
    page.fill("#id_obstacles", OBSTACLES)


def stored_keys(page):
    return page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('keep-draft:'))")


def assert_restored(page):
    assert page.locator("#keep-draft-notice").is_visible()
    assert page.input_value("#id_narrative") == TYPED
    assert page.input_value("#id_obstacles") == OBSTACLES
    assert page.input_value("#id_progress") == "40"
    assert page.input_value("#id_status") == "in_progress"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_typed_text_when_the_network_drops_mid_submit(phone, live_server, egypt_focal_point):
    item = item_of("EG")
    url = f"{live_server.url}/items/{item.pk}/"
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    phone.locator("form.language-switch button").click()  # Arabic, right to left
    phone.wait_for_load_state()
    phone.goto(url)
    type_report(phone)
    phone.context.set_offline(True)
    with pytest.raises(Exception):  # noqa: B017 - the browser's own error page: net::ERR_INTERNET_DISCONNECTED
        with phone.expect_navigation():
            phone.locator("button[value=submit]").click()
    phone.context.set_offline(False)
    assert not ProgressReport.objects.exists()
    phone.goto(url)
    assert phone.locator("html").get_attribute("dir") == "rtl"
    assert_restored(phone)
    assert phone.locator("#keep-draft-notice button").is_visible()
    serious = [v["id"] for v in Axe().run(phone).response["violations"] if v["impact"] in {"serious", "critical"}]
    assert serious == []
    screenshot(phone, "restored-text-ar")
    phone.locator("button[value=submit]").click()
    phone.wait_for_load_state()
    assert ProgressReport.objects.get().narrative == TYPED
    assert stored_keys(phone) == []
    phone.goto(url)  # the server has it now: no notice, nothing restored
    assert not phone.locator("#keep-draft-notice").is_visible()
    assert phone.input_value("#id_narrative") == ""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_typed_text_when_the_session_expired(phone, live_server, egypt_focal_point):
    item = item_of("EG")
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    phone.goto(f"{live_server.url}/items/{item.pk}/")
    type_report(phone)
    Session.objects.all().delete()
    phone.locator("button[value=draft]").click()
    phone.wait_for_url("**/accounts/login/**")
    phone.fill("#id_username", "fp-egypt")
    phone.fill("#id_password", PASSWORD)
    phone.locator("main button[type=submit]").click()
    phone.wait_for_url(f"{live_server.url}/items/{item.pk}/")
    assert_restored(phone)
    screenshot(phone, "restored-text-en")
    phone.locator("button[value=draft]").click()
    phone.wait_for_load_state()
    assert ProgressReport.objects.drafts().get().narrative == TYPED
    assert stored_keys(phone) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_does_not_restore_another_users_text(phone, live_server, egypt_focal_point, egypt_alternate):
    item = item_of("EG")
    url = f"{live_server.url}/items/{item.pk}/"
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    phone.goto(url)
    type_report(phone)
    phone.context.clear_cookies()  # the primary's session ends without signing out; the phone is handed over
    sign_in(phone, live_server, "fp-egypt-alt", PASSWORD)
    phone.goto(url)
    assert not phone.locator("#keep-draft-notice").is_visible()
    assert phone.input_value("#id_narrative") == ""
    phone.locator("header form[data-keep-draft-user] button").click()  # the alternate signs out
    phone.wait_for_load_state()
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    phone.goto(url)
    assert_restored(phone)  # the primary's text was kept for the primary


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_forgets_the_unsent_text_on_sign_out_and_on_discard(phone, live_server, egypt_focal_point):
    item = item_of("EG")
    url = f"{live_server.url}/items/{item.pk}/"
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    phone.goto(url)
    type_report(phone)
    phone.goto(url)
    assert_restored(phone)
    phone.locator("#keep-draft-notice button").click()
    assert not phone.locator("#keep-draft-notice").is_visible()
    assert phone.input_value("#id_narrative") == "" and stored_keys(phone) == []
    type_report(phone)
    assert len(stored_keys(phone)) == 1
    phone.locator("header form[data-keep-draft-user] button").click()
    phone.wait_for_load_state()
    assert stored_keys(phone) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_restored_text_does_not_silently_replace_a_newer_draft(
    phone, live_server, egypt_focal_point, egypt_alternate
):
    item = item_of("EG")
    url = f"{live_server.url}/items/{item.pk}/"
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    phone.goto(url)
    type_report(phone)
    theirs = services.ReportInput(status="in_progress", progress=50, narrative="Draft by the alternate.")
    services.save_draft(item, egypt_alternate, access_for(egypt_alternate), theirs, expected_revision=0)
    phone.goto(url)
    assert_restored(phone)
    phone.locator("button[value=submit]").click()
    phone.wait_for_load_state()
    assert "Draft by the alternate." in phone.locator(".conflict").inner_text()  # the server's 409: both shown
    assert phone.input_value("#id_narrative") == TYPED
    assert ProgressReport.objects.drafts().get().narrative == "Draft by the alternate."
