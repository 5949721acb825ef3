"""The API's JSON renderer: errors go out as RFC 9457 problem details."""

from drf_orjson_renderer.renderers import ORJSONRenderer

PROBLEM_JSON = "application/problem+json"


class ProblemDetailsJSONRenderer(ORJSONRenderer):
    """orjson's JSON (UTC times end in Z); an error answer (4xx, 5xx), whose body is always built by
    tracker.api.exceptions.error_body, is typed application/problem+json: one place for every view and error."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        context = renderer_context or {}
        response, request = context.get("response"), context.get("request")
        # The browsable API renders the JSON into its HTML page with this renderer too: that page stays text/html.
        chosen = isinstance(getattr(request, "accepted_renderer", self), ProblemDetailsJSONRenderer)
        if response is not None and response.status_code >= 400 and chosen:
            response["Content-Type"] = PROBLEM_JSON
        return super().render(data, accepted_media_type, renderer_context)
