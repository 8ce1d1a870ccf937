"""The dashboard's pure helpers: filters <-> URL, the small tables, the chart specs."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from carebench.benchmark.scoring import Analysis
from carebench.dashboard import aggregates as agg
from carebench.dashboard import charts
from carebench.dashboard.data import (
    filter_conversations,
    select_turns,
    turn_positions,
    turns_of,
)
from carebench.dashboard.filters import (
    FilterOptions,
    Filters,
    default_filters,
    format_sla,
    parse_query,
    to_query,
)

OPTIONS = FilterOptions(
    brands=("Big", "Mid", "Small", "Tiny", "Wee", "Least", "Last"),
    platforms=("bluesky", "twitter"),
    first_day=date(2017, 10, 1),
    last_day=date(2017, 11, 30),
)
T0 = datetime(2017, 10, 2, 9, 0, tzinfo=UTC)


def conversations(rows: list[dict]) -> pd.DataFrame:
    """Scored-conversation rows with every column the helpers read, defaults filled."""
    defaults = {
        "platform": "twitter",
        "answered": True,
        "ttfr_seconds": 600.0,
        "deflected": False,
        "first_touch_deflection": False,
        "deflection_channels": "",
        "care_request": True,
        "outcome": "resolved",
        "opened_hour_of_week": 9,
    }
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    frame["conversation_id"] = [str(i) for i in range(len(frame))]
    if "opened_at" not in frame:
        frame["opened_at"] = [T0 + timedelta(hours=i) for i in range(len(frame))]
    frame["opened_at"] = pd.to_datetime(frame["opened_at"], utc=True)
    return frame


# -- filters and the URL ------------------------------------------------------------------


def test_defaults_compare_the_largest_brand_with_the_next_five():
    filters = default_filters(OPTIONS)
    assert filters.focus == "Big"
    assert filters.competitors == ("Mid", "Small", "Tiny", "Wee", "Least")
    assert (filters.start, filters.end) == (OPTIONS.first_day, OPTIONS.last_day)
    assert filters.sla_minutes == 60 and not filters.anonymise


def test_a_view_survives_the_round_trip_through_the_url():
    view = Filters("Mid", ("Big", "Wee"), date(2017, 10, 5), date(2017, 11, 2), "bluesky", 15, True)
    query = to_query(view)
    parsed, problems = parse_query({k: [v] for k, v in query.items()}, OPTIONS)
    assert parsed == view and problems == []


def test_no_competitors_is_remembered_not_replaced_by_defaults():
    view = Filters("Mid", (), OPTIONS.first_day, OPTIONS.last_day)
    query = to_query(view)
    assert query["vs"] == ""
    parsed, _ = parse_query({k: [v] for k, v in query.items()}, OPTIONS)
    assert parsed.competitors == ()


def test_a_link_from_another_store_opens_with_what_applies():
    parsed, problems = parse_query(
        {
            "focus": ["nosuch"],
            "vs": ["mid,Gone", "small"],
            "from": ["2001-01-01"],
            "to": ["not a date"],
            "platform": ["myspace"],
            "sla": ["50"],
        },
        OPTIONS,
    )
    assert parsed.focus == "Big"  # default kept
    assert parsed.competitors == ("Mid", "Small")  # store spelling, unknown dropped
    assert parsed.start == OPTIONS.first_day  # clamped into the data
    assert parsed.platform is None
    assert parsed.sla_minutes == 45  # nearest offered choice
    assert len(problems) == 4  # clamping a date or an SLA is not a problem worth a note


def test_the_focus_brand_is_never_its_own_competitor():
    parsed, _ = parse_query({"focus": ["Mid"], "vs": ["Mid,Big"]}, OPTIONS)
    assert parsed.competitors == ("Big",)
    assert parsed.brands == ("Mid", "Big")


def test_sla_labels():
    assert [format_sla(m) for m in (5, 60, 90, 1440)] == ["5 min", "1 h", "1.5 h", "24 h"]


def test_filtering_by_brand_days_and_platform():
    frame = conversations(
        [
            {"brand": "Big", "opened_at": datetime(2017, 10, 1, 23, 59, tzinfo=UTC)},
            {"brand": "Big", "opened_at": datetime(2017, 10, 2, 0, 0, tzinfo=UTC)},
            {"brand": "Mid", "opened_at": datetime(2017, 10, 3, tzinfo=UTC)},
            {"brand": "Mid", "opened_at": datetime(2017, 10, 3, tzinfo=UTC), "platform": "bluesky"},
            {"brand": "Small", "opened_at": datetime(2017, 10, 3, tzinfo=UTC)},
            {"brand": None, "opened_at": datetime(2017, 10, 3, tzinfo=UTC)},
        ]
    )
    view = Filters("Big", ("Mid",), date(2017, 10, 2), date(2017, 10, 3), "twitter")
    kept = filter_conversations(frame, view)
    assert kept["conversation_id"].tolist() == ["1", "2"]  # end day included, start exact


def test_turns_follow_their_conversations_per_platform():
    frame = pd.DataFrame(
        {"platform": ["twitter", "bluesky"], "conversation_id": ["7", "7"], "brand": ["A", "A"]}
    )
    turns = pd.DataFrame(
        {"platform": ["twitter", "bluesky", "twitter"], "conversation_id": ["7", "7", "8"]}
    )
    assert len(turns_of(turns, frame)) == 2
    assert turns_of(turns, frame.iloc[:1]).index.tolist() == [0]
    analysis = Analysis(conversations=frame, turns=turns, templates=pd.DataFrame(), issues={})
    positions = turn_positions(analysis)
    assert positions.tolist() == [0, 1, -1]
    only_bluesky = select_turns(turns, np.array([False, True]), positions)
    assert only_bluesky["platform"].tolist() == ["bluesky"]


# -- formatting and tiles -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(12, "12 s"), (90, "1.5 min"), (7199, "120.0 min"), (7200, "2.0 h"), (3 * 86400, "3.0 days")],
)
def test_durations_read_in_the_unit_people_use(seconds: float, text: str):
    assert agg.format_duration(seconds) == text


def test_values_and_deltas():
    assert agg.format_value(0.4567, "share") == "45.7%"
    assert agg.format_value(math.nan, "share") == "—"
    assert agg.format_delta(0.031, "share") == "+3.1 pp"
    assert agg.format_delta(-90, "minutes") == "-1.5 min"
    assert agg.format_delta(math.nan, "minutes") is None


def card_of(values: dict[str, tuple[float, float, float]], column: str) -> pd.DataFrame:
    """A scorecard with one metric: brand -> (value, low, high)."""
    return pd.DataFrame(
        {
            "brand": list(values),
            "conversations": [100] * len(values),
            "small_sample": [False] * len(values),
            column: [v[0] for v in values.values()],
            f"{column}_low": [v[1] for v in values.values()],
            f"{column}_high": [v[2] for v in values.values()],
            f"{column}_n": [100] * len(values),
        }
    )


def test_tiles_compare_the_focus_with_the_competitors_median():
    metric = agg.METRIC_BY_COLUMN["ttfr_median_seconds"]
    card = card_of(
        {"A": (600, 500, 700), "B": (300, 200, 400), "C": (900, 800, 1000)}, metric.column
    )
    (tile,) = agg.kpi_tiles(card, "A", ("B", "C"), (metric,))
    assert tile.peer_median == 600 and tile.delta == 0
    (tile,) = agg.kpi_tiles(card, "C", ("A", "B"), (metric,))
    assert tile.delta == 900 - 450 and tile.delta_text == "+7.5 min"
    assert tile.delta_color == "inverse"  # slower is worse: Streamlit must paint it red
    (alone,) = agg.kpi_tiles(card, "A", (), (metric,))
    assert alone.delta_text is None


def test_ranking_puts_the_best_first_and_judges_each_gap_by_interval_overlap():
    metric = agg.METRIC_BY_COLUMN["ttfr_median_seconds"]
    card = card_of(
        {
            "Focus": (600, 540, 660),
            "Fast": (120, 60, 180),
            "Close": (630, 500, 800),
            "Slow": (1200, 1000, 1500),
            "Empty": (math.nan, math.nan, math.nan),
        },
        metric.column,
    )
    table = agg.ranking(card, metric, "Focus").set_index("Brand")
    assert table.index.tolist() == ["Fast", "Focus", "Close", "Slow", "Empty"]
    assert table.loc["Fast", "vs focus brand"] == "better (real)"
    assert table.loc["Close", "vs focus brand"] == "within noise"
    assert table.loc["Slow", "vs focus brand"] == "worse (real)"
    assert table.loc["Empty", "vs focus brand"] == "not enough data"
    assert table.loc["Fast", "Median first response (min)"] == 2.0  # display units


def outcome_card() -> pd.DataFrame:
    """Brand A: 100 answered care requests, 31 resolved, 9 unresolved, 60 unknown."""
    card = pd.DataFrame({"brand": ["A", "B"], "conversations": [150, 80]})
    card["small_sample"] = False
    for column, hits in (
        ("resolution_rate", (31, 40)),
        ("unresolved_share", (9, 20)),
        ("unknown_share", (60, 20)),
    ):
        card[column] = [h / 100 for h in hits]
        card[f"{column}_low"] = card[column] - 0.05
        card[f"{column}_high"] = card[column] + 0.05
        card[f"{column}_n"] = 100
    return card


def test_the_resolution_tile_says_how_much_nothing_in_public_settles():
    shares = agg.outcome_split(outcome_card(), "A")
    assert [s.outcome for s in shares] == ["resolved", "unresolved", "unknown"]
    assert agg.outcome_split_text(shares) == "resolved 31% · unresolved 9% · unknown 60%"
    detail = agg.outcome_split_intervals(shares)
    assert "unknown 60.0% (55.0% – 65.0%)" in detail and "of 100 answered care" in detail
    # A brand with no figures says so instead of failing.
    missing = agg.outcome_split(outcome_card(), "Nobody")
    assert agg.outcome_split_text(missing) == "resolved — · unresolved — · unknown —"


def test_the_resolution_ranking_carries_the_unresolved_and_unknown_shares():
    metric = agg.METRIC_BY_COLUMN["resolution_rate"]
    table = agg.ranking(outcome_card(), metric, "A").set_index("Brand")
    assert table.loc["A", "Unresolved (%)"] == pytest.approx(9.0)
    assert table.loc["A", "Unknown (%)"] == pytest.approx(60.0)
    assert table.loc["B", "Unknown (%)"] == pytest.approx(20.0)
    # Other metrics' rankings stay as they were.
    speed = agg.METRIC_BY_COLUMN["ttfr_median_seconds"]
    other = agg.ranking(card_of({"A": (60, 50, 70)}, speed.column), speed, "A")
    assert "Unknown (%)" not in other.columns


def test_for_rates_higher_is_better():
    rates = card_of({"F": (0.55, 0.5, 0.6), "B": (0.85, 0.8, 0.9)}, "sla_share")
    higher = agg.METRIC_BY_COLUMN["sla_share"]
    lower = agg.METRIC_BY_COLUMN["deflection_rate"]
    assert agg.brand_vs_focus(rates, higher, "F")["B"].text == "better (real)"
    renamed = rates.rename(columns=lambda c: c.replace("sla_share", "deflection_rate"))
    assert agg.brand_vs_focus(renamed, lower, "F")["B"].text == "worse (real)"


# -- speed ---------------------------------------------------------------------------------------


def test_the_ecdf_sends_a_bounded_number_of_rows_whatever_the_volume():
    rng = np.random.default_rng(1)
    frame = conversations(
        [{"brand": "A", "ttfr_seconds": float(s)} for s in rng.exponential(600, 5000)]
        + [{"brand": "B", "ttfr_seconds": 0.0}, {"brand": "B", "ttfr_seconds": -5.0}]
        + [{"brand": "B", "ttfr_seconds": math.nan, "answered": False}]
    )
    ecdf = agg.ttfr_ecdf(frame)
    assert (ecdf.groupby("brand").size() <= 101).all()
    b = ecdf[ecdf["brand"] == "B"]
    assert b["n"].iloc[0] == 1  # clock skew and unanswered are left out
    assert b["minutes"].min() == agg.LOG_FLOOR_MINUTES  # a zero gap sits on the log floor
    a = ecdf[ecdf["brand"] == "A"]
    assert a["share"].is_monotonic_increasing and a["minutes"].is_monotonic_increasing


def test_sla_curve_counts_answers_within_each_checkpoint():
    frame = conversations([{"brand": "A", "ttfr_seconds": s} for s in (60.0, 240.0, 900.0, 4000.0)])
    curve = agg.sla_curve(frame, (5, 15, 60)).set_index("minutes")
    assert curve["share"].tolist() == [50.0, 75.0, 75.0]
    assert (curve["low"] <= curve["share"]).all() and (curve["share"] <= curve["high"]).all()
    assert (curve["n"] == 4).all()


def test_hour_of_week_has_every_cell_and_hides_speed_in_thin_cells():
    frame = conversations(
        [{"brand": "A", "opened_hour_of_week": 9, "ttfr_seconds": 60.0 * i} for i in range(1, 6)]
        + [{"brand": "A", "opened_hour_of_week": 30, "ttfr_seconds": 60.0}]
    )
    cells = agg.hour_of_week(frame, sla_seconds=180).set_index("how")
    assert len(cells) == 168
    assert cells.loc[9, "conversations"] == 5 and cells.loc[9, "median_minutes"] == 3.0
    assert cells.loc[9, "sla_percent"] == 60.0
    assert cells.loc[30, "conversations"] == 1 and math.isnan(cells.loc[30, "median_minutes"])
    assert (cells.loc[9, "day"], cells.loc[9, "hour"]) == ("Mon", 9)
    assert (cells.loc[30, "day"], cells.loc[30, "hour"]) == ("Tue", 6)


# -- deflection and outcomes ----------------------------------------------------------------


def test_channel_mix_is_over_deflected_conversations_and_may_exceed_100():
    frame = conversations(
        [
            {"brand": "A", "deflected": True, "deflection_channels": "dm;phone"},
            {"brand": "A", "deflected": True, "deflection_channels": "dm"},
            {"brand": "A"},
        ]
    )
    mix = agg.channel_mix(frame).set_index("channel")
    assert mix.loc["DM", "share"] == 100.0 and mix.loc["Phone", "share"] == 50.0
    assert (mix["n"] == 2).all()
    wide = agg.wide_shares(agg.channel_mix(frame), ["brand"], "channel", ["DM", "Phone"], "n")
    assert wide.columns.tolist() == ["Brand", "n", "DM (%)", "Phone (%)"]


def test_outcome_shares_cover_care_requests_and_add_up():
    frame = conversations(
        [
            {"brand": "A", "outcome": "resolved"},
            {"brand": "A", "outcome": "unknown"},
            {"brand": "A", "outcome": "unanswered", "answered": False},
            {"brand": "A", "outcome": "resolved", "care_request": False},
        ]
    )
    shares = agg.outcome_shares(frame)
    assert shares["share"].sum() == pytest.approx(100)
    assert shares.set_index("outcome").loc["unanswered", "n"] == 3


def test_outcome_after_deflection_splits_by_what_the_brand_did():
    frame = conversations(
        [
            {"brand": "A", "deflected": True, "first_touch_deflection": True, "outcome": "unknown"},
            {"brand": "A", "deflected": True, "outcome": "resolved"},
            {"brand": "A", "outcome": "resolved"},
            {"brand": "A", "outcome": "unanswered", "answered": False},
        ]
    )
    paths = agg.outcome_after_deflection(frame).set_index("path")
    assert paths.loc["deflected at first reply", "outcome"] == "unknown"
    assert paths.loc["deflected later", "outcome"] == "resolved"
    assert paths["n"].sum() == 3  # the unanswered one has no path


# -- charts ----------------------------------------------------------------------------------------


def test_charts_say_what_is_compared_and_keep_the_focus_colour():
    card = card_of({"A": (600, 500, 700), "B": (300, 200, 400)}, "ttfr_median_seconds")
    metric = agg.METRIC_BY_COLUMN["ttfr_median_seconds"]
    chart = charts.interval_chart(
        agg.interval_table(card, metric),
        ["A", "B"],
        charts.title("Median first response by brand", "n = 100 each"),
        "Median first response (minutes)",
    )
    spec = charts.style(chart).to_dict()
    assert spec["title"]["text"] == "Median first response by brand"
    assert spec["title"]["subtitle"] == "n = 100 each"
    assert spec["autosize"]["type"] == "fit-x"  # the plot keeps its height on screen
    assert spec["config"]["axis"]["labelFontSize"] >= 14  # readable on a projector
    colour = spec["layer"][1]["encoding"]["color"]["scale"]
    assert colour["domain"] == ["A", "B"]
    assert colour["range"] == [charts.brand_colour("A"), charts.brand_colour("B")]
    assert spec["layer"][0]["encoding"]["x"]["title"] == "Median first response (minutes)"


def test_the_ttfr_chart_has_a_log_time_axis_and_the_sla_line():
    frame = conversations([{"brand": "A", "ttfr_seconds": s} for s in (30.0, 600.0, 7200.0)])
    chart = charts.ecdf_chart(agg.ttfr_ecdf(frame), ["A"], 60, charts.title("TTFR"))
    spec = chart.to_dict()
    x = spec["layer"][0]["encoding"]["x"]
    assert x["scale"]["type"] == "log"
    assert "min" in x["axis"]["labelExpr"] and " h" in x["axis"]["labelExpr"]
    rule = spec["datasets"][spec["layer"][1]["data"]["name"]]
    assert rule == [{"minutes": 60, "label": "SLA"}]


def test_n_lines_wrap_long_brand_lists():
    lines = charts.n_lines({f"Brand{i}": i for i in range(6)}, "n answered", per_line=4)
    assert lines == ["n answered: Brand0 0, Brand1 1, Brand2 2, Brand3 3", "Brand4 4, Brand5 5"]


def test_exports_are_real_png_and_svg():
    frame = conversations([{"brand": "A", "outcome": "resolved"}])
    chart = charts.outcome_chart(agg.outcome_shares(frame), ["A"], charts.title("Outcomes"))
    assert charts.chart_png(chart)[:8] == b"\x89PNG\r\n\x1a\n"
    assert charts.chart_svg(chart).lstrip().startswith("<svg")


def test_table_csv_writes_booleans_and_times_like_the_cli():
    table = pd.DataFrame({"ok": [True, False], "at": pd.to_datetime([T0, T0], utc=True)})
    assert charts.table_csv(table).splitlines() == [
        "ok,at",
        "true,2017-10-02T09:00:00Z",
        "false,2017-10-02T09:00:00Z",
    ]


def test_markdown_escaping_keeps_handles_literal():
    assert charts.md("Uber_Support") == r"Uber\_Support"
    assert charts.md("[x](http://e.vil)") == r"\[x\]\(http\://e\.vil\)"


# -- issue 17: charts a room can read, honest deltas, trends -----------------------------------


def two_brand_frames() -> dict[str, pd.DataFrame]:
    """The table behind every multi-series chart, for brands A and B."""
    frame = conversations(
        [{"brand": b, "ttfr_seconds": s} for b in ("A", "B") for s in (30.0, 600.0, 7200.0)]
    )
    weekly = pd.DataFrame(
        {
            "brand": ["A", "A", "B", "B"],
            "period": pd.to_datetime(["2017-10-02", "2017-10-09"] * 2, utc=True),
            "sla_share": [0.5, 0.6, 0.4, 0.45],
            "sla_share_low": [0.4, 0.5, 0.3, 0.35],
            "sla_share_high": [0.6, 0.7, 0.5, 0.55],
            "sla_share_n": [100] * 4,
        }
    )
    metric = agg.METRIC_BY_COLUMN["sla_share"]
    return {
        "ecdf": agg.ttfr_ecdf(frame),
        "sla": agg.sla_curve(frame),
        "trend": agg.trend_table(weekly, metric),
    }


def multi_series_charts(brands: list[str], colours: dict[str, str] | None = None) -> dict:
    tables = two_brand_frames()
    heading = charts.title("Chart", "subtitle")
    return {
        "ecdf": charts.ecdf_chart(tables["ecdf"], brands, 60, heading, colours=colours),
        "sla": charts.sla_curve_chart(tables["sla"], brands, 60, heading, colours=colours),
        "trend": charts.trend_chart(tables["trend"], brands, "x", heading, colours=colours),
    }


def colour_encodings(spec: dict) -> list[dict]:
    found = []
    for layer in spec.get("layer", [spec]):
        for channel in ("color", "fill", "stroke"):
            enc = layer.get("encoding", {}).get(channel)
            if enc and enc.get("field") == "brand":
                found.append(enc)
    return found


@pytest.mark.parametrize("name", ["ecdf", "sla", "trend"])
def test_every_multi_series_chart_has_a_brand_legend_on_screen_and_in_exports(name: str):
    chart = multi_series_charts(["A", "B"])[name]
    spec = chart.to_dict()
    # Vega-Lite merges the layers' brand legends and drops the lot when one layer says
    # legend=None: every brand-coloured layer must carry it.
    encodings = colour_encodings(spec)
    assert encodings and all(e.get("legend") is not None for e in encodings)
    svg = charts.chart_svg(chart)
    assert "role-legend" in svg
    assert "A (focus)" in svg and ">B<" in svg


def test_a_brand_keeps_its_colour_whatever_the_selection_and_order():
    store_brands = ["Zeta", "Alpha", "Mid", "Beta", "Gamma"]  # the store's, largest first
    colours = charts.brand_colours(store_brands)
    assert len(set(colours.values())) == len(store_brands)  # distinct while the palette lasts
    many = charts.brand_colours([f"B{i}" for i in range(100)])
    assert len({many[f"B{i}"] for i in range(len(charts.PALETTE))}) == len(charts.PALETTE)

    def scale(brands: list[str]) -> dict[str, str]:
        spec = multi_series_charts(brands, colours)["trend"].to_dict()
        enc = colour_encodings(spec)[0]["scale"]
        return dict(zip(enc["domain"], enc["range"], strict=True))

    first, second = scale(["Alpha", "Mid", "Zeta"]), scale(["Zeta", "Beta", "Alpha"])
    assert first["Alpha"] == second["Alpha"] and first["Zeta"] == second["Zeta"]
    # Without the store's list, a hash of the name still gives one colour per brand.
    assert charts.brand_colour("Mid") == charts.brand_colour("Mid")


def test_the_focus_brand_is_drawn_thicker_and_the_others_muted():
    spec = multi_series_charts(["B", "A"])["sla"].to_dict()
    line = spec["layer"][1]["encoding"]
    assert line["strokeWidth"]["condition"]["test"] == 'datum.brand === "B"'
    assert line["strokeWidth"]["condition"]["value"] > line["strokeWidth"]["value"]
    assert line["opacity"]["condition"]["value"] > line["opacity"]["value"]


def test_charts_use_the_apps_font():
    spec = charts.style(multi_series_charts(["A", "B"])["sla"]).to_dict()
    assert spec["config"]["font"].startswith('"Source Sans"')  # Streamlit's own typeface
    assert spec["config"]["title"]["font"] == spec["config"]["font"]


@pytest.mark.parametrize(
    ("seconds", "symbol"),
    [
        ([20.0, 45.0], "s"),
        ([300.0, 900.0], "min"),
        ([3 * 3600.0, 5 * 3600.0], "h"),
        ([6 * 86400.0, 4 * 86400.0], "d"),
        ([], "min"),
    ],
)
def test_time_units_follow_the_data(seconds: list[float], symbol: str):
    assert agg.time_unit(seconds).symbol == symbol


def test_a_six_day_median_gets_days_and_a_log_axis_not_flat_minutes():
    metric = agg.METRIC_BY_COLUMN["ttfr_median_seconds"]
    card = card_of(
        {
            "Slow": (6 * 86400, 5 * 86400, 7 * 86400),
            "Fast": (600, 500, 700),
            "Mid": (9e4, 8e4, 1e5),
        },
        metric.column,
    )
    unit = agg.display_unit(metric, card[metric.column])
    assert unit.symbol == "h"
    table = agg.interval_table(card, metric, unit=unit)
    assert table.set_index("brand").loc["Slow", "value"] == pytest.approx(144.0)
    assert agg.wide_spread(table["value"])
    chart = charts.interval_chart(
        table, ["Fast", "Slow", "Mid"], charts.title("x"), "h", log=True, time_unit=unit
    )
    assert chart.to_dict()["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    # Ticks and dot labels are times people read, each in its own unit.
    svg = charts.chart_svg(chart)
    for text in (">15 min<", ">1 h<", ">1 day<", ">1 week<", ">6.0 days<", ">10.0 min<"):
        assert text in svg, text
    ranked = agg.ranking(card, metric, "Fast")
    assert "Median first response (h)" in ranked.columns


def test_tile_deltas_inside_the_intervals_are_neutral():
    metric = agg.METRIC_BY_COLUMN["deflection_rate"]

    def wilson(hits: int, n: int) -> tuple[float, float, float]:
        from carebench.benchmark.intervals import wilson_interval

        return (hits / n, *wilson_interval(hits, n))

    # +5.4 pp "worse" on 100 conversations: inside the intervals.
    card = card_of({"F": wilson(30, 100), "P": wilson(246, 1000)}, metric.column)
    (tile,) = agg.kpi_tiles(card, "F", ("P",), (metric,))
    assert tile.delta_text == "+5.4 pp"
    assert tile.delta_color == "off"
    assert tile.delta_description == "within noise"
    # The same gap on big samples is real, and painted (red, since lower is better).
    card = card_of({"F": wilson(3000, 10000), "P": wilson(2460, 10000)}, metric.column)
    (tile,) = agg.kpi_tiles(card, "F", ("P",), (metric,))
    assert tile.comparison.verdict == "worse" and tile.delta_color == "inverse"
    assert tile.delta_description == "real gap vs peers"


def test_every_metric_gets_a_verdict_from_the_one_comparison():
    from carebench.benchmark.compare import Estimate, compare

    rows = []
    for brand, base in (("F", 0.2), ("P", 0.5), ("Q", 0.21)):
        row: dict[str, object] = {"brand": brand, "conversations": 500, "small_sample": False}
        for m in agg.METRICS:
            value = base * (3600 if m.unit == "minutes" else 1)
            row[m.column], row[f"{m.column}_n"] = value, 500
            row[f"{m.column}_low"], row[f"{m.column}_high"] = value * 0.9, value * 1.1
        rows.append(row)
    card = pd.DataFrame(rows)
    matrix = agg.verdict_matrix(card, "F").set_index("Brand")
    assert list(matrix.columns) == [m.label for m in agg.METRICS]
    for m in agg.METRICS:
        p = card.set_index("brand").loc["P"]
        f = card.set_index("brand").loc["F"]
        expected = compare(
            Estimate(p[m.column], p[f"{m.column}_low"], p[f"{m.column}_high"]),
            Estimate(f[m.column], f[f"{m.column}_low"], f[f"{m.column}_high"]),
            m.better,
        ).verdict
        assert matrix.loc["P", m.label] == expected
        assert matrix.loc["Q", m.label] == "within noise"
    peers = agg.focus_vs_peers(card, "F", ("P", "Q"))
    assert len(peers) == len(agg.METRICS) and set(peers["Verdict"]) <= {
        "better",
        "worse",
        "within noise",
    }


def weekly_rows(rows: list[tuple[str, str, float, int]]) -> pd.DataFrame:
    """(brand, period start, share, n) -> a periodic scorecard of `sla_share`."""
    return pd.DataFrame(
        {
            "brand": [r[0] for r in rows],
            "period": pd.to_datetime([r[1] for r in rows], utc=True),
            "sla_share": [r[2] for r in rows],
            "sla_share_low": [max(r[2] - 0.1, 0) for r in rows],
            "sla_share_high": [min(r[2] + 0.1, 1) for r in rows],
            "sla_share_n": [r[3] for r in rows],
        }
    )


def test_trends_flag_partial_and_small_periods_and_break_at_gaps():
    metric = agg.METRIC_BY_COLUMN["sla_share"]
    weekly = weekly_rows(
        [
            ("A", "2017-10-02", 0.10, 40),  # the view starts on Wed 4 Oct: partial
            ("A", "2017-10-09", 0.60, 80),
            ("A", "2017-10-16", 0.62, 80),
            ("A", "2017-10-23", 1.00, 1),  # one case
            ("A", "2017-10-30", 0.64, 80),
            # no week of 6 Nov: the line must break
            ("A", "2017-11-13", 0.63, 80),
            ("A", "2017-11-20", 0.65, 80),
        ]
    )
    trend = agg.trend_table(weekly, metric, 30, start=date(2017, 10, 4), end=date(2017, 11, 26))
    by_week = trend.set_index(trend["period"].dt.strftime("%m-%d"))
    assert by_week.loc["10-02", "partial"] and not by_week.loc["10-02", "small_sample"]
    assert by_week.loc["10-23", "small_sample"] and by_week["hollow"].sum() == 2
    assert not by_week.loc["11-20", "partial"]  # Sunday 26 Nov is the view's last day
    # Runs break at the empty week; solid runs also at the hollow weeks.
    assert by_week.loc["10-30", "run"] == by_week.loc["10-02", "run"]
    assert by_week.loc["11-13", "run"] != by_week.loc["10-30", "run"]
    solid = by_week["solid_run"]
    assert solid["10-09"] == solid["10-16"] != solid["10-30"] != solid["11-13"] == solid["11-20"]
    assert solid["10-02"] == solid["10-23"] == -1
    # The one-case week (100%) and the partial one (10%) do not set the y-axis.
    low, high = agg.trend_domain(trend, agg.PERCENT)
    assert 40 < low < 60 and 70 < high < 80

    spec = charts.trend_chart(trend, ["A"], "%", charts.title("x"), domain=(low, high)).to_dict()
    band, dashed, solid_line, points = spec["layer"]
    assert dashed["mark"]["strokeDash"] and dashed["encoding"]["detail"]["field"] == "run"
    assert solid_line["transform"] == [{"filter": "datum.reliable"}]
    assert solid_line["encoding"]["detail"]["field"] == "solid_run"
    assert band["transform"] == [{"filter": "datum.reliable"}]
    fill = points["encoding"]["fill"]
    assert fill["condition"] == {"test": "datum.hollow", "value": "white"}
    y = points["encoding"]["y"]["scale"]
    assert y["domain"] == [low, high] and y["clamp"] is True


def test_monthly_trends_flag_cut_months():
    metric = agg.METRIC_BY_COLUMN["sla_share"]
    monthly = weekly_rows([("A", "2017-10-01", 0.5, 90), ("A", "2017-11-01", 0.6, 90)])
    trend = agg.trend_table(
        monthly, metric, 30, period="month", start=date(2017, 10, 1), end=date(2017, 11, 15)
    )
    assert trend["partial"].tolist() == [False, True]
    assert trend["run"].nunique() == 1  # October and November are adjacent months


def test_before_after_says_better_worse_or_within_noise():
    def period_card(speed: tuple[float, float, float], resolved: tuple[float, ...]):
        card = card_of({"F": speed}, "ttfr_median_seconds")
        for m in agg.METRICS[1:]:
            card[m.column], card[f"{m.column}_low"], card[f"{m.column}_high"] = resolved
            card[f"{m.column}_n"] = 60
        return card

    before = period_card((3600.0, 3000.0, 4200.0), (0.5, 0.4, 0.6))
    after = period_card((60.0, 50.0, 70.0), (0.52, 0.42, 0.62))
    changes = agg.before_after(before, after).set_index("Metric")
    speed = changes.loc["Median first response"]
    assert speed["Verdict"] == "better" and speed["Change"] < 0
    assert speed["Unit"] == "min" and speed["Before"] == 60.0
    assert changes.loc["Resolved in public", "Verdict"] == "within noise"
    sentence = agg.verdict_sentence(speed.rename(None).to_dict() | {"Metric": "Median"})
    assert sentence.startswith("Median: **better**") and "lower is better" in sentence
    missing = agg.before_after(before, before.iloc[0:0])
    assert set(missing["Verdict"]) == {"not enough data"}


def test_csv_downloads_are_rounded_and_never_mix_fractions_and_percent():
    metric = agg.METRIC_BY_COLUMN["sla_share"]
    card = card_of({"A": (0.519607843137255, 0.4, 0.6)}, metric.column)
    card["ttfr_median_seconds"] = [1234.5678]
    card["ttfr_median_seconds_n"] = [100]
    out = agg.scorecard_export(card)
    assert out.loc[0, "sla_share_pct"] == 52.0 and out.loc[0, "sla_share_pct_low"] == 40.0
    assert out.loc[0, "ttfr_median_minutes"] == 20.6
    assert "sla_share" not in out.columns and "sla_share_n" in out.columns
    text = charts.table_csv(agg.rounded(agg.ranking(card, metric, "A")))
    assert "51.96" not in text and "52.0" in text


def test_exported_images_carry_title_period_sla_n_and_source():
    from types import SimpleNamespace

    view = SimpleNamespace(
        filters=Filters("A", ("B",), date(2017, 10, 1), date(2017, 11, 30), None, 60, False),
        is_demo=False,
        loaded=SimpleNamespace(
            imports=pd.DataFrame({"source": ["/data/twcs/twcs_head_5k.csv"], "collector": ["twcs"]})
        ),
        conversations=pd.DataFrame({"x": range(1234)}),
    )
    meta = charts.export_meta(view)  # type: ignore[arg-type]
    chart = multi_series_charts(["A", "B"])["sla"]
    svg = charts.chart_svg(chart, meta)
    for text in ("Chart", "01 Oct 2017", "30 Nov 2017", "SLA 1 h", "n = 1,234", "twcs_head_5k.csv"):
        assert text in svg, text
    # On screen the chart has no such lines (the page and sidebar say them).
    assert "twcs_head_5k" not in json.dumps(charts.style(chart).to_dict())
