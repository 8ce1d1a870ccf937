"""What `carebench` and `carebench collect` share on the terminal: consoles, the
error exit, the --db option and the import summary table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from carebench.store import ImportSummary

console = Console()
errors = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Store file. Default: $CAREBENCH_DB, else data/carebench.duckdb.",
        show_default=False,
    ),
]


def fail(message: str) -> NoReturn:
    """Print the error on stderr and exit with status 1."""
    errors.print(f"[bold red]Error:[/] {message}", highlight=False)
    raise typer.Exit(code=1)


def print_import_summary(
    summaries: Sequence[ImportSummary], db: Path, posts_now: int, *, label: str = "file"
) -> None:
    """One row per source (a file, or a collection run), its rejected rows, the store size."""
    verb = "Imported" if label == "file" else "Collected"
    table = Table(title=f"{verb} into {db}", min_width=60)
    for column in (label, "read", "new", "updated", "unchanged", "duplicates", "rejected"):
        table.add_column(column, justify="left" if column == label else "right")
    for s in summaries:
        table.add_row(
            Path(s.source).name,
            f"{s.records_read:,}",
            f"{s.posts_new:,}",
            f"{s.posts_updated:,}",
            f"{s.posts_unchanged:,}",
            f"{s.duplicates_in_source:,}",
            f"{s.rejected:,}",
        )
    console.print(table)
    for s in summaries:
        for line, reason in s.rejected_examples:
            console.print(f"  rejected {s.source}:{line}: {reason}", highlight=False)
        if s.rejected > len(s.rejected_examples):
            console.print(
                f"  ... and {s.rejected - len(s.rejected_examples):,} more rejected rows "
                "(all are kept in the store's rejected_rows table)."
            )
    console.print(f"The store now holds {posts_now:,} post{'' if posts_now == 1 else 's'}.")
