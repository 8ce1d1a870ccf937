"""The "Download report" buttons: the workshop report of the view on screen.

The report is built from the page's own `View` (the sidebar's focus brand, competitors,
dates, platform, SLA and anonymise switch), so its figures are the ones on screen. The
file is made only when a button is clicked, never on every rerun.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from carebench.benchmark.scoring import Analysis

if TYPE_CHECKING:
    from carebench.dashboard.data import View
    from carebench.report.content import Report, ReportOptions

Format = Literal["pdf", "pptx"]
MIME: dict[Format, str] = {
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def report_options(view: View) -> ReportOptions:
    """The report's options from the sidebar's view."""
    from carebench.report.content import ReportOptions, import_sources

    filters = view.filters
    sources, formats, generated = import_sources(view.loaded.imports)
    return ReportOptions(
        focus=filters.focus or "",
        competitors=tuple(b for b in filters.competitors if b != filters.focus),
        sla_minutes=float(filters.sla_minutes),
        start=filters.start,
        end=filters.end,
        anonymise=filters.anonymise,
        # The view's analysis is anonymised already when the switch is on.
        anonymised_input=filters.anonymise,
        store_name=view.store_path.name,
        sources=sources,
        formats=formats,
        all_brands=view.loaded.options.brands,
        min_sample=view.settings.min_sample,
        platform=filters.platform,
        is_demo=view.is_demo or generated,
    )


def view_report(view: View) -> Report:
    """The report's content: the conversations, turns and templates on screen."""
    from carebench.report.content import build_report

    analysis = Analysis(view.conversations, view.turns, view.templates, view.analysis.issues)
    return build_report(analysis, report_options(view))


def report_file(view: View, fmt: Format) -> bytes:
    """The report of the view as PDF or PowerPoint bytes."""
    content = view_report(view)
    with tempfile.TemporaryDirectory(prefix="carebench-report-") as scratch:
        path = Path(scratch) / f"report.{fmt}"
        if fmt == "pdf":
            from carebench.report.pdf import write_pdf

            write_pdf(content, path)
        else:
            from carebench.report.slides import write_pptx

            write_pptx(content, path)
        return path.read_bytes()


def file_name(view: View, fmt: Format) -> str:
    focus = view.filters.focus or "report"
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in focus)
    return f"carebench-report-{safe}-{view.filters.start:%Y%m%d}-{view.filters.end:%Y%m%d}.{fmt}"


def report_buttons(view: View) -> None:
    """Two download buttons, PDF and PowerPoint, of the report of this view."""
    import streamlit as st

    if not view.filters.focus:
        st.caption("Choose a focus brand in the sidebar to download the report.")
        return
    left, right, _ = st.columns([2, 2, 5])
    for column, fmt, label in ((left, "pdf", "PDF"), (right, "pptx", "PowerPoint")):
        column.download_button(
            f"Download report ({label})",
            data=lambda fmt=fmt: report_file(view, fmt),  # type: ignore[misc]
            file_name=file_name(view, fmt),  # type: ignore[arg-type]
            mime=MIME[fmt],  # type: ignore[index]
            key=f"report-{fmt}",
            on_click="ignore",
            icon=":material/description:",
            help="The workshop report of this view (focus, competitors, dates, SLA, "
            "anonymise as in the sidebar): summary, scorecard, one page per area, example "
            "threads and the method.",
        )
