"""The demo store: generated data for a first look, rebuilt from scratch in seconds.

It is built whole, analysis included (persisted in the store, see
`carebench.benchmark.persisted`), before anything reads it: the dashboard's first page
then reads tables instead of scoring 40,000 posts.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from carebench.benchmark.persisted import StepCallback, analysis_brands, refresh_analysis
from carebench.ingest import import_twcs_files
from carebench.store import Store
from carebench.synthetic import generate

DEMO_DB = Path("data") / "demo.duckdb"
DEMO_POSTS = 40_000
DEMO_SEED = 2017


@dataclass(frozen=True)
class DemoSummary:
    """What `build_demo_store` made."""

    path: Path
    posts: int
    conversations: int


def build_demo_store(
    path: Path = DEMO_DB,
    *,
    posts: int = DEMO_POSTS,
    seed: int = DEMO_SEED,
    on_step: StepCallback | None = None,
) -> DemoSummary:
    """Generate synthetic TWCS data, import it into a fresh store at `path`, analyse it.

    The demo store is generated, never user data, so an existing one is replaced: it is
    built beside the target and moved over it only once the import and its analysis
    have landed. `on_step(done, total, what)` hears of each step.
    """
    step = on_step or (lambda _done, _total, _what: None)
    total = 5  # generate, import, then the analysis's read, score and save
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    building.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        csv_path = Path(scratch) / "demo_twcs.csv"
        step(0, total, f"generating {posts:,} posts")
        written = generate(csv_path, posts=posts, seed=seed)
        step(1, total, "importing them")
        with Store(building) as store:
            import_twcs_files(store, [csv_path])
            refresh_analysis(
                store,
                brands=analysis_brands(),
                on_step=lambda done, _total, what: step(2 + done, total, what),
            )
    building.replace(path)
    return DemoSummary(path=path, posts=written.posts, conversations=written.conversations)
