"""Egypt's national validator on a phone, in Arabic: the queue, the report awaiting validation, the decision.
Screenshots: var/test/screenshots/validation-queue-ar.png and validation-item-ar.png (described in issue 15's note)."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.focal.helpers import item_of
from tests.support.browser import screenshot, sign_in
from tracker.core import services
from tracker.core.models import FocalPointDesignation, ProgressReport
from tracker.core.permissions import access_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def serious_violations(page):
    results = Axe().run(page)
    return [v["id"] for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]


def test_it_lets_a_validator_return_a_report_from_a_phone_in_arabic(
    phone, live_server, egypt_focal_point, egypt_validator, egypt_requires_validation
):
    item = item_of("EG")
    data = services.ReportInput(status="in_progress", progress=40, narrative="أعدت الوزارة مشروع قانون اللجوء.")
    services.submit_report(item, egypt_focal_point, access_for(egypt_focal_point), data)
    FocalPointDesignation.objects.update(preferred_language="ar", summary_seen_at=timezone.now())
    sign_in(phone, live_server, "validator-egypt", PASSWORD)
    phone.locator("form.language-switch button").click()
    phone.wait_for_load_state()
    phone.goto(f"{live_server.url}/validation/")
    assert phone.locator("html").get_attribute("dir") == "rtl"
    assert "أعدت الوزارة مشروع قانون اللجوء." in phone.locator(".validation-queue").inner_text()
    assert serious_violations(phone) == []
    screenshot(phone, "validation-queue-ar")

    phone.locator(".validation-queue a.action-link").first.click()
    phone.wait_for_load_state()
    assert serious_violations(phone) == []
    screenshot(phone, "validation-item-ar")
    phone.locator("input[name=decision][value=returned]").check()
    phone.fill("#id_comment", "يرجى ذكر رقم المرسوم.")
    phone.locator(".validation-form button[type=submit]").click()
    phone.wait_for_load_state()
    assert ProgressReport.objects.get().state == "draft"
    assert "/validation/" in phone.url
