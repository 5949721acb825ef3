"""OpenAPI post-processing: every operation documents the common error answers in the one error format."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from tracker.api.renderers import PROBLEM_JSON

ERROR_REF = {"$ref": "#/components/schemas/Error"}
COMMON = {
    "400": "Invalid parameters or body; `fields` names each problem.",
    "401": "No credentials, or an invalid, expired or revoked token.",
    "403": "The credentials do not allow this (e.g. a write with a read-only token).",
    "404": "No such item, or outside the member states of the token.",
    "429": "Too many requests for this token; see the Retry-After header.",
}
ERROR_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` tells the kinds of error of one status apart.",
    "properties": {
        "type": {"type": "string", "description": "about:blank: the title is the HTTP status phrase."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["type", "title", "status", "code", "detail", "fields"],
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {PROBLEM_JSON: {"schema": ERROR_REF}},
                    },
                )
            responses["429"].setdefault(
                "headers", {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
            )
            _errors_are_problem_details(responses)
    return result


def _errors_are_problem_details(responses):
    """Every error answer, documented here or by a view, is typed as it is sent (tracker.api.renderers)."""
    for code, response in responses.items():
        content = response.get("content", {})
        if code.isdigit() and int(code) >= 400 and "application/json" in content:
            content[PROBLEM_JSON] = content.pop("application/json")


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tracker.api.authentication.PartnerTokenAuthentication"
    name = "partnerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`, as printed by `manage.py issue_api_token` or shown once in the admin.",
        }
