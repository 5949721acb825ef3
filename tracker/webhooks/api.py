"""Webhook endpoints in the REST API, for secretariat-level partner systems: `/api/v1/webhook-endpoints/`.

A partner system registers, reads and changes its own endpoints with its token; a write needs a read-write
token and, like every update of the API, If-Match with the ETag read. The signing secret is in the answer to a
create or a rotation only. Authentication, the base permission, throttling, pagination, rendering and the
error format are the API's defaults (REST_FRAMEWORK in settings): this room names no class of tracker.api.
"""

import re

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from tracker.core.events import EventType
from tracker.webhooks import endpoints
from tracker.webhooks.models import Endpoint


class SecretariatLevelPartner(BasePermission):
    """On top of the API's own check: the caller is a secretariat-level partner system's token."""

    message = gettext_lazy(
        "Webhook endpoints are registered by secretariat-level partner systems with their token; the secretariat "
        "manages them in the administration."
    )

    def has_permission(self, request, view):
        partner = getattr(request.auth, "partner", None)
        return bool(partner is not None and partner.is_secretariat_level)


# --- If-Match, read as the API's other writable resources read it (RFC 9110 13.1.1) ---------------------------

ENTITY_TAG = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')


class PreconditionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = gettext_lazy("Send If-Match with the ETag of the item you read.")
    default_code = "if_match_required"


def if_match_accepts(request, etag):
    """Whether If-Match (required: 428 without it) names the current ETag: `*`, or one strong tag of a list."""
    value = (request.headers.get("If-Match") or "").strip()
    if not value:
        raise PreconditionRequired()
    return value == "*" or etag in {tag for weak, tag in ENTITY_TAG.findall(value) if not weak}


def stale_answer(current):
    """412 in the API's problem details format, with the endpoint as it is now."""
    body = {
        "type": "about:blank",
        "title": "Precondition Failed",
        "status": 412,
        "code": "stale",
        "detail": _("The item changed since you read it: here it is now."),
        "fields": {},
        "current": current,
    }
    return Response(body, status=status.HTTP_412_PRECONDITION_FAILED, headers={"ETag": current["etag"]})


# --- Serializers -----------------------------------------------------------------------------------------------


class EndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))
    member_states = serializers.SlugRelatedField(
        slug_field="iso_code",
        many=True,
        read_only=True,
        help_text="ISO codes; empty: every member state the partner system may see.",
    )
    etag = serializers.CharField(read_only=True, help_text="Send it in If-Match to change the endpoint.")

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "member_states",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "failure_streak",
            "previous_secret_expires_at",
            "version",
            "etag",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_...), shown in this answer only: verify deliveries with it.",
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointWriteSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="https://, on a public address.")
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), allow_empty=False, max_length=len(EventType)
    )
    member_states = serializers.ListField(
        child=serializers.CharField(max_length=2),
        required=False,
        max_length=300,
        help_text="ISO codes, within your token's; leave out for all of your token's member states.",
    )
    is_active = serializers.BooleanField(
        required=False, help_text="false: receive nothing (pending events fail); true: enabled again after a disable."
    )

    def to_internal_value(self, data):
        """A write names only fields the resource has: any other is refused with a 400 naming it."""
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("This field does not exist.")] for name in unknown})
        return super().to_internal_value(data)

    def validate_events(self, value):
        return list(dict.fromkeys(value))


# --- The resource ----------------------------------------------------------------------------------------------

IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, description="The ETag of the endpoint."
)
# The API's problem details (its schema hook adds the component and the common errors to every operation).
PROBLEM = {"$ref": "#/components/schemas/Error"}
STALE = {"allOf": [PROBLEM, {"type": "object", "properties": {"current": {"$ref": "#/components/schemas/Endpoint"}}}]}
WRITE_ERRORS = {
    409: OpenApiResponse(PROBLEM, description="Conflicts with existing data."),
    412: OpenApiResponse(STALE, description="Stale If-Match: `current` is the endpoint now."),
    428: OpenApiResponse(PROBLEM, description="If-Match is missing."),
}


@extend_schema(tags=["webhooks"])
@extend_schema_view(
    list=extend_schema(responses=EndpointSerializer(many=True), description="Your partner system's endpoints."),
    retrieve=extend_schema(responses=EndpointSerializer),
    create=extend_schema(
        request=EndpointWriteSerializer,
        responses={201: EndpointWithSecretSerializer, 409: WRITE_ERRORS[409]},
        description="Register an endpoint; the answer holds its signing secret, shown this once.",
    ),
    partial_update=extend_schema(
        request=EndpointWriteSerializer, responses={200: EndpointSerializer, **WRITE_ERRORS}, parameters=[IF_MATCH]
    ),
)
class EndpointViewSet(viewsets.GenericViewSet):
    queryset = Endpoint.objects.none()  # for the schema; get_queryset() decides
    serializer_class = EndpointSerializer
    lookup_value_regex = r"[0-9]+"
    ordering_fields = ["id"]
    ordering = ["id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self):
        return [*super().get_permissions(), SecretariatLevelPartner()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Endpoint.objects.none()
        return Endpoint.objects.filter(partner=self.request.auth.partner).prefetch_related("member_states")

    @property
    def token_state_ids(self):
        """The member states of the caller's token (empty: all): an endpoint is never wider."""
        return frozenset(getattr(self.request.auth, "state_ids", None) or ())

    def _endpoint(self, pk, lock=False):
        queryset = self.get_queryset().select_for_update() if lock else self.get_queryset()
        try:
            return queryset.get(pk=int(pk))
        except (Endpoint.DoesNotExist, TypeError, ValueError):
            raise Http404 from None

    def _answer(self, endpoint, serializer_class=EndpointSerializer, code=status.HTTP_200_OK):
        data = serializer_class(endpoint).data
        return Response(data, status=code, headers={"ETag": endpoint.etag})

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(EndpointSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self._answer(self._endpoint(pk))

    def create(self, request, *args, **kwargs):
        write = EndpointWriteSerializer(data=request.data)
        write.is_valid(raise_exception=True)
        endpoint = endpoints.register(request.auth.partner, self.token_state_ids, **write.validated_data)
        return self._answer(endpoint, EndpointWithSecretSerializer, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        with transaction.atomic():
            endpoint = self._endpoint(pk, lock=True)
            if not if_match_accepts(request, endpoint.etag):
                return stale_answer(EndpointSerializer(endpoint).data)
            write = EndpointWriteSerializer(data=request.data, partial=True)
            write.is_valid(raise_exception=True)
            endpoint = endpoints.change(endpoint, self.token_state_ids, **write.validated_data)
        return self._answer(endpoint)

    @extend_schema(
        summary="Rotate an endpoint's signing secret",
        request=None,
        responses={200: EndpointWithSecretSerializer},
        description=(
            "A new signing secret, in this answer only. The previous secret signs deliveries too (a second "
            "signature) for 24 hours, so your receiver can switch without missing one."
        ),
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        with transaction.atomic():
            endpoint = self._endpoint(pk, lock=True)
            endpoint.rotate_secret()
        return self._answer(endpoint, EndpointWithSecretSerializer)
