"""Store -> analysis: the one call the CLI and the dashboard make to get figures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from carebench.benchmark.persisted import analysis_state, canonical, read_analysis
from carebench.benchmark.scoring import Analysis, analyse
from carebench.benchmark.settings import Settings
from carebench.brands import BrandConfig, apply_brand_config
from carebench.errors import UnknownBrand
from carebench.store import Store, open_store

# Post columns the analysis never reads (see `analyse_store`).
ANALYSIS_SKIPS: tuple[str, ...] = ("url", "collector", "collected_at")


# Where `read_posts` leaves the count of posts it did not read (see `analyse_posts`).
_OUT_OF_RANGE = "posts_out_of_range"


def read_posts(store: Store, brands: BrandConfig | None = None) -> pd.DataFrame:
    """Every post the analysis reads, declared brand accounts mapped (see `analyse_posts`).

    Nothing in the analysis or the dashboard reads a post's url or who collected it
    when; the store keeps them. Not reading them saves ~0.2 GB at 2.8M posts. The
    analysis gives the same answer in any row order, so the posts are not sorted.
    Posts of impossible times (a year-0 export) are not read (see `Store.posts`); their
    count rides along in the frame's attrs, for the data-quality report, so a user sees
    them and can delete them.
    """
    out_of_range = store.count_out_of_range()
    posts = apply_brand_config(
        store.posts(skip=ANALYSIS_SKIPS, ordered=False), brands or BrandConfig()
    )
    posts.attrs[_OUT_OF_RANGE] = out_of_range
    return posts


def analyse_posts(
    posts: pd.DataFrame, settings: Settings | None = None, brands: BrandConfig | None = None
) -> Analysis:
    """Score every conversation of posts from `read_posts`, emptying `posts` as it goes.

    Needs no store: a caller that reads the posts, closes the store and then calls this
    holds no lock on the file while the analysis computes (seconds to minutes on a big
    store), so `carebench import` can write to it meanwhile.
    """
    out_of_range = int(posts.attrs.get(_OUT_OF_RANGE, 0))
    analysis = analyse(posts, settings, brands or BrandConfig(), consume=True)
    analysis.issues["posts_out_of_range"] = out_of_range
    # Row keys as a read-back of the persisted analysis gives them: the two are equal.
    return canonical(analysis)


def analyse_store(
    store: Store | str | Path | None,
    settings: Settings | None = None,
    brands: BrandConfig | None = None,
) -> Analysis:
    """Read every post, map declared brand accounts, and score every conversation.

    When the store holds an up-to-date persisted analysis of these settings and brand
    config (see `persisted`), that is read instead: the same frames, in a second.

    `store` is a store path (None: the default, resolved like the CLI's --db), opened
    read-only and closed before the scoring starts, so no lock is held while it
    computes; or an open `Store`, which stays open (and locked) meanwhile.
    """
    if not isinstance(store, Store):
        with open_store(store, read_only=True) as opened:
            if analysis_state(opened, settings, brands).status == "fresh":
                return read_analysis(opened)
            posts = read_posts(opened, brands)
        return analyse_posts(posts, settings, brands)
    if analysis_state(store, settings, brands).status == "fresh":
        return read_analysis(store)
    # No local reference to the posts: `analyse` frees them once the turns are built.
    return analyse_posts(read_posts(store, brands), settings, brands)


def check_brands(known: pd.Series, wanted: list[str]) -> list[str]:
    """Return `wanted` brands in the store's spelling, or raise naming the unknown ones."""
    by_lower = {str(b).lower(): str(b) for b in known.dropna().unique()}
    missing = [b for b in wanted if b.lower() not in by_lower]
    if missing:
        sample = ", ".join(sorted(by_lower.values())[:12])
        raise UnknownBrand(
            f"Unknown brand(s): {', '.join(missing)}. The store has {len(by_lower)} brands, "
            f"e.g. {sample}. Brand names are the brand account handles or the names in your "
            "brand config."
        )
    return [by_lower[b.lower()] for b in wanted]


def only_brands(analysis: Analysis, wanted: list[str]) -> Analysis:
    """The analysis restricted to some brands (names matched case-insensitively)."""
    names = check_brands(analysis.conversations["brand"], wanted)
    conversations = analysis.conversations
    return replace(
        analysis,
        conversations=conversations[conversations["brand"].isin(names)],
        templates=analysis.templates[analysis.templates["brand"].isin(names)],
    )
