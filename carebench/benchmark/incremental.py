"""Re-analysing only the brands an import or a deletion touched.

The analysis is partitioned by brand. A conversation belongs to its tree's brand (the
brand of the earliest brand post in the tree, else the first known brand account its
root mentions: `brand_rules`, the rules
`build_threads` applies); trees with neither form one group of their own (<NA>). Every
brand post also belongs to its brand's group, wherever it sits: template search reads
all a brand wrote, and nothing else. So analysing one group's posts (its trees whole,
plus its brand's other posts, which form brand-rooted trees there and so no
conversation) gives exactly the rows the whole store's analysis gives that group, once
root mentions are resolved with the whole store's brand accounts and templates are
kept for the group's own brand only. Data-quality counts are over all posts and are
recomputed whole.

Which groups to redo: the store logs the posts each import or deletion changed
(`store.CHANGES_TABLE`), with whose they were before. A group is redone when a changed
post was or is in it (its tree's group, or its own brand for a brand post), or when any
post's tree group differs from the persisted turns' (a tree that grew, split, merged,
lost its earliest brand reply, or whose root now mentions a newly known account). The
tree groups come from one pass over the few columns that decide them, not the texts.

This is the path for changes the faster one cannot take: an import that only appends
posts redoes just the trees it touches (`appended`), and comes here only when it
updates or deletes posts, moves a tree or changes a brand account a root mentions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from carebench.benchmark.arrow_text import as_arrow, to_frame
from carebench.benchmark.brand_rules import (
    account_brands,
    brand_of_posts,
    tree_brands,
)
from carebench.benchmark.conversations import epoch_seconds, tree_issues
from carebench.benchmark.threads import NO_POST, build_tree_index
from carebench.brands import BrandConfig, apply_brand_config
from carebench.schema import DERIVED_TIME_MARK, POST_COLUMNS, conform_posts
from carebench.store import CHANGE_LOG_TABLE, CHANGES_TABLE, Store

# The columns that decide whose a post and its tree are.
OWNER_COLUMNS = (
    "platform",
    "post_id",
    "parent_id",
    "author_role",
    "brand",
    "author_handle",
    "author_id",
    "created_at",
)
# A group key that cannot be a brand name: trees no brand is known for.
UNASSIGNED = "\x00unassigned"


@dataclass(frozen=True)
class Groups:
    """Every post's tree group, the store's brand accounts and data-quality counts."""

    posts: pd.DataFrame  # OWNER_COLUMNS + _row (the post's rowid), brands mapped
    tree_group: pd.Series  # per post: its customer-rooted tree's group key, <NA> if none
    post_brand: pd.Series  # per post: the brand a brand post speaks for, <NA> otherwise
    accounts: dict[str, str]
    issues: dict[str, int]


def _in_range(store: Store) -> str:
    """A WHERE clause leaving out posts of impossible times, as `Store.posts` does."""
    return f" WHERE {store.in_range_condition()}" if store.count_out_of_range() else ""


def read_groups(store: Store, brands: BrandConfig) -> Groups:
    """One pass over the whole store: each post's tree group (see the module docstring)."""
    con = store.con
    where = _in_range(store)
    posts = to_frame(
        con.execute(f"SELECT rowid AS _row, {', '.join(OWNER_COLUMNS)} FROM posts{where}")
        .to_arrow_table()
        .combine_chunks()
    )
    posts["created_at"] = posts["created_at"].dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    posts = apply_brand_config(posts, brands)
    rowids = posts["_row"].to_numpy()
    return groups_of(posts, lambda rows: _texts(store, rowids[rows]), _derived_times(store, where))


def groups_of(
    posts: pd.DataFrame, root_texts: Callable[[np.ndarray], pd.Series], derived_times: int
) -> Groups:
    """Each post's tree group, from `OWNER_COLUMNS` of every post (brands mapped).

    `root_texts(rows)`: the texts of the posts at these rows (`brand_rules.tree_brands`);
    `derived_times`: the count of posts whose time was derived (for the issues).
    """
    tree = build_tree_index(posts)
    is_customer = (posts["author_role"] == "customer").to_numpy(dtype=bool, na_value=False)
    post_brand = brand_of_posts(posts)
    accounts = account_brands(posts, post_brand)
    n = len(posts)
    in_tree = tree.root != NO_POST
    customer_tree = np.zeros(n, dtype=bool)
    customer_tree[in_tree] = is_customer[tree.root[in_tree]]
    seconds = epoch_seconds(posts["created_at"]).to_numpy()
    tree_group = tree_brands(
        seconds, posts["post_id"], tree.root, customer_tree, post_brand, accounts, root_texts
    )
    tree_group.index = posts.index
    posts["_customer_tree"] = customer_tree
    posts["_tree_root"] = customer_tree & (tree.root == np.arange(n))
    issues = {
        "posts": n,
        "posts_with_derived_time": derived_times,
        **tree_issues(posts, tree, is_customer),
    }
    return Groups(posts, tree_group, post_brand, accounts, issues)


def _texts(store: Store, rows: np.ndarray) -> pd.Series:
    """The texts of the posts at these rowids, in that order."""
    wanted = pa.table({"_row": pa.array(rows, type=pa.int64())})
    store.con.register("_wanted_rows", wanted)
    try:
        found = store.con.execute(
            "SELECT w._row, p.text FROM _wanted_rows w JOIN posts p ON p.rowid = w._row"
        ).to_arrow_table()
    finally:
        store.con.unregister("_wanted_rows")
    frame = to_frame(found).set_index("_row")
    return frame["text"].reindex(rows).reset_index(drop=True).astype("string")


def _derived_times(store: Store, where: str) -> int:
    mark = DERIVED_TIME_MARK.replace("'", "''")
    joiner = " AND " if where else " WHERE "
    row = store.con.execute(
        f"SELECT count(*) FROM posts{where}{joiner}ends_with(raw_ref, '{mark}')"
    ).fetchone()
    return int(row[0]) if row else 0


def change_log_covers(store: Store, since: str) -> bool:
    """Whether the logged changes lead, without a gap, from posts version `since` to now."""
    if not store.has_table(CHANGE_LOG_TABLE):
        return False
    steps = store.con.execute(
        f"SELECT version_before, version_after FROM {CHANGE_LOG_TABLE} ORDER BY rowid"
    ).fetchall()
    at = since
    for before, after in steps:
        if before != at:
            return False
        at = after
    return at == store.posts_version()


def touched_groups(
    store: Store,
    groups: Groups,
    brands: BrandConfig,
    turns_table: str,
    conversations_table: str,
) -> set[str]:
    """Group keys (UNASSIGNED for <NA>) whose persisted rows the logged changes make wrong."""
    con = store.con
    touched: set[str] = set()

    def key(value: object) -> str:
        return UNASSIGNED if value is None or value is pd.NA else str(value)

    # Changed posts: the group each was in (persisted) and is in; a brand post's own
    # brand before and after.
    changes = to_frame(con.execute(f"SELECT * FROM {CHANGES_TABLE}").to_arrow_table())
    if len(changes):
        before = changes.dropna(subset=["author_role"])
        if len(before):
            owners = apply_brand_config(before.reset_index(drop=True), brands)
            touched.update(str(b) for b in brand_of_posts(owners).dropna().unique())
        con.register("_changed", pa.Table.from_pandas(changes[["platform", "post_id"]]))
        try:
            was = con.execute(
                f"SELECT DISTINCT t.conversation_brand FROM {turns_table} t "
                "SEMI JOIN _changed c USING (platform, post_id)"
            ).fetchall()
            still = con.execute(
                "SELECT p.rowid FROM posts p SEMI JOIN _changed c USING (platform, post_id)"
            ).fetchnumpy()["rowid"]
        finally:
            con.unregister("_changed")
        touched.update(key(row[0]) for row in was)
        now = np.zeros(len(groups.posts), dtype=bool)
        now[_positions(groups, np.asarray(still))] = True
        touched.update(key(v) for v in groups.tree_group[now & _in_customer_tree(groups)])
        touched.update(str(v) for v in groups.post_brand[now].dropna().unique())
    # Trees that appeared, went or changed group: the roots of customer-rooted trees
    # against the persisted conversations. With the changed posts' own groups above,
    # that is every change of membership: a tree gains or loses posts only through a
    # changed post in it (new, updated or deleted; or the parent of a post it adopts,
    # whose own old tree then stops being a conversation).
    roots = pa.array(groups.posts["_tree_root"].to_numpy(dtype=bool))
    current = pa.table(
        {
            "platform": as_arrow(groups.posts["platform"]).filter(roots),
            "conversation_id": as_arrow(groups.posts["post_id"]).filter(roots),
            "grp": as_arrow(groups.tree_group.fillna(UNASSIGNED)).filter(roots),
        }
    )
    con.register("_current_roots", current)
    try:
        moved = con.execute(
            "SELECT DISTINCT CASE WHEN c.conversation_id IS NULL THEN NULL "
            "ELSE coalesce(c.brand, ?) END AS was, n.grp AS now "
            f"FROM _current_roots n FULL OUTER JOIN {conversations_table} c "
            "USING (platform, conversation_id) "
            "WHERE n.grp IS NULL OR c.conversation_id IS NULL OR coalesce(c.brand, ?) <> n.grp",
            [UNASSIGNED, UNASSIGNED],
        ).fetchall()
    finally:
        con.unregister("_current_roots")
    for was, now in moved:
        for value in (was, now):
            if value is not None:
                touched.add(str(value))
    return touched


def _positions(groups: Groups, rowids: np.ndarray) -> np.ndarray:
    """Where posts of these rowids are in `groups.posts` (rowids present there)."""
    stored = groups.posts["_row"].to_numpy()
    order = np.argsort(stored, kind="stable")
    at = np.searchsorted(stored, rowids, sorter=order)
    found = at < len(stored)
    found[found] = stored[order[at[found]]] == rowids[found]
    return order[at[found]]


def _in_customer_tree(groups: Groups) -> np.ndarray:
    """Posts in a customer-rooted tree: `tree_group` is <NA> both for an unassigned tree
    and for no tree, so the frame keeps membership apart (`_customer_tree`)."""
    return groups.posts["_customer_tree"].to_numpy(dtype=bool)


def group_posts(
    store: Store, groups: Groups, wanted: set[str], brands: BrandConfig
) -> pd.DataFrame:
    """The posts the analysis of `wanted` groups reads: their trees whole, and every post
    of their brands; as `pipeline.read_posts` reads them (brands mapped)."""
    tree_key = groups.tree_group.fillna(UNASSIGNED).to_numpy(dtype=object)
    in_trees = _in_customer_tree(groups) & np.isin(tree_key, list(wanted))
    own = groups.post_brand.isin(list(wanted)).to_numpy(dtype=bool, na_value=False)
    rows = groups.posts["_row"].to_numpy()[in_trees | own]
    wanted_rows = pa.table({"_row": pa.array(np.sort(rows), type=pa.int64())})
    columns = [c for c in POST_COLUMNS if c not in ("url", "collector", "collected_at")]
    store.con.register("_group_rows", wanted_rows)
    try:
        table = store.con.execute(
            f"SELECT {', '.join('p.' + c for c in columns)} FROM _group_rows w "
            "JOIN posts p ON p.rowid = w._row"
        ).to_arrow_table()
    finally:
        store.con.unregister("_group_rows")
    posts = conform_posts(to_frame(table))
    return apply_brand_config(posts, brands)
