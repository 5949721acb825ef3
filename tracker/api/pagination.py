"""Cursor pagination: stable pages on large collections while rows change underneath."""

from django.utils import timezone
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "id"

    def get_paginated_response(self, data):
        return Response({
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            # Pass this as `updated_since` on the next sync.
            "server_time": timezone.now(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["server_time"] = {
            "type": "string", "format": "date-time",
            "description": "Time of this answer; use it as updated_since on the next incremental sync.",
        }
        response["required"] = ["next", "previous", "server_time", "results"]
        return response
