"""Admin export formats that keep the data but neutralise formulas.

django-import-export's own escaping only drops a leading "="; spreadsheets also run cells that start with
+, -, @, a tab or a carriage return. Prefixing an apostrophe makes every such cell plain text.
"""

from import_export.formats import base_formats

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else value


class SafeEscapingMixin:
    def _escape_formulae(self, dataset):
        rows = [[neutralise(cell) for cell in row] for row in dataset]
        del dataset[:]
        for row in rows:
            dataset.append(row)


class CSV(SafeEscapingMixin, base_formats.CSV):
    pass


class XLSX(SafeEscapingMixin, base_formats.XLSX):
    pass


class TSV(SafeEscapingMixin, base_formats.TSV):
    pass


class JSON(SafeEscapingMixin, base_formats.JSON):
    pass
