"""The layers stay one-way: collectors -> store -> benchmark -> dashboard."""

from __future__ import annotations

import ast
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
}


def project_imports(path: Path) -> set[str]:
    return {n for n in _all_imports(path) if n.startswith("carebench")}


def layer_files(layer: str) -> list[Path]:
    if layer in ("store", "ingest"):
        return [PACKAGE / f"{layer}.py"]
    return sorted((PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_is_below_it(layer: str):
    for path in layer_files(layer):
        for name in project_imports(path):
            assert any(name == ok or name.startswith(ok + ".") for ok in ALLOWED[layer]), (
                f"{path.name} imports {name}: {layer} may not depend on it"
            )


def test_only_the_dashboard_imports_streamlit():
    for path in PACKAGE.rglob("*.py"):
        if "dashboard" in path.parts:
            continue
        roots = {n.split(".")[0] for n in _all_imports(path)}
        assert "streamlit" not in roots, f"{path} imports streamlit"


def _all_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names
