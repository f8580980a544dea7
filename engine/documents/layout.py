"""Writing the files: a workbook from sheets of rows, a report PDF of headings, text and tables, a certificate."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from engine.documents.fonts import chinese_font
from engine.spreadsheet_text import inert_row

Sheet = tuple[str, Sequence[str], Sequence[Sequence[Any]]]  # title, header, rows


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """Sheets of rows as an .xlsx file; every text cell inert (see :mod:`engine.spreadsheet_text`)."""
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(inert_row(header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
            cell.alignment = Alignment(horizontal="center")
        for row in rows:
            sheet.append(inert_row(row))  # a name from a person never becomes a live formula
        for index, name in enumerate(header, start=1):
            width = max([len(str(name))] + [len(str(r[index - 1])) for r in rows if index - 1 < len(r)])
            sheet.column_dimensions[get_column_letter(index)].width = min(max(8, width * 2 + 2), 60)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_pdf(title: str, blocks: Sequence[tuple[str, Any]]) -> bytes:
    """A portrait report: ``("h", text)`` a heading, ``("p", text)`` a paragraph, ``("t", (header, rows))`` a table."""
    font = chinese_font()
    styles = {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=26, alignment=1, spaceAfter=8 * mm),
        "h": ParagraphStyle("h", fontName=font, fontSize=13, leading=20, spaceBefore=4 * mm, spaceAfter=2 * mm),
        "p": ParagraphStyle("p", fontName=font, fontSize=11, leading=18, firstLineIndent=22),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=9, leading=12),
    }
    story: list[Any] = [Paragraph(_escape(title), styles["title"])]
    for kind, content in blocks:
        if kind == "t":
            header, rows = content
            data = [[Paragraph(_escape(str(v)), styles["cell"]) for v in header]]
            data += [[Paragraph(_escape(str(v)), styles["cell"]) for v in row] for row in rows]
            table = Table(data, repeatRows=1)
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7"))]))
            story += [table, Spacer(1, 4 * mm)]
        else:
            story.append(Paragraph(_escape(str(content)), styles[kind]))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=title, leftMargin=20 * mm, rightMargin=20 * mm,
                      topMargin=20 * mm, bottomMargin=20 * mm).build(story)
    return out.getvalue()


def certificates_pdf(pages: Sequence[dict[str, str]]) -> bytes:
    """One landscape page per certificate: number, recipient, the honour, the issuer and the date."""
    font = chinese_font()
    out = io.BytesIO()
    width, height = landscape(A4)
    page = canvas.Canvas(out, pagesize=(width, height))
    page.setTitle("荣誉证书")
    for entry in pages:
        page.setStrokeColor(colors.HexColor("#B8860B"))
        page.setLineWidth(4)
        page.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
        page.setFillColor(colors.HexColor("#B22222"))
        page.setFont(font, 40)
        page.drawCentredString(width / 2, height - 55 * mm, "荣 誉 证 书")
        page.setFillColor(colors.black)
        page.setFont(font, 11)
        page.drawRightString(width - 25 * mm, height - 25 * mm, f"编号：{entry['number']}")
        page.setFont(font, 20)
        page.drawString(40 * mm, height - 90 * mm, f"{entry['recipient']}：")
        page.setFont(font, 18)
        page.drawString(50 * mm, height - 110 * mm, entry["text"])
        page.drawCentredString(width / 2, height - 130 * mm, "特发此证，以资鼓励。")
        page.setFont(font, 16)
        page.drawRightString(width - 40 * mm, 45 * mm, entry["issuer"])
        page.drawRightString(width - 40 * mm, 35 * mm, entry["date"])
        page.showPage()
    page.save()
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
