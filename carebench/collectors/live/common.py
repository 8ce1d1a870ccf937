"""What the live collectors share: chunks, rejected items, times, brand accounts, paging."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from carebench.collectors.live.http import CollectFailed
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
    """Which accounts speak for which brand on one platform.

    `handles` are lower case without '@'; `ids` are the platform's account ids (a
    Mastodon account id on the server read, a Bluesky DID) as the collector's lookup of
    each brand handle returned them. An id is what a post's author field reliably
    carries: a Mastodon server writes its own accounts without a domain (`help`, not
    `help@acme.example`) and a Bluesky handle can change or fail verification.
    """

    handles: Mapping[str, str]
    ids: Mapping[str, str] = field(default_factory=dict)

    def brand_of(self, *handles: str | None) -> str | None:
        """The brand of the first of `handles` that is a brand account, else None."""
        for handle in handles:
            if handle:
                found = self.handles.get(handle.lstrip("@").lower())
                if found:
                    return found
        return None

    def brand_of_account(self, account_id: str, *handles: str | None) -> str | None:
        """The brand of an account: by its id first, else by any of its handles."""
        return self.ids.get(account_id) or self.brand_of(*handles)

    def with_ids(self, ids: Mapping[str, str]) -> BrandAccounts:
        """These accounts plus brand account ids (later lookups win)."""
        return BrandAccounts(self.handles, {**self.ids, **ids})


class PageGuard:
    """Bounds one account's paging within a run: a page cap, and no cursor used twice.

    A server that hands out the same cursor (or Link header) again would be paged
    forever; one that never stops paging is stopped at the cap. Either way the run
    fails before the page is kept or the checkpoint moves, so the checkpoint only ever
    holds cursors that led somewhere new, and nothing reaches the store.
    """

    def __init__(self, service: str, what: str, max_pages: int, cursor: str | None) -> None:
        self.service = service
        self.what = what
        self.max_pages = max_pages
        self.seen: set[str] = {cursor} if cursor else set()

    def before_page(self, pages_done: int) -> None:
        """Refuse to ask for one more page beyond the cap."""
        if pages_done >= self.max_pages:
            raise CollectFailed(
                f"{self.service} was still paging {self.what} after {self.max_pages:,} pages, "
                "the most CareBench asks for in one run; stopped, nothing was landed in the "
                "store. Pass --limit N or --since DATE to collect less."
            )

    def next_cursor(self, cursor: str, page: int) -> None:
        """Accept the cursor page number `page` gave, unless this run already used it."""
        if cursor in self.seen:
            shown = cursor if len(cursor) <= 80 else cursor[:80] + "..."
            raise CollectFailed(
                f"{self.service} gave the cursor {shown!r} for {self.what} a second time "
                f"(on page {page:,}), so paging would never end; stopped, nothing "
                "was landed in the store and the checkpoint keeps the last good cursor. "
                "The server is misbehaving: try again later, or pass --limit N or --since DATE."
            )
        self.seen.add(cursor)


MAX_CURSOR_CHARS = 2000


def checked_cursor(value: object, service: str, what: str) -> str | None:
    """A next-page cursor as the API gave it: text, or None on the last page."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_CURSOR_CHARS or not value.isprintable():
        shown = repr(value)[:80]
        raise CollectFailed(
            f"{service} answered {what} with a next-page cursor that is not a short text "
            f"({shown}); stopped, nothing was landed. Check the server address."
        )
    return value


def field_of(value: object, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    """`value[key]`, checked to be a JSON object field of type `kind`; ValueError if not."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} is {json_type(value)}, not an object")
    if key not in value:
        raise ValueError(f"{what} has no {key!r}")
    found = value[key]
    if not isinstance(found, kind) or (isinstance(found, bool) and bool not in _kinds(kind)):
        raise ValueError(f"{what}.{key} is {json_type(found)}")
    return found


def optional_field(
    value: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str
) -> Any:
    """`value[key]` if present and not null, checked to be of type `kind`; else None."""
    found = value.get(key)
    if found is None:
        return None
    return field_of(value, key, kind, what)


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def json_type(value: object) -> str:
    """A value's JSON type in words, for reasons a user reads."""
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__


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
