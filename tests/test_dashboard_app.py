"""The dashboard, run page by page with Streamlit's AppTest on a small generated store.

Each test points the app at its store through CAREBENCH_DB, as a user would, and checks
figures on screen against the analysis package's own numbers.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.settings import Settings
from carebench.dashboard import aggregates as agg
from carebench.dashboard import data as dashboard_data
from carebench.dashboard.filters import Filters
from carebench.dashboard.page_guard import PAGE_FAILED
from carebench.demo import build_demo_store
from carebench.store import Store
from carebench.synthetic import generate
from tests.conftest import generated_store, private_copy

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PAGES = "carebench/dashboard/pages"
PAGE_FILES = (
    "scorecard",
    "speed",
    "deflection",
    "templates",
    "conversations",
    "trends",
    "topics",
    "measure",
    "data",
)
TIMEOUT = 60


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 3,000 generated posts (a dozen brands, two months)."""
    return generated_store(tmp_path_factory.mktemp("dashboard"), posts=3000, seed=11)


@pytest.fixture
def store(small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the small store, opened by the app through CAREBENCH_DB."""
    return private_copy(small_store, tmp_path, monkeypatch)


def run_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if query:
        at.query_params.update(query)
    at.run()
    if page != "scorecard":
        at.switch_page(f"{PAGES}/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    # A page that raises shows PAGE_FAILED instead of an exception (the log has it).
    assert PAGE_FAILED not in [e.value for e in at.error], "the page failed: see the log"
    return at


def expected_card(path: Path, filters: Filters) -> pd.DataFrame:
    """The scorecard the page should show, computed without the dashboard's widgets."""
    loaded = dashboard_data.read_store(path)
    conversations = dashboard_data.filter_conversations(loaded.analysis.conversations, filters)
    return scorecard(conversations, Settings(sla_seconds=filters.sla_seconds))


def current_filters(at: AppTest) -> Filters:
    return at.session_state["carebench_filters"]


def metric(at: AppTest, label: str):
    found = [m for m in at.metric if m.label == label]
    assert found, f"no metric {label!r} in {[m.label for m in at.metric]}"
    return found[0]


def shown_text(at: AppTest) -> str:
    """Every piece of text and every table cell on the page, as one string."""
    parts = [str(e.value) for e in (*at.text, *at.markdown, *at.caption, *at.title)]
    for frame in at.dataframe:
        parts.append(frame.value.to_csv(index=False))
    return "\n".join(parts)


# -- every page ----------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_renders_on_a_real_store(store: Path, page: str):
    at = run_page(page)
    assert at.title, f"{page} shows no title"
    assert not at.error, [e.value for e in at.error]
    # A store of imported data is not the demo: no banner.
    assert not any("Demo data" in str(i.value) for i in at.info)


def test_scorecard_tiles_show_the_scorecard_figures(store: Path):
    at = run_page("scorecard")
    filters = current_filters(at)
    card = expected_card(store, filters).set_index("brand")
    focus = filters.focus
    assert focus == card["conversations"].idxmax() or focus in card.index
    peers = card.loc[list(filters.competitors)]
    for tile in agg.TILE_METRICS:
        shown = metric(at, tile.label)
        assert shown.value == agg.format_value(card.loc[focus, tile.column], tile.unit)
        delta = card.loc[focus, tile.column] - peers[tile.column].median()
        assert shown.delta == agg.format_delta(delta, tile.unit)
    # Lower TTFR is better: a slower focus brand is painted red, a faster one green, but
    # only when the intervals say the gap is real; otherwise grey, "within noise".
    for tile in agg.kpi_tiles(card.reset_index(), focus, filters.competitors):
        shown = metric(at, tile.metric.label)
        verdict = tile.comparison.verdict
        expected = {
            "better": MetricProto.GREEN,
            "worse": MetricProto.RED,
        }.get(verdict, MetricProto.GRAY)
        assert shown.proto.color == expected, (tile.metric.label, verdict)
    ranked = at.dataframe[0].value
    assert list(ranked["Brand"]) == list(
        agg.ranking(card.reset_index(), agg.TILE_METRICS[0], focus)["Brand"]
    )
    assert set(ranked["n"]) <= set(card["ttfr_median_seconds_n"].astype(int))


def test_the_resolution_tile_shows_the_unresolved_and_unknown_shares(store: Path):
    at = run_page("scorecard")
    filters = current_filters(at)
    card = expected_card(store, filters).set_index("brand").loc[filters.focus]
    expected = " · ".join(
        f"{outcome} {card[column] * 100:.0f}%"
        for outcome, column in (
            ("resolved", "resolution_rate"),
            ("unresolved", "unresolved_share"),
            ("unknown", "unknown_share"),
        )
    )
    assert expected in [m.value for m in at.markdown]
    # Ranked by resolution, the table (and its CSV) carries the other two shares.
    at.selectbox(key="scorecard_metric").set_value("Resolved in public").run()
    ranked = at.dataframe[0].value.set_index("Brand")
    assert ranked.loc[filters.focus, "Unknown (%)"] == pytest.approx(card["unknown_share"] * 100)
    assert ranked.loc[filters.focus, "Unresolved (%)"] == pytest.approx(
        card["unresolved_share"] * 100
    )


def test_lower_is_better_metrics_invert_the_delta_colour():
    tiles = {t.metric.column: t for t in agg.kpi_tiles(_tiny_card(), "A", ("B", "C"))}
    assert tiles["ttfr_median_seconds"].delta_color == "inverse"
    assert tiles["deflection_rate"].delta_color == "inverse"
    assert tiles["sla_share"].delta_color == "normal"


def _tiny_card() -> pd.DataFrame:
    rows = []
    for brand, value in (("A", 100.0), ("B", 200.0), ("C", 400.0)):
        row: dict[str, object] = {"brand": brand}
        for m in agg.METRICS:
            row[m.column] = value if m.unit == "minutes" else value / 1000
            row[f"{m.column}_low"] = row[m.column]
            row[f"{m.column}_high"] = row[m.column]
            row[f"{m.column}_n"] = 50
        rows.append(row)
    return pd.DataFrame(rows)


# -- interactions ----------------------------------------------------------------------


def test_picking_brands_changes_the_view_and_the_url(store: Path):
    at = run_page("scorecard")
    brands = at.session_state["carebench_filters"]
    new_focus = brands.competitors[-1]
    at.selectbox(key="flt_focus").set_value(new_focus).run()
    at.multiselect(key="flt_vs").set_value([brands.focus]).run()
    filters = current_filters(at)
    assert filters.focus == new_focus and filters.competitors == (brands.focus,)
    assert at.query_params["focus"] == new_focus
    assert at.query_params["vs"] == brands.focus
    card = expected_card(store, filters).set_index("brand")
    assert set(card.index) == {new_focus, brands.focus}
    assert metric(at, "Deflected").value == agg.format_value(
        card.loc[new_focus, "deflection_rate"], "share"
    )


def test_changing_dates_recomputes_the_figures(store: Path):
    at = run_page("scorecard")
    before = current_filters(at)
    start = before.start + (before.end - before.start) / 2
    at.date_input(key="flt_dates").set_value((start, before.end)).run()
    filters = current_filters(at)
    assert (filters.start, filters.end) == (start, before.end)
    assert at.query_params["from"] == start.isoformat()
    card = expected_card(store, filters).set_index("brand")
    all_days = expected_card(store, before).set_index("brand")
    assert card["conversations"].sum() < all_days["conversations"].sum()
    assert metric(at, "Resolved in public").value == agg.format_value(
        card.loc[filters.focus, "resolution_rate"], "share"
    )
    assert f"{int(card['conversations'].sum()):,} conversations" in at.caption[0].value


def test_sla_slider_moves_the_sla_figure(store: Path):
    at = run_page("speed")
    focus = current_filters(at).focus
    hour = metric(at, "Answered within 1 h").value
    at.select_slider(key="flt_sla").set_value(5).run()
    five = metric(at, "Answered within 5 min").value
    assert five != hour
    card = expected_card(store, current_filters(at)).set_index("brand")
    assert five == agg.format_value(card.loc[focus, "sla_share"], "share")
    assert at.query_params["sla"] == "5"


def test_filters_survive_a_page_switch(store: Path):
    at = run_page("scorecard")
    at.select_slider(key="flt_sla").set_value(15).run()
    at.switch_page(f"{PAGES}/speed.py").run()
    assert current_filters(at).sla_minutes == 15
    assert metric(at, "Answered within 15 min")
    assert at.query_params["sla"] == "15"


def test_a_shared_link_reopens_the_same_view(store: Path):
    first = run_page("scorecard")
    filters = current_filters(first)
    link = {
        "focus": filters.competitors[0],
        "vs": ",".join(filters.competitors[1:3]),
        "from": filters.start.isoformat(),
        "to": filters.end.isoformat(),
        "sla": "30",
    }
    at = run_page("scorecard", link)
    opened = current_filters(at)
    assert opened.focus == filters.competitors[0]
    assert opened.competitors == tuple(filters.competitors[1:3])
    assert opened.sla_minutes == 30
    assert at.selectbox(key="flt_focus").value == filters.competitors[0]


def test_a_link_naming_an_unknown_brand_still_opens(store: Path):
    at = run_page("scorecard", {"focus": "NoSuchBrand", "vs": "AlsoMissing"})
    assert any("NoSuchBrand" in str(w.value) for w in at.sidebar.warning)
    assert current_filters(at).focus is not None


def test_anonymise_hides_customer_handles(store: Path):
    loaded = dashboard_data.read_store(store)
    customers = set(loaded.analysis.conversations["customer_id"].dropna().astype(str))
    handle = re.compile(r"@(\w+)")

    at = run_page("templates")
    plain = set(handle.findall(shown_text(at)))
    assert plain & customers, "the fixture should show customer handles in template examples"

    at.toggle(key="flt_anon").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.query_params["anon"] == "1"
    masked = shown_text(at)
    assert not set(handle.findall(masked)) & customers
    # The page still shows the same templates, only masked.
    assert len(at.text) > 0


def test_no_matching_conversations_says_so(store: Path):
    at = run_page("scorecard")
    at.multiselect(key="flt_vs").set_value([]).run()
    filters = current_filters(at)
    at.date_input(key="flt_dates").set_value((filters.start, filters.start)).run()
    # One day may or may not hold the focus brand's conversations; either way no error.
    assert not at.exception


def test_an_empty_store_points_to_the_data_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    monkeypatch.setenv("CAREBENCH_DB", str(path))
    at = run_page("speed")
    assert any("holds no posts yet" in str(i.value) for i in at.info)
    at = run_page("data")
    assert at.file_uploader(key="upload_files") is not None


# -- demo fallback and uploads ---------------------------------------------------------------


@pytest.fixture
def no_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No store where the app looks; the demo is built small (the real one takes seconds)."""
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "data" / "carebench.duckdb"
    monkeypatch.setenv("CAREBENCH_DB", str(missing))
    monkeypatch.setattr(
        dashboard_data, "build_demo_store", functools.partial(build_demo_store, posts=2000)
    )
    return missing


@pytest.mark.parametrize("page", PAGE_FILES)
def test_without_a_store_every_page_shows_the_demo_and_says_so(no_store: Path, page: str):
    at = run_page(page)
    banner = [str(i.value) for i in at.info if "Demo data" in str(i.value)]
    assert banner, f"{page} has no demo banner"
    assert "carebench import twcs" in banner[0] and "Data" in banner[0]
    assert (no_store.parent / "demo.duckdb").exists()
    assert not no_store.exists()


def test_an_upload_on_the_demo_goes_to_a_new_real_store(no_store: Path, tmp_path: Path):
    csv_path = tmp_path / "real.csv"
    generate(csv_path, posts=400, seed=3)
    at = run_page("data")
    # The new store is named by its file: the server's folders are not shown.
    infos = [str(i.value) for i in at.info]
    assert any(no_store.name in i for i in infos), infos
    assert not any(str(no_store.parent) in i for i in infos)
    at.file_uploader(key="upload_files").set_value(("real.csv", csv_path.read_bytes(), "text/csv"))
    at.button[-1].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert no_store.exists()
    with Store(no_store, read_only=True) as store:
        assert store.count_posts() == 400
    # The app now shows the real store: no banner, and the import summary.
    assert not any("Demo data" in str(i.value) for i in at.info)
    assert any("400 read, 400 new" in str(t.value) for t in at.text)


def test_a_bad_upload_gives_a_clear_error_and_changes_nothing(store: Path):
    with Store(store, read_only=True) as before:
        snapshot = list(before.snapshot())
    at = run_page("data")
    bad = b"id,message\n1,hello\n"
    at.file_uploader(key="upload_files").set_value(("notes.csv", bad, "text/csv"))
    at.button[-1].click().run()
    assert not at.exception
    # Markdown escapes (notes\.csv) are not what the user reads.
    errors = [str(e.value).replace("\\", "") for e in at.error]
    assert errors, "a non-TWCS file must be refused"
    assert "notes.csv" in errors[0] and "carebench-upload" not in errors[0]
    assert "tweet_id" in errors[0] or "column" in errors[0].lower()
    with Store(store, read_only=True) as after:
        assert list(after.snapshot()) == snapshot


def test_a_good_upload_lands_and_the_pages_see_it(store: Path, tmp_path: Path):
    csv_path = tmp_path / "more.csv"
    generate(csv_path, posts=300, seed=99)
    at = run_page("data")
    posts_before = dashboard_data.read_store(store).posts
    at.file_uploader(key="upload_files").set_value(("more.csv", csv_path.read_bytes(), "text/csv"))
    at.button[-1].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(str(t.value).startswith("more.csv: 300 read") for t in at.text)
    # The cache is keyed on the file's version, so the page already shows the new import.
    after = dashboard_data.read_store(store)
    assert len(after.imports) == 2 and after.posts >= posts_before
    assert f"{after.posts:,} posts" in at.caption[0].value
    assert "more.csv" in at.dataframe[0].value["File"].tolist()


def test_the_demo_store_is_recognised_wherever_it_lives(tmp_path: Path):
    path = tmp_path / "moved-demo.duckdb"
    build_demo_store(path, posts=500)
    assert dashboard_data.read_store(path).generated
    assert dashboard_data.upload_target(path, True) != path


def test_uploads_land_in_the_current_store_when_it_is_real(tmp_path: Path):
    path = tmp_path / "real.duckdb"
    assert dashboard_data.upload_target(path, False) == path


def test_filters_leave_parameters_they_do_not_own_in_the_url(store: Path):
    # A page's own parameter (e.g. an open thread) must survive the filters writing theirs.
    at = run_page("scorecard", {"thread": "12345"})
    at.select_slider(key="flt_sla").set_value(15).run()
    assert at.query_params["sla"] == "15"
    assert at.query_params["thread"] == "12345"


def test_a_brand_config_groups_accounts_into_one_brand(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    accounts = list(dashboard_data.read_store(store).options.brands[:2])
    config = tmp_path / "brands.toml"
    config.write_text(
        f'[brands.GroupCare]\naccounts = ["{accounts[0]}", "{accounts[1]}"]\n'
        'timezone = "Europe/London"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CAREBENCH_BRANDS", str(config))
    at = run_page("scorecard", {"focus": "GroupCare"})
    assert current_filters(at).focus == "GroupCare"
    brands = set(dashboard_data.read_store(store).options.brands)
    assert "GroupCare" in brands and not brands & set(accounts)


def test_a_broken_brand_config_is_named_on_the_page(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config = tmp_path / "brands.toml"
    config.write_text("[brands.Broken]\naccounts = 3\n", encoding="utf-8")
    monkeypatch.setenv("CAREBENCH_BRANDS", str(config))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert any("Broken" in e.value and "needs accounts" in e.value for e in at.error), [
        e.value for e in at.error
    ]


# -- issue 17: honest deltas, stable colours, trends ----------------------------------------


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_chart_spec_is_valid_vega_lite(store: Path, page: str):
    """The app skips Altair's schema check at each page run (`charts._unchecked`): the
    specs each page sends are checked here instead."""
    from altair.utils.schemapi import validate_jsonschema
    from altair.vegalite.v6.schema.core import load_schema

    schema = load_schema()
    for spec in chart_specs(run_page(page)):
        validate_jsonschema(spec, schema, rootschema=schema)


def brand_colour_map(spec: dict) -> dict[str, str]:
    for layer in spec.get("layer", [spec]):
        colour = layer.get("encoding", {}).get("color", {})
        if colour.get("field") == "brand":
            return dict(zip(colour["scale"]["domain"], colour["scale"]["range"], strict=True))
    raise AssertionError("no brand colour in this chart")


def test_tiles_inside_the_intervals_are_grey_and_say_within_noise(store: Path):
    at = run_page("scorecard")
    filters = current_filters(at)
    card = expected_card(store, filters)
    tiles = agg.kpi_tiles(card, filters.focus, filters.competitors)
    noisy = [t for t in tiles if t.comparison.verdict == "within noise"]
    assert noisy, "the fixture should have at least one gap within noise"
    for tile in noisy:
        shown = metric(at, tile.metric.label)
        assert shown.proto.color == MetricProto.GRAY
        assert "within noise" in shown.proto.delta_description
    # Every metric gets a verdict, not only the ranked one.
    matrix = next(f.value for f in at.dataframe if "Repeat contact" in f.value.columns)
    assert set(matrix.columns) == {"Brand", *(m.label for m in agg.METRICS)}


def test_a_brand_keeps_its_colour_across_two_selections(store: Path):
    at = run_page("speed")
    first = current_filters(at)
    before = brand_colour_map(chart_specs(at)[0])
    kept = first.competitors[0]
    others = [b for b in at.session_state["carebench_filters"].competitors[1:]]
    at.selectbox(key="flt_focus").set_value(kept).run()
    at.multiselect(key="flt_vs").set_value([first.focus, *others[:1]]).run()
    after = brand_colour_map(chart_specs(at)[0])
    assert list(after) != list(before)  # another selection, another order
    for brand in set(before) & set(after):
        assert before[brand] == after[brand], brand
    # The SLA curve (a multi-series chart) has its legend too.
    for spec in chart_specs(at)[:2]:
        legends = [
            layer["encoding"]["color"].get("legend")
            for layer in spec["layer"]
            if layer.get("encoding", {}).get("color", {}).get("field") == "brand"
        ]
        assert legends and all(legend is not None for legend in legends)


def test_trends_by_month_with_hollow_periods_and_a_before_after_verdict(store: Path):
    at = run_page("trends")
    spec = chart_specs(at)[0]
    assert spec["layer"][3]["encoding"]["fill"]["condition"]["test"] == "datum.hollow"
    weeks = at.dataframe[0].value
    assert weeks["Partial period"].any() or weeks["Small sample"].any()
    at.radio(key="trends_period").set_value("month").run()
    assert not at.exception
    months = at.dataframe[0].value
    assert len(months) < len(weeks)
    assert set(months["Period starting"].str[-2:]) == {"01"}
    sentence = at.markdown[-1].value if at.markdown else ""
    verdicts = [m.value for m in at.markdown if "Median first response:" in m.value]
    assert verdicts and any(
        word in verdicts[0] for word in ("**better**", "**worse**", "**no real change**")
    ), sentence
    changes = at.dataframe[-1].value
    assert list(changes["Metric"]) == [m.label for m in agg.METRICS]
