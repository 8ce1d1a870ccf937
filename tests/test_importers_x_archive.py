"""The x-archive importer: the archive folder, part files, the owner, bad tweets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.cli import app
from carebench.collectors.x_archive import archive_files, check_x_archive_file, read_x_archive
from carebench.errors import CareBenchError, NotThisFormat, UnreadableFile
from carebench.store import Store

COLLECTED = datetime(2024, 5, 1, tzinfo=UTC)
ACCOUNT = {
    "account": {
        "email": "care@acme.example",
        "createdVia": "web",
        "username": "AcmeHelp",
        "accountId": "900",
        "createdAt": "2012-01-01T00:00:00.000Z",
        "accountDisplayName": "Acme Help",
    }
}


def tweet(id_: str, text: str, when: str, parent: str | None = None) -> dict:
    out = {
        "retweeted": False,
        "source": '<a href="https://help.example" rel="nofollow">Sprinklr</a>',
        "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
        "display_text_range": ["0", str(len(text))],
        "favorite_count": "0",
        "id_str": id_,
        "truncated": False,
        "retweet_count": "0",
        "id": id_,
        "created_at": when,
        "favorited": False,
        "full_text": text,
        "lang": "en",
    }
    if parent:
        out |= {
            "in_reply_to_status_id_str": parent,
            "in_reply_to_status_id": parent,
            "in_reply_to_user_id": "42",
            "in_reply_to_screen_name": "pat_k",
        }
    return {"tweet": out}


def js(name: str, items: list) -> str:
    return f"window.YTD.{name} = " + json.dumps(items, indent=2)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    data = tmp_path / "twitter-2024-05-01-abc" / "data"
    data.mkdir(parents=True)
    (data / "account.js").write_text(js("account.part0", [ACCOUNT]), encoding="utf-8")
    (data / "tweets.js").write_text(
        js(
            "tweets.part0",
            [
                tweet(
                    "1050118621198921728",
                    "@pat_k Sorry to hear that &amp; thanks! Please DM us.",
                    "Wed Oct 10 20:19:24 +0000 2018",
                    "1050118000000000000",
                ),
                tweet(
                    "1050118621198921729", "Our new app is out", "Wed Oct 10 21:00:00 +0000 2018"
                ),
            ],
        ),
        encoding="utf-8",
    )
    (data / "tweets-part1.js").write_text(
        js(
            "tweets.part1",
            [
                tweet(
                    "1050118621198921730",
                    "@sam Fixed now?",
                    "Thu Oct 11 09:00:00 +0000 2018",
                    "1050118000000000001",
                ),
                tweet("1050118621198921731", "bad date", "yesterday"),
            ],
        ),
        encoding="utf-8",
    )
    return data.parent


def test_the_folder_stands_for_its_tweets_files_in_part_order(archive: Path):
    assert [p.name for p in archive_files(archive)] == ["tweets.js", "tweets-part1.js"]
    assert [p.name for p in archive_files(archive / "data")] == ["tweets.js", "tweets-part1.js"]


def test_the_zip_is_refused_saying_to_extract_it(tmp_path: Path):
    zipped = tmp_path / "twitter-2024.zip"
    zipped.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(UnreadableFile, match="extract it"):
        archive_files(zipped)


def test_every_tweet_is_the_owners_brand_post_with_its_parent(archive: Path):
    chunks = list(read_x_archive(archive / "data" / "tweets.js", collected_at=COLLECTED))
    posts = pd.concat([c.posts for c in chunks]).set_index("post_id")
    reply = posts.loc["1050118621198921728"]
    assert reply["author_role"] == "brand" and reply["brand"] == "AcmeHelp"
    assert reply["author_id"] == "900" and reply["author_handle"] == "AcmeHelp"
    assert reply["parent_id"] == "1050118000000000000"
    assert reply["created_at"] == pd.Timestamp("2018-10-10 20:19:24", tz="UTC")
    assert reply["text"] == "@pat_k Sorry to hear that & thanks! Please DM us."
    assert pd.isna(posts.loc["1050118621198921729", "parent_id"])


def test_a_tweet_with_a_bad_date_is_rejected_with_its_line(archive: Path):
    path = archive / "data" / "tweets-part1.js"
    chunks = list(read_x_archive(path, collected_at=COLLECTED))
    rejected = [r for c in chunks for r in c.rejected]
    assert len(rejected) == 1
    line = path.read_text(encoding="utf-8").splitlines()[rejected[0].line - 1]
    assert line == "  {"
    assert rejected[0].reason == (
        "tweet 1050118621198921731: created_at 'yesterday' is not a date like "
        "'Wed Oct 10 20:19:24 +0000 2018'"
    )


def test_without_account_js_the_owner_comes_from_brand_handle(tmp_path: Path, archive: Path):
    lone = tmp_path / "tweets.js"
    lone.write_text((archive / "data" / "tweets.js").read_text(encoding="utf-8"), "utf-8")
    with pytest.raises(CareBenchError, match="--brand-handle"):
        check_x_archive_file(lone)
    chunks = list(read_x_archive(lone, collected_at=COLLECTED, brand_handles=["@AcmeHelp"]))
    assert set(chunks[0].posts["brand"]) == {"AcmeHelp"}
    assert set(chunks[0].posts["author_id"]) == {"AcmeHelp"}


def test_other_archive_files_are_refused(archive: Path, tmp_path: Path):
    with pytest.raises(NotThisFormat, match="'account' file, not its tweets"):
        check_x_archive_file(archive / "data" / "account.js")
    plain = tmp_path / "tweets.js"
    plain.write_text('[{"tweet": {}}]', encoding="utf-8")
    with pytest.raises(NotThisFormat, match=r"does not start with 'window.YTD.tweets.part0 = \['"):
        check_x_archive_file(plain, brand_handles=["a"])


def test_cli_imports_an_archive_folder(archive: Path, tmp_path: Path):
    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["import", "x-archive", str(archive), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "tweets-part1.js:" in result.output and "yesterday" in result.output
    with Store(db) as store:
        assert store.count_posts() == 3
        imports = store.imports()
    assert sorted(Path(s).name for s in imports["source"]) == ["tweets-part1.js", "tweets.js"]
    assert set(imports["collector"]) == {"x-archive"}
    assert imports["rejected"].sum() == 1
