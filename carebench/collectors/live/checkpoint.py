"""Runs of a live collector: raw page files plus a checkpoint, so a run can resume.

Layout under the raw directory (default data/raw)::

    <collector>/<brand>/checkpoint.json         the unfinished run (gone once it landed)
    <collector>/<brand>/<run id>/<kind>/...json one file per API response, kept for good

A page file is written to a temporary name and renamed, then the checkpoint is updated
(also by rename). A crash between the two makes the rerun fetch that page again and
write it to the same name, so a raw page is never kept twice and never half-written.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carebench.errors import CareBenchError

DEFAULT_RAW_DIR = Path("data") / "raw"
_VERSION = 1


class CheckpointMismatch(CareBenchError):
    """An unfinished run exists whose options differ from this one's."""


def slug(text: str) -> str:
    """A file-name-safe form of a brand, handle or id."""
    cleaned = re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._")
    return cleaned or "_"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to `path` so that it is either whole or absent, never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass
class Run:
    """One collection run: its directory, its options and its resumable state."""

    root: Path  # <raw dir>/<collector>/<brand>
    run_id: str
    options: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    resumed: bool = False

    @property
    def directory(self) -> Path:
        return self.root / self.run_id

    @property
    def checkpoint_path(self) -> Path:
        return self.root / "checkpoint.json"

    def page_path(self, kind: str, name: str) -> Path:
        """Where the raw response `name` of `kind` (feed, thread, ...) is kept."""
        return self.directory / kind / f"{slug(name)}.json"

    def save_page(self, path: Path, page: Mapping[str, Any]) -> None:
        """Keep one raw response (atomically)."""
        write_json_atomic(path, dict(page))

    def pages(self, kind: str, prefix: str = "") -> list[Path]:
        """The raw pages of `kind` kept so far, in name order."""
        folder = self.directory / kind
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.glob(f"{slug(prefix) if prefix else ''}*.json"))

    def save(self) -> None:
        """Record the state (cursor, pages, counts) after a page was kept."""
        write_json_atomic(
            self.checkpoint_path,
            {
                "version": _VERSION,
                "run_id": self.run_id,
                "options": self.options,
                "state": self.state,
            },
        )

    def finish(self) -> None:
        """The run landed in the store: the next run starts afresh (raw pages stay)."""
        self.checkpoint_path.unlink(missing_ok=True)


def open_run(
    raw_dir: Path, collector: str, brand: str, options: Mapping[str, Any], *, fresh: bool = False
) -> Run:
    """Resume the brand's unfinished run of `collector`, or start a new one.

    An unfinished run with other options is refused (unless `fresh`, which starts over
    and leaves the old run's raw pages where they are).
    """
    root = Path(raw_dir) / slug(collector) / slug(brand)
    wanted: dict[str, Any] = json.loads(json.dumps(dict(options)))  # as read back from JSON
    checkpoint = root / "checkpoint.json"
    if checkpoint.exists() and not fresh:
        try:
            saved = json.loads(checkpoint.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointMismatch(
                f"The checkpoint {checkpoint} cannot be read ({exc}). Pass --fresh to start "
                "a new run."
            ) from exc
        if saved.get("options") == wanted:
            return Run(root, saved["run_id"], wanted, saved.get("state", {}), resumed=True)
        # A run that kept no page yet (a mistyped handle fails at once) has nothing to
        # resume: start afresh rather than insist on its options.
        if (root / str(saved.get("run_id", ""))).exists():
            raise CheckpointMismatch(
                f"An unfinished {collector} run for {brand} used other options "
                f"({_describe(saved.get('options'))}). Rerun with the same options to "
                "resume it, or pass --fresh to start a new run."
            )
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    run = Run(root, run_id, wanted, {})
    run.save()
    return run


def _describe(options: object) -> str:
    if not isinstance(options, dict):
        return "unknown"
    return ", ".join(f"{k}={v}" for k, v in options.items())


def iter_pages(paths: list[Path]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Load raw pages, in order."""
    for path in paths:
        yield path, json.loads(path.read_text(encoding="utf-8"))
