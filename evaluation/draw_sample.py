"""Draw the evaluation sample and write the readers' packets (texts stay outside the repo).

    python evaluation/draw_sample.py --data ../shared/data --packets /tmp/carebench-packets

The sample is a seeded random draw of customer-started conversations, made without
looking at anything CareBench says about them: which conversations are drawn depends
only on the seed and the list of conversation ids. It writes

- `evaluation/sample.jsonl` (committed): one line per drawn conversation, its key
  (`source`, `platform`, `conversation_id`), its `brand` and its `split`;
- the packets (NOT committed: they hold post texts, which the repository never copies):
  one Markdown file per batch, each conversation as its turns in time order, with who
  wrote each turn (customer or the brand's account), minutes since the first post, which
  turn it replies to, and the text. A reader gets a packet and METRICS.md, nothing else.

The split is by brand, so no brand is in both halves: brands are shuffled with the seed
and dealt to whichever half holds fewer of that source's conversations, so each source
is split about evenly. A brand keeps its half in every source.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from carebench.benchmark.pipeline import analyse_store
from carebench.ingest import ImportOptions, import_files
from carebench.store import Store

# (source as the labels name it, importer, conversations drawn)
SOURCES: tuple[tuple[str, str, int], ...] = (
    ("twcs/twcs_head_5k.csv", "twcs", 370),
    ("ibm_care/dev.json", "ibm-care", 250),
)
SEED = 16
BATCH = 104
HERE = Path(__file__).resolve().parent


def conversations_by_source(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every conversation and turn of the sources, each conversation tagged with its source."""
    convs, turns = [], []
    for source, fmt, _ in SOURCES:
        with Store(":memory:") as store:
            import_files(store, fmt, [data / source], ImportOptions())
            analysis = analyse_store(store)
        c = analysis.conversations.copy()
        c["source"] = source
        t = analysis.turns.copy()
        t["source"] = source
        convs.append(c)
        turns.append(t)
    return pd.concat(convs, ignore_index=True), pd.concat(turns, ignore_index=True)


def draw(conversations: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    """The seeded draw per source, in a fixed order, with each brand's split."""
    rng = np.random.default_rng(seed)
    drawn = []
    for source, _, size in SOURCES:
        pool = conversations[conversations["source"] == source]
        pool = pool.sort_values("conversation_id", kind="stable")
        pick = rng.choice(len(pool), size=min(size, len(pool)), replace=False)
        drawn.append(pool.iloc[np.sort(pick)])
    sample = pd.concat(drawn, ignore_index=True)
    sample["brand"] = sample["brand"].fillna("(unassigned)")
    return sample.assign(split=split_by_brand(sample, rng))


def split_by_brand(sample: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """'tune' or 'test' per row: brands shuffled, each dealt to the emptier half."""
    brands = sorted(sample["brand"].str.lower().unique())
    order = rng.permutation(len(brands))
    counts = sample.groupby([sample["brand"].str.lower(), "source"]).size()
    filled = {"tune": pd.Series(0, index=[s for s, _, _ in SOURCES]), "test": None}
    filled["test"] = filled["tune"].copy()
    half_of: dict[str, str] = {}
    for i in order:
        brand = brands[i]
        mine = counts.loc[brand].reindex(filled["tune"].index, fill_value=0)
        # The half whose fullest source stays lowest relative to its target after adding.
        totals = counts.groupby(level="source").sum().reindex(mine.index)
        cost = {h: float(((filled[h] + mine) / totals).max()) for h in ("tune", "test")}
        half = min(cost, key=lambda h: (cost[h], h))
        half_of[brand] = half
        filled[half] = filled[half] + mine
    return sample["brand"].str.lower().map(half_of)


def write_sample(sample: pd.DataFrame, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in sample.itertuples(index=False):
            key = {
                "source": row.source,
                "platform": row.platform,
                "conversation_id": row.conversation_id,
                "brand": row.brand,
                "split": row.split,
            }
            out.write(json.dumps(key) + "\n")


def _minutes(delta: pd.Timedelta) -> str:
    minutes = delta.total_seconds() / 60
    if minutes < 120:
        return f"+{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"+{minutes / 60:.1f} h"
    return f"+{minutes / 1440:.1f} days"


def render(row: pd.Series, turns: pd.DataFrame) -> str:
    """One conversation as a reader sees it: turns in time order, nothing CareBench judged."""
    mine = turns.sort_values(["created_at", "post_id"], kind="stable")
    number = {pid: i + 1 for i, pid in enumerate(mine["post_id"])}
    start = mine["created_at"].iloc[0]
    lines = [
        f"## {row['source']} | {row['conversation_id']}",
        f"Brand: {row['brand']}",
        "",
    ]
    for t in mine.itertuples(index=False):
        if t.author_role == "customer":
            who = f"CUSTOMER @{t.author_handle}"
        elif t.post_brand == row["brand"]:
            who = f"BRAND @{t.author_handle}"
        else:
            who = f"OTHER BRAND @{t.author_handle}"
        parent = number.get(t.parent_id)
        reply = f" (replying to turn {parent})" if parent else ""
        # Texts on one line: a reader keeps track of turns, not of line breaks.
        text = " ".join(str(t.text).split())
        when = _minutes(t.created_at - start)
        lines.append(f"{number[t.post_id]}. [{when}] {who}{reply}: {text}")
    return "\n".join(lines) + "\n"


def write_packets(sample: pd.DataFrame, turns: pd.DataFrame, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    by_key = {k: g for k, g in turns.groupby(["source", "conversation_id"], sort=False)}
    batches = 0
    for start in range(0, len(sample), BATCH):
        batches += 1
        part = sample.iloc[start : start + BATCH]
        body = [
            render(row, by_key[(row["source"], row["conversation_id"])])
            for _, row in part.iterrows()
        ]
        (folder / f"batch_{batches:02d}.md").write_text("\n".join(body), encoding="utf-8")
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent / ".." / "shared" / "data")
    parser.add_argument("--packets", type=Path, required=True, help="folder outside the repo")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    conversations, turns = conversations_by_source(args.data)
    sample = draw(conversations, args.seed)
    write_sample(sample, HERE / "sample.jsonl")
    batches = write_packets(sample, turns, args.packets)
    print(
        f"{len(sample)} conversations, {sample['brand'].nunique()} brands, "
        f"{batches} packets in {args.packets}"
    )
    print(sample.groupby(["source", "split"]).size().to_string())


if __name__ == "__main__":
    main()
