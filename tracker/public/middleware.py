"""The public pages are served to everyone as to an anonymous visitor."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import cc_delim_re

PUBLIC_PREFIX = "/public/"


class PublicPagesWithoutSession:
    """Hide the session cookie from the public pages (this runs before SessionMiddleware).

    Sessions are saved on every request (SESSION_SAVE_EVERY_REQUEST, the idle timeout): a signed-in visitor's
    public page would otherwise carry their session cookie (Set-Cookie) and "Vary: Cookie", and a shared cache
    must never store either. The public pages use no session, so they lose nothing; the session itself is left
    as it was (it is not read, not saved and not deleted).

    A public answer also says that it does not vary with Accept-Language (LocaleMiddleware adds it to every answer):
    its language is in its path, so a shared cache keeps one copy of it, not one per browser language. The
    `/public/` redirect, which does choose by the browser's language, keeps it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(PUBLIC_PREFIX) and settings.SESSION_COOKIE_NAME in request.COOKIES:
            request.COOKIES = {
                name: value for name, value in request.COOKIES.items() if name != settings.SESSION_COOKIE_NAME
            }
        response = self.get_response(request)
        if getattr(response, "same_for_every_language", False) and response.has_header("Vary"):
            kept = [name for name in cc_delim_re.split(response["Vary"]) if name.lower() != "accept-language"]
            if kept:
                response["Vary"] = ", ".join(kept)
            else:
                del response["Vary"]
        return response
