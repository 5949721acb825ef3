"""The filtered review table as CSV and XLSX, in the active language.

Cells that a spreadsheet could read as a formula (= + - @ tab CR at the start) are escaped with a
leading apostrophe, so a narrative typed by anyone can never run in the secretariat's Excel.
"""

import csv
import tempfile

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook

from tracker.core import record

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def escape_formula(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def headers():
    return [
        _("Meeting"),
        _("Recommendation"),
        _("Recommendation text"),
        _("Member state"),
        _("Status"),
        _("Progress (%)"),
        _("Last submitted report"),
        _("Stalled"),
        _("Reasons"),
    ]


def row(data, item):
    data.decorate(item)
    last = timezone.localtime(item.last_reported_at).date().isoformat() if item.last_reported_at else ""
    return [
        str(item.recommendation.meeting),
        item.recommendation.reference,
        item.recommendation.text,
        item.member_state.name,
        item.get_status_display(),
        item.progress,
        last,
        _("Yes") if item.reasons else _("No"),
        "; ".join(item.explanations),
    ]


def frozen_row(item):
    last = timezone.localtime(item.last_reported_at).date().isoformat() if item.last_reported_at else ""
    return [
        str(item.recommendation.meeting),
        item.recommendation.reference,
        item.recommendation.text,
        item.member_state.name,
        item.get_status_display(),
        item.progress,
        last,
        _("Yes") if item.reasons else _("No"),
        "; ".join(item.explanations),
    ]


def rows(data):
    yield headers()
    if data.frozen():  # a closed cycle: what was frozen at its close, never the live items
        for item in record.frozen_items(data.filters.cycle, data.scope()):
            yield [escape_formula(value) for value in frozen_row(item)]
        return
    for item in data.table_items().iterator(chunk_size=2000):
        yield [escape_formula(value) for value in row(data, item)]


def filename(data, extension):
    cycle = data.frozen()
    day = timezone.localtime(cycle.closed_at).date() if cycle else timezone.localdate()
    return f"review-{data.filters.body.code}-{day:%Y-%m-%d}.{extension}"


def footer(data):
    cycle = data.frozen()
    if cycle:
        return _("As frozen at the close of %(cycle)s on %(date)s") % {
            "cycle": cycle.name,
            "date": date_format(timezone.localtime(cycle.closed_at).date()),
        }
    return _("Exported on %(date)s") % {"date": date_format(timezone.localdate())}


class _Echo:
    def write(self, value):
        return value


def csv_response(data):
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # a byte-order mark so that Excel opens the UTF-8 (Arabic) text correctly
        for values in rows(data):
            yield writer.writerow(values)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(data, "csv")}"'
    return response


def xlsx_response(data, rtl=False):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Review")[:31])
    if rtl:
        sheet.sheet_view.rightToLeft = True
    for values in rows(data):
        sheet.append(values)
    sheet.append([])
    sheet.append([footer(data)])
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename(data, "xlsx"), content_type=XLSX_TYPE)
