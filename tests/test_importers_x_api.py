"""The x-api importer: pages, users from includes, reply links, bad tweets, brand handles."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.cli import app
from carebench.collectors.x_api import check_x_api_file, read_x_api
from carebench.errors import NotThisFormat
from carebench.store import Store

COLLECTED = datetime(2024, 5, 1, tzinfo=UTC)


def tweet(id_: str, author: str, minute: int, text: str, parent: str | None = None) -> dict:
    out = {
        "id": id_,
        "text": text,
        "author_id": author,
        "created_at": f"2023-03-01T10:{minute:02d}:00.000Z",
        "conversation_id": "1630000000000000001",
        "lang": "en",
        "edit_history_tweet_ids": [id_],
    }
    if parent:
        out["in_reply_to_user_id"] = "42"
        out["referenced_tweets"] = [{"type": "replied_to", "id": parent}]
    return out


USERS = [
    {"id": "42", "name": "Pat", "username": "pat_k"},
    {"id": "900", "name": "Acme Help", "username": "AcmeHelp"},
]
PAGE_1 = {
    "data": [
        tweet(
            "1630000000000000003",
            "900",
            20,
            "@pat_k Sorry &amp; thanks, DM us",
            "1630000000000000001",
        ),
        tweet("1630000000000000001", "42", 5, "@AcmeHelp my order is late"),
    ],
    "includes": {"users": USERS},
    "meta": {
        "newest_id": "1630000000000000003",
        "oldest_id": "1630000000000000001",
        "result_count": 2,
        "next_token": "b26v89c19zqg8o3f",
    },
}
PAGE_2 = {
    "data": [tweet("1630000000000000004", "42", 30, "@AcmeHelp done", "1630000000000000003")],
    "includes": {"users": USERS[:1]},
    "meta": {"result_count": 1, "oldest_id": "1630000000000000004"},
}


def read_all(path: Path) -> tuple[pd.DataFrame, list]:
    chunks = list(read_x_api(path, collected_at=COLLECTED, brand_handles=["@acmehelp"]))
    return pd.concat([c.posts for c in chunks]), [r for c in chunks for r in c.rejected]


@pytest.mark.parametrize(
    "shape",
    [
        lambda pages: "\n".join(json.dumps(p) for p in pages) + "\n",  # JSON lines
        lambda pages: json.dumps(pages, indent=2),  # an array of pages
    ],
    ids=["jsonl", "array"],
)
def test_pages_become_posts_with_roles_and_reply_links(tmp_path: Path, shape):
    path = tmp_path / "search.json"
    path.write_text(shape([PAGE_1, PAGE_2]), encoding="utf-8")
    posts, rejected = read_all(path)
    assert rejected == []
    by_id = posts.set_index("post_id")
    reply = by_id.loc["1630000000000000003"]
    assert reply["author_role"] == "brand" and reply["brand"] == "AcmeHelp"
    assert reply["author_handle"] == "AcmeHelp" and reply["author_id"] == "900"
    assert reply["parent_id"] == "1630000000000000001"
    assert reply["root_id"] == "1630000000000000001"
    assert reply["text"] == "@pat_k Sorry & thanks, DM us"
    assert reply["url"] == "https://twitter.com/AcmeHelp/status/1630000000000000003"
    assert by_id.loc["1630000000000000004", "author_role"] == "customer"
    assert by_id.loc["1630000000000000004", "author_handle"] == "pat_k"
    assert pd.isna(by_id.loc["1630000000000000001", "parent_id"])


def test_the_summary_counts_posts_read_not_pages(tmp_path: Path):
    # Two pages holding three tweets: "read" is 3, the same unit as new and rejected.
    path = tmp_path / "search.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in (PAGE_1, PAGE_2)) + "\n", encoding="utf-8")
    chunks = list(read_x_api(path, collected_at=COLLECTED, brand_handles=["@acmehelp"]))
    assert sum(c.records_read for c in chunks) == 3


def test_one_page_object_is_read(tmp_path: Path):
    path = tmp_path / "page.json"
    path.write_text(json.dumps(PAGE_1, indent=2), encoding="utf-8")
    posts, _ = read_all(path)
    assert len(posts) == 2


def test_a_bad_tweet_is_rejected_with_its_page_line_and_the_rest_kept(tmp_path: Path):
    broken = json.loads(json.dumps(PAGE_2))
    broken["data"].append({"id": "1630000000000000005", "text": "hi", "author_id": "42"})
    path = tmp_path / "pages.jsonl"
    error = {"errors": [{"detail": "Rate limit"}]}
    lines = [json.dumps(PAGE_1), "{not json", json.dumps(broken), json.dumps(error)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    posts, rejected = read_all(path)
    assert len(posts) == 3
    assert [r.line for r in rejected] == [2, 3, 4]
    assert rejected[0].reason.startswith("is not valid JSON")
    assert rejected[1].reason == "data[1] (tweet 1630000000000000005) created_at is missing"
    assert rejected[2].reason == "is an API error response, not a page: Rate limit"


def test_a_non_page_json_is_refused(tmp_path: Path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps([{"name": "x"}]), encoding="utf-8")
    with pytest.raises(NotThisFormat, match="no page with a 'data' or 'meta' key"):
        check_x_api_file(path)


def test_cli_imports_x_api_pages(tmp_path: Path):
    path = tmp_path / "search.jsonl"
    path.write_text(json.dumps(PAGE_1) + "\n" + json.dumps(PAGE_2) + "\n", encoding="utf-8")
    db = tmp_path / "s.duckdb"
    runner = CliRunner()
    missing = runner.invoke(app, ["import", "x-api", str(path), "--db", str(db)])
    assert missing.exit_code == 1 and "--brand-handle" in missing.output
    assert not db.exists()
    args = ["import", "x-api", str(path), "--db", str(db), "--brand-handle", "AcmeHelp"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        posts = store.posts()
        assert set(store.imports()["collector"]) == {"x-api"}
    assert len(posts) == 3
    assert posts.groupby("author_role").size().to_dict() == {"brand": 1, "customer": 2}


def test_cli_takes_the_brand_accounts_from_a_brands_file(tmp_path: Path):
    path = tmp_path / "search.jsonl"
    path.write_text(json.dumps(PAGE_1) + "\n" + json.dumps(PAGE_2) + "\n", encoding="utf-8")
    config = tmp_path / "brands.toml"
    config.write_text(
        '[brands.Acme]\naccounts = ["twitter:acmehelp", "bluesky:pat_k"]\n'
        '[brands.Other]\naccounts = ["mastodon:pat_k"]\n',
        encoding="utf-8",
    )
    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(
        app, ["import", "x-api", str(path), "--db", str(db), "--brand-config", str(config)]
    )
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        posts = store.posts().set_index("post_id")
    brand = posts.loc["1630000000000000003"]
    assert brand["author_role"] == "brand" and brand["brand"] == "Acme"  # the brand's name
    # pat_k is declared on other platforms only: on X a customer.
    assert (posts.loc[posts["author_handle"] == "pat_k", "author_role"] == "customer").all()


def test_cli_brands_file_without_accounts_for_the_platform_is_refused(tmp_path: Path):
    path = tmp_path / "search.jsonl"
    path.write_text(json.dumps(PAGE_1) + "\n", encoding="utf-8")
    config = tmp_path / "brands.toml"
    config.write_text('[brands.Acme]\naccounts = ["bluesky:acme.bsky.social"]\n', "utf-8")
    db = tmp_path / "s.duckdb"
    args = ["import", "x-api", str(path), "--db", str(db), "--brand-config", str(config)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "--brand-config FILE" in result.output
    assert not db.exists()
    args = ["import", "twcs", str(path), "--db", str(db), "--brand-config", str(config)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "x-api and snscrape" in result.output
