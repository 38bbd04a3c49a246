"""Laying a bulletin out as a file: plain text, XLSX, DOCX, or PDF (through Chromium).

The content (sentences, tables, rounding) is decided in `domain.document`; this module only
places it. Chinese must render wherever the file is opened:

* DOCX names an East Asian font on every run and style it uses (宋体 for text, 黑体 for
  headings, the fonts a Chinese Windows has; elsewhere the viewer substitutes its CJK font);
* PDF is printed by headless Chromium from HTML that asks for Noto CJK (installed with
  fonts-noto-cjk) and embeds the font; without Chromium PDF is refused, not faked.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Final

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.styles.style import BaseStyle
from docx.text.run import Run
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from shebao.errors import ShebaoError
from shebao.identity.spreadsheet import xlsx_append
from shebao.reports.choices import BulletinFormat
from shebao.reports.domain.document import (
    BulletinDocument,
    Table,
    format_cell,
    prose_lines,
    render_text,
)

__all__ = [
    "PdfUnsupported",
    "chromium_path",
    "render_document",
    "render_docx",
    "render_html",
    "render_pdf",
    "render_xlsx",
]

# The English names of 宋体 and 黑体: Word on a Chinese Windows resolves them to the same fonts,
# and LibreOffice's substitution table knows them (it maps "SimSun" to a serif CJK font where
# the Chinese name "宋体" falls back to a sans one).
BODY_FONT: Final[str] = "SimSun"
HEADING_FONT: Final[str] = "SimHei"
LATIN_FONT: Final[str] = "Times New Roman"
CHROMIUM_TIMEOUT_SECONDS: Final[int] = 120


class PdfUnsupported(ShebaoError):
    def __init__(self) -> None:
        super().__init__(code="PDF_UNSUPPORTED", message="暂不支持PDF，请使用docx", status=501)


# ---------------------------------------------------------------- XLSX

_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _xlsx_sheet(workbook: Workbook, table: Table) -> None:
    sheet = workbook.create_sheet(table.label)
    width = len(table.columns)
    xlsx_append(sheet, [table.heading])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(1, 1).font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    xlsx_append(sheet, [c.header_exact() for c in table.columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BOX
    for row in table.rows:
        # Percentages are stored as the rounded number the text states (87.3), shown as
        # "87.3%": a spreadsheet's own rounding of 0.87349… could disagree with the text.
        xlsx_append(sheet, [float(v) if isinstance(v, Decimal) else v for v in row])
        for cell, column in zip(sheet[sheet.max_row], table.columns, strict=True):
            cell.border = _BOX
            if column.kind == "count":
                cell.number_format = "#,##0"
            elif column.kind == "percent":
                cell.number_format = '0.0"%"'
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(
            8, 2 * len(column.header_exact()) + 2
        )
    sheet.freeze_panes = "A3"


def render_xlsx(document: BulletinDocument, out: Path) -> None:
    workbook = Workbook()
    default = workbook.active
    if default is not None:
        workbook.remove(default)
    for table in document.tables:
        _xlsx_sheet(workbook, table)
    prose = workbook.create_sheet("通报正文")
    for line in prose_lines(document):
        xlsx_append(prose, [line])
    prose.column_dimensions["A"].width = 120
    workbook.save(out)


# ---------------------------------------------------------------- DOCX


def _east_asian(target: BaseStyle | Run, name: str) -> None:
    """Set the East Asian font (w:eastAsia) that python-docx's font.name leaves alone."""
    element = target.element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), name)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = rpr.makeelement(qn("w:lang"), {})
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _run(paragraph: object, text: str, *, font: str, size: float, bold: bool = False) -> None:
    run = paragraph.add_run(text)  # type: ignore[attr-defined]
    run.font.name = LATIN_FONT
    run.font.size = Pt(size)
    run.bold = bold
    _east_asian(run, font)


def _docx_table(doc: object, table: Table) -> None:
    heading = doc.add_paragraph()  # type: ignore[attr-defined]
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(heading, table.heading, font=HEADING_FONT, size=14)
    grid = doc.add_table(rows=1, cols=len(table.columns))  # type: ignore[attr-defined]
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, column in zip(grid.rows[0].cells, table.columns, strict=True):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(cell.paragraphs[0], column.header_in_wan(), font=HEADING_FONT, size=9)
    for index, row in enumerate(table.rows):
        cells = grid.add_row().cells
        last = index == len(table.rows) - 1
        for cell, value, column in zip(cells, row, table.columns, strict=True):
            paragraph = cell.paragraphs[0]
            paragraph.alignment = (
                WD_ALIGN_PARAGRAPH.RIGHT if column.kind != "text" else WD_ALIGN_PARAGRAPH.CENTER
            )
            _run(paragraph, format_cell(value, column), font=BODY_FONT, size=9, bold=last)


def render_docx(document: BulletinDocument, out: Path) -> None:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(12)
    _east_asian(normal, BODY_FONT)
    _east_asian(doc.styles["Table Grid"], BODY_FONT)
    doc.core_properties.title = document.title
    doc.core_properties.language = "zh-CN"

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, document.title, font=HEADING_FONT, size=18, bold=True)
    subtitle = doc.add_paragraph()
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(subtitle, document.subtitle, font=BODY_FONT, size=12)
    _run(doc.add_paragraph(), document.intro, font=BODY_FONT, size=12)
    for heading, paragraphs in zip(document.headings, document.paragraphs, strict=True):
        _run(doc.add_paragraph(), heading, font=HEADING_FONT, size=14)
        for text in paragraphs:
            paragraph = doc.add_paragraph()
            paragraph.paragraph_format.first_line_indent = Pt(24)
            _run(paragraph, text, font=BODY_FONT, size=12)
    for line in document.signature:  # 落款
        paragraph = doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _run(paragraph, line, font=BODY_FONT, size=12)

    # The attachment tables are wide: a landscape section of their own.
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    for index, table in enumerate(document.tables):
        if index:
            doc.add_paragraph()
        _docx_table(doc, table)
    doc.save(str(out))


# ---------------------------------------------------------------- HTML and PDF

_CSS = """
@page { size: A4; margin: 20mm 18mm; }
@page attachment { size: A4 landscape; margin: 15mm 15mm; }
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", "SimSun", "宋体", serif;
       font-size: 12pt; line-height: 1.7; color: #000; }
h1 { font-family: "Noto Sans CJK SC", "SimHei", "黑体", sans-serif; font-size: 20pt;
     text-align: center; margin: 0 0 4pt; }
.subtitle { text-align: center; margin: 0 0 16pt; }
h2 { font-family: "Noto Sans CJK SC", "SimHei", "黑体", sans-serif; font-size: 14pt; }
p.body { text-indent: 2em; margin: 0 0 6pt; }
p.signature { text-align: right; margin: 0 2em 0 0; }
section.table { break-before: page; page: attachment; }
h3 { font-size: 13pt; text-align: center; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
th, td { border: 1px solid #000; padding: 2pt 4pt; }
th { font-family: "Noto Sans CJK SC", "SimHei", "黑体", sans-serif; font-weight: normal; }
td.num { text-align: right; } td.text { text-align: center; white-space: nowrap; }
tr.total td { font-weight: bold; }
"""


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c.header_in_wan())}</th>" for c in table.columns)
    rows = []
    for index, row in enumerate(table.rows):
        css = ' class="total"' if index == len(table.rows) - 1 else ""
        cells = "".join(
            f'<td class="{"num" if c.kind != "text" else "text"}">'
            f"{html.escape(format_cell(v, c))}</td>"
            for v, c in zip(row, table.columns, strict=True)
        )
        rows.append(f"<tr{css}>{cells}</tr>")
    return (
        f'<section class="table"><h3>{html.escape(table.heading)}</h3>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def render_html(document: BulletinDocument) -> str:
    """A standalone HTML page of the bulletin (also what the PDF is printed from)."""
    parts = [
        f"<h1>{html.escape(document.title)}</h1>",
        f'<p class="subtitle">{html.escape(document.subtitle)}</p>',
        f"<p>{html.escape(document.intro)}</p>",
    ]
    for heading, paragraphs in zip(document.headings, document.paragraphs, strict=True):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.extend(f'<p class="body">{html.escape(p)}</p>' for p in paragraphs)
    parts.extend(f'<p class="signature">{html.escape(line)}</p>' for line in document.signature)
    parts.extend(_html_table(t) for t in document.tables)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(document.title)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )


def chromium_path() -> str | None:
    """The Chromium to print PDFs with: $SHEBAO_CHROMIUM, else one on PATH."""
    configured = os.environ.get("SHEBAO_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def render_pdf(document: BulletinDocument, out: Path) -> None:
    browser = chromium_path()
    if browser is None:
        raise PdfUnsupported
    with tempfile.TemporaryDirectory(prefix="shebao-pdf-") as work:
        page = Path(work) / "bulletin.html"
        page.write_text(render_html(document), encoding="utf-8")
        target = Path(work) / "bulletin.pdf"
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(work) / 'profile'}",
            f"--print-to-pdf={target}",
            page.as_uri(),
        ]
        try:
            subprocess.run(  # noqa: S603 - fixed arguments, no shell
                command,
                check=True,
                capture_output=True,
                timeout=CHROMIUM_TIMEOUT_SECONDS,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise PdfUnsupported from exc
        if not target.exists() or target.stat().st_size == 0:
            raise PdfUnsupported
        shutil.copyfile(target, out)


def render_document(document: BulletinDocument, *, fmt: BulletinFormat | str, out: Path) -> None:
    fmt = BulletinFormat(fmt)
    if fmt == BulletinFormat.TEXT:
        out.write_text(render_text(document), encoding="utf-8")
    elif fmt == BulletinFormat.XLSX:
        render_xlsx(document, out)
    elif fmt == BulletinFormat.DOCX:
        render_docx(document, out)
    else:
        render_pdf(document, out)
