"""Throttling per token (or per signed-in user, or per address without credentials): 429 with Retry-After, and
the client's standing on every answer, in the RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-11):

    RateLimit-Policy: "default";q=600;w=60     600 requests (q) in any 60 seconds (w)
    RateLimit: "default";r=599;t=42            599 left (r), within the next 42 seconds (t)

The throttle keeps a sliding log of the client's requests over the window (DRF's SimpleRateThrottle): `r` is what
the log leaves, `t` the seconds until its oldest request leaves the window (one more request becomes available
then). On a 429, `t` is the Retry-After. Both come from the log the throttle has just read: no extra cache call.
The throttle notes them on the request; RateLimitHeadersMiddleware writes them on the answer, whatever view or
error made it (the catch-all 404 included). A request refused before the throttle's turn, for its credentials (401)
or permissions (403), is counted too (tracker.api.exceptions calls `count_refused_early`): a 401 against its
address, like a request without credentials.
"""

import math
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from tracker.api.models import ApiToken

POLICY = "default"


@dataclass(frozen=True)
class RateLimit:
    """A client's standing under the policy, as the throttle left it."""

    quota: int
    window: int  # seconds
    remaining: int
    reset: int  # seconds within which the client can use no more than `remaining`
    refused: bool = False  # this request is over the limit (answered 429)

    def headers(self):
        return {
            "RateLimit-Policy": f'"{POLICY}";q={self.quota};w={self.window}',
            "RateLimit": f'"{POLICY}";r={self.remaining};t={self.reset}',
        }


class PartnerRateThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self):
        # Shared across processes when Redis is configured (see settings.CACHES["api-throttle"]).
        self.cache = caches["api-throttle" if "api-throttle" in settings.CACHES else "default"]
        super().__init__()

    def get_rate(self):
        # Read at each request, so the rate follows the setting (and tests can override it).
        return getattr(settings, "API_THROTTLE_RATE", None) or None

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            # The token prefix is random, so keys never collide across databases or test runs.
            ident = f"token:{request.auth.token_key}:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return f"wrt-api-throttle:{ident}"

    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        if hasattr(self, "history"):  # the log was read: throttling is on and the client known
            request._request.api_rate_limit = self.standing(refused=not allowed)
        return allowed

    def standing(self, refused):
        """From the log as this request left it (newest first; a refused request is not in it)."""
        if self.history:
            reset = math.ceil(self.history[-1] + self.duration - self.now)
        else:
            reset = self.duration
        return RateLimit(
            quota=self.num_requests,
            window=self.duration,
            remaining=max(0, self.num_requests - len(self.history)),
            reset=max(0, reset),
            refused=refused,
        )


def count_refused_early(request, view):
    """Count a request refused before the throttle's turn (for its credentials, or its permissions) as the
    throttle counts any: against its token or user, or its address without valid credentials. The wait in seconds
    if that is over the limit, else None. Not before the request was authenticated (a 406): nobody to count."""
    if request is None or "_user" not in request.__dict__ or hasattr(request._request, "api_rate_limit"):
        return None
    if PartnerRateThrottle not in getattr(view, "throttle_classes", ()):
        return None
    throttle = PartnerRateThrottle()
    if throttle.allow_request(request, view):
        return None
    return throttle.wait() or 1


class RateLimitHeadersMiddleware:
    """The RateLimit header fields on every answer of a request the throttle counted (only the API's are)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        standing = getattr(request, "api_rate_limit", None)
        if standing is not None:
            for name, value in standing.headers().items():
                response[name] = value
        return response
