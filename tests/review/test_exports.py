"""Exports (CSV, XLSX read back) and the printable cycle report, in English and Arabic."""

import csv
import io
from datetime import date

import pytest
from django.core.cache import cache
from openpyxl import load_workbook

from tracker.core.models import Implementation, Recommendation, ReviewCycle
from tracker.review.exports import escape_formula


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def data(reference):
    rec = Recommendation.objects.get(reference="R1")
    rec.text_en = '=HYPERLINK("http://evil.example","click")'
    rec.text_ar = "+تنسيق إقليمي"
    rec.save()
    item = Implementation.objects.get(recommendation=rec, member_state__iso_code="EG")
    Implementation.objects.filter(pk=item.pk).update(has_open_obstacle=True, status="in_progress", progress=30)
    return item


def read_xlsx(response):
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    return sheet, [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+20", "'+20"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        (42, 42),
        ("", ""),
    ],
)
def test_it_escapes_cells_that_could_be_formulas(value, expected):
    assert escape_formula(value) == expected


def test_it_exports_the_filtered_table_as_xlsx(client, reviewer, data):
    client.force_login(reviewer)
    response = client.get("/review/export.xlsx", {"reason": "open_obstacle", "lang": "en"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet, rows = read_xlsx(response)
    assert rows[0][:6] == ["Meeting", "Recommendation", "Recommendation text", "Member state", "Status", "Progress (%)"]
    assert len([r for r in rows[1:] if r[1]]) == 1
    row = rows[1]
    assert row[1:6] == ["R1", '\'=HYPERLINK("http://evil.example","click")', "Egypt", "In progress", 30]
    assert row[7] == "Yes"
    assert "the review has recorded no solution" in row[8]
    assert sheet.sheet_view.rightToLeft in (None, False)


def test_it_exports_every_item_of_the_filter(client, secretariat_officer, data):
    client.force_login(secretariat_officer)
    response = client.get("/review/export.xlsx", {"lang": "en"})
    _sheet, rows = read_xlsx(response)
    assert len([r for r in rows[1:] if r[1]]) == Implementation.objects.current().count() == 7 * 22


def test_it_exports_in_arabic(client, reviewer, data):
    client.force_login(reviewer)
    sheet, rows = read_xlsx(client.get("/review/export.xlsx", {"reason": "open_obstacle", "lang": "ar"}))
    assert rows[0][:5] == ["الاجتماع", "التوصية", "نص التوصية", "الدولة العضو", "الحالة"]
    assert rows[1][2:5] == ["'+تنسيق إقليمي", "مصر", "قيد التنفيذ"]
    assert rows[1][7] == "نعم"
    assert "لم تسجّل المراجعة أي حل" in rows[1][8]
    assert sheet.sheet_view.rightToLeft is True


def test_it_exports_csv_with_escaped_formulas(client, reviewer, data):
    client.force_login(reviewer)
    response = client.get("/review/export.csv", {"state": data.member_state_id, "lang": "en"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Meeting" and len(rows) == 1 + 7
    r1 = next(r for r in rows if r[1] == "R1")
    assert r1[2].startswith("'=HYPERLINK")


def test_it_prints_the_cycle_report_in_arabic_and_english(client, secretariat_officer, data, reference):
    ReviewCycle.objects.create(
        body=reference,
        name_en="First half 2026",
        name_ar="النصف الأول 2026",
        state="under_review",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
        report_deadline=date(2026, 5, 31),
    )
    client.force_login(secretariat_officer)
    client.post(f"/review/items/{data.pk}/outcome/", {"obstacle_category": "resources", "obstacle": "Budget"})
    arabic = client.get("/review/report/", {"lang": "ar"})
    html = arabic.content.decode()
    assert arabic.status_code == 200 and arabic["Content-Language"] == "ar"
    assert '<html lang="ar" dir="rtl">' in html
    assert "تقرير الدورة" in html and "النصف الأول 2026" in html
    assert "البنود المتعثرة وأسباب تعثرها" in html
    assert "الموارد أو التمويل" in html  # the outcome recorded in this cycle
    assert "مصر" in html and "@media print" in open("static/css/review.css").read()
    english = client.get("/review/report/", {"lang": "en"}).content.decode()
    assert '<html lang="en" dir="ltr">' in english
    assert "Cycle report" in english and "First half 2026" in english and "Resources or funding" in english


def test_it_refuses_exports_to_focal_points(client, egypt_focal_point, data):
    client.force_login(egypt_focal_point)
    assert client.get("/review/export.xlsx").status_code == 403
