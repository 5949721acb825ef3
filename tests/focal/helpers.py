"""Small helpers for the focal point page tests."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile

from tracker.core.models import Implementation

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def item_of(iso_code, reference="R2"):
    return Implementation.objects.get(recommendation__reference=reference, member_state__iso_code=iso_code)


def pdf(name="minutes.pdf", size=None):
    content = PDF_BYTES if size is None else PDF_BYTES + b"0" * (size - len(PDF_BYTES))
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def fake_pdf(name="virus.pdf"):
    return SimpleUploadedFile(name, b"MZ\x90\x00 this is an executable", content_type="application/pdf")


def report_data(item, **overrides):
    """The form as it is opened now: the item's version and the revision of the state's shared draft (0: none)."""
    from tracker.core.models import ProgressReport

    draft = ProgressReport.objects.shared_draft_of(item)
    data = {
        "status": "in_progress",
        "progress": 30,
        "narrative": "تم إعداد مسودة بروتوكول لتبادل البيانات.",
        "obstacles": "",
        "support_needed": "",
        "version": item.version,
        "draft_revision": draft.revision if draft else 0,
        "action": "submit",
    }
    return {**data, **overrides}


def as_bytes(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


__all__ = ["io", "item_of", "pdf", "fake_pdf", "report_data", "as_bytes"]
