"""Bluesky, live, through the public AppView (no login): a brand's replies and their threads.

- `app.bsky.actor.getProfile` gives each brand handle's DID: brand posts are recognised
  by DID, which stays when a handle changes or fails verification (`handle.invalid`).
- `app.bsky.feed.getAuthorFeed` (filter=posts_with_replies) pages through the brand
  account's posts and replies, newest first. Each reply comes with the post it answers
  and its thread root inline (`reply.parent`, `reply.root`): the customer's posts.
- `app.bsky.feed.getPostThread` on each such root fetches the rest of the conversation
  (follow-ups, other replies), as nested `thread.replies`.

post_id is the post's at:// URI (stable, global); the url is the bsky.app page.
Reposts by the brand are skipped: they are someone else's post, not a reply. Feed items
and posts are type-checked: one of the wrong shape is rejected (counted in the run's
summary, kept in rejected_rows), never a crash, and never followed for its thread.
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
    PageGuard,
    ProgressFn,
    RejectedItem,
    Selector,
    checked_cursor,
    field_of,
    json_type,
    make_chunk,
    no_progress,
    optional_field,
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
        skip=_skipped,
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
        _fetch_profile(run, client, base, handle, policy)
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


def _fetch_profile(
    run: Run, client: httpx.Client, base: str, handle: str, policy: RetryPolicy
) -> None:
    """Keep the brand account's profile: its DID marks its posts as the brand's."""
    path = run.page_path("profile", handle)
    if path.exists():
        return
    url = f"{base}/xrpc/app.bsky.actor.getProfile"
    params = {"actor": handle}
    response = get_json(
        client,
        url,
        params,
        service=f"{SERVICE} ({base})",
        what=f"the profile of {handle}",
        policy=policy,
    )
    if _profile_did(response.json()) is None:
        raise CollectFailed(
            f"{SERVICE} ({base}) gave no DID for {handle}. Check the handle and --appview."
        )
    run.save_page(path, page_envelope(url, params, response.json()))


def _profile_did(body: Any) -> str | None:
    did = body.get("did") if isinstance(body, dict) else None
    return did if isinstance(did, str) and did.startswith("did:") else None


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
    service = f"{SERVICE} ({base})"
    what = f"getAuthorFeed for {handle}"
    guard = PageGuard(service, what, policy.max_pages, state["cursor"])
    on_progress(description, state["posts"], options.limit)
    while not state["done"]:
        guard.before_page(state["pages"])
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
            service=service,
            what=what,
            policy=policy,
        )
        body = response.json()
        feed = body.get("feed") if isinstance(body, dict) else None
        if not isinstance(feed, list):
            raise CollectFailed(
                f"{SERVICE} ({base}) answered getAuthorFeed for {handle} without a feed "
                "list. Check the --appview address."
            )
        cursor = checked_cursor(body.get("cursor"), service, what)
        _kept, stop = selector.take(feed)
        done = bool(stop or not cursor or not feed)
        if cursor and not done:
            guard.next_cursor(cursor, state["pages"] + 1)
        page_no = state["pages"] + 1
        run.save_page(
            run.page_path(f"feed/{slug(handle)}", f"{page_no:05d}"),
            page_envelope(url, params, body),
        )
        state.update(pages=page_no, cursor=cursor, posts=selector.kept, done=done)
        run.save()
        on_progress(description, selector.kept, options.limit)


def _thread_roots(run: Run, handles: Sequence[str], options: BlueskyOptions) -> list[str]:
    """Roots of the threads the kept brand replies belong to, first seen first."""
    roots: dict[str, None] = {}
    for handle in handles:
        for _path, _index, item in _kept_items(run, handle, options):
            # Kept items were type-checked (_feed_item_problem): these fields are objects.
            reply = item["post"]["record"].get("reply") or {}
            root = (reply.get("root") or {}).get("uri")
            if isinstance(root, str) and root.startswith("at://"):
                roots.setdefault(root, None)
    return list(roots)


def _kept_items(
    run: Run, handle: str, options: BlueskyOptions
) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    selector = _selector(options)
    for path, page in iter_pages(run.pages(f"feed/{slug(handle)}")):
        kept, _stop = selector.take(_feed_of(page))
        for index, item in kept:
            yield path, index, item


def _feed_of(page: dict[str, Any]) -> list[Any]:
    body = page.get("body")
    feed = body.get("feed") if isinstance(body, dict) else None
    return feed if isinstance(feed, list) else []


def read_run(
    run: Run,
    raw_dir: Path,
    handles: Sequence[str],
    options: BlueskyOptions,
    brands: BrandAccounts,
) -> Iterator[LiveChunk]:
    """The run's raw pages as normalised posts, one chunk per page, each post once.

    Posts by the DIDs the brand handles' profiles gave are the brand's, whatever handle
    they carry; feed items of the wrong shape are rejected, counted in the chunk.
    """
    brands = brands.with_ids(_brand_dids(run, handles, brands))
    seen: set[str] = set()
    for handle in handles:
        pages = run.pages(f"feed/{slug(handle)}")
        selector = _selector(options)
        for path, page in iter_pages(pages):
            feed = _feed_of(page)
            kept, _stop = selector.take(feed)
            bad = [
                RejectedItem(
                    index, f"Bluesky feed item of the wrong shape ({problem})", short_raw(item)
                )
                for index, item in enumerate(feed)
                if (problem := _feed_item_problem(item)) is not None
            ]
            views: list[tuple[int, Any]] = []
            for index, item in kept:
                reply = item.get("reply") or {}
                views.append((index, item["post"]))
                views.extend((index, reply.get(k)) for k in ("parent", "root"))
            yield _chunk(views, path, raw_dir, page["fetched_at"], brands, seen, bad)
    if options.threads:
        for path, page in iter_pages(run.pages("thread")):
            body = page.get("body")
            thread = body.get("thread") if isinstance(body, dict) else None
            views = list(enumerate(_walk_thread(thread)))
            bad = [
                RejectedItem(0, f"Bluesky thread of the wrong shape ({problem})", short_raw(body))
                for problem in _thread_problems(body)
            ]
            yield _chunk(views, path, raw_dir, page["fetched_at"], brands, seen, bad)


def _thread_problems(body: Any) -> list[str]:
    """What is of the wrong JSON type at the top of a getPostThread answer."""
    if not isinstance(body, dict):
        return [f"answer is {json_type(body)}, not an object"]
    if body.get("notFound") is True:
        return []  # deleted since: recorded as such when fetched
    thread = body.get("thread")
    return [] if isinstance(thread, dict) else [f"thread is {json_type(thread)}, not an object"]


def _brand_dids(run: Run, handles: Sequence[str], brands: BrandAccounts) -> dict[str, str]:
    """DID -> brand for the collected handles, from the profiles kept in the run."""
    dids: dict[str, str] = {}
    for handle in handles:
        path = run.page_path("profile", handle)
        brand = brands.brand_of(handle)
        if brand and path.exists():
            did = _profile_did(next(iter_pages([path]))[1].get("body"))
            if did:
                dids[did] = brand
    return dids


def _walk_thread(node: Any) -> Iterator[Any]:
    """Every post view of a thread: the post, its parents, its replies (depth first)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict) or "post" not in current:
            continue  # notFoundPost, blockedPost: no post to read
        yield current["post"]
        parent = current.get("parent")
        if isinstance(parent, dict):
            stack.append(parent)
        replies = current.get("replies")
        if isinstance(replies, list):
            stack.extend(reversed(replies))


def _chunk(
    views: list[tuple[int, Any]],
    path: Path,
    raw_dir: Path,
    fetched_at: str,
    brands: BrandAccounts,
    seen: set[str],
    rejected_items: Sequence[RejectedItem] = (),
) -> LiveChunk:
    records: list[dict[str, Any]] = []
    rejected = list(rejected_items)
    read = len(rejected)
    for index, view in views:
        if view is None or _gone(view):
            continue  # absent, deleted or blocked: not a post
        read += 1
        uri = view.get("uri") if isinstance(view, dict) else None
        if isinstance(uri, str) and uri in seen:
            continue
        try:
            record = _post(view, brands)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"unreadable Bluesky post ({type(exc).__name__}: {exc})"
            rejected.append(RejectedItem(index, reason, short_raw(view)))
            continue
        seen.add(record["post_id"])
        record["collected_at"] = fetched_at
        record["raw_ref"] = raw_ref(path, raw_dir, index)
        records.append(record)
    return make_chunk(records, rejected, read)


def _gone(view: Any) -> bool:
    """A notFoundPost or blockedPost: a post that cannot be shown, not a bad one."""
    return isinstance(view, dict) and bool(view.get("notFound") or view.get("blocked"))


def _post(view: Any, brands: BrandAccounts) -> dict[str, Any]:
    """One post view as a normalised post record; ValueError naming a field of the wrong type."""
    uri = field_of(view, "uri", str, "post")
    if not uri.startswith("at://"):
        raise ValueError(f"uri {uri[:100]!r} is not an at:// URI")
    author = field_of(view, "author", dict, "post")
    did = field_of(author, "did", str, "post.author")
    handle = optional_field(author, "handle", str, "post.author")
    record = field_of(view, "record", dict, "post")
    reply = optional_field(record, "reply", dict, "post.record") or {}
    parent_ref = optional_field(reply, "parent", dict, "post.record.reply") or {}
    root_ref = optional_field(reply, "root", dict, "post.record.reply") or {}
    parent = optional_field(parent_ref, "uri", str, "post.record.reply.parent")
    root = optional_field(root_ref, "uri", str, "post.record.reply.root") or (
        None if parent else uri
    )
    brand = brands.brand_of_account(did, handle, did)
    profile = handle if handle and handle != "handle.invalid" else did
    langs = optional_field(record, "langs", list, "post.record") or [None]
    text = field_of(record, "text", str, "post.record")
    created = parse_time(field_of(record, "createdAt", str, "post.record"))
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
        "created_at": created,
        "text": text,
        "lang": langs[0] if isinstance(langs[0], str) else None,
        "collector": PLATFORM,
    }


def _feed_item_problem(item: Any) -> str | None:
    """Why a feed item cannot be read (a field of the wrong JSON type), else None.

    Checked before anything reads the item, fetching or reading: an item that passes has
    the objects the collector walks (post, record, reply refs) where it expects them.
    """
    try:
        post = field_of(item, "post", dict, "feed item")
        field_of(post, "uri", str, "post")
        field_of(field_of(post, "author", dict, "post"), "did", str, "post.author")
        record = field_of(post, "record", dict, "post")
        reply = optional_field(record, "reply", dict, "post.record")
        if reply is not None:
            for key in ("parent", "root"):
                ref = optional_field(reply, key, dict, "post.record.reply")
                if ref is not None:
                    optional_field(ref, "uri", str, f"post.record.reply.{key}")
        optional_field(item, "reply", dict, "feed item")
        optional_field(item, "reason", dict, "feed item")
    except ValueError as exc:
        return str(exc)
    return None


def _skipped(item: dict[str, Any]) -> bool:
    """Items a run never keeps: reposts, and items of the wrong shape (rejected)."""
    return _feed_item_problem(item) is not None or _is_repost(item)


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
