"""The open data: one table of what is published, one row per published item (a state's progress on a public
recommendation), for every download format (tracker.public.formats).

Every row comes from `published_implementations()` (tracker.core.publication decides what is public): a
confidential recommendation, a state that did not agree, a narrative the state did not agree to publish, and the
names and contacts of focal points never reach a row. The table is read in three queries whatever its size (the
items with their recommendation, meeting, body and state; the themes; the framework targets).

The column names, their order and the identifiers in them are stable: partners and data platforms key on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tracker.core.models import (
    LICENCE_URLS,
    Body,
    FrameworkTarget,
    Implementation,
    OpenDataLicence,
    Recommendation,
    Status,
    ThematicArea,
)
from tracker.core.publication import published_implementations, published_recommendations

#: Between the values of a list in one cell (CSV, XLSX); the JSON keeps lists as lists.
LIST_SEPARATOR = " | "


@dataclass(frozen=True)
class Column:
    """One column of the table: its stable name, its HXL hashtag and what it means."""

    name: str
    hxl: str
    meaning: Promise
    is_list: bool = False


COLUMNS = [
    Column("row_key", "#meta+id", _("Stable key of the row: meeting code / recommendation reference / ISO code.")),
    Column("item_id", "#meta+id+item", _("Number of the state's item on the recommendation in the tracker.")),
    Column("recommendation_id", "#meta+id+recommendation", _("Number of the recommendation in the tracker.")),
    Column("recommendation_key", "#indicator+code", _("Stable key of the recommendation: meeting code / reference.")),
    Column("body_code", "#org+code", _("Code of the body that follows the recommendation up (e.g. aimc).")),
    Column("meeting_code", "#activity+code", _("Code of the meeting or study that adopted the recommendation.")),
    Column("meeting_title_en", "#activity+name+i_en", _("Title of the meeting, in English.")),
    Column("meeting_title_ar", "#activity+name+i_ar", _("Title of the meeting, in Arabic.")),
    Column("recommendation_reference", "#indicator+reference", _("Reference of the recommendation in its meeting.")),
    Column("recommendation_text_en", "#indicator+name+i_en", _("Text of the recommendation, in English.")),
    Column("recommendation_text_ar", "#indicator+name+i_ar", _("Text of the recommendation, in Arabic.")),
    Column(
        "arabic_text_status",
        "#meta+arabic_text",
        _("official: the Arabic text was adopted; working: a working translation."),
    ),
    Column("theme_codes", "#sector+code", _("Codes of the thematic areas of the recommendation."), is_list=True),
    Column("theme_names_en", "#sector+name+i_en", _("Thematic areas, in English."), is_list=True),
    Column("theme_names_ar", "#sector+name+i_ar", _("Thematic areas, in Arabic."), is_list=True),
    Column(
        "framework_targets",
        "#indicator+framework+code",
        _("Keys of the targets of external frameworks the recommendation serves (e.g. sdg-10.7)."),
        is_list=True,
    ),
    Column(
        "framework_target_titles_en", "#indicator+framework+name+i_en", _("Those targets, in English."), is_list=True
    ),
    Column(
        "framework_target_titles_ar", "#indicator+framework+name+i_ar", _("Those targets, in Arabic."), is_list=True
    ),
    Column("country_code", "#country+code+v_iso2", _("ISO 3166-1 alpha-2 code of the member state.")),
    Column("country_name_en", "#country+name+i_en", _("Name of the member state, in English.")),
    Column("country_name_ar", "#country+name+i_ar", _("Name of the member state, in Arabic.")),
    Column(
        "status",
        "#status+code",
        _("Status as the state last reported it: not_started, in_progress, implemented or not_applicable."),
    ),
    Column("status_en", "#status+name+i_en", _("That status, in English.")),
    Column("status_ar", "#status+name+i_ar", _("That status, in Arabic.")),
    Column("progress", "#indicator+num+pct", _("Progress as the state last reported it, in percent (0 to 100).")),
    Column("last_reported", "#date+reported", _("Date of the state's last submitted report (empty: none yet).")),
    Column(
        "narrative",
        "#description",
        _("What was done, in the words of the last submitted report; only where the state agreed to publish it."),
    ),
    Column("licence", "#meta+licence", _("Licence of the row (SPDX identifier), chosen by the body's secretariat.")),
    Column("licence_url", "#meta+licence+url", _("Web address of that licence.")),
]
COLUMN_NAMES = [column.name for column in COLUMNS]


# --- Filters -------------------------------------------------------------------------------------------------------

MAX_VALUES = 20
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
TARGET_KEY = re.compile(r"^[-a-zA-Z0-9_]{1,32}-[A-Za-z0-9][A-Za-z0-9.\-]{0,31}$")
ISO_CODE = re.compile(r"^[A-Za-z]{2}$")


class BadFilter(Exception):
    """A download was asked with a filter it cannot read: {parameter: why}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Filters:
    """What a download is narrowed to (each empty: no narrowing); a value matches any of the given ones."""

    themes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    framework_targets: tuple[str, ...] = ()
    states: tuple[str, ...] = ()

    def apply(self, items: QuerySet[Implementation]) -> QuerySet[Implementation]:
        if self.themes:
            items = items.filter(recommendation__in=Recommendation.objects.filter(themes__code__in=self.themes))
        if self.statuses:
            items = items.filter(status__in=self.statuses)
        if self.framework_targets:
            targets = FrameworkTarget.objects.keyed(self.framework_targets)
            items = items.filter(recommendation__in=Recommendation.objects.filter(framework_targets__in=targets))
        if self.states:
            items = items.filter(member_state__iso_code__in=self.states)
        return items


def _values(query: QueryDict, name: str) -> list[str]:
    """The values of a parameter, given as ?x=a,b or ?x=a&x=b."""
    return [part.strip() for given in query.getlist(name) for part in given.split(",") if part.strip()]


def _check(values: list[str], pattern: re.Pattern[str] | None, allowed: Iterable[str] = ()) -> str | None:
    if len(values) > MAX_VALUES:
        return str(_("Give at most %(count)s values.") % {"count": MAX_VALUES})
    if pattern is not None:
        wrong = [value for value in values if not pattern.match(value)]
    else:
        wrong = [value for value in values if value not in set(allowed)]
    if wrong:
        return str(_("Not a valid value: %(values)s.") % {"values": ", ".join(wrong[:3])[:200]})
    return None


FILTER_PARAMETERS = ("theme", "status", "framework", "state")


def parse_filters(query: QueryDict) -> Filters:
    """The filters of a download's query string; BadFilter for a value that cannot be one (an unknown but
    well-formed code simply matches nothing) or for a parameter the downloads do not know."""
    errors: dict[str, str] = {}
    for name in query:
        if name not in FILTER_PARAMETERS:
            errors[name[:40]] = str(
                _("Unknown parameter. The downloads are filtered by %(names)s.")
                % {"names": ", ".join(FILTER_PARAMETERS)}
            )
    themes, statuses = _values(query, "theme"), _values(query, "status")
    targets, states = _values(query, "framework"), [v.upper() for v in _values(query, "state")]
    checks = {
        "theme": _check(themes, SLUG),
        "status": _check(statuses, None, Status.values),
        "framework": _check(targets, TARGET_KEY),
        "state": _check(states, ISO_CODE),
    }
    errors.update({name: problem for name, problem in checks.items() if problem})
    if errors:
        raise BadFilter(errors)
    return Filters(tuple(themes), tuple(statuses), tuple(targets), tuple(states))


# --- The rows ------------------------------------------------------------------------------------------------------


def in_both_languages(label: Promise | str) -> tuple[str, str]:
    """A translatable label in English and in Arabic."""
    with translation.override("en"):
        english = str(label)
    with translation.override("ar"):
        arabic = str(label)
    return english, arabic


def published_items(filters: Filters | None = None) -> QuerySet[Implementation]:
    """The published items the table holds, with what the rows read loaded in two more queries."""
    items = (filters or Filters()).apply(published_implementations())
    targets = FrameworkTarget.objects.select_related("framework")
    return (
        items.select_related("recommendation__meeting__body", "member_state")
        .prefetch_related(
            Prefetch("recommendation__themes", queryset=ThematicArea.objects.all()),
            Prefetch("recommendation__framework_targets", queryset=targets),
        )
        .order_by(
            "recommendation__meeting__body__code",
            "recommendation__meeting__code",
            "recommendation__position",
            "recommendation__reference",
            "member_state__iso_code",
        )
    )


def recommendation_key(recommendation: Recommendation) -> str:
    return f"{recommendation.meeting.code}/{recommendation.reference}"


@dataclass
class _Labels:
    """The labels a row repeats, translated once per table rather than once per row."""

    statuses: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {code: in_both_languages(label) for code, label in Status.choices}
    )


def _row(item: Implementation, labels: _Labels) -> dict[str, Any]:
    recommendation, state = item.recommendation, item.member_state
    themes = list(recommendation.themes.all())
    targets = list(recommendation.framework_targets.all())
    licence = recommendation.meeting.body.open_data_licence
    status_en, status_ar = labels.statuses.get(item.status, (item.status, item.status))
    reported = timezone.localtime(item.last_reported_at).date() if item.last_reported_at else None
    return {
        "row_key": f"{recommendation_key(recommendation)}/{state.iso_code}",
        "item_id": item.pk,
        "recommendation_id": recommendation.pk,
        "recommendation_key": recommendation_key(recommendation),
        "body_code": recommendation.meeting.body.code,
        "meeting_code": recommendation.meeting.code,
        "meeting_title_en": recommendation.meeting.title_en,
        "meeting_title_ar": recommendation.meeting.title_ar,
        "recommendation_reference": recommendation.reference,
        "recommendation_text_en": recommendation.text_en,
        "recommendation_text_ar": recommendation.text_ar,
        "arabic_text_status": recommendation.arabic_text_status,
        "theme_codes": [theme.code for theme in themes],
        "theme_names_en": [theme.name_en for theme in themes],
        "theme_names_ar": [theme.name_ar for theme in themes],
        "framework_targets": [target.key for target in targets],
        "framework_target_titles_en": [target.title_en for target in targets],
        "framework_target_titles_ar": [target.title_ar for target in targets],
        "country_code": state.iso_code,
        "country_name_en": state.name_en,
        "country_name_ar": state.name_ar,
        "status": item.status,
        "status_en": status_en,
        "status_ar": status_ar,
        "progress": item.progress,
        "last_reported": reported,
        "narrative": getattr(item, "published_narrative", "") or "",
        "licence": licence,
        "licence_url": LICENCE_URLS.get(licence, ""),
    }


def published_rows(filters: Filters | None = None) -> list[dict[str, Any]]:
    """The table: one dict per published item, keyed by COLUMN_NAMES (list columns hold lists)."""
    labels = _Labels()
    return [_row(item, labels) for item in published_items(filters)]


# --- Licences and addresses ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Licence:
    """The licence a body publishes under, as the data page and every download state it."""

    body_code: str
    body_name_en: str
    body_name_ar: str
    id: str
    name_en: str
    name_ar: str
    url: str

    def as_dict(self) -> dict[str, str]:
        return {
            "body": self.body_code,
            "body_name_en": self.body_name_en,
            "body_name_ar": self.body_name_ar,
            "id": self.id,
            "name_en": self.name_en,
            "name_ar": self.name_ar,
            "url": self.url,
            "statement_en": self.statement("en"),
            "statement_ar": self.statement("ar"),
        }

    def statement(self, language: str) -> str:
        """The licence statement shown with the data, in `language`."""
        with translation.override(language):
            return str(
                _("Published by %(body)s under %(licence)s, %(url)s. Attribute the data to %(body)s.")
                % {
                    "body": self.body_name_ar if language == "ar" else self.body_name_en,
                    "licence": self.name_ar if language == "ar" else self.name_en,
                    "url": self.url,
                }
            )


def licences() -> list[Licence]:
    """The licence of each body that publishes (has a public recommendation), in the order of body codes."""
    bodies = Body.objects.filter(meetings__recommendations__in=published_recommendations()).distinct()
    found = []
    for body in bodies.order_by("code"):
        name_en, name_ar = in_both_languages(OpenDataLicence(body.open_data_licence).label)
        found.append(
            Licence(
                body_code=body.code,
                body_name_en=body.name_en,
                body_name_ar=body.name_ar,
                id=body.open_data_licence,
                name_en=name_en,
                name_ar=name_ar,
                url=LICENCE_URLS.get(body.open_data_licence, ""),
            )
        )
    return found


def absolute(path: str) -> str:
    """An address on this site as the public knows it (SITE_URL): the cached answers are the same for everyone."""
    return settings.SITE_URL + path


def data_page_url(language: str = "en") -> str:
    return absolute(reverse("public_data", kwargs={"lang": language}))
