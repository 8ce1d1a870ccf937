"""Store -> analysis: the one call the CLI and the dashboard make to get figures."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from carebench.benchmark.scoring import Analysis, analyse
from carebench.benchmark.settings import Settings
from carebench.brands import BrandConfig, apply_brand_config
from carebench.errors import UnknownBrand
from carebench.store import Store

# Post columns the analysis never reads (see `analyse_store`).
ANALYSIS_SKIPS: tuple[str, ...] = ("url", "collector", "collected_at")


def analyse_store(
    store: Store, settings: Settings | None = None, brands: BrandConfig | None = None
) -> Analysis:
    """Read every post, map declared brand accounts, and score every conversation."""
    brands = brands or BrandConfig()
    # Posts of impossible times (a year-0 export) are not read (see `Store.posts`): the
    # data-quality report counts them, so a user sees them and can delete them.
    out_of_range = store.count_out_of_range()
    # No local reference to the posts: `analyse` frees them once the turns are built.
    # Nothing in the analysis or the dashboard reads a post's url or who collected it
    # when; the store keeps them. Not reading them saves ~0.2 GB at 2.8M posts. The
    # analysis gives the same answer in any row order, so the posts are not sorted.
    analysis = analyse(
        apply_brand_config(store.posts(skip=ANALYSIS_SKIPS, ordered=False), brands),
        settings,
        brands,
        consume=True,
    )
    analysis.issues["posts_out_of_range"] = out_of_range
    return analysis


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
