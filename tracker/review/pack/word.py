"""The pack as an editable Word document (python-docx): real headings, paragraphs and tables, so the
secretariat can edit it before the meeting. In Arabic every paragraph is right-to-left (w:bidi), every run
complex-script right-to-left (w:rtl), every table laid out from the right (w:bidiVisual).

Charts are not drawn here: python-docx inserts only raster images, and no maintained SVG rasteriser shapes
Arabic labels (cairosvg draws with cairo's "toy" text API). Each trend's data table stands in for its chart;
the PDF draws the chart itself.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from tracker.review.pack.content import Chart, PackContent, Section, Subheading, Table

# Installed with every Windows and macOS Office, and Arabic-capable: what the delegations open the pack with.
FONT = "Arial"


def write_docx(content: PackContent) -> bytes:
    document = Document()
    _page_setup(document, content.rtl)
    _default_font(document, content.lang)
    properties = document.core_properties
    properties.title, properties.language = content.title, content.lang
    _paragraph(document, content.title, content.rtl, style="Title")
    for line in (content.subtitle, content.situation, content.prepared):
        _paragraph(document, line, content.rtl)
    for section in content.sections():
        _section(document, section, content.rtl)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _page_setup(document, rtl: bool) -> None:
    page = document.sections[0]
    page.orientation = WD_ORIENT.PORTRAIT
    page.page_width, page.page_height = Mm(210), Mm(297)
    page.left_margin = page.right_margin = Mm(18)
    page.top_margin = page.bottom_margin = Mm(18)
    if rtl:  # the page itself reads from the right: columns, gutter, page numbers
        _put(page._sectPr, "w:bidi")


def _default_font(document, lang: str) -> None:
    """Arial for Latin and complex script alike, and the language for spelling and for Word's digits."""
    style = document.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(10)
    properties = style.element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), FONT)
    _put(properties, "w:szCs", val="20")
    _put(properties, "w:lang", val="en-GB", bidi="ar-SA" if lang == "ar" else "en-GB")
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):  # the template's headings name their own theme fonts
        heading = document.styles[name].element.get_or_add_rPr()
        heading_fonts = heading.get_or_add_rFonts()
        for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
            heading_fonts.set(qn(attribute), FONT)
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
            heading_fonts.attrib.pop(qn(theme), None)


def _section(document, section: Section, rtl: bool) -> None:
    heading = _paragraph(document, section.title, rtl, style=f"Heading {section.level}")
    if section.new_page:
        heading.paragraph_format.page_break_before = True
    for block in section.blocks:
        if isinstance(block, Table):
            _table(document, block, rtl)
        elif isinstance(block, Subheading):
            _paragraph(document, block.text, rtl, style="Heading 2")
        elif isinstance(block, Chart):  # its data table follows: the chart itself is drawn in the PDF only
            _paragraph(document, block.title, rtl, style="Heading 3")
        else:
            _paragraph(document, block, rtl)


def _paragraph(container, text: str, rtl: bool, style: str | None = None):
    paragraph = container.add_paragraph(style=style)
    _add_run(paragraph, text, rtl)
    if rtl:
        _put(paragraph._p.get_or_add_pPr(), "w:bidi")
    return paragraph


def _add_run(paragraph, text: str, rtl: bool) -> None:
    run = paragraph.add_run(text)
    if rtl:
        run._r.get_or_add_rPr().get_or_add_rtl()


def _table(document, block: Table, rtl: bool) -> None:
    if not block.rows:
        if block.empty:
            _paragraph(document, block.empty, rtl)
        return
    table = document.add_table(rows=1, cols=len(block.headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    if rtl:  # columns laid out from the right, as the reader reads
        table._tbl.tblPr.get_or_add_bidiVisual()
    _repeat_as_header(table.rows[0])
    for cell, text in zip(table.rows[0].cells, block.headers, strict=True):
        _cell(cell, text, rtl, bold=True)
    for row in block.rows:
        for cell, value in zip(table.add_row().cells, row, strict=True):
            _cell(cell, value, rtl)
    document.add_paragraph()  # Word joins two tables that touch: keep them apart


def _repeat_as_header(row) -> None:
    """The header row repeats at the top of every page the table runs over."""
    marker = OxmlElement("w:tblHeader")
    marker.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(marker)


def _cell(cell, value: str | list[str], rtl: bool, bold: bool = False) -> None:
    lines = [value] if isinstance(value, str) else value or ["–"]
    first = cell.paragraphs[0]
    for index, line in enumerate(lines):
        paragraph = first if index == 0 else cell.add_paragraph()
        _add_run(paragraph, line, rtl)
        if bold:
            paragraph.runs[-1].bold = True
        if rtl:
            _put(paragraph._p.get_or_add_pPr(), "w:bidi")


# Each element's later siblings, in schema order (ECMA-376 part 1): Word refuses a file whose order is wrong.
_SUCCESSORS = {
    ("w:pPr", "w:bidi"): (
        "w:adjustRightInd",
        "w:snapToGrid",
        "w:spacing",
        "w:ind",
        "w:contextualSpacing",
        "w:mirrorIndents",
        "w:suppressOverlap",
        "w:jc",
        "w:textDirection",
        "w:textAlignment",
        "w:textboxTightWrap",
        "w:outlineLvl",
        "w:divId",
        "w:cnfStyle",
        "w:rPr",
        "w:sectPr",
        "w:pPrChange",
    ),
    ("w:sectPr", "w:bidi"): ("w:rtlGutter", "w:docGrid", "w:printerSettings", "w:sectPrChange"),
    ("w:rPr", "w:szCs"): (
        "w:highlight",
        "w:u",
        "w:effect",
        "w:bdr",
        "w:shd",
        "w:fitText",
        "w:vertAlign",
        "w:rtl",
        "w:cs",
        "w:em",
        "w:lang",
        "w:eastAsianLayout",
        "w:specVanish",
        "w:oMath",
    ),
    ("w:rPr", "w:lang"): ("w:eastAsianLayout", "w:specVanish", "w:oMath"),
}


def _put(parent, tag: str, **attributes: str) -> None:
    """Add an element (once) where the schema wants it among its siblings."""
    if parent.find(qn(tag)) is not None:
        return
    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(qn(f"w:{name}"), value)
    parent_tag = "w:" + parent.tag.rsplit("}", 1)[1]
    parent.insert_element_before(element, *_SUCCESSORS[(parent_tag, tag)])
