"""Re-analysing only the brands an import touches gives what analysing the store whole
gives, conversation for conversation."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.benchmark import persisted
from carebench.benchmark.pipeline import analyse_posts, read_posts
from carebench.benchmark.scoring import Analysis
from carebench.brands import load_brand_config
from carebench.cli import app
from carebench.ingest import import_files, import_twcs_files
from carebench.store import Store
from carebench.synthetic import generate
from tests.conftest import twcs_file

TWCS_TIME = "%a %b %d %H:%M:%S +0000 %Y"


def assert_same(fresh: Analysis, back: Analysis) -> None:
    for name in ("conversations", "turns", "templates"):
        pd.testing.assert_frame_equal(getattr(fresh, name), getattr(back, name), check_exact=True)
    assert fresh.issues == back.issues


def analysed_store(path: Path, first: Path) -> None:
    with Store(path) as store:
        import_twcs_files(store, [first])
        persisted.refresh_analysis(store)


def then_import(path: Path, second: Path, *, replace: bool = False) -> persisted.Refreshed:
    """Import `second` into an analysed store, re-analyse incrementally, and check the
    result against a whole analysis of the store."""
    with Store(path) as store:
        if replace:
            summary = import_files(store, "twcs", [second], replace=True).summaries
            assert summary[0].posts_updated == 1
        else:
            import_twcs_files(store, [second])
        redone = persisted.refresh_analysis(store)
        assert redone is not None
        back = persisted.read_analysis(store)
        whole = analyse_posts(read_posts(store))
    assert_same(whole, back)
    return redone


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        # Generated files carry a namespace column: rows made here leave it empty.
        writer.writerows([*row, *[""] * (len(header) - len(row))] for row in rows)
    return path


@pytest.fixture(autouse=True)
def _no_brand_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(persisted.BRANDS_ENV_VAR, raising=False)


def test_real_data_imported_in_two_halves(tmp_path: Path):
    header, rows = read_rows(twcs_file("twcs_head_5k.csv"))
    # Threads straddle the cut: the second half's replies join the first half's threads.
    first = write_rows(tmp_path / "a.csv", header, rows[:3000])
    second = write_rows(tmp_path / "b.csv", header, rows[3000:])
    path = tmp_path / "store.duckdb"
    analysed_store(path, first)
    redone = then_import(path, second)
    assert redone.brands is not None  # done by brand, not whole


@pytest.fixture
def generated(tmp_path: Path) -> tuple[Path, list[str], list[list[str]], Analysis]:
    """An analysed store of generated posts (a dozen brands), its file's rows, its analysis."""
    source = tmp_path / "generated.csv"
    generate(source, posts=3000, seed=5)
    header, rows = read_rows(source)
    path = tmp_path / "store.duckdb"
    analysed_store(path, source)
    with Store(path, read_only=True) as store:
        analysis = persisted.read_analysis(store)
    return path, header, rows, analysis


def _number(post_id: str) -> str:
    return post_id.rsplit(":", 1)[-1]


def test_an_import_touching_some_brands_redoes_only_them(
    generated: tuple[Path, list[str], list[list[str]], Analysis], tmp_path: Path
):
    path, header, _rows, analysis = generated
    conversations = analysis.conversations
    brands = conversations["brand"].value_counts().index.tolist()
    assert len(brands) >= 6
    x, z, y = brands[0], brands[1], brands[2]
    answered = conversations[
        (conversations["brand"] == x) & (conversations["ttfr_seconds"] > 120)
    ].iloc[0]
    root = _number(str(answered["conversation_id"]))
    opened = pd.Timestamp(answered["opened_at"])
    later = (opened + pd.Timedelta(hours=5)).strftime(TWCS_TIME)
    soon = (opened + pd.Timedelta(seconds=30)).strftime(TWCS_TIME)
    first_turn = analysis.turns[analysis.turns["conversation_id"] == answered["conversation_id"]]
    last_post = _number(str(first_turn["post_id"].iloc[-1]))
    customer = str(answered["customer_id"])
    new = [
        # A customer reply joining one of brand X's threads.
        ["990001", customer, "True", later, f"@{x} still broken", "", last_post],
        # Brand Z answers in that thread before X did: the thread becomes Z's.
        ["990002", z, "False", soon, f"@{customer} we can help too", "", root],
        # A new customer post mentioning brand Y, unanswered: Y's by its mention.
        ["990003", "newcustomer1", "True", later, f"hello @{y} my parcel is lost", "", ""],
        # A new brand account answers a new customer; another customer mentions it.
        ["990004", "newcustomer2", "True", later, "@NewCoHelp my bill is wrong", "", ""],
        ["990005", "NewCoHelp", "False", later, "@newcustomer2 sorry, DM us", "", "990004"],
        ["990006", "newcustomer3", "True", later, "@NewCoHelp @" + y + " help", "", ""],
    ]
    second = write_rows(tmp_path / "more.csv", header, new)
    redone = then_import(path, second)
    assert redone.brands is not None
    assert {x, z, y, "NewCoHelp"} <= set(redone.brands)
    untouched = set(brands) - set(redone.brands)
    assert len(untouched) >= 3, redone.brands
    with Store(path, read_only=True) as store:
        after = persisted.read_analysis(store)
    moved = after.conversations.set_index("conversation_id").loc[answered["conversation_id"]]
    assert moved["brand"] == z
    mentioned = after.conversations[after.conversations["root_text"].str.contains("@NewCoHelp @")]
    assert mentioned["brand"].tolist() == ["NewCoHelp"]


def test_an_import_of_one_brands_posts_redoes_that_brand(
    generated: tuple[Path, list[str], list[list[str]], Analysis], tmp_path: Path
):
    path, _header, _rows, analysis = generated
    # Fresh posts of the same generator, another seed: new threads of every brand; keep
    # one brand's threads only, as a collection run for one brand brings.
    source = tmp_path / "other.csv"
    generate(source, posts=600, seed=6)
    other_header, other_rows = read_rows(source)
    brand = analysis.conversations["brand"].value_counts().index[3]
    threads = {r[0] for r in other_rows if r[1] == brand} | {
        r[6] for r in other_rows if r[1] == brand
    }
    kept = [r for r in other_rows if r[0] in threads or r[6] in threads]
    redone = then_import(path, write_rows(tmp_path / "one.csv", other_header, kept))
    assert redone.brands == (brand,)


def test_a_changed_and_a_deleted_post_redo_their_brands(
    generated: tuple[Path, list[str], list[list[str]], Analysis], tmp_path: Path
):
    path, header, rows, analysis = generated
    # A re-collected post with a new text (replacing the old one).
    brand_row = next(r for r in rows if r[2] == "False" and r[6])
    changed = [*brand_row]
    changed[4] = changed[4] + " Please DM us your order number."
    redone = then_import(
        path, write_rows(tmp_path / "generated.csv", header, [changed]), replace=True
    )
    assert redone.brands == (brand_row[1],)
    # A deleted root: its replies stay as orphans.
    root = str(analysis.conversations["conversation_id"].iloc[5])
    result = CliRunner().invoke(
        app, ["delete", "--platform", "twitter", "--post-id", root, "--db", str(path)]
    )
    assert result.exit_code == 0, result.output
    with Store(path, read_only=True) as store:
        assert persisted.analysis_state(store).status == "fresh"
        back = persisted.read_analysis(store)
        whole = analyse_posts(read_posts(store))
    assert_same(whole, back)


def test_a_gap_in_the_change_log_redoes_the_whole_store(
    generated: tuple[Path, list[str], list[list[str]], Analysis], tmp_path: Path
):
    path, header, rows, _analysis = generated
    with Store(path) as store:
        # What an older CareBench's import would leave: changed posts, nothing logged.
        store.con.execute("DROP TABLE IF EXISTS analysis_change_log")
        store.con.execute("DROP TABLE analysis_meta")
    with Store(path) as store:
        persisted.refresh_analysis(store)
    extra = [["990101", "someone", "True", rows[0][3], "@x hi", "", ""]]
    with Store(path) as store:
        import_twcs_files(store, [write_rows(tmp_path / "x.csv", header, extra)])
        store.con.execute("DELETE FROM analysis_change_log")
        redone = persisted.refresh_analysis(store)
        assert redone is not None and redone.brands is None
        assert_same(analyse_posts(read_posts(store)), persisted.read_analysis(store))


def test_with_a_brand_config_merging_accounts(tmp_path: Path):
    config = tmp_path / "brands.toml"
    config.write_text(
        '[brands.Fruit]\naccounts = ["AppleSupport", "AmazonHelp"]\ntimezone = "Europe/Paris"\n',
        encoding="utf-8",
    )
    brands = load_brand_config(config)
    header, rows = read_rows(twcs_file("twcs_head_5k.csv"))
    first = write_rows(tmp_path / "a.csv", header, rows[:2500])
    second = write_rows(tmp_path / "b.csv", header, rows[2500:])
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        import_twcs_files(store, [first])
        persisted.refresh_analysis(store, brands=brands)
        import_twcs_files(store, [second])
        redone = persisted.refresh_analysis(store, brands=brands)
        assert redone is not None and redone.brands is not None and "Fruit" in redone.brands
        back = persisted.read_analysis(store)
        whole = analyse_posts(read_posts(store, brands), brands=brands)
    assert "Fruit" in set(whole.conversations["brand"])
    assert_same(whole, back)
