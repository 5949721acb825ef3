"""One error format for every error of the API: RFC 9457 problem details (`application/problem+json`, see
tracker.api.renderers) with a `code` per kind of error and field-level messages.

    {"type": "about:blank", "title": "Bad Request", "status": 400, "code": "invalid", "detail": "…",
     "fields": {"progress": ["…"]}}

Django's ValidationError (raised by models and services) becomes a 400 like a serializer error;
a database conflict becomes a 409. Nothing a client sends should produce a 500.
"""

from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tracker.core.services import StaleVersion

NON_FIELD = "non_field_errors"


def _messages(value):
    if isinstance(value, dict):
        return {str(key): _messages(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        flat = []
        for item in value:
            inner = _messages(item)
            if isinstance(inner, list):
                flat.extend(inner)
            else:
                flat.append(inner)
        return flat
    return [str(value)]


def error_body(status_code, code, detail, fields=None, **extra):
    """A problem details object. Its `type` is about:blank, so its `title` is the HTTP status phrase (RFC 9457 4.2.1);
    `code` tells the kinds of error of one status apart."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "code": code,
        "detail": str(detail),
        "fields": fields or {},
    }
    body.update(extra)
    return body


def _from_django_validation(exc):
    if hasattr(exc, "error_dict"):
        fields = {
            ("" if key == "__all__" else key) or NON_FIELD: [str(m) for m in msgs]
            for key, msgs in exc.message_dict.items()
        }
    else:
        fields = {NON_FIELD: [str(m) for m in exc.messages]}
    return exceptions.ValidationError(fields)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = _from_django_validation(exc)
    elif isinstance(exc, IntegrityError):
        return Response(
            error_body(409, "conflict", _("This conflicts with existing data (a duplicate, or a rule of the data).")),
            status=status.HTTP_409_CONFLICT,
        )
    elif isinstance(exc, StaleVersion):
        exc = PreconditionFailed()
    elif isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, checked as DRF reads the body
        exc = RequestTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        data = exc.detail
        fields = _messages(data if isinstance(data, dict) else {NON_FIELD: data})
        response.data = error_body(response.status_code, "invalid", _("The request has invalid fields."), fields)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        if isinstance(exc, exceptions.APIException) and isinstance(exc.detail, str | exceptions.ErrorDetail):
            code = getattr(exc.detail, "code", None) or code
        response.data = error_body(response.status_code, str(code), detail)
    return response


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy("The item changed since you read it.")
    default_code = "stale"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = gettext_lazy("Send If-Match with the ETag of the item you read.")
    default_code = "if_match_required"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("This conflicts with existing data.")
    default_code = "conflict"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "too_large"
