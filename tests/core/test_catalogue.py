"""The Arabic catalogue: one file, every entry translated, placeholders kept, compiled; Arabic dates read day first.

`make messages` runs all but the compiled one between makemessages and compilemessages. No database needed.
"""

import datetime
import re
from collections import Counter
from pathlib import Path

import polib
from django import forms
from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import date_format

import tracker

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "ar" / "LC_MESSAGES" / "django.po"
# Python's %-placeholders (%(name)s, %s, %d, %.1f; not %%) and str.format's ({name}, {}).
PERCENT = re.compile(r"%(\([^)]*\))?[#0 +-]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACE = re.compile(r"\{(\w*)\}")
# Plural forms 0, 1 and 2 are for n == 0, 1 and 2 alone, so the Arabic may say the number in words
# ("لم يُلغَ أي رمز", "يوم واحد", "يومين") and leave out the one placeholder that holds it.
SINGLE_NUMBER_FORMS = {0, 1, 2}


def catalogue():
    return polib.pofile(str(CATALOGUE))


def placeholders(text):
    """Each named placeholder once, as written (%(days)d, {name}); positional ones as often as they occur (%s, {})."""
    text = text.replace("%%", "")
    found = [m.group(0) for m in PERCENT.finditer(text)] + [m.group(0) for m in BRACE.finditer(text)]
    named = {token for token in found if token.startswith("%(") or token.startswith("{") and token != "{}"}
    return Counter(named) + Counter(token for token in found if token not in named)


def placeholder_errors(entry):
    if not entry.msgid_plural:
        return [] if placeholders(entry.msgstr) == placeholders(entry.msgid) else [entry.msgstr]
    wanted, errors = placeholders(entry.msgid_plural), []
    for index, form in sorted(entry.msgstr_plural.items()):
        found = placeholders(form)
        dropped = sum((wanted - found).values())
        if found - wanted or dropped > (1 if index in SINGLE_NUMBER_FORMS else 0):
            errors.append(f"[{index}] {form}")
    return errors


def messages(entries):
    """What gettext will find: (context, msgid, translation or plural forms) of each translated entry."""
    return {
        (e.msgctxt, e.msgid, e.msgstr or tuple(v for _, v in sorted(e.msgstr_plural.items())))
        for e in entries
        if e.msgid
    }


def test_it_has_exactly_one_catalogue():
    assert [Path(path) for path in settings.LOCALE_PATHS] == [Path(settings.BASE_DIR) / "locale"]
    package = Path(tracker.__file__).parent
    others = [p for p in [*CATALOGUE.parents[2].rglob("*.po"), *package.rglob("*.po")] if p != CATALOGUE]
    assert others == []
    keys = [(e.msgctxt, e.msgid) for e in catalogue()]
    assert [key for key, n in Counter(keys).items() if n > 1] == []


def test_it_has_the_six_arabic_plural_forms():
    po = catalogue()
    assert po.metadata["Language"] == "ar"
    assert po.metadata["Plural-Forms"].startswith("nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 :")
    assert [e.msgid for e in po if e.msgid_plural and sorted(e.msgstr_plural) != list(range(6))] == []


def test_it_has_no_untranslated_arabic_entry():
    untranslated = [e.msgid for e in catalogue().untranslated_entries()]
    assert untranslated == [], "Translate in locale/ar/LC_MESSAGES/django.po:\n" + "\n".join(untranslated)


def test_it_has_no_fuzzy_or_obsolete_entry():
    po = catalogue()
    assert [e.msgid for e in po.fuzzy_entries()] == [], "Check these translations, then remove their fuzzy flag"
    assert [e.msgid for e in po.obsolete_entries()] == [], "Run makemessages with --no-obsolete"


def test_it_keeps_the_placeholders_of_every_msgid():
    wrong = {e.msgid: errors for e in catalogue().translated_entries() if (errors := placeholder_errors(e))}
    assert wrong == {}


def test_it_finds_placeholders_and_the_words_for_one_and_two():
    assert placeholders("%(days)d يومًا، %s، %s، {name}، {name}، 100%%") == Counter(["%(days)d", "%s", "%s", "{name}"])
    entry = polib.POEntry(
        msgid="%(days)d day (limit %(limit)d)",
        msgid_plural="%(days)d days (limit %(limit)d)",
        msgstr_plural={
            0: "%(days)d يوم (الحد %(limit)d)",
            1: "يوم واحد (الحد %(limit)d)",
            2: "يومين (الحد %(limit)d)",
            3: "%(days)d أيام (الحد %(limit)d)",
            4: "%(days)d يومًا (الحد %(limit)d)",
            5: "يوم (الحد %(limit)d)",
        },
    )
    assert placeholder_errors(entry) == ["[5] يوم (الحد %(limit)d)"]


def test_it_has_compiled_the_catalogue():
    compiled = CATALOGUE.with_suffix(".mo")
    assert compiled.exists(), "Run compilemessages"
    po, mo = messages(catalogue().translated_entries()), messages(polib.mofile(str(compiled)))
    assert po == mo, f"django.mo is stale ({len(po ^ mo)} messages differ): run compilemessages"


def test_it_writes_arabic_date_times_day_month_year_on_a_24_hour_clock():
    with translation.override("ar"):
        assert date_format(datetime.datetime(2026, 7, 2, 0, 0), "DATETIME_FORMAT") == "2 يوليو، 2026، 00:00"
        assert date_format(datetime.datetime(2026, 7, 2, 14, 30), "SHORT_DATETIME_FORMAT") == (
            "02\u200f/07\u200f/2026 14:30"
        )


def test_it_writes_arabic_dates_day_month_year():
    with translation.override("ar"):
        assert date_format(datetime.date(2026, 7, 2)) == "2 يوليو، 2026"
        assert date_format(datetime.date(2026, 7, 2), "SHORT_DATE_FORMAT") == "02\u200f/07\u200f/2026"


def test_it_keeps_django_s_english_formats():
    with translation.override("en"):
        assert date_format(datetime.datetime(2026, 7, 2, 0, 0), "DATETIME_FORMAT") == "July 2, 2026, midnight"


def test_it_reads_iso_and_day_first_dates_in_arabic_forms():
    with translation.override("ar"):  # Django's own Arabic formats would read 02/07/2026 as 7 February
        dates = [forms.DateField().clean(text) for text in ("2026-07-02", "02/07/2026")]
        entered = forms.DateTimeField().clean("02/07/2026 14:30")
    assert dates == [datetime.date(2026, 7, 2)] * 2
    assert timezone.localtime(entered).replace(tzinfo=None) == datetime.datetime(2026, 7, 2, 14, 30)
