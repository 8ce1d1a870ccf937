"""`carebench spark analyse`: prepare all posts, run one `analyse` per task, write OUT.

Over all posts, before any group-by: read (Parquet, or source files with CareBench's
own readers, one file per task), keep each (platform, post_id) once as an import does
(a file's last occurrence; across files the first file's), then on the driver, over
the few columns that decide ownership: the brand config, each post's tree root, each
tree's brand and the data-quality counts (`incremental.groups_of`, which calls the
`brand_rules`). Group key = tree brand; every brand post also goes to its own brand's
group; small groups are packed into one task (`tasks.pack_groups`). Each task then runs
`tasks.run_task`, which calls CareBench's `analyse` and writes its groups' rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from carebench.benchmark.incremental import OWNER_COLUMNS, groups_of
from carebench.benchmark.persisted import code_version
from carebench.benchmark.settings import Settings
from carebench.brands import BrandConfig, apply_brand_config
from carebench.schema import DERIVED_TIME_MARK, POST_COLUMNS, valid_years, year_bounds
from carebench.spark.output import (
    POSTS_FOLDER,
    SparkOutputError,
    brands_to_json,
    settings_to_json,
    write_meta,
)
from carebench.spark.tasks import (
    MANIFEST_SCHEMA,
    TIME_COLUMNS,
    TaskContext,
    filesystem_of,
    group_keys,
    pack_groups,
    posts_frame,
    run_task,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# A task holds about this many posts (its groups' trees and brand posts): big enough
# that `analyse`'s fixed ~0.2 s a call is nothing, small enough to spread over cores.
TASK_POSTS = 200_000
# The post columns as Spark carries them: times as UTC microseconds (see tasks).
SPARK_COLUMNS = tuple(TIME_COLUMNS.get(c, c) for c in POST_COLUMNS)


@dataclass(frozen=True)
class SparkRun:
    """What a run did: posts analysed, conversations, tasks, and where OUT is."""

    posts: int
    conversations: int
    tasks: int
    out: str


def _spark_schema() -> Any:
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    fields = [
        StructField(c, LongType() if c in TIME_COLUMNS.values() else StringType(), True)
        for c in SPARK_COLUMNS
    ]
    return StructType([*fields, StructField("_file", LongType()), StructField("_seq", LongType())])


def read_parquet_posts(spark: SparkSession, path: str) -> DataFrame:
    """Posts from `carebench export posts --parquet DIR` (or any Parquet of the schema)."""
    from pyspark.sql import functions as F

    frame = spark.read.parquet(path)
    missing = [c for c in POST_COLUMNS if c not in frame.columns]
    if missing:
        raise SparkOutputError(
            f"{path} is not a CareBench posts folder (no column(s) {', '.join(missing)}): "
            "write one with `carebench export posts --parquet DIR`."
        )
    columns = [
        F.unix_micros(F.col(c)).alias(TIME_COLUMNS[c])
        if c in TIME_COLUMNS
        else F.col(c).cast("string").alias(c)
        for c in POST_COLUMNS
    ]
    start, end = (int(b.astype("int64")) for b in year_bounds(valid_years()))
    return (
        frame.select(*columns, F.lit(0).cast("long").alias("_file"))
        .withColumn("_seq", F.monotonically_increasing_id())
        .where((F.col("created_us") >= start) & (F.col("created_us") < end))
    )


def read_source_posts(spark: SparkSession, fmt: str, files: Sequence[Path | str]) -> DataFrame:
    """Posts of source files read by CareBench's own reader of `fmt`, one file a task.

    Spark's CSV reader silently replaces invalid UTF-8 and loses line numbers; the
    readers reject and report exactly what an import does. Posts whose time is outside
    the valid years are dropped, as an import rejects them.
    """
    from carebench.ingest import ImportOptions, check_files

    # Local files are checked here, before any task starts; a URI (s3a://, hdfs://) is
    # read by its task from a byte stream, and its reader rejects it there.
    local = [Path(f) for f in files if "://" not in str(f)]
    checked = [*check_files(fmt, local, ImportOptions()), *(f for f in files if "://" in str(f))]
    collected_at = datetime.now(UTC)
    listing = spark.createDataFrame(
        [(i, p if isinstance(p, str) else str(p.resolve())) for i, p in enumerate(checked)],
        "file long, path string",
    ).repartition(max(1, len(checked)), "file")
    schema = _spark_schema()

    def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for index, path in zip(
                batch.column("file").to_pylist(), batch.column("path").to_pylist(), strict=True
            ):
                yield from _read_file(fmt, path, int(index), collected_at)

    return listing.mapInArrow(read, schema)


def _read_file(fmt: str, path: str, index: int, collected_at: datetime) -> Iterator[pa.RecordBatch]:
    """One source file's posts as Spark rows (see `read_source_posts`).

    A URI is streamed from its filesystem (pyarrow's S3/HDFS/GCS) into a local temporary
    file first: the readers seek and sniff encodings, which a raw stream cannot do.
    """
    import tempfile

    from carebench.ingest import ImportOptions, _reader
    from carebench.schema import conform_posts
    from carebench.store import _without_bad_times

    years = valid_years()
    seq = 0
    with tempfile.TemporaryDirectory(prefix="carebench-") as folder:
        local = Path(path)
        if "://" in path:
            filesystem, remote = filesystem_of(path)
            local = Path(folder) / Path(remote).name
            with filesystem.open_input_stream(remote) as stream, local.open("wb") as copy:
                while block := stream.read(1 << 24):
                    copy.write(block)
        for chunk in _reader(fmt, ImportOptions()).read(local, collected_at):
            posts = _without_bad_times(conform_posts(chunk.posts), years, [])
            if not len(posts):
                continue
            yield spark_rows(posts, index, seq)
            seq += len(posts)


def spark_rows(posts: pd.DataFrame, file: int, seq: int) -> pa.RecordBatch:
    """Normalised posts as the Arrow rows Spark carries (times as microseconds)."""
    arrays = {}
    for column in POST_COLUMNS:
        if column in TIME_COLUMNS:
            values = posts[column].astype("datetime64[us, UTC]").dt.tz_localize(None)
            micros = values.to_numpy(dtype="datetime64[us]").astype(np.int64)
            mask = posts[column].isna().to_numpy()
            arrays[TIME_COLUMNS[column]] = pa.array(micros, type=pa.int64(), mask=mask)
        else:
            arrays[column] = pa.array(
                posts[column].astype(object).where(posts[column].notna(), None), type=pa.string()
            )
    arrays["_file"] = pa.array(np.full(len(posts), file, dtype=np.int64))
    arrays["_seq"] = pa.array(np.arange(seq, seq + len(posts), dtype=np.int64))
    return pa.RecordBatch.from_pydict(arrays)


def deduplicated(posts: DataFrame) -> DataFrame:
    """Each (platform, post_id) once: a file's last occurrence, the first file's."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("platform", "post_id").orderBy(
        F.col("_file").asc(), F.col("_seq").desc()
    )
    return (
        posts.withColumn("_n", F.row_number().over(order))
        .where(F.col("_n") == 1)
        .drop("_n", "_file", "_seq")
    )


def analyse_on_spark(
    spark: SparkSession,
    posts: DataFrame,
    out: str,
    brands: BrandConfig | None = None,
    settings: Settings | None = None,
    task_posts: int = TASK_POSTS,
) -> SparkRun:
    """Analyse every post of `posts` (rows of `_spark_schema`) and write OUT."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    brands = brands or BrandConfig()
    settings = settings or Settings()
    posts = deduplicated(posts).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _analyse(spark, posts, out, brands, settings, task_posts, F)
    finally:
        posts.unpersist()


def _analyse(
    spark: SparkSession,
    posts: DataFrame,
    out: str,
    brands: BrandConfig,
    settings: Settings,
    task_posts: int,
    F: Any,
) -> SparkRun:
    filesystem, root = filesystem_of(out)
    filesystem.create_dir(root, recursive=True)
    # The posts the analysis is of: `carebench spark load` imports them into a store.
    posts.select(*SPARK_COLUMNS).write.mode("overwrite").parquet(f"{out}/{POSTS_FOLDER}")

    # Driver side: the columns that decide whose each post and tree is, for all posts.
    owner_columns = [TIME_COLUMNS.get(c, c) for c in OWNER_COLUMNS]
    owners = apply_brand_config(posts_frame(posts.select(*owner_columns).toArrow()), brands)
    if not len(owners):
        raise SparkOutputError("No posts to analyse: the input holds no (valid) posts.")

    def root_texts(rows: np.ndarray) -> pd.Series:
        keys = owners[["platform", "post_id"]].iloc[rows].reset_index(drop=True)
        keys["_at"] = np.arange(len(rows))
        wanted = spark.createDataFrame(keys)
        found = (
            posts.select("platform", "post_id", "text")
            .join(F.broadcast(wanted), ["platform", "post_id"])
            .toPandas()
        )
        return found.set_index("_at")["text"].reindex(np.arange(len(rows))).astype("string")

    derived = posts.where(F.col("raw_ref").endswith(DERIVED_TIME_MARK)).count()
    groups = groups_of(owners, root_texts, derived)
    customer_tree = groups.posts["_customer_tree"].to_numpy(dtype=bool)
    tree_key, own_key = group_keys(groups.tree_group, customer_tree, groups.post_brand)
    keys = pd.Series(np.r_[tree_key, own_key]).dropna()
    task_of = pack_groups({str(k): int(v) for k, v in keys.value_counts().items()}, task_posts)

    # Each post goes to its tree's group and its own brand's: one row per task it is in.
    ids = owners[["platform", "post_id"]]
    assigned = pd.concat(
        [
            ids.assign(task=pd.Series(tree_key).map(task_of).to_numpy()),
            ids.assign(task=pd.Series(own_key).map(task_of).to_numpy()),
        ],
        ignore_index=True,
    ).dropna(subset=["task"])
    assigned = assigned.drop_duplicates().astype({"task": "int64"})
    groups_of_task: dict[int, list[str]] = {}
    for group, number in task_of.items():
        groups_of_task.setdefault(number, []).append(group)
    context = TaskContext(
        out=out,
        groups_of_task=groups_of_task,
        accounts=groups.accounts,
        brands=brands,
        settings=settings,
        threads=int(spark.conf.get("spark.task.cpus", "1") or 1),
    )
    issues = dict(groups.issues)
    del groups, tree_key, own_key, ids
    shared = spark.sparkContext.broadcast(context)

    def task(table: pa.Table) -> pa.Table:
        return run_task(table, shared.value)

    assignment = spark.createDataFrame(
        pa.table(
            {
                "platform": pa.array(assigned["platform"].astype(object), type=pa.string()),
                "post_id": pa.array(assigned["post_id"].astype(object), type=pa.string()),
                "task": pa.array(assigned["task"].to_numpy(), type=pa.int64()),
            }
        )
    )
    del assigned
    analysis_columns = [c for c in SPARK_COLUMNS if c not in ("url", "collector", "collected_us")]
    manifest = (
        posts.select(*analysis_columns)
        .join(assignment, ["platform", "post_id"])
        .groupBy("task")
        .applyInArrow(task, _manifest_schema())
        .toArrow()
    )
    rows = manifest.to_pylist()
    layout: dict[str, list[list[str]]] = {}
    for row in sorted(rows, key=lambda r: (-int(r["rows"] > 0), r["task"])):
        layout.setdefault(row["table"], json.loads(row["layout"]))
    conversations = [r for r in rows if r["table"] == "conversations"]
    issues.update(
        {
            "conversations": sum(r["rows"] for r in conversations),
            "clock_skew_conversations": sum(r["skewed"] for r in conversations),
            "unassigned_conversations": sum(r["unassigned"] for r in conversations),
            # Posts of impossible times were dropped on reading, as an import rejects them.
            "posts_out_of_range": 0,
        }
    )
    write_meta(
        out,
        {
            "code": code_version(),
            "issues": issues,
            "layout": layout,
            "brand_config": brands_to_json(brands),
            "settings": settings_to_json(settings),
            "tasks": len(groups_of_task),
        },
    )
    shared.unpersist()
    return SparkRun(issues["posts"], issues["conversations"], len(groups_of_task), out)


def _manifest_schema() -> Any:
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    kinds = {pa.int64(): LongType(), pa.string(): StringType()}
    return StructType([StructField(f.name, kinds[f.type], True) for f in MANIFEST_SCHEMA])
