"""Mastodon, live, through a server's public REST API (no login).

- `/api/v1/accounts/lookup?acct=` finds the brand account's id on the server.
- `/api/v1/accounts/:id/statuses` pages through its statuses, newest first
  (exclude_reblogs; the next page is the Link header's rel="next", i.e. max_id).
- `/api/v1/statuses/:id/context` gives the thread around each reply: `ancestors`
  (the customer's posts it answers, oldest first) and `descendants` (follow-ups).

Status ids are local to the server asked, so post_id, parent_id, root_id and author_id
are `<server host>:<id>`: the same server always gives the same key, two servers never
clash. Handles are full (`user@host`). HTML content is turned into plain text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

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
from carebench.collectors.live.html_text import html_to_text
from carebench.collectors.live.http import DEFAULT_POLICY, CollectFailed, RetryPolicy, get_json

PLATFORM = "mastodon"
SERVICE = "Mastodon server"
PAGE_SIZE = 40  # the API's maximum for account statuses


@dataclass(frozen=True)
class MastodonOptions:
    """What to collect: the server, how far back, how many posts per account."""

    instance: str
    since: datetime | None = None
    limit: int | None = None  # statuses per brand account, threads not counted
    threads: bool = True

    @property
    def base(self) -> str:
        base = self.instance.rstrip("/")
        return base if "://" in base else f"https://{base}"

    @property
    def host(self) -> str:
        return (urlparse(self.base).hostname or self.base).lower()


def _selector(options: MastodonOptions, kept: int = 0) -> Selector:
    return Selector(
        options.since,
        options.limit,
        skip=lambda status: bool(status.get("reblog")),
        created=_created,
        sort_time=_created,
        kept=kept,
    )


def fetch(
    run: Run,
    client: httpx.Client,
    handles: Sequence[str],
    options: MastodonOptions,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    on_progress: ProgressFn = no_progress,
) -> None:
    """Fetch every account's statuses, then the threads of its replies, into raw pages.

    Resumes from the run's checkpoint: pages and threads already kept are not fetched again.
    """
    for handle in handles:
        _fetch_statuses(run, client, handle, options, policy, on_progress)
    if not options.threads:
        return
    covered: set[str] = set()
    done = 0
    for handle in handles:
        for _path, _index, status in _kept_items(run, handle, options):
            status_id = str(status.get("id"))
            if not status.get("in_reply_to_id") or status_id in covered:
                continue
            path = run.page_path("context", status_id)
            if not path.exists():
                url = f"{options.base}/api/v1/statuses/{status_id}/context"
                response = get_json(
                    client,
                    url,
                    None,
                    service=f"{SERVICE} {options.base}",
                    what=f"the thread (context) of status {status_id}",
                    policy=policy,
                    ok_statuses=(404,),
                )
                body = response.json() if response.status_code == 200 else {}
                envelope = page_envelope(url, None, body)
                envelope["focus"] = status_id
                run.save_page(path, envelope)
            body = json.loads(path.read_text(encoding="utf-8"))["body"]
            covered.add(status_id)
            covered.update(str(s.get("id")) for s in _context_statuses(body))
            done += 1
            on_progress("threads", done, None)


def _fetch_statuses(
    run: Run,
    client: httpx.Client,
    handle: str,
    options: MastodonOptions,
    policy: RetryPolicy,
    on_progress: ProgressFn,
) -> None:
    accounts = run.state.setdefault("accounts", {})
    state = accounts.setdefault(
        handle, {"account_id": None, "max_id": None, "pages": 0, "posts": 0, "done": False}
    )
    service = f"{SERVICE} {options.base}"
    if state["account_id"] is None:
        url = f"{options.base}/api/v1/accounts/lookup"
        lookup = {"acct": handle.lstrip("@")}
        response = get_json(
            client, url, lookup, service=service, what=f"the account {handle}", policy=policy
        )
        body = response.json()
        if not isinstance(body, dict) or not body.get("id"):
            raise CollectFailed(f"{service} gave no account id for {handle}. Check the handle.")
        run.save_page(run.page_path("lookup", handle), page_envelope(url, lookup, body))
        state["account_id"] = str(body["id"])
        run.save()
    selector = _selector(options, kept=state["posts"])
    url = f"{options.base}/api/v1/accounts/{state['account_id']}/statuses"
    description = f"mastodon {handle}"
    on_progress(description, state["posts"], options.limit)
    while not state["done"]:
        params: dict[str, Any] = {"limit": PAGE_SIZE, "exclude_reblogs": "true"}
        if state["max_id"]:
            params["max_id"] = state["max_id"]
        response = get_json(
            client, url, params, service=service, what=f"the statuses of {handle}", policy=policy
        )
        body = response.json()
        if not isinstance(body, list):
            raise CollectFailed(
                f"{service} answered the statuses of {handle} with no list. "
                "Check the --instance address."
            )
        page_no = state["pages"] + 1
        run.save_page(
            run.page_path(f"statuses/{slug(handle)}", f"{page_no:05d}"),
            page_envelope(url, params, body),
        )
        _kept, stop = selector.take(body)
        next_max_id = _next_max_id(response)
        state.update(
            pages=page_no,
            max_id=next_max_id,
            posts=selector.kept,
            done=bool(stop or not body or not next_max_id),
        )
        run.save()
        on_progress(description, selector.kept, options.limit)


def _next_max_id(response: httpx.Response) -> str | None:
    """The max_id of the Link header's next page (None on the last page)."""
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    values = parse_qs(urlparse(link).query).get("max_id")
    return values[0] if values else None


def _kept_items(
    run: Run, handle: str, options: MastodonOptions
) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    selector = _selector(options)
    for path, page in iter_pages(run.pages(f"statuses/{slug(handle)}")):
        kept, _stop = selector.take(page["body"] or [])
        for index, item in kept:
            yield path, index, item


def _context_statuses(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        return []
    return [*(body.get("ancestors") or []), *(body.get("descendants") or [])]


def read_run(
    run: Run,
    raw_dir: Path,
    handles: Sequence[str],
    options: MastodonOptions,
    brands: BrandAccounts,
) -> Iterator[LiveChunk]:
    """The run's raw pages as normalised posts, one chunk per page, each post once."""
    contexts = list(iter_pages(run.pages("context"))) if options.threads else []
    roots = _roots(contexts)
    seen: set[str] = set()
    for handle in handles:
        selector = _selector(options)
        for path, page in iter_pages(run.pages(f"statuses/{slug(handle)}")):
            kept, _stop = selector.take(page["body"] or [])
            yield _chunk(kept, path, raw_dir, page["fetched_at"], options, brands, roots, seen)
    for path, page in contexts:
        statuses = list(enumerate(_context_statuses(page["body"])))
        yield _chunk(statuses, path, raw_dir, page["fetched_at"], options, brands, roots, seen)


def _roots(contexts: list[tuple[Path, dict[str, Any]]]) -> dict[str, str]:
    """Status id -> thread root id, where a context showed the root (no parent)."""
    roots: dict[str, str] = {}
    for _path, page in contexts:
        body = page["body"]
        ancestors = (body.get("ancestors") or []) if isinstance(body, dict) else []
        if not ancestors or not isinstance(ancestors[0], dict):
            continue
        if ancestors[0].get("in_reply_to_id") is not None:
            continue  # the thread's top is not visible from this server
        root = str(ancestors[0].get("id"))
        for status in _context_statuses(body):
            if isinstance(status, dict):
                roots[str(status.get("id"))] = root
        roots[str(page.get("focus"))] = root
    return roots


def _chunk(
    statuses: list[tuple[int, Any]],
    path: Path,
    raw_dir: Path,
    fetched_at: str,
    options: MastodonOptions,
    brands: BrandAccounts,
    roots: dict[str, str],
    seen: set[str],
) -> LiveChunk:
    records: list[dict[str, Any]] = []
    rejected: list[RejectedItem] = []
    read = 0
    for index, status in statuses:
        read += 1
        try:
            record = _post(status, options.host, brands, roots)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"unreadable Mastodon status ({type(exc).__name__}: {exc})"
            rejected.append(RejectedItem(index, reason, short_raw(status)))
            continue
        if record["post_id"] in seen:
            continue
        seen.add(record["post_id"])
        record["collected_at"] = fetched_at
        record["raw_ref"] = raw_ref(path, raw_dir, index)
        records.append(record)
    return make_chunk(records, rejected, read)


def full_handle(acct: str, host: str) -> str:
    """`user@host` for an account's acct (local accounts have no host in acct)."""
    acct = acct.lstrip("@")
    return acct if "@" in acct else f"{acct}@{host}"


def _post(
    status: dict[str, Any], host: str, brands: BrandAccounts, roots: dict[str, str]
) -> dict[str, Any]:
    """One status as a normalised post record."""
    status_id = str(status["id"])
    account = status["account"]
    handle = full_handle(str(account["acct"]), host)
    user, _, account_host = handle.partition("@")
    brand = brands.brand_of(handle, user if account_host == host else None)
    parent = status.get("in_reply_to_id")
    root = status_id if parent is None else roots.get(status_id)
    content = status.get("content")
    if not isinstance(content, str):
        raise ValueError("no content")
    return {
        "platform": PLATFORM,
        "post_id": f"{host}:{status_id}",
        "url": status.get("url") or status.get("uri"),
        "root_id": f"{host}:{root}" if root else None,
        "parent_id": f"{host}:{parent}" if parent is not None else None,
        "author_id": f"{host}:{account['id']}",
        "author_handle": handle,
        "author_role": "brand" if brand else "customer",
        "brand": brand,
        "created_at": parse_time(status["created_at"]),
        "text": html_to_text(content),
        "lang": status.get("language"),
        "collector": PLATFORM,
    }


def _created(status: dict[str, Any]) -> datetime | None:
    try:
        return parse_time(status["created_at"])
    except (KeyError, TypeError, ValueError):
        return None
