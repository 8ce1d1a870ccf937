"""The analysis persisted in the store: equal to a fresh one, rebuilt when stale, read back
by the CLI and the dashboard instead of scoring every post again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from carebench.benchmark import persisted, pipeline
from carebench.benchmark.pipeline import analyse_posts, analyse_store, read_posts
from carebench.benchmark.scoring import Analysis
from carebench.benchmark.settings import Settings
from carebench.brands import BrandConfig, load_brand_config
from carebench.cli import app
from carebench.dashboard import data as dashboard_data
from carebench.demo import build_demo_store
from carebench.ingest import import_twcs_files
from carebench.store import Store
from tests.conftest import generated_store, private_copy, twcs_file

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
TIMEOUT = 60


def assert_same(fresh: Analysis, back: Analysis) -> None:
    for name in ("conversations", "turns", "templates"):
        pd.testing.assert_frame_equal(getattr(fresh, name), getattr(back, name), check_exact=True)
    assert fresh.issues == back.issues


def one_new_post(folder: Path) -> Path:
    """A TWCS file of one post the stores here do not hold."""
    extra = folder / "extra.csv"
    extra.write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "9000001,newcustomer,True,Tue Oct 31 22:10:47 +0000 2017,@AcmeHelp late,,\n",
        encoding="utf-8",
    )
    return extra


def fresh_analysis(path: Path, brands: BrandConfig | None = None) -> Analysis:
    with Store(path, read_only=True) as store:
        return analyse_posts(read_posts(store, brands), brands=brands)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_store(tmp_path_factory.mktemp("persisted"), posts=3000, seed=5)


@pytest.fixture
def store(small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(persisted.BRANDS_ENV_VAR, raising=False)
    return private_copy(small_store, tmp_path, monkeypatch)


@pytest.fixture
def real_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(persisted.BRANDS_ENV_VAR, raising=False)
    path = tmp_path / "real.duckdb"
    with Store(path) as store:
        import_twcs_files(store, [twcs_file("twcs_head_5k.csv")])
    return path


@pytest.mark.parametrize("which", ["real", "generated"])
def test_reading_back_equals_a_fresh_analysis(which: str, real_store: Path, store: Path):
    path = real_store if which == "real" else store
    with Store(path) as opened:
        assert persisted.analysis_state(opened).status == "missing"
        persisted.refresh_analysis(opened)
        assert persisted.analysis_state(opened).status == "fresh"
    with Store(path, read_only=True) as opened:
        back = persisted.read_analysis(opened)
    fresh = fresh_analysis(path)
    assert len(back.conversations) > 100 and len(back.templates) > 0
    assert_same(fresh, back)
    # Each turn's `_root` is its conversation's row: pages look turns up by it.
    rows = back.turns["_root"].to_numpy()
    ids = back.conversations["conversation_id"].to_numpy()[rows]
    assert (ids == back.turns["conversation_id"].to_numpy()).all()
    # The dashboard reads the same, its turns in the background and in the store's order:
    # the same rows, each with its conversation's row (`_root`).
    shown = dashboard_data.read_store(path).analysis
    turns = shown.turns
    opened = shown.conversations["opened_at"].to_numpy()[turns["_root"].to_numpy()]
    keys = ["platform", "_opened", "conversation_id", "created_at", "post_id"]  # TURN_ORDER
    in_order = turns.assign(_opened=opened).sort_values(keys).drop(columns="_opened")
    in_order = in_order.assign(_pos=range(len(in_order))).reset_index(drop=True)
    assert_same(fresh, Analysis(shown.conversations, in_order, shown.templates, shown.issues))


def test_any_change_behind_the_analysis_makes_it_stale(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with Store(store) as opened:
        persisted.refresh_analysis(opened)
        assert persisted.analysis_state(opened).status == "fresh"
        changed = persisted.analysis_state(opened, Settings(repeat_contact_days=3))
        assert changed.status == "stale" and "settings" in changed.reason
        # The SLA is applied per view, not by the analysis.
        assert persisted.analysis_state(opened, Settings(sla_seconds=60)).status == "fresh"
        config = tmp_path / "brands.toml"
        config.write_text('[brands.Acme]\naccounts = ["AcmeHelp"]\n', encoding="utf-8")
        state = persisted.analysis_state(opened, brands=load_brand_config(config))
        assert state.status == "stale" and "brand config" in state.reason
        monkeypatch.setattr(persisted, "code_version", lambda: "another")
        state = persisted.analysis_state(opened)
        assert state.status == "stale" and "code" in state.reason
        monkeypatch.undo()
    extra = one_new_post(tmp_path)
    with Store(store) as opened:
        import_twcs_files(opened, [extra])
        state = persisted.analysis_state(opened)
        assert state.status == "stale" and "imported or deleted" in state.reason


def test_cli_import_and_delete_persist_the_analysis_and_the_scorecard_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(persisted.BRANDS_ENV_VAR, raising=False)
    path = tmp_path / "cli.duckdb"
    source = twcs_file("twcs_head_5k.csv")
    result = CliRunner().invoke(app, ["import", "twcs", str(source), "--db", str(path)])
    assert result.exit_code == 0, result.output
    with Store(path, read_only=True) as opened:
        assert persisted.analysis_state(opened).status == "fresh"
        back = persisted.read_analysis(opened)
    assert_same(fresh_analysis(path), back)

    # Reading needs no scoring: a scorecard works with the scoring switched off.
    def no_scoring(*_args: object, **_kwargs: object) -> Analysis:
        raise AssertionError("the persisted analysis should have been read")

    monkeypatch.setattr(pipeline, "analyse", no_scoring)
    result = CliRunner().invoke(app, ["scorecard", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert_same(back, analyse_store(path))
    monkeypatch.undo()
    monkeypatch.delenv(persisted.BRANDS_ENV_VAR, raising=False)

    root = str(back.conversations["conversation_id"].iloc[0])
    result = CliRunner().invoke(
        app, ["delete", "--platform", "twitter", "--post-id", root, "--db", str(path)]
    )
    assert result.exit_code == 0, result.output
    with Store(path, read_only=True) as opened:
        assert persisted.analysis_state(opened).status == "fresh"
        after = persisted.read_analysis(opened)
    assert root not in set(after.conversations["conversation_id"])
    assert_same(fresh_analysis(path), after)


def turns_of_some(analysis: Analysis, keys: list[tuple[str, str]]) -> pd.DataFrame:
    turns = analysis.turns
    pairs = list(zip(turns["platform"], turns["conversation_id"], strict=True))
    mine = turns[[pair in set(keys) for pair in pairs]]
    mine = mine.sort_values(["platform", "conversation_id", "created_at", "post_id"])
    return mine.drop(columns=["_pos", "_root"]).reset_index(drop=True)


def test_a_few_threads_are_read_by_conversation_as_the_whole_read_gives_them(
    real_store: Path, tmp_path: Path
):
    """The dashboard opens a thread from the store before every turn is read: the same
    rows, through the index by conversation, which imports and rebuilds keep."""
    with Store(real_store) as opened:
        persisted.refresh_analysis(opened)
    with Store(real_store, read_only=True) as opened:
        assert persisted.has_turns_index(opened)
        whole = persisted.read_analysis(opened)
        keys = list(
            zip(
                whole.conversations["platform"].iloc[::97],
                whole.conversations["conversation_id"].iloc[::97],
                strict=True,
            )
        )
        few = persisted.read_conversation_turns(opened, keys)
        assert persisted.read_conversation_turns(opened, []).empty
        counts = persisted.template_counts(opened, ["nope", *whole.turns["template_id"].dropna()])
    assert len(keys) > 10 and len(few) > len(keys)
    pd.testing.assert_frame_equal(
        few.drop(columns=["_pos", "_root"]), turns_of_some(whole, keys), check_exact=True
    )
    assert counts == whole.turns["template_id"].dropna().astype(str).value_counts().to_dict()
    # An import rewrites some turns in place: the index follows, new threads are found.
    extra = tmp_path / "extra.csv"
    extra.write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "9000001,cust9,True,Tue Oct 31 22:00:00 +0000 2017,@AmazonHelp where is my parcel,"
        "9000002,\n"
        "9000002,AmazonHelp,False,Tue Oct 31 22:05:00 +0000 2017,@cust9 Sorry! DM us,,9000001\n",
        encoding="utf-8",
    )
    with Store(real_store) as opened:
        import_twcs_files(opened, [extra])
        persisted.refresh_analysis(opened)
        assert persisted.has_turns_index(opened)
        after = persisted.read_analysis(opened)
        new = after.conversations[after.conversations["root_text"].str.contains("parcel")]
        key = (str(new["platform"].iloc[0]), str(new["conversation_id"].iloc[0]))
        thread = persisted.read_conversation_turns(opened, [key])
    assert thread["text"].tolist() == ["@AmazonHelp where is my parcel", "@cust9 Sorry! DM us"]
    pd.testing.assert_frame_equal(
        thread.drop(columns=["_pos", "_root"]), turns_of_some(after, [key]), check_exact=True
    )


def test_carebench_analyse_rebuilds_a_stale_analysis(store: Path):
    result = CliRunner().invoke(app, ["analyse", "--db", str(store)])
    assert result.exit_code == 0, result.output
    assert "Analysed" in result.output and "saved in the store" in result.output
    result = CliRunner().invoke(app, ["analyse", "--db", str(store)])
    assert "up to date" in result.output


def test_the_demo_store_is_built_analysed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(persisted.BRANDS_ENV_VAR, raising=False)
    steps: list[str] = []
    path = tmp_path / "demo.duckdb"
    build_demo_store(path, posts=1500, on_step=lambda _d, _t, what: steps.append(what))
    with Store(path, read_only=True) as opened:
        assert persisted.analysis_state(opened).status == "fresh"
    assert steps[0].startswith("generating") and steps[-1] == "done"


# -- the dashboard ------------------------------------------------------------------------


def first_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def statuses(at: AppTest) -> list[str]:
    return [str(s.label) for s in at.status]


def test_the_dashboard_rebuilds_a_missing_analysis_once_visibly_and_saves_it(store: Path):
    dashboard_data._unsaved.clear()
    at = first_page()
    assert any("Analysed the store" in label for label in statuses(at)), statuses(at)
    assert at.metric, "the scorecard shows its tiles after the rebuild"
    with Store(store, read_only=True) as opened:
        assert persisted.analysis_state(opened).status == "fresh"
    # A second server start reads the saved tables: no rebuild.
    at = first_page()
    assert not statuses(at)
    assert at.metric


def test_a_store_held_by_an_import_keeps_the_rebuild_in_memory_and_says_so(
    store: Path, monkeypatch: pytest.MonkeyPatch
):
    dashboard_data._unsaved.clear()
    # The save after the analysis meets a store that `carebench import` holds (the real
    # lock is `test_saving_gives_way_to_a_store_held_open`).
    monkeypatch.setattr(dashboard_data, "_try_to_save", lambda *_args: False)
    at = first_page()
    warnings = [str(w.value) for w in at.warning]
    assert any("carebench analyse" in w for w in warnings), warnings
    assert at.metric
    with Store(store, read_only=True) as opened:
        assert persisted.analysis_state(opened).status == "missing"
    # The next run shows the analysis kept in memory, without analysing again.
    at.run()
    assert not statuses(at)
    assert at.metric


def test_saving_gives_way_to_a_store_held_open(store: Path, tmp_path: Path):
    analysis = fresh_analysis(store)
    with Store(store, read_only=True) as opened:
        stamp = persisted.stamp_for(opened, None, None)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(store),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        assert dashboard_data._try_to_save(store, analysis, stamp) is False
    finally:
        holder.kill()
        holder.wait(TIMEOUT)
    assert dashboard_data._try_to_save(store, analysis, stamp) is True


def test_a_save_of_posts_that_changed_meanwhile_is_dropped(store: Path, tmp_path: Path):
    analysis = fresh_analysis(store)
    with Store(store, read_only=True) as opened:
        stamp = persisted.stamp_for(opened, None, None)
    extra = one_new_post(tmp_path)
    with Store(store) as opened:
        import_twcs_files(opened, [extra])
        assert persisted.save_analysis(opened, analysis, stamp) is False
        assert persisted.analysis_state(opened).status == "missing"


def test_the_first_open_without_a_store_explains_the_demo_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAREBENCH_DB", str(tmp_path / "data" / "carebench.duckdb"))
    monkeypatch.delenv(persisted.BRANDS_ENV_VAR, raising=False)
    real_build = dashboard_data.build_demo_store

    def small_build(path: Path, **kwargs: object) -> object:
        return real_build(path, posts=1500, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dashboard_data, "build_demo_store", small_build)
    at = first_page()
    assert any("Demo store ready" in label for label in statuses(at)), statuses(at)
    assert any("Demo data" in str(i.value) for i in at.info)
    with Store(tmp_path / "data" / "demo.duckdb", read_only=True) as opened:
        assert persisted.analysis_state(opened).status == "fresh"
