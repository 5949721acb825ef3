"""The cycle report's Print button works under our own Content-Security-Policy: no inline script or handler."""

import re

import pytest
from django.contrib.staticfiles import finders

from tests.conftest import PASSWORD

INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


@pytest.mark.django_db
def test_it_prints_the_cycle_report_with_a_script_file_not_inline_code(client, reviewer):
    client.force_login(reviewer)
    response = client.get("/review/report/")
    html = response.content.decode()
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert not INLINE_HANDLER.search(html) and not INLINE_SCRIPT.search(html)
    assert "data-print" in html
    scripts = re.findall(r'<script src="/static/([^"]+)"', html)
    assert scripts and all(finders.find(path) for path in scripts)


@pytest.mark.django_db(transaction=True)
def test_it_opens_the_print_dialog_in_chromium_without_a_csp_violation(chromium, live_server, reviewer):
    context = chromium.new_context(locale="en-GB")
    problems = []
    try:
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.add_init_script(
            "window.printed = 0; window.print = () => { window.printed += 1; };"
            "document.addEventListener('securitypolicyviolation',"
            " (e) => console.error('CSP: ' + e.violatedDirective));"
        )
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", reviewer.username)
        page.fill("#id_password", PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state()
        page.goto(f"{live_server.url}/review/report/")
        page.get_by_role("button", name="Print").click()
        assert page.evaluate("window.printed") == 1
    finally:
        context.close()
    assert not problems, problems
