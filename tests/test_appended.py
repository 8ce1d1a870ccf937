"""An import that only appends posts re-analyses only the trees it touches (`appended`),
and gives what analysing the store whole gives; every case it does not model falls back
to the per-brand path, with the same result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from carebench.benchmark import persisted
from carebench.benchmark.scoring import Analysis
from carebench.cli import app
from carebench.store import Store
from tests.test_incremental import (
    TWCS_TIME,
    _number,
    assert_same,
    read_rows,
    then_import,
    write_rows,
)
from tests.test_incremental import generated as generated  # a fixture, re-exported

Generated = tuple[Path, list[str], list[list[str]], Analysis]


@pytest.fixture(autouse=True)
def _no_brand_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(persisted.BRANDS_ENV_VAR, raising=False)


def _at(opened: Any, **offset: Any) -> str:
    return (pd.Timestamp(opened) + pd.Timedelta(**offset)).strftime(TWCS_TIME)


def _import(tmp_path: Path, header: list[str], rows: list[list[str]], name: str):
    path = tmp_path / "store.duckdb"
    return then_import(path, write_rows(tmp_path / f"{name}.csv", header, rows))


def _answered(analysis: Analysis, brand: str) -> pd.Series:
    conversations = analysis.conversations
    return conversations[
        (conversations["brand"] == brand) & (conversations["ttfr_seconds"] > 600)
    ].iloc[0]


def _brands(analysis: Analysis) -> list[str]:
    return analysis.conversations["brand"].value_counts().index.tolist()


def test_replies_new_threads_a_returning_customer_and_a_template_overtaking(
    generated: Generated, tmp_path: Path
):
    path, header, _rows, analysis = generated
    x = _brands(analysis)[0]
    joined = _answered(analysis, x)
    root = _number(str(joined["conversation_id"]))
    turns = analysis.turns[analysis.turns["conversation_id"] == joined["conversation_id"]]
    last_post = _number(str(turns["post_id"].iloc[-1]))
    # A customer whose last conversation with X the new one follows within the window:
    # that old conversation turns into a repeat contact.
    conversations = analysis.conversations
    mine = conversations[conversations["brand"] == x].sort_values("opened_at")
    last = mine.drop_duplicates("customer_id", keep="last")
    returning = last[last["repeat_contact"] == False].iloc[0]  # noqa: E712
    customer = str(returning["customer_id"])
    # X's second template overtakes its first: the numbers of X's templates swap, so
    # template ids change in turns far from the new posts.
    templates = analysis.templates[analysis.templates["brand"] == x]
    first, second = templates.iloc[0], templates.iloc[1]
    overtake = int(first["posts"]) - int(second["posts"]) + 3
    text = str(second["examples"][0])
    new = [
        # A customer reply in an X thread, and X's answer to it.
        ["990001", str(joined["customer_id"]), "True", _at(joined["opened_at"], hours=5),
         f"@{x} still broken", "", last_post],
        ["990002", x, "False", _at(joined["opened_at"], hours=6), "@c sorry, fixed now", "",
         "990001"],
        # The returning customer's new conversation, answered by X.
        ["990003", customer, "True", _at(returning["opened_at"], hours=2),
         f"@{x} it happened again", "", ""],
        ["990004", x, "False", _at(returning["opened_at"], hours=3), text, "", "990003"],
    ]  # fmt: skip
    for i in range(overtake):
        asked, answer = 990100 + 2 * i, 990101 + 2 * i
        when = _at(returning["opened_at"], days=1, minutes=i)
        new.append([str(asked), f"newcustomer{i}", "True", when, f"@{x} help me", "", ""])
        new.append([str(answer), x, "False", when, text, "", str(asked)])
    redone = _import(tmp_path, header, new, "more")
    assert redone.trees and redone.brands == (x,)
    with Store(path, read_only=True) as store:
        after = persisted.read_analysis(store)
    flags = after.conversations.set_index("conversation_id")["repeat_contact"]
    assert flags[returning["conversation_id"]]
    # Turns of untouched conversations took new template ids.
    before_ids = analysis.turns.set_index("post_id")["template_id"]
    after_ids = after.turns.set_index("post_id")["template_id"].reindex(before_ids.index)
    untouched = analysis.turns["conversation_id"].ne(joined["conversation_id"]).to_numpy()
    moved = (before_ids.fillna("") != after_ids.fillna("")).to_numpy() & untouched
    assert moved.sum() > 10
    top = after.templates[after.templates["brand"] == x].iloc[0]
    assert text in list(top["examples"]) or int(top["posts"]) > int(first["posts"])
    assert root in str(joined["conversation_id"])


def test_orphan_brand_posts_as_the_benchmark_imports(generated: Generated, tmp_path: Path):
    _path, header, rows, analysis = generated
    x = _brands(analysis)[1]
    replies = [r for r in rows if r[1] == x and r[6]][:40]
    # Another collection of the same brand's replies: new ids, parents not collected.
    orphans = [[f"98{r[0]}", *r[1:5], "", f"97{r[6]}"] for r in replies]
    redone = _import(tmp_path, header, orphans, "orphans")
    assert redone.trees and redone.brands == (x,) and redone.conversations == 0
    # A customer answering one of those brand-rooted trees: not modelled, falls back.
    reply = [["990501", "someone", "True", orphans[0][3], f"@{x} thanks", "", orphans[0][0]]]
    assert not _import(tmp_path, header, reply, "below_broadcast").trees


def test_mention_assigned_root_answered_by_its_brand_or_another(
    generated: Generated, tmp_path: Path
):
    _path, header, rows, analysis = generated
    y, z = _brands(analysis)[2], _brands(analysis)[3]
    when = rows[0][3]
    asked = [["990601", "newcustomer7", "True", when, f"hello @{y} my parcel is lost", "", ""]]
    assert _import(tmp_path, header, asked, "asked").trees
    answered = [["990602", y, "False", _at(pd.Timestamp(when, tz="UTC"), hours=1), "@c on it",
                 "", "990601"]]  # fmt: skip
    assert _import(tmp_path, header, answered, "by_y").trees  # still Y's
    asked = [["990603", "newcustomer8", "True", when, f"hello @{y} where is it", "", ""]]
    assert _import(tmp_path, header, asked, "asked_again").trees
    other = [["990604", z, "False", _at(pd.Timestamp(when, tz="UTC"), hours=1), "@c we can help",
              "", "990603"]]  # fmt: skip
    assert not _import(tmp_path, header, other, "by_z").trees  # becomes Z's: falls back


def test_a_brand_post_earlier_than_the_trees_first(generated: Generated, tmp_path: Path):
    _path, header, _rows, analysis = generated
    x, z = _brands(analysis)[0], _brands(analysis)[1]
    conversation = _answered(analysis, x)
    root = _number(str(conversation["conversation_id"]))
    soon = _at(conversation["opened_at"], seconds=30)
    same = [["990701", x, "False", soon, "@c quick one from us", "", root]]
    assert _import(tmp_path, header, same, "same_brand").trees  # same brand, sooner
    conversation = analysis.conversations[
        (analysis.conversations["brand"] == x) & (analysis.conversations["ttfr_seconds"] > 600)
    ].iloc[1]
    root = _number(str(conversation["conversation_id"]))
    other = [["990702", z, "False", _at(conversation["opened_at"], seconds=30), "@c hi", "", root]]
    assert not _import(tmp_path, header, other, "other_brand").trees


def test_new_brand_accounts(generated: Generated, tmp_path: Path):
    _path, header, rows, _analysis = generated
    when = rows[0][3]
    later = _at(pd.Timestamp(when, tz="UTC"), hours=1)
    # A new brand no stored root mentions: appended.
    new = [
        ["990801", "newcustomer1", "True", when, "@FreshCoHelp my bill is wrong", "", ""],
        ["990802", "FreshCoHelp", "False", later, "@newcustomer1 sorry, DM us", "", "990801"],
    ]
    redone = _import(tmp_path, header, new, "fresh")
    assert redone.trees and redone.brands == ("FreshCoHelp",)
    # An unanswered root mentions a handle no brand had; then that brand speaks.
    asked = [["990803", "newcustomer2", "True", when, "@LateCoHelp @nobody hello?", "", ""]]
    assert _import(tmp_path, header, asked, "asked").trees
    speaks = [
        ["990804", "newcustomer3", "True", when, "@LateCoHelp my bill", "", ""],
        ["990805", "LateCoHelp", "False", later, "@newcustomer3 sorry", "", "990804"],
    ]
    assert not _import(tmp_path, header, speaks, "late").trees


def test_a_new_post_adopting_an_orphan_and_a_cycle(generated: Generated, tmp_path: Path):
    _path, header, rows, _analysis = generated
    when = rows[0][3]
    orphan = [["990901", "GoneCustomer", "True", when, "@x me too", "", "990900"]]
    assert _import(tmp_path, header, orphan, "orphan").trees
    parent = [["990900", "FirstCustomer", "True", when, "@x broken", "", ""]]
    assert not _import(tmp_path, header, parent, "parent").trees
    cycle = [
        ["990910", "a1", "True", when, "@x one", "", "990911"],
        ["990911", "a2", "True", when, "@x two", "", "990910"],
    ]
    assert not _import(tmp_path, header, cycle, "cycle").trees


def test_an_update_and_a_deletion_fall_back(generated: Generated, tmp_path: Path):
    path, header, rows, analysis = generated
    brand_row = next(r for r in rows if r[2] == "False" and r[6])
    changed = [*brand_row]
    changed[4] = changed[4] + " Please DM us your order number."
    redone = then_import(
        path, write_rows(tmp_path / "generated.csv", header, [changed]), replace=True
    )
    assert not redone.trees
    root = str(analysis.conversations["conversation_id"].iloc[7])
    result = CliRunner().invoke(
        app, ["delete", "--platform", "twitter", "--post-id", root, "--db", str(path)]
    )
    assert result.exit_code == 0, result.output
    with Store(path) as store:
        from carebench.benchmark.pipeline import analyse_posts, read_posts

        assert persisted.analysis_state(store).status == "fresh"
        assert_same(analyse_posts(read_posts(store)), persisted.read_analysis(store))


def test_an_import_of_nothing_new(generated: Generated, tmp_path: Path):
    path, header, rows, _analysis = generated
    redone = then_import(path, write_rows(tmp_path / "generated.csv", header, rows[:5]))
    assert redone.trees and redone.conversations == 0


def test_with_a_brand_config_merging_accounts(tmp_path: Path):
    from carebench.benchmark.pipeline import analyse_posts, read_posts
    from carebench.brands import load_brand_config
    from carebench.ingest import import_twcs_files
    from carebench.synthetic import generate

    source = tmp_path / "generated.csv"
    generate(source, posts=3000, seed=5)
    header, rows = read_rows(source)
    handles = sorted({r[1] for r in rows if r[2] == "False"})
    x, z = handles[0], handles[1]
    config = tmp_path / "brands.toml"
    config.write_text(
        f'[brands.Merged]\naccounts = ["{x}", "@{z.lower()}"]\ntimezone = "Europe/Paris"\n',
        encoding="utf-8",
    )
    brands = load_brand_config(config)
    when = rows[0][3]
    later = _at(pd.Timestamp(when, tz="UTC"), hours=1)
    answer = next(r[4] for r in rows if r[1] == z)
    new = [
        ["990951", "newcustomer1", "True", when, f"@{x} my bill is wrong", "", ""],
        ["990952", z, "False", later, answer, "", "990951"],
        ["990953", "newcustomer2", "True", when, f"@{z} hello?", "", ""],
    ]
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        import_twcs_files(store, [source])
        persisted.refresh_analysis(store, brands=brands)
        import_twcs_files(store, [write_rows(tmp_path / "more.csv", header, new)])
        redone = persisted.refresh_analysis(store, brands=brands)
        assert redone is not None and redone.trees and redone.brands == ("Merged",)
        back = persisted.read_analysis(store)
        whole = analyse_posts(read_posts(store, brands), brands=brands)
    assert_same(whole, back)


def test_two_imports_then_one_analysis(generated: Generated, tmp_path: Path):
    path, header, rows, analysis = generated
    x = _brands(analysis)[4]
    when = rows[0][3]
    later = _at(pd.Timestamp(when, tz="UTC"), hours=1)
    first = [["991001", "twice1", "True", when, f"@{x} broken", "", ""]]
    second = [["991002", x, "False", later, "@twice1 on it", "", "991001"]]
    with Store(path) as store:
        from carebench.ingest import import_twcs_files

        import_twcs_files(store, [write_rows(tmp_path / "one.csv", header, first)])
        import_twcs_files(store, [write_rows(tmp_path / "two.csv", header, second)])
    redone = _import(tmp_path, header, [], "none")
    assert redone.trees and redone.brands == (x,)
