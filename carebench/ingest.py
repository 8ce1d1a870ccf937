"""Files -> store: runs a collector's reader over files and lands them in one import."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from carebench.collectors import twcs
from carebench.store import ImportSummary, Source, Store, file_sha256

# Called with (bytes of all files consumed so far, bytes in all files) for progress bars.
ProgressCallback = Callable[[int, int], None]


def check_twcs_files(paths: Sequence[Path]) -> None:
    """Refuse, before any store is touched, a file that is missing or not TWCS-shaped."""
    for path in paths:
        twcs.check_twcs_file(path)


def import_twcs_files(
    store: Store, paths: Sequence[Path], on_progress: ProgressCallback | None = None
) -> list[ImportSummary]:
    """Import TWCS files in one transaction: every file is checked first, then all land.

    Raises the reader's `UnreadableFile` / `NotThisFormat` before anything is written,
    and `ImportFailed` (store unchanged) if reading fails part-way.
    """
    check_twcs_files(paths)
    collected_at = datetime.now(UTC)
    sizes = [path.stat().st_size for path in paths]
    total = sum(sizes)
    sources = []
    for index, path in enumerate(paths):
        chunks = twcs.read_twcs(path, collected_at=collected_at)
        sources.append(
            Source(
                name=str(path),
                chunks=_reporting(chunks, sum(sizes[:index]), total, on_progress),
                content_sha256=file_sha256(path),
            )
        )
    return store.import_sources("twcs", sources)


def _reporting(
    chunks: Iterator[twcs.TwcsChunk],
    offset: int,
    total: int,
    on_progress: ProgressCallback | None,
) -> Iterator[twcs.TwcsChunk]:
    """Pass chunks through, reporting the bytes each one consumed."""
    for chunk in chunks:
        if on_progress is not None:
            on_progress(offset + chunk.bytes_read, total)
        yield chunk
