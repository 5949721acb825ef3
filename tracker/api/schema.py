"""OpenAPI post-processing: what drf-spectacular does not derive from the views, so that outside tools (Redocly,
schemathesis, openapi-python-client) accept the contract as it is.

- every operation documents the common error answers, in the one error format (RFC 9457 problem details);
- every operation has a summary: derived here for list, get, create and update, named with
  `extend_schema(summary=...)` by the other actions;
- every JSON answer and request body has an example, valid against its schema (tests/api/test_contract.py checks
  each one against its schema, formats included);
- OpenAPI 3.1: the paginator's hand-written schema still says `nullable`, which 3.1 replaced by type lists.
"""

import copy
import re
from http import HTTPStatus

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import is_jsonschema_compliant
from rest_framework import exceptions

from tracker.api.renderers import PROBLEM_JSON

JSON = "application/json"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
COMMON = {
    "400": "Invalid parameters or body; `fields` names each problem.",
    "401": "No credentials, or an invalid, expired or revoked token.",
    "403": "The credentials do not allow this (e.g. a write with a read-only token).",
    "404": "No such item, or outside the member states of the token.",
    "429": "Too many requests for this token; see the Retry-After header.",
}
# Only for operations that take a body: the API reads JSON bodies only.
UNSUPPORTED_MEDIA_TYPE = "The body is not JSON: send it with Content-Type: application/json."
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
    for _path, operations in api_operations(result):
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            common = dict(COMMON, **({"415": UNSUPPORTED_MEDIA_TYPE} if "requestBody" in operation else {}))
            for code, description in common.items():
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


def api_operations(result):
    return [(path, operations) for path, operations in result.get("paths", {}).items() if path.startswith("/api/v1/")]


def _errors_are_problem_details(responses):
    """Every error answer, documented here or by a view, is typed as it is sent (tracker.api.renderers)."""
    for code, response in responses.items():
        content = response.get("content", {})
        if code.isdigit() and int(code) >= 400 and JSON in content:
            content[PROBLEM_JSON] = content.pop(JSON)


# --- Summaries ------------------------------------------------------------------------------------

SUMMARIES = {
    "list": "List {plural}",
    "retrieve": "Get {article} {singular}",
    "create": "Create {article} {singular}",
    "partial_update": "Update {article} {singular}",
}


def add_summaries(result, generator, request, public):
    """A summary per operation (what Redocly's and Swagger UI's operation lists show), derived from the router's
    operation id and the resource. Any other operation names its own: tests/api/test_contract.py fails on one
    without (a warning here would fail every `spectacular --fail-on-warn` while an endpoint is being built)."""
    for path, operations in api_operations(result):
        for operation in operations.values():
            summary = operation.get("summary") or derived_summary(result, path, operation)
            if summary:
                operation["summary"] = summary
    return result


def derived_summary(result, path, operation):
    collection = path.split("/")[3]  # /api/v1/<collection>/...
    prefix = collection.replace("-", "_") + "_"
    operation_id = operation.get("operationId", "")
    action = operation_id.removeprefix(prefix)
    if not operation_id.startswith(prefix) or action not in SUMMARIES:
        return None
    singular = words(item_of(result, collection) or success_schema_name(operation) or "")
    if action != "list" and not singular:
        return None
    article = "an" if singular[:1] in tuple("aeiou") else "a"
    return SUMMARIES[action].format(plural=collection.replace("-", " "), singular=singular, article=article)


def success_schema_name(operation):
    """The component a successful answer carries (`ReviewCycle`), if it is one."""
    for code, response in operation.get("responses", {}).items():
        if code.startswith("2"):
            ref = response.get("content", {}).get(JSON, {}).get("schema", {}).get("$ref", "")
            if ref:
                return ref.rsplit("/", 1)[1]
    return None


def words(name):
    """`ReviewCycle` -> `review cycle`."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


# --- Examples -------------------------------------------------------------------------------------
# One example per resource (Egypt's report on AIMC's recommendation R2, from the 2021 Sharm El-Sheikh workshop),
# request body and error; list answers show a page holding the resource's example. Keyed by component name.

ETAG = '"9f1c2e4ab07d5c3e81f0a6d2"'
ITEM_EXAMPLES = {
    "Body": {
        "id": 1,
        "code": "aimc",
        "acronym": "AIMC",
        "acronym_en": "AIMC",
        "acronym_ar": "مجلس وزراء الداخلية العرب",
        "name": "Arab Interior Ministers' Council",
        "name_en": "Arab Interior Ministers' Council",
        "name_ar": "مجلس وزراء الداخلية العرب",
        "member_states": ["DZ", "EG", "JO", "LB", "MA", "TN"],
    },
    "MemberState": {"id": 19, "iso_code": "EG", "name": "Egypt", "name_en": "Egypt", "name_ar": "مصر"},
    "Theme": {
        "id": 7,
        "code": "data-collection-exchange",
        "position": 7,
        "name": "Collection and exchange of data",
        "name_en": "Collection and exchange of data",
        "name_ar": "جمع البيانات وتبادلها",
    },
    "Meeting": {
        "id": 2,
        "code": "2021-sharm-el-sheikh-workshop",
        "body": 1,
        "body_code": "aimc",
        "kind": "workshop",
        "title": "Regional Workshop on International Protection in Mixed Movements in the Central Mediterranean",
        "title_en": "Regional Workshop on International Protection in Mixed Movements in the Central Mediterranean",
        "title_ar": "ورشة العمل الإقليمية حول الحماية الدولية في التحركات المختلطة في وسط البحر الأبيض المتوسط",
        "venue": "Sharm El-Sheikh",
        "venue_en": "Sharm El-Sheikh",
        "venue_ar": "شرم الشيخ",
        "start_date": "2021-06-28",
        "end_date": "2021-06-30",
        "organisers": ["unhcr"],
    },
    "Recommendation": {
        "id": 2,
        "meeting": 2,
        "meeting_code": "2021-sharm-el-sheikh-workshop",
        "body_code": "aimc",
        "reference": "R2",
        "position": 2,
        "text": "Exchange of information about mixed movements of refugees, asylum seekers and migrants.",
        "text_en": "Exchange of information about mixed movements of refugees, asylum seekers and migrants.",
        "text_ar": "تبادل المعلومات حول التحركات المختلطة للاجئين وطالبي اللجوء والمهاجرين.",
        "arabic_text_status": "working",
        "themes": ["data-collection-exchange"],
        "framework_targets": ["sdg-17.18", "sdg-10.7"],
        "applies_to": [],
        "target_date": "2027-12-31",
        "is_public": True,
        "is_archived": False,
        "is_sample": False,
        "created_at": "2021-06-30T00:00:00Z",
        "updated_at": "2026-01-12T10:04:31Z",
        "etag": '"5d41402abc4b2a76b9719d911017c592"',
    },
    "Implementation": {
        "id": 41,
        "recommendation": 2,
        "reference": "R2",
        "meeting_code": "2021-sharm-el-sheikh-workshop",
        "body_code": "aimc",
        "member_state": "EG",
        "applies": True,
        "is_archived": False,
        "status": "in_progress",
        "progress": 40,
        "last_reported_at": "2026-03-02T09:15:00Z",
        "last_report_cycle": 3,
        "has_open_obstacle": False,
        "unchanged_cycles": 0,
        "is_stalled": False,
        "stalled_reasons": [],
        "version": 2,
        "etag": ETAG,
        "created_at": "2021-06-30T00:00:00Z",
        "updated_at": "2026-03-02T09:15:00Z",
    },
    "ProgressReport": {
        "id": 310,
        "implementation": 41,
        "recommendation": 2,
        "member_state": "EG",
        "cycle": 3,
        "status": "in_progress",
        "progress": 40,
        "narrative": "A draft law on information sharing between the border agencies was sent to parliament.",
        "obstacles": "",
        "support_needed": "Training for the border data officers.",
        "state": "submitted",
        "submitted_at": "2026-03-02T09:15:00Z",
        "sent_for_validation_at": None,
        "is_archived": False,
        "created_at": "2026-02-20T13:40:12Z",
        "updated_at": "2026-03-02T09:15:00Z",
        "author": None,
        "evidence": [
            {
                "id": 88,
                "original_name": "draft-law.pdf",
                "content_type": "application/pdf",
                "size": 284113,
                "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                "created_at": "2026-02-20T13:41:02Z",
            }
        ],
    },
    "ReviewCycle": {
        "id": 3,
        "body": 1,
        "body_code": "aimc",
        "name": "First half of 2026",
        "name_en": "First half of 2026",
        "name_ar": "النصف الأول من عام 2026",
        "period_start": "2026-01-01",
        "period_end": "2026-06-30",
        "report_deadline": "2026-05-31",
        "review_meeting_date": "2026-06-15",
        "state": "open",
        "opened_at": "2026-01-01T06:00:00Z",
        "closed_at": None,
        "etag": '"7b8b965ad4bca0e41ab51de7b31363a1"',
    },
    "ReviewOutcome": {
        "id": 12,
        "implementation": 41,
        "member_state": "EG",
        "cycle": 3,
        "obstacle_category": "capacity",
        "obstacle": "Too few trained border data officers.",
        "solution": "Draft the data-sharing protocol with UNHCR's help.",
        "follow_up_by": "UNHCR Cairo",
        "follow_up_due": "2026-09-30",
        "created_at": "2026-06-15T14:20:00Z",
        "updated_at": "2026-06-15T14:20:00Z",
    },
    "FocalPoint": {
        "id": 5,
        "member_state": "EG",
        "body_code": "aimc",
        "role": "primary",
        "name": "Ahmed Hassan",
        "email": "ahmed.hassan@example.org",
        "phone": "+20 2 2345 6789",
        "preferred_language": "ar",
        "start_date": "2025-09-01",
        "end_date": None,
        "is_active": True,
    },
    "Commitment": {
        "id": 21,
        "implementation": 41,
        "recommendation": 2,
        "reference": "R2",
        "member_state": "EG",
        "body_code": "aimc",
        "outcome": 12,
        "cycle": 3,
        "description": "Adopt the data-sharing protocol.",
        "owner": "state",
        "organisation": None,
        "due_date": "2026-09-30",
        "state": "open",
        "is_late": False,
        "done_at": None,
        "done_note": "",
        "confirmed_at": None,
        "dropped_reason": "",
        "reopened_reason": "",
        "created_at": "2026-06-15T14:20:00Z",
        "updated_at": "2026-06-15T14:20:00Z",
        "evidence": [],
    },
    "EvidenceFile": {
        "id": 88,
        "report": 310,
        "original_name": "draft-law.pdf",
        "content_type": "application/pdf",
        "size": 284113,
        "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "created_at": "2026-02-20T13:41:02Z",
        "url": "{site}/api/v1/progress-reports/310/evidence/88/",
        "file_url": "{site}/api/v1/progress-reports/310/evidence/88/file/",
    },
    # The webhooks room's resource (tracker/webhooks/api.py), served under /api/v1/webhook-endpoints/.
    "Endpoint": {
        "id": 3,
        "url": "https://partner.example.org/hooks/tracker",
        "description": "Egyptian ministry case system",
        "events": ["report.submitted", "implementation.changed"],
        "member_states": ["EG"],
        "is_active": True,
        "disabled_at": None,
        "disabled_reason": "",
        "failure_streak": 0,
        "previous_secret_expires_at": None,
        "version": 1,
        "etag": '"1"',
        "created_at": "2026-02-01T10:00:00Z",
        "updated_at": "2026-02-01T10:00:00Z",
    },
    "Pack": {
        "id": 4,
        "cycle": 3,
        "language": "ar",
        "format": "pdf",
        "state": "ready",
        "progress": 100,
        "created_at": "2026-06-10T08:00:00Z",
        "finished_at": "2026-06-10T08:00:41Z",
        "status_url": "{site}/api/v1/review-cycles/3/pack/4/",
        "file_url": "{site}/api/v1/review-cycles/3/pack/4/file/",
        "error": None,
    },
}
REQUEST_EXAMPLES = {
    "ReportInput": {
        "status": "in_progress",
        "progress": 40,
        "narrative": "A draft law on information sharing between the border agencies was sent to parliament.",
        "obstacles": "",
        "support_needed": "Training for the border data officers.",
    },
    "CommitmentDone": {"note": "The protocol was signed on 1 September 2026."},
    "PackRequest": {"language": "ar", "format": "pdf"},
    "RecommendationWrite": {
        "meeting": 2,
        "reference": "R8",
        "position": 8,
        "text_en": "Share good practices on alternatives to detention.",
        "text_ar": "تبادل الممارسات الجيدة بشأن بدائل الاحتجاز.",
        "arabic_text_status": "working",
        "themes": ["alternatives-to-detention"],
        "framework_targets": ["gcr-1"],
        "applies_to": [],
        "target_date": "2027-12-31",
        "is_public": True,
    },
    "PatchedRecommendationWrite": {"arabic_text_status": "official", "target_date": "2028-06-30"},
    "ReviewCycleWrite": {
        "body": 1,
        "name_en": "Second half of 2026",
        "name_ar": "النصف الثاني من عام 2026",
        "period_start": "2026-07-01",
        "period_end": "2026-12-31",
        "report_deadline": "2026-11-30",
        "review_meeting_date": "2026-12-14",
    },
    "PatchedReviewCycleWrite": {"state": "under_review"},
    "EndpointWrite": {
        "url": "https://partner.example.org/hooks/tracker",
        "description": "Egyptian ministry case system",
        "events": ["report.submitted", "implementation.changed"],
        "member_states": ["EG"],
    },
    "PatchedEndpointWrite": {"events": ["report.submitted"], "is_active": True},
}
ITEM_EXAMPLES["EndpointWithSecret"] = {
    **ITEM_EXAMPLES["Endpoint"],
    "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",  # made up: shown once, in a create or rotate answer
}
PAGE_EXAMPLE = {
    "next": "{site}/api/v1/{collection}/?cursor=cD01MA%3D%3D",
    "previous": None,
    "server_time": "2026-03-02T09:20:00Z",
    "sync_token": "c48213",
}


def api_errors():
    """The API's exceptions per status. Imported when the schema is built: tracker.api.authentication imports this
    module (for PartnerTokenScheme) while DRF's views, which tracker.api.exceptions imports, are still loading."""
    from tracker.api.exceptions import Conflict, PreconditionFailed, PreconditionRequired

    return {
        401: exceptions.NotAuthenticated,
        403: exceptions.PermissionDenied,
        404: exceptions.NotFound,
        409: Conflict,
        412: PreconditionFailed,
        415: exceptions.UnsupportedMediaType,
        428: PreconditionRequired,
        429: exceptions.Throttled,
    }


def error_detail(status):
    """The detail the API sends with this status (the exceptions' own messages, in the active language)."""
    errors = api_errors()
    details = {
        400: "The request has invalid fields.",
        **{code: error.default_detail for code, error in errors.items()},
        415: str(exceptions.UnsupportedMediaType.default_detail).format(media_type="application/x-www-form-urlencoded"),
        429: str(exceptions.Throttled.default_detail)
        + " "
        + str(exceptions.Throttled.extra_detail_plural).format(wait=12),
    }
    return str(details.get(status, HTTPStatus(status).phrase))


# What a 400 names: a field of the body, or a query parameter.
BODY_FIELD_ERROR = {"progress": ["Ensure this value is less than or equal to 100."]}
PARAMETER_ERROR = {"page_size": ["Give a whole number from 1 to 500."]}


def error_example(status, item=None, has_body=False):
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": "invalid" if status == 400 else getattr(api_errors().get(status), "default_code", "error"),
        "detail": error_detail(status),
        "fields": (BODY_FIELD_ERROR if has_body else PARAMETER_ERROR) if status == 400 else {},
    }
    if status == 412 and item is not None:
        if "version" in item:
            body["current_version"] = item["version"]
        body["current"] = item
    return body


def add_examples(result, generator, request, public):
    """An example on every JSON answer and request body of the API that has none from its view (a file download has
    none). tests/api/test_contract.py fails on a JSON answer or body left without, and on an invalid example.

    A list page is always built here, from the item's example (ITEM_EXAMPLES, or an OpenApiExample of the item's
    own answer): drf-spectacular cannot page an item example for this paginator (`server_time` has no example)."""
    schemas = result.get("components", {}).get("schemas", {})
    items = {**with_site(ITEM_EXAMPLES), **examples_from_views(result)}
    for path, operations in api_operations(result):
        collection = path.split("/")[3]
        for operation in operations.values():
            body = operation.get("requestBody", {}).get("content", {}).get(JSON)
            if body is not None:
                set_example(body, "body", REQUEST_EXAMPLES.get(component_name(body.get("schema", {}))))
            current = items.get(item_of(result, collection))
            for code, content in json_answers(operation):
                if code.startswith(("4", "5")):
                    example = error_example(int(code), current, has_body=body is not None)
                    set_example(content, HTTPStatus(int(code)).name.lower(), example)
                    continue
                name = component_name(content.get("schema", {}))
                page = page_example(schemas.get(name), name, items, collection)
                if page is not None:
                    content["examples"] = {"ok": {"value": page}}
                else:
                    set_example(content, "ok", items.get(name) or list_example(content.get("schema", {}), items))
    return result


def json_answers(operation):
    for code, response in operation.get("responses", {}).items():
        for media_type, content in response.get("content", {}).items():
            if media_type in (JSON, PROBLEM_JSON):
                yield code, content


def examples_from_views(result):
    """Item examples the views gave (OpenApiExample on an answer of one item), by component name."""
    found = {}
    for _path, operations in api_operations(result):
        for operation in operations.values():
            for code, content in json_answers(operation):
                name = component_name(content.get("schema", {}))
                given = list(content.get("examples", {}).values())
                if code.startswith("2") and name and not name.startswith("Paginated") and given:
                    found.setdefault(name, given[0].get("value"))
    return found


def with_site(examples):
    """The examples' URLs on this installation (SITE_URL, as in `servers`)."""
    return {
        name: {
            key: value.replace("{site}", settings.SITE_URL) if isinstance(value, str) else value
            for key, value in example.items()
        }
        for name, example in examples.items()
    }


def list_example(schema, items):
    """An unpaginated list of items: the item's example in a list."""
    item = items.get(component_name(schema.get("items", {}))) if schema.get("type") == "array" else None
    return None if item is None else [item]


def set_example(content, name, value):
    """`value` as the example of a media type, unless the view gave its own (OpenApiExample)."""
    if value is not None and not ("examples" in content or "example" in content):
        content["examples"] = {name: {"value": copy.deepcopy(value)}}


def component_name(schema):
    return schema.get("$ref", "").rsplit("/", 1)[-1] or None


def item_of(result, collection):
    """The component of one item of the collection (`implementations` -> Implementation), from its detail answer."""
    detail = result.get("paths", {}).get(f"/api/v1/{collection}/{{id}}/", {}).get("get")
    return success_schema_name(detail) if detail else None


def page_example(schema, name, items, collection):
    """A list answer: one page holding the item's example, with every field the page schema has."""
    if not schema or not name.startswith("Paginated") or not name.endswith("List"):
        return None
    item = items.get(name.removeprefix("Paginated").removesuffix("List"))
    if item is None:
        return None
    page = {"results": [item]}
    for field in schema.get("properties", {}):
        if field in PAGE_EXAMPLE:
            value = PAGE_EXAMPLE[field]
            page[field] = (
                value.replace("{site}", settings.SITE_URL).replace("{collection}", collection) if value else value
            )
    return page


# --- OpenAPI 3.1 ----------------------------------------------------------------------------------


def nullable_as_type_lists(result, generator, request, public):
    """In 3.1 a null is a type ({"type": ["string", "null"]}); `nullable` is gone. drf-spectacular converts the
    serializers' fields, not schemas written by hand such as DRF's paginator's `next` and `previous`, whose
    example also carries a stray quote (an invalid URI): the page examples show real links instead."""
    if not is_jsonschema_compliant():
        return result
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.startswith("Paginated"):
            for link in ("next", "previous"):
                schema.get("properties", {}).get(link, {}).pop("example", None)
        _drop_nullable(schema)
    return result


def _drop_nullable(node):
    if isinstance(node, list):
        for child in node:
            _drop_nullable(child)
    elif isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            del node["nullable"]
            node["type"] = [node["type"], "null"]
        for child in node.values():
            _drop_nullable(child)


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


def request_bodies_closed(result, generator, request, public):
    """Every write refuses a field it does not have (400 naming it): the request bodies say so, so that a client
    or a fuzzer built from the schema never sends one believing it allowed."""
    schemas = result.get("components", {}).get("schemas", {})
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                name = ref.rsplit("/", 1)[-1]
                if name in schemas and schemas[name].get("type") == "object":
                    schemas[name]["additionalProperties"] = False
    return result
