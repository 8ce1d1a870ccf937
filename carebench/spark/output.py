"""OUT, the folder `carebench spark analyse` writes, read back or loaded into a store.

OUT holds the analysis tables the local path persists, as Parquet, one file per task:
``conversations/``, ``turns/`` (every turn with its signals and its post's columns),
``templates/``; the posts they were made from (``posts/``, deduplicated, brand config
not applied, times as UTC microseconds); and ``carebench.json`` (data-quality counts,
column dtypes, the brand config and settings used, the analysis code version).

`read_output` gives the `Analysis` a local `pipeline.analyse_posts` gives, frame for
frame; `load_output` puts posts and analysis into a new store, stamped as that store's
own fresh analysis, so `scorecard`, `export`, `report` and the dashboard open it as
they open any store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from carebench.benchmark.persisted import (
    CONVERSATION_ORDER,
    TABLES,
    TURN_ORDER,
    _frame,
    _ordered,
    code_version,
    stamp_for,
    write_analysis,
)
from carebench.benchmark.scoring import Analysis
from carebench.benchmark.settings import Settings
from carebench.benchmark.templates import TemplateSettings
from carebench.brands import Brand, BrandConfig
from carebench.collectors.common import PostsChunk
from carebench.errors import CareBenchError
from carebench.schema import conform_posts
from carebench.spark.tasks import filesystem_of
from carebench.store import Source, open_store

META_FILE = "carebench.json"
POSTS_FOLDER = "posts"


class SparkOutputError(CareBenchError):
    """OUT is not a complete `carebench spark analyse` output, or cannot be loaded."""


def brands_to_json(brands: BrandConfig) -> list[list[Any]]:
    return [[b.name, list(b.accounts), b.timezone] for b in brands.brands]


def brands_from_json(declared: list[list[Any]]) -> BrandConfig:
    return BrandConfig(tuple(Brand(n, tuple(a), tz) for n, a, tz in declared))


def settings_to_json(settings: Settings) -> dict[str, Any]:
    return asdict(settings)


def settings_from_json(values: dict[str, Any]) -> Settings:
    return Settings(**{**values, "templates": TemplateSettings(**values["templates"])})


def write_meta(out: str, meta: dict[str, Any]) -> None:
    filesystem, root = filesystem_of(out)
    with filesystem.open_output_stream(f"{root}/{META_FILE}") as stream:
        stream.write(json.dumps(meta, indent=1).encode())


def read_meta(out: str | Path) -> dict[str, Any]:
    """OUT's carebench.json; SparkOutputError when OUT is not a finished output."""
    filesystem, root = filesystem_of(str(out))
    try:
        with filesystem.open_input_stream(f"{root}/{META_FILE}") as stream:
            meta: dict[str, Any] = json.loads(stream.read())
    except (OSError, ValueError) as exc:
        raise SparkOutputError(
            f"{out} is not a finished `carebench spark analyse` output (no readable "
            f"{META_FILE}): run `carebench spark analyse POSTS -o {out}` first."
        ) from exc
    return meta


def _parts(out: str, name: str) -> pa.Table | None:
    """Every part of one table of OUT as one Arrow table (None: no part holds rows)."""
    filesystem, root = filesystem_of(out)
    selector = filesystem.get_file_info(pa.fs.FileSelector(f"{root}/{name}", allow_not_found=True))
    files = sorted(i.path for i in selector if i.path.endswith(".parquet"))
    tables = [pq.read_table(f, filesystem=filesystem) for f in files]
    full = [t for t in tables if t.num_rows]
    if not full:
        return None
    # An empty part can carry null-typed columns (an empty list column): permissive.
    return pa.concat_tables(full, promote_options="permissive")


def empty_analysis() -> Analysis:
    """The analysis of no posts, as the local path gives it: what OUT's tables are when
    no task wrote a row of them (their columns and dtypes)."""
    # Imported here: the pipeline imports the persisted module this one reads from.
    from carebench.benchmark.pipeline import analyse_posts

    return analyse_posts(conform_posts(pd.DataFrame()))


def read_output(out: str | Path) -> Analysis:
    """The analysis in OUT, as `pipeline.analyse_posts` gives it (same order, dtypes)."""
    out = str(out)
    meta = read_meta(out)
    layout: dict[str, list[list[str]]] = meta["layout"]  # every table with rows has one
    con = duckdb.connect()
    try:
        frames: dict[str, pd.DataFrame] = {}
        present = {}
        for name, table in TABLES.items():
            rows = _parts(out, name)
            present[name] = rows is not None
            if rows is not None:
                con.register("_part", rows)
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM _part")
                con.unregister("_part")
        conversations, turns, templates = (
            TABLES[n] for n in ("conversations", "turns", "templates")
        )
        if present["conversations"]:
            frames["conversations"] = _frame(
                _ordered(
                    con,
                    conversations,
                    f"SELECT rowid FROM {conversations} ORDER BY {CONVERSATION_ORDER}",
                ),
                layout["conversations"],
            )
        if present["turns"]:
            ranked = (
                f"SELECT platform, conversation_id, opened_at, row_number() OVER "
                f"(ORDER BY {CONVERSATION_ORDER}) - 1 AS _rank FROM {conversations}"
            )
            frames["turns"] = _frame(
                _ordered(
                    con,
                    f"SELECT t.rowid AS _rowid, t.* FROM {turns} t",
                    f"SELECT t.rowid, c._rank FROM {turns} t "
                    f"JOIN ({ranked}) c USING (platform, conversation_id) ORDER BY {TURN_ORDER}",
                ),
                layout["turns"],
            )
        if present["templates"]:
            number = "CAST(regexp_extract(template_id, '#([0-9]+)$', 1) AS BIGINT)"
            frames["templates"] = _frame(
                _ordered(
                    con,
                    templates,
                    f"SELECT rowid FROM {templates} ORDER BY brand, posts DESC, {number}",
                ),
                layout["templates"],
            )
    finally:
        con.close()
    if len(frames) < len(TABLES):
        empty = empty_analysis()
        for name in TABLES:
            frames.setdefault(name, getattr(empty, name))
    found = frames["templates"]
    if "examples" in found.columns:
        # Lists come back as arrays; the analysis gives lists of str.
        examples = [
            [str(v) for v in value] if value is not None else value for value in found["examples"]
        ]
        found["examples"] = pd.Series(examples, index=found.index, dtype=object)
    issues = {str(k): int(v) for k, v in meta["issues"].items()}
    return Analysis(
        conversations=frames["conversations"],
        turns=frames["turns"],
        templates=found,
        issues=issues,
    )


def read_output_posts(out: str | Path) -> Iterator[pd.DataFrame]:
    """OUT's posts, a Parquet batch at a time, as normalised posts (brands not mapped)."""
    filesystem, root = filesystem_of(str(out))
    selector = pa.fs.FileSelector(f"{root}/{POSTS_FOLDER}", allow_not_found=True)
    files = sorted(
        i.path for i in filesystem.get_file_info(selector) if i.path.endswith(".parquet")
    )
    # Imported here: tasks imports the analysis, whose numba kernels load lazily anyway.
    from carebench.spark.tasks import posts_frame

    for file in files:
        for batch in pq.ParquetFile(file, filesystem=filesystem).iter_batches(200_000):
            yield posts_frame(pa.Table.from_batches([batch]))


def load_output(out: str | Path, db: str | Path | None) -> tuple[int, int]:
    """Import OUT's posts into a new store and save OUT's analysis there as its own.

    The analysis is stamped as the store's (`persisted.stamp_for`) with the brand config
    and settings Spark used, so it opens as fresh wherever that config is given (the
    dashboard: $CAREBENCH_BRANDS; the CLI: --brands). Returns (posts, conversations).
    """
    out = str(out)
    meta = read_meta(out)
    if meta.get("code") != code_version():
        raise SparkOutputError(
            f"{out} was analysed by another version of CareBench's analysis code: run "
            "`carebench spark analyse` again with this version."
        )
    analysis = read_output(out)
    brands = brands_from_json(meta["brand_config"])
    settings = settings_from_json(meta["settings"])
    filesystem, root = filesystem_of(out)
    selector = pa.fs.FileSelector(f"{root}/{POSTS_FOLDER}", allow_not_found=True)
    stored = sum(
        pq.ParquetFile(i.path, filesystem=filesystem).metadata.num_rows
        for i in filesystem.get_file_info(selector)
        if i.path.endswith(".parquet")
    )
    if stored != int(meta["issues"]["posts"]):
        raise SparkOutputError(
            f"{out}/{POSTS_FOLDER} holds {stored:,} posts, the analysis "
            f"{meta['issues']['posts']:,}: the output is incomplete; run the analysis again."
        )
    with open_store(db) as store:
        if store.count_posts():
            raise SparkOutputError(
                f"The store {store.path} already holds posts: load a Spark output into a "
                "new store (--db NEW.duckdb), so its analysis is of exactly these posts."
            )
        chunks = (
            PostsChunk(posts=frame, rejected=(), records_read=len(frame), bytes_read=0)
            for frame in read_output_posts(out)
        )
        store.import_sources("spark", [Source(name=f"{out}/{POSTS_FOLDER}", chunks=chunks)])
        posts = store.count_posts()
        write_analysis(store, analysis, stamp_for(store, settings, brands))
    return posts, len(analysis.conversations)
