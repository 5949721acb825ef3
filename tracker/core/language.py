"""The active language, read quickly where thousands of texts are written in one language (reminder e-mails).

Django's `get_language()` and `gettext()` each read an asgiref `Local`: about 4 µs apiece here, and composing
one reminder asked them some 30 times, a quarter of its time. `speaking(language)` is `translation.override`
that also sets a context variable; while it holds, `active()` reads that variable and `gettext` remembers each
phrase per language. Anywhere else both fall back to Django's own, so code outside such a block is unchanged.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import translation

_speaking: ContextVar[str | None] = ContextVar("tracker_speaking", default=None)
_phrases: dict[tuple[str, str], str] = {}


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """`translation.override(language)`, known to `active()` and `gettext` (not nested: a block composes one text)."""
    with translation.override(language):
        token = _speaking.set(language)
        try:
            yield
        finally:
            _speaking.reset(token)


def active() -> str | None:
    return _speaking.get() or translation.get_language()


def is_right_to_left() -> bool:
    """`translation.get_language_bidi()`, from `active()`."""
    language = active()
    return language is not None and language.split("-")[0] in settings.LANGUAGES_BIDI


def gettext(message: str) -> str:
    """`gettext`, each phrase translated once per language inside `speaking` (only literal messages reach it)."""
    language = _speaking.get()
    if language is None:
        return translation.gettext(message)
    phrase = _phrases.get((language, message))
    if phrase is None:
        phrase = _phrases[language, message] = translation.gettext(message)
    return phrase


@receiver(setting_changed, dispatch_uid="tracker-language-phrases")
def _forget_phrases(**kwargs: Any) -> None:
    _phrases.clear()  # tests change LANGUAGE_CODE, LOCALE_PATHS...: translate again
