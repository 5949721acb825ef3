"""Commitments in the API: read within the caller's scope (exactly the items it sees), and
`POST /api/v1/commitments/{id}/done/` for owners with a write token, through tracker.core.commitments.mark_done:
the same rules as the focal point's form (a state's commitment: a write token of that state; the secretariat's and
partners' commitments: a secretariat-level write token).
"""

from collections import defaultdict

import django_filters as filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from tracker.api import rows
from tracker.api.exceptions import Conflict
from tracker.api.filters import CodeFilter, DateFilter, IdFilter, StrictBooleanFilter, SyncFilterSet
from tracker.api.pagination import SyncCursorPagination
from tracker.api.serializers import ErrorSerializer, EvidenceSerializer, RefusesUnknownFields
from tracker.api.views import ListRetrieve, read_only
from tracker.core import commitments
from tracker.core.models import REPORT_TEXT_MAX_LENGTH, Commitment, Evidence

# --- Shape and schema -----------------------------------------------------------------------------


class CommitmentShape(rows.Shape):
    fields = (
        "id",
        "implementation_id",
        "implementation__recommendation_id",
        "implementation__recommendation__reference",
        "implementation__member_state__iso_code",
        "implementation__recommendation__meeting__body__code",
        "outcome_id",
        "outcome__cycle_id",
        "description",
        "owner",
        "organisation__code",
        "due_date",
        "state",
        "late",
        "done_at",
        "done_note",
        "confirmed_at",
        "dropped_reason",
        "reopened_reason",
        "created_at",
        "updated_at",
    )
    rename = {
        "implementation_id": "implementation",
        "implementation__recommendation_id": "recommendation",
        "implementation__recommendation__reference": "reference",
        "implementation__member_state__iso_code": "member_state",
        "implementation__recommendation__meeting__body__code": "body_code",
        "outcome_id": "outcome",
        "outcome__cycle_id": "cycle",
        "organisation__code": "organisation",
        "late": "is_late",
    }

    def extra(self, rows):
        """The evidence files of the whole page in one query."""
        evidence = defaultdict(list)
        files = Evidence.objects.filter(commitment_id__in=[r["id"] for r in rows]).values(
            "id", "commitment_id", "original_name", "content_type", "size", "sha256", "created_at"
        )
        for item in files.order_by("created_at", "id"):
            evidence[item.pop("commitment_id")].append(item)
        for row in rows:
            row["evidence"] = evidence.get(row["id"], [])
            row["is_late"] = bool(row["is_late"])


class CommitmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    implementation = serializers.IntegerField()
    recommendation = serializers.IntegerField()
    reference = serializers.CharField()
    member_state = serializers.CharField()
    body_code = serializers.CharField()
    outcome = serializers.IntegerField(help_text="The review outcome that agreed it.")
    cycle = serializers.IntegerField(allow_null=True, help_text="The review cycle in which it was agreed.")
    description = serializers.CharField(help_text="What is to be done.")
    owner = serializers.ChoiceField(choices=Commitment.Owner.choices, help_text="Who does it.")
    organisation = serializers.CharField(allow_null=True, help_text="The partner organisation's code (owner partner).")
    due_date = serializers.DateField()
    # Not an enum in the schema: "state" already names the review cycles' states there.
    state = serializers.CharField(help_text="open, done or dropped.")
    is_late = serializers.BooleanField(help_text="Open past its due date.")
    done_at = serializers.DateTimeField(allow_null=True)
    done_note = serializers.CharField(allow_blank=True, help_text="What was done, as its owner said.")
    confirmed_at = serializers.DateTimeField(allow_null=True, help_text="When the secretariat confirmed it done.")
    dropped_reason = serializers.CharField(allow_blank=True)
    reopened_reason = serializers.CharField(allow_blank=True, help_text="Why the secretariat reopened it, if it did.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    evidence = EvidenceSerializer(many=True)


class CommitmentDoneSerializer(RefusesUnknownFields, serializers.Serializer):
    """Marking a commitment done: the same rules as the focal point's form."""

    note = serializers.CharField(max_length=REPORT_TEXT_MAX_LENGTH, help_text="What was done.")


# --- Filters --------------------------------------------------------------------------------------


class CommitmentFilter(SyncFilterSet):
    state = filters.MultipleChoiceFilter(choices=Commitment.State.choices)
    late = StrictBooleanFilter(method="filter_late", help_text=_("Open past the due date (true) or not (false)."))
    owner = filters.MultipleChoiceFilter(choices=Commitment.Owner.choices)
    member_state = CodeFilter(field_name="implementation__member_state__iso_code", upper=True)
    body = CodeFilter(field_name="implementation__recommendation__meeting__body__code")
    implementation = IdFilter(field_name="implementation_id")
    cycle = IdFilter(field_name="outcome__cycle_id")
    due_before = DateFilter(field_name="due_date", lookup_expr="lte", help_text=_("Due on or before."))
    due_after = DateFilter(field_name="due_date", lookup_expr="gte", help_text=_("Due on or after."))

    class Meta:
        model = Commitment
        fields = []

    def filter_late(self, qs, name, value):
        return qs.filter(late=value)


# --- The resource ---------------------------------------------------------------------------------


class CommitmentViewSet(ListRetrieve):
    """What the reviews agreed someone would do about an item, by when, and what became of it."""

    shape_class = CommitmentShape
    serializer_class = CommitmentSerializer
    filterset_class = CommitmentFilter
    pagination_class = SyncCursorPagination
    ordering_fields = ["id", "due_date", "updated_at"]
    write_requires = "report"
    queryset = Commitment.objects.none()  # for the schema; get_queryset() decides

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Commitment.objects.none()
        visible = commitments.visible_commitments(self.client.access)
        return commitments.with_lateness(visible, timezone.localdate())

    @extend_schema(
        summary="Mark a commitment done",
        request=CommitmentDoneSerializer,
        responses={
            200: CommitmentSerializer,
            400: ErrorSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Not the owner, or a read-only token."),
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="Not open: already done, or dropped."),
        },
        description=(
            "Mark a commitment done, with a note saying what was done. A member state's commitment: a write token "
            "of that state; the secretariat's and partners' commitments: a secretariat-level write token."
        ),
    )
    @action(detail=True, methods=["post"], url_path="done")
    def done(self, request, pk=None):
        commitment = self._visible(pk)
        data = CommitmentDoneSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            commitments.mark_done(commitment, request.user, self.client.access, data.validated_data["note"])
        except commitments.WrongState as error:
            raise Conflict(detail=" ".join(error.messages), code=error.code or Conflict.default_code) from None
        except DjangoPermissionDenied as error:
            raise PermissionDenied(detail=str(error) or None) from None
        self.kwargs["pk"] = commitment.pk
        return Response(self.get_row(), status=status.HTTP_200_OK)

    def _visible(self, pk):
        try:
            return commitments.visible_commitments(self.client.access).get(pk=int(pk))
        except (Commitment.DoesNotExist, TypeError, ValueError, OverflowError):
            raise Http404 from None


read_only(CommitmentViewSet, CommitmentSerializer)
