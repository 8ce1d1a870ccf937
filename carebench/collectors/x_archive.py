"""Read an X/Twitter account archive (the brand's own download) into posts.

Give the archive folder (the one holding `data/`), its `data/` folder, or one tweets file.
The tweets are in `data/tweets.js` and, for big accounts, `data/tweets-part1.js`, ...
(older archives: `tweet.js`, `tweet-part1.js`); each file is JavaScript around a JSON
array: `window.YTD.tweets.part0 = [ {"tweet": {...}}, ... ]`. The zip must be extracted
first.

How it maps, and why:

- The archive owner is the brand: every tweet is a brand post, its brand the owner's
  username. The owner is read from `data/account.js` beside the tweets file; without it,
  `--brand-handle` names the owner (and must name exactly one account).
- parent_id is `in_reply_to_status_id_str`. The customers' tweets the owner answered are
  not in an archive, so its replies land without their parents: speed needs a source of
  the customers' side too.
- created_at is like "Wed Oct 10 20:19:24 +0000 2018" (read as the TWCS reader does);
  texts have their HTML entities decoded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
    json_records,
    looks_like,
    optional_id,
    read_text,
    text_field,
    twitter_url,
)
from carebench.collectors.twcs import _parse_one_date
from carebench.errors import CareBenchError, NotThisFormat, UnreadableFile

FORMAT = "x-archive"
_EXPECT = "an X/Twitter archive tweets file (data/tweets.js: window.YTD.tweets.part0 = [...])"
_PREFIX = re.compile(r"\s*window\.YTD\.[A-Za-z_]+\.part[0-9]+\s*=\s*")
_TWEET_FILES = re.compile(r"tweets?(-part[0-9]+)?\.js")


@dataclass(frozen=True)
class _Owner:
    account_id: str | None
    username: str


def archive_files(path: Path) -> list[Path]:
    """The tweets files of an archive folder (or the file itself), in part order."""
    if path.suffix.lower() == ".zip" and path.is_file():
        raise UnreadableFile(
            f"{path}: is the archive's zip; extract it and give the extracted folder"
        )
    if not path.is_dir():
        return [path]
    for folder in (path / "data", path):
        found = [p for p in folder.glob("tweet*.js") if _TWEET_FILES.fullmatch(p.name)]
        if found:
            return sorted(found, key=lambda p: (len(p.name), p.name))
    raise UnreadableFile(
        f"{path}: holds no data/tweets.js; give the extracted archive folder (the one with "
        "data/ inside) or its tweets.js file"
    )


def check_x_archive_file(path: Path, *, brand_handles: Sequence[str] = ()) -> None:
    """Raise UnreadableFile, NotThisFormat or CareBenchError unless `path` can be imported."""
    _records(path)
    _owner(path, brand_handles)


def read_x_archive(
    path: Path,
    *,
    collected_at: datetime,
    brand_handles: Sequence[str] = (),
    chunk_rows: int = 50_000,
) -> Iterator[PostsChunk]:
    """Yield the posts of one archive tweets file."""
    loaded = _records(path)
    owner = _owner(path, brand_handles)
    return chunks_from_records(
        path, loaded, lambda item: [_post(item, owner)], FORMAT, collected_at, chunk_rows
    )


def _records(path: Path) -> tuple[list[Record], int]:
    text = read_text(path, _EXPECT)
    prefix = _PREFIX.match(text)
    if prefix is None or not text[prefix.end() :].startswith("["):
        raise NotThisFormat(
            f"{path}: is not {_EXPECT}: it does not start with 'window.YTD.tweets.part0 = ['."
            + looks_like(text, FORMAT)
        )
    if ".tweet" not in prefix.group():
        name = prefix.group().strip().split(".")[2]
        raise NotThisFormat(
            f"{path}: is the archive's {name!r} file, not its tweets; give data/tweets.js "
            "or the archive folder"
        )
    return list(json_records(path, text, _EXPECT, prefix.end())), len(text)


def _owner(path: Path, brand_handles: Sequence[str]) -> _Owner:
    """The archive's owner, from account.js beside the file or the one --brand-handle."""
    account = path.parent / "account.js"
    if account.exists():
        text = read_text(account, "the archive's account.js")
        prefix = _PREFIX.match(text)
        try:
            items = json.loads(text[prefix.end() :] if prefix else text)
            info = items[0]["account"]
            return _Owner(str(info["accountId"]), str(info["username"]))
        except (ValueError, LookupError, TypeError, RecursionError) as e:
            raise UnreadableFile(
                f"{account}: does not hold the account's username ({type(e).__name__}); "
                "delete it and pass --brand-handle HANDLE instead"
            ) from e
    handles = [h.strip().lstrip("@") for h in brand_handles if handle_key(h)]
    if len(handles) != 1:
        raise CareBenchError(
            f"{path}: there is no account.js beside it to say whose archive this is; pass the "
            "owner's handle with --brand-handle HANDLE (one), or give the whole archive folder."
        )
    return _Owner(None, handles[0])


def _post(item: Any, owner: _Owner) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRecord("is not a tweet object")
    tweet = item.get("tweet", item)
    if not isinstance(tweet, dict):
        raise BadRecord("'tweet' is not an object")
    post_id = id_field(tweet, "id_str" if "id_str" in tweet else "id")
    where = f"tweet {post_id}: "
    raw_date = text_field(tweet, "created_at", where)
    created_at = _parse_one_date(raw_date)
    if created_at is None:
        raise BadRecord(
            f"{where}created_at {raw_date[:40]!r} is not a date like "
            "'Wed Oct 10 20:19:24 +0000 2018'"
        )
    text = text_field(tweet, "full_text" if "full_text" in tweet else "text", where)
    return {
        "platform": "twitter",
        "post_id": post_id,
        "url": twitter_url(owner.username, post_id),
        "parent_id": optional_id(tweet, "in_reply_to_status_id_str", where),
        "author_id": owner.account_id or owner.username,
        "author_handle": owner.username,
        "author_role": "brand",
        "brand": owner.username,
        "created_at": created_at,
        "text": decode_entities(text),
        "lang": tweet.get("lang") if isinstance(tweet.get("lang"), str) else None,
    }
