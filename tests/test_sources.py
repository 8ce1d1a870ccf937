"""Sources never overwrite each other silently: id namespaces, and the overwrite guard.

TWCS numbers its tweets 1, 2, 3, ... and so does every generated file: before, importing
a generated file into a store of real TWCS posts replaced them all ("updated 5,000").
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from carebench.benchmark.pipeline import analyse_store
from carebench.cli import app
from carebench.errors import ImportFailed
from carebench.ingest import import_files
from carebench.store import Source, Store
from carebench.synthetic import generate
from tests.conftest import make_posts, twcs_file
from tests.test_store import Chunk

runner = CliRunner()

HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
REAL = HEADER + (
    "1,111,True,Tue Oct 31 10:00:00 +0000 2017,@Acme my parcel is late,2,\n"
    "2,Acme,False,Tue Oct 31 10:30:00 +0000 2017,@111 Sorry! Please DM us.,,1\n"
    "3,222,True,Tue Oct 31 11:00:00 +0000 2017,@Acme where is my refund?,,\n"
)
# Another data set numbered from 1 too (a generated file of the old code, another tool).
OTHER = HEADER + (
    "1,900,True,Mon Jan 01 09:00:00 +0000 2018,@Bolt my bike is broken,2,\n"
    "2,Bolt,False,Mon Jan 01 09:05:00 +0000 2018,@900 We are on it,,1\n"
    "3,901,True,Mon Jan 01 10:00:00 +0000 2018,@Bolt hello?,,\n"
)


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def posts_of(store: Store) -> list[tuple[object, ...]]:
    return [row for row in store.snapshot() if row[0] == "posts"]


def test_twcs_ids_are_kept_in_the_twcs_namespace(tmp_path: Path):
    with Store(":memory:") as store:
        import_files(store, "twcs", [write(tmp_path, "real.csv", REAL)])
        posts = store.posts().set_index("post_id")
    assert list(posts.index) == ["twcs:1", "twcs:2", "twcs:3"]
    assert posts.loc["twcs:2", "parent_id"] == "twcs:1"
    # The address of a tweet is the platform's: without the namespace.
    assert posts.loc["twcs:2", "url"] == "https://twitter.com/Acme/status/2"


def test_another_twcs_shaped_file_is_refused_naming_the_source(tmp_path: Path):
    real, other = write(tmp_path, "real.csv", REAL), write(tmp_path, "other.csv", OTHER)
    with Store(":memory:") as store:
        import_files(store, "twcs", [real])
        before = list(store.snapshot())
        with pytest.raises(ImportFailed) as refused:
            import_files(store, "twcs", [other])
        assert list(store.snapshot()) == before
    message = str(refused.value)
    assert "other.csv: would change 3 post(s)" in message
    assert "3 from real.csv (twcs, import #1)" in message
    assert "--db" in message and "--replace" in message
    assert "unchanged" in message


def test_the_cli_refuses_and_replace_overwrites(tmp_path: Path):
    real, other = write(tmp_path, "real.csv", REAL), write(tmp_path, "other.csv", OTHER)
    db = tmp_path / "store.duckdb"
    assert invoke("import", "twcs", str(real), "--db", str(db)).exit_code == 0
    refused = invoke("import", "twcs", str(other), "--db", str(db))
    assert refused.exit_code == 1
    assert "real.csv (twcs, import #1)" in " ".join(refused.output.split())
    assert "Traceback" not in refused.output
    replaced = invoke("import", "twcs", str(other), "--db", str(db), "--replace")
    assert replaced.exit_code == 0, replaced.output
    with Store(db, read_only=True) as store:
        texts = set(store.posts()["text"])
        log = store.imports()
    assert texts == {"@Bolt my bike is broken", "@900 We are on it", "@Bolt hello?"}
    assert list(log["posts_updated"]) == [3, 0]  # newest first


def test_reimporting_a_corrected_file_is_not_a_conflict(tmp_path: Path):
    path = write(tmp_path, "real.csv", REAL)
    with Store(":memory:") as store:
        import_files(store, "twcs", [path])
        path.write_text(REAL.replace("my parcel is late", "my parcel is VERY late"), "utf-8")
        summary = import_files(store, "twcs", [path]).summaries[0]
    assert (summary.posts_new, summary.posts_updated) == (0, 1)


def test_a_generated_file_lands_beside_real_posts(tmp_path: Path):
    real = write(tmp_path, "real.csv", REAL)
    generated = tmp_path / "gen.csv"
    generate(generated, posts=50, seed=1)
    with Store(":memory:") as store:
        import_files(store, "twcs", [real])
        before = posts_of(store)
        summary = import_files(store, "twcs", [generated]).summaries[0]
        after = store.posts()
        still = [row for row in posts_of(store) if str(row[2]).startswith("twcs:")]
    assert (summary.posts_new, summary.posts_updated) == (50, 0)
    assert still == before
    assert after["post_id"].str.startswith("gen1:").sum() == 50
    # Replies of generated posts find their generated parents.
    gen = after[after["post_id"].str.startswith("gen1:")]
    assert gen["parent_id"].dropna().isin(gen["post_id"]).all()


def test_two_seeds_do_not_collide(tmp_path: Path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    generate(a, posts=30, seed=1)
    generate(b, posts=30, seed=2)
    with Store(":memory:") as store:
        import_files(store, "twcs", [a])
        assert import_files(store, "twcs", [b]).summaries[0].posts_new == 30
        assert store.count_posts() == 60


def test_generated_into_the_real_sample_keeps_all_5000_real_posts(tmp_path: Path):
    head = twcs_file("twcs_head_5k.csv")
    generated = tmp_path / "generated.csv"
    generate(generated, posts=5_000, seed=1)
    with Store(":memory:") as store:
        import_files(store, "twcs", [head])
        before = posts_of(store)
        summary = import_files(store, "twcs", [generated]).summaries[0]
        assert (summary.posts_new, summary.posts_updated) == (5_000, 0)
        assert [row for row in posts_of(store) if str(row[2]).startswith("twcs:")] == before
        # A generated file of the old code (no namespace column) is refused instead.
        with generated.open(encoding="utf-8", newline="") as f:
            rows = [row[:7] for row in csv.reader(f)]
        old_style = tmp_path / "old_generated.csv"
        with old_style.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        after_generated = list(store.snapshot())
        with pytest.raises(ImportFailed, match=r"from twcs_head_5k\.csv \(twcs, import #1\)"):
            import_files(store, "twcs", [old_style])
        assert list(store.snapshot()) == after_generated


def test_subsets_of_the_kaggle_corpus_dedupe(tmp_path: Path):
    head = twcs_file("twcs_head_5k.csv")
    # The head shares 273 posts with the brand replies and 9 with the random sample.
    replies = sorted((head.parent / "brand_replies").glob("*.csv"))
    replies += [p for p in [head.parent / "twcs_random_5k.csv"] if p.exists()]
    if not replies:
        pytest.skip("no other TWCS subsets beside the TWCS sample")
    with Store(":memory:") as store:
        import_files(store, "twcs", [head])
        first = import_files(store, "twcs", replies).summaries
        once = posts_of(store)
        again = import_files(store, "twcs", [head, *replies]).summaries
        assert posts_of(store) == once
        ids = set()
        for path in [head, *replies]:
            with path.open(encoding="utf-8-sig", newline="") as f:
                ids |= {row["tweet_id"] for row in csv.DictReader(f)}
        assert store.count_posts() == len(ids)
    assert sum(s.posts_updated for s in first + again) == 0
    assert sum(s.posts_unchanged for s in first) > 0  # they did share posts
    assert sum(s.posts_new for s in again) == 0


def test_a_store_made_before_namespaces_is_migrated_once(tmp_path: Path):
    path = write(tmp_path, "real.csv", REAL)
    db = tmp_path / "old.duckdb"
    with Store(db) as store:
        import_files(store, "twcs", [path])
        store.pin("twitter", "twcs:1", "Acme", "keep")
    # Back to what the old code wrote: bare ids, no store_info table.
    con = duckdb.connect(str(db))
    con.execute("UPDATE posts SET post_id = substr(post_id, 6), parent_id = substr(parent_id, 6)")
    con.execute("UPDATE pins SET conversation_id = substr(conversation_id, 6)")
    con.execute("DROP TABLE store_info")
    con.close()
    with Store(db, read_only=True) as store:  # read-only: read as it is, and it scores
        assert set(store.posts()["post_id"]) == {"1", "2", "3"}
        assert len(analyse_store(store).conversations) == 2
        version = store.import_version()
    with Store(db) as store:
        assert set(store.posts()["post_id"]) == {"twcs:1", "twcs:2", "twcs:3"}
        assert store.import_version() != version  # a cached analysis is computed again
        assert list(store.pins()["conversation_id"]) == ["twcs:1"]
        summary = import_files(store, "twcs", [path]).summaries[0]
        assert (summary.posts_new, summary.posts_updated, summary.posts_unchanged) == (0, 0, 3)
        assert store.count_posts() == 3


def _run(collector: str, name: str, ref: str, text: str) -> Source:
    posts = make_posts([("at://p/1", None, "c", "customer", 0, text)], platform="bluesky")
    posts["collector"] = collector
    posts["raw_ref"] = ref
    return Source(name, [Chunk(posts, (), 1)])


def test_a_collector_may_update_its_own_posts_but_not_another_sources():
    with Store(":memory:") as store:
        store.import_sources("bluesky", [_run("bluesky", "bluesky:acme:r1", "r1/p.json#0", "hi")])
        again = _run("bluesky", "bluesky:acme:r2", "bluesky/acme/r2/p.json#0", "hi (edited)")
        summary = store.import_sources("bluesky", [again])[0]
        assert summary.posts_updated == 1  # an edit, collected again
        before = list(store.snapshot())
        with pytest.raises(ImportFailed, match=r"1 from bluesky, import #2"):
            store.import_sources("csv", [_run("csv", "posts.csv", "posts.csv:2", "other")])
        assert list(store.snapshot()) == before
        store.import_sources(
            "csv", [_run("csv", "posts.csv", "posts.csv:2", "other")], replace=True
        )
        assert list(store.posts()["text"]) == ["other"]


def test_identical_posts_from_another_source_are_not_a_conflict(tmp_path: Path):
    with Store(":memory:") as store:
        store.import_sources("test", [_run("test", "a.csv", "a.csv:2", "same")])
        summary = store.import_sources("test", [_run("test", "b.csv", "b.csv:2", "same")])[0]
    assert (summary.posts_unchanged, summary.posts_updated) == (1, 0)
