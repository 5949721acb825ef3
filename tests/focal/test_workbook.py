"""Issue 15, reporting offline: Egypt's focal point downloads the state's items as a workbook (Arabic right-to-left
or English, protected), fills it in offline (here with openpyxl, as Excel would), uploads it, checks the preview
and confirms: every accepted row is a report made by services.submit_report. A workbook with an error saves
nothing; a row of another state's item is refused; stale rows, unchanged rows, national validation, formula-like
text, bad files and another user's upload are covered too."""

import io
import re
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import designate, make_user
from tests.focal.helpers import item_of, report_data
from tracker.core import services, workbook
from tracker.core.models import Implementation, ProgressReport, Recommendation
from tracker.core.permissions import FOCAL_POINT_GROUP, access_for

pytestmark = pytest.mark.django_db

DOWNLOAD, UPLOAD, PAGE = "/workbook/download/", "/workbook/upload/", "/workbook/"
COLUMN = {column.key: number for number, column in enumerate(workbook.COLUMNS, start=1)}
ARABIC = {"not_started": "لم يبدأ التنفيذ", "in_progress": "قيد التنفيذ", "implemented": "منفذة"}


@pytest.fixture(autouse=True)
def uploads_folder(settings, tmp_path):
    """Pending uploads wait under MEDIA_ROOT: a folder of this test's own."""
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT / "workbook-uploads"


def signed_in(client, user):
    client.force_login(user)
    return client


def add_recommendations(body, count):
    """More recommendations of the 2021 workshop, so that Egypt follows up 7 + `count` items."""
    meeting = body.meetings.get(code__contains="2021")
    for n in range(count):
        Recommendation.objects.create(
            meeting=meeting,
            reference=f"S{n + 1}",
            position=100 + n,
            text_en=f"Sample recommendation {n + 1}",
            text_ar=f"توصية للاختبار {n + 1}",
            is_public=True,
        )


def download(client, language="ar", **params):
    response = client.get(DOWNLOAD, {"language": language, **params})
    assert response.status_code == 200, response.content[:500]
    return response


def open_items(content):
    book = openpyxl.load_workbook(io.BytesIO(content))
    return book, book.worksheets[0]


def row_of(sheet, reference, state=None):
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, COLUMN["reference"]).value == reference:
            return row
    raise AssertionError(f"no row for {reference}")


def fill(sheet, row, status=None, progress=None, **texts):
    if status is not None:
        sheet.cell(row, COLUMN["status"]).value = status
    if progress is not None:
        sheet.cell(row, COLUMN["progress"]).value = progress
    for key, value in texts.items():
        sheet.cell(row, COLUMN[key]).value = value


def as_upload(book, name="تقرير-مصر.xlsx"):
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile(name, out.getvalue(), content_type=workbook.XLSX_TYPE)


def upload(client, book_or_file, language="en"):
    """Upload, follow to the preview; returns (response, the preview's address)."""
    file = book_or_file if isinstance(book_or_file, SimpleUploadedFile) else as_upload(book_or_file)
    response = client.post(UPLOAD, {"workbook": file}, HTTP_ACCEPT_LANGUAGE=language)
    if response.status_code != 302:
        return response, None
    preview_url = response["Location"]
    return client.get(preview_url, HTTP_ACCEPT_LANGUAGE=language), preview_url


def confirm(client, preview_url, language="en"):
    return client.post(preview_url, {"action": "confirm"}, HTTP_ACCEPT_LANGUAGE=language)


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def snapshot():
    """What the upload could change: every report and every item's status, progress, version."""
    items = list(Implementation.objects.order_by("pk").values_list("pk", "status", "progress", "version"))
    return items, list(ProgressReport.objects.order_by("pk").values_list("pk", "state", "revision"))


# --- the download ----------------------------------------------------------------------------------------------


def test_it_downloads_an_arabic_workbook_right_to_left_protected_with_arabic_headers(client, egypt_focal_point):
    response = download(signed_in(client, egypt_focal_point), "ar")
    assert response["Content-Type"] == workbook.XLSX_TYPE
    assert re.match(r'attachment; filename="progress-EG-\d{4}-\d\d-\d\d-ar\.xlsx"', response["Content-Disposition"])
    assert "no-store" in response["Cache-Control"]
    book, sheet = open_items(response.content)

    assert book.security.lockStructure  # no sheet added, removed, renamed or unhidden
    assert sheet.sheet_view.rightToLeft and sheet.protection.sheet
    headers = [sheet.cell(1, n).value for n in range(1, 10)]
    assert headers == [
        "المرجع",
        "نص التوصية",
        "الدولة العضو",
        "الحالة",
        "نسبة التقدم (%)",
        "ما تم إنجازه",
        "العقبات",
        "الدعم المطلوب",
        "ملاحظات",
    ]
    assert sheet.max_row == 1 + 7  # Egypt's seven items, nobody else's
    assert {sheet.cell(r, COLUMN["member_state"]).value for r in range(2, 9)} == {"مصر"}
    r2 = row_of(sheet, "R2")
    assert sheet.cell(r2, COLUMN["recommendation"]).value.startswith("تبادل المعلومات")
    assert sheet.cell(r2, COLUMN["status"]).value == ARABIC["not_started"]
    assert sheet.cell(r2, COLUMN["progress"]).value == 0
    assert sheet.cell(r2, COLUMN["item_id"]).value == item_of("EG").pk
    assert sheet.cell(r2, COLUMN["version"]).value == item_of("EG").version
    assert sheet.cell(r2, COLUMN["draft_revision"]).value == 0

    # Only the input cells are unlocked; the hidden columns are hidden (and locked).
    unlocked = {key for key, n in COLUMN.items() if not sheet.cell(r2, n).protection.locked}
    assert unlocked == {"status", "progress", "narrative", "obstacles", "support_needed"}
    for key in ("item_id", "version", "draft_revision", "fingerprint"):
        assert sheet.column_dimensions[openpyxl.utils.get_column_letter(COLUMN[key])].hidden

    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert len(lists) == 1 and ARABIC["in_progress"] in lists[0].formula1 and lists[0].showErrorMessage
    whole = [v for v in sheet.data_validations.dataValidation if v.type == "whole"]
    assert (whole[0].formula1, whole[0].formula2) == ("0", "100")

    assert book.sheetnames[1] == "التعليمات"
    assert book.worksheets[1].sheet_view.rightToLeft
    assert "كيف" in book.worksheets[1]["A1"].value
    assert book[workbook.META_SHEET].sheet_state == "veryHidden"


def test_it_downloads_an_english_workbook_left_to_right(client, egypt_focal_point):
    response = signed_in(client, egypt_focal_point).get(DOWNLOAD, {"language": "en"}, HTTP_ACCEPT_LANGUAGE="ar")
    book, sheet = open_items(response.content)
    assert not sheet.sheet_view.rightToLeft and sheet.protection.sheet
    assert sheet.cell(1, 1).value == "Reference" and sheet.cell(1, COLUMN["status"]).value == "Status"
    assert sheet.cell(row_of(sheet, "R2"), COLUMN["member_state"]).value == "Egypt"
    assert sheet.cell(row_of(sheet, "R2"), COLUMN["status"]).value == "Not started"
    assert book.sheetnames[:2] == ["Recommendations", "Instructions"]


def test_it_offers_the_page_language_by_default(client, egypt_focal_point):
    response = signed_in(client, egypt_focal_point).get(PAGE, HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="ar" required id="id_language_0" checked' in page or re.search(r'value="ar"[^>]*checked', page)
    assert "تنزيل" in page
    # Without a language in the address, the download follows the page's.
    _, sheet = open_items(client.get(DOWNLOAD, HTTP_ACCEPT_LANGUAGE="ar").content)
    assert sheet.sheet_view.rightToLeft


def test_it_fills_a_row_in_from_the_states_shared_draft(client, egypt_focal_point, egypt_alternate):
    item = item_of("EG")
    draft = services.save_draft(
        item,
        egypt_alternate,
        access_for(egypt_alternate),
        services.ReportInput("in_progress", 40, narrative="Mona's draft", obstacles="Budget"),
    )
    _, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    row = row_of(sheet, "R2")
    values = {key: sheet.cell(row, COLUMN[key]).value for key in ("status", "progress", "narrative", "obstacles")}
    assert values == {"status": "In progress", "progress": 40, "narrative": "Mona's draft", "obstacles": "Budget"}
    assert sheet.cell(row, COLUMN["draft_revision"]).value == draft.revision
    assert "Mona" in sheet.cell(row, COLUMN["notes"]).value


def test_the_link_from_the_home_page_and_who_may_use_the_page(
    client, egypt_focal_point, egypt_validator, reviewer, secretariat_officer
):
    home = signed_in(client, egypt_focal_point).get("/")
    if home.status_code == 302:  # a new focal point first sees what the state has in progress
        client.post(home["Location"])
        home = client.get("/")
    home = home.content.decode()
    assert 'href="/workbook/"' in home
    for user in (egypt_validator, reviewer):  # a national validator or a reviewer reports nothing
        signed_in(client, user)
        assert client.get(PAGE).status_code == 403
        assert client.get(DOWNLOAD).status_code == 403
        assert client.post(UPLOAD).status_code == 403
    client.logout()
    assert client.get(PAGE).status_code == 302  # to the sign-in page


def test_the_secretariat_downloads_a_chosen_states_workbook(client, secretariat_officer):
    signed_in(client, secretariat_officer)
    response = client.get(DOWNLOAD, {"language": "en"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "Choose a member state." in text(response)  # which state?
    _, sheet = open_items(download(client, "en", state="jo").content)
    assert {sheet.cell(r, COLUMN["member_state"]).value for r in range(2, sheet.max_row + 1)} == {"Jordan"}


def test_the_pages_speak_arabic(client, egypt_focal_point):
    from tests.focal.test_translations import english_words

    signed_in(client, egypt_focal_point)
    page = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="ar")
    assert english_words(page.content.decode()) - {"xlsx"} == set()
    book, sheet = open_items(download(client, "ar").content)
    fill(sheet, row_of(sheet, "R2"), ARABIC["in_progress"], 20, narrative="تقدم")
    fill(sheet, row_of(sheet, "R3"), "?", 20)
    preview, _ = upload(client, book, language="ar")
    assert english_words(preview.content.decode()) - {"xlsx"} == set()
    instructions = " ".join(str(cell.value) for cell in book.worksheets[1]["A"])
    assert english_words(instructions) - {"Excel", "xlsx", "xlsm"} == set()


# --- the round trip --------------------------------------------------------------------------------------------


def test_egypts_focal_point_reports_on_twenty_items_in_one_upload(client, reference, egypt_focal_point, uploads_folder):
    add_recommendations(reference, 13)
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "ar").content)
    assert sheet.max_row == 1 + 20
    for row in range(2, 22):
        fill(sheet, row, ARABIC["in_progress"], 10 + row, narrative=f"أنجزت اللجنة الوطنية الخطوة {row}.")
    fill(sheet, 2, ARABIC["implemented"], 100, narrative="تم التنفيذ بالكامل.")

    preview, preview_url = upload(client, book, language="ar")
    assert preview.status_code == 200
    page = text(preview)
    assert "20 تقريرًا" in page or "20 تقرير" in page
    assert page.count('class="flag flag-ok"') == 20
    assert "الصف 2" in page and "الصف 21" in page
    assert "لم يبدأ التنفيذ ← <strong>منفذة</strong>" in page
    assert not ProgressReport.objects.exists()  # the preview saved nothing

    response = confirm(client, preview_url, language="ar")
    assert response.status_code == 302 and response["Location"] == PAGE
    reports = ProgressReport.objects.filter(state="submitted", author=egypt_focal_point)
    assert reports.count() == 20
    assert {r.implementation.member_state.iso_code for r in reports} == {"EG"}
    first = Implementation.objects.get(pk=sheet.cell(2, COLUMN["item_id"]).value)
    assert (first.status, first.progress, first.version) == ("implemented", 100, 2)
    assert Implementation.objects.get(pk=sheet.cell(5, COLUMN["item_id"]).value).progress == 15
    result = text(client.get(PAGE, HTTP_ACCEPT_LANGUAGE="ar"))
    assert "قُدّم 20 تقريرًا." in result and result.count('class="flag flag-ok"') == 20
    assert client.post(preview_url, {"action": "confirm"}).status_code == 404  # an upload is saved once
    assert list(uploads_folder.iterdir()) == []  # and forgotten


def test_a_workbook_with_a_bad_row_and_a_jordanian_row_saves_nothing(client, egypt_focal_point, jordan_focal_point):
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    good, bad, foreign = row_of(sheet, "R1"), row_of(sheet, "R3"), row_of(sheet, "R4")
    fill(sheet, good, "In progress", 30, narrative="A good row.")
    fill(sheet, bad, "Half done", 150)
    # A row copied from Jordan's workbook: its hidden id is a Jordanian item.
    fill(sheet, foreign, "In progress", 20, narrative="Not ours.")
    sheet.cell(foreign, COLUMN["item_id"]).value = item_of("JO", "R4").pk
    before = snapshot()

    preview, preview_url = upload(client, book)
    page = text(preview)
    assert preview.status_code == 200
    assert "2 rows with errors" in page
    assert f"Row {bad}" in page and "“Half done” is not a status" in page
    assert "“150” is not a whole number from 0 to 100" in page
    assert f'id="row-{foreign}"' in page and "This is not one of your items" in page
    assert 'value="confirm"' not in page  # nothing to confirm
    assert "A workbook with an error saves nothing" in page

    response = confirm(client, preview_url)  # forced anyway
    assert response.status_code == 409
    assert "Nothing was saved" in text(response)
    assert snapshot() == before
    assert not ProgressReport.objects.exists()


def test_it_refuses_a_row_whose_item_was_reported_on_since_the_download(client, egypt_focal_point, egypt_alternate):
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    item = item_of("EG")
    services.submit_report(
        item, egypt_alternate, access_for(egypt_alternate), services.ReportInput("in_progress", 50, "Mona reported.")
    )
    row = row_of(sheet, "R2")
    fill(sheet, row, "In progress", 60, narrative="Ahmed's offline text.")
    fill(sheet, row_of(sheet, "R5"), "In progress", 5, narrative="Fine.")
    preview, preview_url = upload(client, book)
    page = text(preview)
    assert f"Row {row}" in page and "Someone reported on this item after the workbook was downloaded" in page
    assert confirm(client, preview_url).status_code == 409
    assert ProgressReport.objects.get().narrative == "Mona reported."


def test_it_refuses_a_row_whose_draft_changed_since_the_download(client, egypt_focal_point, egypt_alternate):
    item = item_of("EG")
    signed_in(client, egypt_alternate).post(f"/items/{item.pk}/", report_data(item, action="draft"))
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    services.save_draft(item, egypt_alternate, access_for(egypt_alternate), services.ReportInput("in_progress", 35))
    fill(sheet, row_of(sheet, "R2"), progress=45)
    page = text(upload(client, book)[0])
    assert "The draft of this item was changed or submitted after the workbook was downloaded" in page


def test_a_row_submits_the_shared_draft_it_was_filled_in_from(client, egypt_focal_point, egypt_alternate):
    item = item_of("EG")
    draft = services.save_draft(
        item, egypt_alternate, access_for(egypt_alternate), services.ReportInput("in_progress", 40, "Mona's draft")
    )
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    fill(sheet, row_of(sheet, "R2"), progress=55)
    preview, preview_url = upload(client, book)
    assert "40% → <strong>55%</strong>" in text(preview) or "0% → <strong>55%</strong>" in text(preview)
    assert confirm(client, preview_url).status_code == 302
    report = ProgressReport.objects.get()
    assert (report.pk, report.state, report.progress, report.narrative) == (draft.pk, "submitted", 55, "Mona's draft")


def test_it_skips_unchanged_rows_and_says_so(client, egypt_focal_point):
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    fill(sheet, row_of(sheet, "R6"), "In progress", 25, narrative="Focal points named.")
    sheet.cell(row_of(sheet, "R1"), COLUMN["status"]).value = "لم يبدأ التنفيذ"  # the same status, in Arabic
    preview, preview_url = upload(client, book)
    page = text(preview)
    assert "1 report to submit" in page and "6 unchanged rows skipped" in page
    assert "Save 1 report" in page
    confirm(client, preview_url)
    assert ProgressReport.objects.get().implementation == item_of("EG", "R6")
    assert "1 report submitted; 6 unchanged rows skipped." in text(client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en"))


def test_a_workbook_with_nothing_changed_saves_nothing(client, egypt_focal_point):
    book, _ = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    preview, preview_url = upload(client, book)
    assert "Nothing to save: every row is as it was downloaded." in text(preview)
    assert 'value="confirm"' not in text(preview)
    assert confirm(client, preview_url).status_code == 302
    assert not ProgressReport.objects.exists()


def test_the_models_rules_become_row_errors(client, egypt_focal_point):
    item = item_of("EG", "R3")
    services.submit_report(
        item, egypt_focal_point, access_for(egypt_focal_point), services.ReportInput("in_progress", 20, "Started.")
    )
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    implemented, back, not_started = row_of(sheet, "R1"), row_of(sheet, "R3"), row_of(sheet, "R4")
    fill(sheet, implemented, "Implemented", 100)  # no narrative
    fill(sheet, back, "Not started", 0)  # back to not started after a report
    fill(sheet, not_started, "Not started", 30)
    fill(sheet, row_of(sheet, "R5"), "In progress", "ten")
    page = text(upload(client, book)[0])
    assert f"Row {implemented}" in page
    assert "What was done: Describe what was done before marking the item implemented." in page
    assert "An item that has already started cannot go back to not started." in page
    assert "An item that has not started cannot have progress above 0." in page
    assert "“ten” is not a whole number from 0 to 100" in page
    assert "4 rows with errors" in page


def test_it_refuses_a_row_of_an_item_awaiting_national_validation(
    client, egypt_focal_point, egypt_alternate, egypt_requires_validation
):
    item = item_of("EG")
    services.submit_report(
        item,
        egypt_alternate,
        access_for(egypt_alternate),
        services.ReportInput("in_progress", 30, "Sent to the validator."),
        expected_draft_revision=0,
    )
    item.refresh_from_db()
    assert item.awaiting_validation_since is not None
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    row = row_of(sheet, "R2")
    assert sheet.cell(row, COLUMN["progress"]).protection.locked  # its inputs are locked in the workbook
    assert "awaiting national validation" in sheet.cell(row, COLUMN["notes"]).value
    fill(sheet, row, progress=60)  # as if the protection had been removed
    page = text(upload(client, book)[0])
    assert f"Row {row}" in page and "A report on this item is awaiting national validation" in page


def test_where_egypt_requires_validation_the_rows_are_sent_for_validation(
    client, egypt_focal_point, egypt_requires_validation
):
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    assert "sent for national validation" in " ".join(str(c.value) for c in book.worksheets[1]["A"])
    for reference in ("R1", "R2"):
        fill(sheet, row_of(sheet, reference), "In progress", 40, narrative="Ready for the validator.")
    preview, preview_url = upload(client, book)
    page = text(preview)
    assert page.count("Will be sent for national validation") == 2
    assert "2 reports will be sent for national validation" in page
    assert confirm(client, preview_url).status_code == 302
    reports = ProgressReport.objects.all()
    assert {r.state for r in reports} == {"awaiting_validation"} and reports.count() == 2
    item = item_of("EG", "R1")
    assert (item.status, item.progress, item.awaiting_validation_since is not None) == ("not_started", 0, True)
    result = text(client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en"))
    assert "2 reports sent for national validation; 5 unchanged rows skipped." in result
    assert result.count("Sent for national validation") == 2


def test_the_preview_finds_the_errors_the_save_finds_and_saves_nothing(egypt_focal_point):
    """The rules' API: preview and apply run the same code; apply saves only a workbook without errors."""
    access = access_for(egypt_focal_point)
    state = item_of("EG").member_state_id
    book, sheet = open_items(workbook.build(access, [state], "en", user=egypt_focal_point))
    fill(sheet, row_of(sheet, "R1"), "Implemented", 100)  # no narrative
    fill(sheet, row_of(sheet, "R2"), "in_progress", "40%", narrative="Codes and 40% are read too.")
    rows = workbook.read(io.BytesIO(as_upload(book).read()))
    duplicate = workbook.RawRow(99, dict(next(r for r in rows if r.values["reference"] == "R2").values))

    def shape(outcome):
        return [(row.number, row.kind, row.errors) for row in outcome.rows]

    previewed = workbook.preview([*rows, duplicate], egypt_focal_point, access)
    applied = workbook.apply([*rows, duplicate], egypt_focal_point, access)
    assert shape(previewed) == shape(applied) and not applied.saved
    assert [(row.reference, row.kind) for row in applied.errors] == [("R1", "error"), ("R2", "error")]
    assert "also in row" in applied.errors[1].errors[0]
    assert not ProgressReport.objects.exists()

    good = [row for row in rows if row.values["reference"] == "R2"]
    assert workbook.apply(good, egypt_focal_point, access).saved
    assert ProgressReport.objects.get().progress == 40

    kept = workbook.keep(good, egypt_focal_point, "../../etc/passwd\x00.xlsx")
    assert workbook.pending("../" + kept.token, egypt_focal_point) is None
    assert workbook.claim(kept.token, egypt_focal_point).rows == good
    assert workbook.claim(kept.token, egypt_focal_point) is None  # claimed once


# --- text that looks like a formula ------------------------------------------------------------------------------


def test_formula_like_text_round_trips_as_text(client, egypt_focal_point):
    item = item_of("EG")
    formula = '=HYPERLINK("http://attacker.example","click")'
    services.save_draft(
        item,
        egypt_focal_point,
        access_for(egypt_focal_point),
        services.ReportInput("in_progress", 10, narrative=formula, obstacles="+20 officers", support_needed="-"),
    )
    content = download(signed_in(client, egypt_focal_point), "en").content
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        assert b"<f>" not in package.read("xl/worksheets/sheet1.xml")  # no formula anywhere
    book, sheet = open_items(content)
    row = row_of(sheet, "R2")
    cell = sheet.cell(row, COLUMN["narrative"])
    assert (cell.value, cell.data_type, cell.quotePrefix) == (formula, "s", True)

    # The row untouched is recognised as unchanged; typed formulas are read as their text, never evaluated.
    sheet.cell(row_of(sheet, "R3"), COLUMN["narrative"]).value = "=1+1"
    fill(sheet, row_of(sheet, "R3"), "In progress", 5)
    preview, preview_url = upload(client, book)
    assert "6 unchanged rows skipped" in text(preview)
    confirm(client, preview_url)
    assert ProgressReport.objects.get(implementation=item_of("EG", "R3")).narrative == "=1+1"
    assert ProgressReport.objects.get(implementation=item).narrative == formula  # the draft, as it was


# --- files that are not the workbook -----------------------------------------------------------------------------


def xlsx_with(extra_entries=None, content_types=None):
    """A real workbook of ours, with entries added or its content types replaced (a macro-enabled copy)."""
    source = io.BytesIO(workbook.build(access_for(None), [], "en"))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for entry in original.infolist():
            data = original.read(entry)
            if entry.filename == "[Content_Types].xml" and content_types:
                data = content_types(data)
            copy.writestr(entry, data)
        for name, data in (extra_entries or {}).items():
            copy.writestr(name, data)
    return out.getvalue()


def other_spreadsheet():
    book = openpyxl.Workbook()
    book.active["A1"] = "Reference"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def docx_like():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(
            "[Content_Types].xml",
            '<Types><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        package.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


BAD_FILES = {
    "text": (b"status,progress\nin_progress,50\n", "is not an Excel workbook (.xlsx)"),
    "pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", "is not an Excel workbook (.xlsx)"),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "Excel 97-2003 file (.xls)"),
    "truncated": (None, "damaged or is not an Excel workbook"),
    "garbage zip": (b"PK\x03\x04" + b"\x00garbage" * 50, "damaged or is not an Excel workbook"),
    "macros": (None, "contains macros"),
    "word": (None, "is not an Excel workbook (.xlsx)"),
    "another spreadsheet": (None, "was not downloaded from this page"),
    "empty": (b"", "The file is empty"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_it_refuses_a_file_that_is_not_the_workbook_with_a_clear_message(client, egypt_focal_point, kind):
    content, message = BAD_FILES[kind]
    if kind == "truncated":
        content = xlsx_with()[:3000]
    elif kind == "macros":
        content = xlsx_with({"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 VBA"})
    elif kind == "word":
        content = docx_like()
    elif kind == "another spreadsheet":
        content = other_spreadsheet()
    file = SimpleUploadedFile("report.xlsx", content, content_type=workbook.XLSX_TYPE)
    response, _ = upload(signed_in(client, egypt_focal_point), file)
    assert response.status_code == 400
    assert message in text(response)
    assert 'role="alert"' in response.content.decode()


def test_it_refuses_a_macro_enabled_workbook_by_its_declared_type(client, egypt_focal_point):
    content = xlsx_with(
        content_types=lambda data: data.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml"),
    )
    file = SimpleUploadedFile("report.xlsm", content)
    response, _ = upload(signed_in(client, egypt_focal_point), file)
    assert response.status_code == 400 and "contains macros" in text(response)


def test_it_refuses_a_file_too_big_or_with_too_many_rows(client, egypt_focal_point, monkeypatch):
    signed_in(client, egypt_focal_point)
    book, _ = open_items(download(client, "en").content)
    monkeypatch.setattr(workbook, "MAX_BYTES", 1000)
    response, _ = upload(client, book)
    assert response.status_code == 400 and "over the limit of 1000" in text(response)
    monkeypatch.setattr(workbook, "MAX_BYTES", 5 * 1024 * 1024)
    monkeypatch.setattr(workbook, "MAX_ROWS", 5)
    response, _ = upload(client, book)
    assert response.status_code == 400 and "more than 5 rows" in text(response)


def test_it_asks_for_a_file_when_none_is_sent(client, egypt_focal_point):
    response = signed_in(client, egypt_focal_point).post(UPLOAD, {}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "Choose the workbook file to upload." in text(response)


# --- whose upload ------------------------------------------------------------------------------------------------


def test_jordans_focal_point_cannot_see_or_confirm_egypts_pending_upload(
    client, egypt_focal_point, jordan_focal_point, django_user_model
):
    from django.test import Client

    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    fill(sheet, row_of(sheet, "R2"), "In progress", 30, narrative="Egypt's text.")
    _, preview_url = upload(client, book)
    token = preview_url.rstrip("/").rsplit("/", 1)[1]

    jordan = signed_in(Client(), jordan_focal_point)
    assert jordan.get(preview_url).status_code == 404
    assert jordan.post(preview_url, {"action": "confirm"}).status_code == 404
    assert jordan.post(preview_url, {"action": "discard"}).status_code == 404
    # Even with the token in Jordan's session, the upload is bound to Egypt's focal point.
    session = jordan.session
    session["workbook_uploads"] = [token]
    session.save()
    assert jordan.post(preview_url, {"action": "confirm"}).status_code == 302
    assert not ProgressReport.objects.exists()
    assert workbook.pending(token, jordan_focal_point) is None

    # Egypt's focal point still confirms it.
    assert confirm(client, preview_url).status_code == 302
    assert ProgressReport.objects.get().narrative == "Egypt's text."


def test_an_upload_can_be_discarded(client, egypt_focal_point):
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    fill(sheet, row_of(sheet, "R2"), "In progress", 30, narrative="Never mind.")
    _, preview_url = upload(client, book)
    token = preview_url.rstrip("/").rsplit("/", 1)[1]
    assert client.post(preview_url, {"action": "discard"}).status_code == 302
    assert workbook.pending(token, egypt_focal_point) is None
    assert client.get(preview_url).status_code == 404
    assert not ProgressReport.objects.exists()


def test_an_alternate_may_upload_the_primarys_workbook(client, egypt_focal_point):
    """The workbook belongs to the state: any of its focal points may upload it."""
    alternate = make_user("fp-egypt-2", FOCAL_POINT_GROUP, first_name="Hana")
    designate(alternate, "EG", Recommendation.objects.first().meeting.body, role="alternate")
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    fill(sheet, row_of(sheet, "R7"), "In progress", 10, narrative="Review mechanism drafted.")
    signed_in(client, alternate)
    _, preview_url = upload(client, book)
    assert confirm(client, preview_url).status_code == 302
    assert ProgressReport.objects.get().author == alternate


# --- the same on PostgreSQL --------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_round_trip_and_the_refusal_on_postgresql(client, reference, egypt_focal_point, jordan_focal_point):
    """On PostgreSQL a failed statement aborts the transaction: each row runs in its own savepoint, so one bad row
    is reported with the others and the whole upload is rolled back, the preview's as the confirmation's."""
    from tests.support.services import require_postgres

    require_postgres()
    add_recommendations(reference, 13)
    book, sheet = open_items(download(signed_in(client, egypt_focal_point), "en").content)
    for row in range(2, 22):
        fill(sheet, row, "In progress", 50, narrative=f"Step {row}")
    fill(sheet, 3, "Implemented", 100, narrative=None)  # no narrative: the model refuses it
    sheet.cell(4, COLUMN["item_id"]).value = item_of("JO").pk
    before = snapshot()
    preview, preview_url = upload(client, book)
    assert "2 rows with errors" in text(preview)
    assert confirm(client, preview_url).status_code == 409
    assert snapshot() == before

    book, sheet = open_items(download(client, "en").content)
    for row in range(2, 22):
        fill(sheet, row, "In progress", 50, narrative=f"Step {row}")
    _, preview_url = upload(client, book)
    assert confirm(client, preview_url).status_code == 302
    assert ProgressReport.objects.filter(state="submitted").count() == 20
    assert set(Implementation.objects.filter(member_state__iso_code="EG").values_list("progress", flat=True)) == {50}


# --- in a real browser, on a phone -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_focal_point_uses_the_workbook_on_a_phone(phone, live_server, egypt_focal_point, tmp_path, language):
    """Download from the page, fill in offline, upload, preview (with an error, then without), confirm; the pages
    are right-to-left in Arabic and have no serious accessibility violation (axe-core)."""
    from axe_playwright_python.sync_playwright import Axe

    from tests.conftest import PASSWORD
    from tests.support.browser import screenshot

    axe = Axe()

    def check_accessibility(context=None):
        found = axe.run(phone, context=context).response["violations"]
        serious = [v["id"] for v in found if v["impact"] in {"serious", "critical"}]
        assert serious == [], f"{phone.url}: {serious}"

    phone.goto(f"{live_server.url}/accounts/login/")
    phone.fill("#id_username", "fp-egypt")
    phone.fill("#id_password", PASSWORD)
    phone.locator("main button[type=submit]").click()
    phone.wait_for_load_state()
    phone.goto(f"{live_server.url}{PAGE}")
    if language == "ar":
        phone.locator("form.language-switch button").click()
        phone.wait_for_load_state()
    assert phone.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    check_accessibility()
    screenshot(phone, f"workbook-{language}")

    with phone.expect_download() as downloading:
        phone.locator("form[action='/workbook/download/'] button[type=submit]").click()
    book, sheet = open_items(open(downloading.value.path(), "rb").read())
    assert sheet.sheet_view.rightToLeft == (language == "ar")
    labels = ARABIC if language == "ar" else {"in_progress": "In progress"}
    fill(sheet, row_of(sheet, "R2"), labels["in_progress"], 35, narrative="اعتمدت اللجنة الوطنية خطة عمل.")
    fill(sheet, row_of(sheet, "R3"), labels["in_progress"], 150)
    path = tmp_path / "مصر.xlsx"
    book.save(path)

    phone.set_input_files("#id_workbook", str(path))
    phone.locator("form[action='/workbook/upload/'] button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator(".row-error").count() == 1
    assert phone.locator("button[value=confirm]").count() == 0
    check_accessibility()
    screenshot(phone, f"workbook-preview-errors-{language}")

    fill(sheet, row_of(sheet, "R3"), labels["in_progress"], 15)
    book.save(path)
    phone.goto(f"{live_server.url}{PAGE}")
    phone.set_input_files("#id_workbook", str(path))
    phone.locator("form[action='/workbook/upload/'] button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator(".workbook-changes .item-card").count() == 2
    check_accessibility()
    screenshot(phone, f"workbook-preview-{language}")
    phone.locator("button[value=confirm]").click()
    phone.wait_for_load_state()
    assert phone.locator(".workbook-result .item-card").count() == 2
    # base.html's message list (a <ul> with role="status") is the shared layout's, not this page's.
    check_accessibility({"exclude": [[".messages"]]})
    assert ProgressReport.objects.filter(state="submitted").count() == 2
