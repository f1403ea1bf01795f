"""The report as a PDF (reportlab): Chinese text in the built-in CID font STSong-Light (no font
file needed), the verification code on every page, a QR code pointing at the verification page,
and the signed JWS in the document information dictionary (`/PengchengReportJWS`) so that
anyone holding the file can check the signature offline against the published JWKS.
"""

from __future__ import annotations

import io
import threading
from functools import partial
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.pdfdoc import PDFDate, PDFDictionary, PDFInfo, PDFName, PDFString
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reports import labels

FONT = "STSong-Light"
CODE_FONT = "Courier"
JWS_KEY = "PengchengReportJWS"
CODE_KEY = "PengchengReportCode"
_fonts_lock = threading.Lock()
_fonts_ready = False


def _fonts() -> None:
    global _fonts_ready
    with _fonts_lock:
        if not _fonts_ready:
            pdfmetrics.registerFont(UnicodeCIDFont(FONT))
            _fonts_ready = True


class _Info(PDFInfo):
    """The standard information dictionary plus our own keys (code and signed JWS)."""

    def __init__(self, extra: dict[str, str]):
        super().__init__()
        self.extra = extra

    def format(self, document: Any) -> bytes:
        entries: dict[str, Any] = {
            "Title": PDFString(self.title), "Author": PDFString(self.author),
            "Producer": PDFString(self.producer), "Creator": PDFString(self.creator),
            "Subject": PDFString(self.subject), "Keywords": PDFString(self.keywords),
            "Trapped": PDFName(self.trapped),
        }
        entries["ModDate"] = entries["CreationDate"] = PDFDate(
            ts=document._timeStamp, dateFormatter=self._dateFormatter)
        entries.update({k: PDFString(v) for k, v in self.extra.items()})
        return PDFDictionary(entries).format(document)


class _Canvas(Canvas):
    def __init__(self, *args: Any, extra: dict[str, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._doc.info = _Info(extra)  # reportlab has no public hook for custom info keys


STYLES = {
    "title": ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, alignment=1,
                            spaceAfter=2 * mm),
    "subtitle": ParagraphStyle("subtitle", fontName=FONT, fontSize=10, leading=14,
                               alignment=1, textColor=colors.grey, spaceAfter=4 * mm),
    "h2": ParagraphStyle("h2", fontName=FONT, fontSize=12.5, leading=17, spaceBefore=4 * mm,
                         spaceAfter=2 * mm, textColor=colors.HexColor("#8a1c1c")),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14),
    "small": ParagraphStyle("small", fontName=FONT, fontSize=8, leading=11,
                            textColor=colors.HexColor("#555555")),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=12),
    "code": ParagraphStyle("code", fontName=CODE_FONT, fontSize=9, leading=12),
}
GRID = TableStyle([
    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2eeee")),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
])
KEYS = TableStyle([
    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
    ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2eeee")),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
])


def _p(text: Any, style: str = "cell") -> Paragraph:
    return Paragraph(escape(str(text)), STYLES[style])


def _table(rows: list[list[Any]], widths: list[float], style: TableStyle = GRID) -> Table:
    table = Table([[c if isinstance(c, Paragraph) else _p(c) for c in row] for row in rows],
                  colWidths=widths, repeatRows=1 if style is GRID else 0)
    table.setStyle(style)
    return table


class _Qr(Flowable):
    """A QR code drawn as filled runs of dark modules (segno encodes it; one rect per run)."""

    def __init__(self, url: str, size: float = 32 * mm):
        super().__init__()
        self.rows = [list(row) for row in segno.make(url, error="m").matrix_iter(border=2)]
        self.width = self.height = size

    def draw(self) -> None:
        module = self.width / len(self.rows)
        canvas = self.canv
        canvas.setFillColor(colors.black)
        for y, row in enumerate(self.rows):
            x = 0
            while x < len(row):
                if not row[x]:
                    x += 1
                    continue
                start = x
                while x < len(row) and row[x]:
                    x += 1
                canvas.rect(start * module, self.height - (y + 1) * module,
                            (x - start) * module, module, stroke=0, fill=1)


def _story(view: labels.View) -> list[Any]:
    story: list[Any] = [_p(view.title_zh, "title"), _p(view.title_en, "subtitle")]
    story.append(_table([[k, v] for k, v in view.facts], [45 * mm, 125 * mm], KEYS))
    for block in view.blocks:
        story.append(_p(block.heading, "h2"))
        for line in block.lines:
            story.append(_p(line, "body"))
        for grid in block.grids:
            width = 170 * mm / len(grid.header)
            story.append(Spacer(1, 1.5 * mm))
            story.append(_table([grid.header, *grid.rows], [width] * len(grid.header)))
        for note in block.notes:
            story.append(_p(note, "small"))
    story.append(Spacer(1, 6 * mm))
    verify = [
        [_p("核验码 Verification code", "body")],
        [Paragraph(escape(view.code), STYLES["code"])],
        [_p("扫描二维码或访问以下地址核验本报告真伪、有效期及是否撤销：", "small")],
        [Paragraph(escape(view.verify_url), STYLES["code"])],
        [_p("Scan the QR code or open the address above to check that this report is "
            "genuine, still valid and not revoked.", "small")],
    ]
    inner = Table(verify, colWidths=[128 * mm])
    box = Table([[_Qr(view.verify_url), inner]], colWidths=[38 * mm, 132 * mm])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor("#8a1c1c")),
                             ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story.append(box)
    story.append(Spacer(1, 3 * mm))
    for note in view.footnotes:
        story.append(_p(note, "small"))
    return story


def _footer(code: str, canvas: Canvas, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont(CODE_FONT, 7.5)
    canvas.drawString(20 * mm, 10 * mm, f"Verification code: {code}")
    canvas.drawRightString(190 * mm, 10 * mm, f"{doc.page}")
    canvas.restoreState()


def render(payload: dict[str, Any], *, jws: str) -> bytes:
    """The PDF bytes of a signed report payload."""
    _fonts()
    view = labels.view(payload)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
        bottomMargin=18 * mm, title=f"{view.title_zh} {view.title_en}",
        author="鹏城分 Pengcheng Score", subject=f"Verification code {view.code}",
        creator="pengcheng", keywords=view.code,
        invariant=1,  # no wall-clock timestamp or random id: the bytes depend on the payload
    )
    footer = partial(_footer, view.code)
    doc.build(_story(view), onFirstPage=footer, onLaterPages=footer,
              canvasmaker=partial(_Canvas, extra={JWS_KEY: jws, CODE_KEY: view.code}))
    return out.getvalue()
