"""The contract: a valid OpenAPI schema, docs served from our own files under the CSP, and schemathesis
finding no server error and no response that violates the schema against a live server."""

import re
import socket
import subprocess
import sys
import urllib.request

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

from tests.api.support import make_token
from tests.support.services import ROOT, Process, require_postgres, subprocess_env, wait_for


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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def api_server(transactional_db):
    """gunicorn serving the project on a free port, against the test database; stopped afterwards.

    (pytest-django's live_server cannot be used: it chokes on MEDIA_URL = None.)
    """
    require_postgres()
    port = free_port()
    env = subprocess_env()
    env["API_THROTTLE_RATE"] = "100000/minute"
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "project.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--timeout",
        "60",
    ]
    with Process(args, env, ROOT / "var" / "test" / "api-gunicorn.log") as server:
        url = f"http://127.0.0.1:{port}"

        def answers():
            try:
                return urllib.request.urlopen(f"{url}/api/schema/", timeout=2).status == 200
            except OSError:
                return False

        wait_for(answers, timeout=60, message="gunicorn to answer")
        yield url
        assert server.proc.poll() is None, server.output()[-3000:]


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
        "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
        "--max-examples",
        "5",
        "--phases",
        "coverage,fuzzing",
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
