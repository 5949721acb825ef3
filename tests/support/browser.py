"""Headless Chromium (Debian's package) driven by Playwright against pytest-django's live server."""

from pathlib import Path

import pytest

from tests.support.services import ROOT

SCREENSHOTS = ROOT / "var" / "test" / "screenshots"


@pytest.fixture
def phone(chromium):
    """A 360-pixel-wide phone screen whose browser asks for English first."""
    context = chromium.new_context(viewport={"width": 360, "height": 780}, locale="en-GB")
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = Path(SCREENSHOTS / f"{name}.png")
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")
