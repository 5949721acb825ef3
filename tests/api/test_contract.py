"""The contract as outside tools read it: Redocly's recommended rules pass with no error and no warning, every
operation has a summary, every JSON answer and request body has an example that is valid against its schema, and
bodies are JSON (one media type each, so a generated client has one body type): anything else is a 415."""

import json
import os
import shutil
import subprocess

import jsonschema_rs
import pytest

from tests.api.support import client_with, make_token
from tests.support.services import IN_CI, ROOT
from tracker.core.models import Implementation, ProgressReport, Recommendation

pytest_plugins = ["tests.api.support"]

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def served_schema(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def require_redocly():
    """Redocly CLI as package-lock.json pins it (`npm ci`): in CI it must be there, elsewhere its absence skips."""
    if shutil.which("npx") and (ROOT / "node_modules" / ".bin" / "redocly").exists():
        return
    message = "Redocly CLI is not installed: run `npm ci` at the repository root (Node.js and npm needed)."
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def redocly_lint(path):
    env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true", NO_COLOR="1")
    command = ["npx", "--no-install", "redocly", "lint", str(path), "--format", "json"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"redocly lint gave no report (exit {result.returncode}): {result.stdout[-2000:]}{result.stderr}")


def test_it_passes_redocly_lint_with_no_error_and_no_warning(client, db, tmp_path):
    require_redocly()
    target = tmp_path / "openapi.json"
    target.write_text(json.dumps(served_schema(client)))
    report = redocly_lint(target)
    problems = [
        f"{p['severity']} {p['ruleId']} at {p['location'][0]['pointer']}: {p['message']}" for p in report["problems"]
    ]
    assert report["totals"]["errors"] == 0, "\n".join(problems)
    assert report["totals"]["warnings"] == 0, "\n".join(problems)


def test_it_publishes_openapi_3_1_with_the_site_as_server(client, db, settings):
    schema = served_schema(client)
    assert schema["openapi"] == "3.1.0"
    assert schema["servers"] == [{"url": settings.SITE_URL, "description": "This installation."}]
    assert "nullable" not in json.dumps(schema)  # 3.1 says null as a type


def test_it_gives_every_operation_a_summary(client, db):
    schema = served_schema(client)
    missing = [name for name, operation in operations(schema) if not operation.get("summary")]
    assert not missing, f"Name a summary with extend_schema(summary=...): {missing}"
    assert dict(operations(schema))["GET /api/v1/implementations/{id}/"]["summary"] == "Get an implementation"
    assert dict(operations(schema))["GET /api/v1/review-cycles/"]["summary"] == "List review cycles"


def json_media_types(operation):
    """(where, media type object) for the JSON body and every JSON answer of an operation."""
    body = operation.get("requestBody", {}).get("content", {})
    if JSON in body:
        yield "request body", body[JSON]
    for code, response in operation["responses"].items():
        for media_type, content in response.get("content", {}).items():
            if media_type in (JSON, PROBLEM_JSON):
                yield f"{code} {media_type}", content


def validator(schema, media_type_schema):
    """A JSON Schema 2020-12 validator (formats checked: uri, date, date-time) whose refs resolve in the document."""
    return jsonschema_rs.Draft202012Validator(
        {**media_type_schema, "components": schema["components"]}, validate_formats=True
    )


def test_it_gives_every_json_answer_and_body_an_example_valid_against_its_schema(client, db):
    schema = served_schema(client)
    missing, invalid, checked = [], [], 0
    for name, operation in operations(schema):
        for where, content in json_media_types(operation):
            examples = [e["value"] for e in content.get("examples", {}).values()]
            examples += [content["example"]] if "example" in content else []
            if not examples:
                missing.append(f"{name} {where}")
            check = validator(schema, content["schema"])
            for example in examples:
                checked += 1
                errors = [f"{e.instance_path}: {e.message}" for e in check.iter_errors(example)]
                if errors:
                    invalid.append(f"{name} {where}: {errors[:3]}")
    assert not missing, (
        "No example (tracker/api/schema.py ITEM_EXAMPLES, or OpenApiExample on the view):\n" + "\n".join(missing)
    )
    assert not invalid, "\n".join(invalid)
    assert checked > 200


def test_it_refuses_an_invalid_example_as_the_check_above_reads_them(client, db):
    """The validation really checks formats and required fields (or an invalid example could pass unseen)."""
    schema = served_schema(client)
    operation = dict(operations(schema))["GET /api/v1/implementations/{id}/"]
    check = validator(schema, operation["responses"]["200"]["content"][JSON]["schema"])
    good = operation["responses"]["200"]["content"][JSON]["examples"]["ok"]["value"]
    assert check.is_valid(good)
    assert not check.is_valid({**good, "updated_at": "yesterday"})
    assert not check.is_valid({key: value for key, value in good.items() if key != "etag"})


def test_it_offers_one_media_type_per_body_json_but_for_file_uploads(client, db):
    schema = served_schema(client)
    bodies = {name: set(op["requestBody"]["content"]) for name, op in operations(schema) if "requestBody" in op}
    assert bodies["POST /api/v1/implementations/{id}/reports/"] == {JSON}
    for name, media_types in bodies.items():
        uploads = name.endswith("/evidence/") and media_types == {"multipart/form-data"}
        assert media_types == {JSON} or uploads, name
    for name, operation in operations(schema):
        if "requestBody" in operation:
            assert "415" in operation["responses"], name


@pytest.fixture
def egypt_partner(reference):
    """The Egyptian ministry's system, with a write token for Egypt."""
    return client_with(make_token("write", ("EG",), partner="egypt-moi"))


def test_it_answers_a_form_encoded_report_with_415_in_problem_details(egypt_partner):
    item = Implementation.objects.filter(member_state__iso_code="EG").order_by("pk").first()
    etag = egypt_partner.get(f"/api/v1/implementations/{item.pk}/")["ETag"]
    url = f"/api/v1/implementations/{item.pk}/reports/"
    form = {"status": "in_progress", "progress": "40"}
    for response in (
        egypt_partner.post(url, form, format="multipart", HTTP_IF_MATCH=etag),
        egypt_partner.generic(
            "POST", url, "status=in_progress&progress=40", "application/x-www-form-urlencoded", HTTP_IF_MATCH=etag
        ),
    ):
        assert response.status_code == 415
        assert response["Content-Type"] == PROBLEM_JSON
        body = response.json()
        assert (body["status"], body["code"], body["title"]) == (
            415,
            "unsupported_media_type",
            "Unsupported Media Type",
        )
    assert not ProgressReport.objects.exists()
    accepted = egypt_partner.post(url, form | {"progress": 40}, format="json", HTTP_IF_MATCH=etag)
    assert accepted.status_code == 201 and ProgressReport.objects.count() == 1


def test_it_keeps_the_raw_json_form_of_the_browsable_api_for_signed_in_staff(client, secretariat_officer):
    """The browsable API's write form becomes its raw JSON form (no HTML form without a form parser); its form
    posts are refused like any partner's."""
    client.force_login(secretariat_officer)
    page = client.get("/api/v1/recommendations/", HTTP_ACCEPT="text/html").content.decode()
    assert 'value="application/json"' in page or "application/json</option>" in page
    recommendation = Recommendation.objects.order_by("pk").first()
    response = client.patch(
        f"/api/v1/recommendations/{recommendation.pk}/",
        "is_public=false",
        content_type="application/x-www-form-urlencoded",
        HTTP_IF_MATCH="*",
    )
    assert response.status_code == 415
    recommendation.refresh_from_db()
    assert recommendation.is_public
