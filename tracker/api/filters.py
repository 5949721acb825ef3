"""Filters (django-filter) for incremental sync and selection. Invalid values answer 400, never 500."""

import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend

from tracker.core.models import (
    FocalPointDesignation,
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


class CodeFilter(filters.CharFilter):
    """A comma-separated list of codes (`EG,JO`), matched on `field_name`."""

    def __init__(self, *args, upper=False, **kwargs):
        self.upper = upper
        kwargs.setdefault("max_length", 500)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        wanted = [c.upper() for c in codes(value)] if self.upper else codes(value)
        return (
            qs.filter(**{f"{self.field_name}__in": wanted}).distinct()
            if self.distinct
            else qs.filter(**{f"{self.field_name}__in": wanted})
        )


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


class SyncFilterSet(filters.FilterSet):
    """`updated_since` returns what changed at or after that time, archived items included (marked)."""

    updated_since = filters.IsoDateTimeFilter(
        method="filter_updated_since",
        help_text=_("Only items changed at or after this time (ISO 8601); archived items are included."),
    )
    include_archived = filters.BooleanFilter(
        method="filter_archived",
        help_text=_("Include archived items (always on with updated_since)."),
    )
    updated_fields = ("updated_at",)
    archived_condition = None  # a Q that selects archived rows

    def is_valid(self):
        """Also refuse `updated_since` given empty: read as "no filter", a sync would silently start over."""
        valid = super().is_valid()
        given = self.data.get("updated_since")
        if given is not None and not given.strip():
            self.form.add_error("updated_since", _("Give a date and time, e.g. 2026-11-30T08:00:00Z."))
            return False
        return valid

    def filter_updated_since(self, qs, name, value):
        condition = Q()
        for field in self.updated_fields:
            condition |= Q(**{f"{field}__gte": value})
        return qs.filter(condition)

    def filter_archived(self, qs, name, value):
        return qs  # applied in filter_queryset, where it depends on updated_since too

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        if self.archived_condition is not None and not data.get("include_archived") and not data.get("updated_since"):
            queryset = queryset.exclude(self.archived_condition)
        return queryset


class ImplementationFilter(SyncFilterSet):
    body = CodeFilter(field_name="recommendation__meeting__body__code", help_text=_("Body codes, e.g. aimc."))
    meeting = CodeFilter(field_name="recommendation__meeting__code", help_text=_("Meeting codes."))
    member_state = CodeFilter(field_name="member_state__iso_code", upper=True, help_text=_("ISO codes, e.g. EG,JO."))
    theme = CodeFilter(field_name="recommendation__themes__code", distinct=True, help_text=_("Theme codes."))
    recommendation = filters.NumberFilter(field_name="recommendation_id", min_value=1, max_value=2**62)
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

    def filter_stalled(self, qs, name, value):
        if value == "any":
            return qs.filter(is_stalled=True)
        return qs.filter(**{f"{ANNOTATION_PREFIX}{value}": True})


class RecommendationFilter(SyncFilterSet):
    body = CodeFilter(field_name="meeting__body__code")
    meeting = CodeFilter(field_name="meeting__code")
    theme = CodeFilter(field_name="themes__code", distinct=True)
    member_state = CodeFilter(
        field_name="implementations__member_state__iso_code",
        upper=True,
        distinct=True,
        help_text=_("Recommendations that apply to these states (ISO codes)."),
    )
    is_public = filters.BooleanFilter()
    archived_condition = Q(is_archived=True)

    class Meta:
        model = Recommendation
        fields = []


class ProgressReportFilter(SyncFilterSet):
    implementation = filters.NumberFilter(field_name="implementation_id", min_value=1, max_value=2**62)
    body = CodeFilter(field_name="implementation__recommendation__meeting__body__code")
    meeting = CodeFilter(field_name="implementation__recommendation__meeting__code")
    member_state = CodeFilter(field_name="implementation__member_state__iso_code", upper=True)
    theme = CodeFilter(field_name="implementation__recommendation__themes__code", distinct=True)
    cycle = filters.NumberFilter(field_name="cycle_id", min_value=1, max_value=2**62)
    status = filters.MultipleChoiceFilter(choices=Status.choices)
    archived_condition = Q(is_archived=True)

    class Meta:
        model = ProgressReport
        fields = []


class ReviewOutcomeFilter(SyncFilterSet):
    implementation = filters.NumberFilter(field_name="implementation_id", min_value=1, max_value=2**62)
    body = CodeFilter(field_name="implementation__recommendation__meeting__body__code")
    member_state = CodeFilter(field_name="implementation__member_state__iso_code", upper=True)
    cycle = filters.NumberFilter(field_name="cycle_id", min_value=1, max_value=2**62)

    class Meta:
        model = ReviewOutcome
        fields = []


class ReviewCycleFilter(filters.FilterSet):
    body = CodeFilter(field_name="body__code")
    state = filters.MultipleChoiceFilter(choices=ReviewCycle.State.choices)

    class Meta:
        model = ReviewCycle
        fields = []


class MeetingFilter(filters.FilterSet):
    body = CodeFilter(field_name="body__code")
    kind = filters.MultipleChoiceFilter(choices=Meeting.Kind.choices)

    class Meta:
        model = Meeting
        fields = []


class FocalPointFilter(filters.FilterSet):
    member_state = CodeFilter(field_name="member_state__iso_code", upper=True)
    body = CodeFilter(field_name="body__code")
    active = filters.BooleanFilter(field_name="end_date", lookup_expr="isnull")

    class Meta:
        model = FocalPointDesignation
        fields = []
