"""Mastodon, live, through a server's public REST API (no login).

- `/api/v1/accounts/lookup?acct=` finds the brand account's id on the server.
- `/api/v1/accounts/:id/statuses` pages through its statuses, newest first
  (exclude_reblogs; the next page is the Link header's rel="next", i.e. max_id).
- `/api/v1/statuses/:id/context` gives the thread around each reply: `ancestors`
  (the customer's posts it answers, oldest first) and `descendants` (follow-ups).

Status ids are local to the server asked, so post_id, parent_id, root_id and author_id
are `<server host>:<id>`: the same server always gives the same key, two servers never
clash. Handles are stored in full (`user@domain`): a server writes its own accounts
without a domain (`help`), and those get the server's account domain, which is the
brand handle's domain when the lookup of `help@acme.example` returned a local account
(a server may live at social.acme.example and name its users @acme.example), else the
server's host. Brand posts are recognised by the account id the lookup returned, not by
the acct text. HTML content is turned into plain text. Statuses are type-checked: one of
the wrong shape is rejected (counted in the run's summary), never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

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
        skip=lambda status: _status_problem(status) is not None or bool(status.get("reblog")),
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
                url = f"{options.base}/api/v1/statuses/{quote(status_id, safe='')}/context"
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
            covered.update(str(s["id"]) for s in _context_statuses(body) if _has_id(s))
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
        if _lookup_id(body) is None:
            raise CollectFailed(f"{service} gave no account id for {handle}. Check the handle.")
        run.save_page(run.page_path("lookup", handle), page_envelope(url, lookup, body))
        state["account_id"] = _lookup_id(body)
        run.save()
    selector = _selector(options, kept=state["posts"])
    url = f"{options.base}/api/v1/accounts/{quote(state['account_id'], safe='')}/statuses"
    description = f"mastodon {handle}"
    what = f"the statuses of {handle}"
    guard = PageGuard(service, what, policy.max_pages, state["max_id"])
    on_progress(description, state["posts"], options.limit)
    while not state["done"]:
        guard.before_page(state["pages"])
        params: dict[str, Any] = {"limit": PAGE_SIZE, "exclude_reblogs": "true"}
        if state["max_id"]:
            params["max_id"] = state["max_id"]
        response = get_json(client, url, params, service=service, what=what, policy=policy)
        body = response.json()
        if not isinstance(body, list):
            raise CollectFailed(
                f"{service} answered the statuses of {handle} with no list. "
                "Check the --instance address."
            )
        next_max_id = checked_cursor(_next_max_id(response), service, what)
        _kept, stop = selector.take(body)
        done = bool(stop or not body or not next_max_id)
        if next_max_id and not done:
            guard.next_cursor(next_max_id, state["pages"] + 1)
        page_no = state["pages"] + 1
        run.save_page(
            run.page_path(f"statuses/{slug(handle)}", f"{page_no:05d}"),
            page_envelope(url, params, body),
        )
        state.update(pages=page_no, max_id=next_max_id, posts=selector.kept, done=done)
        run.save()
        on_progress(description, selector.kept, options.limit)


def _lookup_id(body: Any) -> str | None:
    """The account id an accounts/lookup answer gave (text, or a number some servers send)."""
    found = body.get("id") if isinstance(body, dict) else None
    if isinstance(found, bool) or not isinstance(found, str | int) or found == "":
        return None
    return str(found)


def _has_id(status: Any) -> bool:
    return isinstance(status, dict) and _lookup_id(status) is not None


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
        kept, _stop = selector.take(_statuses_of(page))
        for index, item in kept:
            yield path, index, item


def _statuses_of(page: dict[str, Any]) -> list[Any]:
    body = page.get("body")
    return body if isinstance(body, list) else []


def _context_statuses(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        return []
    found: list[Any] = []
    for key in ("ancestors", "descendants"):
        part = body.get(key)
        if isinstance(part, list):
            found.extend(part)
    return found


def read_run(
    run: Run,
    raw_dir: Path,
    handles: Sequence[str],
    options: MastodonOptions,
    brands: BrandAccounts,
) -> Iterator[LiveChunk]:
    """The run's raw pages as normalised posts, one chunk per page, each post once.

    Posts by the account ids the lookups returned are the brand's; statuses of the
    wrong shape are rejected, counted in the chunk.
    """
    contexts = list(iter_pages(run.pages("context"))) if options.threads else []
    roots = _roots(contexts)
    ids, domain = _lookups(run, handles, options, brands)
    brands = brands.with_ids(ids)
    where = _Where(options.host, domain)
    seen: set[str] = set()
    for handle in handles:
        selector = _selector(options)
        for path, page in iter_pages(run.pages(f"statuses/{slug(handle)}")):
            statuses = _statuses_of(page)
            kept, _stop = selector.take(statuses)
            bad = [
                RejectedItem(index, f"Mastodon status of the wrong shape ({problem})", short_raw(s))
                for index, s in enumerate(statuses)
                if (problem := _status_problem(s)) is not None
            ]
            yield _chunk(kept, path, raw_dir, page["fetched_at"], where, brands, roots, seen, bad)
    for path, page in contexts:
        body = page.get("body")
        statuses = list(enumerate(_context_statuses(body)))
        bad = [
            RejectedItem(0, f"Mastodon context of the wrong shape ({problem})", short_raw(body))
            for problem in _context_problems(body)
        ]
        yield _chunk(statuses, path, raw_dir, page["fetched_at"], where, brands, roots, seen, bad)


def _context_problems(body: Any) -> list[str]:
    """What is of the wrong JSON type in a context answer (a 404's {} is fine)."""
    if not isinstance(body, dict):
        return [f"context is {json_type(body)}, not an object"]
    return [
        f"context.{key} is {json_type(body[key])}, not a list"
        for key in ("ancestors", "descendants")
        if body.get(key) is not None and not isinstance(body[key], list)
    ]


@dataclass(frozen=True)
class _Where:
    """The server read (its host keys the ids) and the domain of its own accounts."""

    host: str
    domain: str


def _lookups(
    run: Run, handles: Sequence[str], options: MastodonOptions, brands: BrandAccounts
) -> tuple[dict[str, str], str]:
    """Brand account ids (as `<host>:<id>`) from the run's lookups, and the account domain.

    A lookup of `user@domain` that came back as a local account (acct without a domain)
    shows that the server names its own accounts `@domain`.
    """
    ids: dict[str, str] = {}
    domain = options.host
    for handle in handles:
        path = run.page_path("lookup", handle)
        if not path.exists():
            continue
        body = next(iter_pages([path]))[1].get("body")
        account_id = _lookup_id(body)
        brand = brands.brand_of(handle)
        if account_id is not None and brand:
            ids[f"{options.host}:{account_id}"] = brand
        acct = body.get("acct") if isinstance(body, dict) else None
        _user, _, asked_domain = handle.lstrip("@").partition("@")
        if isinstance(acct, str) and "@" not in acct and asked_domain:
            domain = asked_domain.lower()
    return ids, domain


def _roots(contexts: list[tuple[Path, dict[str, Any]]]) -> dict[str, str]:
    """Status id -> thread root id, where a context showed the root (no parent)."""
    roots: dict[str, str] = {}
    for _path, page in contexts:
        body = page.get("body")
        ancestors = body.get("ancestors") if isinstance(body, dict) else None
        if not isinstance(ancestors, list) or not ancestors or _status_problem(ancestors[0]):
            continue
        if ancestors[0].get("in_reply_to_id") is not None:
            continue  # the thread's top is not visible from this server
        root = str(ancestors[0]["id"])
        for status in _context_statuses(body):
            if _has_id(status):
                roots[str(status["id"])] = root
        roots[str(page.get("focus"))] = root
    return roots


def _chunk(
    statuses: list[tuple[int, Any]],
    path: Path,
    raw_dir: Path,
    fetched_at: str,
    where: _Where,
    brands: BrandAccounts,
    roots: dict[str, str],
    seen: set[str],
    rejected_items: Sequence[RejectedItem] = (),
) -> LiveChunk:
    records: list[dict[str, Any]] = []
    rejected = list(rejected_items)
    read = len(rejected)
    for index, status in statuses:
        read += 1
        try:
            record = _post(status, where, brands, roots)
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


def _status_problem(status: Any) -> str | None:
    """Why a status cannot be read (a field missing or of the wrong JSON type), else None."""
    try:
        _fields(status)
    except ValueError as exc:
        return str(exc)
    return None


def _fields(status: Any) -> tuple[str, str, str, str, str | None, str]:
    """(id, account id, acct, content, in_reply_to_id, created_at), type-checked."""
    status_id = str(field_of(status, "id", (str, int), "status"))
    account = field_of(status, "account", dict, "status")
    account_id = str(field_of(account, "id", (str, int), "status.account"))
    acct = field_of(account, "acct", str, "status.account")
    content = field_of(status, "content", str, "status")
    parent = optional_field(status, "in_reply_to_id", (str, int), "status")
    created = field_of(status, "created_at", str, "status")
    optional_field(status, "reblog", dict, "status")
    for key in ("url", "uri", "language"):
        optional_field(status, key, str, "status")
    return status_id, account_id, acct, content, None if parent is None else str(parent), created


def _post(
    status: Any, where: _Where, brands: BrandAccounts, roots: dict[str, str]
) -> dict[str, Any]:
    """One status as a normalised post record; ValueError naming a field of the wrong type."""
    status_id, account_id, acct, content, parent, created = _fields(status)
    host = where.host
    handle = full_handle(acct, where.domain)
    user, _, account_domain = handle.partition("@")
    local = account_domain == where.domain
    brand = brands.brand_of_account(f"{host}:{account_id}", handle, user if local else None)
    root = status_id if parent is None else roots.get(status_id)
    return {
        "platform": PLATFORM,
        "post_id": f"{host}:{status_id}",
        "url": status.get("url") or status.get("uri"),
        "root_id": f"{host}:{root}" if root else None,
        "parent_id": f"{host}:{parent}" if parent is not None else None,
        "author_id": f"{host}:{account_id}",
        "author_handle": handle,
        "author_role": "brand" if brand else "customer",
        "brand": brand,
        "created_at": parse_time(created),
        "text": html_to_text(content),
        "lang": status.get("language"),
        "collector": PLATFORM,
    }


def _created(status: dict[str, Any]) -> datetime | None:
    try:
        return parse_time(status["created_at"])
    except (KeyError, TypeError, ValueError):
        return None
