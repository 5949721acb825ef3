"""Throttling per token (or per signed-in user): 429 with Retry-After."""

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from tracker.api.models import ApiToken


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
