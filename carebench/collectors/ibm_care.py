"""Read IBM's customer-care dialog JSON (twitter-customer-care-document-prediction) into posts.

The file is a JSON array of conversations::

    {"dialogHeader": {"company": "TeamYouTube", "conversationDateTime": ..., "sessionID": ...},
     "dialogContent": [{"client": "CinVakas", "datetime": "2020-04-01T17:31:32.000Z",
                        "message": "@TeamYouTube ...", "tweet_ID": "1245403438755852288"},
                       {"agent": "TeamYouTube", ...}, ...],
     "agentURL": {"tweet_ID": "1245425308704149506", "url_utterance": "@CinVakas ...",
                  "turn": "2", "url": ...}}

How it maps, and why:

- Each turn of dialogContent is one post, and agentURL is one more: the brand's last turn,
  which posts a help link. `agentURL.turn` is its 1-based position (always the last).
- Roles: a turn keyed "agent" is the brand's (in the dev split its handle is always the
  header's company); turns keyed "client", "client1", ... are customers (a second customer
  joining in is "client1"). The brand of a brand post is `dialogHeader.company`.
- Replies: the dataset holds each dialog as a linear chain, so each turn replies to the turn
  before it (parent_id), and root_id is the first turn. Two dialogs may share their first
  turns and then branch (two customers answering the same brand reply): they become one
  thread with two branches, as on Twitter.
- Times: turns carry an ISO time; agentURL does not. Its time is derived from its tweet id,
  a Twitter snowflake (ms since epoch = (id >> 22) + 1288834974657), and the post is marked
  (raw_ref ends in "#created_at-from-id") so the data-quality report can say so.
- Author ids are the handles: the dataset gives no numeric user ids.
- A conversation with any bad turn is rejected whole, with the reason naming the turn: half
  a chain would misplace the replies.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from carebench.collectors.common import (
    BadRecord,
    PostsChunk,
    Record,
    chunks_from_records,
    decode_entities,
    id_field,
    iso_time,
    load_json,
    snowflake_time,
    text_field,
    twitter_url,
)

FORMAT = "ibm-care"
_EXPECT = "an IBM customer-care dialog JSON file (a list of dialogHeader/dialogContent objects)"


def check_ibm_care_file(path: Path) -> None:
    """Raise UnreadableFile or NotThisFormat unless `path` is IBM customer-care JSON."""
    _records(path)


def read_ibm_care(
    path: Path, *, collected_at: datetime, chunk_rows: int = 50_000
) -> Iterator[PostsChunk]:
    """Yield the posts of an IBM customer-care file, one record per conversation."""
    loaded = _records(path)
    return chunks_from_records(path, loaded, _conversation_posts, FORMAT, collected_at, chunk_rows)


def _records(path: Path) -> tuple[list[Record], int]:
    return load_json(
        path,
        fmt=FORMAT,
        expect=_EXPECT,
        recognise=_is_dialog,
        missing="no dialogHeader/dialogContent found",
    )


def _is_dialog(value: Any) -> bool:
    return isinstance(value, dict) and "dialogContent" in value and "dialogHeader" in value


def _conversation_posts(conversation: Any) -> list[dict[str, Any]]:
    """The posts of one conversation, each replying to the turn before it."""
    if not isinstance(conversation, dict):
        raise BadRecord(f"is a {type(conversation).__name__}, not a conversation object")
    header = conversation.get("dialogHeader")
    turns = conversation.get("dialogContent")
    last = conversation.get("agentURL")
    if not isinstance(header, dict):
        raise BadRecord("dialogHeader is missing")
    company = text_field(header, "company", "dialogHeader.").strip()
    if not company:
        raise BadRecord("dialogHeader.company is empty")
    if not isinstance(turns, list) or not turns:
        raise BadRecord("dialogContent is missing or empty")
    posts = [_turn_post(turn, company, n) for n, turn in enumerate(turns, start=1)]
    if last is not None:
        posts.append(_agent_url_post(last, company, len(turns) + 1))
    for previous, post in itertools.pairwise(posts):
        post["parent_id"] = previous["post_id"]
    for post in posts:
        post["root_id"] = posts[0]["post_id"]
    return posts


def _turn_post(turn: Any, company: str, n: int) -> dict[str, Any]:
    where = f"dialogContent turn {n}: "
    if not isinstance(turn, dict):
        raise BadRecord(f"{where}is not an object")
    roles = [k for k in turn if k == "agent" or k.startswith("client")]
    if len(roles) != 1:
        found = ", ".join(roles) or "neither"
        raise BadRecord(f"{where}needs one of 'agent' or 'client' (the author), found {found}")
    handle = text_field(turn, roles[0], where).strip()
    if not handle:
        raise BadRecord(f"{where}{roles[0]} (the author) is empty")
    post_id = id_field(turn, "tweet_ID", where)
    return _post(
        post_id,
        handle,
        company if roles[0] == "agent" else None,
        iso_time(turn, "datetime", where),
        text_field(turn, "message", where),
    )


def _agent_url_post(last: Any, company: str, n: int) -> dict[str, Any]:
    where = f"agentURL (turn {n}): "
    if not isinstance(last, dict):
        raise BadRecord(f"{where}is not an object")
    post_id = id_field(last, "tweet_ID", where)
    try:
        created_at = snowflake_time(post_id)
    except BadRecord as e:
        raise BadRecord(f"{where}{e}: its time cannot be derived") from None
    post = _post(post_id, company, company, created_at, text_field(last, "url_utterance", where))
    post["_derived_time"] = True
    return post


def _post(
    post_id: str, handle: str, brand: str | None, created_at: datetime, text: str
) -> dict[str, Any]:
    return {
        "platform": "twitter",
        "post_id": post_id,
        "url": twitter_url(handle, post_id),
        "author_id": handle,
        "author_handle": handle,
        "author_role": "customer" if brand is None else "brand",
        "brand": brand,
        "created_at": created_at,
        "text": decode_entities(text),
    }
