"""Writing an admin export chunk by chunk, in the formats of tracker.secretariat.export_formats.

django-import-export builds the whole file in memory (one tablib Dataset, then one string or workbook): fine for
a page of rows, not for a million. Here each chunk of rows is a small Dataset that the format itself turns
into text (so its formula escaping applies), appended to the open file: CSV and TSV write the header once, JSON
joins the chunks into one array. XLSX cannot be concatenated: openpyxl's write-only workbook takes the rows as
they come, laid out as tablib lays it out (sheet "Tablib Dataset", bold header, the header row frozen, line
breaks wrapped; column widths are left at their default), with the format's escaping applied to each chunk.
The text formats match the admin's own files byte for byte.
"""

import tablib
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils.exceptions import IllegalCharacterError


class TextWriter:
    """CSV and TSV: the header with the first chunk, then rows only."""

    def __init__(self, file_format, headers, stream):
        self.format, self.headers, self.stream = file_format, headers, stream
        self.started = False

    def write(self, rows):
        chunk = tablib.Dataset(*rows, headers=None if self.started else self.headers)
        self.stream.write(self.format.export_data(chunk).encode("utf-8"))
        self.started = True

    def close(self):
        if not self.started:
            self.write([])


class JSONWriter:
    """One JSON array of objects, as tablib writes it: the chunks' items joined with ", "."""

    def __init__(self, file_format, headers, stream):
        self.format, self.headers, self.stream = file_format, headers, stream
        self.items = 0
        self.stream.write(b"[")

    def write(self, rows):
        if not rows:
            return
        text = self.format.export_data(tablib.Dataset(*rows, headers=self.headers))
        self.stream.write((", " if self.items else "").encode() + text[1:-1].encode("utf-8"))
        self.items += len(rows)

    def close(self):
        self.stream.write(b"]")


class XLSXWriter:
    """A write-only workbook: rows go to a temporary file as they come, never all in memory."""

    def __init__(self, file_format, headers, stream):
        self.format, self.stream = file_format, stream
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("Tablib Dataset")
        self.sheet.freeze_panes = "A2"
        self._append([self._cell(header, font=Font(bold=True)) for header in headers])

    def write(self, rows):
        chunk = tablib.Dataset(*rows)
        if getattr(settings, "IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT", False) is True:
            self.format._escape_formulae(chunk)  # the format's own escaping, as its export_data applies it
        for row in chunk:
            self._append([self._cell(value) for value in row])

    def _cell(self, value, font=None):
        cell = WriteOnlyCell(self.sheet)
        try:
            cell.value = value
        except IllegalCharacterError:
            # As the admin's XLSX export: refused, without echoing the value.
            raise ValueError(_("export failed due to IllegalCharacterError")) from None
        except ValueError:
            cell.value = str(value)
        if font is not None:
            cell.font = font
        elif "\n" in str(value):
            cell.alignment = Alignment(wrap_text=True)
        return cell

    def _append(self, cells):
        self.sheet.append(cells)

    def close(self):
        self.book.save(self.stream)


WRITERS = {"csv": TextWriter, "tsv": TextWriter, "json": JSONWriter, "xlsx": XLSXWriter}


def writer_for(file_format, headers, stream):
    return WRITERS[file_format.get_extension()](file_format, headers, stream)
