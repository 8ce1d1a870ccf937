"""Bluesky, live, through the public AppView (no login): a brand's replies and their threads.

- `app.bsky.feed.getAuthorFeed` (filter=posts_with_replies) pages through the brand
  account's posts and replies, newest first. Each reply comes with the post it answers
  and its thread root inline (`reply.parent`, `reply.root`): the customer's posts.
- `app.bsky.feed.getPostThread` on each such root fetches the rest of the conversation
  (follow-ups, other replies), as nested `thread.replies`.

post_id is the post's at:// URI (stable, global); the url is the bsky.app page.
Reposts by the brand are skipped: they are someone else's post, not a reply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from carebench.collectors.live.checkpoint import Run, iter_pages, slug
from carebench.collectors.live.common import (
    BrandAccounts,
    LiveChunk,
    ProgressFn,
    RejectedItem,
    Selector,
    make_chunk,
    no_progress,
    page_envelope,
    parse_time,
    raw_ref,
    short_raw,
)
from carebench.collectors.live.http import DEFAULT_POLICY, CollectFailed, RetryPolicy, get_json

PLATFORM = "bluesky"
DEFAULT_APPVIEW = "https://public.api.bsky.app"
SERVICE = "Bluesky AppView"
PAGE_SIZE = 100  # the API's maximum
# Replies below the root to fetch; care threads are rarely deeper (the API allows 1000).
THREAD_DEPTH = 100


@dataclass(frozen=True)
class BlueskyOptions:
    """What to collect: where from, how far back, how many posts per account."""

    appview: str = DEFAULT_APPVIEW
    since: datetime | None = None
    limit: int | None = None  # posts per brand account (their feed), threads not counted
    threads: bool = True


def _selector(options: BlueskyOptions, kept: int = 0) -> Selector:
    """Which author-feed items the run keeps (reposts are never kept)."""
    return Selector(
        options.since,
        options.limit,
        skip=_is_repost,
        created=_created,
        sort_time=_sort_time,
        kept=kept,
    )


def fetch(
    run: Run,
    client: httpx.Client,
    handles: Sequence[str],
    options: BlueskyOptions,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    on_progress: ProgressFn = no_progress,
) -> None:
    """Fetch every account's feed, then the threads they replied in, into raw pages.

    Resumes from the run's checkpoint: pages and threads already kept are not fetched again.
    """
    base = options.appview.rstrip("/")
    for handle in handles:
        _fetch_feed(run, client, base, handle, options, policy, on_progress)
    if not options.threads:
        return
    roots = _thread_roots(run, handles, options)
    url = f"{base}/xrpc/app.bsky.feed.getPostThread"
    for done, root in enumerate(roots, start=1):
        path = run.page_path("thread", _thread_name(root))
        if not path.exists():
            params = {"uri": root, "depth": THREAD_DEPTH, "parentHeight": 0}
            response = get_json(
                client,
                url,
                params,
                service=f"{SERVICE} ({base})",
                what=f"getPostThread for {root}",
                policy=policy,
                ok_statuses=(400, 404),
            )
            body = response.json()
            if response.status_code != 200:
                if not (isinstance(body, dict) and body.get("error") == "NotFound"):
                    raise CollectFailed(
                        f"{SERVICE} ({base}) refused getPostThread for {root}: HTTP "
                        f"{response.status_code} ({body}). Check the --appview address."
                    )
                body = {"notFound": True, "uri": root}  # deleted since: nothing to add
            run.save_page(path, page_envelope(url, params, body))
        on_progress("threads", done, len(roots))


def _fetch_feed(
    run: Run,
    client: httpx.Client,
    base: str,
    handle: str,
    options: BlueskyOptions,
    policy: RetryPolicy,
    on_progress: ProgressFn,
) -> None:
    feeds = run.state.setdefault("feeds", {})
    state = feeds.setdefault(handle, {"cursor": None, "pages": 0, "posts": 0, "done": False})
    selector = _selector(options, kept=state["posts"])
    url = f"{base}/xrpc/app.bsky.feed.getAuthorFeed"
    description = f"bluesky {handle}"
    on_progress(description, state["posts"], options.limit)
    while not state["done"]:
        params: dict[str, Any] = {
            "actor": handle,
            "limit": PAGE_SIZE,
            "filter": "posts_with_replies",
        }
        if state["cursor"]:
            params["cursor"] = state["cursor"]
        response = get_json(
            client,
            url,
            params,
            service=f"{SERVICE} ({base})",
            what=f"getAuthorFeed for {handle}",
            policy=policy,
        )
        body = response.json()
        feed = body.get("feed") if isinstance(body, dict) else None
        if not isinstance(feed, list):
            raise CollectFailed(
                f"{SERVICE} ({base}) answered getAuthorFeed for {handle} without a feed "
                "list. Check the --appview address."
            )
        page_no = state["pages"] + 1
        run.save_page(
            run.page_path(f"feed/{slug(handle)}", f"{page_no:05d}"),
            page_envelope(url, params, body),
        )
        _kept, stop = selector.take(feed)
        cursor = body.get("cursor")
        state.update(
            pages=page_no,
            cursor=cursor,
            posts=selector.kept,
            done=bool(stop or not cursor or not feed),
        )
        run.save()
        on_progress(description, selector.kept, options.limit)


def _thread_roots(run: Run, handles: Sequence[str], options: BlueskyOptions) -> list[str]:
    """Roots of the threads the kept brand replies belong to, first seen first."""
    roots: dict[str, None] = {}
    for handle in handles:
        for _path, _index, item in _kept_items(run, handle, options):
            record = item.get("post", {}).get("record", {})
            root = (record.get("reply") or {}).get("root", {}).get("uri")
            if isinstance(root, str) and root:
                roots.setdefault(root, None)
    return list(roots)


def _kept_items(
    run: Run, handle: str, options: BlueskyOptions
) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    selector = _selector(options)
    for path, page in iter_pages(run.pages(f"feed/{slug(handle)}")):
        kept, _stop = selector.take(page["body"].get("feed") or [])
        for index, item in kept:
            yield path, index, item


def read_run(
    run: Run,
    raw_dir: Path,
    handles: Sequence[str],
    options: BlueskyOptions,
    brands: BrandAccounts,
) -> Iterator[LiveChunk]:
    """The run's raw pages as normalised posts, one chunk per page, each post once."""
    seen: set[str] = set()
    for handle in handles:
        pages = run.pages(f"feed/{slug(handle)}")
        selector = _selector(options)
        for path, page in iter_pages(pages):
            kept, _stop = selector.take(page["body"].get("feed") or [])
            views: list[tuple[int, Any]] = []
            for index, item in kept:
                reply = item.get("reply") or {}
                views.append((index, item.get("post")))
                views.extend((index, reply.get(k)) for k in ("parent", "root"))
            yield _chunk(views, path, raw_dir, page["fetched_at"], brands, seen)
    if options.threads:
        for path, page in iter_pages(run.pages("thread")):
            views = list(enumerate(_walk_thread(page["body"].get("thread"))))
            yield _chunk(views, path, raw_dir, page["fetched_at"], brands, seen)


def _walk_thread(node: Any) -> Iterator[Any]:
    """Every post view of a thread: the post, its parents, its replies (depth first)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict) or "post" not in current:
            continue  # notFoundPost, blockedPost: no post to read
        yield current["post"]
        if current.get("parent"):
            stack.append(current["parent"])
        stack.extend(reversed(current.get("replies") or []))


def _chunk(
    views: list[tuple[int, Any]],
    path: Path,
    raw_dir: Path,
    fetched_at: str,
    brands: BrandAccounts,
    seen: set[str],
) -> LiveChunk:
    records: list[dict[str, Any]] = []
    rejected: list[RejectedItem] = []
    read = 0
    for index, view in views:
        if not isinstance(view, dict) or "record" not in view:
            continue  # not found / blocked / absent: not a post
        read += 1
        uri = view.get("uri")
        if uri in seen:
            continue
        try:
            record = _post(view, brands)
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"unreadable Bluesky post ({type(exc).__name__}: {exc})"
            rejected.append(RejectedItem(index, reason, short_raw(view)))
            continue
        seen.add(record["post_id"])
        record["collected_at"] = fetched_at
        record["raw_ref"] = raw_ref(path, raw_dir, index)
        records.append(record)
    return make_chunk(records, rejected, read)


def _post(view: dict[str, Any], brands: BrandAccounts) -> dict[str, Any]:
    """One post view as a normalised post record."""
    uri = view["uri"]
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise ValueError(f"uri {uri!r} is not an at:// URI")
    author = view["author"]
    did = author["did"]
    handle = author.get("handle")
    record = view["record"]
    reply = record.get("reply") or {}
    parent = (reply.get("parent") or {}).get("uri")
    root = (reply.get("root") or {}).get("uri") or (None if parent else uri)
    brand = brands.brand_of(handle, did)
    profile = handle if handle and handle != "handle.invalid" else did
    langs = record.get("langs") or [None]
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError("no text")
    return {
        "platform": PLATFORM,
        "post_id": uri,
        "url": f"https://bsky.app/profile/{profile}/post/{uri.rsplit('/', 1)[-1]}",
        "root_id": root,
        "parent_id": parent,
        "author_id": did,
        "author_handle": handle,
        "author_role": "brand" if brand else "customer",
        "brand": brand,
        "created_at": parse_time(record["createdAt"]),
        "text": text,
        "lang": langs[0],
        "collector": PLATFORM,
    }


def _is_repost(item: dict[str, Any]) -> bool:
    reason = item.get("reason")
    return isinstance(reason, dict) and "reasonRepost" in str(reason.get("$type", ""))


def _created(item: dict[str, Any]) -> datetime | None:
    try:
        return parse_time(item["post"]["record"]["createdAt"])
    except (KeyError, TypeError, ValueError):
        return None


def _sort_time(item: Any) -> datetime | None:
    """When the AppView saw the post (the feed's order), else when it says it was written."""
    try:
        return parse_time(item["post"]["indexedAt"])
    except (KeyError, TypeError, ValueError):
        return _created(item) if isinstance(item, dict) else None


def _thread_name(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()[:24]
