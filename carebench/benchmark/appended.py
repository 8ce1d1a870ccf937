"""Re-analysing only the trees an import appended posts to: the common import, fast.

The per-brand path (`incremental`) finds the brands a change touches with a pass over
the whole store (4 s at 2.8M posts), then analyses and rewrites those brands whole (5 s
for a brand of 230k posts). Most imports only *append*: new posts that hang below
posts already analysed, or that start trees of their own. Then much less can change,
and this path redoes only that:

- the *touched trees*: the persisted conversations new posts join (their posts are the
  persisted turns, plus the new ones) and the conversations new posts start. They are
  analysed whole, as the whole store's analysis would (roots' mentions resolved with
  the store's accounts, `accounts_of`), and their rows replace the persisted ones;
- what is brand-wide, for the brands that matter: a brand that wrote new posts gets its
  template search again over all it wrote (`brand_posts_of`), since a template's
  members and numbers can move with one more post, and so its turns' template ids and
  its conversations' templated_posts elsewhere; repeat contact (a customer's next
  conversation with the brand) is redone for every (brand, customer) pair of a touched
  conversation.

Nothing else of a conversation reads beyond its tree (text signals are per post,
outcomes and topics per conversation), so the rest is unchanged, *provided* (`plan`):

- every logged change is a new post (no update, no deletion), in the valid years;
- no existing post replies to a new one (it would be adopted: its tree would move);
- new posts form no cycle, and a new post whose parent is stored hangs below a turn of
  a persisted conversation (not below a brand-rooted tree, a cycle or an out-of-range
  post, which this path does not model);
- no brand account changes: a new brand post's handle already spoke, and only, for its
  brand; else no root resolved by its mentions (no brand post in its tree) mentions it;
- no touched conversation changes brand (a new brand post earlier than the tree's first,
  a brand answering a root its mention had assigned), checked after the analysis.

When any of it fails (or cannot be told cheaply), this says None and the caller takes
the per-brand path: correctness first.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from carebench.benchmark.arrow_text import to_frame
from carebench.benchmark.brand_rules import MENTION, account_brands, brand_of_posts
from carebench.benchmark.incremental import OWNER_COLUMNS, UNASSIGNED
from carebench.benchmark.scoring import Analysis, analyse, repeat_contact
from carebench.benchmark.settings import Settings
from carebench.benchmark.templates import search_templates, top_templates
from carebench.benchmark.threads import NO_POST, build_tree_index
from carebench.brands import BrandConfig, apply_brand_config
from carebench.schema import DERIVED_TIME_MARK, POST_COLUMNS, conform_posts
from carebench.store import CHANGES_TABLE, Store

# The post columns the analysis reads (as `pipeline.read_posts`).
_READ_COLUMNS = [c for c in POST_COLUMNS if c not in ("url", "collector", "collected_at")]
KEYS = ["platform", "post_id"]
CONVERSATION_KEYS = ["platform", "conversation_id"]


@dataclass(frozen=True)
class Plan:
    """What an append touches (see the module docstring)."""

    new: pd.DataFrame  # the new posts: OWNER_COLUMNS, brands mapped
    # The new posts in customer-rooted trees (platform, post_id): the others (in trees a
    # brand post starts) are in no conversation; only the template search reads them.
    joining: pd.DataFrame
    trees: pd.DataFrame  # (platform, conversation_id) of persisted conversations joined
    searched: frozenset[str]  # brands whose template search is redone (they wrote posts)
    issues: dict[str, int]  # the data-quality counts after the append
    # The searched brands' template search (`_search`), started as soon as they are known.
    searching: Future[tuple[pd.DataFrame, pd.DataFrame]] | None


@dataclass(frozen=True)
class Redone:
    """The touched trees' rows and what changes elsewhere (for `persisted.write_trees`)."""

    analysis: Analysis  # the touched conversations, their turns, the searched templates
    trees: pd.DataFrame  # (platform, conversation_id): every touched conversation
    template_ids: pa.Table  # searched brands' posts: platform, post_id, template_id
    repeats: pa.Table  # untouched conversations whose repeat_contact changes
    searched: frozenset[str]  # brands whose templates were searched again
    brands: tuple[str, ...]  # the brands whose rows changed


def _query(con: duckdb.DuckDBPyConnection, sql: str, tables: dict[str, pa.Table]) -> pa.Table:
    """Run `sql` with Arrow tables registered under their names for the query only."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(sql).to_arrow_table()
    finally:
        for name in tables:
            con.unregister(name)


def _keys(frame: pd.DataFrame, columns: list[str]) -> pa.Table:
    return pa.table({c: pa.array(frame[c].astype(object).to_numpy(), pa.string()) for c in columns})


def _ascii(values: object) -> bool:
    return all(str(v).isascii() for v in values)  # type: ignore[attr-defined]


def plan(
    store: Store, brands: BrandConfig, stored_issues: dict[str, int], settings: Settings
) -> Plan | None:
    """What the logged changes touch, if they only append posts; None otherwise.

    The searched brands' template search (the longest step) starts in a thread as soon
    as the new posts are read, and runs while the other checks and the trees' analysis
    do; when a check fails it is waited for, unread.
    """
    con = store.con
    changes = to_frame(con.execute(f"SELECT * FROM {CHANGES_TABLE}").to_arrow_table())
    if changes["author_role"].notna().any():
        return None  # an update or a deletion
    wanted = changes[KEYS].drop_duplicates()
    in_range = store.in_range_condition()
    mark = DERIVED_TIME_MARK.replace("'", "''")
    new = to_frame(
        _query(
            con,
            f"SELECT {', '.join('p.' + c for c in OWNER_COLUMNS)}, p.text, "
            f"({in_range}) AS _in_range, "
            f"coalesce(ends_with(p.raw_ref, '{mark}'), false) AS _derived "
            "FROM posts p SEMI JOIN _changed USING (platform, post_id)",
            {"_changed": _keys(wanted, KEYS)},
        )
    )
    if len(new) != len(wanted) or not new["_in_range"].all():
        return None
    new["created_at"] = new["created_at"].dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    new = apply_brand_config(new, brands).reset_index(drop=True)
    searched = frozenset(str(b) for b in brand_of_posts(new).dropna().unique())
    searching = None
    if searched:
        pool = ThreadPoolExecutor(max_workers=1)
        # On a cursor of its own: a DuckDB connection serves one thread at a time.
        searching = pool.submit(
            _search, con.cursor(), store.in_range_condition(), searched, brands, settings
        )
        pool.shutdown(wait=False)
    work = _checked(store, new, brands, stored_issues, searched, searching)
    if work is None:
        settle(searching)
    return work


def settle(searching: Future[tuple[pd.DataFrame, pd.DataFrame]] | None) -> None:
    """Wait for a search whose result is not wanted (the path fell back): its cursor
    must not outlive the caller's use of the store."""
    if searching is not None:
        wait([searching])


def _checked(
    store: Store,
    new: pd.DataFrame,
    brands: BrandConfig,
    stored_issues: dict[str, int],
    searched: frozenset[str],
    searching: Future[tuple[pd.DataFrame, pd.DataFrame]] | None,
) -> Plan | None:
    """`plan` once the new posts are read: the checks that need the store's other posts."""
    con = store.con
    new_keys = _keys(new, KEYS)
    # An existing post replying to a new one would be adopted into the new post's tree.
    adopted = _query(
        con,
        "SELECT count(*) AS n FROM (SELECT p.platform, p.post_id FROM posts p "
        "SEMI JOIN _new n ON p.platform = n.platform AND p.parent_id = n.post_id) "
        "ANTI JOIN _new USING (platform, post_id)",
        {"_new": new_keys},
    )
    if adopted["n"][0].as_py():
        return None
    # The new posts' trees among themselves; the tops hang below stored posts or nothing.
    tree = build_tree_index(new)
    if (tree.root == NO_POST).any():
        return None  # a cycle
    tops = np.flatnonzero(tree.parent == NO_POST)
    asked = new.iloc[tops][["platform", "post_id", "parent_id"]].dropna(subset=["parent_id"])
    parents = to_frame(
        _query(
            con,
            "SELECT a.platform, a.post_id, t.conversation_id, "
            "t.post_id IS NOT NULL AS _turn FROM _asked a "
            "JOIN posts p ON p.platform = a.platform AND p.post_id = a.parent_id "
            "LEFT JOIN analysis_turns t ON t.platform = p.platform AND t.post_id = p.post_id",
            {"_asked": _keys(asked, ["platform", "post_id", "parent_id"])},
        )
    )
    if not parents["_turn"].all():
        return None  # below a brand-rooted tree, a cycle or an out-of-range post
    anchored = new.iloc[tops][KEYS].merge(parents, on=KEYS, how="left")
    is_customer = (new["author_role"] == "customer").to_numpy(dtype=bool, na_value=False)
    loose = anchored["conversation_id"].isna().to_numpy()  # tops whose parent is absent
    if not _accounts_kept(store, new, brands):
        return None
    trees = anchored.loc[~loose, CONVERSATION_KEYS].drop_duplicates().reset_index(drop=True)
    in_conversation = np.zeros(len(new), dtype=bool)
    in_conversation[tops] = ~loose | is_customer[tops]
    joining = new.loc[in_conversation[tree.root], KEYS].reset_index(drop=True)
    issues = dict(stored_issues)
    delta = {
        "posts": len(new),
        "posts_with_derived_time": int(new["_derived"].sum()),
        "brand_initiated_trees": int((~is_customer[tops] & loose).sum()),
        "replies_with_missing_parent": int((new["parent_id"].iloc[tops].notna() & loose).sum()),
    }
    for name, more in delta.items():
        issues[name] = issues.get(name, 0) + more
    new = new.drop(columns=["_in_range", "_derived"])
    return Plan(new, joining, trees, searched, issues, searching)


def accounts_of(
    con: duckdb.DuckDBPyConnection, in_range: str, handles: set[str], brands: BrandConfig
) -> dict[str, str]:
    """`brand_rules.account_brands` of the whole store, for these lower-case handles only
    (the posts of other handles never change theirs)."""
    return _accounts(con, in_range, handles, brands, None)[1]


def _accounts(
    con: duckdb.DuckDBPyConnection,
    in_range: str,
    handles: set[str],
    brands: BrandConfig,
    new: pa.Table | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """`accounts_of` without the `new` posts (platform, post_id) and with them.

    Posts are first reduced to their distinct owner columns in DuckDB (a brand's 100k
    posts are a few rows then); a handle seen with several brands is settled from its
    posts themselves, as `account_brands` settles it.
    """
    if not handles:
        return {}, {}
    # Non-ASCII handles are read whatever they are: SQL and Python may lower-case them
    # differently, and pandas decides below.
    where = (
        f"({in_range}) AND ({_maybe_brand(brands)}) AND (lower(author_handle) IN "
        "(SELECT h FROM _handles) OR strlen(author_handle) <> length(author_handle))"
    )
    tables = {
        "_handles": pa.table({"h": pa.array(sorted(handles), pa.string())}),
        "_declared": _declared(brands),
    }
    is_new = "false"
    if new is not None:
        tables["_new"] = new
        is_new = "(platform, post_id) IN (SELECT (platform, post_id) FROM _new)"
    owner = "platform, author_handle, author_id, author_role, brand"
    rows = to_frame(
        _query(con, f"SELECT DISTINCT {owner}, {is_new} AS _new FROM posts WHERE {where}", tables)
    )
    rows = apply_brand_config(rows, brands)
    lower = rows["author_handle"].astype("string").str.lower()
    pairs = pd.DataFrame({"h": lower, "b": brand_of_posts(rows), "new": rows["_new"]})
    pairs = pairs[pairs["h"].isin(handles).fillna(False).to_numpy(dtype=bool)].dropna()
    old = pairs[~pairs["new"].to_numpy(dtype=bool)][["h", "b"]].drop_duplicates()
    every = pairs[["h", "b"]].drop_duplicates()
    conflicted = set(every.loc[every["h"].duplicated(keep=False), "h"])
    if not conflicted:
        return dict(zip(old["h"], old["b"], strict=True)), dict(
            zip(every["h"], every["b"], strict=True)
        )
    # A handle of several brands: its earliest post decides, so read its posts whole.
    tables["_handles"] = pa.table({"h": pa.array(sorted(conflicted), pa.string())})
    full = to_frame(
        _query(
            con,
            "SELECT platform, post_id, created_at, author_handle, author_id, author_role, "
            f"brand, {is_new} AS _new FROM posts WHERE {where}",
            tables,
        )
    )
    full["created_at"] = full["created_at"].dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    full = apply_brand_config(full, brands)
    stored = full[~full["_new"].to_numpy(dtype=bool)]
    found = []
    for posts, plain in ((stored, old), (full, every)):
        settled = account_brands(posts, brand_of_posts(posts))
        kept = plain[~plain["h"].isin(conflicted)]
        found.append(
            {
                **dict(zip(kept["h"], kept["b"], strict=True)),
                **{h: b for h, b in settled.items() if h in conflicted},
            }
        )
    return found[0], found[1]


def _accounts_kept(store: Store, new: pd.DataFrame, brands: BrandConfig) -> bool:
    """Whether no root's mention resolves differently with the new posts' accounts."""
    brand_post = brand_of_posts(new).notna()
    handles = set(new.loc[brand_post, "author_handle"].dropna().astype(str).str.lower())
    if not handles:
        return True
    in_range = store.in_range_condition()
    before, after = _accounts(store.con, in_range, handles, brands, _keys(new, KEYS))
    moved = sorted(h for h in handles if before.get(h) != after.get(h))
    if not moved:
        return True
    if not _ascii(moved):
        return False  # SQL might lower-case the roots' texts otherwise than Python
    # A new or re-assigned account: fine while no root resolved by its mentions (no
    # brand post in its tree: no brand account) mentions it at all.
    found = _query(
        store.con,
        "SELECT count(*) AS n FROM analysis_conversations c, _moved m "
        "WHERE c.brand_account IS NULL AND contains(lower(c.root_text), '@' || m.h)",
        {"_moved": pa.table({"h": pa.array(moved, pa.string())})},
    )
    return not found["n"][0].as_py()


def _declared(brands: BrandConfig) -> pa.Table:
    """The brand config's account handles (lower-case), as a table `_maybe_brand` reads."""
    handles = sorted({h for (_, h) in brands.account_map()})
    return pa.table({"h": pa.array(handles, pa.string())})


def _maybe_brand(brands: BrandConfig) -> str:
    """SQL condition: a post that may be a brand post once the brand config is applied
    (a brand post as stored, or any post of a declared account; non-ASCII handles
    whatever they are, as SQL and Python may lower-case them differently). Reads the
    table `_declared` (`_declared()`) when the config declares accounts."""
    if not brands.account_map():
        return "author_role = 'brand'"
    return (
        "author_role = 'brand' OR lower(ltrim(author_handle, '@')) IN (SELECT h FROM _declared) "
        "OR strlen(author_handle) <> length(author_handle)"
    )


def brand_posts_of(
    con: duckdb.DuckDBPyConnection, in_range: str, wanted: frozenset[str], brands: BrandConfig
) -> pd.DataFrame:
    """Every post these brands wrote (`brand_rules.template_brand_posts`), with platform.

    SQL picks a superset (their own brand posts, and every post of a declared account:
    the brand config may make it theirs); the brand rules then decide, in pandas.
    """
    theirs = (
        "author_role = 'brand' AND "
        "coalesce(brand, author_handle, author_id) IN (SELECT b FROM _brands)"
    )
    if brands.account_map():
        theirs = f"({theirs}) OR ({_maybe_brand(brands)})"
    rows = to_frame(
        _query(
            con,
            "SELECT platform, post_id, brand, author_handle, author_id, author_role, text "
            f"FROM posts WHERE ({in_range}) AND ({theirs})",
            {
                "_brands": pa.table({"b": pa.array(sorted(wanted), pa.string())}),
                "_declared": _declared(brands),
            },
        )
    )
    rows = apply_brand_config(rows, brands)
    brand = brand_of_posts(rows)
    mine = brand.isin(list(wanted)).to_numpy(dtype=bool, na_value=False)
    return pd.DataFrame(
        {
            "platform": rows["platform"].array[mine],
            "brand": brand.array[mine],
            "post_id": rows["post_id"].array[mine],
            "text": rows["text"].array[mine],
        }
    )


def _search(
    con: duckdb.DuckDBPyConnection,
    in_range: str,
    wanted: frozenset[str],
    brands: BrandConfig,
    settings: Settings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The template search over all these brands wrote: (platform, post_id, template_id)
    per post, and their templates table. `con`: a cursor of its own (it runs in a thread)."""
    try:
        posts = brand_posts_of(con, in_range, wanted, brands)
    finally:
        con.close()
    found = search_templates(posts[["brand", "post_id", "text"]], settings.templates)
    templates = top_templates(
        posts[["brand", "post_id", "text"]], found.ids, normalised=found.normalised
    )
    ids = pd.DataFrame(
        {
            "platform": posts["platform"],
            "post_id": posts["post_id"],
            "template_id": found.ids.astype("string").array,
        }
    )
    return ids, templates


def redo(store: Store, work: Plan, settings: Settings, brands: BrandConfig) -> Redone | None:
    """Analyse the touched trees and what is brand-wide (see the module docstring)."""
    searching = work.searching
    con = store.con
    trees_table = _keys(work.trees, CONVERSATION_KEYS)
    # The touched trees' posts: the joined conversations' turns, and the new posts in
    # customer-rooted trees.
    stored = to_frame(
        _query(
            con,
            "SELECT t.platform, t.post_id, t.template_id FROM analysis_turns t "
            "SEMI JOIN _trees USING (platform, conversation_id)",
            {"_trees": trees_table},
        )
    )
    wanted = pd.concat([stored[KEYS], work.joining], ignore_index=True)
    if wanted.empty:  # new posts in no conversation: only the templates change
        return _redone(store, work, None, settings)
    posts = to_frame(
        _query(
            con,
            f"SELECT {', '.join('p.' + c for c in _READ_COLUMNS)} FROM posts p "
            "SEMI JOIN _wanted USING (platform, post_id)",
            {"_wanted": _keys(wanted, KEYS)},
        )
    )
    posts = apply_brand_config(conform_posts(posts), brands)
    if len(posts) != len(wanted):
        return None
    # Roots' mentions resolve with the whole store's accounts: those they mention. A
    # root: a post whose parent is not among these (a superset of the trees' roots).
    keys = posts[KEYS].copy()
    known = pd.MultiIndex.from_frame(keys.astype(object))
    parent_at = pd.MultiIndex.from_arrays(
        [keys["platform"].astype(object), posts["parent_id"].astype(object)]
    )
    roots = posts["parent_id"].isna().to_numpy() | ~parent_at.isin(known)
    texts = posts.loc[roots, "text"].fillna("").str.lower()
    mentioned = {h for found in texts.str.findall(MENTION.pattern) for h in found}
    accounts = accounts_of(con, store.in_range_condition(), mentioned, brands)
    persisted_ids = stored.set_index(KEYS)["template_id"]

    def template_search(brand_posts: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
        """Searched brands' ids from the brand-wide search; others' as persisted (their
        templates are unchanged, and only their own turns, all stored, read them)."""
        at = pd.MultiIndex.from_frame(keys.iloc[brand_posts.index.to_numpy()].astype(object))
        ids = persisted_ids.reindex(at).astype("string")
        templates = _empty_templates()
        if searching is not None:
            found, templates = searching.result()
            fresh = found.set_index(KEYS)["template_id"].reindex(at).astype("string")
            searched = brand_posts["brand"].astype("string").isin(list(work.searched))
            ids = ids.where(~searched.to_numpy(dtype=bool, na_value=False), fresh)
        return pd.Series(ids.array, index=brand_posts.index, name="template_id"), templates

    analysis = analyse(
        posts, settings, brands, consume=True, accounts=accounts, template_search=template_search
    )
    # No joined conversation may change brand: its old brand's other rows would be wrong.
    was = to_frame(
        _query(
            con,
            "SELECT c.platform, c.conversation_id, c.brand FROM analysis_conversations c "
            "SEMI JOIN _trees USING (platform, conversation_id)",
            {"_trees": trees_table},
        )
    )
    now = analysis.conversations[[*CONVERSATION_KEYS, "brand"]].merge(
        was, on=CONVERSATION_KEYS, how="inner", suffixes=("", "_was")
    )
    if (
        len(now) != len(was)
        or not (now["brand"].fillna(UNASSIGNED) == now["brand_was"].fillna(UNASSIGNED)).all()
    ):
        return None
    return _redone(store, work, analysis, settings)


def _redone(store: Store, work: Plan, analysis: Analysis | None, settings: Settings) -> Redone:
    """The rows to write: the trees' analysis (None: no conversation was touched), the
    searched brands' templates and ids, the repeat-contact flags that change."""
    ids, templates = (
        work.searching.result()
        if work.searching is not None
        else (
            pd.DataFrame({c: pd.Series(dtype="string") for c in [*KEYS, "template_id"]}),
            _empty_templates(),
        )
    )
    template_ids = pa.Table.from_pandas(ids, preserve_index=False)
    if analysis is None:
        conversations = turns = pd.DataFrame()
        repeats = _repeat_contact(store, None, settings)
    else:
        conversations, turns = analysis.conversations, analysis.turns
        repeats = _repeat_contact(store, conversations, settings)
    touched = set(work.searched)
    if len(conversations):
        touched |= set(conversations["brand"].dropna().astype(str))
    part = Analysis(conversations, turns, templates, issues=work.issues)
    trees = (
        conversations[CONVERSATION_KEYS].reset_index(drop=True)
        if len(conversations)
        else pd.DataFrame({c: pd.Series(dtype="string") for c in CONVERSATION_KEYS})
    )
    return Redone(part, trees, template_ids, repeats, work.searched, tuple(sorted(touched)))


def _repeat_contact(
    store: Store, conversations: pd.DataFrame | None, settings: Settings
) -> pa.Table:
    """Repeat contact over each touched (brand, customer) pair's every conversation: set on
    the touched ones (in place); the untouched ones whose flag changes, returned."""
    con = store.con
    none = pa.table(
        {
            "platform": pa.array([], pa.string()),
            "conversation_id": pa.array([], pa.string()),
            "repeat_contact": pa.array([], pa.bool_()),
        }
    )
    if conversations is None:
        return none
    touched = conversations[["brand", "customer_id"]].dropna().drop_duplicates()
    if touched.empty:
        return none
    others = to_frame(
        _query(
            con,
            "SELECT c.platform, c.conversation_id, c.brand, c.customer_id, "
            "epoch_us(c.opened_at) AS opened_at, c.repeat_contact "
            "FROM analysis_conversations c SEMI JOIN _pairs USING (brand, customer_id) "
            "ANTI JOIN _trees USING (platform, conversation_id)",
            {
                "_pairs": _keys(touched, ["brand", "customer_id"]),
                "_trees": _keys(conversations, CONVERSATION_KEYS),
            },
        )
    )
    mine = conversations[[*CONVERSATION_KEYS, "brand", "customer_id"]].assign(
        opened_at=conversations["opened_at"].astype("int64").to_numpy()
    )
    both = pd.concat([mine, others.drop(columns=["repeat_contact"])], ignore_index=True)
    both["brand"] = both["brand"].astype("string")
    both["customer_id"] = both["customer_id"].astype("string")
    flags = repeat_contact(both, settings.repeat_contact_days)
    conversations["repeat_contact"] = pd.array(flags.iloc[: len(mine)].to_numpy(), "boolean")
    after = flags.iloc[len(mine) :].reset_index(drop=True)
    before = others["repeat_contact"].astype("boolean")
    changed = (after.fillna(False) != before.fillna(False)) | (after.isna() != before.isna())
    changed_rows = others.loc[changed.to_numpy(dtype=bool), CONVERSATION_KEYS]
    return pa.table(
        {
            "platform": pa.array(changed_rows["platform"].astype(object), pa.string()),
            "conversation_id": pa.array(
                changed_rows["conversation_id"].astype(object), pa.string()
            ),
            "repeat_contact": pa.array(
                after[changed.to_numpy(dtype=bool)].astype(object), pa.bool_()
            ),
        }
    )


def _empty_templates() -> pd.DataFrame:
    from carebench.benchmark.templates import _empty_top_templates

    return _empty_top_templates()
