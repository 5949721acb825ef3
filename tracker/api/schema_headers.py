"""OpenAPI post-processing: the transport headers of the API, documented where they apply.

- every answer carries the RateLimit header fields (tracker.api.throttling);
- every POST takes an Idempotency-Key (tracker.api.idempotency), and may answer 409 (the key's request is still
  running) or 422 (the key was used for another request); a replayed answer says so in Idempotent-Replayed;
- every item's detail (GET /api/v1/<resource>/{id}/) carries an ETag and honours If-None-Match with a 304.

A hook rather than a line per view: the views (and any added later) get the headers without knowing of them.
"""

import re

from django.urls import Resolver404, resolve

from tracker.api.renderers import PROBLEM_JSON

ERROR_REF = {"$ref": "#/components/schemas/Error"}
HEADERS = {
    "RateLimit-Policy": {
        "description": 'The rate limit (draft-ietf-httpapi-ratelimit-headers): `"default";q=600;w=60` is 600 '
        "requests (q) in any 60 seconds (w), per token (or signed-in user, or address without credentials).",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left of it: `"default";r=599;t=42` is 599 requests (r) within the next 42 seconds '
        "(t), when the oldest request counted leaves the window. On a 429, t is the Retry-After.",
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "The item's entity tag: send it in If-None-Match to read it again only if it changed (and, "
        "where the item can be changed, in If-Match to change it).",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` on the stored answer to a request retried with the same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
PARAMETERS = {
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Makes a retry safe (draft-ietf-httpapi-idempotency-key-header): a unique value per request, "
        'e.g. a UUID as a structured-field string (`"8e03978e-40d5-43e8-bc93-6894a57f9324"`). A retry with the same '
        "key and the same request gets the first answer again, and nothing happens twice; the same key on another "
        "request is a 422, and while the first request runs a 409. Keys are your own (per token or user), kept 24 "
        "hours; an answer of 5xx is not kept.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 257, "pattern": "^[\\x20-\\x7E]+$"},
    },
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "The ETag you have (or a list of them, or `*`): 304 and no body if the item still has it.",
        "schema": {"type": "string"},
    },
}
IDEMPOTENCY_ERRORS = {
    "409": "A request with the same Idempotency-Key is still running: retry it in a moment.",
    "422": "The Idempotency-Key was used for a different request (another body, path or If-Match).",
}
NOT_MODIFIED = "Not Modified: the item still has the ETag named in If-None-Match. No body."


def add_transport_headers(result, generator, request, public):
    components = result.setdefault("components", {})
    components.setdefault("headers", {}).update(HEADERS)
    components.setdefault("parameters", {}).update(PARAMETERS)
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            if method == "post":
                document_idempotency(operation)
            elif method == "get" and is_item_detail(path):
                document_conditional_get(operation)
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {}).update(
                    {name: header_ref(name) for name in ("RateLimit-Policy", "RateLimit")}
                )
    return result


def header_ref(name):
    return {"$ref": f"#/components/headers/{name}"}


def document_idempotency(operation):
    operation.setdefault("parameters", []).append({"$ref": "#/components/parameters/IdempotencyKey"})
    responses = operation.setdefault("responses", {})
    for code, response in responses.items():
        if code.startswith("2"):
            response.setdefault("headers", {})["Idempotent-Replayed"] = header_ref("Idempotent-Replayed")
    for code, description in IDEMPOTENCY_ERRORS.items():
        if code in responses:
            given = responses[code].get("description", "").rstrip()
            responses[code]["description"] = f"{given} Or: {description[0].lower()}{description[1:]}"
        else:
            responses[code] = {"description": description, "content": {PROBLEM_JSON: {"schema": ERROR_REF}}}


def document_conditional_get(operation):
    operation.setdefault("parameters", []).append({"$ref": "#/components/parameters/IfNoneMatch"})
    responses = operation.setdefault("responses", {})
    if "200" in responses:
        responses["200"].setdefault("headers", {})["ETag"] = header_ref("ETag")
    responses["304"] = {"description": NOT_MODIFIED, "headers": {"ETag": header_ref("ETag")}}


def is_item_detail(path):
    """Whether the path is an item's detail in one of the API's resources (tracker.api.views.ApiViewSet.retrieve,
    which sets the ETag)."""
    from tracker.api.views import ApiViewSet  # the views import this room's modules: not at import time

    try:
        match = resolve(re.sub(r"\{[^}]+\}", "1", path))
    except Resolver404:
        return False
    view = match.func
    return issubclass(getattr(view, "cls", object), ApiViewSet) and getattr(view, "actions", {}).get("get") == (
        "retrieve"
    )
