"""Evidence files: checked by content (not only by name), limited in size, stored under random names."""

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

ALLOWED_TYPES = {
    "application/pdf": {".pdf"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "image/webp": {".webp"},
    "application/msword": {".doc"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {".docx"},
    "application/vnd.ms-excel": {".xls"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {".xlsx"},
}


def detect_type(uploaded):
    """The MIME type read from the file's first bytes, or None."""
    head = uploaded.read(8192)
    uploaded.seek(0)
    kind = filetype.guess(head)
    return kind.mime if kind else None


def validate_evidence(uploaded):
    """Raise ValidationError for a file that is too large or not PDF, image, Word or Excel by content."""
    if uploaded.size > settings.EVIDENCE_MAX_BYTES:
        raise ValidationError(
            _("“%(name)s” is %(size)s; the limit is %(limit)s.")
            % {"name": uploaded.name, "size": filesizeformat(uploaded.size),
               "limit": filesizeformat(settings.EVIDENCE_MAX_BYTES)}
        )
    mime = detect_type(uploaded)
    if mime not in ALLOWED_TYPES:
        raise ValidationError(
            _("“%(name)s” is not a PDF, image, Word or Excel file.") % {"name": uploaded.name}
        )
    uploaded.detected_type = mime
    return uploaded
