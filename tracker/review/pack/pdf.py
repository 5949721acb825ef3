"""The pack as a PDF: the HTML template templates/review/pack.html with the print stylesheet static/css/pack.css,
laid out by WeasyPrint (Pango shapes the Arabic; the fonts are the system's, fonts-noto-core)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation

from tracker.review.pack.content import Chart, PackContent, Subheading, Table

STYLESHEET = "css/pack.css"
SVG = "http://www.w3.org/2000/svg"
ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f]")


# WeasyPrint reports each step of its work on this logger: the pack's progress, not something for the log.
STEPS = logging.getLogger("weasyprint.progress")
STEPS.setLevel(logging.INFO)
STEPS.propagate = False
STEP_COUNT = 7  # WeasyPrint's steps: parse HTML, parse CSS, apply CSS, boxes, layout, PDF, metadata


class _StepProgress(logging.Handler):
    """Turns "Step 5 - Creating layout" into progress(5 / 7), once per step."""

    def __init__(self, progress: Callable[[int], None]) -> None:
        super().__init__()
        self.progress, self.step = progress, 0

    def emit(self, record: logging.LogRecord) -> None:
        found = re.match(r"Step (\d+)", record.getMessage())
        if found and int(found[1]) > self.step:
            self.step = int(found[1])
            self.progress(min(100, 100 * (self.step - 1) // STEP_COUNT))


def write_pdf(content: PackContent, progress: Callable[[int], None] | None = None) -> bytes:
    from weasyprint import CSS, HTML  # imported when used: loading Pango costs every other process nothing

    with translation.override(content.lang):
        html = render_to_string("review/pack.html", {"pack": content, "sections": _sections(content)})
    document = HTML(string=html, url_fetcher=_no_fetching)
    handler = _StepProgress(progress or (lambda percent: None))
    STEPS.addHandler(handler)
    try:
        return document.write_pdf(stylesheets=[CSS(filename=finders.find(STYLESHEET))])
    finally:
        STEPS.removeHandler(handler)


def _sections(content: PackContent) -> list[dict]:
    """The blocks tagged with their kind: the template language cannot ask a block for its type."""
    return [
        {
            "section": section,
            "blocks": [
                {"kind": _kind(block), "block": block, "rows": _rows(block), "svg": _svg(block)}
                for block in section.blocks
            ],
        }
        for section in content.sections()
    ]


def _svg(block) -> str:
    return shaped_svg(block.svg) if isinstance(block, Chart) else ""


def _rows(block) -> list[list[dict]]:
    """A table's cells, each as its lines and whether it is a list (the reasons of an item)."""
    if not isinstance(block, Table):
        return []
    return [
        [{"lines": [cell] if isinstance(cell, str) else cell, "is_list": not isinstance(cell, str)} for cell in row]
        for row in block.rows
    ]


def _kind(block) -> str:
    if isinstance(block, Table):
        return "table"
    if isinstance(block, Chart):
        return "chart"
    if isinstance(block, Subheading):
        return "subheading"
    return "text"


def shaped_svg(svg: str) -> str:
    """The chart with its Arabic labels joined and in display order.

    WeasyPrint draws SVG text one letter at a time, without Pango's shaping or bidi: Arabic would come out as
    separate letters, left to right. Each label with Arabic in it is therefore given as the presentation
    forms in the order they are seen (arabic-reshaper, python-bidi), which letter-by-letter drawing keeps.
    The page's own text (HTML) is shaped by Pango and needs none of this."""
    from arabic_reshaper import reshape
    from bidi import get_display
    from lxml import etree

    root = etree.fromstring(svg.encode())
    for node in root.iter(f"{{{SVG}}}text", f"{{{SVG}}}tspan"):
        if node.text and ARABIC.search(node.text):
            node.text = get_display(reshape(node.text))
    return etree.tostring(root, encoding="unicode")


def _no_fetching(url: str, *args, **kwargs):
    """The pack loads nothing from anywhere: its stylesheet is passed in, its charts are inline SVG."""
    raise ValueError(f"The meeting pack fetches no resource ({url[:80]}).")
