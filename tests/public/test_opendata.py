"""The open data (issue 17): what is published, in every download format, and nothing else.

The region (tests/public/conftest.py): R1 and R2 public; R3 confidential. Egypt agreed (narratives too), Jordan
agreed (no narratives), Morocco withdrew, Iraq never agreed.
"""

import csv
import datetime as dt
import io
import json
import re

import openpyxl
import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.public.conftest import (
    CONFIDENTIAL_NARRATIVE,
    EGYPT_NARRATIVE,
    IRAQ_NARRATIVE,
    JORDAN_NARRATIVE,
    agree,
    submit,
)
from tracker.core.models import (
    Body,
    Meeting,
    MemberState,
    OpenDataLicence,
    PublicationConsent,
    Recommendation,
)
from tracker.public.dataset import COLUMN_NAMES, COLUMNS

WORKSHOP = "2021-sharm-el-sheikh-workshop"
PUBLISHED_KEYS = {f"{WORKSHOP}/R1/EG", f"{WORKSHOP}/R2/EG", f"{WORKSHOP}/R1/JO", f"{WORKSHOP}/R2/JO"}
FORMATS = ["csv", "xlsx", "json", "hxl"]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def address(fmt):
    return "/public/data/published-hxl.csv" if fmt == "hxl" else f"/public/data/published.{fmt}"


def download(client, fmt, query=""):
    response = client.get(address(fmt) + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.content[:300]
    return response


def rows_of(response, fmt):
    """The rows of a download as dicts keyed by column name (all values as the format gives them)."""
    if fmt == "json":
        return json.loads(response.content)["rows"]
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(response.content))["published"]
        values = list(sheet.iter_rows(values_only=True))
        return [dict(zip(values[0], row, strict=True)) for row in values[1:]]
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    data = lines[2:] if fmt == "hxl" else lines[1:]
    return [dict(zip(lines[0], row, strict=True)) for row in data]


def everything_in(response, fmt):
    """All the text a download holds (a workbook's cells, every sheet)."""
    if fmt != "xlsx":
        return response.content.decode("utf-8-sig")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return "\n".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row)


# --- What is published, and what never is ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_gives_the_published_rows_in_every_format(client, published, fmt):
    rows = rows_of(download(client, fmt), fmt)

    assert {row["row_key"] for row in rows} == PUBLISHED_KEYS
    egypt_r1 = next(row for row in rows if row["row_key"] == f"{WORKSHOP}/R1/EG")
    assert egypt_r1["status"] == "implemented"
    assert str(egypt_r1["progress"]) == "100"
    assert egypt_r1["country_name_ar"] == "مصر"
    assert egypt_r1["recommendation_text_ar"] == Recommendation.objects.get(reference="R1").text_ar


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_never_gives_a_confidential_recommendation_an_unagreed_state_or_a_focal_point(client, published, fmt):
    text = everything_in(download(client, fmt), fmt)

    confidential = Recommendation.objects.get(reference="R3")
    for absent in [f"{WORKSHOP}/R3", confidential.text_en[:60], confidential.text_ar[:60], CONFIDENTIAL_NARRATIVE]:
        assert absent not in text
    for state in MemberState.objects.filter(iso_code__in=["IQ", "MA"]):
        assert f"/{state.iso_code}" not in text
        assert state.name_en not in text
        assert state.name_ar not in text
    for absent in [IRAQ_NARRATIVE, "fp-eg", "fp-jo", "@example.org"]:
        assert absent not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_gives_a_narrative_only_where_the_state_agreed_to_publish_it(client, published, fmt):
    rows = {row["row_key"]: row for row in rows_of(download(client, fmt), fmt)}

    assert rows[f"{WORKSHOP}/R1/EG"]["narrative"] == EGYPT_NARRATIVE
    assert rows[f"{WORKSHOP}/R1/JO"]["narrative"] in ("", None)
    assert JORDAN_NARRATIVE not in everything_in(download(client, fmt), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_drops_a_state_that_withdraws_from_the_next_download(client, published, fmt):
    assert any(row["country_code"] == "JO" for row in rows_of(download(client, fmt), fmt))  # now cached

    consent = PublicationConsent.objects.get(member_state__iso_code="JO")
    consent.publishes_progress = False
    consent.save()

    rows = rows_of(download(client, fmt), fmt)
    assert {row["country_code"] for row in rows} == {"EG"}


def test_it_counts_only_what_is_published_on_the_data_page(client, published):
    page = client.get("/public/en/data/").content.decode()

    assert re.search(r"<dd>\s*4\s*</dd>", page)  # rows: Egypt's and Jordan's R1 and R2
    assert re.search(r"<dd>\s*2\s*</dd>", page)  # recommendations, and states
    assert "Iraq" not in page and "Morocco" not in page


def test_it_lists_only_published_pages_in_the_sitemap(client, published):
    response = client.get("/public/sitemap.xml")
    text = response.content.decode()

    assert response["Content-Type"].startswith("application/xml")
    for reference in ["R1", "R2"]:
        pk = Recommendation.objects.get(reference=reference).pk
        assert f"/public/en/recommendations/{pk}/</loc>" in text
        assert f"/public/ar/recommendations/{pk}/</loc>" in text
    assert f"/recommendations/{Recommendation.objects.get(reference='R3').pk}/" not in text
    assert "/public/en/states/EG/" in text and "/public/ar/states/JO/" in text
    assert "/states/IQ/" not in text and "/states/MA/" not in text
    assert "/public/ar/data/" in text and 'hreflang="ar"' in text


# --- The formats ---------------------------------------------------------------------------------------------------


def test_it_tags_the_hxl_file_so_a_csv_reader_reads_it_back(client, published):
    response = download(client, "hxl")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    names, tags, data = lines[0], lines[1], lines[2:]

    assert not response.content.startswith(b"\xef\xbb\xbf")  # no byte-order mark before the first header
    assert names == COLUMN_NAMES
    assert all(tag.startswith("#") and " " not in tag for tag in tags)
    tagged = [dict(zip(tags, row, strict=True)) for row in data]
    assert {row["#country+code+v_iso2"] for row in tagged} == {"EG", "JO"}
    assert {"#country+name+i_en", "#country+name+i_ar", "#indicator+code", "#indicator+name+i_en"} <= set(tags)
    assert {"#indicator+name+i_ar", "#status+code", "#date+reported", "#meta+licence", "#sector+code"} <= set(tags)
    egypt_r1 = next(row for row in tagged if row["#meta+id"] == f"{WORKSHOP}/R1/EG")
    assert egypt_r1["#indicator+code"] == f"{WORKSHOP}/R1"
    assert egypt_r1["#status+code"] == "implemented"
    assert egypt_r1["#indicator+num+pct"] == "100"
    assert dt.date.fromisoformat(egypt_r1["#date+reported"])
    assert egypt_r1["#indicator+framework+code"] == "sdg-10.7"
    assert egypt_r1["#meta+licence"] == "CC-BY-4.0"


def test_it_starts_the_csv_with_a_byte_order_mark_for_excel(client, published):
    response = download(client, "csv")

    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_it_opens_the_workbook_with_its_licence_and_columns(client, published):
    book = openpyxl.load_workbook(io.BytesIO(download(client, "xlsx").content))

    assert book.sheetnames == ["published", "About", "Columns"]
    assert [cell.value for cell in book["published"][1]] == COLUMN_NAMES
    about = everything_in(download(client, "xlsx"), "xlsx")
    assert "CC-BY-4.0" in about and "https://creativecommons.org/licenses/by/4.0/" in about
    assert [row[0] for row in book["Columns"].iter_rows(min_row=2, values_only=True)] == COLUMN_NAMES


def test_it_states_the_licence_in_the_json(client, published):
    document = json.loads(download(client, "json").content)

    assert document["licence"]["id"] == "CC-BY-4.0"
    assert document["licence"]["url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert "Creative Commons" in document["licence"]["statement_en"]
    assert document["source"].endswith("/public/en/data/")
    assert document["generated_at"]
    assert document["count"] == 4
    assert {row["licence"] for row in document["rows"]} == {"CC-BY-4.0"}


@pytest.mark.django_db(transaction=True)  # the body's change stamp is the writing transaction's (PostgreSQL)
def test_it_shows_a_new_licence_in_the_next_download(client, published):
    download(client, "json")
    published.open_data_licence = OpenDataLicence.CC0
    published.save()

    document = json.loads(download(client, "json").content)

    assert document["licence"]["id"] == "CC0-1.0"
    assert {row["licence_url"] for row in document["rows"]} == {"https://creativecommons.org/publicdomain/zero/1.0/"}


def test_it_gives_each_row_its_own_bodys_licence(client, published):
    other = Body.objects.create(
        code="casia", acronym_en="CA", name_en="Central Asia group", name_ar="مجموعة آسيا الوسطى"
    )
    other.open_data_licence = OpenDataLicence.ODBL
    other.save()
    other.member_states.add(MemberState.objects.get(iso_code="EG"))
    meeting = Meeting.objects.create(
        body=other, code="2024-almaty", kind="workshop", title_en="Almaty", title_ar="ألماتي"
    )
    recommendation = Recommendation.objects.create(
        meeting=meeting, reference="A1", text_en="Share data.", text_ar="تبادل البيانات.", is_public=True
    )
    recommendation.sync_implementations()
    agree(other, "EG")

    document = json.loads(download(client, "json").content)

    licences = {row["body_code"]: row["licence"] for row in document["rows"]}
    assert licences == {"aimc": "CC-BY-4.0", "casia": "ODbL-1.0"}
    assert document["licence"]["id"] is None
    assert {licence["id"] for licence in document["licences"]} == {"CC-BY-4.0", "ODbL-1.0"}


def test_it_gives_the_framework_targets_with_the_data(client, published, sdg_10_7):
    rows = {row["row_key"]: row for row in rows_of(download(client, "json"), "json")}

    assert rows[f"{WORKSHOP}/R1/EG"]["framework_targets"] == ["sdg-10.7"]
    assert rows[f"{WORKSHOP}/R1/EG"]["framework_target_titles_ar"] == [sdg_10_7.title_ar]
    assert rows[f"{WORKSHOP}/R2/EG"]["framework_targets"] == []


def test_it_keeps_a_narrative_from_running_as_a_formula_in_a_spreadsheet(client, published):
    formula = '=HYPERLINK("https://example.com","Click")'
    submit(User.objects.get(username="fp-eg"), "EG", "R2", "in_progress", 50, formula)

    cells = {fmt: rows_of(download(client, fmt), fmt) for fmt in FORMATS}

    narratives = {
        fmt: next(r["narrative"] for r in rows if r["row_key"] == f"{WORKSHOP}/R2/EG") for fmt, rows in cells.items()
    }
    assert narratives == {"json": formula, "csv": "'" + formula, "hxl": "'" + formula, "xlsx": "'" + formula}


def test_it_names_each_download_file(client, published):
    with time_machine.travel(dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.UTC), tick=False):
        names = {fmt: download(client, fmt)["Content-Disposition"] for fmt in FORMATS}

    assert names == {
        "csv": 'attachment; filename="published-recommendations-2026-10-05.csv"',
        "xlsx": 'attachment; filename="published-recommendations-2026-10-05.xlsx"',
        "json": 'attachment; filename="published-recommendations-2026-10-05.json"',
        "hxl": 'attachment; filename="published-recommendations-hxl-2026-10-05.csv"',
    }


def test_it_answers_not_modified_to_a_download_the_client_has(client, published):
    first = download(client, "csv")

    again = client.get("/public/data/published.csv", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]
    assert "no-cache" in again["Cache-Control"]


def test_it_answers_not_found_for_another_format(client, published):
    assert client.get("/public/data/published.xml").status_code == 404


# --- Filters -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("status=implemented", {f"{WORKSHOP}/R1/EG"}),
        ("state=jo", {f"{WORKSHOP}/R1/JO", f"{WORKSHOP}/R2/JO"}),
        ("framework=sdg-10.7", {f"{WORKSHOP}/R1/EG", f"{WORKSHOP}/R1/JO"}),
        ("theme=data-collection-exchange", {f"{WORKSHOP}/R2/EG", f"{WORKSHOP}/R2/JO"}),
        ("status=implemented,in_progress&state=EG", {f"{WORKSHOP}/R1/EG", f"{WORKSHOP}/R2/EG"}),
        ("state=IQ", set()),
        ("theme=no-such-theme", set()),
        ("framework=gcr-9", set()),
        ("theme=access-to-territory", set()),  # R3's theme only: R3 is confidential
    ],
)
def test_it_filters_the_downloads(client, published, query, keys):
    for fmt in ["json", "csv", "hxl"]:
        assert {row["row_key"] for row in rows_of(download(client, fmt, query), fmt)} == keys


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("status=done", "status"),
        ("state=EGY", "state"),
        ("theme=%3Cscript%3E", "theme"),
        ("framework=sdg", "framework"),
        ("framework=sdg-10.7%00", "framework"),
        ("country=EG", "country"),
        ("state=" + ",".join(["EG"] * 21), "state"),
    ],
)
def test_it_refuses_a_filter_it_cannot_read(client, published, query, parameter):
    for path in ["/public/data/published.csv", "/public/data/published-hxl.csv"]:
        response = client.get(f"{path}?{query}")

        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert parameter in response.json()["errors"]


# --- Cost ----------------------------------------------------------------------------------------------------------


def queries_for_a_download(client, fmt):
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        download(client, fmt)
    return len(queries)


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_reads_the_same_number_of_queries_for_2_and_6_agreeing_states(client, published, fmt):
    with_two = queries_for_a_download(client, fmt)
    for iso in ["SA", "TN", "DZ", "LB"]:
        agree(published, iso)

    with_six = queries_for_a_download(client, fmt)

    assert len(rows_of(download(client, fmt), fmt)) == 12
    assert with_six == with_two


def test_it_describes_every_column_on_the_data_page(client, published):
    page = client.get("/public/en/data/").content.decode()

    for column in COLUMNS:
        assert f">{column.name}<" in page
        assert column.hxl in page
    assert 'href="https://creativecommons.org/licenses/by/4.0/"' in page
    for path in ["/public/data/published.csv", "/public/data/published.xlsx", "/public/data/published.json"]:
        assert f'href="{path}"' in page
    assert 'href="/public/data/published-hxl.csv"' in page


def test_it_shows_the_data_page_right_to_left_in_arabic(client, published):
    response = client.get("/public/ar/data/")

    assert response.status_code == 200
    assert 'dir="rtl"' in response.content.decode()
    assert response["Content-Language"] == "ar"
