"""The analysis kept in the store: computed when data lands, read back in a second.

Scoring every conversation of a big store takes seconds to minutes (2.8M posts: ~28 s),
and the dashboard used to do it at every server start. So whoever lands data (`carebench
import`, `collect`, `delete`, `demo`, the Data page's upload) also writes the analysis
into the store as tables:

- ``analysis_conversations``, ``analysis_turns`` (every turn with its signals, text
  included) and ``analysis_templates``: the frames of `scoring.Analysis`, without the
  turns' internal row keys ``_pos``/``_root`` (rebuilt on reading);
- ``analysis_meta``: what made them (the *stamp*) and what reading them back needs:

  * ``code``: a hash of the analysis code (`ANALYSIS_CODE`: every module whose change
    can change a figure, the lexicon included), so upgrading CareBench re-analyses;
  * ``settings``: the settings the analysis reads (repeat-contact window, template
    thresholds; not the SLA, which the figures apply later);
  * ``brands``: the brand config's content;
  * ``posts``: the store's posts version (`Store.import_version` and the post count),
    which every import and deletion changes;
  * the data-quality counts, the column order and the pandas dtype of every column.

A stamp that differs in any part makes the tables *stale*: the reader rebuilds them once
(`refresh_analysis`, with progress), never silently, and never shows a stale figure.

The analysis is the same in any row order, and turns are grouped by conversation: the
tables are read back in the order a fresh analysis gives (`canonical`), so reading them
back is equal to `pipeline.analyse_posts`, frame for frame, dtypes included.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from carebench.benchmark import appended
from carebench.benchmark.appended import Redone
from carebench.benchmark.arrow_text import to_frame
from carebench.benchmark.conversations import conversation_order
from carebench.benchmark.incremental import (
    UNASSIGNED,
    change_log_covers,
    group_posts,
    read_groups,
    touched_groups,
)
from carebench.benchmark.runs import first_of_runs
from carebench.benchmark.scoring import Analysis, analyse
from carebench.benchmark.settings import Settings
from carebench.brands import BrandConfig, load_brand_config
from carebench.store import ANALYSIS_META_TABLE, CHANGE_LOG_TABLE, CHANGES_TABLE, Store

# Every module whose change can change a persisted figure (paths from the package root).
# Every module whose change can change a figure: the whole benchmark package (a new
# module there, like the topic taxonomy, counts without anyone remembering to list it),
# the post schema and the brand config reader. A change elsewhere in benchmark/ (the
# verdicts, say) re-analyses too: a wasted rebuild, never a stale figure.
_PACKAGE = Path(__file__).resolve().parents[1]
ANALYSIS_CODE: tuple[str, ...] = (
    "schema.py",
    "brands.py",
    *sorted(f"benchmark/{p.name}" for p in (_PACKAGE / "benchmark").glob("*.py")),
)
# Bump to re-analyse every store even when no file above changed (a dependency whose
# upgrade changes results, say).
FORMAT_VERSION = "1"

TABLES: dict[str, str] = {
    "conversations": "analysis_conversations",
    "turns": "analysis_turns",
    "templates": "analysis_templates",
}
META_TABLE = ANALYSIS_META_TABLE
# The brand config file the dashboard and data landing apply (TOML, see the README).
BRANDS_ENV_VAR = "CAREBENCH_BRANDS"
# Turn columns that are row keys of one computation, rebuilt on reading (see `canonical`).
ROW_KEYS: tuple[str, ...] = ("_pos", "_root")
# The order a fresh analysis gives (see `conversations.build_threads`): conversations by
# opening time, id, platform; turns by their conversation (platform, opening time, id),
# then time and post id.
CONVERSATION_ORDER = "opened_at, conversation_id, platform"
TURN_ORDER = "t.platform, c.opened_at, t.conversation_id, t.created_at, t.post_id"
# The index that finds a conversation's turns in the store (the dashboard opens a thread
# in milliseconds with it, before the whole turns table is read).
TURNS_INDEX = "analysis_turns_by_conversation"
TEMPLATE_ORDER = "brand, posts DESC, _number"

Status = Literal["fresh", "stale", "missing"]
_log = logging.getLogger(__name__)
# on_step(done, total, what): a progress callback for the rebuild's steps.
StepCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Stamp:
    """What made an analysis; two analyses with equal stamps are equal."""

    code: str
    settings: str
    brands: str
    posts: str

    def differs(self, other: Stamp) -> str:
        """Why `other` is not this stamp, in words ('' when it is)."""
        reasons = {
            "code": "CareBench's analysis code changed",
            "settings": "the analysis settings changed",
            "brands": "the brand config changed",
            "posts": "posts were imported or deleted since",
        }
        return "; ".join(
            why for name, why in reasons.items() if getattr(self, name) != getattr(other, name)
        )


@dataclass(frozen=True)
class AnalysisState:
    """Whether the store's persisted analysis can be shown as it is."""

    status: Status
    reason: str = ""


@cache
def code_version() -> str:
    """Hash of the analysis code (`ANALYSIS_CODE`) and `FORMAT_VERSION`."""
    digest = hashlib.sha256(FORMAT_VERSION.encode())
    for name in ANALYSIS_CODE:
        digest.update(name.encode())
        digest.update((_PACKAGE / name).read_bytes())
    return digest.hexdigest()[:16]


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def posts_version(store: Store) -> str:
    """Changes whenever posts can have changed (imports, deletions, the id migration)."""
    return store.posts_version()


def stamp_for(store: Store, settings: Settings | None, brands: BrandConfig | None) -> Stamp:
    """The stamp an analysis of the store as it is now would carry."""
    settings = settings or Settings()
    # Only what the analysis reads: the SLA and sample threshold apply later, per view.
    read = (settings.repeat_contact_days, settings.templates)
    return Stamp(
        code_version(), _digest(read), _digest(brands or BrandConfig()), posts_version(store)
    )


# -- reading -----------------------------------------------------------------------------


def _meta(store: Store) -> dict[str, str]:
    if not _has_tables(store):
        return {}
    rows = store.con.execute(f"SELECT key, value FROM {META_TABLE}").fetchall()
    return {str(k): str(v) for k, v in rows}


def _has_tables(store: Store) -> bool:
    names = [META_TABLE, *TABLES.values()]
    found = store.con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN "
        f"({', '.join('?' for _ in names)})",
        names,
    ).fetchone()
    return bool(found and found[0] == len(names))


def _stored_issues(store: Store) -> dict[str, int]:
    """The data-quality counts kept with the persisted analysis."""
    return {str(k): int(v) for k, v in json.loads(_meta(store).get("issues", "{}")).items()}


def stored_stamp(store: Store) -> Stamp | None:
    """The stamp of the store's persisted analysis (None: there is none)."""
    meta = _meta(store)
    if "stamp" not in meta:
        return None
    return Stamp(**json.loads(meta["stamp"]))


def analysis_state(
    store: Store, settings: Settings | None = None, brands: BrandConfig | None = None
) -> AnalysisState:
    """Fresh (readable as it is), stale (made from other posts/code/settings) or missing."""
    stored = stored_stamp(store)
    if stored is None:
        return AnalysisState("missing", "the store holds no analysis yet")
    reason = stored.differs(stamp_for(store, settings, brands))
    return AnalysisState("stale", reason) if reason else AnalysisState("fresh")


def read_analysis(store: Store) -> Analysis:
    """The persisted analysis, as a fresh `pipeline.analyse_posts` gives it.

    Raises `LookupError` when the store has none; check `analysis_state` first.
    """
    conversations, templates, issues = read_summary(store)
    return Analysis(
        conversations=conversations, turns=read_turns(store), templates=templates, issues=issues
    )


def _layout(store: Store) -> dict[str, list[list[str]]]:
    meta = _meta(store)
    if "layout" not in meta:
        raise LookupError(f"{store.path} holds no persisted analysis")
    layout: dict[str, list[list[str]]] = json.loads(meta["layout"])
    return layout


def read_summary(store: Store) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """The persisted conversations, templates and data-quality counts (not the turns:
    most pages need none, and they are three quarters of the reading)."""
    layout = _layout(store)
    con = store.con
    conversations = _frame(
        _ordered(
            con,
            TABLES["conversations"],
            f"SELECT rowid FROM {TABLES['conversations']} ORDER BY {CONVERSATION_ORDER}",
        ),
        layout["conversations"],
    )
    templates = _frame(
        _ordered(
            con,
            TABLES["templates"],
            f"SELECT rowid FROM {TABLES['templates']} ORDER BY {TEMPLATE_ORDER}",
        ),
        layout["templates"],
    )
    if "examples" in templates.columns:
        # Lists come back as arrays; the analysis gives lists of str.
        examples = [
            [str(v) for v in value] if value is not None else value
            for value in templates["examples"]
        ]
        templates["examples"] = pd.Series(examples, index=templates.index, dtype=object)
    issues = _stored_issues(store)
    return conversations, templates, issues


def read_turns(store: Store, *, ordered: bool = True) -> pd.DataFrame:
    """The persisted turns, in the order (and with the row keys) of a fresh analysis.

    `ordered=False` gives the same rows in the order the store finds them: each still
    knows its conversation's row (`_root`), `_pos` numbers them as read. For readers to
    whom the order means nothing (the dashboard indexes the turns by conversation and
    sorts a thread when it shows one): no sort of 2.8M keys and take of every row.
    """
    turns = TABLES["turns"]
    # Each turn's conversation: its row in `conversations` (the turns' `_root`).
    ranked = (
        f"SELECT platform, conversation_id, opened_at, row_number() OVER "
        f"(ORDER BY {CONVERSATION_ORDER}) - 1 AS _rank FROM {TABLES['conversations']}"
    )
    if ordered:
        rows = _ordered(
            store.con,
            turns,
            f"SELECT t.rowid, c._rank FROM {turns} t "
            f"JOIN ({ranked}) c USING (platform, conversation_id) ORDER BY {TURN_ORDER}",
        )
    else:
        # One chunk per column: DuckDB hands over thousands, and taking a thread's few
        # rows from thousands of chunks cost ~0.2 s a thread at 2.8M turns.
        rows = (
            store.con.execute(
                f"SELECT t.*, c._rank AS _root FROM {turns} t "
                f"JOIN ({ranked}) c USING (platform, conversation_id)"
            )
            .to_arrow_table()
            .combine_chunks()
        )
    return _frame(rows, _layout(store)["turns"])


def read_conversation_turns(store: Store, keys: list[tuple[str, str]]) -> pd.DataFrame:
    """The persisted turns of a few conversations ((platform, conversation_id) pairs), as
    `read_turns` gives them but for the row keys: `_pos` numbers the rows read, `_root`
    is -1 (these rows are no whole analysis; a thread view needs neither).

    Through the store's index by conversation (`TURNS_INDEX`): milliseconds, where
    reading every turn takes seconds on a big store.
    """
    ids = sorted({conversation_id for _, conversation_id in keys})
    wanted = set(keys)
    if not ids:
        rows = store.con.execute(f"SELECT *, -1 AS _root FROM {TABLES['turns']} LIMIT 0")
    else:
        rows = store.con.execute(
            f"SELECT *, -1::BIGINT AS _root FROM {TABLES['turns']} "
            f"WHERE conversation_id IN ({', '.join('?' for _ in ids)}) "
            "ORDER BY platform, conversation_id, created_at, post_id",
            ids,
        )
    table = rows.to_arrow_table()
    frame = _frame(table, _layout(store)["turns"])
    # Ids are unique per platform only.
    mine = [
        (p, c) in wanted for p, c in zip(frame["platform"], frame["conversation_id"], strict=True)
    ]
    frame = frame[np.asarray(mine, dtype=bool)].reset_index(drop=True)
    frame["_pos"] = np.arange(len(frame), dtype=np.int64)
    return frame


def template_counts(store: Store, template_ids: list[str]) -> dict[str, int]:
    """How many persisted turns belong to each of these templates (`template_sizes` over
    every turn, for a few ids)."""
    if not template_ids:
        return {}
    rows = store.con.execute(
        f"SELECT template_id, count(*) FROM {TABLES['turns']} "
        f"WHERE template_id IN ({', '.join('?' for _ in template_ids)}) GROUP BY template_id",
        template_ids,
    ).fetchall()
    return {str(k): int(v) for k, v in rows}


def has_turns_index(store: Store) -> bool:
    """Whether the store's turns can be found by conversation (`TURNS_INDEX`)."""
    found = store.con.execute(
        "SELECT count(*) FROM duckdb_indexes() WHERE index_name = ?", [TURNS_INDEX]
    ).fetchone()
    return bool(found and found[0])


def _ordered(con: duckdb.DuckDBPyConnection, table: str, order: str) -> pa.Table:
    """Every row of `table` (or of a query giving each row's `_rowid`), in the order the
    `order` query gives their row ids.

    Only the keys are sorted (in DuckDB); the rows, texts included, are scanned as
    stored and taken into that order: sorting whole rows cost 5-10x more.
    """
    scan = (
        table
        if table.lstrip().upper().startswith("SELECT")
        else (f"SELECT rowid AS _rowid, * FROM {table}")
    )
    rows = con.execute(scan).to_arrow_table()
    keys = con.execute(order).fetchnumpy()
    wanted = np.asarray(keys["rowid"])
    stored = rows["_rowid"].to_numpy()
    rows = rows.drop_columns(["_rowid"])
    if len(stored) and (len(stored) != len(wanted) or not np.array_equal(stored, wanted)):
        by_id = np.argsort(stored, kind="stable")
        rows = rows.take(pa.array(by_id[np.searchsorted(stored, wanted, sorter=by_id)]))
    if "_rank" in keys:
        rows = rows.append_column("_root", pa.array(np.asarray(keys["_rank"], dtype=np.int64)))
    return rows


def _frame(table: pa.Table | pd.DataFrame, layout: list[list[str]]) -> pd.DataFrame:
    """A table read back as the frame it was: its columns in order, each in its dtype."""
    frame = table if isinstance(table, pd.DataFrame) else to_frame(table)
    columns: dict[str, object] = {}
    for name, dtype in layout:
        if name == "_pos":
            columns[name] = np.arange(len(frame), dtype=np.int64)
        else:
            columns[name] = _as_dtype(frame[name].reset_index(drop=True), dtype)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))


def _dtype_name(dtype: object) -> str:
    if isinstance(dtype, pd.StringDtype):
        na = "nan" if dtype.na_value is not pd.NA else "na"
        return f"string:{dtype.storage}:{na}"
    return str(dtype)


def _as_dtype(values: pd.Series, name: str) -> pd.Series:
    dtype: Any
    if name.startswith("string:"):
        _, storage, na = name.split(":")
        dtype = pd.StringDtype(storage, na_value=np.nan if na == "nan" else pd.NA)
    elif name == "object":
        return values.astype(object)
    else:
        dtype = pd.api.types.pandas_dtype(name)
    if values.dtype == dtype:
        return values
    if isinstance(dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(dtype.tz).astype(dtype)
    return values.astype(dtype)


# -- writing -----------------------------------------------------------------------------


def canonical(analysis: Analysis) -> Analysis:
    """The analysis with its turns' row keys numbered as a read-back numbers them.

    `_pos` and `_root` are the turn's and its root's rows in the posts one computation
    read, so two reads of the same posts number them differently. Here `_pos` becomes
    the turn's row, `_root` its conversation's row in `conversations` (so a page finds a
    turn's conversation without matching ids), and the turns get a plain row index.
    """
    turns = analysis.turns
    n = len(turns)
    if "_root" in turns.columns and "_pos" in turns.columns:
        root = turns["_root"].to_numpy()
        run = np.cumsum(first_of_runs(root)) - 1
        # One root turn per conversation, in the runs' order; ordered as `conversations`.
        root_turns = np.flatnonzero(turns["_pos"].to_numpy() == root)
        heads = turns[["created_at", "post_id", "platform"]].iloc[root_turns]
        order = conversation_order(heads.reset_index(drop=True), np.arange(len(root_turns)))
        row_of_run = np.empty(len(root_turns), dtype=np.int64)
        row_of_run[order] = np.arange(len(root_turns))
        turns["_root"] = row_of_run[run] if n else run
        turns["_pos"] = np.arange(n, dtype=np.int64)
    turns.index = pd.RangeIndex(n)
    return analysis


def _table_frame(name: str, frame: pd.DataFrame) -> pa.Table:
    """One analysis frame as the rows of its table."""
    kept = frame.drop(columns=[c for c in ROW_KEYS if c in frame.columns])
    if name == "templates":
        # Their order is the analysis's own (by brand, size, number): the number,
        # "{brand}#{n}", is kept as a key.
        number = kept["template_id"].astype("string").str.rsplit("#", n=1).str[-1]
        kept = kept.assign(_number=pd.to_numeric(number).astype("int64"))
    return pa.Table.from_pandas(kept, preserve_index=False)


def _forget_changes(store: Store) -> None:
    """The logged post changes are in the analysis now (see `store.CHANGES_TABLE`)."""
    for table in (CHANGES_TABLE, CHANGE_LOG_TABLE):
        store.con.execute(f"DROP TABLE IF EXISTS {table}")


def _write_meta(store: Store, meta: dict[str, str]) -> None:
    store.con.execute(
        f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)"
    )
    store.con.executemany(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)", list(meta.items()))


def write_analysis(store: Store, analysis: Analysis, stamp: Stamp) -> None:
    """Replace the store's persisted analysis by `analysis`, in one transaction."""
    con = store.con
    layout: dict[str, list[list[str]]] = {}
    with _transaction(store):
        for name, table in TABLES.items():
            frame: pd.DataFrame = getattr(analysis, name)
            layout[name] = [[c, _dtype_name(frame[c].dtype)] for c in frame.columns]
            con.register("_analysis_frame", _table_frame(name, frame))
            try:
                con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _analysis_frame")
            finally:
                con.unregister("_analysis_frame")
        con.execute(f"DROP TABLE IF EXISTS {META_TABLE}")
        _write_meta(
            store,
            {
                "stamp": json.dumps(stamp.__dict__),
                "layout": json.dumps(layout),
                "issues": json.dumps({k: int(v) for k, v in analysis.issues.items()}),
            },
        )
        _forget_changes(store)
    _index_turns(store)


@contextmanager
def _transaction(store: Store) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    store.con.execute("BEGIN TRANSACTION")
    try:
        yield
        store.con.execute("COMMIT")
    except BaseException:
        store.con.execute("ROLLBACK")
        raise


def _insert_rows(store: Store, name: str, frame: pd.DataFrame) -> None:
    """Append an analysis frame's rows to its table (`TABLES[name]`)."""
    store.con.register("_analysis_frame", _table_frame(name, frame))
    try:
        store.con.execute(f"INSERT INTO {TABLES[name]} BY NAME SELECT * FROM _analysis_frame")
    finally:
        store.con.unregister("_analysis_frame")


def _index_turns(store: Store) -> None:
    """Index the turns by conversation (`TURNS_INDEX`), after the tables are committed:
    built inside their transaction, a 2.8M-turn index failed to commit. Later writes to
    the table keep it up to date. It only speeds up opening a thread, so a store where
    it cannot be built (say, out of memory) keeps its analysis and goes without."""
    try:
        store.con.execute(
            f"CREATE INDEX IF NOT EXISTS {TURNS_INDEX} ON {TABLES['turns']} (conversation_id)"
        )
    except duckdb.Error as exc:
        _log.warning("The turns of %s were not indexed by conversation: %s", store.path, exc)


# The column of each table that says which group (brand) a row belongs to.
_GROUP_COLUMN = {"conversations": "brand", "turns": "conversation_brand", "templates": "brand"}


def write_groups(
    store: Store, analysis: Analysis, groups: set[str], stamp: Stamp, issues: dict[str, int]
) -> None:
    """Replace the persisted rows of some groups (brands) by `analysis`, in one transaction.

    `analysis` holds those groups' rows only; `issues` are the new counts of the whole
    store but for the conversation counts, which are taken from the tables here.
    """
    con = store.con
    with _transaction(store):
        con.register("_groups", pa.table({"grp": pa.array(sorted(groups), type=pa.string())}))
        for name, table in TABLES.items():
            column = _GROUP_COLUMN[name]
            con.execute(
                f"DELETE FROM {table} WHERE coalesce({column}, ?) IN (SELECT grp FROM _groups)",
                [UNASSIGNED],
            )
            _insert_rows(store, name, getattr(analysis, name))
        con.unregister("_groups")
        _finish_partial(store, stamp, issues)


def _finish_partial(store: Store, stamp: Stamp, issues: dict[str, int]) -> None:
    """After a partial rewrite (in its transaction): the counts the tables give, the
    stamp, and the change log forgotten."""
    counts = store.con.execute(
        "SELECT count(*), count(*) FILTER (clock_skew), count(*) FILTER (brand IS NULL) "
        f"FROM {TABLES['conversations']}"
    ).fetchone()
    total, skewed, unassigned = (int(v) for v in counts) if counts else (0, 0, 0)
    issues = {
        **issues,
        "conversations": total,
        "clock_skew_conversations": skewed,
        "unassigned_conversations": unassigned,
        "posts_out_of_range": store.count_out_of_range(),
    }
    _write_meta(
        store,
        {
            "stamp": json.dumps(stamp.__dict__),
            "issues": json.dumps({k: int(v) for k, v in issues.items()}),
        },
    )
    _forget_changes(store)


def write_trees(store: Store, redone: Redone, stamp: Stamp) -> None:
    """Replace the persisted rows of some conversations (trees), and what changed
    brand-wide around them (`appended`), in one transaction.

    The touched conversations' rows go and their new ones come; the searched brands'
    templates are replaced, their turns elsewhere take their new template ids (only the
    rows that differ are written) and their conversations the new templated_posts; the
    repeat-contact flags that changed are set.
    """
    con = store.con
    conversations, turns, templates = TABLES["conversations"], TABLES["turns"], TABLES["templates"]
    analysis = redone.analysis
    searched = sorted(redone.searched)
    with _transaction(store):
        con.register("_trees", pa.Table.from_pandas(redone.trees, preserve_index=False))
        for table in (turns, conversations):
            con.execute(
                f"DELETE FROM {table} x USING _trees k "
                "WHERE x.platform = k.platform AND x.conversation_id = k.conversation_id"
            )
        con.unregister("_trees")
        con.register("_searched", pa.table({"b": pa.array(searched, type=pa.string())}))
        con.execute(f"DELETE FROM {templates} WHERE brand IN (SELECT b FROM _searched)")
        for name in TABLES:
            frame: pd.DataFrame = getattr(analysis, name)
            if frame.empty:
                continue  # (no touched conversation: no frame, not even its columns)
            _insert_rows(store, name, frame)
        if searched:
            # Own turns elsewhere whose template moved (ids renumber as templates grow).
            con.register("_ids", redone.template_ids)
            con.execute(
                f"UPDATE {turns} t SET template_id = i.template_id, "
                "templated = i.template_id IS NOT NULL FROM _ids i "
                "WHERE t.platform = i.platform AND t.post_id = i.post_id AND t.is_brand_turn "
                "AND t.conversation_brand IN (SELECT b FROM _searched) "
                "AND t.template_id IS DISTINCT FROM i.template_id"
            )
            con.unregister("_ids")
            con.execute(
                f"UPDATE {conversations} c SET templated_posts = n.templated FROM ("
                "SELECT platform, conversation_id, count(*) FILTER (is_brand_turn AND templated) "
                f"AS templated FROM {turns} WHERE conversation_brand IN (SELECT b FROM _searched) "
                "GROUP BY ALL) n WHERE c.platform = n.platform "
                "AND c.conversation_id = n.conversation_id "
                "AND c.templated_posts IS DISTINCT FROM n.templated"
            )
        con.unregister("_searched")
        if redone.repeats.num_rows:
            con.register("_repeats", redone.repeats)
            con.execute(
                f"UPDATE {conversations} c SET repeat_contact = r.repeat_contact FROM _repeats r "
                "WHERE c.platform = r.platform AND c.conversation_id = r.conversation_id"
            )
            con.unregister("_repeats")
        _finish_partial(store, stamp, analysis.issues)


def save_analysis(store: Store, analysis: Analysis, stamp: Stamp) -> bool:
    """Persist an analysis computed elsewhere, if it is still of the store's posts.

    A reader that analysed the posts with the store closed may find that an import
    landed meanwhile (and persisted its own, newer analysis): then nothing is written
    and this says False.
    """
    if posts_version(store) != stamp.posts:
        return False
    write_analysis(store, analysis, stamp)
    return True


def analysis_brands() -> BrandConfig:
    """The brand config an analysis persisted when data lands uses: $CAREBENCH_BRANDS.

    The dashboard applies that file too, so what lands is what it shows; a CLI command
    given another `--brand-config` computes its own analysis instead of reading this one.
    """
    value = os.environ.get(BRANDS_ENV_VAR, "").strip()
    return load_brand_config(value or None)


@dataclass(frozen=True)
class Refreshed:
    """What `refresh_analysis` redid: every brand (None) or some, and the time it took."""

    brands: tuple[str, ...] | None
    conversations: int
    seconds: float
    trees: bool = False  # only the conversations new posts joined or started were redone


def refresh_analysis(
    store: Store,
    settings: Settings | None = None,
    brands: BrandConfig | None = None,
    *,
    on_step: StepCallback | None = None,
    incremental: bool = True,
) -> Refreshed | None:
    """Bring the store's persisted analysis up to date (a writable store); None if it was.

    When only posts changed since it was made, and the store logged every change
    (`store.CHANGES_TABLE`): if the changes only appended posts, only the conversations
    they join or start, and what is brand-wide around them, are analysed again
    (`appended`); else only the brands those changes touch (`incremental`); else the
    whole store is.
    """
    # Imported here: the pipeline imports this module to read persisted analyses.
    from carebench.benchmark.pipeline import analyse_posts, read_posts

    if analysis_state(store, settings, brands).status == "fresh":
        return None
    started = time.perf_counter()
    step = on_step or (lambda _done, _total, _what: None)
    stamp = stamp_for(store, settings, brands)
    stored = stored_stamp(store)
    if (
        incremental
        and stored is not None
        and (stored.code, stored.settings, stored.brands)
        == (stamp.code, stamp.settings, stamp.brands)
        and change_log_covers(store, stored.posts)
    ):
        redone = _refresh_trees(store, settings, brands or BrandConfig(), stamp, step)
        if redone is None:
            redone = _refresh_groups(store, settings, brands or BrandConfig(), stamp, step)
        if redone is not None:
            return replace(redone, seconds=time.perf_counter() - started)
    step(0, 3, "reading the posts")
    posts = read_posts(store, brands)
    step(1, 3, f"analysing {len(posts):,} posts")
    analysis = analyse_posts(posts, settings, brands)
    del posts
    step(2, 3, "saving the analysis in the store")
    write_analysis(store, analysis, stamp)
    step(3, 3, "done")
    return Refreshed(None, len(analysis.conversations), time.perf_counter() - started)


def _refresh_trees(
    store: Store,
    settings: Settings | None,
    brands: BrandConfig,
    stamp: Stamp,
    step: StepCallback,
) -> Refreshed | None:
    """Re-analyse the trees the logged changes append posts to (`appended`); None when
    the changes are more than appended posts, or when unsure."""
    step(0, 3, "finding the conversations the new posts join")
    issues = _stored_issues(store)
    settings = settings or Settings()
    work = appended.plan(store, brands, issues, settings)
    if work is None:
        return None
    if work.new.empty:  # an import of nothing new: only the stamp moves on
        with _transaction(store):
            _finish_partial(store, stamp, work.issues)
        step(3, 3, "done")
        return Refreshed((), 0, 0.0, trees=True)
    step(1, 3, f"analysing {len(work.new):,} new posts and the conversations they join")
    redone = appended.redo(store, work, settings, brands)
    if redone is None:
        appended.settle(work.searching)
        return None
    step(2, 3, "saving the analysis in the store")
    try:
        write_trees(store, redone, stamp)
    except duckdb.Error:
        return None  # a table's columns do not take these rows: the next path redoes them
    step(3, 3, "done")
    return Refreshed(redone.brands, len(redone.analysis.conversations), 0.0, trees=True)


def _refresh_groups(
    store: Store,
    settings: Settings | None,
    brands: BrandConfig,
    stamp: Stamp,
    step: StepCallback,
) -> Refreshed | None:
    """Re-analyse the groups (brands) the logged changes touch; None if it cannot."""
    step(0, 4, "finding the brands the changes touch")
    groups = read_groups(store, brands)
    touched = touched_groups(store, groups, brands, TABLES["turns"], TABLES["conversations"])
    named = sorted(g for g in touched if g != UNASSIGNED)
    step(1, 4, f"reading the posts of {len(named):,} brand(s)")
    posts = group_posts(store, groups, touched, brands)
    step(2, 4, f"analysing {len(posts):,} posts of {len(named):,} brand(s)")
    accounts, issues = groups.accounts, groups.issues
    del groups
    analysis = analyse(posts, settings, brands, consume=True, accounts=accounts)
    del posts

    def mine(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        keys = frame[column].astype("string").fillna(UNASSIGNED)
        return frame[keys.isin(list(touched)).to_numpy(dtype=bool)]

    part = Analysis(
        conversations=mine(analysis.conversations, "brand"),
        turns=mine(analysis.turns, "conversation_brand"),
        templates=mine(analysis.templates, "brand"),
        issues={},
    )
    step(3, 4, "saving the analysis in the store")
    try:
        write_groups(store, part, touched, stamp, issues)
    except duckdb.Error:
        return None  # a table's columns do not take these rows: redo it whole
    step(4, 4, "done")
    return Refreshed(tuple(named), len(part.conversations), 0.0)
