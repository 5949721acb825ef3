"""Evidence files: stored and served under the type their content shows, no macros, no archive bombs, quotas per
report and per member state (in the service, so every path obeys), archived reports' files for the secretariat
only, and a size message that shows the file is over the limit."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.focal.helpers import PDF_BYTES, as_bytes, item_of, pdf, report_data
from tracker.core import services
from tracker.core.models import Evidence, ProgressReport
from tracker.core.permissions import access_for

pytestmark = pytest.mark.django_db

# A JPEG whose bytes also read as an HTML page: browsers would run it if it were served as .html.
POLYGLOT = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00<html><script>alert(1)</script>"
DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'wordprocessingml.document.main+xml"/></Types>'
)
DOCM_TYPES = DOCX_TYPES.replace(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
)


def office_file(name, content_types=DOCX_TYPES, document=b"<w:document/>", extra=()):
    """A Word (OOXML) package: a zip whose first entry is [Content_Types].xml, as Word writes it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", content_types)
        package.writestr("_rels/.rels", "<Relationships/>")
        package.writestr("word/document.xml", document)
        for entry, content in extra:
            package.writestr(entry, content)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/octet-stream")


def word_97_file(name, macros):
    """A Word 97-2003 (OLE) file: its signature, and a VBA project's stream name when it carries macros."""
    content = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".ljust(512, b"\0") + b"\xec\xa5\xc1\x00" + b"\0" * 2000
    if macros:
        content += "_VBA_PROJECT".encode("utf-16-le")
    return SimpleUploadedFile(name, content)


def upload(client, user, *files, action="submit"):
    item = item_of("EG")
    client.force_login(user)
    return client.post(
        f"/items/{item.pk}/", report_data(item, action=action, evidence=list(files)), HTTP_ACCEPT_LANGUAGE="en"
    )


# --- The stored and served name follows the content ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "suffix", "content_type"),
    [
        ("page.html", POLYGLOT, ".jpg", "image/jpeg"),
        ("setup.exe", PDF_BYTES, ".pdf", "application/pdf"),
        ("minutes", PDF_BYTES, ".pdf", "application/pdf"),
    ],
)
def test_it_stores_and_serves_a_file_under_the_extension_of_its_content(
    client, egypt_focal_point, name, content, suffix, content_type
):
    assert upload(client, egypt_focal_point, SimpleUploadedFile(name, content)).status_code == 302
    evidence = Evidence.objects.get()
    assert evidence.file.name.endswith(suffix)
    response = client.get(f"/evidence/{evidence.pk}/")
    assert response["Content-Type"] == content_type
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment") and f'{suffix}"' in disposition
    assert ".html" not in disposition and ".exe" not in disposition
    assert as_bytes(response) == content


def test_it_keeps_a_matching_extension_of_the_original_name(client, egypt_focal_point):
    upload(client, egypt_focal_point, SimpleUploadedFile("photo.JPEG", POLYGLOT))
    evidence = Evidence.objects.get()
    assert 'filename="photo.JPEG"' in client.get(f"/evidence/{evidence.pk}/")["Content-Disposition"]


# --- Macros and archives ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "macro_file",
    [
        office_file("plan.docm", content_types=DOCM_TYPES, extra=[("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")]),
        office_file("plan.docx", content_types=DOCM_TYPES),
        office_file("plan.docx", extra=[("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")]),
        word_97_file("plan.doc", macros=True),
    ],
    ids=["docm", "declared-macro-enabled", "vba-project-inside", "word-97-with-vba"],
)
def test_it_refuses_a_macro_enabled_office_file(client, egypt_focal_point, macro_file):
    response = upload(client, egypt_focal_point, macro_file)
    assert response.status_code == 200
    assert "contains macros" in response.content.decode()
    assert not ProgressReport.objects.exists() and not Evidence.objects.exists()


@pytest.mark.parametrize(
    ("plain_file", "suffix"),
    [
        (office_file("plan.docx"), ".docx"),
        (word_97_file("plan.doc", macros=False), ".doc"),
    ],
)
def test_it_accepts_a_plain_word_file(client, egypt_focal_point, plain_file, suffix):
    assert upload(client, egypt_focal_point, plain_file).status_code == 302
    assert Evidence.objects.get().file.name.endswith(suffix)


def test_it_refuses_an_office_file_that_inflates_far_beyond_its_size(client, egypt_focal_point):
    bomb = office_file("bomb.docx", document=b"\0" * 5_000_000)  # 5 MB of zeros compress a thousandfold
    assert bomb.size < 50_000
    response = upload(client, egypt_focal_point, bomb)
    assert response.status_code == 200
    assert "would expand" in response.content.decode()
    assert not Evidence.objects.exists()


def test_it_refuses_an_office_file_whose_content_is_over_the_unpacked_limit(client, egypt_focal_point, settings):
    settings.EVIDENCE_MAX_UNPACKED_BYTES = 100_000
    document = bytes(range(256)) * 1000  # 256 kB that barely compress
    response = upload(client, egypt_focal_point, office_file("big.docx", document=document))
    assert "would expand" in response.content.decode()
    assert not Evidence.objects.exists()


def test_it_refuses_a_damaged_office_file(client, egypt_focal_point):
    package = office_file("plan.docx").read()
    response = upload(client, egypt_focal_point, SimpleUploadedFile("plan.docx", package[:-60]))
    assert "damaged" in response.content.decode()
    assert not Evidence.objects.exists()


# --- Quotas -----------------------------------------------------------------------------------------------


def test_it_refuses_more_files_than_a_report_may_hold(client, egypt_focal_point, settings):
    settings.EVIDENCE_MAX_FILES_PER_REPORT = 2
    response = upload(client, egypt_focal_point, pdf("a.pdf"), pdf("b.pdf"), pdf("c.pdf"))
    assert response.status_code == 200
    assert "at most 2 evidence files" in response.content.decode()
    assert not ProgressReport.objects.exists() and not Evidence.objects.exists()


def test_it_counts_the_files_already_on_a_draft(client, egypt_focal_point, settings):
    settings.EVIDENCE_MAX_FILES_PER_REPORT = 2
    assert upload(client, egypt_focal_point, pdf("a.pdf"), action="draft").status_code == 302
    assert upload(client, egypt_focal_point, pdf("b.pdf"), pdf("c.pdf"), action="draft").status_code == 200
    assert Evidence.objects.count() == 1


def test_it_refuses_files_over_the_member_states_quota(client, egypt_focal_point, jordan_focal_point, settings):
    settings.EVIDENCE_MAX_BYTES_PER_STATE = 5000
    assert upload(client, egypt_focal_point, pdf("a.pdf", size=3000)).status_code == 302
    response = upload(client, egypt_focal_point, pdf("b.pdf", size=3000))
    assert response.status_code == 200
    assert "over the limit of" in response.content.decode() and "for a member state" in response.content.decode()
    assert Evidence.objects.count() == 1
    # Another state's quota is its own.
    item = item_of("JO")
    client.force_login(jordan_focal_point)
    assert client.post(f"/items/{item.pk}/", report_data(item, evidence=pdf(size=3000))).status_code == 302


def test_it_enforces_the_quota_in_the_service_for_every_path(egypt_focal_point, settings):
    settings.EVIDENCE_MAX_FILES_PER_REPORT = 1
    data = services.ReportInput(status="in_progress", progress=10, narrative="With files.")
    with pytest.raises(services.ValidationError) as refused:
        services.save_draft(
            item_of("EG"), egypt_focal_point, access_for(egypt_focal_point), data, files=[pdf("a.pdf"), pdf("b.pdf")]
        )
    assert "evidence" in refused.value.message_dict
    assert not ProgressReport.objects.exists() and not Evidence.objects.exists()


def test_it_checks_the_content_in_the_service_too(egypt_focal_point):
    data = services.ReportInput(status="in_progress", progress=10, narrative="With files.")
    with pytest.raises(services.ValidationError):
        services.save_draft(
            item_of("EG"),
            egypt_focal_point,
            access_for(egypt_focal_point),
            data,
            files=[SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 this is an executable")],
        )
    assert not Evidence.objects.exists()


# --- Archived reports -------------------------------------------------------------------------------------


def test_it_serves_an_archived_reports_files_to_the_secretariat_only(
    client, egypt_focal_point, egypt_alternate, reviewer, secretariat_officer
):
    upload(client, egypt_focal_point, pdf())
    evidence = Evidence.objects.get()
    ProgressReport.objects.update(is_archived=True)
    for user in (egypt_focal_point, egypt_alternate, reviewer):
        client.force_login(user)
        assert client.get(f"/evidence/{evidence.pk}/").status_code == 404, user
    client.force_login(secretariat_officer)
    assert client.get(f"/evidence/{evidence.pk}/").status_code == 200


# --- The size message ---------------------------------------------------------------------------------------


def test_it_shows_that_a_file_one_byte_over_the_limit_is_over_it(client, egypt_focal_point, settings):
    settings.EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
    response = upload(client, egypt_focal_point, pdf("big.pdf", size=10 * 1024 * 1024 + 1))
    page = response.content.decode()
    assert "is 10.0 MB; the limit is 10.0 MB" not in page
    assert "10,485,761 bytes, over the limit of 10,485,760 bytes" in page
    assert not Evidence.objects.exists()
