"""The snscrape importer: Twitter, Mastodon and Reddit lines, roles, bad lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.cli import app
from carebench.collectors.snscrape_jsonl import check_snscrape_file, read_snscrape
from carebench.errors import NotThisFormat
from carebench.store import Store

COLLECTED = datetime(2024, 5, 1, tzinfo=UTC)
TW = "snscrape.modules.twitter."


def user(username: str, id_: int) -> dict:
    return {
        "_type": TW + "User",
        "username": username,
        "id": id_,
        "displayname": username,
        "rawDescription": "",
        "verified": False,
        "followersCount": 10,
    }


def tweet(id_: int, who: dict, when: str, text: str, parent: int | None = None) -> dict:
    return {
        "_type": TW + "Tweet",
        "url": f"https://twitter.com/{who['username']}/status/{id_}",
        "date": when,
        "rawContent": text,
        "renderedContent": text,
        "id": id_,
        "user": who,
        "replyCount": 0,
        "retweetCount": 0,
        "likeCount": 0,
        "quoteCount": 0,
        "conversationId": 1600000000000000001,
        "lang": "en",
        "sourceLabel": "Twitter Web App",
        "inReplyToTweetId": parent,
        "inReplyToUser": None,
        "mentionedUsers": None,
    }


PAT, ACME = user("pat_k", 42), user("AcmeHelp", 900)
LINES = [
    tweet(1600000000000000001, PAT, "2023-01-01T10:00:00+00:00", "@AcmeHelp my order?"),
    tweet(
        1600000000000000002,
        ACME,
        "2023-01-01T10:12:00+00:00",
        "@pat_k On it! DM us.",
        1600000000000000001,
    ),
    {
        "_type": "snscrape.modules.mastodon.Toot",
        "url": "https://mastodon.social/@acme/110",
        "id": "110",
        "user": {
            "_type": "snscrape.modules.mastodon.User",
            "account": "@acme@mastodon.social",
            "displayName": "Acme",
        },
        "date": "2023-01-02T09:00:00+00:00",
        "text": "Service is back up.",
    },
    {
        "_type": "snscrape.modules.reddit.Comment",
        "author": "sam_r",
        "body": "Still broken for me",
        "date": "2023-01-03T08:00:00+00:00",
        "id": "t1_abc",
        "parentId": "t3_xyz",
        "subreddit": "acme",
        "url": "https://old.reddit.com/r/acme/comments/xyz/_/abc/",
    },
    {
        "_type": "snscrape.modules.reddit.Submission",
        "author": "AcmeHelp",
        "date": "2023-01-03T07:00:00+00:00",
        "id": "t3_xyz",
        "link": None,
        "selftext": "Tell us here.",
        "subreddit": "acme",
        "title": "Outage thread",
        "url": "https://old.reddit.com/r/acme/comments/xyz/",
    },
]


def write(tmp_path: Path, items: list, extra: tuple[str, ...] = ()) -> Path:
    path = tmp_path / "scrape.jsonl"
    path.write_text("\n".join([json.dumps(i) for i in items] + list(extra)) + "\n", "utf-8")
    return path


def read_all(path: Path) -> tuple[pd.DataFrame, list]:
    chunks = list(read_snscrape(path, collected_at=COLLECTED, brand_handles=["AcmeHelp", "acme"]))
    return pd.concat([c.posts for c in chunks]), [r for c in chunks for r in c.rejected]


def test_each_module_maps_to_posts_with_roles_and_parents(tmp_path: Path):
    posts, rejected = read_all(write(tmp_path, LINES))
    assert rejected == []
    p = posts.set_index("post_id")
    reply = p.loc["1600000000000000002"]
    assert reply["platform"] == "twitter"
    assert (reply["author_role"], reply["brand"]) == ("brand", "AcmeHelp")
    assert reply["parent_id"] == "1600000000000000001" and reply["root_id"] == "1600000000000000001"
    assert reply["author_id"] == "900" and reply["author_handle"] == "AcmeHelp"
    assert p.loc["1600000000000000001", "author_role"] == "customer"
    toot = p.loc["110"]
    assert (toot["platform"], toot["author_role"]) == ("mastodon", "brand")
    assert toot["brand"] == "acme@mastodon.social"
    comment = p.loc["t1_abc"]
    assert (comment["platform"], comment["author_role"], comment["parent_id"]) == (
        "reddit",
        "customer",
        "t3_xyz",
    )
    assert p.loc["t3_xyz", "text"] == "Outage thread\n\nTell us here."
    assert p.loc["t3_xyz", "author_role"] == "brand"


def test_bad_lines_are_rejected_with_their_numbers(tmp_path: Path):
    no_date = dict(LINES[0], id=1600000000000000009)
    del no_date["date"]
    path = write(tmp_path, [LINES[0], no_date], ('{"id": 3, "rawContent": ', '{"_type": "x.y"}'))
    posts, rejected = read_all(path)
    assert len(posts) == 1
    assert [(r.line, r.reason) for r in rejected] == [
        (2, "tweet 1600000000000000009: date is missing"),
        (3, "is not valid JSON (Expecting value at column 24): fix or delete the line"),
        (4, "is not a snscrape tweet, toot or Reddit item (x.y)"),
    ]


def test_a_json_that_is_not_snscrape_is_refused(tmp_path: Path):
    path = tmp_path / "dialogs.json"
    path.write_text(json.dumps([{"dialogHeader": {}, "dialogContent": []}]), "utf-8")
    with pytest.raises(NotThisFormat, match=r"no line is a snscrape.*format ibm-care"):
        check_snscrape_file(path)


def test_cli_imports_snscrape_lines(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    path = write(tmp_path, LINES)
    args = ["import", "snscrape", str(path), "--db", str(db), "--brand-handle", "AcmeHelp"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        posts = store.posts()
        assert set(store.imports()["collector"]) == {"snscrape"}
    assert len(posts) == 5
    assert posts.groupby("platform").size().to_dict() == {"mastodon": 1, "reddit": 2, "twitter": 2}
    # Only AcmeHelp was named: the Mastodon account "acme" is a customer here.
    assert posts.set_index("post_id").loc["110", "author_role"] == "customer"


def test_cli_takes_the_brand_accounts_of_each_platform_from_a_brands_file(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    path = write(tmp_path, LINES)
    config = tmp_path / "brands.toml"
    config.write_text(
        '[brands.Acme]\naccounts = ["twitter:AcmeHelp", "mastodon:acme@mastodon.social"]\n',
        encoding="utf-8",
    )
    args = ["import", "snscrape", str(path), "--db", str(db), "--brand-config", str(config)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        posts = store.posts().set_index("post_id")
    assert posts.loc["1600000000000000002", "brand"] == "Acme"
    assert posts.loc["110", "author_role"] == "brand" and posts.loc["110", "brand"] == "Acme"
    # AcmeHelp is declared for twitter only: the Reddit account of that name is a customer.
    assert posts.loc["t3_xyz", "author_role"] == "customer"
    assert (posts["author_role"] == "brand").sum() == 2
