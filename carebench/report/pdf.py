"""The workshop report as a PDF: A4 landscape, laid out by reportlab's platypus.

Charts are the dashboard's own Altair charts, rendered to SVG by vl-convert and drawn
as vector graphics (svglib), so they print sharp at any size. Every font is embedded:
reportlab's bundled Bitstream Vera, which also stands in for the chart fonts, so the
file looks the same on a machine without them.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab import rl_config
from reportlab.graphics import shapes
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as RLTable

import carebench.dashboard.charts as ch
from carebench.report.content import Chart, Page, Report, Table
from carebench.report.deck import (
    BAD_BADGES,
    GOOD_BADGES,
    DeckThread,
    _is_fault,
    _turn_header,
    _turn_text,
    advice_for,
)

PAGE = landscape(A4)
MARGIN = 14 * mm
FRAME_WIDTH = PAGE[0] - 2 * MARGIN
FRAME_HEIGHT = PAGE[1] - 2 * MARGIN - 8 * mm  # room for the footer
# A chart takes at most this much of the page height, leaving room for the heading.
CHART_HEIGHT = FRAME_HEIGHT - 26 * mm
CHART_WIDTH_PX = 1000

FONT, BOLD, ITALIC, BOLD_ITALIC = "Vera", "VeraBd", "VeraIt", "VeraBI"
INK = colors.HexColor("#212529")
MUTED = colors.HexColor("#495057")
RULE = colors.HexColor("#CED4DA")
HEADER_FILL = colors.HexColor("#E9ECEF")
FOCUS_FILL = colors.HexColor("#FFF3BF")
BUBBLE_FILL = {
    "customer": colors.HexColor("#F1F3F5"),
    "brand": colors.HexColor("#D0EBFF"),
}
OTHER_FILL = colors.HexColor("#FFF3BF")
BAD = colors.HexColor("#C92A2A")
GOOD = colors.HexColor("#2B8A3E")


@cache
def register_fonts() -> None:
    """Register Vera with reportlab and map every chart font family to it (in svglib)."""
    from svglib import fonts as svg_fonts

    folder = Path(reportlab.__file__).parent / "fonts"
    faces = {FONT: "Vera.ttf", BOLD: "VeraBd.ttf", ITALIC: "VeraIt.ttf", BOLD_ITALIC: "VeraBI.ttf"}
    for name, file in faces.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC
    )
    # Without this the canvas starts in Helvetica, a font the PDF would name but not embed.
    rl_config.canvas_basefontname = FONT
    # ...and each drawing (a chart) starts in the graphics default, Helvetica too.
    shapes.STATE_DEFAULTS["fontName"] = FONT
    families = [f.strip().strip('"') for f in ch.FONT.split(",")] + ["Helvetica", "sans-serif"]
    for family in families:
        for weight, style, name in (
            ("normal", "normal", FONT),
            ("bold", "normal", BOLD),
            ("normal", "italic", ITALIC),
            ("bold", "italic", BOLD_ITALIC),
        ):
            svg_fonts.register_font(
                family, str(folder / faces[name]), weight=weight, style=style, rlgFontName=name
            )


@cache
def _glyphs() -> frozenset[int]:
    register_fonts()
    face: Any = pdfmetrics.getFont(FONT)
    return frozenset(face.face.charToGlyph)


def printable(text: str) -> str:
    """`text` without the characters Vera has no glyph for (emoji, arrows), escaped."""
    glyphs = _glyphs()
    kept = []
    for char in text:
        if ord(char) in glyphs or char in "\n\t":
            kept.append(char)
        elif unicodedata.category(char) not in ("So", "Sk", "Mn", "Cf", "Cs", "Co"):
            kept.append("?")
    return escape("".join(kept)).replace("\n", "<br/>")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=14.5, textColor=INK)
    return {
        "body": base,
        "lead": ParagraphStyle("lead", base, fontSize=14, leading=19, spaceAfter=7),
        "cover": ParagraphStyle("cover", base, fontName=BOLD, fontSize=30, leading=36),
        "cover_line": ParagraphStyle("cover_line", base, fontSize=15, leading=22, textColor=MUTED),
        "h1": ParagraphStyle("h1", base, fontName=BOLD, fontSize=20, leading=25, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2",
            base,
            fontName=BOLD,
            fontSize=13,
            leading=17,
            spaceBefore=6,
            spaceAfter=3,
            keepWithNext=1,
        ),
        "small": ParagraphStyle("small", base, fontSize=9, leading=11.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", base, fontSize=9.5, leading=12, alignment=TA_LEFT),
        "head": ParagraphStyle("head", base, fontName=BOLD, fontSize=9.5, leading=12),
        "turn_head": ParagraphStyle(
            "turn_head", base, fontName=BOLD, fontSize=9, leading=11.5, textColor=MUTED
        ),
        "turn": ParagraphStyle("turn", base, fontSize=11, leading=14),
        "badge": ParagraphStyle("badge", base, fontName=ITALIC, fontSize=9, leading=11.5),
    }


# -- charts -----------------------------------------------------------------------------


def chart_drawing(chart: Chart) -> Drawing:
    """The chart's Altair spec as a vector drawing that fits the page."""
    from svglib.svglib import svg2rlg

    register_fonts()
    svg = ch.chart_svg(chart.spec)
    drawing = svg2rlg(io.BytesIO(svg.encode("utf-8")))
    if drawing is None:  # pragma: no cover - vl-convert always writes an SVG
        raise RuntimeError(f"chart {chart.key}: the SVG could not be read")
    scale = min(FRAME_WIDTH / drawing.width, CHART_HEIGHT / drawing.height)
    drawing.scale(scale, scale)
    drawing.width, drawing.height = drawing.width * scale, drawing.height * scale
    return drawing


def chart_drawings(charts: Sequence[Chart]) -> dict[str, Drawing]:
    """Every chart's drawing, rendered two at a time (vl-convert works outside Python)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        drawings = list(pool.map(chart_drawing, charts))
    return {c.key: d for c, d in zip(charts, drawings, strict=True)}


# -- tables -----------------------------------------------------------------------------


def _table(table: Table, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    header = [Paragraph(printable(c), styles["head"]) for c in table.columns]
    body = [[Paragraph(printable(cell), styles["cell"]) for cell in row] for row in table.rows]
    widths = _widths(table)
    grid = RLTable([header, *body], colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    for row in table.bold_rows:
        style.append(("BACKGROUND", (0, row + 1), (-1, row + 1), FOCUS_FILL))
    grid.setStyle(TableStyle(style))
    # The title keeps with the table (keepWithNext): never alone at the foot of a page.
    out: list[Flowable] = [Paragraph(printable(table.title), styles["h2"]), grid]
    if table.note:
        out += [Spacer(1, 3), Paragraph(printable(table.note), styles["small"])]
    return out


def _widths(table: Table) -> list[float]:
    """Column widths by the longest line each column holds, within the page width."""
    longest = []
    for i, column in enumerate(table.columns):
        cells = [column, *(row[i] for row in table.rows)]
        longest.append(max(max(len(line) for line in c.split("\n")) for c in cells) + 2)
    capped = [min(n, 70) for n in longest]
    total = sum(capped)
    return [FRAME_WIDTH * n / total for n in capped]


# -- threads ----------------------------------------------------------------------------


def _thread(thread: DeckThread, sla_seconds: float, styles: dict[str, ParagraphStyle]) -> list:
    out: list[Flowable] = []
    if thread.reasons:
        out.append(Paragraph(printable("Why it is here: " + thread.reasons), styles["small"]))
        out.append(Spacer(1, 4))
    bubbles = []
    for turn in thread.turns:
        cells: list[Flowable] = [
            Paragraph(printable(_turn_header(turn, thread.brand)), styles["turn_head"]),
            Paragraph(printable(_turn_text(turn)), styles["turn"]),
        ]
        if turn.badges:
            parts = []
            for badge in turn.badges:
                colour = (
                    "#C92A2A"
                    if badge.kind in BAD_BADGES
                    else "#2B8A3E"
                    if badge.kind in GOOD_BADGES
                    else "#495057"
                )
                parts.append(f'<font color="{colour}">{printable(badge.label)}</font>')
            cells.append(Paragraph(" · ".join(parts), styles["badge"]))
        indent = 0.0 if turn.role == "customer" else 40.0
        bubble = RLTable([[cells]], colWidths=[FRAME_WIDTH * 0.62 - 40], hAlign="LEFT")
        bubble.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), FONT),
                    ("BACKGROUND", (0, 0), (-1, -1), BUBBLE_FILL.get(turn.role, OTHER_FILL)),
                    ("LEFTPADDING", (0, 0), (-1, -1), 8),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                    ("TOPPADDING", (0, 0), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            )
        )
        holder = RLTable([["", bubble]], colWidths=[indent + 0.01, None], hAlign="LEFT")
        holder.setStyle(
            TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("FONTNAME", (0, 0), (-1, -1), FONT)])
        )
        bubbles.append(holder)
        bubbles.append(Spacer(1, 4))
    side = _side_panel(thread, sla_seconds, styles)
    layout = RLTable(
        [[bubbles, side]],
        colWidths=[FRAME_WIDTH * 0.64, FRAME_WIDTH * 0.36],
        hAlign="LEFT",
        splitByRow=True,
    )
    layout.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), FONT)])
    )
    if len(thread.turns) <= 6:
        return [*out, layout]
    # A long thread flows on to the next page instead of being cut; the notes follow it.
    return [*out, *bubbles, Spacer(1, 6), *side]


def _side_panel(
    thread: DeckThread, sla_seconds: float, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    reasons = [part.strip() for part in thread.reasons.split(",") if part.strip()]
    side: list[Flowable] = []
    for heading, parts, colour in (
        ("What went well", [r for r in reasons if not _is_fault(r)], "#2B8A3E"),
        ("What went wrong", [r for r in reasons if _is_fault(r)], "#C92A2A"),
    ):
        if parts:
            side.append(Paragraph(f'<font color="{colour}"><b>{heading}</b></font>', styles["h2"]))
            side += [Paragraph("• " + printable(p), styles["body"]) for p in parts]
    if thread.note:
        side.append(Paragraph("<b>Note</b>", styles["h2"]))
        side.append(Paragraph(printable(thread.note), styles["body"]))
    tips = advice_for(thread.reasons, sla_seconds)
    if tips:
        side.append(Paragraph("<b>What good looks like</b>", styles["h2"]))
        side += [Paragraph("• " + printable(t), styles["body"]) for t in tips]
    return side


# -- pages ------------------------------------------------------------------------------


def _page(
    page: Page,
    drawings: dict[str, Drawing],
    styles: dict[str, ParagraphStyle],
    sla_seconds: float,
) -> list[Flowable]:
    if page.kind == "title":
        return [
            Spacer(1, 40 * mm),
            Paragraph(printable(page.title), styles["cover"]),
            Spacer(1, 8 * mm),
            *(Paragraph(printable(line), styles["cover_line"]) for line in page.lines),
        ]
    heading = Paragraph(printable(page.title), styles["h1"])
    lead_style = styles["lead"] if page.kind == "summary" else styles["body"]
    lines = [Paragraph(printable(line), lead_style) for line in page.lines]
    out: list[Flowable] = [heading, *lines]
    if page.kind == "summary":
        bullet = ParagraphStyle(
            "bullet", lead_style, leftIndent=16, bulletIndent=2, spaceAfter=10, bulletFontName=FONT
        )
        out = [heading, *(Paragraph(printable(t), bullet, bulletText="•") for t in page.lines)]
    if lines:
        out.append(Spacer(1, 4))
    for number, chart in enumerate(page.charts):
        drawing = drawings[chart.key]
        if number == 0:
            out.append(CondPageBreak(drawing.height + 10))
            out.append(drawing)
        else:
            out.append(KeepTogether([Spacer(1, 6), drawing]))
    for table in page.tables:
        out += [Spacer(1, 6), *_table(table, styles)]
    if page.thread is not None:
        out += _thread(page.thread, sla_seconds, styles)
    out += [Paragraph(printable(n), styles["small"]) for n in page.notes]
    return out


class _Document(SimpleDocTemplate):
    """A document whose page headings become the PDF's outline (its bookmarks)."""

    def afterFlowable(self, flowable: Flowable) -> None:  # reportlab calls this name
        if isinstance(flowable, Paragraph) and flowable.style.name in ("h1", "cover"):
            key = f"page-{self.page}-{id(flowable)}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.getPlainText(), key, level=0)


def write_pdf(
    report: Report, output: str | Path, *, progress: Callable[[str], None] | None = None
) -> int:
    """Write the report as a PDF; returns its number of pages."""
    register_fonts()
    step = progress or (lambda _: None)
    step("drawing charts")
    drawings = chart_drawings(report.charts)
    styles = _styles()
    story: list[Flowable] = []
    for number, page in enumerate(report.pages):
        if number:
            story.append(PageBreak())
        story += _page(page, drawings, styles, report.options.sla_seconds)
    footer = f"CareBench workshop report · {report.title}"
    pages = {"count": 0}

    def decorate(canvas: Canvas, doc: Any) -> None:
        pages["count"] = doc.page
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, MARGIN / 2, printable(footer).replace("&amp;", "&"))
        canvas.drawRightString(PAGE[0] - MARGIN, MARGIN / 2, f"page {doc.page}")
        canvas.restoreState()

    step("laying out the PDF")
    document = _Document(
        str(output),
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        title=f"Customer care benchmark: {report.title}",
        author="CareBench",
        initialFontName=FONT,
    )
    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return pages["count"]
