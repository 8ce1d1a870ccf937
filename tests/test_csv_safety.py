"""Every CSV CareBench writes is safe to open in a spreadsheet (OWASP CSV injection).

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets one `'` in
front; numbers stay numbers. Checked on the helper, on the CLI export files and on the
data of the dashboard's download buttons.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from carebench.benchmark.csv_safety import FORMULA_TRIGGERS, csv_text, neutralise_formulas
from carebench.benchmark.exports import write_csv
from carebench.cli import app
from carebench.dashboard.charts import table_csv

BRAND = '=HYPERLINK("http://attacker.example/?b=1","Click")'
TEMPLATE = "@=cmd|' /C calc'!A0"
TWCS_HEADER = (
    "tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id",
    "in_response_to_tweet_id",
)  # fmt: skip


def hostile_twcs(path: Path, first_id: int = 1) -> Path:
    """Four customers write to a brand named BRAND, which answers each with TEMPLATE."""
    rows: list[list[object]] = [list(TWCS_HEADER)]
    for i in range(4):
        customer, reply = first_id + 10 * i, first_id + 10 * i + 1
        day = f"Sun Dec 31 1{i}:00:00 +0000 2017"
        rows.append([customer, f"hostile_{i}", "True", day, "@x my parcel is late", reply, ""])
        rows.append(
            [reply, BRAND, "False", day.replace(":00:00", ":30:00"), TEMPLATE, "", customer]
        )
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def read_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS), cell


# -- the helper ---------------------------------------------------------------------------


def test_formula_cells_get_a_quote_and_numbers_stay_numbers():
    table = pd.DataFrame(
        {
            "brand": [BRAND, "Acme", "-5", None],
            "example": pd.array([TEMPLATE, "\tx", "\rx", "+1"], dtype="string"),
            "tier": pd.Categorical(["=1+1", "gold", "=1+1", "gold"]),
            "delta": [-5, 3, 0, -1],
            "minutes": [-1.5, 2.0, float("nan"), -0.25],
            "@header": ["ok"] * 4,
        }
    )
    rows = read_cells(csv_text(table))
    assert rows[0] == ["brand", "example", "tier", "delta", "minutes", "'@header"]
    assert [r[0] for r in rows[1:]] == ["'" + BRAND, "Acme", "'-5", ""]
    assert [r[1] for r in rows[1:]] == ["'" + TEMPLATE, "'\tx", "'\rx", "'+1"]
    assert [r[2] for r in rows[1:]] == ["'=1+1", "gold", "'=1+1", "gold"]
    # Numeric columns hold no text: a negative number is written as the number it is.
    assert [r[3] for r in rows[1:]] == ["-5", "3", "0", "-1"]
    assert [r[4] for r in rows[1:]] == ["-1.5", "2.0", "", "-0.25"]
    # The table given is not changed.
    assert table["brand"].iloc[0] == BRAND


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
triggerish = st.one_of(
    texts, st.sampled_from(FORMULA_TRIGGERS).flatmap(lambda c: texts.map(c.__add__))
)


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(st.tuples(triggerish, triggerish), min_size=1, max_size=8),
    dtype=st.sampled_from([object, "string"]),
)
def test_no_written_cell_starts_a_formula_and_the_quote_is_the_only_change(
    cells: list[tuple[str, str]], dtype: object
):
    table = pd.DataFrame(cells, columns=["a", "b"]).astype(dtype)
    rows = read_cells(table_csv(table))
    assert_no_formula(rows)
    for (original_a, original_b), written in zip(cells, rows[1:], strict=True):
        for original, cell in zip((original_a, original_b), written, strict=True):
            if original.startswith(FORMULA_TRIGGERS):
                assert cell == "'" + original
                assert cell[1:] == original
            else:
                assert cell == original


def test_write_csv_and_the_dashboard_write_the_same_bytes(tmp_path: Path):
    table = pd.DataFrame({"brand": [BRAND], "ok": [True], "n": [-3]})
    write_csv(table, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == table_csv(table)
    assert neutralise_formulas(table)["brand"].iloc[0] == "'" + BRAND


# -- the CLI exports --------------------------------------------------------------------


@pytest.mark.parametrize("table", ["conversations", "templates", "scorecard"])
def test_cli_exports_neutralise_a_hostile_brand_and_template(tmp_path: Path, table: str):
    db = tmp_path / "store.duckdb"
    runner = CliRunner()
    imported = runner.invoke(
        app, ["import", "twcs", str(hostile_twcs(tmp_path / "h.csv")), "--db", str(db)]
    )
    assert imported.exit_code == 0, imported.output
    out = tmp_path / f"{table}.csv"
    result = runner.invoke(app, ["export", table, "-o", str(out), "--db", str(db)])
    assert result.exit_code == 0, result.output
    rows = read_cells(out.read_text(encoding="utf-8"))
    assert_no_formula(rows)
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    assert set(frame["brand"]) == {"'" + BRAND}
    if table == "templates":
        assert frame["example_1"].tolist() == ["'" + TEMPLATE]
    if table == "conversations":
        # Numbers are written as numbers, not as quoted text.
        assert set(frame["ttfr_seconds"]) == {"1800.0"}


def test_a_lone_carriage_return_cannot_start_a_row_of_its_own():
    # Python's csv writer leaves a cell with a bare CR unquoted; a spreadsheet would start
    # a new row there, with the formula after it in the first cell.
    table = pd.DataFrame({"text": ["ok\r" + BRAND, "fine"], "n": [-1, 2]})
    text = table_csv(table)
    assert read_cells(text) == [["text", "n"], ["ok\r" + BRAND, "-1"], ["fine", "2"]]
    # Quoted, so the CR is part of the cell; numbers stay unquoted.
    assert text.startswith('"text","n"\n"ok\r=HYPERLINK') and ',-1\n"fine",2\n' in text


@pytest.mark.parametrize("dtype", [object, "string"])
def test_rows_keep_their_own_cells_under_a_repeated_index(dtype: object):
    table = pd.DataFrame({"a": ["x", "=1", "y", "@2"]}, index=[0, 0, 1, 1]).astype(dtype)
    assert read_cells(table_csv(table)) == [["a"], ["x"], ["'=1"], ["y"], ["'@2"]]
