"""Synthetic TWCS data: a file the reader takes whole, exact, seeded, streamed, persona-shaped."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carebench import synthetic
from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.scoring import analyse
from carebench.benchmark.text_signals import (
    brand_answer_kind,
    customer_signal,
    deflection_channels,
    is_care_request,
)
from carebench.collectors.twcs import read_twcs
from carebench.store import Source, Store
from carebench.synthetic import HEADER, generate, header, write_posts

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
    assert tuple(rows[0]) == (*HEADER, "carebench_namespace=gen3")
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
    assert tuple(frame.columns) == header(11) == (*HEADER, "carebench_namespace=gen11")
    assert frame[frame.columns[-1]].eq("").all()
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


def test_customer_posts_are_as_varied_as_real_ones_within_reason(sample: Path):
    # Before the posts were dressed, 85% of customer posts repeated another one word for
    # word and none had a link, a tagged friend or a curly apostrophe. The bounds bracket
    # the real samples' figures (see the module docstring) with room for the seed.
    frame = pd.read_csv(sample, dtype=str, keep_default_na=False)
    customer = frame.loc[frame["inbound"] == "True", "text"]
    assert customer.nunique() / len(customer) > 0.6
    assert 80 < customer.str.len().mean() < 130
    assert 0.08 < customer.str.contains("https://t.co/", regex=False).mean() < 0.25
    assert 0.1 < customer.str.count("@").ge(2).mean() < 0.3
    assert 0.2 < (~customer.map(str.isascii)).mean() < 0.4
    assert customer.str.contains("\u2019", regex=False).any()


def test_brand_replies_carry_links_as_real_ones_do(sample: Path):
    # Real brand replies: 27-34% with a t.co link, 107-120 characters on average. The
    # generated ones were 5% and 160 (see the module docstring for what is left).
    frame = pd.read_csv(sample, dtype=str, keep_default_na=False)
    brand = frame.loc[frame["inbound"] == "False", "text"]
    assert 0.2 < brand.str.contains("https://t.co/", regex=False).mean() < 0.4
    assert not brand.str.contains("example.com/", regex=False).any()
    assert 120 < brand.str.len().mean() < 155


@pytest.mark.parametrize(
    "cores",
    [synthetic._DEFLECT["dm"], sum(synthetic._FIXES.values(), ())],
    ids=["dm request", "fix"],
)
def test_a_link_in_a_brand_reply_keeps_what_carebench_reads_in_it(cores: tuple[str, ...]):
    # The generator adds a DM button's link to DM requests and a help article's to fixes:
    # neither may turn the reply into a web deflection or change what answer it gives.
    fills = {"order": "123456", "code": "SK123", "detail": "your order number", "name": "Ann"}
    plain = pd.Series([f"@123 {synthetic._sentence(core.format(**fills))}" for core in cores])
    linked = plain + " https://t.co/AbCdEf1234"
    assert deflection_channels(linked).equals(deflection_channels(plain))
    assert brand_answer_kind(linked).equals(brand_answer_kind(plain))


@pytest.mark.parametrize(
    ("kind", "cores", "keeps"),
    [
        ("praise", synthetic._PRAISE, "no care request"),
        ("problem", sum(synthetic._ROOTS.values(), ()), "care request"),
        ("solved", synthetic._CUSTOMER_SOLVED, "solved"),
        ("persists", synthetic._CUSTOMER_PERSISTS, "persists"),
        ("after_deflect", synthetic._CUSTOMER_AFTER_DEFLECT, "its signal"),
        ("closing", synthetic._CUSTOMER_CLOSING, "its signal"),
    ],
)
def test_dressing_a_customer_post_keeps_what_carebench_reads_in_it(
    kind: str, cores: tuple[str, ...], keeps: str
):
    # Every detail, opener, tail and link is drawn across many random picks: the post
    # must still say what its core says, or the personas' outcomes would drift.
    rng = np.random.default_rng(5)
    fills = {"order": "123456", "code": "SK123", "brand": "SkyLarkAir"}
    plain, dressed = [], []
    for core in cores:
        core = core.format(**fills)
        for _ in range(120):
            picks = rng.integers(0, 1 << 30, 8)
            post = synthetic._customer_post(kind, core, picks, rng.random(4), rng.random() < 0.5)
            plain.append("@Brand " + core)
            dressed.append("@Brand " + post)
    plain_texts, dressed_texts = pd.Series(plain), pd.Series(dressed)
    assert (dressed_texts != plain_texts).mean() > 0.5
    care = is_care_request(dressed_texts)
    signal = customer_signal(dressed_texts)
    if keeps == "no care request":
        # One praise core is a care request on its own ("five stars, would recommend").
        assert not (care & ~is_care_request(plain_texts)).any()
    elif keeps == "care request":
        assert (care | ~is_care_request(plain_texts)).all()
    elif keeps == "its signal":
        assert signal.equals(customer_signal(plain_texts))
    else:
        assert (signal == keeps).all()
