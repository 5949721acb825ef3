"""The contract: a valid OpenAPI schema, docs served from our own files under the CSP, and schemathesis
finding no server error and no response that violates the schema against a live server."""

import re
import subprocess
import sys

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

from tests.api.support import make_token
from tests.support.services import ROOT


def test_it_publishes_a_valid_schema(reference, tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert "/api/v1/implementations/{id}/reports/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["partnerToken"]["in"] == "header"


def test_it_serves_the_schema_without_credentials(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi: 3" in response.content


def test_it_serves_swagger_ui_from_own_static_files_without_inline_code(client, db):
    page = client.get("/api/docs/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]
    assert "<style" not in html and not re.search(r"<script>(?!\s*</script>)", html)
    sources = re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert sources and all(src.startswith("/") and "//" not in src for src in sources)
    for src in sources:
        if src.startswith(settings.STATIC_URL) or src.startswith("/" + settings.STATIC_URL):
            # Served by WhiteNoise from collected static files: the file must be ours, in the sidecar package.
            assert finders.find(src.split(settings.STATIC_URL, 1)[1]), src
        else:
            assert client.get(src.replace("&amp;", "&")).status_code == 200, src
    script = client.get("/api/docs/?script=")
    assert "/api/schema/" in script.content.decode()


@pytest.mark.postgres
def test_it_passes_schemathesis_against_a_live_server(reference, api_server):
    raw = make_token("write", secretariat=True, partner="schemathesis")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{api_server}/api/schema/",
        "--header",
        f"Authorization: Token {raw}",
        "--checks",
        "all",  # schemathesis.toml: the answers a write may give to a body the schema allows
        "--max-examples",
        "5",
        "--phases",
        "coverage,fuzzing,stateful",
        "--seed",
        "2021",
        "--no-color",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    (ROOT / "var" / "test" / "schemathesis.log").write_text(output)
    assert result.returncode == 0, output[-6000:]
    assert " passed" in output and "failures" not in output.split("SUMMARY")[-1].lower()


@pytest.mark.browser
def test_it_renders_swagger_ui_in_chromium_under_the_csp(reference, api_server, chromium):
    problems = []
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.goto(f"{api_server}/api/docs/")
        page.wait_for_selector("text=/api/v1/implementations/", timeout=30000)
        page.screenshot(path=str(ROOT / "var" / "test" / "api-docs.png"), full_page=False)
        assert page.locator(".opblock").count() > 10
    finally:
        context.close()
    assert not [p for p in problems if "Content Security Policy" in p or "failed:" in p], problems
