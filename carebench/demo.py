"""The demo store: generated data for a first look, rebuilt from scratch in seconds."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

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
    path: Path = DEMO_DB, *, posts: int = DEMO_POSTS, seed: int = DEMO_SEED
) -> DemoSummary:
    """Generate synthetic TWCS data and import it into a fresh store at `path`.

    The demo store is generated, never user data, so an existing one is replaced: it is
    built beside the target and moved over it only once the import has landed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    building.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        csv_path = Path(scratch) / "demo_twcs.csv"
        written = generate(csv_path, posts=posts, seed=seed)
        with Store(building) as store:
            import_twcs_files(store, [csv_path])
    building.replace(path)
    return DemoSummary(path=path, posts=written.posts, conversations=written.conversations)
