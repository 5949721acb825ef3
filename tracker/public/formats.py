"""The table of published rows (tracker.public.dataset) in each download format: CSV, HXL-tagged CSV, XLSX, JSON.

Every format carries the licence: the JSON in its `licence` and `licences`, the XLSX in its "About" sheet, and
every row in its `licence` and `licence_url` columns (a comment above a CSV's header is not CSV).

The CSV starts with a byte-order mark so that Excel opens the Arabic text as UTF-8; the HXL file has none, for the
data platforms that read it as it is. In the CSV and XLSX a text that a spreadsheet could run as a formula (it
starts with = + - @, a tab or a carriage return) gets a leading apostrophe; the JSON holds every text exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import tablib
from django.core.serializers.json import DjangoJSONEncoder

from tracker.core.workbook import FORMULA_STARTS, ILLEGAL
from tracker.public.dataset import COLUMNS, LIST_SEPARATOR, Licence, in_both_languages

TITLE = "Published progress on workshop recommendations"
BOM = "\ufeff"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": XLSX_TYPE,
    "json": "application/json",
    "hxl": "text/csv; charset=utf-8",
}


def _cell(value: Any, is_list: bool) -> Any:
    """A value as one spreadsheet cell: lists joined, text kept text."""
    if is_list:
        value = LIST_SEPARATOR.join(value)
    if isinstance(value, str):
        value = ILLEGAL.sub("", value)
        if value.startswith(FORMULA_STARTS):
            value = "'" + value
    return value


def tabular(rows: Sequence[dict[str, Any]], hxl: bool = False) -> tablib.Dataset:
    """The rows as a tablib dataset: the column names as headers, then (for HXL) the hashtags, then the data."""
    dataset = tablib.Dataset(headers=[column.name for column in COLUMNS], title="published")
    if hxl:
        dataset.append([column.hxl for column in COLUMNS])
    for row in rows:
        dataset.append([_cell(row[column.name], column.is_list) for column in COLUMNS])
    return dataset


def as_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    return (BOM + tabular(rows).export("csv")).encode("utf-8")


def as_hxl(rows: Sequence[dict[str, Any]]) -> bytes:
    """The CSV with a second header row of HXL hashtags (https://hxlstandard.org/standard/1-1final/dictionary/)."""
    return tabular(rows, hxl=True).export("csv").encode("utf-8")


def _about_sheet(licences: Sequence[Licence], source: str, generated_at: datetime) -> tablib.Dataset:
    about = tablib.Dataset(headers=["about", "english", "arabic", "link"], title="About")
    about.append(["title", TITLE, "التقدم المنشور في تنفيذ توصيات ورش العمل", source])
    about.append(["generated_at", generated_at.isoformat(), generated_at.isoformat(), ""])
    for licence in licences:
        about.append([f"licence ({licence.body_code})", licence.name_en, licence.name_ar, licence.url])
        about.append([f"licence_id ({licence.body_code})", licence.id, licence.id, licence.url])
        about.append([f"attribution ({licence.body_code})", licence.body_name_en, licence.body_name_ar, source])
        statement = [licence.statement("en"), licence.statement("ar")]
        about.append([f"statement ({licence.body_code})", *statement, licence.url])
    return about


def _columns_sheet() -> tablib.Dataset:
    columns = tablib.Dataset(headers=["column", "hxl", "meaning_en", "meaning_ar"], title="Columns")
    for column in COLUMNS:
        columns.append([column.name, column.hxl, *in_both_languages(column.meaning)])
    return columns


def as_xlsx(rows: Sequence[dict[str, Any]], licences: Sequence[Licence], source: str, generated_at: datetime) -> bytes:
    """The data sheet, an "About" sheet (licence, source, date) and a "Columns" sheet (what each column means)."""
    book = tablib.Databook([tabular(rows), _about_sheet(licences, source, generated_at), _columns_sheet()])
    return book.export("xlsx")


def licence_summary(licences: Sequence[Licence]) -> dict[str, Any] | None:
    """The licence of the whole download: the one licence, or (bodies publishing under different ones) a note
    that each row carries its own."""
    if not licences:
        return None
    distinct = {licence.id for licence in licences}
    if len(distinct) == 1:
        return licences[0].as_dict()
    return {
        "id": None,
        "url": None,
        "statement": "Each row carries the licence of the body that publishes it (licence, licence_url); see licences.",
    }


def as_json(
    rows: Sequence[dict[str, Any]],
    licences: Sequence[Licence],
    source: str,
    url: str,
    generated_at: datetime,
    filters: dict[str, list[str]],
) -> bytes:
    document = {
        "title": TITLE,
        "licence": licence_summary(licences),
        "licences": [licence.as_dict() for licence in licences],
        "generated_at": generated_at,
        "source": source,
        "url": url,
        "filters": filters,
        "columns": [{"name": column.name, "hxl": column.hxl} for column in COLUMNS],
        "count": len(rows),
        "rows": list(rows),
    }
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
