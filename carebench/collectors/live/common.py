"""What the live collectors share: chunks, rejected items, times, brand accounts."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from carebench.schema import conform_posts

# (description, done, total or None) -> None: the CLI draws it as a progress bar.
ProgressFn = Callable[[str, int, int | None], None]


def no_progress(_description: str, _done: int, _total: int | None) -> None:
    """A progress callback that shows nothing."""


@dataclass(frozen=True)
class RejectedItem:
    """An item of a raw page that could not become a post: where it is and why."""

    line: int  # index of the item in its raw page
    reason: str
    raw: str


@dataclass(frozen=True)
class LiveChunk:
    """The posts read from one raw page, plus the items rejected there."""

    posts: pd.DataFrame
    rejected: tuple[RejectedItem, ...]
    records_read: int


@dataclass(frozen=True)
class BrandAccounts:
    """Which handles speak for which brand on one platform (lower case, no '@')."""

    handles: Mapping[str, str]

    def brand_of(self, *handles: str | None) -> str | None:
        """The brand of the first of `handles` that is a brand account, else None."""
        for handle in handles:
            if handle:
                found = self.handles.get(handle.lstrip("@").lower())
                if found:
                    return found
        return None


def parse_time(value: object) -> datetime:
    """An ISO 8601 time as UTC; ValueError when it is not one."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"no time ({value!r})")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def page_envelope(url: str, params: Mapping[str, Any] | None, body: Any) -> dict[str, Any]:
    """A raw page as kept on disk: the request, when it was made, and the JSON body."""
    return {
        "url": url,
        "params": dict(params or {}),
        "fetched_at": datetime.now(UTC).isoformat(),
        "body": body,
    }


def raw_ref(path: Path, raw_dir: Path, index: int) -> str:
    """Where a post came from: its raw page (relative to the raw dir) and item index."""
    try:
        relative = path.relative_to(raw_dir)
    except ValueError:
        relative = path
    return f"{relative.as_posix()}#{index}"


def make_chunk(records: list[dict[str, Any]], rejected: list[RejectedItem], read: int) -> LiveChunk:
    """A chunk from post records (dicts with the schema's columns)."""
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    return LiveChunk(posts=conform_posts(frame), rejected=tuple(rejected), records_read=read)


def short_raw(item: Any) -> str:
    """A rejected item as text, short enough for the rejected_rows table."""
    return json.dumps(item, ensure_ascii=False)[:2000]


class Selector:
    """Which items of newest-first pages a run keeps: the same answer fetching and reading.

    Items older than `since` are left out, and paging stops after a page whose last item
    is older; at most `limit` items are kept. `kept` resumes the count from a checkpoint.
    """

    def __init__(
        self,
        since: datetime | None,
        limit: int | None,
        *,
        skip: Callable[[dict[str, Any]], bool],
        created: Callable[[dict[str, Any]], datetime | None],
        sort_time: Callable[[dict[str, Any]], datetime | None],
        kept: int = 0,
    ) -> None:
        self.since = since
        self.limit = limit
        self.kept = kept
        self._skip = skip
        self._created = created
        self._sort_time = sort_time

    def full(self) -> bool:
        return self.limit is not None and self.kept >= self.limit

    def take(self, items: list[Any]) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
        """(index, item) kept from one page, and whether paging should stop after it."""
        kept: list[tuple[int, dict[str, Any]]] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or self._skip(item):
                continue
            if self.full():
                return kept, True
            if self.since is not None and _before(self._created(item), self.since):
                continue
            kept.append((index, item))
            self.kept += 1
        last = items[-1] if items and isinstance(items[-1], dict) else None
        since = self.since
        older = last is not None and since is not None and _before(self._sort_time(last), since)
        return kept, older or self.full()


def _before(when: datetime | None, since: datetime) -> bool:
    return when is not None and when < since
