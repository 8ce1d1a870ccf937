"""Scripts read `--json` summaries; people get notes about renamed options and flags."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from carebench.cli import app
from tests.conftest import SHARED_DATA, twcs_file

runner = CliRunner()


def schema(name: str) -> dict:
    return json.loads(resources.files("carebench").joinpath(f"schemas/{name}").read_text())


def test_import_json_is_the_only_thing_on_stdout_and_follows_its_schema(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    result = runner.invoke(
        app, ["import", "twcs", str(twcs_file("twcs_head_5k.csv")), "--db", str(db), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, schema("import_summary.schema.json"))
    (source,) = payload["sources"]
    assert source["posts_read"] == 5000
    counted = ("new", "updated", "unchanged", "duplicates", "rejected")
    assert source["posts_read"] == sum(source[k] for k in counted)
    assert payload["posts_in_store"] == source["new"]


def test_ibm_care_summary_counts_posts_not_dialogs(tmp_path: Path):
    path = SHARED_DATA / "ibm_care" / "dev.json"
    if not path.exists():
        import pytest

        pytest.skip(f"real data {path} is absent")
    result = runner.invoke(
        app, ["import", "ibm-care", str(path), "--db", str(tmp_path / "s.duckdb"), "--json"]
    )
    (source,) = json.loads(result.stdout)["sources"]
    # 525 dialogs, 1,211 turns: "read" is in turns (posts), like "new".
    assert (source["posts_read"], source["new"], source["duplicates"]) == (1211, 1205, 6)


def test_export_json(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    runner.invoke(app, ["import", "twcs", str(twcs_file("twcs_head_5k.csv")), "--db", str(db)])
    out = tmp_path / "c.csv"
    result = runner.invoke(
        app, ["export", "conversations", "-o", str(out), "--db", str(db), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, schema("export_summary.schema.json"))
    assert payload["rows"] == sum(1 for _ in out.open(encoding="utf-8")) - 1


def test_the_old_brands_option_still_works_with_a_note(tmp_path: Path):
    config = tmp_path / "brands.toml"
    config.write_text('[brands.Amazon]\naccounts = ["twitter:AmazonHelp"]\n')
    db = tmp_path / "s.duckdb"
    runner.invoke(app, ["import", "twcs", str(twcs_file("twcs_head_5k.csv")), "--db", str(db)])
    old = runner.invoke(app, ["scorecard", "--db", str(db), "--brands", str(config)])
    new = runner.invoke(app, ["scorecard", "--db", str(db), "--brand-config", str(config)])
    assert old.exit_code == new.exit_code == 0, old.output
    assert "--brands is now --brand-config" in old.stderr
    assert "--brands is now" not in new.stderr
    assert "Amazon" in new.stdout and old.stdout == new.stdout


def test_a_flag_given_a_value_says_it_is_a_flag(tmp_path: Path):
    result = runner.invoke(
        app, ["export", "conversations", "-o", str(tmp_path / "c.csv"), "--anonymise", "true"]
    )
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "--anonymise is a flag and takes no value" in said
