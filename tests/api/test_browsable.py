"""The browsable API (a signed-in user in a browser) keeps its styles and scripts under the site's CSP: our
templates move DRF's inline style and code to static files, and the CSP stays the same as on every page."""

import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from tests.conftest import PASSWORD
from tracker.core.models import Implementation

INLINE_STYLE = re.compile(r"<style|\sstyle\s*=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
# A <script> without src runs inline code, unless it is a data block (type="application/json").
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE)


def browsable_pages():
    item = Implementation.objects.order_by("pk").first()
    return [
        "/api/v1/",
        "/api/v1/implementations/?page_size=2",
        f"/api/v1/implementations/{item.pk}/",
        "/api/v1/recommendations/?page_size=2&ordering=-updated_at",
        "/api/v1/review-cycles/",
        "/api/v1/progress-reports/",
        "/api/v1/focal-points/",
    ]


@pytest.mark.django_db
def test_it_renders_the_browsable_api_without_inline_style_or_script(client, secretariat_officer):
    client.force_login(secretariat_officer)
    for url in browsable_pages():
        response = client.get(url, HTTP_ACCEPT="text/html")
        html = response.content.decode()
        assert response.status_code == 200 and "<html" in html, url
        assert response["Content-Security-Policy"] == client.get("/").get("Content-Security-Policy"), url
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        for pattern in (INLINE_STYLE, INLINE_HANDLER, INLINE_SCRIPT):
            assert not pattern.search(html), (url, pattern.search(html))
        files = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
        assert any(path.endswith(".css") for path in files) and any(path.endswith(".js") for path in files)
        assert all(finders.find(path) for path in files), url
        assert "//" not in "".join(re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)), url


@pytest.mark.django_db
def test_it_keeps_the_raw_json_for_partner_systems(client, secretariat_officer):
    client.force_login(secretariat_officer)
    response = client.get("/api/v1/bodies/", HTTP_ACCEPT="application/json")
    assert response["Content-Type"] == "application/json" and response.json()["results"]


@pytest.mark.django_db(transaction=True)
def test_it_shows_the_browsable_api_in_chromium_without_a_csp_violation(chromium, live_server, secretariat_officer):
    context = chromium.new_context(locale="en-GB")
    problems = []
    try:
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP: ' + e.violatedDirective));"
        )
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", secretariat_officer.username)
        page.fill("#id_password", PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state()
        for url in browsable_pages():
            page.goto(live_server.url + url)
            page.wait_for_load_state("networkidle")
            # Bootstrap's stylesheet applied (the navbar is dark) and DRF's scripts ran (jQuery is loaded).
            assert (
                page.evaluate("getComputedStyle(document.querySelector('.navbar')).backgroundColor")
                != "rgba(0, 0, 0, 0)"
            ), url
            assert page.evaluate("typeof window.jQuery") == "function", url
        page.goto(f"{live_server.url}/api/v1/implementations/?page_size=2")
        if page.locator("[data-target='#filtersModal']").count():
            assert (
                page.evaluate("getComputedStyle(document.querySelector(\"[data-target='#filtersModal']\")).float")
                == "right"
            )
    finally:
        context.close()
    assert not problems, problems
    assert settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"] == ["'self'"]


@pytest.mark.django_db
def test_it_types_an_error_page_of_the_browsable_api_as_html_and_the_json_error_as_problem(client, secretariat_officer):
    client.force_login(secretariat_officer)
    page = client.get("/api/v1/implementations/?page_size=0", HTTP_ACCEPT="text/html")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
    raw = client.get("/api/v1/implementations/?page_size=0", HTTP_ACCEPT="application/json")
    assert raw.status_code == 400 and raw["Content-Type"] == "application/problem+json"
