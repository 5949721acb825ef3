"""API views: thin. Visibility comes from Access (visible_to), writes go through tracker.core.services."""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.expressions import RawSQL
from django.http import Http404, HttpResponseNotModified
from django.utils import timezone, translation
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.api import filters, rows
from tracker.api import serializers as s
from tracker.api.compiled import AnswerFromQueryset, CompiledQuery, NotCompilable
from tracker.api.exceptions import PreconditionFailed, PreconditionRequired, error_body
from tracker.api.pagination import SyncCursorPagination
from tracker.api.permissions import client_of
from tracker.api.throttling import PartnerRateThrottle
from tracker.core import services
from tracker.core.models import (
    Body,
    FocalPointDesignation,
    Implementation,
    Meeting,
    MemberState,
    ProgressReport,
    Recommendation,
    ReviewCycle,
    ReviewOutcome,
    ThematicArea,
)
from tracker.core.querysets import StalledContext

log = logging.getLogger(__name__)

LANG_PARAMETER = OpenApiParameter(
    "lang",
    OpenApiTypes.STR,
    enum=["ar", "en"],
    required=False,
    description="Language of the untranslated-suffix fields (text, name...); default from Accept-Language.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="The ETag of the item as you read it.",
)
WRITE_ERRORS = {
    400: s.ErrorSerializer,
    403: s.ErrorSerializer,
    404: s.ErrorSerializer,
    409: s.ErrorSerializer,
    412: OpenApiResponse(s.StaleErrorSerializer, description="Stale If-Match: the body holds the current item."),
    428: OpenApiResponse(s.ErrorSerializer, description="If-Match is missing."),
}


@dataclass(frozen=True)
class IfMatch:
    """An If-Match header as RFC 9110 13.1.1 reads it: `*` (any current item) or a list of entity tags, compared
    strongly, so a weak tag (W/"3") never matches a write."""

    any: bool
    tags: frozenset[str]

    def matches(self, etag):
        return self.any or etag in self.tags


ENTITY_TAG = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')


def if_match(request):
    """The If-Match header: required for every update (428 without it)."""
    value = (request.headers.get("If-Match") or "").strip()
    if not value:
        raise PreconditionRequired()
    if value == "*":
        return IfMatch(any=True, tags=frozenset())
    strong = {tag for weak, tag in ENTITY_TAG.findall(value) if not weak}
    return IfMatch(any=False, tags=frozenset(strong))


@dataclass(frozen=True)
class IfNoneMatch:
    """An If-None-Match header as RFC 9110 13.1.2 reads it: `*` (any current item) or a list of entity tags,
    compared weakly (W/"3" matches "3"). Without the header it matches nothing."""

    any: bool
    tags: frozenset[str]

    def matches(self, etag):
        return self.any or etag.removeprefix("W/") in self.tags


def if_none_match(request):
    value = (request.headers.get("If-None-Match") or "").strip()
    if value == "*":
        return IfNoneMatch(any=True, tags=frozenset())
    return IfNoneMatch(any=False, tags=frozenset(tag for _weak, tag in ENTITY_TAG.findall(value)))


def not_modified(etag):
    response = HttpResponseNotModified()
    response["ETag"] = etag
    return response


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Anything else under /api/: a 404 in the API's error format. It counts against the caller's rate limit, with
    the RateLimit headers, like any answer; the path is unknown whoever asks, so a bad token changes nothing."""

    permission_classes = []
    throttle_classes = [PartnerRateThrottle]

    def perform_authentication(self, request):
        try:
            super().perform_authentication(request)
        except AuthenticationFailed:
            pass  # answered as without credentials: counted against the address

    def answer(self, request, *args, **kwargs):
        raise NotFound()

    get = post = put = patch = delete = head = options = answer


not_found = NotFoundView.as_view()


class ApiViewSet(viewsets.GenericViewSet):
    """Read side: `.values()` rows rendered by a Shape, the same for list and detail."""

    lookup_value_regex = r"[0-9]+"

    shape_class = rows.Shape
    ordering_fields = ["id"]
    ordering = ["id"]

    def initial(self, request, *args, **kwargs):
        lang = request.query_params.get("lang")
        if lang in ("ar", "en"):
            translation.activate(lang)
            request._request.LANGUAGE_CODE = lang
        super().initial(request, *args, **kwargs)
        if lang is not None and lang not in ("ar", "en"):  # after authentication: a 401 comes first
            raise ValidationError({"lang": [_("Give ar or en.")]})

    @property
    def client(self):
        return client_of(self.request)

    def rows_queryset(self, queryset):
        return queryset.values(*self.shape_class.fields)

    def render(self, page):
        return self.shape_class(self.client).render(page)

    def begin_sync_round(self):
        """A synced list takes its sync token before it reads anything the answer depends on."""
        if isinstance(self.paginator, SyncCursorPagination):
            self.paginator.begin(self.request)

    def list(self, request, *args, **kwargs):
        self.begin_sync_round()
        queryset = self.rows_queryset(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.render(page))

    def get_row(self):
        try:
            pk = int(self.kwargs["pk"])
        except (TypeError, ValueError):
            raise Http404 from None
        row = self.rows_queryset(self.get_queryset().filter(pk=pk)).first()
        if row is None:
            raise Http404
        return self.render([row])[0]

    def etag(self, row):
        return None

    def retrieve(self, request, *args, **kwargs):
        """Every item with its ETag: the view's own (the one its writes check), else one of the item as rendered.
        If-None-Match naming it: 304, no body. (List pages have none: each carries its server time and sync token,
        so no two are the same, and a 304 would hand a client back a stale sync token.)"""
        row = self.get_row()
        etag = self.etag(row) or rows.content_etag(row)
        if if_none_match(request).matches(etag):
            return not_modified(etag)
        response = Response(row)
        response["ETag"] = etag
        return response


def read_only(viewset, serializer, filterset=None, description=""):
    """Schema for a read-only resource: paginated list + detail, with the lang parameter."""
    params = [LANG_PARAMETER]
    return extend_schema_view(
        list=extend_schema(responses=serializer(many=True), parameters=params, description=description),
        retrieve=extend_schema(responses=serializer, parameters=params, description=description),
    )(viewset)


class ListRetrieve(ApiViewSet):
    """A read-only resource: list and detail."""


@extend_schema(tags=["reference"])
class BodyViewSet(ListRetrieve):
    queryset = Body.objects.all()
    shape_class = rows.BodyShape
    serializer_class = s.BodySerializer


@extend_schema(tags=["reference"])
class MemberStateViewSet(ListRetrieve):
    queryset = MemberState.objects.all()
    shape_class = rows.MemberStateShape
    serializer_class = s.MemberStateSerializer


@extend_schema(tags=["reference"])
class ThemeViewSet(ListRetrieve):
    queryset = ThematicArea.objects.all()
    shape_class = rows.ThemeShape
    serializer_class = s.ThemeSerializer


@extend_schema(tags=["reference"])
class MeetingViewSet(ListRetrieve):
    queryset = Meeting.objects.all()
    shape_class = rows.MeetingShape
    serializer_class = s.MeetingSerializer
    filterset_class = filters.MeetingFilter


_PER_SECOND = {}


def per_second(key, make):
    """`make()`, kept for the rest of the current second: the stalled context and annotations are built
    at most once a second per access (within a second the cut-offs move by under a second; the rows
    themselves are always read fresh)."""
    key = (key, int(timezone.now().timestamp()))
    value = _PER_SECOND.get(key)
    if value is None:
        if len(_PER_SECOND) > 256:
            _PER_SECOND.clear()
        value = _PER_SECOND[key] = make()
    return value


# The bodies' change stamps, which a stalled context is built from: one text, so that the implementations statement can
# carry them as its last column (see ImplementationPages) and a page is checked against them without another read.
BODY_STAMPS_SQL = {
    "postgresql": "(SELECT string_agg(b.id || ':' || b.change_xid, ',' ORDER BY b.id) FROM tracker_body b)",
    "sqlite": "(SELECT group_concat(b.id || ':' || b.change_xid, ',') FROM (SELECT id, change_xid FROM tracker_body"
    " ORDER BY id) b)",
}


def body_stamps_sql():
    return RawSQL(BODY_STAMPS_SQL[connection.vendor], [], output_field=TextField())


def read_body_stamps():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {BODY_STAMPS_SQL[connection.vendor]}")
        return cursor.fetchone()[0] or ""


class KnownStamps:
    """The bodies' change stamps this process last saw: a page is read with the context they stand for, and the
    stamps it carries say whether that context still holds."""

    value = None


def stalled_context(stamps=None):
    """(signature, context): the stalled context, reused within the second while the bodies' change stamps are
    the same. A cycle move or a changed threshold stamps its body in the same transaction (tracker.core.sync),
    so a page never uses a context older than a change committed before the page's sync token was taken."""
    signature = read_body_stamps() if stamps is None else stamps
    KnownStamps.value = signature
    return signature, per_second(("context", signature), StalledContext.load)


def annotated_implementations(access, stalled):
    """Visible implementations annotated with the stalled reasons."""
    signature, context = stalled
    return per_second(
        (access, signature), lambda: Implementation.objects.visible_to(access).with_stalled_reasons(context)
    ).all()


# Stand-ins for the run-time values of a compiled statement (see ImplementationPages).
SENTINEL_NOW = datetime(1901, 1, 1, 12, tzinfo=UTC)
SENTINEL_POSITION = -8_765_432_109_876_543
SENTINEL_POSITION_TIME = datetime(1901, 6, 7, 8, 9, 10, tzinfo=UTC)


def _implementations(*_sentinels, access, context, selection, ordering, lookup, position, start, stop):
    """The implementations query as the filter set (`selection`; None for an item: no filter), the ordering and
    CursorPagination build it: order_by, a filter on the position (or the id), a slice."""
    queryset = Implementation.objects.visible_to(access).with_stalled_reasons(context)
    if selection is not None:
        queryset = selection.apply(queryset)
    queryset = queryset.annotate(bodies_stamps=body_stamps_sql())
    queryset = queryset.values_list(*rows.ImplementationShape.fields, "bodies_stamps").order_by(*ordering)
    if lookup:
        queryset = queryset.filter(**{lookup: position})
    return queryset[start:stop]


IMPLEMENTATION_PAGE = CompiledQuery("implementations", _implementations)


class StalledRead:
    """The stalled context a compiled read uses: the one the bodies' change stamps this process last saw stand for.
    The statement reads the stamps with its rows (the last column); if they differ, the page is read again with the
    context of the stamps it carried. The context used is thus the one of the page's own snapshot."""

    ATTEMPTS = 3

    def __init__(self):
        self.signature, self.context = stalled_context(KnownStamps.value)

    def confirm(self, stamps):
        """True if the page was read with the context of these stamps; else that context is the next one to use."""
        if stamps == self.signature:
            return True
        self.signature, self.context = stalled_context(stamps)
        return False


class ImplementationPages:
    """The implementations as the API reads them, answered by one compiled statement per shape
    (tracker.api.compiled): a list page as CursorPagination reads it (order_by, a filter on the position,
    a slice) from the filters the request gives, or one item.

    Every shape partners run goes this way (a full sync, `changed_since` and `updated_since` pages,
    filtered lists, items; `make bench-api` measures them): the filter set is applied to stand-ins once
    (filters.Selection), and each request's values, stalled cut-offs and position replace them. The
    stalled context comes from `stalled` (a StalledRead), checked against the stamps each page carries.
    """

    model = Implementation  # for the paginator, which checks a cursor's position against the ordering field

    def __init__(self, access, stalled, selection, ordering=(), lookup=None, position=None):
        self.access, self.stalled, self.selection = access, stalled, selection
        self.ordering, self.lookup, self.position = ordering, lookup, position

    def order_by(self, *ordering):
        return ImplementationPages(self.access, self.stalled, self.selection, ordering, self.lookup, self.position)

    def filter(self, **lookup):
        ((name, position),) = lookup.items()
        return ImplementationPages(self.access, self.stalled, self.selection, self.ordering, name, position)

    def item(self, pk):
        """The item's row, unfiltered (an archived item is still found), or None."""
        found = ImplementationPages(self.access, self.stalled, None).order_by("pk").filter(pk=pk)[0:1]
        return found[0] if found else None

    def _shape(self, context):
        bodies = tuple((b.pk, b.stale_after_days, b.unchanged_cycles) for b in context.bodies)
        windows = tuple(sorted((body, tuple(starts)) for body, starts in context.closed_windows.items()))
        return bodies, tuple(sorted((body, cycle.pk) for body, cycle in context.overdue_cycles.items())), windows

    def _position(self):
        """(stand-in, value) of the position: the ordering field's type (an id, or a time)."""
        name = self.lookup.split("__")[0]
        field = self.model._meta.pk if name == "pk" else self.model._meta.get_field(name)
        value = field.get_prep_value(self.position)  # as the ORM converts it
        if isinstance(value, int):
            return SENTINEL_POSITION, value
        if isinstance(value, datetime):
            return SENTINEL_POSITION_TIME, value
        raise NotCompilable(f"implementations: no stand-in for a position on {field.name}")

    def __getitem__(self, page):
        for _attempt in range(StalledRead.ATTEMPTS):
            found = self._read(self.stalled.context, page)
            if self.stalled.confirm(found[-1][-1] if found else read_body_stamps()):
                return [rows.ImplementationRow._make(row[:-1]) for row in found]
        raise AnswerFromQueryset("implementations: the bodies changed during each read")

    def _read(self, context, page):
        """The page's rows, each with the bodies' change stamps last, read with this stalled context."""
        days = sorted({body.stale_after_days for body in context.bodies})
        template = StalledContext(
            now=SENTINEL_NOW,
            bodies=context.bodies,
            overdue_cycles=context.overdue_cycles,
            closed_windows=context.closed_windows,
        )
        selection = self.selection
        sentinels = [
            *(template.stale_cutoff(d) for d in days),
            template.today,
            *(selection.sentinels if selection else ()),
        ]
        values = [
            *(context.stale_cutoff(d) for d in days),
            context.today,
            *(selection.values if selection else ()),
        ]
        position = None
        if self.lookup:
            position, value = self._position()
            sentinels.append(position)
            values.append(value)
        shape = selection and (selection.filterset_class, selection.shape)
        key = (self.access, self._shape(context), shape, self.ordering, self.lookup, page.start, page.stop)
        build = {
            "access": self.access,
            "context": template,
            "selection": selection,
            "ordering": self.ordering,
            "lookup": self.lookup,
            "position": position,
            "start": page.start,
            "stop": page.stop,
        }
        return IMPLEMENTATION_PAGE.rows(key, sentinels, values, build)


class ImplementationViewSet(ListRetrieve):
    """What each member state has done about each recommendation, with the stalled reasons."""

    pagination_class = SyncCursorPagination

    shape_class = rows.ImplementationShape
    serializer_class = s.ImplementationSerializer
    filterset_class = filters.ImplementationFilter
    ordering_fields = ["id", "updated_at"]
    write_requires = "report"

    queryset = Implementation.objects.none()  # for the schema; get_queryset() decides

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Implementation.objects.none()
        return annotated_implementations(self.client.access, self.stalled)

    def rows_queryset(self, queryset):
        return queryset.values_list(*self.shape_class.fields, named=True)  # read by name, as ImplementationRow

    @cached_property
    def stalled(self):
        """(signature, context): of the bodies' stamps read now (the queryset paths), or the ones a compiled read
        was checked against (`read_compiled`)."""
        return stalled_context()

    def read_compiled(self, read, selection):
        """read(ImplementationPages), with the stalled context its statement's stamps confirmed kept for render."""
        stalled = StalledRead()
        found = read(ImplementationPages(self.client.access, stalled, selection))
        self.stalled = (stalled.signature, stalled.context)
        return found

    def list(self, request, *args, **kwargs):
        self.begin_sync_round()
        if self.paginator is None:
            return super().list(request, *args, **kwargs)
        try:
            page = self.read_compiled(self.paginate_queryset, filters.selection(self.filterset_class, request))
        except AnswerFromQueryset:  # e.g. a recommendation changed since the token: the queryset reads which
            return super().list(request, *args, **kwargs)
        except NotCompilable:  # a field changed a stand-in value: answer from the queryset instead
            log.warning("implementations: the page query could not be compiled once", exc_info=True)
            return super().list(request, *args, **kwargs)
        return self.get_paginated_response(self.render(page))

    def get_row(self):
        """The item through the same compiled statements as the list (its own shape: no filter, one id)."""
        try:
            pk = int(self.kwargs["pk"])
        except (TypeError, ValueError):
            raise Http404 from None
        try:
            row = self.read_compiled(lambda pages: pages.item(pk), None)
        except AnswerFromQueryset:  # e.g. an id beyond bigint's range: the queryset knows it finds nothing
            return super().get_row()
        except NotCompilable:
            log.warning("implementations: the item query could not be compiled once", exc_info=True)
            return super().get_row()
        if row is None:
            raise Http404
        return self.render([row])[0]

    def etag(self, row):
        return row["etag"]

    def render(self, page):
        shape = self.shape_class(self.client)
        shape.windows = self.stalled[1].closed_windows
        return shape.render(page)

    @extend_schema(
        summary="Submit a progress report",
        request=s.ReportInputSerializer,
        parameters=[IF_MATCH],
        responses={201: s.ProgressReportSerializer, **WRITE_ERRORS},
        description=(
            "Submit a progress report (same rules as the focal point form). If-Match: the item's ETag. Where the "
            "member state requires national validation, the report is answered with state awaiting_validation: it "
            "counts, and the item changes, once the state's national validator approves it."
        ),
    )
    @action(detail=True, methods=["post"], url_path="reports")
    def submit_report(self, request, pk=None):
        implementation = self._visible_implementation(pk)
        expected = if_match(request)
        current = self.get_row()
        # The ETag is the item as read (its stalled reasons too); the service then checks, under its lock, that
        # the version behind it is still current. `*`: any current version.
        expected_version = (
            None if expected.any else frozenset([current["version"]] if expected.matches(current["etag"]) else [])
        )
        data = s.ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            report = services.submit_report(
                implementation,
                request.user,
                self.client.access,
                services.ReportInput(**data.validated_data),
                expected_version=expected_version,
            )
        except services.StaleVersion as stale:
            return self._stale(stale.current.pk)
        return self._created_report(report)

    def _visible_implementation(self, pk):
        try:
            return (
                Implementation.objects.visible_to(self.client.access)
                .select_related("recommendation__meeting")
                .get(pk=int(pk))
            )
        except (Implementation.DoesNotExist, TypeError, ValueError):
            raise Http404 from None

    def _stale(self, pk):
        self.kwargs["pk"] = pk
        current = self.get_row()
        body = error_body(
            412,
            PreconditionFailed.default_code,
            _("The item changed since you read it: here it is now."),
            current_version=current["version"],
            current=current,
        )
        return Response(body, status=status.HTTP_412_PRECONDITION_FAILED, headers={"ETag": self.etag(current)})

    def _created_report(self, report):
        row = rows.ProgressReportShape(self.client).render(
            ProgressReport.objects.filter(pk=report.pk).values(*rows.ProgressReportShape.fields)
        )[0]
        self.kwargs["pk"] = report.implementation_id
        return Response(row, status=status.HTTP_201_CREATED, headers={"ETag": self.etag(self.get_row())})


class ProgressReportViewSet(ListRetrieve):
    """Submitted progress reports (drafts stay with the member state's focal points), with evidence metadata."""

    pagination_class = SyncCursorPagination

    shape_class = rows.ProgressReportShape
    serializer_class = s.ProgressReportSerializer
    filterset_class = filters.ProgressReportFilter
    ordering_fields = ["id", "updated_at", "submitted_at"]

    def get_queryset(self):
        visible = Implementation.objects.visible_to(self.client.access)
        return ProgressReport.objects.submitted().filter(implementation__in=visible.values("pk"))


class ReviewOutcomeViewSet(ListRetrieve):
    pagination_class = SyncCursorPagination
    shape_class = rows.ReviewOutcomeShape
    serializer_class = s.ReviewOutcomeSerializer
    filterset_class = filters.ReviewOutcomeFilter
    ordering_fields = ["id", "updated_at"]

    def get_queryset(self):
        visible = Implementation.objects.visible_to(self.client.access)
        return ReviewOutcome.objects.filter(implementation__in=visible.values("pk"))


class FocalPointViewSet(ListRetrieve):
    """Focal point designations with contact data: secretariat-level clients only."""

    shape_class = rows.FocalPointShape
    serializer_class = s.FocalPointSerializer
    filterset_class = filters.FocalPointFilter
    needs_contacts = True

    def get_queryset(self):
        access = self.client.access
        designations = FocalPointDesignation.objects.all()
        return designations if access.all_states else designations.filter(member_state_id__in=access.state_ids)


class WritableViewSet(ListRetrieve):
    """Create and update (PATCH with If-Match) for secretariat-level clients."""

    write_serializer_class = None
    write_requires = "manage"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_save(self, serializer):
        return serializer.save()

    def create(self, request, *args, **kwargs):
        serializer = self.write_serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            instance = self.perform_save(serializer)
        self.kwargs["pk"] = instance.pk
        row = self.get_row()
        return Response(row, status=status.HTTP_201_CREATED, headers={"ETag": self.etag(row)})

    def partial_update(self, request, *args, **kwargs):
        expected = if_match(request)
        with transaction.atomic():
            current = self.get_row()
            instance = self.get_queryset().select_for_update().get(pk=current["id"])
            current = self.get_row()  # read again under the lock
            if not expected.matches(self.etag(current)):
                body = error_body(
                    412,
                    PreconditionFailed.default_code,
                    _("The item changed since you read it: here it is now."),
                    current=current,
                )
                return Response(body, status=status.HTTP_412_PRECONDITION_FAILED, headers={"ETag": self.etag(current)})
            serializer = self.write_serializer_class(instance, data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            self.perform_save(serializer)
        row = self.get_row()
        return Response(row, headers={"ETag": self.etag(row)})


def writable_schema(viewset, read, write):
    return extend_schema_view(
        list=extend_schema(responses=read(many=True), parameters=[LANG_PARAMETER]),
        retrieve=extend_schema(responses=read, parameters=[LANG_PARAMETER]),
        create=extend_schema(request=write, responses={201: read, **WRITE_ERRORS}),
        partial_update=extend_schema(request=write, responses={200: read, **WRITE_ERRORS}, parameters=[IF_MATCH]),
    )(viewset)


class RecommendationViewSet(WritableViewSet):
    pagination_class = SyncCursorPagination
    queryset = Recommendation.objects.all()  # for the schema; requests read get_queryset()
    shape_class = rows.RecommendationShape
    serializer_class = s.RecommendationSerializer
    write_serializer_class = s.RecommendationWriteSerializer
    filterset_class = filters.RecommendationFilter
    ordering_fields = ["id", "updated_at"]

    def get_queryset(self):
        return Recommendation.objects.visible_to(self.client.access)

    def etag(self, row):
        return row["etag"]


class ReviewCycleViewSet(WritableViewSet):
    queryset = ReviewCycle.objects.all()
    shape_class = rows.ReviewCycleShape
    serializer_class = s.ReviewCycleSerializer
    write_serializer_class = s.ReviewCycleWriteSerializer
    filterset_class = filters.ReviewCycleFilter
    ordering_fields = ["id", "period_start", "report_deadline"]

    def etag(self, row):
        return row["etag"]

    def perform_save(self, serializer):
        """Dates and names are saved (model rules checked); a state change goes through move_cycle."""
        target = serializer.validated_data.pop("state", None)
        cycle = serializer.instance or ReviewCycle()
        for field, value in serializer.validated_data.items():
            setattr(cycle, field, value)
        if serializer.instance is None and target not in (None, ReviewCycle.State.PLANNED):
            cycle.full_clean()
            cycle.save()
            return services.move_cycle(cycle, target, by=self.request.user)
        cycle.full_clean()
        cycle.save()
        if target and target != cycle.state:
            cycle = services.move_cycle(cycle, target, by=self.request.user)
        return cycle


for _viewset, _serializer in [
    (BodyViewSet, s.BodySerializer),
    (MemberStateViewSet, s.MemberStateSerializer),
    (ThemeViewSet, s.ThemeSerializer),
    (MeetingViewSet, s.MeetingSerializer),
    (ImplementationViewSet, s.ImplementationSerializer),
    (ProgressReportViewSet, s.ProgressReportSerializer),
    (ReviewOutcomeViewSet, s.ReviewOutcomeSerializer),
    (FocalPointViewSet, s.FocalPointSerializer),
]:
    read_only(_viewset, _serializer)
writable_schema(RecommendationViewSet, s.RecommendationSerializer, s.RecommendationWriteSerializer)
writable_schema(ReviewCycleViewSet, s.ReviewCycleSerializer, s.ReviewCycleWriteSerializer)
