"""`carebench validate`: CareBench's labels measured against human labels."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.benchmark.validation import BadLabels, load_labels, validate
from carebench.cli import app
from tests.conftest import SHARED_DATA

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "evaluation" / "labels.jsonl"
SOURCE = "twcs/sample.csv"


def label(cid: str, **fields: object) -> dict[str, object]:
    """A human label for conversation `cid`: a plain answered care request unless told."""
    record: dict[str, object] = {
        "source": SOURCE,
        "platform": "twitter",
        "conversation_id": cid,
        "split": "test",
        "care_request": True,
        "deflected": False,
        "channels": [],
        "first_touch_deflection": False,
        "outcome": "unknown",
        "empathy_first_reply": False,
    }
    record.update(fields)
    return record


def ours(cid: str, **fields: object) -> dict[str, object]:
    """CareBench's row for the same conversation (conversation-table columns)."""
    row: dict[str, object] = {
        "platform": "twitter",
        "conversation_id": cid,
        "care_request": True,
        "deflected": False,
        "deflection_channels": "",
        "first_touch_deflection": False,
        "outcome": "unknown",
        "empathy_first_reply": False,
    }
    row.update(fields)
    return row


def write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def figure(result, field: str, measure: str, source: str = "all") -> tuple[float, int]:
    f = result.figures
    row = f[(f["source"] == source) & (f["field"] == field) & (f["measure"] == measure)]
    return float(row["value"].iloc[0]), int(row["n"].iloc[0])


def test_precision_recall_f1_count_what_each_side_says(tmp_path: Path):
    # Deflection: 2 true positives, 1 false positive, 1 false negative, 1 true negative.
    humans = [
        label("1", deflected=True, channels=["dm"]),
        label("2", deflected=True, channels=["web"]),
        label("3", deflected=False),
        label("4", deflected=True, channels=["dm"]),
        label("5", deflected=False),
    ]
    mine = [
        ours("1", deflected=True, deflection_channels="dm"),
        ours("2", deflected=True, deflection_channels="dm"),
        ours("3", deflected=True, deflection_channels="web"),
        ours("4", deflected=False),
        ours("5", deflected=False),
    ]
    result = validate(pd.DataFrame(mine), load_labels(write(tmp_path / "l.jsonl", humans)))
    assert result.matched == 5 and result.missing.empty
    assert figure(result, "deflected", "precision") == (2 / 3, 3)
    assert figure(result, "deflected", "recall") == (2 / 3, 3)
    assert figure(result, "deflected", "f1") == (pytest.approx(2 / 3), 5)
    # Channels are scored one by one: dm found once of twice, claimed twice.
    assert figure(result, "channel:dm", "recall") == (0.5, 2)
    assert figure(result, "channel:web", "precision") == (0.0, 1)
    f = result.figures.set_index(["source", "field", "measure"])
    low, high = f.loc[("all", "deflected", "f1"), ["low", "high"]]
    assert 0 <= low <= 2 / 3 <= high <= 1


def test_outcome_is_measured_over_the_readers_care_requests(tmp_path: Path):
    humans = [
        label("1", outcome="resolved"),
        label("2", outcome="unresolved"),
        label("3", outcome="resolved"),
        # Not a care request: its outcome does not count, whatever it is.
        label("4", care_request=False, outcome="resolved"),
    ]
    mine = [
        ours("1", outcome="resolved"),
        ours("2", outcome="unknown"),
        ours("3", outcome="unknown"),
        ours("4", outcome="unknown"),
    ]
    result = validate(pd.DataFrame(mine), load_labels(write(tmp_path / "l.jsonl", humans)))
    assert figure(result, "outcome", "accuracy") == (pytest.approx(1 / 3), 3)
    assert figure(result, "outcome:resolved", "recall") == (0.5, 2)
    assert figure(result, "outcome:unresolved", "recall") == (0.0, 1)
    matrix = result.confusion.set_index("human")
    assert matrix.loc["resolved", "unknown"] == 1 and matrix.loc["unresolved", "unknown"] == 1


def test_labels_missing_from_the_store_are_counted_not_guessed(tmp_path: Path):
    humans = [label("1"), label("99")]
    result = validate(pd.DataFrame([ours("1")]), load_labels(write(tmp_path / "l.jsonl", humans)))
    assert result.matched == 1
    assert result.missing["conversation_id"].tolist() == ["99"]
    assert figure(result, "care_request", "accuracy") == (1.0, 1)


def test_split_keeps_one_half(tmp_path: Path):
    path = write(tmp_path / "l.jsonl", [label("1"), label("2", split="tune")])
    assert load_labels(path, "tune")["conversation_id"].tolist() == ["2"]
    assert len(load_labels(path, "all")) == 2


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("not json", ":1: not a JSON object"),
        (json.dumps(label("1", outcome="fixed")), "outcome must be one of"),
        (json.dumps(label("1", channels=["pigeon"])), "channels must be a list"),
        (json.dumps(label("1", deflected="yes")), "deflected must be true, false or null"),
        (json.dumps({"source": SOURCE}), "missing platform, conversation_id"),
    ],
)
def test_a_bad_labels_file_names_the_line_and_the_problem(tmp_path: Path, line: str, says: str):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(BadLabels, match=says):
        load_labels(path)


TWCS = (
    "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    "1,111,True,Tue Oct 31 10:00:00 +0000 2017,@Acme my parcel is late,2,\n"
    "2,Acme,False,Tue Oct 31 10:30:00 +0000 2017,@111 Sorry! Please DM us your order number.,,1\n"
    "4,222,True,Tue Oct 31 11:00:00 +0000 2017,@Acme how do I reset my password?,5,\n"
    "5,Acme,False,Tue Oct 31 11:05:00 +0000 2017,@222 Tap Settings > Account > Reset.,,4\n"
)


def test_validate_command_reads_the_sources_and_prints_the_table(tmp_path: Path):
    (tmp_path / "twcs").mkdir()
    (tmp_path / SOURCE).write_text(TWCS, encoding="utf-8")
    labels = write(
        tmp_path / "labels.jsonl",
        [
            label("twcs:1", deflected=True, channels=["dm"], first_touch_deflection=True),
            label("twcs:4", outcome="resolved"),
        ],
    )
    out = tmp_path / "figures.csv"
    result = runner.invoke(app, ["validate", str(labels), "--data", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "deflection F1" in result.output and "2 labelled conversations matched" in result.output
    figures = pd.read_csv(out)
    dm = figures[(figures["field"] == "channel:dm") & (figures["measure"] == "recall")]
    assert dm["value"].iloc[0] == 1.0


def test_validate_says_what_to_do_when_nothing_matches(tmp_path: Path):
    db = tmp_path / "store.duckdb"
    (tmp_path / "t.csv").write_text(TWCS, encoding="utf-8")
    assert (
        runner.invoke(app, ["import", "twcs", str(tmp_path / "t.csv"), "--db", str(db)]).exit_code
        == 0
    )
    labels = write(tmp_path / "labels.jsonl", [label("elsewhere:1")])
    result = runner.invoke(app, ["validate", str(labels), "--db", str(db)])
    assert result.exit_code == 1
    assert "None of the 1 labelled conversations is in the store" in result.output


@pytest.mark.realdata
def test_the_published_labels_match_every_conversation_of_their_sources():
    if not (SHARED_DATA / "twcs" / "twcs_head_5k.csv").exists():
        pytest.skip("real data is absent (needs ../shared/data beside the repo)")
    result = runner.invoke(
        app, ["validate", str(LABELS), "--data", str(SHARED_DATA), "--split", "test"]
    )
    assert result.exit_code == 0, result.output
    test_half = load_labels(LABELS, "test")
    assert f"{len(test_half):,} labelled conversations matched" in result.output
    assert "not in the store" not in result.output


def test_cohen_kappa_matches_a_worked_example():
    from carebench.benchmark.validation import cohen_kappa

    # 50 items: both yes 20, both no 15, A yes/B no 5, A no/B yes 10 (a textbook table):
    # observed 0.7, chance 0.5*0.6 + 0.5*0.4 = 0.5, kappa 0.4.
    a = pd.Series(["y"] * 20 + ["n"] * 15 + ["y"] * 5 + ["n"] * 10)
    b = pd.Series(["y"] * 20 + ["n"] * 15 + ["n"] * 5 + ["y"] * 10)
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == 1.0
    assert pd.isna(cohen_kappa(pd.Series(["y", "y"]), pd.Series(["y", "y"])))
