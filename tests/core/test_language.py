"""language.speaking: translation.override whose language and phrases are read without asgiref's Local."""

from django.utils import translation

from tracker.core import language
from tracker.core.language import gettext


def test_it_speaks_the_language_and_remembers_each_phrase():
    with language.speaking("ar"):
        assert language.active() == "ar" == translation.get_language()
        assert language.is_right_to_left()
        assert gettext("Why:") == translation.gettext("Why:") != "Why:"  # Arabic, from the catalogue
    with language.speaking("en"):
        assert gettext("Why:") == "Why:"  # remembered per language, never the other's
        assert not language.is_right_to_left()


def test_it_is_django_own_outside_a_block():
    with translation.override("ar"):
        assert language.active() == "ar"
        assert gettext("Why:") == translation.gettext("Why:")


def test_it_forgets_the_phrases_when_a_setting_changes(settings):
    with language.speaking("ar"):
        gettext("Why:")
    assert language._phrases
    settings.LANGUAGE_CODE = "en"
    assert not language._phrases
