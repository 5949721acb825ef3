"""The meeting pack through the API: ask for a cycle's pack, follow its progress, download it.

    POST /api/v1/review-cycles/{id}/pack/            {"language": "ar", "format": "pdf"}  -> 202, Location: status
    GET  /api/v1/review-cycles/{id}/pack/{pack_id}/  -> its state and progress, and its file URL when ready
    GET  /api/v1/review-cycles/{id}/pack/{pack_id}/file/  -> the Word or PDF file (409 until it is ready)

Only for clients that may review: the secretariat and reviewers (session), and secretariat-level partners whose
token covers every member state (asking for a pack needs a write token, as every POST does). The packs
themselves are the review room's; this room reaches them through its app config, never by importing it.
"""

from django.apps import apps
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.api.exceptions import Conflict
from tracker.api.models import ApiToken
from tracker.api.permissions import client_of
from tracker.api.serializers import ErrorSerializer
from tracker.core.models import ReviewCycle

LANGUAGES = ["ar", "en"]
FORMATS = ["docx", "pdf"]
FILE_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def packs():
    return apps.get_app_config("review").meeting_packs()


class MayReview(BasePermission):
    """The pack shows every member state's items, confidential ones included: reviewers' eyes only."""

    message = gettext_lazy("Only the secretariat, reviewers and secretariat-level partners may have meeting packs.")

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        client = client_of(request)
        if client.token is None:
            return client.access.can_review
        if not (client.token.partner.is_secretariat_level and client.access.all_states):
            return False
        if request.method not in SAFE_METHODS and client.token.scope != ApiToken.Scope.WRITE:
            self.message = _("This token is read-only.")
            return False
        return True


class PackRequestSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=LANGUAGES)
    format = serializers.ChoiceField(choices=FORMATS)


@extend_schema_field({"type": "string", "pattern": "^(queued|building|ready|failed)$"})
class PackStateField(serializers.CharField):
    """Documented by pattern, not as an enum: the schema's enum named "state" is the review cycles'."""


class PackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cycle = serializers.IntegerField(source="cycle_id")
    language = serializers.ChoiceField(choices=LANGUAGES)
    format = serializers.ChoiceField(choices=FORMATS)
    state = PackStateField(help_text="queued, building, ready or failed.")
    progress = serializers.IntegerField(min_value=0, max_value=100, help_text="Percent built.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    status_url = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField(help_text="Where to download the file, once the pack is ready.")
    error = serializers.SerializerMethodField(help_text="Why the pack could not be built, when it failed.")

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, pack):
        return self.context["request"].build_absolute_uri(status_path(pack))

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_file_url(self, pack):
        if pack.state != "ready":
            return None
        path = reverse("api:review-cycle-pack-file", kwargs={"cycle_id": pack.cycle_id, "pk": pack.pk})
        return self.context["request"].build_absolute_uri(path)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_error(self, pack):
        if pack.state != "failed":
            return None
        return _("The pack could not be built. Ask for it again; if it fails again, tell the administrator.")


def status_path(pack):
    return reverse("api:review-cycle-pack-detail", kwargs={"cycle_id": pack.cycle_id, "pk": pack.pk})


def found_pack(cycle_id, pk):
    pack = packs().find(cycle_id, pk)
    if pack is None:
        raise NotFound()
    return pack


class PackView(APIView):
    permission_classes = [MayReview]


@extend_schema(tags=["review-cycles"])
class PackCreate(PackView):
    @extend_schema(
        operation_id="review_cycles_pack_create",
        summary="Ask for a meeting pack",
        request=PackRequestSerializer,
        responses={
            202: OpenApiResponse(PackSerializer, description="Accepted: follow `status_url` (the Location header)."),
            409: OpenApiResponse(ErrorSerializer, description="The cycle is being closed: ask again in a few minutes."),
        },
        description="Ask for the cycle's meeting pack in Arabic or English, as a Word document or a PDF. A small "
        "pack is ready at once; a large one is built in the background.",
    )
    def post(self, request, cycle_id):
        cycle = ReviewCycle.objects.select_related("body").filter(pk=cycle_id).first()
        if cycle is None:
            raise NotFound()
        asked = PackRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        service = packs()
        try:
            pack = service.request(
                cycle, asked.validated_data["language"], asked.validated_data["format"], request.user
            )
        except service.Unavailable as error:
            raise Conflict(str(error)) from None
        body = PackSerializer(pack, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


@extend_schema(tags=["review-cycles"])
class PackStatus(PackView):
    @extend_schema(
        operation_id="review_cycles_pack_retrieve", summary="Follow a meeting pack", responses={200: PackSerializer}
    )
    def get(self, request, cycle_id, pk):
        return Response(PackSerializer(found_pack(cycle_id, pk), context={"request": request}).data)


@extend_schema(tags=["review-cycles"])
class PackFile(PackView):
    def perform_content_negotiation(self, request, force=False):
        # A client that accepts only the file's type still gets its errors, in JSON, rather than 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="review_cycles_pack_file",
        summary="Download a meeting pack",
        responses={
            (200, FILE_TYPES["docx"]): OpenApiResponse(
                OpenApiTypes.BINARY, description="The Word document or the PDF."
            ),
            (200, FILE_TYPES["pdf"]): OpenApiResponse(OpenApiTypes.BINARY, description="The Word document or the PDF."),
            409: OpenApiResponse(ErrorSerializer, description="Not ready yet (or failed): see its status."),
        },
    )
    def get(self, request, cycle_id, pk):
        pack = found_pack(cycle_id, pk)
        if pack.state != "ready":
            raise Conflict(_("The pack is not ready: its state is %(state)s.") % {"state": pack.get_state_display()})
        try:
            stored = pack.file.open("rb")
        except FileNotFoundError:  # removed from the disk by hand: nothing to serve
            raise NotFound() from None
        service = packs()
        response = FileResponse(
            stored,
            as_attachment=True,
            filename=service.download_name(pack),
            content_type=service.content_type(pack),
        )
        response["Cache-Control"] = "private, no-store"
        return response
