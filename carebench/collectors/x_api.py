"""Read X API v2 JSON pages (search, conversation, timelines) into posts.

A page is an object with `data` (tweets), `includes` (`users`, `tweets`) and `meta`. A file
may hold one page, JSON lines of pages, or a JSON array of pages (as saved while paging).

How it maps, and why:

- One record is one page; a bad tweet inside it is rejected alone, its reason naming
  `data[i]` and the tweet id, its line the line the page starts on.
- parent_id is the `referenced_tweets` entry of type "replied_to"; root_id is
  `conversation_id`; the handle comes from `includes.users` (matched on author_id).
- Roles: the API does not say which accounts are the brand's, so `--brand-handle` (or a
  `--brand-config` file's twitter accounts) is required; a tweet is the brand's when its
  author's username (or id) is one of them, and its brand is the brand name the file
  gives that account, else the username. Every other author is a customer.
- `includes.tweets` (expanded parents) are imported too when they carry the fields a post
  needs; without them (no tweet.fields asked for) they are only references and skipped.
- Texts: the API escapes & < > as HTML entities; they are decoded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from carebench.collectors.common import (
    BadRecord,
    PostsChunk,
    Record,
    chunks_from_records,
    decode_entities,
    handle_key,
    id_field,
    iso_time,
    load_json,
    optional_id,
    text_field,
    twitter_url,
)
from carebench.errors import CareBenchError

FORMAT = "x-api"
_EXPECT = "an X API v2 JSON page (an object with data, includes and meta)"


def require_brand_handles(handles: Sequence[str], fmt: str = FORMAT) -> None:
    """Refuse an import that cannot tell brand posts from customer posts."""
    if not [h for h in handles if handle_key(h)]:
        raise CareBenchError(
            f"Format {fmt} needs --brand-handle HANDLE (repeatable), or --brand-config FILE "
            "declaring the brand's accounts: the files do not say which accounts are the "
            "brand's, e.g. --brand-handle AcmeHelp."
        )


def check_x_api_file(path: Path) -> None:
    """Raise UnreadableFile or NotThisFormat unless `path` holds X API v2 pages."""
    _records(path)


def read_x_api(
    path: Path,
    *,
    collected_at: datetime,
    brand_handles: Sequence[str],
    brand_names: Mapping[str, str] | None = None,
    chunk_rows: int = 50_000,
) -> Iterator[PostsChunk]:
    """Yield the posts of a file of X API v2 pages.

    `brand_names` (handle or user id -> brand name, e.g. from a --brand-config file) names the
    brand of those accounts, which are brand accounts too; other brand handles are their
    own brand.
    """
    names = {handle_key(h): n for h, n in (brand_names or {}).items()}
    require_brand_handles([*brand_handles, *names])
    loaded = _records(path)
    page_posts = _PagePosts({**{handle_key(h): None for h in brand_handles}, **names})
    return chunks_from_records(path, loaded, page_posts, FORMAT, collected_at, chunk_rows)


def _records(path: Path) -> tuple[list[Record], int]:
    return load_json(
        path,
        fmt=FORMAT,
        expect=_EXPECT,
        recognise=_is_page,
        missing="no page with a 'data' or 'meta' key found",
    )


def _is_page(value: Any) -> bool:
    return isinstance(value, dict) and ("data" in value or "meta" in value)


class _PagePosts:
    """Turns pages into posts, remembering every user seen so far in the file."""

    def __init__(self, brands: Mapping[str, str | None]) -> None:
        self._brands = brands
        self._users: dict[str, str] = {}

    def __call__(self, page: Any) -> list[dict[str, Any]]:
        if not _is_page(page):
            if isinstance(page, dict) and "errors" in page:
                raise BadRecord(f"is an API error response, not a page: {_errors(page)}")
            raise BadRecord("is not an X API v2 page (no 'data' or 'meta' key)")
        includes = page.get("includes") or {}
        for user in includes.get("users") or []:
            if isinstance(user, dict) and user.get("id") is not None and user.get("username"):
                self._users[str(user["id"])] = str(user["username"])
        data = page.get("data") or []
        if isinstance(data, dict):  # a single-tweet lookup returns one object
            data = [data]
        if not isinstance(data, list):
            raise BadRecord(f"'data' is a {type(data).__name__}, not a list of tweets")
        posts: list[dict[str, Any]] = []
        problems: list[str] = []
        for i, tweet in enumerate(data):
            try:
                posts.append(self._post(tweet, f"data[{i}]"))
            except BadRecord as e:
                problems.append(str(e))
        for tweet in includes.get("tweets") or []:
            if isinstance(tweet, dict) and {"text", "author_id", "created_at"} <= set(tweet):
                try:
                    posts.append(self._post(tweet, "includes.tweets"))
                except BadRecord as e:
                    problems.append(str(e))
        if problems and not posts:
            raise BadRecord("; ".join(problems))
        if problems:
            # Good tweets of the page are kept; the bad ones are reported with the page.
            posts.append({"_rejected": "; ".join(problems)})
        return posts

    def _post(self, tweet: Any, where: str) -> dict[str, Any]:
        if not isinstance(tweet, dict):
            raise BadRecord(f"{where} is not a tweet object")
        post_id = id_field(tweet, "id", f"{where} ")
        where = f"{where} (tweet {post_id}) "
        author_id = id_field(tweet, "author_id", where)
        handle = self._users.get(author_id)
        brand: str | None = None
        for key in (handle_key(handle) if handle else None, author_id):
            if key is not None and key in self._brands:
                brand = self._brands[key] or handle or author_id
                break
        parent = None
        for ref in tweet.get("referenced_tweets") or []:
            if isinstance(ref, dict) and ref.get("type") == "replied_to":
                parent = optional_id(ref, "id", f"{where}referenced_tweets ")
        return {
            "platform": "twitter",
            "post_id": post_id,
            "url": twitter_url(handle, post_id),
            "root_id": optional_id(tweet, "conversation_id", where),
            "parent_id": parent,
            "author_id": author_id,
            "author_handle": handle,
            "author_role": "customer" if brand is None else "brand",
            "brand": brand,
            "created_at": iso_time(tweet, "created_at", where),
            "text": decode_entities(text_field(tweet, "text", where)),
            "lang": tweet.get("lang") if isinstance(tweet.get("lang"), str) else None,
        }


def _errors(page: dict[str, Any]) -> str:
    errors = page.get("errors")
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("detail") or e.get("message") or e) if isinstance(e, dict) else str(e)
            for e in errors[:3]
        )
    return str(errors)[:200]
