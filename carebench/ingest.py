"""Files -> store: runs a format's reader over files and lands them all in one import.

Every format goes through the same path: each file is checked first (a missing or
wrong-format file is refused before the store is touched), then one
`Store.import_sources` call, with the format as the collector name, lands every file in
one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from carebench.collectors import csv_generic, ibm_care, snscrape_jsonl, twcs, x_api, x_archive
from carebench.errors import CareBenchError
from carebench.store import ImportSummary, PostChunk, Source, Store, file_sha256

# Called with (bytes of all files consumed so far, bytes in all files) for progress bars.
ProgressCallback = Callable[[int, int], None]

# The formats `carebench import` reads, in the order the help lists them.
FORMATS: tuple[str, ...] = ("twcs", "ibm-care", "x-api", "x-archive", "snscrape", "csv")


@dataclass(frozen=True)
class ImportOptions:
    """What some formats need besides the files.

    brand_handles: the accounts whose posts are the brand's (x-api, snscrape; x-archive
    when the archive has no account.js). column_map: "source=target" renames (csv).
    brand_accounts: a brand config's accounts, (platform or None, handle) -> brand name
    (`BrandConfig.account_map()`, from --brand-config): for x-api and snscrape, the accounts of
    the file's platform are brand accounts too, named by their brand.
    """

    brand_handles: tuple[str, ...] = ()
    column_map: tuple[str, ...] = ()
    brand_accounts: Mapping[tuple[str | None, str], str] = field(default_factory=dict)

    def with_brands(self, accounts: Mapping[tuple[str | None, str], str]) -> ImportOptions:
        """These options plus a brand config's accounts (see brand_accounts)."""
        return replace(self, brand_accounts=dict(accounts))


@dataclass(frozen=True)
class ImportReport:
    """What an import did: one summary per file, and posts whose time was derived."""

    summaries: list[ImportSummary]
    # Posts whose created_at was not in the source but derived from their id (ibm-care's
    # last brand turn). They are marked in raw_ref with common.DERIVED_TIME_MARK.
    derived_timestamps: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Reader:
    """How one format finds its files in a path, checks one and reads one."""

    files: Callable[[Path], list[Path]]
    check: Callable[[Path], None]
    read: Callable[[Path, datetime], Iterator[PostChunk]]


def _reader(fmt: str, options: ImportOptions) -> _Reader:
    """The reader of a format, configured by the options."""
    one = _one_file
    handles = options.brand_handles
    if options.brand_accounts and fmt not in ("x-api", "snscrape"):
        raise CareBenchError(
            f"--brand-config is read by the x-api and snscrape imports only ({fmt} files say who "
            "the brand is); pass the brand config to scorecard, export or the dashboard."
        )
    if fmt == "twcs":
        return _Reader(one, twcs.check_twcs_file, lambda p, t: twcs.read_twcs(p, collected_at=t))
    if fmt == "ibm-care":
        return _Reader(
            one,
            ibm_care.check_ibm_care_file,
            lambda p, t: ibm_care.read_ibm_care(p, collected_at=t),
        )
    if fmt == "x-api":
        names = _brand_names(options, "twitter")
        x_api.require_brand_handles([*handles, *names])
        return _Reader(
            one,
            x_api.check_x_api_file,
            lambda p, t: x_api.read_x_api(
                p, collected_at=t, brand_handles=handles, brand_names=names
            ),
        )
    if fmt == "x-archive":
        return _Reader(
            x_archive.archive_files,
            lambda p: x_archive.check_x_archive_file(p, brand_handles=handles),
            lambda p, t: x_archive.read_x_archive(p, collected_at=t, brand_handles=handles),
        )
    if fmt == "snscrape":
        by_platform = {p: _brand_names(options, p) for p in _PLATFORM_NAMES}
        snscrape_jsonl.require_brand_handles(
            [*handles, *(h for names in by_platform.values() for h in names)]
        )
        return _Reader(
            one,
            snscrape_jsonl.check_snscrape_file,
            lambda p, t: snscrape_jsonl.read_snscrape(
                p, collected_at=t, brand_handles=handles, brand_names=by_platform
            ),
        )
    if fmt == "csv":
        mapping = csv_generic.parse_column_map(options.column_map)
        return _Reader(
            one,
            lambda p: csv_generic.check_csv_file(p, column_map=mapping),
            lambda p, t: csv_generic.read_csv(p, collected_at=t, column_map=mapping),
        )
    raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


# A brand config's platform prefixes that mean each platform the importers read.
_PLATFORM_NAMES: dict[str, tuple[str, ...]] = {
    "twitter": ("twitter", "x"),
    "mastodon": ("mastodon",),
    "reddit": ("reddit",),
}


def _brand_names(options: ImportOptions, platform: str) -> dict[str, str]:
    """Handle -> brand name: the brand config's accounts on `platform` or on any platform."""
    return {
        handle: name
        for (prefix, handle), name in options.brand_accounts.items()
        if prefix is None or prefix in _PLATFORM_NAMES[platform]
    }


def _one_file(path: Path) -> list[Path]:
    return [path]


def check_files(
    fmt: str, paths: Sequence[Path], options: ImportOptions | None = None
) -> list[Path]:
    """Refuse, before any store is touched, a path that is missing or not in the format.

    Returns the files to import (an x-archive folder stands for its tweets files).
    """
    reader = _reader(fmt, options or ImportOptions())
    files = [file for path in paths for file in reader.files(path)]
    for file in files:
        reader.check(file)
    return files


def import_files(
    store: Store,
    fmt: str,
    paths: Sequence[Path],
    options: ImportOptions | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    replace: bool = False,
) -> ImportReport:
    """Import files of one format in one transaction: every file is checked, then all land.

    Raises the reader's `UnreadableFile` / `NotThisFormat` before anything is written,
    and `ImportFailed` (store unchanged) if reading fails part-way, or if the files would
    change posts another source wrote (`OverwriteRefused`) and `replace` is false.
    """
    options = options or ImportOptions()
    reader = _reader(fmt, options)
    files = check_files(fmt, paths, options)
    collected_at = datetime.now(UTC)
    sizes = [file.stat().st_size for file in files]
    total = sum(sizes)
    derived: dict[str, int] = {}
    # Files are hashed in a thread of their own while they are read (hashlib lets go of
    # the GIL): hashing 0.5 GB first held the import back ~1 s.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as hasher:
        sources = []
        for index, file in enumerate(files):
            chunks = _counting(reader.read(file, collected_at), str(file), derived)
            sources.append(
                Source(
                    name=str(file),
                    chunks=_reporting(chunks, sum(sizes[:index]), total, on_progress),
                    content_sha256=hasher.submit(file_sha256, file),
                )
            )
        try:
            summaries = store.import_sources(fmt, sources, replace=replace)
        finally:
            for source in sources:  # a failed import drops the hashes not yet started
                if isinstance(source.content_sha256, Future):
                    source.content_sha256.cancel()
    return ImportReport(summaries, {k: v for k, v in derived.items() if v})


def check_twcs_files(paths: Sequence[Path]) -> None:
    """Refuse, before any store is touched, a file that is missing or not TWCS-shaped."""
    check_files("twcs", paths)


def import_twcs_files(
    store: Store, paths: Sequence[Path], on_progress: ProgressCallback | None = None
) -> list[ImportSummary]:
    """Import TWCS files in one transaction (see import_files)."""
    return import_files(store, "twcs", paths, on_progress=on_progress).summaries


def _counting(
    chunks: Iterable[PostChunk], name: str, derived: dict[str, int]
) -> Iterator[PostChunk]:
    """Pass chunks through, adding up the posts whose time was derived."""
    for chunk in chunks:
        derived[name] = derived.get(name, 0) + getattr(chunk, "derived_timestamps", 0)
        yield chunk


def _reporting(
    chunks: Iterator[PostChunk],
    offset: int,
    total: int,
    on_progress: ProgressCallback | None,
) -> Iterator[PostChunk]:
    """Pass chunks through, reporting the bytes each one consumed."""
    for chunk in chunks:
        if on_progress is not None:
            on_progress(offset + getattr(chunk, "bytes_read", 0), total)
        yield chunk
