"""Measure the whole pipeline on generated TWCS data and print the figures.

    python benchmarks/bench_pipeline.py                 # 0.3M, 1M and 2.8M posts
    python benchmarks/bench_pipeline.py --posts 300000  # one size

Each size runs in its own process so its peak memory is its own. Times are wall
seconds; every stage is also shown as a multiple of the floor, a plain pyarrow CSV
parse of the same file, so the ratio holds on a busy machine. The dashboard figure is
the time to recompute a scorecard after a brand/date filter change on scored
conversations (the cached part stays cached).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZES = (300_000, 1_000_000, 2_800_000)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(figures: dict[str, Any], name: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = work()
    figures[name] = time.perf_counter() - started
    return result


def run_one(posts: int, seed: int) -> dict[str, Any]:
    """Generate, import, analyse and score `posts` posts; return stage times in seconds."""
    import pyarrow.csv as pacsv

    from carebench.benchmark import text_signals
    from carebench.benchmark.conversations import build_threads
    from carebench.benchmark.scorecard import scorecard
    from carebench.benchmark.scoring import analyse
    from carebench.benchmark.templates import find_templates
    from carebench.collectors.twcs import read_twcs
    from carebench.ingest import import_twcs_files
    from carebench.store import Store
    from carebench.synthetic import generate

    figures: dict[str, Any] = {"posts": posts}
    with tempfile.TemporaryDirectory() as scratch:
        csv_path = Path(scratch) / "twcs.csv"
        db_path = Path(scratch) / "store.duckdb"
        _timed(figures, "generate", lambda: generate(csv_path, posts=posts, seed=seed))
        figures["file_mb"] = csv_path.stat().st_size / 1e6
        _timed(figures, "floor_pyarrow_parse", lambda: pacsv.read_csv(csv_path))

        def parse_only() -> int:
            from datetime import UTC, datetime

            return sum(len(c.posts) for c in read_twcs(csv_path, collected_at=datetime.now(UTC)))

        _timed(figures, "parse", parse_only)

        def import_all() -> None:
            with Store(db_path) as store:
                import_twcs_files(store, [csv_path])

        _timed(figures, "import (parse + store)", import_all)
        with Store(db_path, read_only=True) as store:
            frame = _timed(figures, "read posts from store", store.posts)
        figures["peak_rss_mb_after_import"] = _peak_rss_mb()

        threads = _timed(figures, "conversations (reply trees, TTFR)", lambda: build_threads(frame))
        turns = threads.turns
        brand = text_signals.prepare_texts(turns.loc[turns["is_brand_turn"], "text"])
        customer = text_signals.prepare_texts(turns.loc[turns["is_customer_turn"], "text"])
        _timed(figures, "signal: text clean-up (brand+customer)", lambda: (
            brand.prepared, brand.channel_flags, customer.prepared
        ))  # fmt: skip
        for name in (
            "deflection_channels",
            "is_empathic",
            "is_hedging",
            "agent_signature",
            "addresses_by_name",
            "brand_answer_kind",
        ):
            function = getattr(text_signals, name)
            _timed(figures, f"signal: {name}", lambda f=function: f(brand))
        for name in ("customer_signal", "is_care_request"):
            function = getattr(text_signals, name)
            _timed(figures, f"signal: {name}", lambda f=function: f(customer))
        brand_posts = frame[frame["author_role"] == "brand"]
        _timed(
            figures,
            "signal: templates",
            lambda: find_templates(
                brand_posts.assign(brand=brand_posts["brand"].fillna(brand_posts["author_id"]))
            ),
        )

        analysis = _timed(figures, "analyse (conversations + every signal)", lambda: analyse(frame))
        conversations = analysis.conversations
        _timed(figures, "scorecard (all brands)", lambda: scorecard(conversations))

        brands = conversations["brand"].value_counts().index[:3].tolist()
        middle = conversations["opened_at"].quantile(0.5)

        def filter_change() -> None:
            chosen = conversations[
                conversations["brand"].isin(brands) & (conversations["opened_at"] >= middle)
            ]
            scorecard(chosen)

        _timed(figures, "dashboard: filter change -> scorecard", filter_change)
        figures["conversations"] = len(conversations)
        figures["peak_rss_mb"] = _peak_rss_mb()
    figures["pipeline (import + analyse + scorecard)"] = (
        figures["import (parse + store)"]
        + figures["read posts from store"]
        + figures["analyse (conversations + every signal)"]
        + figures["scorecard (all brands)"]
    )
    return figures


def print_figures(all_figures: list[dict[str, Any]]) -> None:
    """One table: a row per stage, a column per size, seconds and x floor."""
    sizes = [f"{f['posts'] / 1e6:.1f}M posts" for f in all_figures]
    stages = [k for k in all_figures[0] if k not in ("posts", "file_mb", "conversations")]
    print(f"{'stage':45s}" + "".join(f"{s:>24s}" for s in sizes))
    for stage in stages:
        cells = []
        for figures in all_figures:
            value = figures[stage]
            if stage.startswith("peak_rss"):
                cells.append(f"{value:,.0f} MB")
            else:
                ratio = value / figures["floor_pyarrow_parse"]
                cells.append(f"{value:8.2f} s {ratio:7.1f}x floor")
        print(f"{stage:45s}" + "".join(f"{c:>24s}" for c in cells))
    for figures in all_figures:
        print(
            f"{figures['posts']:,} posts: file {figures['file_mb']:.0f} MB, "
            f"{figures['conversations']:,} conversations"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, action="append", help="size(s) to run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.posts[0], args.seed)))
        return
    results = []
    for posts in args.posts or SIZES:
        # A fresh process per size: peak memory of one size never leaks into the next.
        out = subprocess.run(
            [sys.executable, __file__, "--one", "--posts", str(posts), "--seed", str(args.seed)],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"done {posts:,} posts", file=sys.stderr)
    print_figures(results)


if __name__ == "__main__":
    main()
