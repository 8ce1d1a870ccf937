"""What `carebench` and `carebench collect` share on the terminal: consoles, the
error exit, the --db option, the import summary table, and the guard that turns every
failure of a command into one line (Ctrl-C, errors a user can cause, bugs).

Every user-controlled string (file names, brands, handles, reasons, messages) goes
through `escape` before rich prints it: rich reads `[...]` as markup, so a file named
`tweets [final].csv` would print as `tweets .csv`, and `[/x]` would crash the print."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from typer.core import TyperGroup
from typer.exceptions import TyperException

from carebench.errors import DEBUG_ENV_VAR, CareBenchError
from carebench.store import ImportSummary, is_interrupt

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


INTERRUPTED_EXIT = 130  # 128 + SIGINT, what shells expect of a program stopped by Ctrl-C
# What a command interrupted at any moment has done to the store. Commands that know
# more at the moment of the interrupt say it themselves (see `interrupted`).
INTERRUPTED_STATE = {
    "import": "An import lands in one transaction, so the store holds all of it or none "
    "of it; importing the same files again changes nothing if it had landed.",
    "export": "The store is unchanged (export only reads it); the output file may be "
    "incomplete: run the command again.",
    "scorecard": "The store is unchanged (the scorecard only reads it).",
    "report": "The store is unchanged (the report only reads it); the output file may be "
    "incomplete: run the command again.",
    "demo": "The demo store is unchanged: it is replaced only once the new one is built.",
    "generate": "No store was touched; the output file may be incomplete: run the command again.",
    "collect": "The store holds all of the run's posts or none of them (they land in one "
    "transaction); fetched pages are kept: rerun the same command to resume.",
}
_ANY_COMMAND = (
    "Every change to the store lands in one transaction: it holds all of the command's "
    "changes or none of them."
)


def fail(message: str) -> NoReturn:
    """Print the error on stderr and exit with status 1."""
    # soft_wrap: one line however long (rich would break it at 80 columns off a terminal).
    errors.print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


def interrupted(state: str) -> NoReturn:
    """Ctrl-C: say so and what became of the store (`state`), exit with status 130."""
    errors.print(f"[bold]Interrupted.[/] {escape(state)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=INTERRUPTED_EXIT)


def unexpected(exc: BaseException) -> NoReturn:
    """A bug: one line saying so and where to report it, not a traceback."""
    fail(
        f"unexpected error ({type(exc).__name__}: {exc}). This is a bug in CareBench, not "
        f"in your data: please report it to the CareBench maintainers (the project's issue "
        f"tracker) with the command you ran and the traceback that {DEBUG_ENV_VAR}=1 prints."
    )


class GuardedGroup(TyperGroup):
    """The `carebench` command group: no command ends in a traceback.

    Ctrl-C (also as DuckDB's own interrupt errors, and during the command's startup)
    prints "Interrupted." and the store's state, exit 130; a `CareBenchError` prints its
    message, exit 1; anything else is a bug and says where to report it, exit 1.
    """

    # ctx is typer's own click Context (typer vendors click); Any keeps mypy's override check.
    def invoke(self, ctx: Any) -> Any:
        tokens = [str(t) for t in ctx.args]
        for old, new in RENAMED_OPTIONS.items():
            if any(t == old or t.startswith(old + "=") for t in tokens):
                errors.print(f"Note: {old} is now {new} (the old name still works).")
        try:
            return super().invoke(ctx)
        except TyperException as exc:
            hint = _flag_value_hint(str(getattr(exc, "message", exc)), tokens)
            if hint and hasattr(exc, "message"):
                exc.message = hint
            raise
        except (typer.Exit, typer.Abort):
            raise
        except BaseException as exc:
            if is_interrupt(exc):
                interrupted(INTERRUPTED_STATE.get(ctx.invoked_subcommand or "", _ANY_COMMAND))
            if isinstance(exc, CareBenchError):
                fail(str(exc))
            if not isinstance(exc, Exception) or os.environ.get(DEBUG_ENV_VAR):
                raise
            unexpected(exc)
        finally:
            end_json_output()


def progress_bar(*columns: ProgressColumn | str) -> Progress:
    """A rich progress display on stderr, gone when done, hidden off a terminal.

    `columns` after the description; by default a bar, "done/total" and the time spent.
    """
    shown = columns or (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(
        "[progress.description]{task.description}",
        *shown,
        console=errors,
        transient=True,
        disable=not sys.stderr.isatty(),
    )


# Options renamed for one vocabulary across commands: old spelling -> new. The old one
# still works (typer lists both names) and prints a note.
RENAMED_OPTIONS = {"--brands": "--brand-config"}
_FLAG_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}


def _flag_value_hint(message: str, tokens: Sequence[str]) -> str | None:
    """A clearer message for `--anonymise true`: flags take no value."""
    found = re.match(r"Got unexpected extra arguments?(?:\(s\))? \(([^()]*)\)", message)
    if not found or not found.group(1).split():
        return None
    value = found.group(1).split()[0]
    if value.lower() not in _FLAG_WORDS or value not in tokens:
        return None
    at = tokens.index(value)
    flag = tokens[at - 1] if at and tokens[at - 1].startswith("--") else None
    if flag is None:
        return None
    return (
        f"{flag} is a flag and takes no value: write {flag} alone to turn it on, and leave "
        f"it out to keep it off (not {flag} {value})."
    )


BrandConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--brand-config",
        "--brands",
        help="Brand config (TOML) merging accounts into brands (--brands: its old name).",
        show_default=False,
    ),
]


def check_minutes(param: typer.CallbackParam, value: float | None) -> float | None:
    """A number of minutes (an SLA): above 0 and at most a year, else a message and exit 1.

    click's own range check lets nan through (every comparison with nan is false).
    """
    if value is not None and not (math.isfinite(value) and 0 < value <= 525_600):
        option = param.opts[0] if param.opts else param.name
        fail(
            f"{option} {value:g} is not a number of minutes above 0 and at most a year "
            f"(525600); write it like {option} 60."
        )
    return value


# `--json`: the command's summary goes to stdout as one JSON object, everything else a
# person would read (progress, notes) to stderr, so a script can parse stdout as is.
_json_output = False


def _start_json_output(value: bool) -> bool:
    global _json_output
    if value:
        _json_output = True
        console.file = sys.stderr
    return value


def end_json_output() -> None:
    """Back to printing for people (the guard calls it after every command)."""
    global _json_output
    _json_output = False
    console.file = None  # type: ignore[assignment]  # rich: None = the current stdout


def json_output() -> bool:
    """Whether this command prints its summary as JSON (`--json`)."""
    return _json_output


def print_json(payload: dict[str, Any]) -> None:
    """The command's JSON summary, on the real stdout."""
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))


JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        callback=_start_json_output,
        is_eager=True,
        help="Print the summary as one JSON object on stdout (schemas in carebench/schemas/); "
        "progress and notes go to stderr.",
    ),
]


def import_summary_payload(
    summaries: Sequence[ImportSummary], db: Path, posts_now: int, *, label: str = "file"
) -> dict[str, Any]:
    """The import (or collection) summary for scripts; every count is in posts."""
    return {
        "schema_version": 1,
        "store": str(db),
        "kind": "import" if label == "file" else "collect",
        "sources": [
            {
                "source": str(s.source),
                "posts_read": int(s.records_read),
                "new": int(s.posts_new),
                "updated": int(s.posts_updated),
                "unchanged": int(s.posts_unchanged),
                "duplicates": int(s.duplicates_in_source),
                "rejected": int(s.rejected),
                "rejected_rows": [
                    {"line": line, "reason": str(reason)} for line, reason in s.rejected_examples
                ],
            }
            for s in summaries
        ],
        "posts_in_store": int(posts_now),
    }


def print_import_summary(
    summaries: Sequence[ImportSummary], db: Path, posts_now: int, *, label: str = "file"
) -> None:
    """One row per source (a file, or a collection run), its rejected rows, the store size."""
    if _json_output:
        print_json(import_summary_payload(summaries, db, posts_now, label=label))
        return
    verb = "Imported" if label == "file" else "Collected"
    table = Table(title=f"{verb} into {escape(str(db))}", min_width=60)
    # Every count is in posts: a dialog or an API page read counts its posts.
    for column in (label, "posts read", "new", "updated", "unchanged", "duplicates", "rejected"):
        table.add_column(column, justify="left" if column == label else "right")
    for s in summaries:
        table.add_row(
            escape(Path(s.source).name),
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
            console.print(f"  rejected {escape(f'{s.source}:{line}: {reason}')}", highlight=False)
        if s.rejected > len(s.rejected_examples):
            console.print(
                f"  ... and {s.rejected - len(s.rejected_examples):,} more rejected rows "
                "(all are kept in the store's rejected_rows table)."
            )
    console.print(f"The store now holds {posts_now:,} post{'' if posts_now == 1 else 's'}.")
