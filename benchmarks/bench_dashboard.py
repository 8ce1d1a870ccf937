"""Measure the dashboard's latency and an incremental import on generated stores.

    python benchmarks/bench_dashboard.py                  # 0.3M, 1M and 2.8M posts
    python benchmarks/bench_dashboard.py --posts 300000   # one size

For each size, a store is built as a user builds it: `carebench import` of a generated
TWCS file (carebench/synthetic.py), which also analyses the posts and saves the analysis
in the store. Then, each in a fresh process:

- the dashboard (streamlit_app.py, driven by Streamlit's AppTest, which runs the app's
  script as the server does; see carebench/dashboard/latency.py): the first page
  (Scorecard) fully rendered after the server starts, with the analysis read from the
  store; a sidebar change (focus brand, competitors, SLA) and page changes (Speed,
  Deflection, Trends, Conversations, Data),
  each the server time of one script run; the page-change figure is the slowest page;
- `carebench import` of ~10,000 new posts: whole threads one brand answered (what a
  collection run for one brand brings), analysis included: the command's wall time
  (its process start and imports included) and, inside it, the time of the re-analysis
  of what the import touched.

The first page's time includes loading the app's modules in the new process (pandas,
pyarrow, DuckDB, the analysis code), as a real server's first run does.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = (300_000, 1_000_000, 2_800_000)
REPO = Path(__file__).resolve().parents[1]
INCREMENT = 10_000
TARGETS = {
    "first page (s)": {1_000_000: 3.0},
    "sidebar change (s)": {1_000_000: 0.5, 2_800_000: 1.0},
    "page change, slowest (s)": {1_000_000: 0.5, 2_800_000: 1.0},
    "import 10k posts, analysis included (s)": {2_800_000: 5.0},
}


def _env(db: Path) -> dict[str, str]:
    env = {**os.environ, "CAREBENCH_DB": str(db), "PYTHONPATH": str(REPO)}
    env.pop("CAREBENCH_BRANDS", None)
    return env


def _run(args: list[str], db: Path, what: str) -> str:
    """Run `python ARGS` on the store in a fresh process; its output (stops on failure)."""
    done = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=_env(db), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _last_json(output: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def _carebench(*args: str, db: Path) -> float:
    """Run `python -m carebench ARGS`; its wall seconds."""
    started = time.perf_counter()
    _run(["-m", "carebench", *args], db, f"carebench {' '.join(args)}")
    return time.perf_counter() - started


def one_brand_posts(out: Path, posts: int, seed: int) -> str:
    """Write about `posts` generated posts to `out`: whole threads (customer posts and
    every reply) that one brand answered, what a collection run for that brand brings.
    The brand.

    Another seed than the store's: the generator namespaces its ids by seed, so these
    are new posts and new threads, by customers the store may already know.
    """
    from carebench.synthetic import generate

    source = out.with_name("increment_source.csv")
    generate(source, posts=posts * 14, seed=seed)
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    source.unlink()
    header, body = rows[0], rows[1:]
    # TWCS parent ids are written as floats ("38.0") and post ids as integers ("38").
    parent = {row[0]: row[6].removesuffix(".0") for row in body}

    def root(post: str) -> str:
        seen = {post}
        while parent.get(post) in parent and parent[post] not in seen:
            post = parent[post]
            seen.add(post)
        return post

    roots = [root(row[0]) for row in body]
    brands: dict[str, int] = {}
    for row in body:
        if row[2] == "False":
            brands[row[1]] = brands.get(row[1], 0) + 1
    # A brand of middling size, not the largest.
    brand = sorted(brands, key=lambda b: -brands[b])[len(brands) // 2]
    answered = {r for row, r in zip(body, roots, strict=True) if row[1] == brand}
    threads: dict[str, list[list[str]]] = {}
    for row, r in zip(body, roots, strict=True):
        if r in answered:
            threads.setdefault(r, []).append(row)
    kept: list[list[str]] = []
    for thread in threads.values():  # whole threads, in the file's order, up to `posts`
        if len(kept) + len(thread) > posts:
            break
        kept.extend(thread)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(kept)
    return brand


def measure_dashboard(db: Path) -> dict[str, Any]:
    """In a fresh process: first page, a sidebar change, page changes (server seconds)."""
    return _last_json(_run(["-m", "carebench.dashboard.latency"], db, "the dashboard run"))


def measure_size(posts: int, scratch: Path) -> dict[str, Any]:
    from carebench.store import Store
    from carebench.synthetic import generate

    figures: dict[str, Any] = {"posts": posts}
    source = scratch / f"generated_{posts}.csv"
    generate(source, posts=posts, seed=posts % 97)
    db = scratch / f"store_{posts}.duckdb"
    figures["build: carebench import, analysis included (s)"] = _carebench(
        "import", "twcs", str(source), "--db", str(db), db=db
    )
    source.unlink()
    figures.update(measure_dashboard(db))
    increment = scratch / "increment.csv"
    figures["increment brand"] = one_brand_posts(increment, INCREMENT, seed=posts % 89 + 1)
    figures["import 10k posts, analysis included (s)"] = _carebench(
        "import", "twcs", str(increment), "--db", str(db), db=db
    )
    # The same again for another brand, timed step by step inside one process.
    second = scratch / "increment2.csv"
    figures["increment brand 2"] = one_brand_posts(second, INCREMENT, seed=posts % 83 + 2)
    figures.update(_timed_increment(db, second))
    with Store(db, read_only=True) as store:
        figures["posts after"] = store.count_posts()
    after = measure_dashboard(db)
    figures["first page after the imports (s)"] = after["first page (s)"]
    figures["page change after the imports, slowest (s)"] = after["page change, slowest (s)"]
    figures["after the imports: sidebar changes (s)"] = after["sidebar changes (s)"]
    figures["after the imports: page changes (s)"] = after["page changes (s)"]
    return figures


def _timed_increment(db: Path, path: Path) -> dict[str, Any]:
    """Import a file and re-analyse, as `carebench import` does, timing each step."""
    code = (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from carebench.benchmark.persisted import analysis_brands, refresh_analysis\n"
        "from carebench.ingest import import_twcs_files\n"
        "from carebench.store import Store\n"
        "t0 = time.perf_counter()\n"
        "with Store(sys.argv[1]) as store:\n"
        "    import_twcs_files(store, [Path(sys.argv[2])])\n"
        "    t1 = time.perf_counter()\n"
        "    done = refresh_analysis(store, brands=analysis_brands())\n"
        "t2 = time.perf_counter()\n"
        "print(json.dumps({'import, 2nd 10k (s)': t1 - t0, 'its re-analysis (s)': t2 - t1,"
        " 'its brands redone': list(done.brands or ['ALL'])}))\n"
    )
    return _last_json(_run(["-c", code, str(db), str(path)], db, "the timed import"))


def print_figures(all_figures: list[dict[str, Any]]) -> None:
    columns = [f"{f['posts'] / 1e6:.1f}M posts" for f in all_figures]
    rows = [
        "build: carebench import, analysis included (s)",
        "first page (s)",
        "sidebar change (s)",
        "page change, slowest (s)",
        "import 10k posts, analysis included (s)",
        "import, 2nd 10k (s)",
        "its re-analysis (s)",
        "first page after the imports (s)",
        "page change after the imports, slowest (s)",
    ]
    print(f"{'figure':48s}" + "".join(f"{c:>16s}" for c in columns) + "   target")
    for row in rows:
        cells = "".join(f"{f[row]:16.2f}" for f in all_figures)
        target = ", ".join(f"<= {t:g} at {p / 1e6:.1f}M" for p, t in TARGETS.get(row, {}).items())
        print(f"{row:48s}{cells}   {target}")
    for figures in all_figures:
        print(f"\n{figures['posts']:,} posts:")
        for key, value in figures.items():
            print(f"  {key}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, help="one size instead of 0.3M, 1M and 2.8M")
    args = parser.parse_args()
    sizes = (args.posts,) if args.posts else SIZES
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as scratch:
        all_figures = [measure_size(posts, Path(scratch)) for posts in sizes]
    print_figures(all_figures)


if __name__ == "__main__":
    main()
