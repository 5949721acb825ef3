from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation


class UserLanguageMiddleware:
    """A signed-in user's saved language wins over the browser's, on every page and device.

    Runs after LocaleMiddleware (which negotiated from the cookie and Accept-Language) and after
    authentication, so it can read the user's profile.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._saved_language(request)
        if language and language != request.LANGUAGE_CODE:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)

    @staticmethod
    def _saved_language(request: HttpRequest) -> str | None:
        if request.path.startswith("/public/"):
            # The public pages carry their language in the path and answer the same for everyone: reading the
            # user would open the session and add "Vary: Cookie", which no shared cache could then store.
            return None
        user = getattr(request, "user", None)
        if not user or not user.is_authenticated:
            return None
        profile = getattr(user, "tracker_profile", None) if hasattr(user, "tracker_profile") else None
        return profile.language if profile else None


class SecondFactorMiddleware:
    """Staff who still owe their second factor reach only sign-in pages until they give it (or enrol):
    a page sends them to /accounts/two-factor/, an API call answers 403. Runs after django-otp's middleware."""

    OPEN_PREFIXES = ("/accounts/", "/admin/login/", "/admin/logout/", "/static/", "/language/", "/health/", "/public/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from tracker.core.permissions import needs_second_factor

        if request.path.startswith(self.OPEN_PREFIXES) or not needs_second_factor(request.user):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return second_factor_required_json()
        return redirect_to_login(request.get_full_path(), reverse("two_factor"), "next")


def second_factor_required_json() -> HttpResponse:
    from django.http import JsonResponse
    from django.utils.translation import gettext as _

    detail = _("Verify your sign-in with your authenticator code first (at /accounts/two-factor/).")
    # The API's problem details (tracker.api.exceptions.error_body), written here: the core names no room.
    body = {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "code": "second_factor_required",
        "detail": detail,
        "fields": {},
    }
    return JsonResponse(body, status=403, content_type="application/problem+json")
