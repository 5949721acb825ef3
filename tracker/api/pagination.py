"""Cursor pagination: stable pages on large collections while rows change underneath."""

import binascii
from base64 import b64decode

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

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
                # Pass this as `updated_since` on the next sync.
                "server_time": timezone.now(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["server_time"] = {
            "type": "string",
            "format": "date-time",
            "description": "Time of this answer; use it as updated_since on the next incremental sync.",
        }
        response["required"] = ["next", "previous", "server_time", "results"]
        return response
