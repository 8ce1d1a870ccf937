"""The dashboard's latency, measured as `benchmarks/bench_dashboard.py` reports it.

    CAREBENCH_DB=STORE python -m carebench.dashboard.latency   # prints one JSON line

Streamlit's AppTest runs streamlit_app.py as the server runs it, in this process: the
first page (Scorecard) after the start, then sidebar changes and page changes, each the
server time of one script run. Only this module and the pages import streamlit, so the
benchmark drives the app through it. The first run loads the app's modules (pandas,
pyarrow, DuckDB, the analysis code), as a real server's first run does: nothing of the
app is imported before it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
PAGES = "carebench/dashboard/pages"


def dashboard_figures() -> dict[str, Any]:
    """The app in this process, as a server runs it (AppTest)."""
    figures: dict[str, Any] = {}
    at = AppTest.from_file(str(APP), default_timeout=600)
    started = time.perf_counter()
    at.run()
    figures["first page (s)"] = time.perf_counter() - started
    _check(at)
    filters = at.session_state["carebench_filters"]

    def timed(action: Callable[[], object]) -> float:
        started = time.perf_counter()
        action()
        seconds = time.perf_counter() - started
        _check(at)
        return seconds

    sidebar = [
        timed(lambda: at.selectbox(key="flt_focus").set_value(filters.competitors[0]).run()),
        timed(lambda: at.multiselect(key="flt_vs").set_value([filters.focus]).run()),
        timed(lambda: at.select_slider(key="flt_sla").set_value(15).run()),
    ]
    figures["sidebar change (s)"] = max(sidebar)
    figures["sidebar changes (s)"] = [round(s, 3) for s in sidebar]
    pages = {}
    for page in ("speed", "deflection", "trends", "conversations", "data", "scorecard"):
        target = f"{PAGES}/{page}.py"
        pages[page] = timed(lambda: at.switch_page(target).run())  # noqa: B023
    figures["page change, slowest (s)"] = max(pages.values())
    figures["page changes (s)"] = {p: round(s, 3) for p, s in pages.items()}
    return figures


def _check(at: Any) -> None:
    if at.exception:
        raise SystemExit(f"the app raised: {[e.message for e in at.exception]}")
    shown = [str(e.value) for e in at.error]
    if shown:
        raise SystemExit(f"the app showed errors: {shown}")


if __name__ == "__main__":
    print(json.dumps(dashboard_figures()))
