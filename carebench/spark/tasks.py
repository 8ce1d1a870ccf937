"""What one Spark task runs: CareBench's `analyse` over its brand groups' posts.

Pure pandas/Arrow: no pyspark here, so it runs (and is tested) without Spark too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from carebench.benchmark.incremental import UNASSIGNED
from carebench.benchmark.persisted import ROW_KEYS, TABLES, _dtype_name
from carebench.benchmark.scoring import Analysis, analyse
from carebench.benchmark.settings import Settings
from carebench.benchmark.templates import THREADS_ENV_VAR
from carebench.brands import BrandConfig, apply_brand_config
from carebench.schema import POST_COLUMNS, conform_posts

# Posts travel between Spark stages with their times as UTC microseconds (longs): no
# session time zone, no pandas/Spark timestamp conversion can shift them.
TIME_COLUMNS = {"created_at": "created_us", "collected_at": "collected_us"}
# The column of each analysis table that says which group (brand) a row belongs to.
GROUP_COLUMN = {"conversations": "brand", "turns": "conversation_brand", "templates": "brand"}
# What a task reports back: one row per table it wrote.
MANIFEST_SCHEMA = pa.schema(
    [
        ("task", pa.int64()),
        ("table", pa.string()),
        ("rows", pa.int64()),
        ("layout", pa.string()),
        ("skewed", pa.int64()),
        ("unassigned", pa.int64()),
    ]
)


@dataclass(frozen=True)
class TaskContext:
    """What the driver hands every task (broadcast): the same for all of them."""

    out: str  # where the tables go (a local path or a pyarrow filesystem URI)
    groups_of_task: dict[int, list[str]]  # task -> its group keys
    accounts: dict[str, str]  # the brand accounts of ALL posts (root mentions)
    brands: BrandConfig = field(default_factory=BrandConfig)
    settings: Settings = field(default_factory=Settings)
    threads: int = 1  # template search threads per task (the cores a task has)


def posts_frame(table: pa.Table) -> pd.DataFrame:
    """Posts as `pipeline.read_posts` gives them (schema columns and dtypes), from the
    Arrow rows a task receives (times as UTC microseconds, see `TIME_COLUMNS`)."""
    columns: dict[str, object] = {}
    for name in POST_COLUMNS:
        micros = TIME_COLUMNS.get(name)
        if micros is not None and micros in table.column_names:
            values = table[micros].to_numpy(zero_copy_only=False)
            columns[name] = pd.to_datetime(values, unit="us", utc=True)
        elif name in table.column_names and micros is None:
            column = table[name]
            columns[name] = pd.Series(
                pd.arrays.ArrowStringArray(column.cast(pa.large_string()).combine_chunks())
                if len(column)
                else pd.array([], dtype="string[pyarrow]")
            )
    return conform_posts(pd.DataFrame(columns))


def run_task(table: pa.Table, context: TaskContext) -> pa.Table:
    """Analyse one task's posts and write the rows of its groups; returns the manifest."""
    task = int(table["task"][0].as_py())
    os.environ[THREADS_ENV_VAR] = str(max(1, context.threads))
    wanted = set(context.groups_of_task[task])
    # Mapped as `pipeline.read_posts` maps them (the driver's groups were, too).
    posts = apply_brand_config(posts_frame(table.drop_columns(["task"])), context.brands)
    del table
    analysis = analyse(
        posts, context.settings, context.brands, consume=True, accounts=context.accounts
    )
    rows = []
    for name, frame in mine(analysis, wanted).items():
        write_part(context.out, name, task, frame)
        layout = json.dumps([[c, _dtype_name(frame[c].dtype)] for c in frame.columns])
        skewed = int(frame["clock_skew"].sum()) if name == "conversations" else 0
        unassigned = int(frame["brand"].isna().sum()) if name == "conversations" else 0
        rows.append((task, name, len(frame), layout, skewed, unassigned))
    return pa.Table.from_pylist(
        [dict(zip(MANIFEST_SCHEMA.names, row, strict=True)) for row in rows],
        schema=MANIFEST_SCHEMA,
    )


def mine(analysis: Analysis, wanted: set[str]) -> dict[str, pd.DataFrame]:
    """The rows of an analysis that belong to the `wanted` groups, per table."""
    out = {}
    for name in TABLES:
        frame: pd.DataFrame = getattr(analysis, name)
        keys = frame[GROUP_COLUMN[name]].astype("string").fillna(UNASSIGNED)
        out[name] = frame[keys.isin(list(wanted)).to_numpy(dtype=bool)].reset_index(drop=True)
    return out


def table_of(frame: pd.DataFrame) -> pa.Table:
    """An analysis frame as the Parquet rows OUT holds (without its row keys)."""
    kept = frame.drop(columns=[c for c in ROW_KEYS if c in frame.columns])
    return pa.Table.from_pandas(kept, preserve_index=False)


def write_part(out: str, name: str, task: int, frame: pd.DataFrame) -> None:
    """Write one task's rows of one table: OUT/<table>/part-<task>.parquet."""
    filesystem, root = filesystem_of(out)
    folder = f"{root.rstrip('/')}/{name}"
    filesystem.create_dir(folder, recursive=True)
    pq.write_table(table_of(frame), f"{folder}/part-{task:05d}.parquet", filesystem=filesystem)


def filesystem_of(out: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and path of OUT: a local folder, or s3://, hdfs://, gs:// URIs."""
    if "://" in out:
        # Hadoop's S3 connector says s3a://; pyarrow knows the same bucket as s3://.
        uri = "s3://" + out.split("://", 1)[1] if out.startswith("s3a://") else out
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), str(Path(out).resolve())


def pack_groups(sizes: dict[str, int], task_posts: int) -> dict[str, int]:
    """Group key -> task: big groups alone, small ones packed up to `task_posts` posts.

    `analyse` costs ~0.2 s a call whatever its size, so a hundred small brands share a
    task; a brand bigger than `task_posts` is one task (it cannot be split: its template
    search reads all it wrote). First fit over the groups by size (largest first, then
    name), so the packing is the same on every run.
    """
    order = sorted(sizes, key=lambda g: (-sizes[g], g))
    loads: list[int] = []
    task_of: dict[str, int] = {}
    for group in order:
        size = sizes[group]
        for task, load in enumerate(loads):
            if load + size <= task_posts:
                loads[task] += size
                task_of[group] = task
                break
        else:
            task_of[group] = len(loads)
            loads.append(size)
    return task_of


def group_keys(
    tree_group: pd.Series, customer_tree: np.ndarray, post_brand: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Each post's two group keys (object arrays, None for none): its customer-rooted
    tree's group (UNASSIGNED when no brand), and its own brand's group (brand posts)."""
    tree_key = tree_group.astype(object).where(tree_group.notna(), UNASSIGNED).to_numpy().copy()
    tree_key[~customer_tree] = None
    own_key = post_brand.astype(object).where(post_brand.notna(), None).to_numpy()
    return tree_key, own_key
