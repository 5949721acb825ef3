"""Every public answer is the same for everyone, so it is built once and served from the cache, with an ETag
that lets browsers and proxies revalidate for the price of a 304.

The cache key holds `publication_epoch()`: recording or withdrawing a state's agreement, or making a
recommendation public or confidential, changes the key, so what was withdrawn is never served again, not even
from a cache. New progress reaches the pages within `PUBLIC_CACHE_SECONDS`. Browsers and shared caches must
revalidate every time (`no-cache`), which costs them a 304 and keeps a withdrawal effective at once.
"""

import functools
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags

from tracker.core.publication import publication_epoch

CACHE_CONTROL = {"public": True, "no_cache": True}


def public_answer(view):
    """Cache a public view's answer (its content, type and headers) under the page's address and the
    publication epoch; answer 304 to a matching If-None-Match. The view runs in the language of the path."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        key = _cache_key(request)
        stored = cache.get(key)
        if stored is None:
            stored = _render(view, request, *args, **kwargs)
            if stored["status"] == 200:
                cache.set(key, stored, settings.PUBLIC_CACHE_SECONDS)
        return _respond(request, stored)

    return wrapper


def _cache_key(request) -> str:
    epoch = repr(publication_epoch())
    address = request.get_full_path()
    return "public:" + hashlib.blake2b(f"{address}|{epoch}".encode(), digest_size=16).hexdigest()


def _render(view, request, *args, **kwargs) -> dict:
    language = kwargs.get("lang") or settings.LANGUAGE_CODE
    with translation.override(language):
        response = view(request, *args, **kwargs)
        if hasattr(response, "render"):
            response.render()
    content = response.content
    etag = '"' + hashlib.blake2b(content, digest_size=16).hexdigest() + '"'
    headers = {name: value for name, value in response.items() if name.lower() not in ("vary", "set-cookie")}
    return {"status": response.status_code, "content": content, "headers": headers, "etag": etag, "lang": language}


def _respond(request, stored: dict) -> HttpResponse:
    if stored["status"] == 200 and _matches(request, stored["etag"]):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(stored["content"], status=stored["status"])
        for name, value in stored["headers"].items():
            response[name] = value
    response["ETag"] = stored["etag"]
    response["Content-Language"] = stored["lang"]
    patch_cache_control(response, **CACHE_CONTROL)
    response.same_for_every_language = True  # the language is in the path: see PublicPagesWithoutSession
    return response


def _matches(request, etag: str) -> bool:
    wanted = request.headers.get("If-None-Match")
    if not wanted:
        return False
    tags = parse_etags(wanted)
    return "*" in tags or etag in tags or etag in [tag.removeprefix("W/") for tag in tags]
