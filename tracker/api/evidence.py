"""Evidence files of a progress report through the API.

    POST /api/v1/progress-reports/{id}/evidence/              multipart/form-data, a `file` part per file -> 201
    GET  /api/v1/progress-reports/{id}/evidence/              the report's files (metadata)
    GET  /api/v1/progress-reports/{id}/evidence/{evidence_id}/        one file's metadata
    GET  /api/v1/progress-reports/{id}/evidence/{evidence_id}/file/   the file itself, as an attachment

The only endpoint of the API that takes multipart: every other write is JSON. Which report takes files, and which
files, is tracker.core.evidence's to say (`add_to_sent_report`: the sender's own report while it is the item's
latest and its cycle takes reports; the focal point form's content checks and quotas, with its messages). Who
reads them, too (`may_see_files_of`, the rule of the web page's download). This module maps the answers to HTTP:
a refused file 400, a file over the size limit 413, a full quota or a report closed to files 409.
"""

import base64
import binascii
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.api.exceptions import Conflict, RequestTooLarge, error_body
from tracker.api.permissions import client_of
from tracker.api.serializers import ErrorSerializer, EvidenceFileSerializer, EvidenceUploadSerializer
from tracker.core import evidence as evidence_rules
from tracker.core.models import ProgressReport

log = logging.getLogger(__name__)

MAX_ID = 2**63 - 1  # a larger id names nothing (and would overflow the database's integer)
# Room for the multipart framing around the files (part headers, boundaries): generous, a few hundred bytes a part.
MULTIPART_ALLOWANCE = 1024 * 1024

LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[201],
    description="The stored file's `url`; when several were sent, the report's list of files.",
)


class EvidenceView(APIView):
    """Reads need to see the report's files; an upload needs a write token (or a session) that may report."""

    write_requires = "report"  # tracker.api.permissions.ApiPermission: 403 for a read-only token

    @property
    def access(self):
        return client_of(self.request).access

    def readable_report(self, report_id):
        """The report if the client may read its files; 404 otherwise (another state's report is not even
        confirmed). Drafts stay with the state's focal points: the API never shows one."""
        report = None
        if report_id <= MAX_ID:
            sent = ProgressReport.objects.exclude(state=ProgressReport.State.DRAFT)
            report = sent.select_related("implementation__recommendation__meeting").filter(pk=report_id).first()
        if report is None or not evidence_rules.may_see_files_of(report, self.access):
            raise NotFound()
        return report

    def readable_file(self, report_id, evidence_id):
        report = self.readable_report(report_id)
        evidence = report.evidence.filter(pk=evidence_id).first() if evidence_id <= MAX_ID else None
        if evidence is None:
            raise NotFound()
        evidence.report = report
        return evidence

    def described(self, files):
        return EvidenceFileSerializer(files, many=True, context={"request": self.request}).data


@extend_schema(tags=["progress-reports"])
class ReportEvidence(EvidenceView):
    parser_classes = [MultiPartParser]  # this endpoint only: the rest of the API takes JSON

    @extend_schema(
        operation_id="progress_reports_evidence_list",
        summary="List the evidence files of a report",
        responses={200: EvidenceFileSerializer(many=True)},
        description="The evidence files of a report, oldest first.",
    )
    def get(self, request, report_id):
        report = self.readable_report(report_id)
        return Response(self.described(report.evidence.order_by("created_at", "pk")))

    @extend_schema(
        operation_id="progress_reports_evidence_create",
        summary="Upload evidence files to a report",
        request={"multipart/form-data": EvidenceUploadSerializer},
        parameters=[LOCATION],
        responses={
            201: OpenApiResponse(EvidenceFileSerializer(many=True), description="The stored files, in order."),
            400: OpenApiResponse(ErrorSerializer, description="A file refused: `fields.file` names it and says why."),
            403: OpenApiResponse(ErrorSerializer, description="A read-only token, or not the report's sender."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="A quota is full (code quota_exceeded), or the report takes no more files: archived, "
                "a newer report was sent, or its cycle no longer takes reports.",
            ),
            413: OpenApiResponse(
                ErrorSerializer,
                description="A file over the size limit (named), or a body over what the files a report may take "
                "could need.",
            ),
            415: OpenApiResponse(ErrorSerializer, description="Not multipart/form-data."),
        },
        description=(
            "Attach evidence files to a report you sent: multipart/form-data with one `file` part per file. A sent "
            "report takes files from its sender while it is the item's latest report and still counts for the "
            "cycle that takes reports now (a report awaiting national validation: until the validator decides). "
            "The rules of the focal point form apply: PDF, images, Word or Excel judged by their content, the size "
            "limit per file, files per report and bytes per member state. All the files are stored, or none."
        ),
    )
    def post(self, request, report_id):
        report = self.readable_report(report_id)
        files = self.uploaded_files(request)
        try:
            stored = evidence_rules.add_to_sent_report(report, files, request.user, self.access)
        except evidence_rules.ClosedToEvidence as closed:
            raise Conflict(detail=" ".join(closed.messages), code=closed.code or Conflict.default_code) from None
        except DjangoPermissionDenied as refused:
            raise PermissionDenied(detail=str(refused) or None) from None
        except DjangoValidationError as refused:
            return refused_files(refused)
        body = self.described(stored)
        location = body[0]["url"] if len(body) == 1 else request.build_absolute_uri(evidence_list_path(report.pk))
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    def uploaded_files(self, request):
        refuse_oversized_body(request)
        try:
            data = request.data
        except (TooManyFilesSent, TooManyFieldsSent):
            raise ParseError(_("The request holds more files or fields than a request may.")) from None
        upload = EvidenceUploadSerializer(data=data)
        upload.is_valid(raise_exception=True)
        return upload.validated_data["file"]


@extend_schema(tags=["progress-reports"])
class ReportEvidenceDetail(EvidenceView):
    @extend_schema(
        operation_id="progress_reports_evidence_retrieve",
        summary="Get an evidence file's metadata",
        responses={200: EvidenceFileSerializer},
    )
    def get(self, request, report_id, evidence_id):
        return Response(self.described([self.readable_file(report_id, evidence_id)])[0])


FILE_TYPES = sorted({kind.mime for kind in evidence_rules.ALLOWED_TYPES.values()} | {evidence_rules.UNKNOWN.mime})


@extend_schema(tags=["progress-reports"])
class ReportEvidenceFile(EvidenceView):
    def perform_content_negotiation(self, request, force=False):
        # A client that accepts only the file's type still gets its errors, in JSON, rather than 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="progress_reports_evidence_file",
        summary="Download an evidence file",
        parameters=[
            OpenApiParameter(
                "Repr-Digest",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[200],
                description="RFC 9530: `sha-256=:<base64>:`, the file's SHA-256 (its `sha256`, in hex).",
            )
        ],
        responses={
            (200, mime): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, typed by its content, as an attachment."
            )
            for mime in FILE_TYPES
        },
        description="Download an evidence file, under the type read from its content (name and content type alike).",
    )
    def get(self, request, report_id, evidence_id):
        evidence = self.readable_file(report_id, evidence_id)
        try:
            stored = evidence.file.open("rb")
        except FileNotFoundError:
            log.error("Evidence %s: its file %s is missing from the storage", evidence.pk, evidence.file.name)
            raise NotFound() from None
        response = FileResponse(
            stored,
            as_attachment=True,
            filename=evidence.download_name,
            content_type=evidence_rules.file_type(evidence.content_type).mime,
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"  # also the middleware's; the file must never be sniffed
        digest = repr_digest(evidence.sha256)
        if digest:
            response["Repr-Digest"] = digest
        return response


def evidence_list_path(report_id):
    return reverse("api:progress-report-evidence", kwargs={"report_id": report_id})


def repr_digest(sha256_hex):
    try:
        return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode()}:"
    except (ValueError, binascii.Error):
        return None


def refuse_oversized_body(request):
    """413 before reading a body larger than the files a report may take could need (the per-file limit times
    the files per report): nothing so large is spooled to disk only to be refused."""
    each, count = settings.EVIDENCE_MAX_BYTES, settings.EVIDENCE_MAX_FILES_PER_REPORT
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > each * count + MULTIPART_ALLOWANCE:
        raise RequestTooLarge(
            ngettext(
                "The request is %(size)s: a report takes at most %(count)d file of %(each)s.",
                "The request is %(size)s: a report takes at most %(count)d files of %(each)s each.",
                count,
            )
            % {"size": filesizeformat(length), "count": count, "each": filesizeformat(each)}
        )


def refused_files(error):
    """The core's refusal of the files (`check_upload`): 413 when every refused file is over the size limit, 409
    when a quota is full, 400 otherwise; each message (naming its file) under `fields.file`, as the form shows it."""
    problems = error.error_dict.get("evidence") if hasattr(error, "error_dict") else None
    if not problems:
        raise error  # not about the files: the API's exception handler answers it
    messages = [message for problem in problems for message in problem.messages]
    codes = {problem.code for problem in problems}
    if codes <= evidence_rules.QUOTA_CODES:
        answer, code = status.HTTP_409_CONFLICT, "quota_exceeded"
    elif codes == {"too_large"}:
        answer, code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "too_large"
    else:
        answer, code = status.HTTP_400_BAD_REQUEST, "invalid"
    return Response(error_body(answer, code, " ".join(messages), {"file": messages}), status=answer)
