"""Filters (django-filter) for incremental sync and selection. Invalid values answer 400, never 500."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_filters import utils
from django_filters.constants import EMPTY_VALUES
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

from tracker.core import sync
from tracker.core.models import (
    FocalPointDesignation,
    FrameworkTarget,
    Implementation,
    Meeting,
    ProgressReport,
    Recommendation,
    ReviewCycle,
    ReviewOutcome,
    Status,
)
from tracker.core.querysets import ANNOTATION_PREFIX, StalledReason


def codes(value):
    return [part.strip() for part in value.split(",") if part.strip()]


@extend_schema_field({"type": "string", "maxLength": 500, "pattern": "^[^\\u0000]*$", "examples": ["EG,JO"]})
class CodeFilter(filters.CharFilter):
    """A comma-separated list of codes (`EG,JO`), matched on `field_name`."""

    def __init__(self, *args, upper=False, **kwargs):
        self.upper = upper
        kwargs.setdefault("max_length", 500)
        super().__init__(*args, **kwargs)

    def wanted(self, value):
        """The codes the filter looks for."""
        return [c.upper() for c in codes(value)] if self.upper else codes(value)

    def filter(self, qs, value):
        if not value:
            return qs
        wanted = self.wanted(value)
        return (
            qs.filter(**{f"{self.field_name}__in": wanted}).distinct()
            if self.distinct
            else qs.filter(**{f"{self.field_name}__in": wanted})
        )


@extend_schema_field({"type": "string", "maxLength": 500, "pattern": "^[^\\u0000]*$", "examples": ["sdg-10.7,gcr-1"]})
class FrameworkTargetFilter(CodeFilter):
    """Keys of external framework targets (`sdg-10.7`), matched on the targets named by `field_name`."""

    def filter(self, qs, value):
        if not value:
            return qs
        targets = FrameworkTarget.objects.keyed(self.wanted(value))
        return qs.filter(**{f"{self.field_name}__in": targets}).distinct()


class ApiFilterBackend(DjangoFilterBackend):
    """django-filter, without building a filter form when the request asks for no filter.

    Building the form costs as much as reading a page of rows, and most sync requests only page.
    Without filter parameters the result is what the filter set gives for an empty form: `unfiltered`.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        asked = filterset_class is None or any(name in request.query_params for name in filterset_class.base_filters)
        if not asked:
            return unfiltered(filterset_class, queryset)
        return super().filter_queryset(request, queryset, view)


def unfiltered(filterset_class, queryset):
    """What a filter set returns when no filter is given (SyncFilterSet leaves archived rows out)."""
    condition = getattr(filterset_class, "archived_condition", None)
    return queryset if condition is None else queryset.exclude(condition)


@extend_schema_field({"type": "string", "pattern": "^c[0-9]{1,19}$", "examples": ["c48213"]})
class TokenFilter(filters.CharFilter):
    """A sync token (tracker.core.sync), given to the filter set's method."""


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**62})
class IdFilter(filters.NumberFilter):
    """An id: a whole number from 1 (beyond the range of ids, a 400 rather than a database error)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**62, **kwargs)


class StrictBooleanField(forms.NullBooleanField):
    """`true` or `false` (or 1, 0); any other value, an empty one too, is a 400, not read as "no filter"."""

    def to_python(self, value):
        if value is None:  # not given
            return None
        text = str(value).lower()
        if text not in ("true", "false", "1", "0"):
            raise forms.ValidationError(_("Give true or false."), code="invalid")
        return text in ("true", "1")

    def validate(self, value):
        pass


class GivenDateField(forms.DateField):
    """A date; given empty it is a 400 (read as "no filter", the client would get more than it asked for)."""

    def to_python(self, value):
        if value == "":
            raise forms.ValidationError(_("Give a date, e.g. 2026-11-30."), code="invalid")
        return super().to_python(value)


class DateFilter(filters.DateFilter):
    field_class = GivenDateField


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)  # the value as given: a select reads "null" as "no filter"
        super().__init__(*args, **kwargs)


class FilterForm(forms.Form):
    """A filter that takes something other than text (an id, a choice, a time), given empty, is a 400 naming it: read
    as "no filter" (django-filter's way), the client would get more than it asked for. A text filter (codes) given
    empty selects no code, and so filters nothing."""

    def clean(self):
        cleaned = super().clean()
        for name in self.given_empty():
            self.add_error(name, _("Give a value, or leave this parameter out."))
        return cleaned

    def given_empty(self):
        for name, field in self.fields.items():
            given = self.data.get(name)
            typed = not isinstance(field, forms.CharField)
            if typed and given is not None and not str(given).strip() and name not in self.errors:
                yield name


class ApiFilterSet(filters.FilterSet):
    """django-filter, with the form class built once per filter set and language (django-filter builds a form field
    per filter, then the form class, on every request: as long as reading a page of rows)."""

    form_base = FilterForm  # the checks of the filters together (SyncFilterForm)
    _form_classes = {}

    def get_form_class(self):
        return self.form_class(tuple(self.base_filters), self)

    @classmethod
    def form_class(cls, names, filterset=None):
        """The form of the filters `names`, made once per language (`filterset`: an instance to make it from)."""
        key = (cls, get_language(), names)
        form_class = ApiFilterSet._form_classes.get(key)
        if form_class is None:
            if len(ApiFilterSet._form_classes) > 512:  # few in use; this only bounds a pathological mix
                ApiFilterSet._form_classes.clear()
            filters_ = (filterset or cls()).filters
            fields = {name: filters_[name].field for name in names}
            form_class = ApiFilterSet._form_classes[key] = type(f"{cls.__name__}Form", (cls.form_base,), fields)
        return form_class

    @classmethod
    def validated(cls, data, names):
        """The form of the filters `names` only, bound to `data` and validated: the filters not given could only
        give empty values (none is required)."""
        form = cls.form_class(names)(data)
        form.is_valid()
        return form

    def filter_queryset(self, queryset):
        return self.filter_cleaned(queryset, self.form.cleaned_data)

    def filter_cleaned(self, queryset, data):
        """The filters applied to cleaned values: the form's, or a compiled statement's stand-ins (`Selection`)."""
        for name, value in data.items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset


class SyncFilterForm(FilterForm):
    """Also refuse `updated_since` given empty (read as "no filter", a sync would silently start over) and a
    `changed_since` that is not one of our tokens."""

    def clean(self):
        given = self.data.get("updated_since")
        if given is not None and not given.strip():  # before FilterForm's check: this message says what to give
            self.add_error("updated_since", _("Give a date and time, e.g. 2026-11-30T08:00:00Z."))
            return super().clean()
        cleaned = super().clean()
        token = self.data.get("changed_since")
        if token is not None and not self.errors and not is_token(token):
            self.add_error("changed_since", _("Give the sync_token of a list page, e.g. c48213."))
        return cleaned


def is_token(token):
    try:
        sync.parse_token(token)
    except sync.BadToken:
        return False
    return True


class SyncFilterSet(ApiFilterSet):
    """`updated_since` returns what changed at or after that time, archived items included (marked)."""

    updated_since = filters.IsoDateTimeFilter(
        method="filter_updated_since",
        help_text=_("Only items changed at or after this time (ISO 8601); archived items are included."),
    )
    include_archived = StrictBooleanFilter(
        method="filter_archived",
        help_text=_("Include archived items (always on with changed_since and updated_since)."),
    )
    changed_since = TokenFilter(
        method="filter_changed_since",
        max_length=40,
        help_text=_(
            "The sync_token of your last complete sync: only what changed since (archived items included). "
            "Nothing committed after the token was taken is ever skipped."
        ),
    )
    updated_fields = ("updated_at",)
    archived_condition = None  # a Q that selects archived rows
    form_base = SyncFilterForm

    def filter_changed_since(self, qs, name, value):
        return self.changed(qs, sync.parse_token(value))

    def changed(self, qs, token):
        return qs.filter(change_xid__gte=token)

    def filter_updated_since(self, qs, name, value):
        condition = Q()
        for field in self.updated_fields:
            condition |= Q(**{f"{field}__gte": value})
        return qs.filter(condition)

    def filter_archived(self, qs, name, value):
        return qs  # applied in filter_queryset, where it depends on updated_since too

    def filter_cleaned(self, queryset, data):
        queryset = super().filter_cleaned(queryset, data)
        syncing = data.get("updated_since") or data.get("changed_since")
        if self.archived_condition is not None and not data.get("include_archived") and not syncing:
            queryset = queryset.exclude(self.archived_condition)
        return queryset


class ImplementationFilter(SyncFilterSet):
    body = CodeFilter(field_name="recommendation__meeting__body__code", help_text=_("Body codes, e.g. aimc."))
    meeting = CodeFilter(field_name="recommendation__meeting__code", help_text=_("Meeting codes."))
    member_state = CodeFilter(field_name="member_state__iso_code", upper=True, help_text=_("ISO codes, e.g. EG,JO."))
    theme = CodeFilter(field_name="recommendation__themes__code", distinct=True, help_text=_("Theme codes."))
    framework_target = FrameworkTargetFilter(
        field_name="recommendation__framework_targets",
        help_text=_("Keys of external framework targets, e.g. sdg-10.7,gcr-1."),
    )
    recommendation = IdFilter(field_name="recommendation_id")
    status = filters.MultipleChoiceFilter(choices=Status.choices)
    stalled = filters.ChoiceFilter(
        choices=[("any", _("Any reason")), *StalledReason.choices],
        method="filter_stalled",
        help_text=_("Only stalled items: for any reason, or for the given one."),
    )
    updated_fields = ("updated_at", "recommendation__updated_at")
    archived_condition = Q(recommendation__is_archived=True) | Q(applies=False)

    class Meta:
        model = Implementation
        fields = []

    def changed(self, qs, token):
        return qs.changed_since(token)

    def filter_stalled(self, qs, name, value):
        if value == "any":
            return qs.filter(is_stalled=True)
        return qs.filter(**{f"{ANNOTATION_PREFIX}{value}": True})


class RecommendationFilter(SyncFilterSet):
    body = CodeFilter(field_name="meeting__body__code")
    meeting = CodeFilter(field_name="meeting__code")
    theme = CodeFilter(field_name="themes__code", distinct=True)
    framework_target = FrameworkTargetFilter(
        field_name="framework_targets", help_text=_("Keys of external framework targets, e.g. sdg-10.7,gcr-1.")
    )
    member_state = CodeFilter(
        field_name="implementations__member_state__iso_code",
        upper=True,
        distinct=True,
        help_text=_("Recommendations that apply to these states (ISO codes)."),
    )
    is_public = StrictBooleanFilter()
    archived_condition = Q(is_archived=True)

    class Meta:
        model = Recommendation
        fields = []


class ProgressReportFilter(SyncFilterSet):
    implementation = IdFilter(field_name="implementation_id")
    body = CodeFilter(field_name="implementation__recommendation__meeting__body__code")
    meeting = CodeFilter(field_name="implementation__recommendation__meeting__code")
    member_state = CodeFilter(field_name="implementation__member_state__iso_code", upper=True)
    theme = CodeFilter(field_name="implementation__recommendation__themes__code", distinct=True)
    cycle = IdFilter(field_name="cycle_id")
    status = filters.MultipleChoiceFilter(choices=Status.choices)
    archived_condition = Q(is_archived=True)

    class Meta:
        model = ProgressReport
        fields = []


class ReviewOutcomeFilter(SyncFilterSet):
    implementation = IdFilter(field_name="implementation_id")
    body = CodeFilter(field_name="implementation__recommendation__meeting__body__code")
    member_state = CodeFilter(field_name="implementation__member_state__iso_code", upper=True)
    cycle = IdFilter(field_name="cycle_id")

    class Meta:
        model = ReviewOutcome
        fields = []


class ReviewCycleFilter(ApiFilterSet):
    body = CodeFilter(field_name="body__code")
    state = filters.MultipleChoiceFilter(choices=ReviewCycle.State.choices)

    class Meta:
        model = ReviewCycle
        fields = []


class MeetingFilter(ApiFilterSet):
    body = CodeFilter(field_name="body__code")
    kind = filters.MultipleChoiceFilter(choices=Meeting.Kind.choices)

    class Meta:
        model = Meeting
        fields = []


class FocalPointFilter(ApiFilterSet):
    member_state = CodeFilter(field_name="member_state__iso_code", upper=True)
    body = CodeFilter(field_name="body__code")
    active = StrictBooleanFilter(field_name="end_date", lookup_expr="isnull")

    class Meta:
        model = FocalPointDesignation
        fields = []


# --- Compiled statements (tracker.api.compiled) --------------------------------------------------------------------
# A filtered list is compiled once per shape: which filters are given and what of their values changes the SQL (the
# number of codes, a choice). A value that varies from request to request (codes, a number, a time, a sync token) is
# compiled as a stand-in, and the request's own SQL values take its place; any other value is part of the shape.

STAND_IN_CODE = "~{index}.{n}~"  # no letter: a filter that upper-cases codes leaves it as it is
STAND_IN_NUMBER = -(10**15)
STAND_IN_TIME = datetime(1902, 2, 3, 4, 5, 6, tzinfo=UTC)
STAND_IN_DATE = date(1902, 3, 4)
STAND_IN_TOKEN = 2**62


def stand_in(filter_, index, value):
    """(what of the value is part of the shape, a stand-in for the value, a function giving the SQL values the filter
    passes on for a value), or None when the value itself is part of the shape."""
    if isinstance(filter_, CodeFilter) and (count := len(filter_.wanted(value))):  # none: part of the shape
        return count, ",".join(STAND_IN_CODE.format(index=index, n=n) for n in range(count)), filter_.wanted
    if isinstance(filter_, TokenFilter):
        return "token", f"c{STAND_IN_TOKEN + index}", lambda token: [sync.parse_token(token)]
    if isinstance(filter_, filters.DateTimeFilter):
        return "time", STAND_IN_TIME + timedelta(seconds=index), lambda time: [time]
    if isinstance(filter_, filters.DateFilter):
        return "date", STAND_IN_DATE + timedelta(days=index), lambda day: [day]
    if isinstance(filter_, filters.NumberFilter):
        return "number", Decimal(STAND_IN_NUMBER - index), lambda number: [int(number)]
    return None


@dataclass(frozen=True)
class Selection:
    """A request's filters, validated, for a compiled statement: `shape` goes in its key, `apply` builds the queryset
    with the stand-ins, and `values` take the place of `sentinels` (the stand-ins' SQL values) when it runs."""

    filterset_class: type
    shape: tuple = ()
    data: tuple = ()  # (name, cleaned value or stand-in) of each filter given
    sentinels: tuple = ()
    values: tuple = ()

    def apply(self, queryset):
        filterset = self.filterset_class(queryset=queryset)
        return filterset.filter_cleaned(queryset, dict(self.data))


def selection(filterset_class, request):
    """The request's filters as the filter backend reads them; a 400 naming each bad parameter, as it gives."""
    given = tuple(name for name in filterset_class.base_filters if name in request.query_params)
    if not given:
        return Selection(filterset_class)  # no filter form to build (ApiFilterBackend)
    form = filterset_class.validated(request.query_params, given)
    if form.errors:
        raise utils.translate_validation(form.errors)
    shape, data, sentinels, values = [], [], [], []
    for index, (name, value) in enumerate(form.cleaned_data.items()):
        if value in EMPTY_VALUES:
            continue  # given empty: the filter leaves the queryset as it is
        standing = stand_in(filterset_class.base_filters[name], index, value)
        if standing is None:
            key = tuple(value) if isinstance(value, list) else value
            shape.append((name, key))
            data.append((name, value))
            continue
        part, stand_in_value, sql_values = standing
        shape.append((name, part))
        data.append((name, stand_in_value))
        sentinels += sql_values(stand_in_value)
        values += sql_values(value)
    return Selection(filterset_class, tuple(shape), tuple(data), tuple(sentinels), tuple(values))
