"""The API's JSON parser: refuses, with a 4xx and a clear message, what would cost the server instead.

DRF's parser hands the body to Python's json module, which recurses once per nesting level: a body nested a
thousand levels deep raised RecursionError, a 500. Here orjson parses (in C, with its own depth limit), the
result may be nested at most MAX_DEPTH levels (a report is one level; no resource needs more than three).
A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE is refused before it is parsed: DRF reads JSON through
Django's `request.body`, which checks it (the exception handler answers 413).
"""

import orjson
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def nested_deeper_than(value, limit):
    """Whether lists and objects in `value` nest more than `limit` levels (iterative: no recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                pending.append((child, depth + 1))
    return False


class JSONParser(parsers.JSONParser):
    """JSON bodies (UTF-8, as RFC 8259 requires), at most MAX_DEPTH levels deep; anything else is a ParseError,
    a 400 in the API's error shape."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        too_deep = ParseError(_("The JSON is nested more than %(limit)d levels deep.") % {"limit": MAX_DEPTH})
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            if "depth" in str(error) or "recursion" in str(error).lower():
                raise too_deep from None
            raise ParseError(_("The body is not valid JSON: %(error)s") % {"error": error}) from None
        if nested_deeper_than(value, MAX_DEPTH):
            raise too_deep
        return value
