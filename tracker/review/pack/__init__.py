"""The meeting pack (ملف اجتماع المراجعة): what the review meeting of a cycle reads, in Arabic or English, as an
editable Word document and as a PDF, both from one content model (content.py). A closed cycle's pack is built
from its frozen record only (sources.py), so it says the same forever.

    build_pack(cycle, "ar", "pdf") -> bytes
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from tracker.core.models import ReviewCycle

LANGUAGES = ("ar", "en")
FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


class PackUnavailable(Exception):
    """The cycle cannot have a pack now (its close is being frozen); the message says why, for the user."""


def check_available(cycle: ReviewCycle) -> None:
    if cycle.state == ReviewCycle.State.CLOSING:
        raise PackUnavailable(
            _("%(cycle)s is being closed: its pack can be built once its record is frozen, in a few minutes.")
            % {"cycle": cycle.name}
        )


def build_pack(cycle: ReviewCycle, lang: str, fmt: str, progress: Callable[[int], None] | None = None) -> bytes:
    """The pack of `cycle` in `lang` ("ar" or "en") as `fmt` ("docx" or "pdf")."""
    from tracker.review.pack.content import assemble
    from tracker.review.pack.pdf import write_pdf
    from tracker.review.pack.word import write_docx

    if lang not in LANGUAGES or fmt not in FORMATS:
        raise ValueError(f"Unknown pack language or format: {lang!r}, {fmt!r}.")
    check_available(cycle)
    report = progress or (lambda percent: None)
    # Gathering the content is quick; laying out a PDF is most of the work.
    content = assemble(cycle, lang, progress=lambda percent: report(percent * 30 // 100))
    if fmt == "pdf":
        data = write_pdf(content, progress=lambda percent: report(30 + percent * 70 // 100))
    else:
        data = write_docx(content)
    report(100)
    return data


def file_name(cycle: ReviewCycle, lang: str, fmt: str) -> str:
    """An ASCII name that says what the file is: meeting-pack-aimc-cycle-12-ar.pdf."""
    return f"meeting-pack-{cycle.body.code}-cycle-{cycle.pk}-{lang}.{fmt}"
