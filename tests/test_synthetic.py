"""Synthetic TWCS data: a file the reader takes whole, exact, seeded, streamed, persona-shaped."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.scoring import analyse
from carebench.collectors.twcs import read_twcs
from carebench.store import Source, Store
from carebench.synthetic import HEADER, generate, write_posts

COLLECTED = datetime(2018, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synthetic") / "posts.csv"
    generate(path, posts=30_000, seed=11, batch_conversations=4_000)
    return path


def test_reader_takes_every_row_and_the_count_is_exact(sample: Path):
    chunks = list(read_twcs(sample, collected_at=COLLECTED))
    assert sum(len(c.rejected) for c in chunks) == 0
    assert sum(len(c.posts) for c in chunks) == 30_000


@pytest.mark.parametrize("posts", [1, 2, 7, 1001])
def test_exactly_n_posts_even_when_the_last_conversation_is_cut(posts: int):
    out = io.StringIO()
    write_posts(out, posts=posts, seed=3, batch_conversations=100)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == HEADER
    assert len(rows) - 1 == posts


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    generate(a, posts=5_000, seed=5)
    generate(b, posts=5_000, seed=5)
    generate(c, posts=5_000, seed=6)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_twcs_shape_and_every_parent_is_written_before_its_reply(sample: Path):
    frame = pd.read_csv(sample, dtype=str, keep_default_na=False)
    assert tuple(frame.columns) == HEADER
    assert set(frame["inbound"]) == {"True", "False"}
    assert frame["created_at"].str.fullmatch(r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d \+0000 \d{4}").all()
    brands = frame[frame["inbound"] == "False"]["author_id"]
    customers = frame[frame["inbound"] == "True"]["author_id"]
    assert customers.str.isdigit().all() and not brands.str.isdigit().any()
    position = {tweet_id: i for i, tweet_id in enumerate(frame["tweet_id"])}
    parents = frame["in_response_to_tweet_id"]
    replies = frame[parents != ""]
    assert replies["in_response_to_tweet_id"].str.endswith(".0").all()
    for i, parent in zip(replies.index, replies["in_response_to_tweet_id"], strict=True):
        assert position[parent.removesuffix(".0")] < i
    # response_tweet_id lists the children, as the parents' side of the same links.
    children = frame[frame["response_tweet_id"] != ""]
    for tweet_id, listed in zip(children["tweet_id"], children["response_tweet_id"], strict=True):
        for child in listed.split(","):
            assert frame["in_response_to_tweet_id"].iloc[position[child]] == f"{tweet_id}.0"


def test_memory_does_not_grow_with_the_number_of_posts():
    def peak(posts: int) -> int:
        tracemalloc.start()
        write_posts(
            _NullWriter(),
            posts=posts,
            seed=1,
            batch_conversations=1_000,
        )
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(10_000), peak(60_000)
    assert large < small * 1.5


class _NullWriter(io.StringIO):
    """A text sink that keeps nothing, so only the generator's own memory is measured."""

    def write(self, s: str) -> int:
        return len(s)


def test_scorecard_follows_the_personas(sample: Path):
    store = Store(":memory:")
    try:
        store.import_sources(
            "twcs", [Source(str(sample), read_twcs(sample, collected_at=COLLECTED))]
        )
        card = scorecard(analyse(store.posts()).conversations).set_index("brand")
    finally:
        store.close()
    assert len(card) == 12
    deflection = card["deflection_rate"]
    templated = card["templated_ratio"]
    ttfr = card["ttfr_median_seconds"]
    assert deflection["VoltMobileCare"] > 0.7 > 0.2 > deflection["ReelBoxSupport"]
    assert templated["DashDinnerHelp"] > 0.6 > 0.2 > templated["ReelBoxSupport"]
    assert ttfr["MarketHallHelp"] > 10 * ttfr["DashDinnerHelp"]
