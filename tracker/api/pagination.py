"""Cursor pagination: stable pages on large collections while rows change underneath."""

import binascii
from base64 import b64decode, b64encode
from urllib import parse

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from tracker.core import sync

MAX_CURSOR_LENGTH = 1000


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "id"

    def paginate_queryset(self, queryset, request, view=None):
        self.model = getattr(queryset, "model", None)
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        """The page size asked for; anything but a whole number from 1 to the maximum is a 400 naming it (a
        silently clamped or ignored size would make a client believe it got what it asked for)."""
        asked = request.query_params.get(self.page_size_query_param)
        if asked is None:
            return self.page_size
        if not (asked.isascii() and asked.isdigit() and 1 <= int(asked) <= self.max_page_size):
            message = _("Give a whole number from 1 to %(max)s.") % {"max": self.max_page_size}
            raise exceptions.ValidationError({self.page_size_query_param: [message]})
        return int(asked)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:  # what get_page_size accepts, the rest is a 400
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size, "default": self.page_size})
        return parameters

    def decode_cursor(self, request):
        """The cursor, or 404 "Invalid cursor" unless it is one of ours: strict base64, and a position that is a
        value of the field the list is ordered by (a position such as `abc` for an id reached the database)."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None:
            try:
                if len(encoded) > MAX_CURSOR_LENGTH:
                    raise ValueError(encoded)
                b64decode(encoded.encode("ascii"), validate=True)
            except (ValueError, binascii.Error):
                raise NotFound(self.invalid_cursor_message) from None
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            self.check_position(cursor.position)
        return cursor

    def check_position(self, position):
        if "\x00" in position or self.model is None:
            raise NotFound(self.invalid_cursor_message)
        try:
            field = self.model._meta.get_field(self.ordering[0].lstrip("-"))
            field.to_python(position)
        except (FieldDoesNotExist, ValidationError, ValueError, TypeError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "server_time": timezone.now(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["server_time"] = {
            "type": "string",
            "format": "date-time",
            "description": (
                "Time of this answer. For incremental sync use sync_token with changed_since: a time can miss a "
                "change that commits late."
            ),
        }
        response["required"] = ["next", "previous", "server_time", "results"]
        return response


class SyncCursorPagination(ApiCursorPagination):
    """The lists partners sync: every page carries `sync_token`, taken when the first page was read and carried
    in the `next` links, so the token of a round's last page covers every change made while paging through it.

    Follow `next` to the end, keep the last page's `sync_token`, pass it as `changed_since` next time."""

    sync_token = None

    def begin(self, request):
        """Take the round's token (or carry it from the cursor) before anything the page shows is read: a change
        committed after that is at or after the token, so the next round delivers it. Once a request: a view that
        answers from the queryset after all (tracker.api.compiled) keeps the token it took first."""
        if self.sync_token is None:
            self.sync_token = self.token_in_cursor(request) or sync.current_token()

    def paginate_queryset(self, queryset, request, view=None):
        if self.sync_token is None:
            self.begin(request)
        return super().paginate_queryset(queryset, request, view)

    def token_in_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            querystring = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            token = parse.parse_qs(querystring).get("t", [""])[0]
            sync.parse_token(token)
        except (ValueError, binascii.Error):  # BadToken is a ValueError: a cursor without one starts afresh
            return None
        return token

    def encode_cursor(self, cursor):
        link = super().encode_cursor(cursor)
        tokens = parse.parse_qs(parse.urlparse(link).query).get(self.cursor_query_param)
        querystring = b64decode(tokens[0]).decode("ascii") if tokens else ""
        querystring = parse.urlencode([*parse.parse_qsl(querystring), ("t", self.sync_token)])
        return replace_query_param(self.base_url, self.cursor_query_param, b64encode(querystring.encode()).decode())

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["sync_token"] = self.sync_token
        return response

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["sync_token"] = {
            "type": "string",
            "example": "c48213",
            "description": (
                "Pass it as changed_since on the next incremental sync, once you have followed next to the end: "
                "every change committed after your sync began will be in that answer."
            ),
        }
        response["required"] = [*response["required"], "sync_token"]
        return response
