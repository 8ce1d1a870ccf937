"""Whose a post and whose a tree is: METRICS.md's brand rules, in one place.

Every path that decides a brand calls these: the conversation rebuild
(`conversations.build_threads`), the template search's brand posts (`scoring`), the
per-brand partitioning of an incremental re-analysis (`incremental`) and the Spark
preparation (`carebench.spark`). None of them re-implements a rule.

- A brand post speaks for its `brand`, else its author handle, else its author id
  (`brand_of_posts`); customer posts speak for nobody.
- A brand's accounts are the handles its posts were written from (`account_brands`).
- A tree's brand is that of its earliest brand post (by time, then post id); a tree
  with none takes the first known brand account its root mentions (`mentioned_brand`);
  else it has none (`tree_brands`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from carebench.benchmark.threads import NO_POST

# First @handle in a root that names a known brand account assigns an unanswered root.
MENTION = re.compile(r"@(\w{1,50})")


def brand_of_posts(posts: pd.DataFrame) -> pd.Series:
    """The brand a brand post speaks for: its `brand`, else its author handle (else its
    author id); <NA> for customer posts. A conversation's brand is that of the earliest
    brand post in its tree, else the first brand account its root mentions
    (`mentioned_brand`, with the handles of `account_brands`)."""
    brand = posts["brand"].astype("string")
    handle = posts["author_handle"].astype("string").fillna(posts["author_id"].astype("string"))
    is_brand = posts["author_role"] == "brand"
    return brand.fillna(handle).where(is_brand)


def mentioned_brand(texts: pd.Series, account_brand: dict[str, str]) -> pd.Series:
    """First @handle in each text that is a known brand account (case-insensitive)."""
    if texts.empty or not account_brand:
        return pd.Series(pd.NA, index=texts.index, dtype="string")
    mentions = texts.fillna("").str.lower().str.findall(MENTION.pattern)

    def first_brand(handles: list[str]) -> str | None:
        for handle in handles:
            brand = account_brand.get(handle)
            if brand is not None:
                return brand
        return None

    return mentions.map(first_brand).astype("string")


def account_brands(posts: pd.DataFrame, post_brand: pd.Series) -> dict[str, str]:
    """Lower-cased brand account handle -> brand, from the posts the brands wrote.

    A handle seen with several brands (say "Delta" and "delta" as two handles with no
    declared brand) takes the brand of its earliest post, by platform, time and post id,
    so that the row order of `posts` never matters.
    """
    is_brand = post_brand.notna()
    handles = posts.loc[is_brand, "author_handle"].astype("string").str.lower()
    pairs = pd.DataFrame({"handle": handles, "brand": post_brand[is_brand]}).drop_duplicates()
    conflicted = pairs["handle"].duplicated(keep=False)
    if conflicted.any():
        rows = handles.isin(pairs.loc[conflicted, "handle"]).fillna(False)
        candidates = posts.loc[rows[rows].index, ["platform", "created_at", "post_id"]]
        candidates = candidates.assign(handle=handles[rows], brand=post_brand[rows[rows].index])
        earliest = candidates.sort_values(["platform", "created_at", "post_id"]).drop_duplicates(
            "handle"
        )
        pairs = pd.concat([pairs[~conflicted], earliest[["handle", "brand"]]])
    return dict(zip(pairs["handle"], pairs["brand"], strict=True))


def template_brand_posts(posts: pd.DataFrame) -> pd.DataFrame:
    """What the template search reads: every post each brand wrote (broadcasts included),
    with the brand it speaks for (`brand_of_posts`), indexed by its row in `posts`.

    A reply is templated because the brand sends that text again and again, whatever
    the date window the dashboard later looks at.
    """
    rows = np.flatnonzero((posts["author_role"] == "brand").to_numpy(dtype=bool, na_value=False))
    # Only the columns needed: taking every column of 1.3M rows cost ~0.6 GB for nothing.
    brand_posts = posts[["brand", "author_handle", "author_id", "author_role", "post_id", "text"]]
    brand_posts = brand_posts.iloc[rows]
    return pd.DataFrame(
        {
            "brand": brand_of_posts(brand_posts).array,
            "post_id": brand_posts["post_id"].array,
            "text": brand_posts["text"].array,
        },
        # Indexed by the post's row in `posts`, which is how turns know it (`_pos`).
        index=rows,
    )


def tree_brands(
    seconds: np.ndarray,
    post_ids: pd.Series,
    root: np.ndarray,
    customer_tree: np.ndarray,
    post_brand: pd.Series,
    accounts: dict[str, str],
    root_texts: Callable[[np.ndarray], pd.Series],
) -> pd.Series:
    """Each post's tree brand: the brand of the earliest brand post of its customer-rooted
    tree (by time, then post id), else the first known brand account (`accounts`) its
    root mentions; <NA> for no brand and for posts in no customer-rooted tree.

    `root[i]` is post i's tree root (NO_POST on a cycle), `seconds` the posts' times,
    `root_texts(rows)` the texts of the roots at those rows (read only for the roots no
    brand answered: a caller holding no texts fetches those few).
    """
    # Imported here: conversations imports this module.
    from carebench.benchmark.conversations import _id_order

    n = len(root)
    brand_rows = np.flatnonzero(post_brand.notna().to_numpy() & customer_tree)
    ordered = brand_rows[
        _id_order((seconds[brand_rows], root[brand_rows]), post_ids.iloc[brand_rows])
    ]
    roots = root[ordered]
    first = ordered[np.r_[True, roots[1:] != roots[:-1]]] if len(ordered) else ordered
    group_of_root = pd.Series(pd.NA, index=np.arange(n), dtype="string")
    group_of_root.iloc[root[first]] = post_brand.iloc[first].to_numpy()
    root_rows = np.flatnonzero(customer_tree & (root == np.arange(n)))
    unanswered = root_rows[group_of_root.iloc[root_rows].isna().to_numpy()]
    if len(unanswered) and accounts:
        texts = root_texts(unanswered).reset_index(drop=True)
        group_of_root.iloc[unanswered] = mentioned_brand(texts, accounts).to_numpy()
    tree_brand = pd.Series(pd.NA, index=np.arange(n), dtype="string")
    rows = np.flatnonzero(customer_tree & (root != NO_POST))
    tree_brand.iloc[rows] = group_of_root.iloc[root[rows]].to_numpy()
    return tree_brand
