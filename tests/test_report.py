"""The workshop report: the same content in PDF and PowerPoint, honest claims, no leaks."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pptx import Presentation
from pptx.util import Pt
from typer.testing import CliRunner

from carebench.benchmark.compare import Estimate, compare
from carebench.benchmark.pipeline import analyse_store
from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.settings import Settings
from carebench.cli import app
from carebench.dashboard import aggregates as agg
from carebench.report.content import (
    Report,
    ReportOptions,
    brands_by_size,
    build_report,
    bulk_period,
    executive_summary,
    select_analysis,
    summary_sentence,
)
from carebench.store import Store
from tests.conftest import generated_store, head_sample_store, private_copy

runner = CliRunner()
FOCUS, RIVALS = "AmazonHelp", ("AppleSupport", "Delta")
BRAND_ARGS = ["--brand", FOCUS, "--vs", ",".join(RIVALS)]
AREAS = ("Speed", "Deflection", "Resolution", "Templates", "Trends", "Recurring issues")
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="poppler-utils (pdftotext, pdffonts) is not installed: apt-get install poppler-utils",
)


@pytest.fixture(scope="module")
def head_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return head_sample_store(tmp_path_factory, "report")


@pytest.fixture(scope="module")
def head_analysis(head_store: Path):  # type: ignore[no-untyped-def]
    return analyse_store(head_store)


@pytest.fixture(scope="module")
def head_report(head_analysis) -> Report:  # type: ignore[no-untyped-def]
    options = ReportOptions(
        FOCUS,
        RIVALS,
        store_name="head.duckdb",
        sources=("twcs_head_5k.csv",),
        formats=("twcs",),
        all_brands=brands_by_size(head_analysis.conversations),
    )
    return build_report(select_analysis(head_analysis, options.brands, None, None), options)


@pytest.fixture(scope="module")
def head_files(head_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The report of the TWCS head sample as PDF and PPTX, plain and anonymised, by the CLI."""
    folder = tmp_path_factory.mktemp("files")
    files = {}
    for name, extra in (
        ("plain.pdf", []),
        ("plain.pptx", []),
        ("anon.pdf", ["--anonymise"]),
        ("anon.pptx", ["--anonymise"]),
    ):
        path = folder / name
        result = runner.invoke(
            app, ["report", "--db", str(head_store), *BRAND_ARGS, *extra, "-o", str(path)]
        )
        assert result.exit_code == 0, result.output
        files[name] = path
    return files


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_store(tmp_path_factory.mktemp("generated"), posts=4000, seed=5)


def pdf_pages(path: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text.split("\f")[:-1]


def pptx_slides(path: Path):  # type: ignore[no-untyped-def]
    return list(Presentation(str(path)).slides)


def slide_text(slide) -> str:  # type: ignore[no-untyped-def]
    parts = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            parts.append(shape.text_frame.text)
        if shape.has_table:
            parts += [cell.text for row in shape.table.rows for cell in row.cells]
    return "\n".join(parts)


def chart_values(path: Path) -> dict[str, dict[str, tuple]]:
    """Chart title (the text box above it) -> series name -> values, for every slide chart."""
    found = {}
    for slide in pptx_slides(path):
        charts = [s for s in slide.shapes if s.has_chart]
        if not charts:
            continue
        title = [s for s in slide.shapes if s.has_text_frame][2].text_frame.text
        plot = charts[0].chart.plots[0]
        found[title] = {s.name: tuple(s.values) for s in plot.series}
        found[title]["categories"] = tuple(plot.categories)
    return found


# -- content -----------------------------------------------------------------------------


@needs_poppler
def test_pdf_pages_say_what_the_report_holds(head_files, head_report, head_analysis):
    pages = pdf_pages(head_files["plain.pdf"])
    # By default the bulk of the data, as the dashboard's default dates: two stray
    # conversations (Aug 2016, Aug 2017) are out.
    chosen = select_analysis(
        head_analysis, (FOCUS, *RIVALS), date(2017, 9, 26), date(2017, 12, 2)
    ).conversations
    cover = re.sub(r"\s+", " ", pages[0])
    for expected in (
        "Customer care benchmark",
        "AmazonHelp (focus) vs AppleSupport, Delta",
        "Period: 26 Sep 2017 – 02 Dec 2017 (UTC); 2 conversations of these brands opened far "
        "from the bulk of the data left out",
        f"Conversations: {len(chosen):,}",
        "SLA: first reply within 1 h",
        "Data: twcs_head_5k.csv (twcs)",
        "Store: head.duckdb",
        "Generated",
    ):
        assert expected in cover, expected
    everything = "\n".join(pages)
    assert "/shared/data" not in everything  # file names, never server folders
    flat = re.sub(r"\s+", " ", everything)
    for sentence in head_report.summary:
        assert sentence.text in flat
    for title in ("Executive summary", "Scorecard", "Real differences or noise?", *AREAS):
        assert any(p.lstrip().startswith(title) for p in pages), title
    assert "Example thread: AmazonHelp, good example 1" in everything
    assert "Example thread: AmazonHelp, bad example 1" in everything
    assert "Method: definitions and accuracy" in everything
    assert "Public replies only" in everything
    assert "Deflection precision" in everything  # the labels' measured accuracy


@needs_poppler
def test_pdf_draws_every_chart_as_vectors_and_every_table(head_files, head_report):
    flat = re.sub(r"\s+", " ", "\n".join(pdf_pages(head_files["plain.pdf"])))
    assert len(head_report.charts) == 9  # speed 2, deflection 2, trends 2, 1 per other area
    for chart in head_report.charts:
        # The chart's own title is text in the page: drawn as vectors, not an image.
        assert chart.title in flat, chart.title
    for table in head_report.tables:
        assert re.sub(r"\s+", " ", table.title) in flat, table.title
    images = subprocess.run(
        ["pdfimages", "-list", str(head_files["plain.pdf"])],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert len(images.strip().splitlines()) == 2  # the header lines only: no bitmap


@needs_poppler
def test_pdf_embeds_every_font(head_files):
    fonts = subprocess.run(
        ["pdffonts", str(head_files["plain.pdf"])], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    assert fonts
    for line in fonts:
        assert re.search(r"\syes\s+yes\s", line), line  # embedded, subset


def test_pptx_has_native_charts_and_tables_and_every_section(head_files, head_report):
    slides = pptx_slides(head_files["plain.pptx"])
    texts = [slide_text(s) for s in slides]
    charts = [shape for s in slides for shape in s.shapes if shape.has_chart]
    tables = [shape for s in slides for shape in s.shapes if shape.has_table]
    assert len(charts) == len(head_report.charts)
    assert len(tables) >= len(head_report.tables)  # long tables continue on a second slide
    assert texts[0].startswith("Customer care benchmark")
    assert "Data: twcs_head_5k.csv (twcs)" in texts[0]
    summary = texts[1]
    for sentence in head_report.summary:
        assert sentence.text in summary
    for area in AREAS:
        assert any(t.startswith(area) for t in texts), area
    assert any("AmazonHelp · good example 1" in t for t in texts)
    # Every slide but the thread slides says which data it shows.
    footer = "AmazonHelp vs AppleSupport, Delta · 26 Sep 2017 – 02 Dec 2017 (UTC)"
    assert sum(footer in t for t in texts) >= len(texts) - 6


def test_pptx_chart_series_equal_the_scorecard(head_files, head_analysis):
    chosen = select_analysis(head_analysis, (FOCUS, *RIVALS), date(2017, 9, 26), date(2017, 12, 2))
    card = scorecard(chosen.conversations, Settings()).set_index("brand")
    charts = chart_values(head_files["plain.pptx"])
    for title, column in (
        ("Share answered within the SLA (1 h), by brand", "sla_share"),
        ("Share of answered conversations deflected, by brand", "deflection_rate"),
        ("Share of brand replies that are templated, by brand", "templated_ratio"),
    ):
        chart = charts[title]
        brands = [c.removesuffix(" (focus)") for c in chart["categories"]]
        assert brands == [FOCUS, *RIVALS]
        (values,) = [v for k, v in chart.items() if k != "categories"]
        expected = [card.loc[b, column] * 100 for b in brands]
        assert values == pytest.approx(expected)
    outcomes = charts["How care requests ended in public, by brand"]
    care = chosen.conversations
    care = care[care["care_request"].astype(bool)]
    shares = care.groupby("brand")["outcome"].value_counts(normalize=True) * 100
    for i, brand in enumerate([FOCUS, *RIVALS]):
        assert outcomes["unknown"][i] == pytest.approx(shares[brand].get("unknown", 0.0))


def test_no_slide_text_is_below_12_points(head_files):
    for slide in pptx_slides(head_files["plain.pptx"]):
        for shape in slide.shapes:
            frames = []
            if shape.has_text_frame:
                frames.append(shape.text_frame)
            if shape.has_table:
                frames += [cell.text_frame for row in shape.table.rows for cell in row.cells]
            for frame in frames:
                for paragraph in frame.paragraphs:
                    for run in paragraph.runs:
                        assert run.font.size is not None and run.font.size >= Pt(12), run.text
            if shape.has_chart:
                chart = shape.chart
                assert chart.font.size >= Pt(12)
                assert chart.value_axis.tick_labels.font.size >= Pt(12)
                assert chart.category_axis.tick_labels.font.size >= Pt(12)


# -- anonymised ------------------------------------------------------------------------


def customers_and_posts(analysis) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    chosen = select_analysis(analysis, (FOCUS, *RIVALS), None, None)
    turns = chosen.turns
    handles = set(turns.loc[turns["author_role"] == "customer", "author_handle"].dropna())
    return {str(h) for h in handles}, set(turns["post_id"].astype(str))


def every_text(files: dict[str, Path], kind: str) -> str:
    pdf = "\n".join(pdf_pages(files[f"{kind}.pdf"]))
    pptx = "\n".join(slide_text(s) for s in pptx_slides(files[f"{kind}.pptx"]))
    return pdf + "\n" + pptx


@needs_poppler
def test_anonymised_report_holds_no_customer_handle_or_post_id(head_files, head_analysis):
    handles, post_ids = customers_and_posts(head_analysis)
    assert len(handles) > 50
    plain = every_text(head_files, "plain")
    # The plain report shows customers (so the check below can fail)...
    assert any(re.search(rf"@{re.escape(h)}\b", plain) for h in handles)
    anonymised = every_text(head_files, "anon")
    for handle in handles:
        assert not re.search(rf"@{re.escape(handle)}\b", anonymised), handle
    for post_id in post_ids:
        assert post_id not in anonymised, post_id
    assert "customer-" in anonymised
    assert "anonymised" in anonymised


# -- the summary never claims what the intervals do not support --------------------------


def card_of(rows: dict[str, tuple[float, float, float]], column: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "brand": list(rows),
            column: [v[0] for v in rows.values()],
            f"{column}_low": [v[1] for v in rows.values()],
            f"{column}_high": [v[2] for v in rows.values()],
            f"{column}_n": [100] * len(rows),
        }
    )
    for metric in agg.METRICS:
        if metric.column != column:
            for suffix in ("", "_low", "_high"):
                frame[metric.column + suffix] = math.nan
            frame[f"{metric.column}_n"] = 0
    return frame


def test_a_gap_within_noise_is_never_called_better():
    # Intervals overlap: the medians differ (9 vs 12 min) but the data cannot tell.
    card = card_of({"B": (540, 300, 900), "C": (720, 400, 1100)}, "ttfr_median_seconds")
    assert compare(Estimate(540, 300, 900), Estimate(720, 400, 1100), "lower").verdict == (
        "within noise"
    )
    (sentence,) = [
        s for s in executive_summary(card, "B", ["C"], "1 h") if "answers in a median" in s.text
    ]
    assert "within noise" in sentence.text
    for word in ("faster", "slower", "fastest", "slowest"):
        assert word not in sentence.text
    # Clearly apart: now it may say so.
    card = card_of({"B": (300, 250, 350), "C": (900, 800, 1000)}, "ttfr_median_seconds")
    (sentence,) = [
        s for s in executive_summary(card, "B", ["C"], "1 h") if "answers in a median" in s.text
    ]
    assert "the fastest of 2" in sentence.text


def test_a_small_sample_is_compared_with_nothing():
    # One conversation: its median's "interval" is that one time, which compare would
    # take as certain. The summary must not rank on it.
    card = card_of({"B": (300, 250, 350), "C": (900, 900, 900)}, "ttfr_median_seconds")
    card.loc[card["brand"] == "C", "ttfr_median_seconds_n"] = 1
    (sentence,) = [
        s for s in executive_summary(card, "B", ["C"], "1 h") if "answers in a median" in s.text
    ]
    assert "too few cases to compare with C" in sentence.text
    assert "fastest" not in sentence.text and "faster" not in sentence.text
    card.loc[card["brand"] == "B", "ttfr_median_seconds_n"] = 4
    (sentence,) = [
        s for s in executive_summary(card, "B", ["C"], "1 h") if "answers in a median" in s.text
    ]
    assert sentence.text == "B answers in a median 5.0 min, on only 4 cases: too few to compare."


def test_every_summary_claim_is_the_verdict_of_compare(head_report):
    card = head_report.scorecard.set_index("brand")
    assert 3 <= len(head_report.summary) <= 5
    for sentence in head_report.summary:
        for claim in sentence.claims:
            metric = agg.METRIC_BY_COLUMN[claim.metric]
            if claim.other == "peers' median":
                continue
            mine, theirs = (
                Estimate(*(card.loc[b, metric.column + s] for s in ("", "_low", "_high")))
                for b in (FOCUS, claim.other)
            )
            few = min(card.loc[b, f"{metric.column}_n"] for b in (FOCUS, claim.other)) < 30
            expected = "not enough data" if few else compare(mine, theirs, metric.better).verdict
            assert claim.verdict == expected
            clause = next(part for part in sentence.text.split(";") if claim.other in part)
            if claim.verdict == "within noise":
                assert "within noise" in clause and "really" not in clause
            elif claim.verdict in ("better", "worse"):
                assert "really" in clause or "of 3 (a real difference" in clause


# -- the generated store, the dashboard's button ----------------------------------------


def test_generated_store_report_both_formats(generated, tmp_path):
    analysis = analyse_store(generated)
    brands = brands_by_size(analysis.conversations)
    focus, rivals = brands[0], brands[1:4]
    for suffix in ("pdf", "pptx"):
        out = tmp_path / f"report.{suffix}"
        result = runner.invoke(
            app,
            [
                "report", "--db", str(generated), "--brand", focus, "--vs", ",".join(rivals),
                "--sla-minutes", "30", "-o", str(out),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 10_000
    slides = pptx_slides(tmp_path / "report.pptx")
    texts = [slide_text(s) for s in slides]
    assert "SLA: first reply within 30 min" in texts[0]
    assert any(t.startswith("Recurring issues") and "Recurs" in t for t in texts)


def test_download_button_builds_the_view_on_screen(generated):
    from carebench.dashboard.data import View, read_store, turns_of
    from carebench.dashboard.filters import Filters
    from carebench.dashboard.report_download import report_file, view_report

    loaded = read_store(generated)
    brands = loaded.options.brands
    filters = Filters(
        focus=brands[1],
        competitors=brands[2:4],
        start=loaded.options.first_day,
        end=loaded.options.last_day,
        sla_minutes=30,
    )
    analysis = loaded.analysis
    keep = analysis.conversations["brand"].isin(list(filters.brands)).to_numpy()
    view = View(
        store_path=generated,
        is_demo=False,
        analysis=analysis,
        filters=filters,
        settings=Settings(sla_seconds=filters.sla_seconds),
        conversations=analysis.conversations[keep],
        mask=keep,
        loaded=loaded,
        version=("", 0, 0, 0, 0),
    )
    # The app reads a view's turns on first use (by store version); a hand-made view
    # gets them here.
    object.__setattr__(view, "turns", turns_of(analysis.turns, view.conversations))
    content = view_report(view)
    on_screen = scorecard(view.conversations, view.settings)
    pd.testing.assert_frame_equal(
        content.scorecard.reset_index(drop=True), on_screen.reset_index(drop=True)
    )
    assert content.options.focus == brands[1]
    assert content.page("title")[0].lines[3] == "SLA: first reply within 30 min"
    assert report_file(view, "pptx")[:2] == b"PK"
    assert report_file(view, "pdf")[:5] == b"%PDF-"


# -- pins, template, dates -------------------------------------------------------------


def test_pinned_threads_replace_the_gallery(head_store, tmp_path):
    store_path = tmp_path / "pins.duckdb"
    shutil.copy(head_store, store_path)
    analysis = analyse_store(store_path)
    own = analysis.conversations[
        (analysis.conversations["brand"] == "Delta")
        & analysis.conversations["answered"].astype(bool)
        & (analysis.conversations["opened_at"] >= pd.Timestamp("2017-11-01", tz="UTC"))
    ]
    pinned = str(own["conversation_id"].iloc[0])
    with Store(store_path) as store:
        store.pin("twitter", pinned, "Delta", "Look at the first reply")
    out = tmp_path / "pins.pptx"
    result = runner.invoke(
        app, ["report", "--db", str(store_path), *BRAND_ARGS, "--pins", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    texts = [slide_text(s) for s in pptx_slides(out)]
    assert any("Delta · pinned thread 1" in t for t in texts)
    assert any("Look at the first reply" in t for t in texts)
    assert not any("good example" in t for t in texts)


def test_a_client_template_gives_its_master_and_size(head_store, tmp_path):
    template = tmp_path / "client.pptx"
    four_three = Presentation()  # 4:3, 10 x 7.5 in
    four_three.save(str(template))
    out = tmp_path / "report.pptx"
    result = runner.invoke(
        app,
        [
            "report",
            "--db",
            str(head_store),
            *BRAND_ARGS,
            "--template",
            str(template),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert Presentation(str(out)).slide_width == four_three.slide_width


def test_the_default_period_leaves_out_only_stray_dates():
    bulk = pd.date_range("2017-10-01", "2017-11-30", freq="h", tz="UTC").to_series()
    strays = pd.Series(pd.to_datetime(["2011-05-01", "2016-08-06"], utc=True))
    assert bulk_period(pd.concat([strays, bulk])) == (date(2017, 10, 1), date(2017, 11, 30))
    # A late week of a sample, two weeks after the rest, stays in.
    late = pd.Series(pd.date_range("2017-12-14", "2017-12-20", freq="D", tz="UTC"))
    assert bulk_period(pd.concat([bulk, late])) == (date(2017, 10, 1), date(2017, 12, 20))
    assert bulk_period(pd.Series([], dtype="datetime64[ns, UTC]")) is None


def test_dates_cut_the_report_to_the_period(head_analysis):
    options = ReportOptions(FOCUS, RIVALS, start=date(2017, 10, 1), end=date(2017, 11, 30))
    report = build_report(select_analysis(head_analysis, options.brands, *_days(options)), options)
    assert report.page("title")[0].lines[1] == "Period: 01 Oct 2017 – 30 Nov 2017 (UTC)"
    opened = head_analysis.conversations
    inside = opened[
        opened["brand"].isin(options.brands)
        & (opened["opened_at"] >= pd.Timestamp("2017-10-01", tz="UTC"))
        & (opened["opened_at"] < pd.Timestamp("2017-12-01", tz="UTC"))
    ]
    assert report.page("title")[0].lines[2] == f"Conversations: {len(inside):,}"


def _days(options: ReportOptions) -> tuple[date | None, date | None]:
    return options.start, options.end


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*BRAND_ARGS, "-o", "r.docx"], "name it .pdf or .pptx"),
        (["--brand", "NoSuchBrand", "--vs", "Delta", "-o", "r.pdf"], "Unknown brand(s): NoSuch"),
        (["--brand", FOCUS, "--vs", "Delta,amazonhelp", "-o", "r.pdf"], "names the focus brand"),
        ([*BRAND_ARGS, "--from", "2017-13-01", "-o", "r.pdf"], "not a date; write it as YYYY-MM"),
        ([*BRAND_ARGS, "--from", "2017-11-02", "--to", "2017-11-01", "-o", "r.pdf"], "swap them"),
        ([*BRAND_ARGS, "--from", "2019-01-01", "-o", "r.pdf"], "after the data's last day"),
        ([*BRAND_ARGS, "--from", "2019-01-01", "--to", "2019-02-01", "-o", "r.pdf"], "No conver"),
        ([*BRAND_ARGS, "--template", "t.pptx", "-o", "r.pdf"], "PowerPoint reports only"),
        ([*BRAND_ARGS, "--pins", "-o", "r.pdf"], "No thread is pinned"),
    ],
)  # fmt: skip
def test_cli_says_what_is_wrong(head_store, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["report", "--db", str(head_store), *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("r.*"))


@pytest.mark.skipif(
    shutil.which("libreoffice") is None or shutil.which("pdfinfo") is None,
    reason="LibreOffice or poppler's pdfinfo is not installed (apt-get install "
    "libreoffice-impress poppler-utils)",
)
def test_libreoffice_converts_the_report_slide_for_slide(head_files, tmp_path):
    path = head_files["plain.pptx"]
    slides = len(pptx_slides(path))
    subprocess.run(
        ["libreoffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
        check=True,
        capture_output=True,
        timeout=180,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "plain.pdf")], check=True, capture_output=True, text=True
    ).stdout
    assert re.search(rf"^Pages:\s+{slides}$", info, re.MULTILINE), info


def test_scorecard_page_offers_the_report_of_its_view(generated, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    private_copy(generated, tmp_path, monkeypatch)
    app_file = Path(__file__).resolve().parents[1] / "streamlit_app.py"
    at = AppTest.from_file(str(app_file), default_timeout=60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Download report (PDF)" in labels
    assert "Download report (PowerPoint)" in labels


def test_every_chart_names_its_units_and_n_in_fixed_brand_colours(head_report, head_files):
    from carebench.dashboard.charts import brand_colours

    colours = brand_colours(head_report.options.all_brands)
    for chart in head_report.charts:
        assert re.search(r"\((%|s|min|h|d|min, log scale)\)", chart.value_title), chart.value_title
        assert any(re.match(r"n( [a-z0-9 ]+)?: ", note) for note in chart.notes), chart.notes
        for series in chart.series:
            brand = series.name.removesuffix(" (focus)")
            if brand in colours:
                assert series.colour == colours[brand]
                assert series.focus == (brand == FOCUS)
    # The PowerPoint bars wear the same colours, the focus brand's bar outlined.
    for slide in pptx_slides(head_files["plain.pptx"]):
        for shape in slide.shapes:
            if not shape.has_chart or shape.chart.chart_type.name.startswith("XY"):
                continue
            if tuple(shape.chart.plots[0].categories)[:1] == (f"{FOCUS} (focus)",):
                plot = shape.chart.plots[0]
                if len(plot.series) == 1:
                    points = plot.series[0].points
                    for i, brand in enumerate((FOCUS, *RIVALS)):
                        assert str(points[i].format.fill.fore_color.rgb) == colours[brand][1:]
                else:
                    assert shape.chart.has_legend


def test_download_of_an_anonymised_view_is_anonymised(generated, tmp_path):
    from dataclasses import replace

    from carebench.benchmark.anonymise import anonymise_analysis
    from carebench.dashboard.data import View, read_store, turns_of
    from carebench.dashboard.filters import Filters
    from carebench.dashboard.report_download import report_file

    loaded = read_store(generated)
    brands = loaded.options.brands
    filters = Filters(
        focus=brands[0],
        competitors=brands[1:3],
        start=loaded.options.first_day,
        end=loaded.options.last_day,
        anonymise=True,
    )
    analysis = anonymise_analysis(loaded.analysis)
    keep = analysis.conversations["brand"].isin(list(filters.brands)).to_numpy()
    view = View(
        store_path=generated,
        is_demo=False,
        analysis=analysis,
        filters=filters,
        settings=Settings(),
        conversations=analysis.conversations[keep],
        mask=keep,
        loaded=replace(loaded),
        version=("", 0, 0, 0, 0),
    )
    # The app reads a view's turns on first use (by store version); a hand-made view
    # gets them here.
    object.__setattr__(view, "turns", turns_of(analysis.turns, view.conversations))
    path = tmp_path / "view.pptx"
    path.write_bytes(report_file(view, "pptx"))
    text = "\n".join(slide_text(s) for s in pptx_slides(path))
    raw = loaded.analysis.turns
    own = raw[raw["conversation_id"].isin(loaded.analysis.conversations.loc[
        loaded.analysis.conversations["brand"].isin(list(filters.brands)), "conversation_id"
    ])]  # fmt: skip
    handles = set(own.loc[own["author_role"] == "customer", "author_handle"].dropna().astype(str))
    assert handles
    assert "anonymised" in text
    for handle in handles:
        assert not re.search(rf"@{re.escape(handle)}\b", text), handle
    for post_id in set(own["post_id"].astype(str)):
        assert post_id not in text


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.05, 0.95),  # value
            st.floats(0.0, 0.3),  # half-width below
            st.floats(0.0, 0.3),  # half-width above
            st.integers(0, 400),  # n
        ),
        min_size=2,
        max_size=5,
    )
)
def test_summary_claims_follow_the_intervals(figures):
    rows = {
        f"Brand{chr(65 + i)}": (v, max(v - lo, 0.0), min(v + hi, 1.0))
        for i, (v, lo, hi, _) in enumerate(figures)
    }
    card = card_of(rows, "deflection_rate")
    card["deflection_rate_n"] = [n for *_, n in figures]
    focus, *others = list(rows)
    metric = agg.METRIC_BY_COLUMN["deflection_rate"]
    sentence = summary_sentence(card, metric, focus, others, "1 h")
    assert sentence is not None
    clauses = sentence.text.split(";")
    for claim in sentence.claims:
        n = min(card.set_index("brand").loc[b, "deflection_rate_n"] for b in (focus, claim.other))
        verdict = compare(
            Estimate(*rows[focus]), Estimate(*rows[claim.other]), metric.better
        ).verdict
        assert claim.verdict == ("not enough data" if n < 30 else verdict)
        named = [c for c in clauses if claim.other in c]
        if claim.verdict in ("within noise", "not enough data"):
            assert all("really" not in c for c in named)
            # Named, unless the focus brand itself is too small to compare with anyone.
            assert named or "too few to compare" in sentence.text
    if "the lowest rate" in sentence.text or "the highest rate" in sentence.text:
        assert all(c.verdict in ("better", "worse") for c in sentence.claims)
