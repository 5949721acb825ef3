from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
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
        user = getattr(request, "user", None)
        if not user or not user.is_authenticated:
            return None
        profile = getattr(user, "tracker_profile", None) if hasattr(user, "tracker_profile") else None
        return profile.language if profile else None
