"""`carebench collect`: live collection from Bluesky, Mastodon or snscrape into the store.

Each run first fetches every page into raw files (resumable: a checkpoint after each
page), then lands all the run's posts in the store in ONE transaction. A run that fails
or is interrupted while fetching leaves the store untouched and resumes where it stopped;
a run that fails while landing leaves the store as it was, and the rerun lands the same
raw pages again (nothing is fetched twice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, TaskID

from carebench.benchmark.persisted import analysis_brands, analysis_state, refresh_analysis
from carebench.brands import BrandConfig, load_brand_config
from carebench.cli_output import (
    DbOption,
    JsonOption,
    console,
    errors,
    fail,
    interrupted,
    print_import_summary,
    progress_bar,
)
from carebench.collectors.live import bluesky, mastodon, snscrape_cli
from carebench.collectors.live.checkpoint import DEFAULT_RAW_DIR, Run, open_run, slug
from carebench.collectors.live.common import BrandAccounts, LiveChunk
from carebench.collectors.live.http import make_client
from carebench.errors import CareBenchError
from carebench.ingest import ImportOptions, import_files
from carebench.store import Source, open_store, resolve_db_path

collect_app = typer.Typer(
    help="Collect brands' public conversations live (no login) into the store.",
    no_args_is_help=True,
)

BrandOption = Annotated[
    str | None,
    typer.Option(
        "--brand", help="Brand name; needed unless the --brand-config file declares just one."
    ),
]
HandleOption = Annotated[
    list[str] | None,
    typer.Option(
        "--handle",
        help="Brand account to collect (repeatable); added to the brand's accounts "
        "for this platform in --brand-config.",
        show_default=False,
    ),
]
BrandsOption = Annotated[
    Path | None,
    typer.Option(
        "--brand-config",
        "--brands",
        help="Brand config (TOML): the brand's platform:handle accounts are collected, "
        "and every declared account is marked as its brand.",
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since", help="Stop at posts older than this date (YYYY-MM-DD or ISO time, UTC)."
    ),
]
LimitOption = Annotated[
    int | None,
    typer.Option("--limit", min=1, help="At most N posts per brand account (threads not counted)."),
]
RawDirOption = Annotated[
    Path,
    typer.Option("--raw-dir", help="Where raw responses and checkpoints are kept."),
]
ThreadsOption = Annotated[
    bool,
    typer.Option("--threads/--no-threads", help="Also fetch the thread around each brand reply."),
]
FreshOption = Annotated[
    bool,
    typer.Option("--fresh", help="Start a new run instead of resuming an unfinished one."),
]


@collect_app.command("bluesky")
def collect_bluesky(
    brand: BrandOption = None,
    handle: HandleOption = None,
    brands: BrandsOption = None,
    since: SinceOption = None,
    limit: LimitOption = None,
    appview: Annotated[
        str, typer.Option("--appview", help="Bluesky AppView to read from (public, no login).")
    ] = bluesky.DEFAULT_APPVIEW,
    threads: ThreadsOption = True,
    db: DbOption = None,
    raw_dir: RawDirOption = DEFAULT_RAW_DIR,
    fresh: FreshOption = False,
    as_json: JsonOption = False,
) -> None:
    """Collect a brand's Bluesky replies and the threads they answer.

    Example: carebench collect bluesky --brand Acme --handle acme.bsky.social --since 2024-05-01
    """

    def options(_handles: list[str]) -> Any:
        return bluesky.BlueskyOptions(
            appview=appview, since=_parse_since(since), limit=limit, threads=threads
        )

    _collect("bluesky", bluesky, options, brand, handle, brands, raw_dir, fresh, db)


@collect_app.command("mastodon")
def collect_mastodon(
    brand: BrandOption = None,
    handle: HandleOption = None,
    brands: BrandsOption = None,
    since: SinceOption = None,
    limit: LimitOption = None,
    instance: Annotated[
        str | None,
        typer.Option(
            "--instance",
            help="Mastodon server to read from, e.g. https://mastodon.social. "
            "Default: the server in the handle (user@server).",
        ),
    ] = None,
    threads: ThreadsOption = True,
    db: DbOption = None,
    raw_dir: RawDirOption = DEFAULT_RAW_DIR,
    fresh: FreshOption = False,
    as_json: JsonOption = False,
) -> None:
    """Collect a brand's Mastodon replies and the threads they answer.

    Example: carebench collect mastodon --brand Acme --handle help@acme.social --since 2024-05-01
    """

    def options(handles: list[str]) -> Any:
        server = instance or _server_of(handles)
        return mastodon.MastodonOptions(
            instance=server, since=_parse_since(since), limit=limit, threads=threads
        )

    _collect("mastodon", mastodon, options, brand, handle, brands, raw_dir, fresh, db)


def _collect(
    platform: str,
    collector: Any,
    make_options: Callable[[list[str]], Any],
    brand: str | None,
    handle: list[str] | None,
    brands: Path | None,
    raw_dir: Path,
    fresh: bool,
    db: Path | None,
) -> None:
    """Fetch into raw pages (resumable), then land every post in one store import."""
    try:
        config = load_brand_config(brands)
        name, handles = _brand_and_handles(platform, brand, handle, config, brands)
        options = make_options(handles)
        accounts = _brand_accounts(platform, name, handles, config)
        run = _open_run(raw_dir, platform, name, handles, options.__dict__, fresh)
        with make_client() as client, _progress() as report:
            collector.fetch(run, client, handles, options, on_progress=report)
        chunks = collector.read_run(run, raw_dir, handles, options, accounts)
        _land(platform, name, run, chunks, db)
    except KeyboardInterrupt:
        _interrupted(raw_dir)
    except CareBenchError as exc:
        fail(str(exc))


@collect_app.command("snscrape")
def collect_snscrape(
    scraper: Annotated[
        str,
        typer.Option(
            "--scraper",
            help="snscrape module, e.g. mastodon-profile or reddit-user "
            "(twitter-* is broken upstream).",
        ),
    ],
    brand: BrandOption = None,
    handle: HandleOption = None,
    brands: BrandsOption = None,
    since: SinceOption = None,
    limit: LimitOption = None,
    db: DbOption = None,
    raw_dir: RawDirOption = DEFAULT_RAW_DIR,
    as_json: JsonOption = False,
) -> None:
    """Run the snscrape command (optional extra), keep its JSONL, and import it.

    Example: carebench collect snscrape --brand Acme --handle AcmeHelp --since 2024-05-01
    """
    try:
        snscrape_cli.check_scraper(scraper)
        config = load_brand_config(brands)
        platform = scraper.split("-", 1)[0].lower()
        name, handles = _brand_and_handles(platform, brand, handle, config, brands)
        out_dir = raw_dir / "snscrape" / slug(name) / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        results = [
            snscrape_cli.run(scraper, h, out_dir, since=_parse_since(since), limit=limit)
            for h in handles
        ]
    except KeyboardInterrupt:
        interrupted("snscrape was stopped; nothing was saved or imported.")
    except CareBenchError as exc:
        fail(str(exc))
    for result in results:
        console.print(
            f"Saved {result.records:,} records to {escape(str(result.path))}.", highlight=False
        )
    saved = [r.path for r in results if r.records]
    if not saved:
        console.print("snscrape found nothing to import.")
        return
    # The saved JSONL goes through the same importer as `carebench import snscrape`; the
    # collected accounts' posts are the brand's under its name, as for bluesky/mastodon.
    options = ImportOptions(brand_handles=tuple(handles)).with_brands(
        {**config.account_map(), **{(platform, h.lower()): name for h in handles}}
    )
    try:
        with open_store(db) as store:
            report = import_files(store, "snscrape", saved, options)
            posts_now = store.count_posts()
    except CareBenchError as exc:
        handles_arg = "".join(f" --brand-handle {h}" for h in handles)
        handles_arg += f" --brand-config {brands}" if brands else ""
        files = " ".join(str(p) for p in saved)
        fail(
            f"{exc} The JSONL is kept; import it later with: "
            f"carebench import snscrape {files}{handles_arg}"
        )
    print_import_summary(report.summaries, resolve_db_path(db), posts_now)
    console.print(f"snscrape output kept in {escape(str(out_dir))}.", highlight=False)
    analyse_landed(db)


# -- helpers ----------------------------------------------------------------------------


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"--since {value!r} is not a date; write it like 2024-01-31 or 2024-01-31T08:00.")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _brand_and_handles(
    platform: str,
    brand: str | None,
    handles: list[str] | None,
    config: BrandConfig,
    brands_path: Path | None,
) -> tuple[str, list[str]]:
    """The brand to collect and its accounts on `platform` (from --handle and --brand-config)."""
    names = [b.name for b in config.brands]
    if brand is None:
        if len(names) != 1:
            listed = f" ({', '.join(names)})" if names else ""
            fail(f"Which brand? Pass --brand NAME{listed}.")
        brand = names[0]
    declared = next((b for b in config.brands if b.name.lower() == brand.lower()), None)
    if declared is None and brands_path is not None and not handles:
        fail(f"{brands_path} declares no brand {brand!r}; it declares {', '.join(names)}.")
    name = declared.name if declared else brand
    wanted = [h.strip().lstrip("@") for h in handles or [] if h.strip()]
    if declared:
        for account in declared.accounts:
            prefix, _, account_handle = account.partition(":")
            if account_handle and prefix.lower() == platform:
                wanted.append(account_handle.strip().lstrip("@"))
    unique = list(dict.fromkeys(wanted))
    if not unique:
        fail(
            f"No {platform} account to collect for {name}. Pass --handle HANDLE, or add "
            f'"{platform}:HANDLE" to accounts under [brands.{name}] in the brand config.'
        )
    return name, unique


def _brand_accounts(
    platform: str, name: str, handles: list[str], config: BrandConfig
) -> BrandAccounts:
    """Handles that mark brand posts: the collected accounts plus every declared one."""
    mapping = {
        handle: brand
        for (account_platform, handle), brand in config.account_map().items()
        if account_platform in (None, platform)
    }
    mapping.update({h.lower(): name for h in handles})
    return BrandAccounts(mapping)


def _server_of(handles: list[str]) -> str:
    servers = {h.partition("@")[2].lower() for h in handles}
    if len(servers) != 1 or "" in servers:
        fail(
            "Which Mastodon server? Pass --instance https://SERVER, or give handles as "
            "user@server (all on the same server)."
        )
    return f"https://{servers.pop()}"


def _open_run(
    raw_dir: Path,
    collector: str,
    brand: str,
    handles: list[str],
    options: dict[str, Any],
    fresh: bool,
) -> Run:
    recorded = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in options.items()}
    run = open_run(raw_dir, collector, brand, {"handles": handles, **recorded}, fresh=fresh)
    if run.resumed:
        errors.print(f"Resuming the unfinished run {escape(str(run.directory))}.", highlight=False)
    return run


def _land(
    collector: str, brand: str, run: Run, chunks: Iterable[LiveChunk], db: Path | None
) -> None:
    """Every post of the run into the store, in one transaction; then close the run."""
    source = Source(name=f"{collector}:{brand}:{run.run_id}", chunks=chunks)
    with open_store(db) as store:
        summaries = store.import_sources(collector, [source])
        posts_now = store.count_posts()
    run.finish()
    print_import_summary(summaries, resolve_db_path(db), posts_now, label="run")
    console.print(f"Raw responses kept in {escape(str(run.directory))}.", highlight=False)
    analyse_landed(db)


def analyse_landed(db: Path | None, *, always: bool = False) -> None:
    """After posts landed (or went): bring the store's persisted analysis up to date.

    The dashboard and the scorecard read it instead of scoring every post again. The
    data has landed whatever happens here; a failed or interrupted analysis leaves the
    store's analysis stale, and the next reader rebuilds it (or `carebench analyse`).
    `always` says what was done even when nothing needed doing (`carebench analyse`).
    """
    later = "`carebench analyse` (or the dashboard, on its next start) rebuilds it."
    try:
        brands = analysis_brands()
        with open_store(db) as store:
            state = analysis_state(store, brands=brands)
            if state.status == "fresh":
                if always:
                    console.print("The store's analysis is up to date.", highlight=False)
                return
            with _steps() as on_step:
                analysis = refresh_analysis(store, brands=brands, on_step=on_step)
    except KeyboardInterrupt:
        interrupted(f"The data is in the store, but its analysis was interrupted: {later}")
    except CareBenchError as exc:
        fail(f"The data is in the store, but analysing it failed: {exc} {later}")
    if always and analysis is not None:
        which = (
            "every brand"
            if analysis.brands is None
            else f"{len(analysis.brands):,} brand(s) the changes touched"
        )
        console.print(
            f"Analysed {which} in {analysis.seconds:.1f} s "
            f"({'' if state.status == 'missing' else state.reason + '; '}"
            "saved in the store).",
            highlight=False,
        )


@contextmanager
def _steps() -> Iterator[Callable[[int, int, str], None]]:
    """A progress bar on stderr for the analysis's steps (hidden off a terminal)."""
    with _progress() as report:

        def on_step(done: int, total: int, what: str) -> None:
            report("analysing the store", done, total)
            report.progress.update(
                report.tasks["analysing the store"], description=f"analysis: {what}"
            )

        yield on_step


def _interrupted(raw_dir: Path) -> None:
    interrupted(
        "The store is unchanged; the pages fetched so far are kept under "
        f"{raw_dir}. Rerun the same command to resume where it stopped."
    )


class _ProgressReporter:
    """Draws the collectors' progress callbacks as rich progress bars (one per task)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, description: str, done: int, total: int | None) -> None:
        if description not in self.tasks:
            self.tasks[description] = self.progress.add_task(description, total=total)
        self.progress.update(self.tasks[description], completed=done, total=total)


@contextmanager
def _progress() -> Iterator[_ProgressReporter]:
    """A rich progress display on stderr (hidden when stderr is not a terminal)."""
    progress = progress_bar()
    with progress:
        yield _ProgressReporter(progress)
