"""The training deck: real threads as slides a room can read, anonymised by default."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pptx import Presentation
from pptx.util import Pt
from typer.testing import CliRunner

from carebench.benchmark.pipeline import analyse_store
from carebench.cli import app
from carebench.report.deck import advice_for, build_deck, choose_threads
from carebench.store import Store
from tests.conftest import head_sample_store

runner = CliRunner()
SLA = 3600.0


@pytest.fixture(scope="module")
def head_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return head_sample_store(tmp_path_factory, "deck")


@pytest.fixture(scope="module")
def head_analysis(head_store: Path):  # type: ignore[no-untyped-def]
    return analyse_store(head_store)


def slide_texts(path: Path) -> list[str]:
    deck = Presentation(str(path))
    return [
        "\n".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)
        for slide in deck.slides
    ]


def all_runs(path: Path):  # type: ignore[no-untyped-def]
    for slide in Presentation(str(path)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                for paragraph in shape.text_frame.paragraphs:
                    yield from paragraph.runs


def test_each_brand_gets_its_best_and_worst_threads_with_every_turn(head_analysis, tmp_path):
    threads = choose_threads(
        head_analysis,
        sla_seconds=SLA,
        good=2,
        bad=2,
        brands=["AmazonHelp", "Delta"],
        anonymise=False,
    )
    assert [(t.brand, t.kind, t.rank) for t in threads] == [
        (brand, kind, rank)
        for brand in ("AmazonHelp", "Delta")
        for kind in ("good", "bad")
        for rank in (1, 2)
    ]
    path = tmp_path / "deck.pptx"
    slides = build_deck(threads, path, sla_seconds=SLA)
    texts = slide_texts(path)
    assert slides == len(texts)
    assert "Good and bad replies" in texts[0]
    deck_text = "\n".join(texts)
    turns = head_analysis.turns
    for thread in threads:
        assert any(f"{thread.brand} · {thread.kind} example {thread.rank}" in t for t in texts)
        for turn in thread.turns:
            # Every post of the thread is on some slide, whole.
            text = "".join(s.text for s in turn.segments).strip()
            assert text in deck_text
        ids = {turn.post_id for turn in thread.turns}
        assert ids <= set(turns["post_id"].astype(str))
    bad = [t for t in texts if "bad example" in t]
    assert bad and all("What good looks like" in t for t in bad)


def test_no_text_is_smaller_than_12_points(head_analysis, tmp_path):
    threads = choose_threads(head_analysis, sla_seconds=SLA, good=1, bad=1, brands=["Delta"])
    path = tmp_path / "deck.pptx"
    build_deck(threads, path, sla_seconds=SLA)
    sizes = [run.font.size for run in all_runs(path)]
    assert sizes and all(size is not None and size >= Pt(12) for size in sizes)


def test_anonymised_deck_holds_no_customer_handle_or_post_id(head_analysis, tmp_path):
    brands = ["AmazonHelp", "AppleSupport", "Delta", "SpotifyCares"]
    threads = choose_threads(head_analysis, sla_seconds=SLA, good=3, bad=3, brands=brands)
    path = tmp_path / "deck.pptx"
    build_deck(threads, path, sla_seconds=SLA)
    deck_text = "\n".join(slide_texts(path))
    turns = head_analysis.turns
    in_deck = turns[
        turns["conversation_id"].isin(
            set(
                head_analysis.conversations.loc[
                    head_analysis.conversations["brand"].isin(brands), "conversation_id"
                ]
            )
        )
    ]
    customers = in_deck.loc[in_deck["author_role"] == "customer", "author_handle"].dropna()
    assert len(customers) > 20
    for handle in set(customers.astype(str)):
        assert f"@{handle}" not in deck_text
    for post_id in set(in_deck["post_id"].astype(str)):
        assert post_id not in deck_text
    assert "customer-" in deck_text  # the pseudonyms that replace them


def test_pins_come_in_pin_order_with_their_notes(head_store, tmp_path):
    store_path = tmp_path / "pins.duckdb"
    shutil.copy(head_store, store_path)
    with Store(store_path) as store:
        store.pin("twitter", "twcs:1000", "AmericanAir", "Good recovery after a slow start")
        store.pin("twitter", "twcs:5", None, None)
        pins = store.pins()
    analysis = analyse_store(store_path)
    threads = choose_threads(analysis, sla_seconds=SLA, pins=pins)
    assert [t.kind for t in threads] == ["pinned"] * len(threads)
    assert threads[0].brand == "AmericanAir"
    assert threads[0].note == "Good recovery after a slow start"
    out = tmp_path / "pins.pptx"
    result = runner.invoke(app, ["deck", "--db", str(store_path), "--pins", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Good recovery after a slow start" in "\n".join(slide_texts(out))


def test_a_client_template_gives_its_master_and_size(head_analysis, tmp_path):
    template = tmp_path / "client.pptx"
    four_three = Presentation()  # python-pptx's default: 4:3, 10 x 7.5 in
    four_three.save(str(template))
    threads = choose_threads(head_analysis, sla_seconds=SLA, good=1, bad=0, brands=["Delta"])
    path = tmp_path / "deck.pptx"
    build_deck(threads, path, sla_seconds=SLA, template=template)
    deck = Presentation(str(path))
    assert deck.slide_width == four_three.slide_width
    assert len(deck.slides) >= 2


def test_advice_answers_each_fault():
    tips = advice_for("unresolved, slow (3.2x SLA), deflected at first touch, no empathy", SLA)
    assert len(tips) == 4
    assert any("1 h 00 min" in tip for tip in tips)
    assert advice_for("resolved in public, fast, personal, empathic", SLA) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "deck.pdf"], "name it with .pptx"),
        (["-o", "deck.pptx", "--brand", "NoSuchBrand"], "Unknown brand(s): NoSuchBrand"),
        (["-o", "deck.pptx", "--pins"], "No thread is pinned"),
        (["-o", "deck.pptx", "--good", "0", "--bad", "0"], "Nothing to show"),
    ],
)
def test_cli_says_what_is_wrong(head_store, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["deck", "--db", str(head_store), *args])
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "deck.pptx").exists()


def test_cli_refuses_a_template_that_is_not_a_presentation(head_store, tmp_path):
    bad = tmp_path / "bad.pptx"
    bad.write_text("not a zip")
    out = tmp_path / "deck.pptx"
    result = runner.invoke(
        app,
        [
            "deck",
            "--db",
            str(head_store),
            "--brand",
            "Delta",
            "--template",
            str(bad),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 1
    assert "cannot use it as a template" in result.output


@pytest.mark.skipif(
    shutil.which("libreoffice") is None or shutil.which("pdfinfo") is None,
    reason="LibreOffice or poppler's pdfinfo is not installed (apt-get install "
    "libreoffice-impress poppler-utils)",
)
def test_libreoffice_converts_the_deck_slide_for_slide(head_analysis, tmp_path):
    threads = choose_threads(head_analysis, sla_seconds=SLA, good=1, bad=1, brands=["Delta"])
    path = tmp_path / "deck.pptx"
    slides = build_deck(threads, path, sla_seconds=SLA)
    subprocess.run(
        ["libreoffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
        check=True,
        capture_output=True,
        timeout=180,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "deck.pdf")], check=True, capture_output=True, text=True
    ).stdout
    assert re.search(rf"^Pages:\s+{slides}$", info, re.MULTILINE), info
