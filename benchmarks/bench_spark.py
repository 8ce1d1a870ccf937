"""The same posts through the local path and through Spark: wall time and peak memory.

    python benchmarks/bench_spark.py                    # 1M generated posts, local[2]
    python benchmarks/bench_spark.py --posts 300000 --master 'local[4]'

Each path runs as a user runs it, in a fresh process tree, on the same generated TWCS
file:

- local: `carebench import twcs FILE` into a new store, which also analyses the posts
  and persists the analysis tables (issue 17);
- Spark: `carebench spark analyse FILE --format twcs -o OUT` (reading with CareBench's
  own reader, one file per task; the same tables as Parquet), then `carebench spark
  load OUT` into a new store, measured on its own.

Peak memory is the highest sum of the resident memory (RSS) of the whole process tree,
sampled every 0.1 s: the CLI process, and for Spark the driver's JVM and every Python
worker. Spark local on 2 shared cores is expected to be slower: it pays off when the
posts no longer fit one machine (see the README, "Beyond one machine: Spark").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # The command name may hold spaces: the parent pid follows its ")".
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and all its descendants, in MB."""
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_KB
        except OSError:
            pass
        todo.extend(tree.get(pid, ()))
    return total / 1024


def measure(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak MB of the process tree) of one command; fails loudly."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_mb(process.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{out.decode()[-2000:]}{err.decode()[-3000:]}")
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()
    from carebench.synthetic import generate

    with tempfile.TemporaryDirectory(prefix="bench_spark_") as folder:
        work = Path(folder)
        posts = work / "posts.csv"
        generate(posts, posts=args.posts, seed=args.seed)
        python = [sys.executable, "-m", "carebench"]
        figures = {
            "local: import + persisted analysis": measure(
                [*python, "import", "twcs", str(posts), "--db", "local.duckdb"], work
            ),
        }
        os.environ["PYSPARK_SUBMIT_ARGS"] = f"--driver-memory {args.driver_memory} pyspark-shell"
        spark = [*python, "spark", "analyse", str(posts), "--format", "twcs"]
        figures[f"spark {args.master}: analyse to Parquet"] = measure(
            [*spark, "-o", "out", "--master", args.master], work
        )
        figures["spark: load OUT into a store"] = measure(
            [*python, "spark", "load", "out", "--db", "spark.duckdb"], work
        )
        same = (
            subprocess.run(
                [*python, "export", "scorecard", "-o", "a.csv", "--db", "local.duckdb"],
                cwd=work,
                capture_output=True,
            ).returncode
            == 0
            and subprocess.run(
                [*python, "export", "scorecard", "-o", "b.csv", "--db", "spark.duckdb"],
                cwd=work,
                capture_output=True,
            ).returncode
            == 0
        )
        same = same and (work / "a.csv").read_bytes() == (work / "b.csv").read_bytes()

    print(f"{args.posts:,} generated posts, {os.cpu_count()} cores")
    print(f"{'path':<42}{'wall s':>10}{'peak MB':>12}")
    for name, (seconds, peak) in figures.items():
        print(f"{name:<42}{seconds:>10.1f}{peak:>12,.0f}")
    print(f"scorecards identical: {same}")


if __name__ == "__main__":
    main()
