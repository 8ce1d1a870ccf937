"""Read snscrape `--jsonl` output (Twitter, Mastodon, Reddit modules) into posts.

One JSON object per line, each with snscrape's `_type`:

- `snscrape.modules.twitter.Tweet`: id, date, rawContent (`content` before snscrape
  0.5), user{username, id}, inReplyToTweetId (parent), conversationId (root), lang, url.
- `snscrape.modules.mastodon.Toot`: id, url, date, text (`content` in some versions),
  user{account: "@name@instance"}. snscrape gives no reply parent for toots, so toots land
  without parent links; a `Boost` is read as the toot it boosts.
- `snscrape.modules.reddit.Comment`: id ("t1_..."), body, author, date, parentId, url;
  `reddit.Submission`: title and selftext as the text.

A line without `_type` is recognised by its fields. Roles: snscrape does not say which
accounts are the brand's, so `--brand-handle` (or a `--brand-config` file's accounts) is
required; a post is the brand's when its author matches one (case-insensitive, a leading
'@' and a Mastodon instance optional), its brand being the brand name the file gives the
account on that platform, else the handle as written in the data.
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
from carebench.collectors.x_api import require_brand_handles as _require

FORMAT = "snscrape"
_EXPECT = "snscrape --jsonl output (one JSON object with a _type per line)"
_TYPE_PREFIX = "snscrape.modules."


def require_brand_handles(handles: Sequence[str]) -> None:
    """Refuse an import that cannot tell brand posts from customer posts."""
    _require(handles, FORMAT)


def check_snscrape_file(path: Path) -> None:
    """Raise UnreadableFile or NotThisFormat unless `path` is snscrape JSON lines."""
    _records(path)


def read_snscrape(
    path: Path,
    *,
    collected_at: datetime,
    brand_handles: Sequence[str],
    brand_names: Mapping[str, Mapping[str, str]] | None = None,
    chunk_rows: int = 50_000,
) -> Iterator[PostsChunk]:
    """Yield the posts of a snscrape --jsonl file.

    `brand_names` (platform -> handle -> brand name, e.g. from a --brand-config file) names the
    brand of those accounts on that platform, which are brand accounts too; the
    `brand_handles` are brand accounts on every platform, each its own brand.
    """
    named = {
        platform: {handle_key(h): n for h, n in names.items()}
        for platform, names in (brand_names or {}).items()
    }
    require_brand_handles([*brand_handles, *(h for names in named.values() for h in names)])
    loaded = _records(path)
    plain: dict[str, str | None] = {handle_key(h): None for h in brand_handles}
    brands = _Brands({p: {**plain, **names} for p, names in named.items()}, plain)
    return chunks_from_records(
        path, loaded, lambda item: [_post(item, brands)], FORMAT, collected_at, chunk_rows
    )


def _records(path: Path) -> tuple[list[Record], int]:
    return load_json(
        path,
        fmt=FORMAT,
        expect=_EXPECT,
        recognise=lambda value: bool(_kind(value)),
        missing="no line is a snscrape tweet, toot or Reddit item",
    )


def _kind(item: Any) -> str:
    """'twitter', 'mastodon', 'reddit' or '' (not a snscrape item)."""
    if not isinstance(item, dict):
        return ""
    kind = item.get("_type")
    if isinstance(kind, str) and kind.startswith(_TYPE_PREFIX):
        return kind.removeprefix(_TYPE_PREFIX).split(".")[0]
    if "conversationId" in item or "rawContent" in item or "inReplyToTweetId" in item:
        return "twitter"
    if isinstance(item.get("user"), dict) and "account" in item["user"]:
        return "mastodon"
    if ("body" in item and "parentId" in item) or "selftext" in item:
        return "reddit"
    return ""


class _Brands:
    """Brand accounts per platform: handle key -> brand name (None: the handle itself)."""

    def __init__(self, named: dict[str, dict[str, str | None]], plain: dict[str, str | None]):
        self._named = named
        self._plain = plain

    def of(self, platform: str) -> Mapping[str, str | None]:
        return self._named.get(platform, self._plain)


def _post(item: Any, brands: _Brands) -> dict[str, Any]:
    kind = _kind(item)
    if kind == "twitter":
        return _tweet(item, brands)
    if kind == "mastodon":
        if "toot" in item:  # a Boost: the post is the boosted toot
            item = item["toot"]
        return _toot(item, brands)
    if kind == "reddit":
        return _reddit(item, brands)
    shown = item.get("_type") if isinstance(item, dict) else type(item).__name__
    raise BadRecord(f"is not a snscrape tweet, toot or Reddit item ({shown})")


def _role(handle: str | None, brands: Mapping[str, str | None]) -> tuple[str, str | None]:
    if handle is not None:
        key = handle_key(handle)
        for candidate in (key, key.split("@")[0]):
            if candidate in brands:
                return "brand", brands[candidate] or handle.lstrip("@")
    return "customer", None


def _tweet(item: dict[str, Any], brands: _Brands) -> dict[str, Any]:
    post_id = id_field(item, "id")
    where = f"tweet {post_id}: "
    user = item.get("user")
    if not isinstance(user, dict):
        raise BadRecord(f"{where}user is missing")
    handle = text_field(user, "username", f"{where}user.")
    role, brand = _role(handle, brands.of("twitter"))
    text = item.get("rawContent", item.get("content"))
    if not isinstance(text, str):
        raise BadRecord(f"{where}rawContent (or content) is missing")
    return {
        "platform": "twitter",
        "post_id": post_id,
        "url": item.get("url") or twitter_url(handle, post_id),
        "root_id": optional_id(item, "conversationId", where),
        "parent_id": optional_id(item, "inReplyToTweetId", where),
        "author_id": optional_id(user, "id", f"{where}user.") or handle,
        "author_handle": handle,
        "author_role": role,
        "brand": brand,
        "created_at": iso_time(item, "date", where),
        "text": decode_entities(text),
        "lang": item.get("lang") if isinstance(item.get("lang"), str) else None,
    }


def _toot(item: Any, brands: _Brands) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRecord("toot is not an object")
    post_id = text_field(item, "id").strip()
    where = f"toot {post_id}: "
    user = item.get("user")
    if not isinstance(user, dict):
        raise BadRecord(f"{where}user is missing")
    account = text_field(user, "account", f"{where}user.").strip()
    role, brand = _role(account, brands.of("mastodon"))
    text = item.get("text", item.get("content"))
    if not isinstance(text, str):
        raise BadRecord(f"{where}text (or content) is missing")
    return {
        "platform": "mastodon",
        "post_id": post_id,
        "url": item.get("url"),
        "author_id": account,
        "author_handle": account,
        "author_role": role,
        "brand": brand,
        "created_at": iso_time(item, "date", where),
        "text": text,
    }


def _reddit(item: dict[str, Any], brands: _Brands) -> dict[str, Any]:
    post_id = text_field(item, "id").strip()
    where = f"reddit item {post_id}: "
    author = item.get("author")
    if not isinstance(author, str) or not author.strip():
        raise BadRecord(f"{where}author is missing (deleted account?)")
    role, brand = _role(author, brands.of("reddit"))
    if "body" in item:
        text = text_field(item, "body", where)
        parent = item.get("parentId") if isinstance(item.get("parentId"), str) else None
    else:
        title = text_field(item, "title", where)
        body = item.get("selftext") if isinstance(item.get("selftext"), str) else ""
        text, parent = (f"{title}\n\n{body}" if body else title), None
    return {
        "platform": "reddit",
        "post_id": post_id,
        "url": item.get("url"),
        "parent_id": parent,
        "author_id": author,
        "author_handle": author,
        "author_role": role,
        "brand": brand,
        "created_at": iso_time(item, "date", where),
        "text": text,
    }
