"""Evidence files: what may be stored and who may download it, decided here once for every path (the focal point
form checks each file as it arrives; `services.attach_evidence`, which every path goes through, checks them again
with the quotas before anything is written).

A file is judged by its content, never by its name: the type is read from its first bytes, and the file is stored
and served with that type's extension and content type (a JPEG named `page.html` is served as `page.jpg`, an
image). Office files with macros are refused, and so is an Office file (a zip package) whose declared content
would inflate past `EVIDENCE_MAX_UNPACKED_BYTES` or more than a hundredfold: checked from the zip's directory,
without extracting anything. Quotas: `EVIDENCE_MAX_FILES_PER_REPORT` files per report (and per commitment) and
`EVIDENCE_MAX_BYTES_PER_STATE` for all the files of a member state (its reports and commitments of every body).

A file belongs to a progress report or, when a commitment is marked done, to that commitment: both are
"holders" here, judged by the same rules.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, TypeAlias, cast

import filetype
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import AnonymousUser, User
    from django.core.files.uploadedfile import UploadedFile

    from tracker.core.models import Commitment, Evidence, Implementation, ProgressReport
    from tracker.core.permissions import Access

    #: What an evidence file belongs to.
    Holder: TypeAlias = ProgressReport | Commitment


@dataclass(frozen=True)
class FileType:
    mime: str
    extensions: tuple[str, ...]  # the first is the one a file of this type is stored and served with
    package: bool = False  # an Office Open XML file: a zip package

    @property
    def extension(self) -> str:
        return self.extensions[0]


ALLOWED_TYPES: dict[str, FileType] = {
    kind.mime: kind
    for kind in [
        FileType("application/pdf", (".pdf",)),
        FileType("image/jpeg", (".jpg", ".jpeg")),
        FileType("image/png", (".png",)),
        FileType("image/webp", (".webp",)),
        FileType("application/msword", (".doc",)),
        FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",), package=True),
        FileType("application/vnd.ms-excel", (".xls",)),
        FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",), package=True),
    ]
}
#: Office files that may carry macros: zip packages (2007 and later) and OLE compound files (97-2003).
PACKAGE_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OLE_TYPES = {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"}
#: A file of no allowed type (only files stored before the checks could be one) is served as bytes.
UNKNOWN = FileType("application/octet-stream", (".bin",))

MAX_INFLATION_RATIO = 100  # Office files compress text and XML about 5 to 20 times
MAX_PACKAGE_ENTRIES = 10_000
MAX_CONTENT_TYPES_BYTES = 1024 * 1024
# The stream names VBA code lives in, in OLE files (.doc, .xls): "_VBA_PROJECT" in UTF-16.
OLE_VBA_MARK = "_VBA_PROJECT".encode("utf-16-le")


def file_type(mime: str) -> FileType:
    return ALLOWED_TYPES.get(mime, UNKNOWN)


def detect_type(uploaded: UploadedFile) -> str | None:
    """The MIME type read from the file's first bytes, or None."""
    uploaded.seek(0)
    head = uploaded.read(8192)
    uploaded.seek(0)
    kind = filetype.guess(head)
    return kind.mime if kind else None


def sizes(size: int, limit: int) -> tuple[str, str]:
    """Both sizes, precise enough to show that `size` is over `limit` (10.0 MB against 10.0 MB is not)."""
    shown = str(filesizeformat(size)), str(filesizeformat(limit))
    if shown[0] != shown[1]:
        return shown
    exact = [
        ngettext("%(count)s byte", "%(count)s bytes", n) % {"count": number_format(n, force_grouping=True)}
        for n in (size, limit)
    ]
    return exact[0], exact[1]


def _over_limit(name: str, size: int, limit: int) -> ValidationError:
    size_text, limit_text = sizes(size, limit)
    return ValidationError(
        _("“%(name)s” is %(size)s, over the limit of %(limit)s.")
        % {"name": name, "size": size_text, "limit": limit_text},
        code="too_large",
    )


def _has_macros(content_types: bytes, names: list[str]) -> bool:
    return b"macroenabled" in content_types.lower() or any(n.lower().endswith("vbaproject.bin") for n in names)


def check_package(uploaded: UploadedFile, name: str) -> None:
    """Refuse an Office zip package that is damaged, would inflate past the limits, or carries macros.

    Reads only the zip's central directory and the small [Content_Types].xml: nothing is extracted.
    """
    damaged = ValidationError(_("“%(name)s” is a damaged Office file.") % {"name": name}, code="damaged")
    uploaded.seek(0)
    try:
        with zipfile.ZipFile(uploaded) as package:
            entries = package.infolist()
            unpacked = sum(entry.file_size for entry in entries)
            packed = sum(entry.compress_size for entry in entries)
            limit = settings.EVIDENCE_MAX_UNPACKED_BYTES
            inflated = unpacked > MAX_INFLATION_RATIO * max(packed, 1)
            if unpacked > limit or inflated or len(entries) > MAX_PACKAGE_ENTRIES:
                raise ValidationError(
                    _(
                        "“%(name)s” would expand to %(size)s when opened, more than the %(limit)s an Office file may "
                        "hold (or a hundred times its size): it is refused."
                    )
                    % {"name": name, "size": filesizeformat(unpacked), "limit": filesizeformat(limit)},
                    code="inflates",
                )
            names = [entry.filename for entry in entries]
            declared = package.getinfo("[Content_Types].xml")
            if declared.file_size > MAX_CONTENT_TYPES_BYTES:
                raise damaged
            content_types = package.read(declared)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        KeyError,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ):
        raise damaged from None
    finally:
        uploaded.seek(0)
    if _has_macros(content_types, names):
        raise _macros(name)


def _macros(name: str) -> ValidationError:
    return ValidationError(
        _(
            "“%(name)s” contains macros (a macro-enabled Office file). Save it without macros (.docx, .xlsx) or as "
            "a PDF, then attach it again."
        )
        % {"name": name},
        code="macros",
    )


def _ole_has_macros(uploaded: UploadedFile) -> bool:
    """A 97-2003 Office file with a VBA project (searched in chunks, overlapping by the mark's length)."""
    uploaded.seek(0)
    tail = b""
    try:
        for chunk in uploaded.chunks():
            if OLE_VBA_MARK in tail + chunk:
                return True
            tail = chunk[-len(OLE_VBA_MARK) :]
        return False
    finally:
        uploaded.seek(0)


def check_file(uploaded: UploadedFile) -> FileType:
    """The file's type if it may be stored; ValidationError with a message naming the file otherwise.

    The type is also noted on the file (`detected_type`) for the code that stores it.
    """
    name = uploaded.name or "?"
    size = cast(int, uploaded.size)
    if size > settings.EVIDENCE_MAX_BYTES:
        raise _over_limit(name, size, settings.EVIDENCE_MAX_BYTES)
    mime = detect_type(uploaded)
    if mime in PACKAGE_TYPES:
        check_package(uploaded, name)
    elif mime in OLE_TYPES and _ole_has_macros(uploaded):
        raise _macros(name)
    if mime is None or mime not in ALLOWED_TYPES:
        raise ValidationError(_("“%(name)s” is not a PDF, image, Word or Excel file.") % {"name": name}, code="type")
    uploaded.detected_type = mime  # type: ignore[attr-defined]  # our note on Django's object
    return ALLOWED_TYPES[mime]


def _too_many(holder: Holder, limit: int, count: int) -> str:
    from tracker.core.models import Commitment

    if isinstance(holder, Commitment):
        return ngettext(
            "A commitment holds at most %(limit)d evidence file; this one would have %(count)d.",
            "A commitment holds at most %(limit)d evidence files; this one would have %(count)d.",
            limit,
        ) % {"limit": limit, "count": count}
    return ngettext(
        "A report holds at most %(limit)d evidence file; this one would have %(count)d.",
        "A report holds at most %(limit)d evidence files; this one would have %(count)d.",
        limit,
    ) % {"limit": limit, "count": count}


#: The codes of `check_upload`'s refusals that are about room (the holder's or the state's), not about a file.
QUOTA_CODES = frozenset({"too_many", "state_quota"})


def check_upload(holder: Holder, uploaded_files: list[UploadedFile]) -> list[FileType]:
    """Check new files for a saved report or commitment: each file, then the quotas of the holder and of its
    member state (whose files of reports and of commitments count together).

    Call inside the transaction that stores them: the member state's row is locked so that two uploads for
    the same state cannot both pass the quota. Raises ValidationError({"evidence": [...]}), each error with its
    code (`check_file`'s, or one of QUOTA_CODES), so the API can tell a refused file from a full quota.
    """
    from django.db.models import Q, Sum

    from tracker.core.models import Evidence, MemberState

    errors: list[ValidationError] = []
    kinds = []
    for uploaded in uploaded_files:
        try:
            kinds.append(check_file(uploaded))
        except ValidationError as error:
            errors.extend(error.error_list)
    if errors:
        raise ValidationError({"evidence": errors})
    most = settings.EVIDENCE_MAX_FILES_PER_REPORT
    count = holder.evidence.count() + len(uploaded_files)
    if count > most:
        raise ValidationError({"evidence": [ValidationError(_too_many(holder, most, count), code="too_many")]})
    state = MemberState.objects.select_for_update().get(pk=holder.implementation.member_state_id)
    of_state = Q(report__implementation__member_state=state) | Q(commitment__implementation__member_state=state)
    stored = Evidence.objects.filter(of_state).aggregate(total=Sum("size"))
    total = (stored["total"] or 0) + sum(cast(int, uploaded.size) for uploaded in uploaded_files)
    limit = settings.EVIDENCE_MAX_BYTES_PER_STATE
    if total > limit:
        total_text, limit_text = sizes(total, limit)
        raise ValidationError(
            {
                "evidence": [
                    ValidationError(
                        _(
                            "The evidence files of %(state)s would take %(total)s, over the limit of %(limit)s for a "
                            "member state. Ask the secretariat."
                        )
                        % {"state": state.name, "total": total_text, "limit": limit_text},
                        code="state_quota",
                    )
                ]
            }
        )
    return kinds


def store(uploaded: UploadedFile, kind: FileType, author: User, **holder: Holder) -> Evidence:
    """Write one checked file (see `check_upload`) for its holder, `report=` or `commitment=`."""
    from tracker.core.models import Evidence

    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    # The stubs allow a file without a name or size; an uploaded file always has both. The stored name takes the
    # extension of the detected type (`content_type`, set before the file is written).
    original = "".join(c for c in cast(str, uploaded.name) if c.isprintable())[:255] or "evidence"
    return Evidence.objects.create(
        file=uploaded,
        original_name=original,
        content_type=kind.mime,
        size=cast(int, uploaded.size),
        sha256=digest.hexdigest(),
        uploaded_by=author,
        **holder,
    )


def stored_suffix(content_type: str) -> str:
    """The extension a file of this (detected) type is stored with, whatever its original name."""
    return file_type(content_type).extension


def download_name(original_name: str, content_type: str) -> str:
    """The original name, with an extension of the detected type: `page.html` holding a JPEG is `page.jpg`."""
    kind = file_type(content_type)
    path = PurePath(original_name.replace("\\", "/")).name or "evidence"
    if PurePath(path).suffix.lower() in kind.extensions:
        return path
    stem = PurePath(path).stem if PurePath(path).suffix else path
    return f"{stem or 'evidence'}{kind.extension}"


def may_download(evidence: Evidence, access: Access, user: User | AnonymousUser) -> bool:
    """Whoever may see the item sees its submitted reports' files; the files of its shared draft, whoever may
    report on it (the state's focal points, the secretariat); the files of an archived report, the secretariat
    only. A commitment's files are seen by whoever sees its item."""
    if evidence.report is not None:
        return may_see_files_of(evidence.report, access)
    if evidence.commitment is None:
        return False  # the database refuses such a row; never serve one
    return _sees_item(access, evidence.commitment.implementation_id)


def may_see_files_of(report: ProgressReport, access: Access) -> bool:
    """`may_download` for every file of one report (the API reads a report's files with this)."""
    if not report.is_submitted and not access.can_report:
        return False  # a draft or a report awaiting validation: its item must also be visible, below
    if report.is_archived and not access.can_manage:
        return False
    return _sees_item(access, report.implementation_id)


def _sees_item(access: Access, implementation_id: int) -> bool:
    from tracker.core.models import Implementation

    return Implementation.objects.current().visible_to(access).filter(pk=implementation_id).exists()


# --- Files sent after their report (the API) ---------------------------------------------------------------


class ClosedToEvidence(ValidationError):
    """The report takes no more files: archived, a draft, superseded, or its cycle no longer takes reports. The
    API answers 409; nothing is stored."""


def add_to_sent_report(
    report: ProgressReport, uploaded_files: Iterable[UploadedFile], author: User, access: Access
) -> list[Evidence]:
    """Add files to a report already sent (submitted, or awaiting national validation); returns the stored files.

    The focal point's form sends files with the report: on the state's shared draft when it is saved, on the
    report as it is submitted. The API sends a report as JSON and its files after it, on their own request; so a
    sent report takes files only as the second half of its sending: from its sender, while it is the item's
    latest report and still counts for the cycle that takes reports now (a report awaiting validation, until its
    validator decides: approving it chooses its cycle then). Otherwise it is final, as every sent report is: more
    evidence goes with a new report. The files themselves pass `services.attach_evidence`, the form's own path:
    the same content checks and quotas, with the same messages.
    """
    from django.db import transaction
    from django.utils import timezone

    from tracker.core import services
    from tracker.core.models import Implementation, ProgressReport

    files = list(uploaded_files)
    with transaction.atomic():
        # The lock every report and validation decision on the item takes: none of them runs meanwhile.
        item = Implementation.objects.select_for_update().get(pk=report.implementation_id)
        services.ensure_may_report(access, item)
        current = ProgressReport.objects.get(pk=report.pk)
        if current.author_id != author.pk:
            raise PermissionDenied(_("Only the sender of a report may add files to it; others send a new report."))
        _ensure_open_to_files(current, item)
        before = set(current.evidence.values_list("pk", flat=True))
        services.attach_evidence(current, files, author)
        # The report's evidence changed: it moves in the incremental sync like any change to it.
        ProgressReport.objects.filter(pk=current.pk).update(updated_at=timezone.now())
        return list(current.evidence.exclude(pk__in=before).order_by("pk"))


def _ensure_open_to_files(report: ProgressReport, item: Implementation) -> None:
    """ClosedToEvidence unless the (sent) report may still take files: see `add_to_sent_report`."""
    from django.db.models import Q

    from tracker.core.models import ProgressReport
    from tracker.core.services import report_cycle_for

    if report.is_archived:
        raise ClosedToEvidence(_("This report is archived: it takes no more files."), code="archived")
    if report.state == ProgressReport.State.DRAFT:
        raise ClosedToEvidence(
            _("This report is a draft: its files are added when the draft is saved, on the item's page."),
            code="draft",
        )
    if report.is_awaiting_validation:
        return  # the item's one report in the works; its cycle is chosen when the validator approves it
    sent = ProgressReport.objects.filter(implementation=item, is_archived=False).exclude(pk=report.pk)
    newer = sent.filter(
        Q(state=ProgressReport.State.AWAITING_VALIDATION)
        | Q(state=ProgressReport.State.SUBMITTED, submitted_at__gt=report.submitted_at)
        | Q(state=ProgressReport.State.SUBMITTED, submitted_at=report.submitted_at, pk__gt=report.pk)
    )
    if newer.exists():
        raise ClosedToEvidence(
            _(
                "A newer report on this item was sent after this one: it takes no more files. Send them with a new "
                "report."
            ),
            code="superseded",
        )
    cycle_now = report_cycle_for(item)  # on PostgreSQL, share-locks the cycle row: a close waits for this upload
    if report.cycle_id != (cycle_now.pk if cycle_now is not None else None):
        raise ClosedToEvidence(
            _(
                "The review cycle this report counts for no longer takes reports: the report takes no more files. "
                "Send them with a new report."
            ),
            code="cycle_closed",
        )
