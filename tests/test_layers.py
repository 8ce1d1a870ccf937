"""The layers stay one-way: collectors -> store -> benchmark -> dashboard."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "carebench"

# What each layer may import from the project. The CLI sits on top and may use all.
ALLOWED = {
    "collectors": {"carebench.schema", "carebench.errors", "carebench.collectors"},
    "store": {"carebench.schema", "carebench.errors"},
    "ingest": {"carebench.schema", "carebench.errors", "carebench.collectors", "carebench.store"},
    "benchmark": {
        "carebench.schema",
        "carebench.errors",
        "carebench.store",
        "carebench.brands",
        "carebench.benchmark",
    },
    # The dashboard reads stores, imports uploads and builds the demo; never the CLI.
    "dashboard": {
        "carebench.schema",
        "carebench.errors",
        "carebench.store",
        "carebench.ingest",
        "carebench.demo",
        "carebench.brands",
        "carebench.benchmark",
        "carebench.dashboard",
        # The "Download report" button builds the workshop report of the view on screen.
        "carebench.report",
    },
    # The deck and report sit beside the dashboard: they read analyses and may use the
    # dashboard's streamlit-free pieces (thread annotations, aggregates, chart specs, the
    # published accuracy), never its pages.
    "report": {
        "carebench.schema",
        "carebench.errors",
        "carebench.store",
        "carebench.brands",
        "carebench.benchmark",
        "carebench.dashboard.thread_view",
        "carebench.dashboard.aggregates",
        "carebench.dashboard.charts",
        "carebench.dashboard.accuracy",
        "carebench.report",
    },
}
REPO = PACKAGE.parent


def project_imports(path: Path) -> set[str]:
    return {n for n in _all_imports(path) if n.startswith("carebench")}


def layer_files(layer: str) -> list[Path]:
    if layer in ("store", "ingest"):
        return [PACKAGE / f"{layer}.py"]
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_is_below_it(layer: str):
    for path in layer_files(layer):
        for name in project_imports(path):
            assert any(name == ok or name.startswith(ok + ".") for ok in ALLOWED[layer]), (
                f"{path.name} imports {name}: {layer} may not depend on it"
            )


def test_only_the_dashboard_imports_streamlit():
    # streamlit is allowed in carebench/dashboard/ and the entry file streamlit_app.py only.
    others = [*PACKAGE.rglob("*.py"), *REPO.glob("*.py"), *(REPO / "benchmarks").rglob("*.py")]
    for path in others:
        if path.is_relative_to(PACKAGE / "dashboard") or path == REPO / "streamlit_app.py":
            continue
        roots = {n.split(".")[0] for n in _all_imports(path)}
        assert "streamlit" not in roots, f"{path} imports streamlit"


def test_the_entry_file_only_routes():
    # The bare package is imported only for its process setting (carebench/__init__.py),
    # which must come before any page loads pandas; nothing else of carebench.
    names = _all_imports(REPO / "streamlit_app.py")
    # ...and the guard that turns a failing page into a message instead of a traceback.
    allowed = {"__future__", "streamlit", "carebench", "carebench.dashboard.page_guard"}
    assert names <= allowed, f"streamlit_app.py imports {names}"


def test_dashboard_helpers_do_not_need_streamlit():
    # The small tables behind every chart are plain pandas, testable without a page.
    roots = {n.split(".")[0] for n in _all_imports(PACKAGE / "dashboard" / "aggregates.py")}
    assert "streamlit" not in roots


def test_the_report_loads_without_streamlit():
    # The report draws the dashboard's own chart specs: importing them must not need
    # streamlit (charts.py imports it inside the two functions that show things).
    code = (
        "import sys; import carebench.report.content, carebench.report.pdf, "
        "carebench.report.slides; assert 'streamlit' not in sys.modules, 'streamlit loaded'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)


def _all_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names
