"""`carebench spark analyse` and `carebench spark load`: the analysis on Apache Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from carebench.brands import load_brand_config
from carebench.cli_output import BrandConfigOption, DbOption, console, fail
from carebench.errors import CareBenchError
from carebench.ingest import FORMATS

spark_app = typer.Typer(
    help="Run the analysis on Apache Spark (pip install 'carebench\\[spark]', Java 17/21).",
    no_args_is_help=True,
)


@spark_app.command("analyse")
def analyse_command(
    posts: Annotated[
        list[str],
        typer.Argument(
            help="A Parquet posts folder (`carebench export posts --parquet DIR`; a local "
            "path or an s3a://, hdfs:// URI), or source files with --format.",
            show_default=False,
        ),
    ],
    output: Annotated[
        str, typer.Option("-o", "--output", help="Folder (or URI) to write the tables to.")
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help=f"parquet, or a source format read by CareBench's own reader, one file a "
            f"task: {', '.join(FORMATS)} (those that need no --brand-handle).",
        ),
    ] = "parquet",
    brands: BrandConfigOption = None,
    master: Annotated[
        str | None,
        typer.Option(
            "--master",
            help="Spark master URL (local[4], spark://host:7077, yarn). Default: what "
            "spark-submit gives, else local[*].",
        ),
    ] = None,
    task_posts: Annotated[
        int,
        typer.Option("--task-posts", min=1, help="Small brands are packed into tasks of ~N posts."),
    ] = 200_000,
) -> None:
    """Analyse posts on Spark; OUT holds the tables a local analysis persists, as Parquet.

    Example: carebench spark analyse posts_parquet/ -o analysis_out/ --master local[2]
    """
    from carebench.spark.run import (
        TASK_POSTS,
        analyse_on_spark,
        read_parquet_posts,
        read_source_posts,
    )
    from carebench.spark.session import has_active_session, spark_session

    try:
        config = load_brand_config(brands)
        if fmt != "parquet" and fmt not in FORMATS:
            fail(f"--format must be parquet or one of {', '.join(FORMATS)}, not {fmt!r}.")
        if fmt == "parquet" and len(posts) != 1:
            fail("Give one Parquet posts folder (or use --format for source files).")
        # A session the caller already runs (a notebook, tests) is theirs to stop.
        ours = not has_active_session()
        # The JVM does not share this process's working directory: local paths go absolute.
        posts = [_absolute(p) for p in posts]
        output = _absolute(output)
        session = spark_session(master or None)
        try:
            frame = (
                read_parquet_posts(session, posts[0])
                if fmt == "parquet"
                else read_source_posts(session, fmt, list(posts))
            )
            run = analyse_on_spark(
                session, frame, output, config, task_posts=task_posts or TASK_POSTS
            )
        finally:
            if ours:
                session.stop()
    except CareBenchError as exc:
        fail(str(exc))
    console.print(
        f"Analysed {run.posts:,} posts ({run.conversations:,} conversations) in "
        f"{run.tasks:,} task(s); the tables are in {escape(run.out)}. Open them with "
        f"`carebench spark load {escape(run.out)} --db NEW.duckdb`.",
        highlight=False,
    )


def _absolute(path: str) -> str:
    """A local path made absolute; a URI (s3a://, hdfs://, file://) as it is."""
    return path if "://" in path else str(Path(path).resolve())


@spark_app.command("load")
def load_command(
    out: Annotated[Path, typer.Argument(help="The folder `carebench spark analyse -o` wrote.")],
    db: DbOption = None,
) -> None:
    """Load a Spark output into a new store: scorecard, export, report and the dashboard
    then open its analysis as the store's own.

    Example: carebench spark load analysis_out/ --db data/from_spark.duckdb
    """
    from carebench.spark.output import load_output

    try:
        posts, conversations = load_output(out, db)
    except CareBenchError as exc:
        fail(str(exc))
    console.print(
        f"Loaded {posts:,} posts and the analysis of {conversations:,} conversations.",
        highlight=False,
    )
