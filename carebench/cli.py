"""The `carebench` command line: parses arguments and calls the library, nothing more."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from carebench.benchmark.anonymise import anonymise_analysis
from carebench.benchmark.exports import (
    conversations_table,
    templates_table,
    themes_table,
    write_csv,
)
from carebench.benchmark.pipeline import analyse_store, check_brands, only_brands
from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.settings import Settings
from carebench.benchmark.topics import other_themes, topic_table
from carebench.benchmark.validation import Validation, load_labels, validate
from carebench.brands import load_brand_config
from carebench.cli_compare import compare_command, scorecard_command
from carebench.cli_output import (
    BrandConfigOption,
    DbOption,
    GuardedGroup,
    JsonOption,
    check_minutes,
    console,
    fail,
    interrupted,
    json_output,
    print_import_summary,
    print_json,
    progress_bar,
)
from carebench.collect_cli import analyse_landed, collect_app
from carebench.demo import DEMO_DB, build_demo_store
from carebench.errors import CareBenchError
from carebench.ingest import ImportOptions, check_files, import_files
from carebench.labelled_sources import analyse_sources
from carebench.posts_parquet import export_posts
from carebench.spark.cli import spark_app
from carebench.store import folder_problem, open_store, resolve_db_path
from carebench.synthetic import generate as generate_synthetic

app = typer.Typer(
    cls=GuardedGroup,
    help="CareBench: benchmark how brands answer customers in public.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
BrandsOption = BrandConfigOption

SlaOption = Annotated[
    float, typer.Option(callback=check_minutes, help="SLA threshold in minutes (above 0).")
]


class ImportFormat(StrEnum):
    """File formats `carebench import` reads (the same list as carebench.ingest.FORMATS)."""

    twcs = "twcs"
    ibm_care = "ibm-care"
    x_api = "x-api"
    x_archive = "x-archive"
    snscrape = "snscrape"
    csv = "csv"


class ExportTable(StrEnum):
    """Tables `carebench export` writes."""

    conversations = "conversations"
    scorecard = "scorecard"
    templates = "templates"
    topics = "topics"
    themes = "themes"
    posts = "posts"


@app.command("import")
def import_files_command(
    fmt: Annotated[
        ImportFormat,
        typer.Argument(
            metavar="FORMAT",
            help="Input format: twcs (Kaggle TWCS CSV), ibm-care (IBM customer-care dialog "
            "JSON), x-api (X API v2 JSON pages), x-archive (an X account archive folder or "
            "its tweets.js), snscrape (snscrape --jsonl output), csv (normalised columns).",
        ),
    ],
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files (or x-archive folders) to import.", show_default=False),
    ],
    db: DbOption = None,
    brand_handle: Annotated[
        list[str] | None,
        typer.Option(
            "--brand-handle",
            help="A brand account (repeatable). Required for x-api and snscrape: posts by "
            "these handles are the brand's. x-archive: the owner, if there is no account.js.",
        ),
    ] = None,
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="SOURCE=TARGET",
            help="csv only: read column SOURCE as post column TARGET (repeatable), e.g. "
            "--map 'Message=text'.",
        ),
    ] = None,
    brands: Annotated[
        Path | None,
        typer.Option(
            "--brand-config",
            "--brands",
            help="x-api and snscrape: a brand config (TOML); its accounts on the file's "
            "platform are brand accounts, their posts get the brand's name.",
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Overwrite posts another source (collector or file) wrote with the same "
            "ids; without it such an import is refused and nothing changes.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Import files into the store: all of them land, or nothing changes.

    Example: carebench import twcs ../shared/data/twcs/twcs_head_5k.csv
    """
    options = ImportOptions(tuple(brand_handle or ()), tuple(column_map or ()))
    try:
        if brands is not None:
            options = options.with_brands(load_brand_config(brands).account_map())
        # Check every file before opening the store, so a typo creates no empty store.
        check_files(fmt.value, paths, options)
        with (
            open_store(db) as store,
            progress_bar(BarColumn(), DownloadColumn(), TimeRemainingColumn()) as progress,
        ):
            task = progress.add_task("importing", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = import_files(
                store, fmt.value, paths, options, on_progress=report, replace=replace
            )
            posts_now = store.count_posts()
    except KeyboardInterrupt:
        interrupted("Nothing was imported; the store is unchanged.")
    except CareBenchError as exc:
        fail(str(exc))
    print_import_summary(result.summaries, resolve_db_path(db), posts_now)
    for source, count in result.derived_timestamps.items():
        console.print(
            f"  {escape(Path(source).name)}: {count:,} post time(s) were not in the file and were "
            "derived from the tweet id (raw_ref ends in '#created_at-from-id').",
            highlight=False,
        )
    analyse_landed(db)


@app.command("analyse")
def analyse_command(db: DbOption = None) -> None:
    """Save the store's analysis in it; imports do it, but run it after an upgrade.

    Imports, collections and deletions analyse what they land; run this after upgrading
    CareBench or changing CAREBENCH_BRANDS, so the dashboard opens at once.

    Example: carebench analyse --db data/carebench.duckdb
    """
    try:
        with open_store(db, read_only=True):
            pass  # no store there: say so instead of creating an empty one
    except CareBenchError as exc:
        fail(str(exc))
    analyse_landed(db, always=True)


@app.command("export")
def export(
    table: Annotated[ExportTable, typer.Argument(help="What to export.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="CSV file to write.")
    ] = None,
    db: DbOption = None,
    brands: BrandsOption = None,
    brand: Annotated[
        list[str] | None, typer.Option("--brand", help="Only these brands (repeatable).")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            help="Scorecard and topics: 'week' or 'month' rows per brand (topics: week by default)."
        ),
    ] = None,
    sla_minutes: SlaOption = 60.0,
    anonymise: Annotated[
        bool,
        typer.Option(
            "--anonymise",
            help="Mask customer handles and ids, names, e-mails, phone numbers and post ids.",
        ),
    ] = False,
    as_json: JsonOption = False,
    parquet: Annotated[
        Path | None,
        typer.Option("--parquet", help="posts only: the folder to write every post to."),
    ] = None,
) -> None:
    """Write conversations, the scorecard, the top templates, topics or themes as CSV;
    or every post as Parquet (posts --parquet DIR), for `carebench spark analyse`.

    Example: carebench export conversations -o conversations.csv --brand AmazonHelp --anonymise
    """
    if table is ExportTable.posts or parquet is not None:
        export_posts(table, parquet, db)
        return
    if output is None:
        fail("Missing option '-o' / '--output': the CSV file to write.")
    try:
        if period not in (None, "week", "month"):
            fail(f"--period must be 'week' or 'month', not {period!r}.")
        settings = Settings(sla_seconds=sla_minutes * 60)
        analysis = analyse_store(db, settings, load_brand_config(brands))
        if brand:
            analysis = only_brands(analysis, brand)
        if anonymise:
            analysis = anonymise_analysis(analysis)
        if table is ExportTable.conversations:
            # Anonymised, its post ids are pseudonyms already.
            frame = conversations_table(analysis)
        elif table is ExportTable.templates:
            frame = templates_table(analysis)
        elif table is ExportTable.topics:
            frame = topic_table(analysis.conversations, period or "week")  # type: ignore[arg-type]
        elif table is ExportTable.themes:
            frame = themes_table(other_themes(analysis.conversations))
        else:
            frame = scorecard(analysis.conversations, settings, period=period)  # type: ignore[arg-type]
        output.parent.mkdir(parents=True, exist_ok=True)
        write_csv(frame, output)
    except CareBenchError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"Cannot write {output}: {exc.strerror or exc}.")
    if json_output():
        print_json(
            {
                "schema_version": 1,
                "store": str(resolve_db_path(db)),
                "table": table.value,
                "rows": len(frame),
                "output": str(output),
                "anonymised": anonymise,
            }
        )
        return
    console.print(f"Wrote {len(frame):,} rows to {escape(str(output))}.", highlight=False)


def _day(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date; write it as YYYY-MM-DD, e.g. {option} 2017-10-01.")


@app.command("report")
def report(
    brand: Annotated[str, typer.Option("--brand", help="The focus brand.", show_default=False)],
    vs: Annotated[
        str,
        typer.Option(
            "--vs", metavar="C,D", help="Its competitors, comma-separated.", show_default=False
        ),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write: report.pdf or report.pptx.")
    ],
    start: Annotated[
        str | None,
        typer.Option("--from", metavar="YYYY-MM-DD", help="First day (UTC); default: the data's."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", metavar="YYYY-MM-DD", help="Last day (UTC); default: the data's."),
    ] = None,
    sla_minutes: SlaOption = 60.0,
    anonymise: Annotated[
        bool,
        typer.Option(
            "--anonymise",
            help="Mask customers, names, e-mails, phones, post ids and links to posts.",
        ),
    ] = False,
    pins: Annotated[
        bool,
        typer.Option("--pins", help="Example threads: the ones pinned on the dashboard."),
    ] = False,
    db: DbOption = None,
    brands: BrandsOption = None,
    template: Annotated[
        Path | None,
        typer.Option("--template", help="PowerPoint only: a .pptx whose master the slides use."),
    ] = None,
) -> None:
    """Write the workshop report (PDF or PowerPoint): the focus brand against competitors.

    Example: carebench report --brand AmazonHelp --vs AppleSupport,Delta -o report.pdf
    """
    suffix = output.suffix.lower()
    if suffix not in (".pdf", ".pptx"):
        fail(f"{output}: the report is a PDF or a PowerPoint file; name it .pdf or .pptx.")
    if template is not None and suffix != ".pptx":
        fail("--template applies to PowerPoint reports only; write to a .pptx file.")
    competitors = [name.strip() for name in vs.split(",") if name.strip()]
    if not competitors:
        fail("--vs names no competitor; list them comma-separated, e.g. --vs AppleSupport,Delta.")
    if brand.strip().lower() in {c.lower() for c in competitors}:
        fail(f"--vs names the focus brand {brand}; list only its competitors.")
    first, last = _day("--from", start), _day("--to", end)
    if first is not None and last is not None and first > last:
        fail(f"--from {first} is after --to {last}; swap them.")
    # Imported here: reportlab, svglib and python-pptx would slow every other command's start.
    from carebench.report.content import (
        ReportOptions,
        brands_by_size,
        build_report,
        bulk_period,
        import_sources,
        select_analysis,
    )

    steps = [
        "reading and scoring the store",
        "example threads",
        "scorecard",
        "speed",
        "deflection",
        "resolution",
        "templates",
        "trends",
        "recurring issues",
        "method",
        "writing " + suffix.lstrip(".").upper(),
    ]
    try:
        with progress_bar() as progress:
            task = progress.add_task(steps[0], total=len(steps))

            def step(name: str) -> None:
                progress.update(task, description=name, advance=1)

            settings = Settings(sla_seconds=sla_minutes * 60)
            analysis = analyse_store(db, settings, load_brand_config(brands))
            known = analysis.conversations["brand"]
            focus, *rivals = check_brands(known, [brand.strip(), *competitors])
            if focus in rivals:
                fail(f"--vs names the focus brand {focus}; list only its competitors.")
            with open_store(db, read_only=True) as store:
                imports = store.imports()
                pinned = store.pins() if pins else None
            sources, formats, is_demo = import_sources(imports)
            left_out = 0
            if first is None or last is None:
                # By default the bulk of the data, as the dashboard's default dates.
                span = bulk_period(analysis.conversations["opened_at"])
                own = analysis.conversations.loc[
                    known.isin([focus, *rivals]).to_numpy(dtype=bool), "opened_at"
                ]
                if span is not None:
                    if first is None:
                        first = span[0]
                        left_out += int((own < pd.Timestamp(first, tz="UTC")).sum())
                    if last is None:
                        last = span[1]
                        after = pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1)
                        left_out += int((own >= after).sum())
                if first is not None and last is not None and first > last:
                    fail(
                        f"--from {first} is after the data's last day {last}; choose an "
                        "earlier day."
                        if start is not None
                        else f"--to {last} is before the data's first day {first}; choose a "
                        "later day."
                    )
            options = ReportOptions(
                focus=focus,
                competitors=tuple(dict.fromkeys(rivals)),
                sla_minutes=sla_minutes,
                start=first,
                end=last,
                anonymise=anonymise,
                pins=pinned,
                store_name=resolve_db_path(db).name,
                sources=sources,
                formats=formats,
                all_brands=brands_by_size(analysis.conversations),
                is_demo=is_demo,
                left_out=left_out,
            )
            chosen = select_analysis(analysis, options.brands, first, last)
            content = build_report(chosen, options, progress=step)
            output.parent.mkdir(parents=True, exist_ok=True)
            progress.update(task, description=steps[-1], completed=len(steps) - 1)
            if suffix == ".pdf":
                from carebench.report.pdf import write_pdf

                pages = write_pdf(content, output)
            else:
                from carebench.report.slides import write_pptx

                pages = write_pptx(content, output, template=template)
            progress.update(task, completed=len(steps))
    except CareBenchError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"Cannot write {output}: {exc.strerror or exc}.")
    noun = "pages" if suffix == ".pdf" else "slides"
    console.print(
        f"Wrote the report of {escape(focus)} vs {escape(', '.join(options.competitors))} "
        f"({len(chosen.conversations):,} conversations) on {pages:,} {noun} to "
        f"{escape(str(output))}" + (" (anonymised)." if anonymise else "."),
        highlight=False,
    )


@app.command("deck")
def deck(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="PowerPoint file to write (.pptx).")
    ],
    db: DbOption = None,
    brands: BrandsOption = None,
    brand: Annotated[
        list[str] | None,
        typer.Option("--brand", help="Only this brand's threads (repeatable)."),
    ] = None,
    pins: Annotated[
        bool, typer.Option("--pins", help="The threads pinned on the dashboard, in pin order.")
    ] = False,
    good: Annotated[int, typer.Option(min=0, help="Best threads per brand.")] = 3,
    bad: Annotated[int, typer.Option(min=0, help="Worst threads per brand.")] = 3,
    sla_minutes: SlaOption = 60.0,
    anonymise: Annotated[
        bool,
        typer.Option(
            "--anonymise/--no-anonymise",
            help="Mask customers, names, e-mails, phones and post ids (on by default).",
        ),
    ] = True,
    template: Annotated[
        Path | None, typer.Option("--template", help="A .pptx whose master the slides use.")
    ] = None,
) -> None:
    """Write a training deck: real good and bad threads, one per slide, annotated.

    Example: carebench deck -o training.pptx --brand AmazonHelp --good 3 --bad 3
    """
    # Imported here: python-pptx and lxml would slow every other command's start.
    from carebench.report.deck import build_deck, choose_threads, deck_subtitle

    if output.suffix.lower() != ".pptx":
        fail(f"{output}: the deck is a PowerPoint file; name it with .pptx.")
    if not pins and good == 0 and bad == 0:
        fail("Nothing to show: --good and --bad are both 0. Ask for some, or use --pins.")
    try:
        settings = Settings(sla_seconds=sla_minutes * 60)
        analysis = analyse_store(db, settings, load_brand_config(brands))
        wanted = check_brands(analysis.conversations["brand"], brand) if brand else []
        pinned = None
        if pins:
            with open_store(db, read_only=True) as store:
                pinned = store.pins()
        threads = choose_threads(
            analysis,
            sla_seconds=settings.sla_seconds,
            good=good,
            bad=bad,
            brands=wanted,
            pins=pinned,
            anonymise=anonymise,
        )
        output.parent.mkdir(parents=True, exist_ok=True)
        slides = build_deck(
            threads,
            output,
            sla_seconds=settings.sla_seconds,
            subtitle=deck_subtitle(threads, anonymise, resolve_db_path(db).name),
            template=template,
        )
    except CareBenchError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"Cannot write {output}: {exc.strerror or exc}.")
    console.print(
        f"Wrote {len(threads):,} thread{'s' if len(threads) != 1 else ''} on {slides:,} "
        f"slides to {escape(str(output))}" + (" (anonymised)." if anonymise else "."),
        highlight=False,
    )


app.command("scorecard")(scorecard_command)
app.command("compare")(compare_command)


@app.command("demo")
def demo(
    db: Annotated[
        Path, typer.Option("--db", help="Where to build the demo store (it is replaced).")
    ] = DEMO_DB,
) -> None:
    """Build the demo store from generated data, in seconds, and say how to explore it.

    Example: carebench demo && carebench scorecard --db data/demo.duckdb
    """
    try:
        summary = build_demo_store(db)
    except CareBenchError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(
            f"Cannot build the demo store at {db}: {folder_problem(db.parent, exc)}; "
            "pass --db another path."
        )
    console.print(
        f"Built the demo store {escape(str(summary.path))}: {summary.posts:,} generated posts, "
        f"{summary.conversations:,} conversations of 12 made-up brands. This is demo data, "
        "not real brands.\n"
        f"Explore it: carebench scorecard --db {escape(str(summary.path))}\n"
        "Load real data: carebench import twcs FILE.csv"
    )


class LabelSplit(StrEnum):
    """Which half of a labels file `carebench validate` measures."""

    all = "all"
    tune = "tune"
    test = "test"


# The published figures: what a consultant quotes (README's accuracy table).
_HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("care_request", "f1", "care request F1"),
    ("deflected", "precision", "deflection precision"),
    ("deflected", "recall", "deflection recall"),
    ("deflected", "f1", "deflection F1"),
    ("first_touch_deflection", "f1", "first-touch deflection F1"),
    ("empathy_first_reply", "accuracy", "empathy accuracy"),
    ("outcome", "accuracy", "outcome accuracy"),
    ("outcome:resolved", "recall", "resolved recall"),
    ("outcome:unresolved", "recall", "unresolved recall"),
)


@app.command("validate")
def validate_command(
    labels: Annotated[
        Path, typer.Argument(help="Human labels, JSON lines (see evaluation/README.md).")
    ],
    db: DbOption = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Import the labelled source files from this folder into a fresh in-memory "
            "store instead of reading --db (e.g. --data ../shared/data).",
        ),
    ] = None,
    split: Annotated[
        LabelSplit, typer.Option("--split", help="Measure the tune half, the test half or all.")
    ] = LabelSplit.all,
    brands: BrandsOption = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Also write every figure (and n) to this CSV."),
    ] = None,
) -> None:
    """How far CareBench's labels agree with human labels: precision, recall, F1, n.

    Example: carebench validate evaluation/labels.jsonl --data ../shared/data --split test
    """
    try:
        wanted = load_labels(labels, split.value)
        if wanted.empty:
            fail(f"{labels} has no labels in the {split.value} half.")
        if data is not None:
            conversations = analyse_sources(wanted, data)
        else:
            conversations = analyse_store(db, brands=load_brand_config(brands)).conversations
        result = validate(conversations, wanted)
        if result.matched == 0:
            fail(
                f"None of the {len(wanted):,} labelled conversations is in the store. Import "
                "the labelled sources first, or pass --data with the folder they are in."
            )
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            write_csv(result.figures, output)
    except CareBenchError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"Cannot write {output}: {exc.strerror or exc}.")
    _print_validation(result, split.value)
    if output is not None:
        console.print(f"Wrote {len(result.figures):,} figures to {escape(str(output))}.")


def _print_validation(result: Validation, split: str) -> None:
    figures = result.figures
    sources = list(dict.fromkeys(figures["source"]))
    table = Table(title=f"Agreement with human labels ({split}; 95% intervals, n)")
    table.add_column("measure")
    for source in sources:
        table.add_column(escape(source), justify="right")
    for field, measure, label in _HEADLINE:
        cells = []
        for source in sources:
            row = figures[
                (figures["source"] == source)
                & (figures["field"] == field)
                & (figures["measure"] == measure)
            ]
            if row.empty or pd.isna(row["value"].iloc[0]):
                cells.append("-")
                continue
            r = row.iloc[0]
            cells.append(f"{r['value']:.2f} [{r['low']:.2f}-{r['high']:.2f}] n={int(r['n'])}")
        table.add_row(label, *cells)
    console.print(table)
    console.print(f"{result.matched:,} labelled conversations matched.", highlight=False)
    if len(result.missing):
        console.print(
            f"{len(result.missing):,} labelled conversations are not in the store and were "
            "left out (import their sources, or use --data).",
            highlight=False,
        )


@app.command("generate")
def generate(
    output: Annotated[Path, typer.Option("-o", "--output", help="TWCS-shaped CSV file to write.")],
    posts: Annotated[int, typer.Option("--posts", min=1, help="Exact number of posts to write.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same file.")] = 0,
) -> None:
    """Write synthetic TWCS-shaped conversations of a dozen brand personas (for demos, tests).

    Example: carebench generate -o generated.csv --posts 100000 --seed 1
    """
    try:
        summary = generate_synthetic(output, posts=posts, seed=seed)
    except OSError as exc:
        fail(f"Cannot write {output}: {exc.strerror or exc}.")
    console.print(
        f"Wrote {summary.posts:,} posts in {summary.conversations:,} conversations to "
        f"{escape(str(output))} "
        f"in {summary.seconds:.1f} s."
    )


@app.command("delete")
def delete(
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            help="Platform of the --post-id posts: twitter, bluesky, mastodon, reddit or csv.",
        ),
    ] = None,
    post_id: Annotated[
        list[str] | None,
        typer.Option(
            "--post-id",
            help="Id of a post to remove, as the store keeps it (TWCS ids read 'twcs:42'); "
            "repeatable.",
            show_default=False,
        ),
    ] = None,
    import_id: Annotated[
        int | None,
        typer.Option(
            "--import-id",
            help="Undo import N: remove the posts it wrote (as they are now), its rejected "
            "rows and its log entry. The import log is on the dashboard's Data page.",
            show_default=False,
        ),
    ] = None,
    out_of_range: Annotated[
        bool,
        typer.Option(
            "--out-of-range",
            help="Remove every post whose time is outside the valid years (1990-2100, or "
            "$CAREBENCH_VALID_YEARS): the 'posts out of range' of the data-quality report.",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Remove posts from the store, in one transaction, and say what went.

    Example: carebench delete --out-of-range
    """
    try:
        with open_store(db, read_only=True):
            pass  # no store there: say so instead of creating an empty one
        with open_store(db) as store:
            report = store.delete_posts(platform, post_id or (), import_id, out_of_range)
            posts_now = store.count_posts()
    except CareBenchError as exc:
        fail(str(exc))
    brands = ", ".join(f"{b} {n:,}" for b, n in list(report.by_brand.items())[:10])
    more = len(report.by_brand) - 10
    console.print(
        f"Removed {report.removed:,} post{'' if report.removed == 1 else 's'} from "
        f"{resolve_db_path(db)}"
        + (f" ({brands}{f', +{more} more' if more > 0 else ''})." if brands else "."),
        highlight=False,
        markup=False,
    )
    if import_id is not None:
        console.print(
            f"Import #{import_id} is undone: {report.import_removed or 0:,} of its posts, its "
            "rejected rows and its log entry are gone.",
            highlight=False,
        )
    if report.not_found:
        console.print(
            f"Not in the store: {', '.join(report.not_found[:10])}"
            + (" ..." if len(report.not_found) > 10 else "")
            + f" ({platform} ids are matched exactly; TWCS ids read 'twcs:42').",
            highlight=False,
            markup=False,
        )
    console.print(
        f"The store now holds {posts_now:,} post{'' if posts_now == 1 else 's'}; the "
        "scorecard and the dashboard score what is left (replies to a removed post stay, "
        "as orphans).",
        highlight=False,
    )
    analyse_landed(db)


def _pct(row: pd.Series, name: str) -> str:
    value = row[name]
    if value != value:  # NaN: no cases to measure
        return "-"
    return f"{value:.0%} [{row[name + '_low']:.0%}-{row[name + '_high']:.0%}]"


def _duration(seconds: float) -> str:
    if seconds != seconds:
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


app.add_typer(collect_app, name="collect")
app.add_typer(spark_app, name="spark")


def main() -> None:
    """Entry point for `python -m carebench`."""
    app()
