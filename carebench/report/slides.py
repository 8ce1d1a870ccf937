"""The workshop report as PowerPoint: 16:9, native charts and tables a consultant restyles.

Every chart is a PowerPoint chart built from the same aggregate tables as the PDF's
(the series of `carebench.report.content.Chart`), so its numbers can be edited and
restyled in the client's template; every table is a PowerPoint table. No text is set
below 12 pt, so the back of the room can read it. Example threads reuse the training
deck's speech-bubble slides.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lxml import etree
from pptx.chart.data import CategoryChartData, XyChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION, XL_TICK_LABEL_POSITION
from pptx.oxml.ns import qn
from pptx.presentation import Presentation as PresentationFile
from pptx.slide import Slide
from pptx.util import Inches, Pt

from carebench.report.content import Chart, Page, Report, Table
from carebench.report.deck import (
    INK,
    MUTED,
    blank_layout,
    open_presentation,
    text_box,
    text_paragraph,
    thread_slides,
)

MIN_PT = 12
TITLE_PT = 28
LEAD_PT = 20
BODY_PT = 16
CHART_PT = 14
TABLE_PT = 12
LEFT = 0.45
WIDTH = 12.4
# Where a slide's content starts and ends (inches), under the title and above the footer.
TOP = 1.25
BOTTOM = 6.95
HEADER_FILL = RGBColor(0xE9, 0xEC, 0xEF)
FOCUS_FILL = RGBColor(0xFF, 0xF3, 0xBF)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
RULE = RGBColor(0xCE, 0xD4, 0xDA)


def _rgb(hex_colour: str) -> RGBColor:
    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def _slide(deck: PresentationFile, title: str, footer: str) -> Slide:
    slide = deck.slides.add_slide(blank_layout(deck))
    frame = text_box(slide, LEFT, 0.3, WIDTH, 0.8)
    text_paragraph(frame, title, TITLE_PT, bold=True, first=True)
    frame = text_box(slide, LEFT, 7.0, WIDTH, 0.4)
    text_paragraph(frame, footer, MIN_PT, colour=MUTED, first=True)
    return slide


# -- tables -------------------------------------------------------------------------------


def _chars_per_line(width_in: float, size_pt: int) -> int:
    return max(int(width_in * 72 / (size_pt * 0.5)), 6)


def _row_height(row: Sequence[str], widths: Sequence[float], size_pt: int) -> float:
    lines = 1
    for text, width in zip(row, widths, strict=True):
        per_line = _chars_per_line(width - 0.15, size_pt)
        cell = sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))
        lines = max(lines, cell)
    return lines * size_pt * 1.2 / 72 + 0.08


def _widths(table: Table, total: float) -> list[float]:
    longest = []
    for i, column in enumerate(table.columns):
        cells = [column, *(row[i] for row in table.rows)]
        longest.append(min(max(max(len(x) for x in c.split("\n")) for c in cells) + 2, 60))
    return [total * n / sum(longest) for n in longest]


def table_pages(table: Table, room: float) -> list[list[int]]:
    """The table's rows cut into slides whose estimated height fits `room` inches."""
    widths = _widths(table, WIDTH)
    header = _row_height(table.columns, widths, TABLE_PT)
    pages: list[list[int]] = [[]]
    used = header
    for index, row in enumerate(table.rows):
        height = _row_height(row, widths, TABLE_PT)
        if pages[-1] and used + height > room:
            pages.append([])
            used = header
        pages[-1].append(index)
        used += height
    if len(pages) == 1:
        return pages
    # As many slides as needed, each about as full: 5 + 5 rows reads better than 9 + 1.
    per_slide = math.ceil(len(table.rows) / len(pages))
    if max(len(p) for p in pages) < per_slide:
        return pages
    rows = list(range(len(table.rows)))
    return [rows[i : i + per_slide] for i in range(0, len(rows), per_slide)]


def _add_table(slide: Slide, table: Table, rows: Sequence[int], top: float, bottom: float) -> None:
    widths = _widths(table, WIDTH)
    shape = slide.shapes.add_table(
        len(rows) + 1, len(table.columns), Inches(LEFT), Inches(top), Inches(WIDTH), Inches(0.4)
    )
    grid = shape.table
    grid.first_row = True
    for i, width in enumerate(widths):
        grid.columns[i].width = Inches(width)
    cells = [table.columns, *(table.rows[i] for i in rows)]
    bold = {rows.index(i) + 1 for i in table.bold_rows if i in rows}
    for r, row in enumerate(cells):
        grid.rows[r].height = Inches(_row_height(row, widths, TABLE_PT))
        for c, text in enumerate(row):
            cell = grid.cell(r, c)
            cell.fill.solid()
            cell.fill.fore_color.rgb = HEADER_FILL if r == 0 else FOCUS_FILL if r in bold else WHITE
            cell.margin_left = cell.margin_right = Inches(0.06)
            cell.margin_top = cell.margin_bottom = Inches(0.03)
            frame = cell.text_frame
            frame.word_wrap = True
            for number, line in enumerate(text.split("\n")):
                text_paragraph(frame, line, TABLE_PT, bold=r == 0, first=number == 0)


def _lines_height(lines: Sequence[str], size_pt: int) -> float:
    per_line = _chars_per_line(WIDTH - 0.2, size_pt)
    count = sum(max(1, math.ceil(len(line) / per_line)) for line in lines)
    return count * size_pt * 1.25 / 72 + (0.1 if lines else 0.0)


def _table_slides(
    deck: PresentationFile, title: str, table: Table, footer: str, lines: Sequence[str] = ()
) -> None:
    """The table on as many slides as it needs; the page's lines on the first only."""
    lines_height = _lines_height(lines, BODY_PT)
    note_room = 0.55 if table.note else 0.0
    # Every slide gets the first one's room, so continued slides hold as many rows.
    pages = table_pages(table, BOTTOM - (TOP + 0.5 + lines_height) - note_room)
    for number, rows in enumerate(pages, start=1):
        heading = title + (f" ({number}/{len(pages)})" if len(pages) > 1 else "")
        slide = _slide(deck, heading, footer)
        frame = text_box(slide, LEFT, TOP - 0.05, WIDTH, 0.5)
        text_paragraph(frame, table.title, BODY_PT, bold=True, first=True)
        shown = lines if number == 1 else ()
        if shown:
            frame = text_box(slide, LEFT, TOP + 0.45, WIDTH, lines_height)
            for i, line in enumerate(shown):
                text_paragraph(frame, line, BODY_PT, colour=MUTED, first=i == 0)
        top = TOP + 0.5 + (lines_height if shown else 0.0)
        _add_table(slide, table, rows, top, BOTTOM - note_room)
        if table.note:
            frame = text_box(slide, LEFT, BOTTOM - note_room + 0.05, WIDTH, note_room)
            text_paragraph(frame, table.note, MIN_PT, colour=MUTED, first=True)


# -- charts -------------------------------------------------------------------------------

_KINDS = {
    "bar": XL_CHART_TYPE.BAR_CLUSTERED,
    "stacked": XL_CHART_TYPE.BAR_STACKED,
    "line": XL_CHART_TYPE.LINE_MARKERS,
    "xy": XL_CHART_TYPE.XY_SCATTER_LINES_NO_MARKERS,
}


def _chart_data(chart: Chart) -> Any:  # python-pptx types its chart data loosely
    if chart.kind == "xy":
        xy = XyChartData()
        for series in chart.series:
            points = xy.add_series(series.name)
            for x, y in zip(series.x, series.values, strict=True):
                if y is not None:
                    points.add_data_point(x, y)
        return xy
    data = CategoryChartData(number_format="0.0")
    data.categories = list(chart.categories)
    for series in chart.series:
        data.add_series(series.name, list(series.values))
    return data


def _log_axis(axis: object) -> None:
    """A log (base 10) scale on a value axis: python-pptx has no setting for it."""
    element = axis._element  # type: ignore[attr-defined]
    scaling = element.find(qn("c:scaling"))
    if scaling is not None and scaling.find(qn("c:logBase")) is None:
        log = etree.SubElement(scaling, qn("c:logBase"))
        log.set("val", "10")
        scaling.remove(log)
        scaling.insert(0, log)


def _add_chart(slide: Slide, chart: Chart, top: float, height: float) -> None:
    kind = _KINDS[chart.kind]
    # Horizontal bars of many series (channels, topics) read better as columns.
    if chart.kind == "bar" and len(chart.series) > 1:
        kind = XL_CHART_TYPE.COLUMN_CLUSTERED
    frame = slide.shapes.add_chart(
        kind, Inches(LEFT), Inches(top), Inches(WIDTH), Inches(height), _chart_data(chart)
    )
    native = frame.chart  # type: ignore[attr-defined]
    native.font.size = Pt(CHART_PT)
    native.font.color.rgb = INK
    native.has_title = False
    several = len(chart.series) > 1
    native.has_legend = several
    if several:
        native.legend.position = XL_LEGEND_POSITION.BOTTOM
        native.legend.include_in_layout = False
        native.legend.font.size = Pt(CHART_PT)
    value_axis = native.value_axis
    value_axis.has_major_gridlines = True
    value_axis.major_gridlines.format.line.color.rgb = RULE
    value_axis.tick_labels.font.size = Pt(CHART_PT)
    value_axis.has_title = True
    value_axis.axis_title.text_frame.text = chart.value_title
    value_axis.axis_title.text_frame.paragraphs[0].runs[0].font.size = Pt(CHART_PT)
    if chart.value_max is not None:
        value_axis.maximum_scale = chart.value_max
        value_axis.minimum_scale = 0
    category_axis = native.category_axis
    category_axis.tick_labels.font.size = Pt(CHART_PT)
    category_axis.has_title = True
    category_axis.axis_title.text_frame.text = chart.category_title
    category_axis.axis_title.text_frame.paragraphs[0].runs[0].font.size = Pt(CHART_PT)
    if chart.kind == "xy" and chart.log_x:
        _log_axis(category_axis)
        category_axis.minimum_scale = 0.1
    if (chart.kind in ("bar", "stacked") and not several) or chart.kind == "stacked":
        # Bars top-down in the brands' order (focus first), as in the PDF.
        category_axis.reverse_order = True
        category_axis.tick_label_position = XL_TICK_LABEL_POSITION.LOW
    plot = native.plots[0]
    if chart.kind in ("bar", "stacked"):
        plot.gap_width = 60
        if chart.kind == "stacked":
            plot.overlap = 100
    if chart.kind == "bar" and not several:
        plot.has_data_labels = True
        labels = plot.data_labels
        labels.font.size = Pt(CHART_PT)
        labels.number_format = "0.0"
        labels.number_format_is_linked = False
    for series, drawn in zip(chart.series, plot.series, strict=True):
        colour = _rgb(series.colour)
        if chart.kind in ("line", "xy"):
            drawn.format.line.color.rgb = colour
            drawn.format.line.width = Pt(4.5 if series.focus else 2.25)
            drawn.smooth = False
            if chart.kind == "line":
                drawn.marker.format.fill.solid()
                drawn.marker.format.fill.fore_color.rgb = colour
                drawn.marker.format.line.color.rgb = colour
        else:
            drawn.format.fill.solid()
            drawn.format.fill.fore_color.rgb = colour
            if series.focus:
                drawn.format.line.color.rgb = INK
                drawn.format.line.width = Pt(1.5)
        for index, point_colour in enumerate(series.point_colours):
            point = drawn.points[index]
            point.format.fill.solid()
            point.format.fill.fore_color.rgb = _rgb(point_colour)
            if index == 0:  # the focus brand: outlined
                point.format.line.color.rgb = INK
                point.format.line.width = Pt(2)


def _chart_slide(
    deck: PresentationFile, title: str, chart: Chart, footer: str, lines: Sequence[str] = ()
) -> None:
    slide = _slide(deck, title, footer)
    frame = text_box(slide, LEFT, TOP - 0.1, WIDTH, 0.5)
    text_paragraph(frame, chart.title, BODY_PT + 2, bold=True, first=True)
    text = [*lines, *chart.notes]
    frame = text_box(slide, LEFT, TOP + 0.35, WIDTH, 0.3 * len(text))
    for i, line in enumerate(text):
        text_paragraph(
            frame, line, MIN_PT + (2 if i < len(lines) else 0), colour=MUTED, first=i == 0
        )
    top = TOP + 0.45 + 0.26 * len(text) + 0.1 * len(lines)
    _add_chart(slide, chart, top, BOTTOM - top)


# -- pages --------------------------------------------------------------------------------


def _page_slides(deck: PresentationFile, page: Page, report: Report, footer: str) -> None:
    if page.kind == "title":
        slide = deck.slides.add_slide(blank_layout(deck))
        frame = text_box(slide, 0.8, 1.6, 11.7, 1.2)
        text_paragraph(frame, page.title, 40, bold=True, first=True)
        frame = text_box(slide, 0.8, 2.9, 11.7, 4.0)
        for i, line in enumerate(page.lines):
            text_paragraph(
                frame, line, 20 if i == 0 else 18, colour=INK if i == 0 else MUTED, first=i == 0
            )
        return
    if page.thread is not None:
        thread_slides(deck, page.thread, report.options.sla_seconds)
        return
    # A page's notes (e.g. "accuracy not measured") go with its own lines, on its first slide.
    lines = [*page.lines, *page.notes]
    if page.kind == "summary" or (not page.charts and not page.tables):
        slide = _slide(deck, page.title, footer)
        frame = text_box(slide, LEFT, TOP, WIDTH, BOTTOM - TOP)
        for i, line in enumerate(lines):
            paragraph = text_paragraph(frame, "• " + line, LEAD_PT, first=i == 0)
            paragraph.space_after = Pt(10)
        return
    parts: list[Chart | Table] = [*page.charts, *page.tables]
    for number, part in enumerate(parts, start=1):
        title = page.title + (f" ({number}/{len(parts)})" if len(parts) > 1 else "")
        shown = lines if number == 1 else []
        if isinstance(part, Chart):
            _chart_slide(deck, title, part, footer, shown)
        else:
            _table_slides(deck, title, part, footer, shown)


def write_pptx(
    report: Report,
    output: str | Path,
    *,
    template: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Write the report as a PowerPoint file; returns its number of slides."""
    step = progress or (lambda _: None)
    deck = open_presentation(template)
    footer = report_footer(report)
    for page in report.pages:
        step(page.title)
        _page_slides(deck, page, report, footer)
    step("saving")
    deck.save(str(output))
    return len(deck.slides)


def report_footer(report: Report) -> str:
    """What every slide says about the data behind it: brands, period, SLA, store."""
    title = report.page("title")
    lines = title[0].lines if title else ()
    period = next((line for line in lines if line.startswith("Period: ")), "")
    sla = next((line for line in lines if line.startswith("SLA: ")), "")
    store = report.options.store_name
    # The dates only: the period line's note on stray conversations is on the title slide.
    dates = period.removeprefix("Period: ").split(";")[0]
    parts = [report.title, dates, sla, f"store {store}" if store else ""]
    return " · ".join(p for p in parts if p)
