"""`carebench export posts --parquet DIR`: every normalised post of a store, as Parquet.

The input `carebench spark analyse` reads on a cluster (copy DIR to S3/HDFS). DuckDB
writes it straight from the store, a row group at a time: no post is held in Python.
"""

from __future__ import annotations

from pathlib import Path

from carebench.errors import CareBenchError
from carebench.schema import POST_COLUMNS
from carebench.store import Store

POSTS_FILE = "posts.parquet"


def write_posts_parquet(store: Store, folder: Path) -> int:
    """Write every post of the store (valid times only, as the analysis reads them) to
    FOLDER/posts.parquet, replacing it; returns the number of posts written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CareBenchError(f"Cannot create {folder}: {exc.strerror or exc}.") from exc
    if not folder.is_dir():
        raise CareBenchError(f"{folder} is not a folder: give --parquet a folder to write to.")
    where = f" WHERE {store.in_range_condition()}" if store.count_out_of_range() else ""
    target = str(folder / POSTS_FILE).replace("'", "''")
    columns = ", ".join(POST_COLUMNS)
    store.con.execute(
        f"COPY (SELECT {columns} FROM posts{where} ORDER BY platform, created_at, post_id) "
        f"TO '{target}' (FORMAT parquet, ROW_GROUP_SIZE 122880)"
    )
    return store.count_posts() - store.count_out_of_range()


def export_posts(table: object, folder: Path | None, db: Path | None) -> None:
    """The `carebench export posts --parquet DIR` command (see `write_posts_parquet`)."""
    # Imported here: the CLI helpers import typer and rich, which the library needs not.
    from rich.markup import escape

    from carebench.cli_output import console, fail
    from carebench.store import open_store

    if str(table) != "posts" or folder is None:
        fail("--parquet DIR goes with `export posts` (and posts need --parquet DIR).")
    try:
        with open_store(db, read_only=True) as store:
            written = write_posts_parquet(store, folder)
    except CareBenchError as exc:
        fail(str(exc))
    console.print(
        f"Wrote {written:,} posts to {escape(str(folder / POSTS_FILE))}.", highlight=False
    )
