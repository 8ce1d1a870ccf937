"""End to end: the real Streamlit server on real TWCS data, driven by headless Chromium.

Skips (saying why) when the browser, the playwright package or the real data is absent.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from carebench.benchmark.pipeline import analyse_store
from carebench.benchmark.scorecard import scorecard
from carebench.dashboard import aggregates as agg
from carebench.ingest import import_twcs_files
from carebench.store import Store

REPO = Path(__file__).resolve().parents[1]
TWCS_HEAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "twcs" / "twcs_head_5k.csv"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
FOCUS, RIVAL = "AmazonHelp", "AppleSupport"

pytestmark = pytest.mark.realdata


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not TWCS_HEAD.exists():
        pytest.skip(f"real data {TWCS_HEAD} is absent (needs ../shared/data beside the repo)")
    path = tmp_path_factory.mktemp("e2e") / "twcs.duckdb"
    with Store(path) as s:
        import_twcs_files(s, [TWCS_HEAD])
    return path


@pytest.fixture(scope="module")
def server(store: Path) -> Iterator[str]:
    """`streamlit run streamlit_app.py` on a free port, the store given by CAREBENCH_DB."""
    port = _free_port()
    env = {**os.environ, "CAREBENCH_DB": str(store)}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"streamlit did not start:\n{output}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_scorecard_shows_real_figures_in_a_real_browser(store: Path, server: str, browser):
    with Store(store, read_only=True) as s:
        card = scorecard(analyse_store(s).conversations).set_index("brand")
    row = card.loc[FOCUS]

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{server}/?focus={FOCUS}&vs={RIVAL}&sla=60", wait_until="domcontentloaded")
    main = page.locator("[data-testid='stMain']")
    deflected = page.locator("[data-testid='stMetric']", has_text="Deflected")
    deflected.wait_for(timeout=60_000)

    # The tile shows the store's figure for the focus brand, with its n.
    expected = agg.format_value(row["deflection_rate"], "share")
    assert expected in deflected.inner_text()
    tile_n = int(row["deflection_rate_n"])
    assert f"n = {tile_n:,}" in main.inner_text()
    # The caption names the comparison and counts both brands' conversations.
    conversations = int(card.loc[[FOCUS, RIVAL], "conversations"].sum())
    assert re.search(
        rf"{FOCUS}\s+vs 1 competitors · {conversations:,} conversations", main.inner_text()
    )
    # The ranking chart is drawn, and the verdict names the rival.
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=30_000)
    assert RIVAL in main.inner_text()
    # The filters are in the address bar, so this view can be shared.
    assert f"focus={FOCUS}" in page.url and f"vs={RIVAL}" in page.url
    page.close()


def test_every_page_opens_without_an_error(server: str, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    for path, heading in (
        ("speed", "Speed"),
        ("deflection", "Deflection & resolution"),
        ("templates", "Templates"),
        ("trends", "Trends"),
        ("data", "Data"),
    ):
        page.goto(f"{server}/{path}", wait_until="domcontentloaded")
        page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=60_000)
        # Every page ends with a download (CSV or image): wait until the page got there.
        page.locator("[data-testid='stDownloadButton']").first.wait_for(timeout=60_000)
        assert page.locator("[data-testid='stException']").count() == 0, path
    page.close()


def test_clicking_a_conversation_row_opens_its_thread(store: Path, server: str, browser):
    with Store(store, read_only=True) as s:
        conversations = analyse_store(s).conversations
    own = conversations[conversations["brand"].isin([FOCUS, RIVAL])]
    listed = own.sort_values(["opened_at", "conversation_id"], ascending=[False, True])
    # The third row (the grid shows ten): the thread open by default is the first of
    # the focus brand's.
    row = 2
    wanted = str(listed["conversation_id"].iloc[row])
    first, last = (d.date().isoformat() for d in (own["opened_at"].min(), own["opened_at"].max()))

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(
        f"{server}/conversations?focus={FOCUS}&vs={RIVAL}&from={first}&to={last}",
        wait_until="domcontentloaded",
    )
    thread = page.locator("[data-post]").first
    thread.wait_for(timeout=60_000)
    assert thread.get_attribute("data-post") != wanted
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    # The grid is a canvas: click the row's selection box (left column), below the header.
    header, height = 36, 35
    page.mouse.click(box["x"] + 16, box["y"] + header + height * row + height / 2)
    page.wait_for_function(
        "wanted => document.querySelector('[data-post]')?.getAttribute('data-post') === wanted",
        arg=wanted,
        timeout=30_000,
    )
    assert f"thread={wanted.replace(':', '%3A')}" in page.url
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_a_chart_mark_opens_the_conversations_behind_it(server: str, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server}/?focus={FOCUS}&vs={RIVAL}", wait_until="domcontentloaded")
    chart = page.locator("[data-testid='stVegaLiteChart']").first
    chart.wait_for(timeout=60_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    # A chart whose selection Vega cannot compile is not drawn, only logged.
    assert not errors, errors
    box = chart.bounding_box()
    assert box is not None and box["height"] > 100
    # The first row's dot (the faster brand): its x depends on the data, so the row is
    # swept from left to right until a click lands on the dot.
    heading = page.get_by_role("heading", name="Conversations", exact=True)
    y = box["y"] + 79
    for x in range(int(box["x"]) + 110, int(box["x"] + box["width"]), 8):
        page.mouse.click(x, y)
        try:
            heading.wait_for(timeout=400)
            break
        except Exception:  # playwright's timeout: not on the dot yet
            continue
    heading.wait_for(timeout=30_000)
    banner = page.locator("[data-testid='stAlert']", has_text="behind the figure").first
    banner.wait_for(timeout=30_000)
    assert RIVAL in banner.inner_text()
    assert not errors, errors
    page.close()
