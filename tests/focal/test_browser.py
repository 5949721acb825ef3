"""A focal point in a real browser: sign in, Arabic right-to-left, report with a PDF, conflicts, accessibility."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.conftest import PASSWORD
from tests.focal.helpers import PDF_BYTES, item_of
from tests.support.browser import screenshot, sign_in
from tracker.core import services
from tracker.core.permissions import access_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def switch_to_arabic(page):
    page.locator("form.language-switch button").click()
    page.wait_for_load_state()


def test_it_lets_a_focal_point_report_in_arabic_with_a_pdf(phone, live_server, egypt_focal_point, tmp_path):
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    assert phone.locator("html").get_attribute("dir") == "ltr"
    screenshot(phone, "my-state-en")
    switch_to_arabic(phone)
    assert phone.locator("html").get_attribute("dir") == "rtl"
    assert phone.locator("h1").inner_text() == "مصر"
    screenshot(phone, "my-state-ar")
    phone.locator("a.item-link").first.click()
    evidence = tmp_path / "محضر-الاجتماع.pdf"
    evidence.write_bytes(PDF_BYTES)
    phone.select_option("#id_status", "in_progress")
    phone.fill("#id_progress", "35")
    phone.fill("#id_narrative", "اعتمدت اللجنة الوطنية خطة عمل لتبادل المعلومات.")
    phone.set_input_files("#id_evidence", str(evidence))
    phone.locator("button[value=submit]").click()
    phone.wait_for_load_state()
    timeline = phone.locator(".timeline").inner_text()
    assert "محضر-الاجتماع.pdf" in timeline and "اعتمدت اللجنة الوطنية" in timeline
    assert "تم تقديم التقرير." in phone.locator(".messages").inner_text()
    screenshot(phone, "item-ar")


def test_it_loses_no_typed_text_in_a_conflict(phone, live_server, egypt_focal_point, egypt_alternate):
    item = item_of("EG")
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    phone.goto(f"{live_server.url}/items/{item.pk}/")
    typed = "نص طويل كتبته نقطة الاتصال على هاتفها ولا يجوز أن يضيع."
    phone.fill("#id_narrative", typed)
    phone.fill("#id_progress", "20")
    phone.select_option("#id_status", "in_progress")
    newer = services.ReportInput(status="in_progress", progress=50, narrative="Report by the alternate.")
    services.submit_report(item, egypt_alternate, access_for(egypt_alternate), newer, expected_version=item.version)
    phone.locator("button[value=submit]").click()
    phone.wait_for_load_state()
    assert "Report by the alternate." in phone.locator(".conflict").inner_text()
    assert phone.input_value("#id_narrative") == typed
    assert phone.input_value("#id_progress") == "20"
    screenshot(phone, "conflict-en")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_it_has_no_serious_accessibility_violations(phone, live_server, egypt_focal_point, language):
    item = item_of("EG")
    phone.goto(f"{live_server.url}/accounts/login/")
    pages = [f"{live_server.url}/accounts/login/"]
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    if language == "ar":
        switch_to_arabic(phone)
    pages += [f"{live_server.url}/", f"{live_server.url}/items/{item.pk}/"]
    axe = Axe()
    for url in pages:
        phone.goto(url)
        results = axe.run(phone)
        serious = [v["id"] for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
        assert serious == [], f"{url}: {serious}"
