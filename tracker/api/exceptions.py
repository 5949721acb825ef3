"""One error format for every error of the API: RFC 9457 problem details (`application/problem+json`, see
tracker.api.renderers) with a `code` per kind of error and field-level messages.

    {"type": "about:blank", "title": "Bad Request", "status": 400, "code": "invalid", "detail": "…",
     "fields": {"progress": ["…"]}}

Django's ValidationError (raised by models and services) becomes a 400 like a serializer error;
a database conflict becomes a 409. Nothing a client sends should produce a 500.
"""

import logging
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tracker.api.idempotency import StoredAnswer
from tracker.api.throttling import count_refused_early
from tracker.core.services import StaleVersion

NON_FIELD = "non_field_errors"


def _messages(value, name):
    """`fields` as the schema says, {field: [messages]}: an error nested in a field (one of several files, an item
    of a list) is named by its path, e.g. `file.2`."""
    if isinstance(value, dict):
        fields = {}
        for key, inner in value.items():
            fields.update(_messages(inner, f"{name}.{key}" if name else str(key)))
        return fields
    if isinstance(value, list | tuple) and any(isinstance(item, dict | list | tuple) for item in value):
        fields = {}
        for index, item in enumerate(value):
            fields.update(_messages(item, f"{name}.{index}"))
        return fields
    items = value if isinstance(value, list | tuple) else [value]
    return {name: [str(item) for item in items]} if items else {}


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
    if isinstance(exc, StoredAnswer):  # a retried POST, answered as the first time
        return exc.response
    wait = count_refused_early(context["request"], context["view"])
    if wait:  # refused before the throttle's turn (401, 403), and over the limit: the limit is the answer
        exc = exceptions.Throttled(wait)
    elif isinstance(exc, SuspiciousOperation):  # Django's refusals of the request itself: never its HTML 400
        exc = _from_suspicious(exc, context["request"])
    elif isinstance(exc, DjangoValidationError):
        exc = _from_django_validation(exc)
    elif isinstance(exc, IntegrityError):
        return Response(
            error_body(409, "conflict", _("This conflicts with existing data (a duplicate, or a rule of the data).")),
            status=status.HTTP_409_CONFLICT,
        )
    elif isinstance(exc, StaleVersion):
        exc = PreconditionFailed()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        data = exc.detail
        fields = _messages(data if isinstance(data, dict) else {NON_FIELD: data}, "")
        response.data = error_body(response.status_code, "invalid", _("The request has invalid fields."), fields)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        if isinstance(exc, exceptions.APIException) and isinstance(exc.detail, str | exceptions.ErrorDetail):
            code = getattr(exc.detail, "code", None) or code
        response.data = error_body(response.status_code, str(code), detail)
    return response


def _from_suspicious(exc, request):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413; too many fields or files (DATA_UPLOAD_MAX_NUMBER_FIELDS,
    in the query string or a form body) and Django's other refusals a 400. Logged as Django logs them."""
    logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
    forget_unread_body(request)
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ParseError(_("The request has more parameters or fields than it may."), "too_many_fields")
    if isinstance(exc, TooManyFilesSent):
        return exceptions.ParseError(_("The request has more files than it may."), "too_many_files")
    return exceptions.ParseError(_("The request was refused as malformed."), "bad_request")


def forget_unread_body(request):
    """After the body was refused unread, DRF must know that it has no data: a renderer asking for it again (the
    browsable API's does) would raise again, outside the view, and Django would answer its HTML 400. And the body
    still on the wire is read and dropped (up to twice the limit), so that a client that writes all of it before
    reading the answer gets the 413, not a connection reset by a server that closed without reading it."""
    request._data = request._full_data = QueryDict(encoding=request._request._encoding)
    request._files = MultiValueDict()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if 0 < length <= 2 * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0):
        while request._request.read(64 * 1024):
            pass


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
