"""Reporting offline: a focal point downloads their state's items as an XLSX workbook, fills it in without a
connection, and uploads it; a preview lists every row's change and error before anything is saved.

- `build(access, state_ids, language)`: the workbook, one row per item the caller may report on, in Arabic
  (right-to-left) or English. Only the input cells (status, progress, what was done, obstacles, support needed)
  are unlocked; the sheets and the workbook structure are protected. Hidden columns carry the item's id, its
  version and the revision of the state's shared draft at download time (0: none), and a fingerprint of what
  the row held, so that an untouched row is skipped. A row of an item with a shared draft is filled in from it.
- `read(file)`: the rows of an uploaded workbook, as raw cell values; a file that is not such a workbook (not
  XLSX, too big, too many rows, macros, damaged, another spreadsheet) raises WorkbookError with a message.
- `preview(rows, user, access)` and `apply(rows, user, access)`: the same function. Each changed row goes through
  `services.submit_report` (the model's rules, the status moves, a stale version or draft, national
  validation), each in its own savepoint, all in one transaction; the preview always rolls it back, `apply`
  commits only when no row has an error. So the preview's errors are the save's errors, computed by the save.
- `keep` / `pending` / `claim`: an upload waits between its preview and its confirmation as a file with a random
  name under MEDIA_ROOT (never served), bound to the user who uploaded it.

Status cells take the label in either language (or the code). Text that a spreadsheet would read as a formula
is written as text (string type, quote prefix) and read back as text: nothing in a cell is ever evaluated.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy, ngettext, override
from django.utils.translation import gettext as _

from tracker.core import services
from tracker.core.models import REPORT_TEXT_MAX_LENGTH, Implementation, MemberState, ProgressReport, Status

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tracker.core.permissions import Access

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_BYTES = 5 * 1024 * 1024  # the largest upload
MAX_ROWS = 1000  # item rows in one upload (a state follows up a few hundred items at most)
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # what the zip package may expand to when opened
MAX_SCANNED_ROWS = 20 * MAX_ROWS  # rows, empty or not, read before giving up on a sheet

MARKER = "workshop-recommendation-tracker/progress-workbook"
FORMAT = 1
META_SHEET = "tracker"
HEADER_ROW = 1
FIRST_ROW = HEADER_ROW + 1
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls)
# Characters XML 1.0 cannot hold (openpyxl refuses them): dropped from what is written.
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

INPUT_FILL = "FFF6D5"
HEADER_FILL = "DCE6F1"
LOCKED_FILL = "EEEEEE"


@dataclass(frozen=True)
class Column:
    key: str
    label: Promise | str
    width: float
    editable: bool = False
    hidden: bool = False
    wrap: bool = False


COLUMNS = [
    Column("reference", gettext_lazy("Reference"), 11),
    Column("recommendation", gettext_lazy("Recommendation text"), 60, wrap=True),
    Column("member_state", gettext_lazy("Member state"), 16),
    Column("status", gettext_lazy("Status"), 20, editable=True),
    Column("progress", gettext_lazy("Progress (%)"), 12, editable=True),
    Column("narrative", gettext_lazy("What was done"), 50, editable=True, wrap=True),
    Column("obstacles", gettext_lazy("Obstacles"), 40, editable=True, wrap=True),
    Column("support_needed", gettext_lazy("Support needed"), 40, editable=True, wrap=True),
    Column("notes", gettext_lazy("Notes"), 36, wrap=True),
    # Hidden and locked: what the row was at download time.
    Column("item_id", "item_id", 10, hidden=True),
    Column("version", "version", 10, hidden=True),
    Column("draft_revision", "draft_revision", 10, hidden=True),
    Column("fingerprint", "fingerprint", 20, hidden=True),
]
INDEX = {column.key: number for number, column in enumerate(COLUMNS)}
TEXT_FIELDS = ("narrative", "obstacles", "support_needed")
#: The report fields, with the column that holds them, for the messages of the model's rules.
FIELD_COLUMNS = {key: COLUMNS[INDEX[key]] for key in ("status", "progress", *TEXT_FIELDS)}


class WorkbookError(ValidationError):
    """The uploaded file as a whole is refused (not XLSX, too big, macros, damaged, not our workbook...)."""


# --- building the workbook ------------------------------------------------------------------------------------


def reportable_items(access: Access, state_ids: Iterable[int]) -> list[Implementation]:
    """The followed-up items of the states that the caller may report on, as the workbook lists them: by state,
    newest meeting first, then the recommendations' order (as on the home page)."""
    items = (
        Implementation.objects.current()
        .visible_to(access)
        .filter(member_state_id__in=list(state_ids))
        .select_related("recommendation__meeting__body", "member_state")
    )
    mine = [item for item in items if access.may_report_on(item)]
    mine.sort(
        key=lambda item: (
            item.member_state.name_en,
            -(item.recommendation.meeting.start_date or date.max).toordinal(),
            item.recommendation.meeting_id,
            item.recommendation.position,
            item.recommendation.reference,
        )
    )
    return mine


def build(access: Access, state_ids: Iterable[int], language: str, *, user: User | None = None) -> bytes:
    """The XLSX workbook of the states' items that `access` may report on, in `language` ("ar" or "en")."""
    from openpyxl import Workbook
    from openpyxl.workbook.protection import WorkbookProtection

    state_ids = list(state_ids)
    items = reportable_items(access, state_ids)
    drafts = {
        draft.implementation_id: draft
        for draft in ProgressReport.objects.working_drafts()
        .filter(implementation__in=[item.pk for item in items])
        .select_related("updated_by")
    }
    with override(language):
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = _sheet_title(_("Recommendations"))
        _write_items(sheet, items, drafts, language)
        _write_instructions(workbook.create_sheet(_sheet_title(_("Instructions"))), access, state_ids, user, language)
        meta = workbook.create_sheet(META_SHEET)
        _write_meta(meta, sheet.title, language)
        workbook.active = 0
        workbook.security = WorkbookProtection(lockStructure=True)
        workbook.properties.title = str(_("Progress reports"))
        workbook.properties.creator = str(_("Recommendation tracker"))
        workbook.properties.language = language
        out = io.BytesIO()
        workbook.save(out)
    return out.getvalue()


def filename(state_ids: Iterable[int], language: str) -> str:
    codes = "-".join(
        MemberState.objects.filter(pk__in=list(state_ids)).order_by("iso_code").values_list("iso_code", flat=True)
    )
    return f"progress-{codes or 'none'}-{timezone.localdate():%Y-%m-%d}-{language}.xlsx"


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", str(title))[:31]


def _clean(text: str) -> str:
    """A text as a cell can hold it (no XML-illegal characters), with one kind of line end and no outer spaces."""
    return ILLEGAL.sub("", text).replace("\r\n", "\n").replace("\r", "\n").strip()


def fingerprint(status: str, progress: int, narrative: str, obstacles: str, support_needed: str) -> str:
    """What a row held, so that a row left as it was is recognised (and skipped) on upload."""
    values = [status, progress, *(_clean(text) for text in (narrative, obstacles, support_needed))]
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()[:24]


def _join(values: Iterable[str]) -> str:
    """A list in the active language's punctuation (the Arabic comma in Arabic)."""
    return ("، " if (get_language() or "en").startswith("ar") else ", ").join(values)


def _status_labels() -> list[str]:
    # A label cannot hold the list's separator; ours never do, but a translation must not break the list.
    return [str(label).replace(",", " ").replace('"', "") for label in Status.labels]


def _write_text(cell: Any, value: str) -> None:
    """Set a cell to a text that stays text: openpyxl would write "=..." as a formula, a spreadsheet would read
    "+...", "-..." or "@..." as one when the cell is edited. Forced to a string, shown with a quote prefix."""
    cell.value = value
    if value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True


def _write_items(sheet: Any, items: Sequence[Implementation], drafts: dict[int, ProgressReport], language: str) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    rtl = language == "ar"
    order = 2 if rtl else 1
    header_style = {
        "font": Font(bold=True),
        "fill": PatternFill("solid", fgColor=HEADER_FILL),
        "alignment": Alignment(wrap_text=True, vertical="top", readingOrder=order),
    }
    for number, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=number, value=str(column.label))
        for name, style in header_style.items():
            setattr(cell, name, style)
        dimension = sheet.column_dimensions[get_column_letter(number)]
        dimension.width = column.width
        dimension.hidden = column.hidden

    input_fill = PatternFill("solid", fgColor=INPUT_FILL)
    locked_fill = PatternFill("solid", fgColor=LOCKED_FILL)
    statuses = dict(zip(Status.values, _status_labels(), strict=True))
    for row, item in enumerate(items, start=FIRST_ROW):
        draft = drafts.get(item.pk)
        source = draft or item
        texts = {key: _clean(getattr(draft, key)) if draft else "" for key in TEXT_FIELDS}
        awaiting = item.awaiting_validation_since is not None
        values: dict[str, Any] = {
            "reference": item.recommendation.reference,
            "recommendation": _clean(item.recommendation.text),
            "member_state": item.member_state.name,
            "status": statuses[source.status],
            "progress": source.progress,
            **texts,
            "notes": _note(draft, awaiting),
            "item_id": item.pk,
            "version": item.version,
            "draft_revision": draft.revision if draft else 0,
            "fingerprint": fingerprint(source.status, source.progress, *texts.values()),
        }
        for number, column in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=row, column=number)
            value = values[column.key]
            if isinstance(value, str):
                _write_text(cell, value)
            else:
                cell.value = value
            cell.alignment = Alignment(wrap_text=column.wrap, vertical="top", readingOrder=order)
            if column.editable:
                cell.protection = Protection(locked=awaiting)
                cell.fill = locked_fill if awaiting else input_fill
            if column.key == "progress":
                cell.number_format = "0"

    last = FIRST_ROW + max(len(items), 1) - 1
    validations = [
        (
            "status",
            DataValidation(
                type="list",
                formula1='"' + ",".join(statuses.values()) + '"',
                allow_blank=False,
                errorTitle=_("Status"),
                error=_("Choose a status from the list."),
                promptTitle=_("Status"),
                prompt=_("Choose a status from the list."),
            ),
        ),
        (
            "progress",
            DataValidation(
                type="whole",
                operator="between",
                formula1="0",
                formula2="100",
                allow_blank=False,
                errorTitle=_("Progress (%)"),
                error=_("Progress is a whole number from 0 to 100."),
                promptTitle=_("Progress (%)"),
                prompt=_("A whole number from 0 to 100."),
            ),
        ),
        *[
            (
                key,
                DataValidation(
                    type="textLength",
                    operator="lessThanOrEqual",
                    formula1=str(REPORT_TEXT_MAX_LENGTH),
                    allow_blank=True,
                    errorTitle=str(COLUMNS[INDEX[key]].label),
                    error=_("At most %(count)s characters.") % {"count": REPORT_TEXT_MAX_LENGTH},
                ),
            )
            for key in TEXT_FIELDS
        ],
    ]
    for key, validation in validations:
        validation.showErrorMessage = True
        validation.showInputMessage = key in {"status", "progress"}
        letter = get_column_letter(INDEX[key] + 1)
        validation.add(f"{letter}{FIRST_ROW}:{letter}{last}")
        sheet.add_data_validation(validation)

    sheet.freeze_panes = sheet.cell(row=FIRST_ROW, column=INDEX["recommendation"] + 1)
    sheet.sheet_view.rightToLeft = rtl
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    _protect(sheet)


def _note(draft: ProgressReport | None, awaiting: bool) -> str:
    if awaiting:
        return _("A report is awaiting national validation: this row cannot be changed until the validator decides.")
    if draft is None:
        return ""
    who = draft.updated_by or draft.author
    return _("Filled in from the shared draft last changed by %(who)s on %(date)s.") % {
        "who": who.get_full_name() or who.get_username(),
        "date": date_format(timezone.localtime(draft.updated_at).date(), "DATE_FORMAT"),
    }


def _protect(sheet: Any) -> None:
    """Locked cells cannot be changed; columns and rows may still be resized (not added, removed or sorted).
    No password: the protection prevents mistakes, the upload checks everything anyway."""
    protection = sheet.protection
    protection.sheet = True
    protection.formatColumns = False
    protection.formatRows = False
    protection.selectLockedCells = False
    protection.selectUnlockedCells = False


def _write_instructions(sheet: Any, access: Access, state_ids: list[int], user: User | None, language: str) -> None:
    from openpyxl.styles import Alignment, Font

    from tracker.core import validation

    states = list(MemberState.objects.filter(pk__in=state_ids).order_by("name_en"))
    names = _join(s.name for s in states)
    lines: list[tuple[str, bool]] = [(_("How to report with this workbook"), True)]
    downloaded = {"states": names, "date": date_format(timezone.localdate(), "DATE_FORMAT")}
    if user is not None:
        downloaded["who"] = user.get_full_name() or user.get_username()
        lines.append((_("Downloaded for %(states)s by %(who)s on %(date)s.") % downloaded, False))
    else:
        lines.append((_("Downloaded for %(states)s on %(date)s.") % downloaded, False))
    lines += [
        (
            _(
                "One row per recommendation your state follows up. Fill in the yellow cells only: status, progress, "
                "what was done, obstacles and support needed. The other cells are locked."
            ),
            False,
        ),
        (_("Status: choose from the list (%(statuses)s).") % {"statuses": _join(_status_labels())}, False),
        (
            _(
                "Progress: a whole number from 0 to 100. An implemented item has progress 100 and says what was "
                "done; an item not started has progress 0."
            ),
            False,
        ),
        (_("A row left as it was reports nothing: unchanged rows are skipped."), False),
        (
            _(
                "A row filled in from your state's shared draft says so in the Notes column: uploading it with your "
                "changes submits the draft as a report."
            ),
            False,
        ),
        (
            _(
                "Upload the workbook on the page “Report offline with a workbook”: you see every change and every "
                "error before anything is saved. A workbook with an error saves nothing."
            ),
            False,
        ),
        (
            _(
                "If someone reports on an item or changes its draft after you downloaded the workbook, that row is "
                "refused: download a new workbook for it."
            ),
            False,
        ),
    ]
    for state in states:
        body_ids = {body_id for body_id, state_id in access.scopes if state_id == state.pk and body_id is not None}
        needs = not access.can_manage and any(validation.requires_validation(b, state.pk) for b in body_ids)
        if needs:
            lines.append(
                (
                    _("The reports of %(state)s are sent for national validation before they reach the secretariat.")
                    % {"state": state.name},
                    False,
                )
            )
    lines += [
        (
            _(
                "Do not change the hidden columns, add or remove sheets, or save the workbook with macros (.xlsm). "
                "Save it as an Excel workbook (.xlsx)."
            ),
            False,
        ),
        (
            _("Limits: %(rows)s rows and %(size)s per workbook.")
            % {"rows": MAX_ROWS, "size": filesizeformat(MAX_BYTES)},
            False,
        ),
    ]
    order = 2 if language == "ar" else 1
    sheet.column_dimensions["A"].width = 100
    for number, (text, bold) in enumerate(lines, start=1):
        cell = sheet.cell(row=number, column=1)
        _write_text(cell, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top", readingOrder=order)
        if bold:
            cell.font = Font(bold=True, size=14)
    sheet.sheet_view.rightToLeft = language == "ar"
    _protect(sheet)


def _write_meta(sheet: Any, items_title: str, language: str) -> None:
    rows = [
        ("marker", MARKER),
        ("format", FORMAT),
        ("items_sheet", items_title),
        ("language", language),
        ("generated_at", timezone.now().isoformat()),
    ]
    for number, (key, value) in enumerate(rows, start=1):
        sheet.cell(row=number, column=1, value=key)
        sheet.cell(row=number, column=2, value=value)
    sheet.sheet_state = "veryHidden"
    _protect(sheet)


# --- reading an upload --------------------------------------------------------------------------------------------


@dataclass
class RawRow:
    """One row of an uploaded workbook, as its cells held it (JSON-safe): parsed when previewed or applied, so
    its messages are in the language of that moment."""

    number: int
    values: dict[str, Any]


def read(file: IO[bytes]) -> list[RawRow]:
    """The item rows of an uploaded workbook; WorkbookError if the file as a whole is refused."""
    size = _size(file)
    if size == 0:
        raise WorkbookError(_("The file is empty."), code="empty")
    if size > MAX_BYTES:
        raise WorkbookError(
            _("The file is %(size)s, over the limit of %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(MAX_BYTES)},
            code="too_large",
        )
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    if head.startswith(OLE_MAGIC):
        raise WorkbookError(
            _("This is an Excel 97-2003 file (.xls). Save it as an Excel workbook (.xlsx), then upload it again."),
            code="type",
        )
    if not head.startswith(ZIP_MAGIC):
        raise _not_xlsx()
    _check_package(file)
    try:
        return _read_rows(file)
    except WorkbookError:
        raise
    except Exception:  # a parser given anything: whatever it raises, the file is damaged
        raise _damaged() from None
    finally:
        file.seek(0)


def _size(file: IO[bytes]) -> int:
    size = getattr(file, "size", None)
    if isinstance(size, int):
        return size
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def _not_xlsx() -> WorkbookError:
    return WorkbookError(
        _("This file is not an Excel workbook (.xlsx). Upload the workbook downloaded from this page."), code="type"
    )


def _damaged() -> WorkbookError:
    return WorkbookError(
        _(
            "This file is damaged or is not an Excel workbook (.xlsx). Open it in Excel, save it as .xlsx and upload "
            "it again, or download a new workbook."
        ),
        code="damaged",
    )


def _not_ours() -> WorkbookError:
    return WorkbookError(
        _(
            "This workbook was not downloaded from this page (or its structure was changed). Download the "
            "workbook, fill it in, and upload it."
        ),
        code="not_ours",
    )


def _check_package(file: IO[bytes]) -> None:
    """The zip package: not inflating past MAX_UNPACKED_BYTES (read from its directory), no macros, not damaged
    (the evidence rules, tracker.core.evidence), and an Excel workbook by its declared content. Nothing is
    extracted but the small [Content_Types].xml."""
    from tracker.core.evidence import check_package

    try:
        with zipfile.ZipFile(file) as package:
            unpacked = sum(entry.file_size for entry in package.infolist())
            declared = package.getinfo("[Content_Types].xml")
            content_types = package.read(declared) if declared.file_size <= 1024 * 1024 else b""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, EOFError, OSError, ValueError, NotImplementedError):
        raise _damaged() from None
    finally:
        file.seek(0)
    if unpacked > MAX_UNPACKED_BYTES:
        raise WorkbookError(
            _("This file would expand to %(size)s when opened, over the limit of %(limit)s.")
            % {"size": filesizeformat(unpacked), "limit": filesizeformat(MAX_UNPACKED_BYTES)},
            code="inflates",
        )
    try:
        check_package(file, getattr(file, "name", None) or "workbook.xlsx")  # type: ignore[arg-type]
    except ValidationError as error:
        if error.code == "macros":
            raise WorkbookError(
                _(
                    "This workbook contains macros (a macro-enabled file, .xlsm). Save it as an Excel workbook "
                    "(.xlsx) without macros, then upload it again."
                ),
                code="macros",
            ) from None
        if error.code == "inflates":
            raise WorkbookError(error.messages[0], code="inflates") from None
        raise _damaged() from None
    if b"spreadsheetml.sheet.main+xml" not in content_types:  # a Word document, a template, another package
        raise _not_xlsx()


def _cell(value: Any) -> Any:
    """A cell's value, JSON-safe: text, a number, a boolean, or None; dates as ISO text."""
    if isinstance(value, datetime | date | clock):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _read_rows(file: IO[bytes]) -> list[RawRow]:
    from openpyxl import load_workbook

    workbook = load_workbook(file, read_only=True, data_only=False, keep_links=False)
    try:
        if META_SHEET not in workbook.sheetnames:
            raise _not_ours()
        meta = {
            row[0]: row[1]
            for row in workbook[META_SHEET].iter_rows(min_row=1, max_row=20, max_col=2, values_only=True)
            if row and len(row) >= 2
        }
        if meta.get("marker") != MARKER:
            raise _not_ours()
        if meta.get("format") != FORMAT:
            raise WorkbookError(
                _("This workbook was made by another version of the tracker. Download a new workbook."),
                code="format",
            )
        title = meta.get("items_sheet")
        if title not in workbook.sheetnames:
            raise _not_ours()
        sheet = workbook[title]
        header = next(sheet.iter_rows(min_row=HEADER_ROW, max_row=HEADER_ROW, values_only=True), ())
        hidden = [column.key for column in COLUMNS if column.hidden]
        if [header[INDEX[key]] if len(header) > INDEX[key] else None for key in hidden] != hidden:
            raise _not_ours()
        rows: list[RawRow] = []
        for number, cells in enumerate(
            sheet.iter_rows(min_row=FIRST_ROW, max_col=len(COLUMNS), values_only=True), start=FIRST_ROW
        ):
            if number >= FIRST_ROW + MAX_SCANNED_ROWS:
                raise _too_many_rows()
            padded = list(cells) + [None] * (len(COLUMNS) - len(cells))
            if all(value is None or (isinstance(value, str) and not value.strip()) for value in padded):
                continue
            if len(rows) == MAX_ROWS:
                raise _too_many_rows()
            rows.append(RawRow(number, {column.key: _cell(padded[i]) for i, column in enumerate(COLUMNS)}))
        return rows
    finally:
        workbook.close()


def _too_many_rows() -> WorkbookError:
    return WorkbookError(
        _("This workbook has more than %(limit)s rows: it cannot be one downloaded from this page.")
        % {"limit": MAX_ROWS},
        code="too_many_rows",
    )


# --- parsing a row ------------------------------------------------------------------------------------------------


@dataclass
class Parsed:
    """A row's values as a report, or the problems that keep it from being one."""

    item_id: int | None
    version: int | None
    draft_revision: int | None
    reference: str
    status: str | None = None
    progress: int | None = None
    texts: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unchanged: bool = False

    def as_input(self) -> services.ReportInput:
        assert self.status is not None and self.progress is not None
        return services.ReportInput(status=self.status, progress=self.progress, **self.texts)


def status_codes() -> dict[str, str]:
    """Every way a status may be written in a cell, folded: its label in each language, and its code."""
    codes: dict[str, str] = {}
    for language, _name in settings.LANGUAGES:
        with override(language):
            for code, label in zip(Status.values, _status_labels(), strict=True):
                codes[_fold(label)] = code
    for code in Status.values:
        codes[_fold(code)] = code
    return codes


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _whole(value: Any) -> int | None:
    """A whole number written as a number or as text (in any script's digits), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        if re.fullmatch(r"[+-]?\d{1,9}", text):  # \d: Arabic-Indic digits too, as int() reads them
            return int(text)
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _clean(str(value))


def parse(row: RawRow, codes: dict[str, str]) -> Parsed:
    values = row.values
    parsed = Parsed(
        item_id=_whole(values.get("item_id")),
        version=_whole(values.get("version")),
        draft_revision=_whole(values.get("draft_revision")),
        reference=_text(values.get("reference"))[:32],
    )
    if parsed.item_id is None or parsed.version is None or parsed.draft_revision is None:
        parsed.problems.append(
            _("This row has lost its hidden columns (rows cannot be added): download a new workbook.")
        )
        return parsed
    raw_status = values.get("status")
    if raw_status is None or (isinstance(raw_status, str) and not raw_status.strip()):
        parsed.problems.append(_("Status: choose a status from the list."))
    else:
        parsed.status = codes.get(_fold(str(raw_status)))
        if parsed.status is None:
            parsed.problems.append(
                _("Status: “%(value)s” is not a status. Choose one from the list: %(statuses)s.")
                % {"value": _text(raw_status)[:60], "statuses": _join(_status_labels())}
            )
    progress = _whole(values.get("progress"))
    if progress is None or not 0 <= progress <= 100:
        parsed.problems.append(
            _("Progress: “%(value)s” is not a whole number from 0 to 100.")
            % {"value": _text(values.get("progress"))[:20]}
        )
    else:
        parsed.progress = progress
    parsed.texts = {key: _text(values.get(key)) for key in TEXT_FIELDS}
    if not parsed.problems:
        assert parsed.status is not None and parsed.progress is not None
        parsed.unchanged = values.get("fingerprint") == fingerprint(
            parsed.status, parsed.progress, *parsed.texts.values()
        )
    return parsed


# --- preview and apply --------------------------------------------------------------------------------------------


@dataclass
class Change:
    label: str
    before: str
    after: str
    short: bool = False  # status or progress: shown as "before → after"; a text is shown as it will be


@dataclass
class RowResult:
    SUBMITTED = "submitted"
    TO_VALIDATE = "to_validate"  # sent for national validation
    UNCHANGED = "unchanged"  # skipped
    ERROR = "error"

    number: int
    reference: str
    kind: str
    item_id: int | None = None
    state: str = ""
    recommendation: str = ""
    errors: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    @property
    def is_error(self) -> bool:
        return self.kind == self.ERROR


@dataclass
class Outcome:
    """What an upload did (or, previewed, would do), row by row in the workbook's order."""

    rows: list[RowResult]
    saved: bool = False

    def of_kind(self, kind: str) -> list[RowResult]:
        return [row for row in self.rows if row.kind == kind]

    @property
    def errors(self) -> list[RowResult]:
        return self.of_kind(RowResult.ERROR)

    @property
    def submitted(self) -> list[RowResult]:
        return self.of_kind(RowResult.SUBMITTED)

    @property
    def to_validate(self) -> list[RowResult]:
        return self.of_kind(RowResult.TO_VALIDATE)

    @property
    def unchanged(self) -> list[RowResult]:
        return self.of_kind(RowResult.UNCHANGED)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    @property
    def reports(self) -> list[RowResult]:
        return [row for row in self.rows if row.kind in {RowResult.SUBMITTED, RowResult.TO_VALIDATE}]

    @property
    def may_confirm(self) -> bool:
        return not self.has_errors and bool(self.reports)


class _Rollback(Exception):
    """Undo everything the rows did: the preview always, `apply` when a row has an error."""


def preview(rows: Sequence[RawRow], user: User, access: Access) -> Outcome:
    """What `apply` would do: the same code, rolled back. Nothing is saved."""
    return _run(rows, user, access, commit=False)


def apply(rows: Sequence[RawRow], user: User, access: Access) -> Outcome:
    """Submit every changed row through `services.submit_report`, in one transaction; if any row has an error,
    nothing is saved and the outcome lists the errors (`saved` is False)."""
    return _run(rows, user, access, commit=True)


def _run(rows: Sequence[RawRow], user: User, access: Access, *, commit: bool) -> Outcome:
    outcome = Outcome(rows=[])
    try:
        with transaction.atomic():
            outcome.rows = _apply_rows(rows, user, access)
            if not commit or outcome.has_errors or not outcome.reports:
                raise _Rollback
            outcome.saved = True
    except _Rollback:
        pass
    return outcome


def _apply_rows(rows: Sequence[RawRow], user: User, access: Access) -> list[RowResult]:
    codes = status_codes()
    parsed = [(row, parse(row, codes)) for row in sorted(rows, key=lambda r: r.number)]
    ids = {p.item_id for _, p in parsed if p.item_id is not None}
    items = {
        item.pk: item
        for item in Implementation.objects.current()
        .visible_to(access)
        .filter(pk__in=ids)
        .select_related("recommendation__meeting__body", "member_state")
    }
    drafts = {d.implementation_id: d for d in ProgressReport.objects.working_drafts().filter(implementation__in=ids)}
    seen: dict[int, int] = {}
    results = []
    for row, values in parsed:
        result = RowResult(number=row.number, reference=values.reference, kind=RowResult.ERROR, item_id=values.item_id)
        results.append(result)
        if values.item_id is None:  # its hidden columns are gone: parse says so
            result.errors += values.problems
            continue
        item = items.get(values.item_id)
        if item is None or not access.may_report_on(item):
            result.errors.append(_("This is not one of your items: its row is refused."))
            continue
        result.reference = item.recommendation.reference
        result.state = item.member_state.name
        result.recommendation = item.recommendation.text
        if values.problems:
            result.errors += values.problems
            continue
        if values.item_id in seen:
            result.errors.append(
                _("This item is also in row %(row)s: report on it in one row only.") % {"row": seen[values.item_id]}
            )
            continue
        seen[values.item_id] = row.number
        if values.unchanged:
            result.kind = RowResult.UNCHANGED
            continue
        result.changes = _changes(item, drafts.get(item.pk), values)
        try:
            with transaction.atomic():
                report = services.submit_report(
                    item,
                    user,
                    access,
                    values.as_input(),
                    expected_version=values.version,
                    expected_draft_revision=values.draft_revision,
                )
        except services.StaleVersion:
            result.errors.append(
                _(
                    "Someone reported on this item after the workbook was downloaded. Download a new workbook, or "
                    "report on the item's page."
                )
            )
        except services.StaleDraft:
            result.errors.append(
                _(
                    "The draft of this item was changed or submitted after the workbook was downloaded. Download a "
                    "new workbook, or report on the item's page."
                )
            )
        except PermissionDenied:
            result.errors.append(_("This is not one of your items: its row is refused."))
        except ValidationError as error:
            result.errors += _messages(error)
        except IntegrityError:
            result.errors.append(_("This row could not be saved: someone changed the item at the same moment."))
        else:
            result.kind = RowResult.TO_VALIDATE if report.is_awaiting_validation else RowResult.SUBMITTED
    return results


def _messages(error: ValidationError) -> list[str]:
    """A service's or the model's ValidationError, each message with the column it is about."""
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    messages = []
    for name, errors in error.message_dict.items():
        column = FIELD_COLUMNS.get(name)
        for message in errors:
            messages.append(f"{column.label}: {message}" if column else message)
    return messages


def _changes(item: Implementation, draft: ProgressReport | None, values: Parsed) -> list[Change]:
    """What the row changes: status and progress against the item's, the texts against the shared draft's."""
    assert values.status is not None and values.progress is not None
    changes = []
    if values.status != item.status:
        labels = str(Status(item.status).label), str(Status(values.status).label)
        changes.append(Change(str(FIELD_COLUMNS["status"].label), *labels, short=True))
    if values.progress != item.progress:
        progress = f"{item.progress}%", f"{values.progress}%"
        changes.append(Change(str(FIELD_COLUMNS["progress"].label), *progress, short=True))
    for key in TEXT_FIELDS:
        before = _clean(getattr(draft, key)) if draft else ""
        if values.texts[key] != before:
            changes.append(Change(str(FIELD_COLUMNS[key].label), before, values.texts[key]))
    return changes


# --- an upload waiting for its confirmation -----------------------------------------------------------------------

TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
PENDING_MAX_AGE_SECONDS = 24 * 3600


@dataclass
class Pending:
    token: str
    user_id: int
    file_name: str
    uploaded_at: str
    rows: list[RawRow]


def _pending_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "workbook-uploads"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _path(token: str) -> Path | None:
    return _pending_dir() / f"{token}.json" if TOKEN.fullmatch(token or "") else None


def keep(rows: Sequence[RawRow], user: User, file_name: str) -> Pending:
    """Keep the parsed rows of an upload until it is confirmed, under a random name bound to the user."""
    _sweep()
    token = secrets.token_urlsafe(24)
    name = "".join(c for c in file_name if c.isprintable())[:120]
    pending = Pending(token, user.pk, name, timezone.now().isoformat(), list(rows))
    path = _path(token)
    assert path is not None
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(asdict(pending), out, ensure_ascii=False)
    return pending


def pending(token: str, user: User) -> Pending | None:
    """The user's upload waiting under `token`, or None (unknown, expired, confirmed, or someone else's)."""
    path = _path(token)
    if path is None:
        return None
    return _load(path, user)


def claim(token: str, user: User) -> Pending | None:
    """Take the user's upload for confirmation: only one request can (a double click confirms once)."""
    path = _path(token)
    if path is None or _load(path, user) is None:
        return None
    claimed = path.with_name(f"{token}.{secrets.token_hex(8)}.claimed")
    try:
        path.rename(claimed)
    except FileNotFoundError:
        return None
    try:
        return _load(claimed, user)
    finally:
        claimed.unlink(missing_ok=True)


def discard(token: str, user: User) -> None:
    path = _path(token)
    if path is not None and _load(path, user) is not None:
        path.unlink(missing_ok=True)


def _load(path: Path, user: User) -> Pending | None:
    try:
        if time.time() - path.stat().st_mtime > PENDING_MAX_AGE_SECONDS:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("user_id") != user.pk:
        return None
    rows = [RawRow(int(row["number"]), dict(row["values"])) for row in data["rows"]]
    return Pending(data["token"], data["user_id"], data["file_name"], data["uploaded_at"], rows)


def _sweep() -> None:
    """Forget uploads never confirmed (and claims a crash left behind) after a day."""
    cutoff = time.time() - PENDING_MAX_AGE_SECONDS
    for path in _pending_dir().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue


def summary(outcome: Outcome) -> str:
    """One sentence on what a confirmed upload did."""
    parts = []
    if outcome.submitted:
        count = len(outcome.submitted)
        parts.append(ngettext("%(count)d report submitted", "%(count)d reports submitted", count) % {"count": count})
    if outcome.to_validate:
        count = len(outcome.to_validate)
        parts.append(
            ngettext(
                "%(count)d report sent for national validation",
                "%(count)d reports sent for national validation",
                count,
            )
            % {"count": count}
        )
    if outcome.unchanged:
        count = len(outcome.unchanged)
        parts.append(
            ngettext("%(count)d unchanged row skipped", "%(count)d unchanged rows skipped", count) % {"count": count}
        )
    return "; ".join(parts) + "."
