"""The active language, read quickly where thousands of texts are written in one language (reminder e-mails).

Django's `get_language()` and `gettext()` each read an asgiref `Local`: about 4 µs apiece here, and composing
one reminder asked them some 30 times, a quarter of its time. `speaking(language)` is `translation.override`
that also sets a context variable; while it holds, `active()` reads that variable and `gettext` remembers each
phrase per language. Anywhere else both fall back to Django's own, so code outside such a block is unchanged.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import translation

_speaking: ContextVar[str | None] = ContextVar("tracker_speaking", default=None)
_phrases: dict[tuple[str, str], str] = {}


@contextmanager
def speaking(language):
    """`translation.override(language)`, known to `active()` and `gettext` (not nested: a block composes one text)."""
    with translation.override(language):
        token = _speaking.set(language)
        try:
            yield
        finally:
            _speaking.reset(token)


def active():
    return _speaking.get() or translation.get_language()


def is_right_to_left():
    """`translation.get_language_bidi()`, from `active()`."""
    language = active()
    return bool(language) and language.split("-")[0] in settings.LANGUAGES_BIDI


def gettext(message):
    """`gettext`, each phrase translated once per language inside `speaking` (only literal messages reach it)."""
    language = _speaking.get()
    if language is None:
        return translation.gettext(message)
    phrase = _phrases.get((language, message))
    if phrase is None:
        phrase = _phrases[language, message] = translation.gettext(message)
    return phrase


@receiver(setting_changed, dispatch_uid="tracker-language-phrases")
def _forget_phrases(**kwargs):
    _phrases.clear()  # tests change LANGUAGE_CODE, LOCALE_PATHS...: translate again
