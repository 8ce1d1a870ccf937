"""The generic csv importer: normalised columns, --map, required columns, bad rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.cli import app
from carebench.collectors.csv_generic import check_csv_file, parse_column_map, read_csv
from carebench.errors import CareBenchError, NotThisFormat
from carebench.store import Store

COLLECTED = datetime(2024, 5, 1, tzinfo=UTC)
NORMALISED = (
    "platform,post_id,parent_id,author_id,author_handle,author_role,brand,created_at,text,lang\n"
    'twitter,10,,42,pat_k,customer,,2023-01-01T10:00:00Z,"@AcmeHelp my order, again",en\n'
    'twitter,11,10,900,AcmeHelp,brand,Acme,2023-01-01 10:30:00,"@pat_k Sorry!\nDM us",en\n'
    "twitter,12,11,42,pat_k,Customer,,Tue Oct 31 22:10:47 +0000 2017,thanks,en\n"
)
# Shaped like a Hootsuite Inbox / Sparkcentral message export.
HOOTSUITE = (
    "Message ID,In Reply To,Network,Author,Author Type,Sent At,Message,Assignee\n"
    "m1,,twitter,pat_k,customer,2023-02-01T09:00:00Z,Where is my refund?,\n"
    "m2,m1,twitter,AcmeHelp,brand,2023-02-01T09:20:00Z,Refund sent today,Jo\n"
)
HOOTSUITE_MAP = [
    "Message ID=post_id",
    "In Reply To=parent_id",
    "Network=platform",
    "Author=author_id",
    "Author Type=author_role",
    "Sent At=created_at",
    "Message=text",
]


def write(tmp_path: Path, text: str, name: str = "posts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_all(path: Path, mapping: dict | None = None) -> tuple[pd.DataFrame, list]:
    chunks = list(read_csv(path, collected_at=COLLECTED, column_map=mapping))
    return pd.concat([c.posts for c in chunks]), [r for c in chunks for r in c.rejected]


def test_normalised_columns_are_read_as_they_are(tmp_path: Path):
    posts, rejected = read_all(write(tmp_path, NORMALISED))
    assert rejected == []
    p = posts.set_index("post_id")
    assert p.loc["11", "text"] == "@pat_k Sorry!\nDM us"
    assert p.loc["11", "created_at"] == pd.Timestamp("2023-01-01 10:30", tz="UTC")
    assert p.loc["12", "created_at"] == pd.Timestamp("2017-10-31 22:10:47", tz="UTC")
    assert p.loc["12", "author_role"] == "customer" and p.loc["11", "brand"] == "Acme"
    assert p.loc["12", "raw_ref"] == "posts.csv:5"  # the record after a two-line text
    assert set(p["collector"]) == {"csv"}


def test_a_tool_export_is_read_through_the_column_map(tmp_path: Path):
    mapping = parse_column_map(HOOTSUITE_MAP)
    posts, rejected = read_all(write(tmp_path, HOOTSUITE), mapping)
    assert rejected == []
    reply = posts.set_index("post_id").loc["m2"]
    assert (reply["parent_id"], reply["author_role"], reply["brand"]) == ("m1", "brand", "AcmeHelp")


def test_bad_rows_are_rejected_with_line_and_every_reason(tmp_path: Path):
    text = NORMALISED + (
        "myspace,13,,42,pat_k,agent,,soon,hi,en\n"
        "twitter,14,,,pat_k,customer,,2023-01-01T11:00:00Z,hi,en\n"
        "twitter,15,too,many,fields\n"
    )
    posts, rejected = read_all(write(tmp_path, text))
    assert len(posts) == 3
    assert [(r.line, r.reason) for r in rejected] == [
        (
            6,
            "platform 'myspace' is not one of twitter, bluesky, mastodon, reddit, csv; "
            "author_role 'agent' is not brand or customer; created_at 'soon' is not an ISO "
            "8601 time like 2020-04-01T17:31:32Z",
        ),
        (7, "author_id is empty"),
        (8, "has 5 field(s), expected 10: look for an unquoted comma or a broken quote"),
    ]


def test_missing_required_columns_are_named(tmp_path: Path):
    with pytest.raises(NotThisFormat, match=r"missing required column.*author_role, created_at"):
        check_csv_file(write(tmp_path, "platform,post_id,author_id,text\n"))


def test_a_twcs_file_is_refused_pointing_at_twcs(tmp_path: Path):
    twcs = write(
        tmp_path,
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,"
        "in_response_to_tweet_id\n1,a,True,x,y,,\n",
    )
    with pytest.raises(NotThisFormat, match="missing required column"):
        check_csv_file(twcs)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["Message"], "is not SOURCE=TARGET"),
        (["Message=body"], "'body' is not a post column"),
        (["A=text", "B=text"], "two columns are mapped to 'text'"),
    ],
)
def test_bad_maps_are_refused(pairs: list[str], message: str):
    with pytest.raises(CareBenchError, match=message):
        parse_column_map(pairs)


def test_a_map_naming_a_missing_column_is_refused(tmp_path: Path):
    with pytest.raises(NotThisFormat, match=r"no column.*'Body' named in --map"):
        check_csv_file(write(tmp_path, HOOTSUITE), column_map={"Body": "text"})


def test_cli_imports_a_mapped_export(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    path = write(tmp_path, HOOTSUITE)
    args = ["import", "csv", str(path), "--db", str(db)]
    for pair in HOOTSUITE_MAP:
        args += ["--map", pair]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        posts = store.posts()
        assert set(store.imports()["collector"]) == {"csv"}
    assert list(posts["post_id"]) == ["m1", "m2"]
    refused = CliRunner().invoke(app, ["import", "csv", str(path), "--db", str(db)])
    assert refused.exit_code == 1 and "--map" in refused.output
