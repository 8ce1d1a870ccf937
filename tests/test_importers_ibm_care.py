"""The ibm-care importer: roles, reply chains, derived times, rejections, the real dev split."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.cli import app
from carebench.collectors.common import DERIVED_TIME_MARK
from carebench.collectors.ibm_care import check_ibm_care_file, read_ibm_care
from carebench.errors import NotThisFormat
from carebench.store import Store
from tests.conftest import SHARED_DATA

COLLECTED = datetime(2024, 5, 1, tzinfo=UTC)
DEV = SHARED_DATA / "ibm_care" / "dev.json"

# Shaped like the dev split: two good dialogs, a second customer ("client1"), HTML entities.
DIALOGS = [
    {
        "agentURL": {
            "doc_id": "1770",
            "turn": "2",
            "tweet_ID": "1245425308704149506",
            "url": "https://support.google.com/youtube/answer/185111",
            "url_utterance": "@CinVakas You can appeal &amp; we will look: "
            "https://support.google.com/youtube/answer/185111",
        },
        "dialogContent": [
            {
                "client": "CinVakas",
                "datetime": "2020-04-01T17:31:32.000Z",
                "message": "@TeamYouTube my channel has been suspended",
                "tweet_ID": "1245403438755852288",
            }
        ],
        "dialogHeader": {
            "company": "TeamYouTube",
            "conversationDateTime": "2020-04-01T17:31:32.000Z",
            "duration": "01:26:55.0",
            "messageCount": "2",
            "sessionID": "LgwAXtbbEm0mBvDrGmjk",
        },
    },
    {
        "agentURL": {
            "doc_id": "9239",
            "turn": "4",
            "tweet_ID": "1227975515098820614",
            "url": "https://support.rockstargames.com/articles/360012932454",
            "url_utterance": "@Matek42251558 Please refer to: "
            "https://support.rockstargames.com/articles/360012932454 *MS",
        },
        "dialogContent": [
            {
                "client": "JSenrac",
                "datetime": "2020-02-13T00:19:15.000Z",
                "message": "@RockstarSupport Error 0x30005001 cant log on",
                "tweet_ID": "1227749037991919616",
            },
            {
                "agent": "RockstarSupport",
                "datetime": "2020-02-13T00:20:32.000Z",
                "message": "@JSenrac Please let us know what platform you are playing on. *MM",
                "tweet_ID": "1227749361809068032",
            },
            {
                "client1": "Matek42251558",
                "datetime": "2020-02-13T11:52:39.000Z",
                "message": "@RockstarSupport @JSenrac Play station 4",
                "tweet_ID": "1227923538293686273",
            },
        ],
        "dialogHeader": {
            "company": "RockstarSupport",
            "conversationDateTime": "2020-02-13T00:19:15.000Z",
            "duration": "14:59:57.0",
            "messageCount": "4",
            "sessionID": "6HRUKDArHAEehXB4g1ee",
        },
    },
]


def write_dialogs(tmp_path: Path, dialogs: list, name: str = "dev.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(dialogs, indent=4), encoding="utf-8")
    return path


def read_all(path: Path) -> tuple[pd.DataFrame, list, int]:
    chunks = list(read_ibm_care(path, collected_at=COLLECTED))
    posts = pd.concat([c.posts for c in chunks], ignore_index=True)
    return posts, [r for c in chunks for r in c.rejected], sum(c.derived_timestamps for c in chunks)


def test_turns_become_a_reply_chain_with_roles(tmp_path: Path):
    posts, rejected, _ = read_all(write_dialogs(tmp_path, DIALOGS))
    assert rejected == []
    rock = posts[posts["root_id"] == "1227749037991919616"].set_index("post_id")
    assert list(rock.index) == [
        "1227749037991919616",
        "1227749361809068032",
        "1227923538293686273",
        "1227975515098820614",
    ]
    assert list(rock["parent_id"].fillna("-")) == [
        "-",
        "1227749037991919616",
        "1227749361809068032",
        "1227923538293686273",
    ]
    assert list(rock["author_role"]) == ["customer", "brand", "customer", "brand"]
    assert list(rock["brand"].fillna("-")) == ["-", "RockstarSupport", "-", "RockstarSupport"]
    assert list(rock["author_handle"]) == [
        "JSenrac",
        "RockstarSupport",
        "Matek42251558",
        "RockstarSupport",
    ]
    assert set(posts["collector"]) == {"ibm-care"}
    assert rock.loc["1227749037991919616", "raw_ref"] == "dev.json:26"  # where the dialog starts


def test_the_last_brand_turn_gets_its_time_from_the_tweet_id_and_is_marked(tmp_path: Path):
    posts, _, derived = read_all(write_dialogs(tmp_path, DIALOGS))
    assert derived == 2
    last = posts.set_index("post_id").loc["1245425308704149506"]
    # (1245425308704149506 >> 22) + 1288834974657 ms = 2020-04-01T18:58:27.135Z
    assert last["created_at"] == pd.Timestamp("2020-04-01 18:58:27.135", tz="UTC")
    assert last["raw_ref"].endswith(DERIVED_TIME_MARK)
    assert last["text"].startswith("@CinVakas You can appeal & we")
    assert last["author_role"] == "brand" and last["brand"] == "TeamYouTube"
    marked = posts[posts["raw_ref"].str.endswith(DERIVED_TIME_MARK)]
    assert len(marked) == 2


def test_a_bad_conversation_is_rejected_whole_with_its_line_and_reason(tmp_path: Path):
    bad = json.loads(json.dumps(DIALOGS[1]))
    bad["dialogContent"][1]["datetime"] = "yesterday"
    no_author = json.loads(json.dumps(DIALOGS[0]))
    del no_author["dialogContent"][0]["client"]
    path = write_dialogs(tmp_path, [DIALOGS[0], bad, no_author])
    posts, rejected, _ = read_all(path)
    assert len(posts) == 2  # the first dialog only
    lines = path.read_text("utf-8").splitlines()
    starts = [n for n, line in enumerate(lines, 1) if line == "    {"]
    assert [(r.line, r.reason) for r in rejected] == [
        (
            starts[1],
            "dialogContent turn 2: datetime 'yesterday' is not an ISO 8601 time like "
            "2020-04-01T17:31:32Z",
        ),
        (
            starts[2],
            "dialogContent turn 1: needs one of 'agent' or 'client' (the author), found neither",
        ),
    ]


def test_a_json_that_is_not_ibm_care_is_refused_saying_what_it_looks_like(tmp_path: Path):
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"data": [], "meta": {"result_count": 0}, "includes": {}}), "utf-8")
    with pytest.raises(NotThisFormat, match=r"no dialogHeader.*format x-api"):
        check_ibm_care_file(path)


def test_cli_imports_ibm_care_and_export_measures_ttfr(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    path = write_dialogs(tmp_path, DIALOGS)
    runner = CliRunner()
    result = runner.invoke(app, ["import", "ibm-care", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "derived from the tweet id" in " ".join(result.output.split())
    with Store(db) as store:
        assert store.count_posts() == 6
        assert set(store.imports()["collector"]) == {"ibm-care"}
    out = tmp_path / "c.csv"
    export = ["export", "conversations", "-o", str(out), "--db", str(db)]
    assert runner.invoke(app, export).exit_code == 0
    rows = {r["conversation_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert float(rows["1245403438755852288"]["ttfr_seconds"]) == pytest.approx(5215.135)
    assert float(rows["1227749037991919616"]["ttfr_seconds"]) == 77.0


def dev_file() -> Path:
    if not DEV.exists():
        pytest.skip(f"real data {DEV} is absent (needs ../shared/data beside the repo)")
    return DEV


def test_real_dev_split_imports_whole_and_ttfr_matches_hand_checks(tmp_path: Path):
    path = dev_file()
    db = tmp_path / "s.duckdb"
    runner = CliRunner()
    result = runner.invoke(app, ["import", "ibm-care", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        summary = store.imports().iloc[0]
        # 525 dialogs, 1,211 turns; one dialog is listed twice (6 repeated tweets).
        # Every column counts posts (turns), so they add up.
        assert (summary["records_read"], summary["rejected"]) == (1211, 0)
        assert (summary["posts_new"], summary["duplicates_in_source"]) == (1205, 6)
        assert summary["records_read"] == summary["posts_new"] + summary["duplicates_in_source"]
        posts = store.posts()
    assert posts["raw_ref"].str.endswith(DERIVED_TIME_MARK).sum() == 524
    assert posts["brand"].dropna().nunique() == 24
    out = tmp_path / "c.csv"
    export = ["export", "conversations", "-o", str(out), "--db", str(db)]
    assert runner.invoke(app, export).exit_code == 0
    rows = {r["conversation_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    # 525 dialogs minus the repeated one minus one that branches off another's first turns.
    assert len(rows) == 523
    assert all(r["answered"] == "true" for r in rows.values())
    # Checked by hand against the threads (see the report in the change description):
    # CinVakas 17:31:32 -> TeamYouTube 18:58:27.135 (derived from the id).
    assert float(rows["1245403438755852288"]["ttfr_seconds"]) == pytest.approx(5215.135)
    # JstoneGaming 05:01:29 -> TeamYouTube 23:49:27.
    assert float(rows["1245214682287407105"]["ttfr_seconds"]) == 67678.0
    # JSenrac 00:19:15 -> RockstarSupport 00:20:32.
    assert float(rows["1227749037991919616"]["ttfr_seconds"]) == 77.0
    # RWSN33's third post 21:18:51 (the one XboxSupport answered) -> 22:29:41.
    assert float(rows["994671884871589889"]["ttfr_seconds"]) == 4250.0
