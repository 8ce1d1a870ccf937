"""Store -> cached analysis -> the filtered view every page renders.

The analysis is not computed here: whoever lands data (`carebench import`, `collect`,
`delete`, `demo`, the Data page's upload) persists it in the store
(`carebench.benchmark.persisted`), and the dashboard reads those tables, about a second
for a million posts. It is cached per store *version* (path, number of imports, last
import id, posts, brand config): an import changes the version and the next run reads
the store again; pinning a thread does not. The DuckDB file is opened read-only and
closed as soon as it is read, so the CLI can import while the dashboard runs.

A store whose analysis is missing or stale (made by other code, settings, brand config
or posts: a store filled by an older CareBench, or a changed CAREBENCH_BRANDS) is
analysed once, with a progress bar on the page (`ensure_analysis`), the store closed
meanwhile; the result is then saved into the store (opened read-write for that write
only) so the next server start reads it. When the store cannot be written just then (a
`carebench import` holds it, or the file is read-only), the analysis is kept in this
server's memory and the page says so: `carebench analyse` saves it.
Filtering is cheap and happens on every run, outside the cache.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar, cast

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.logger import get_logger

from carebench.benchmark.anonymise import key_file_for, use_key_file
from carebench.benchmark.arrow_text import as_arrow
from carebench.benchmark.persisted import (
    BRANDS_ENV_VAR,
    AnalysisState,
    Stamp,
    StepCallback,
    analysis_state,
    has_turns_index,
    read_conversation_turns,
    read_summary,
    read_turns,
    refresh_analysis,
    save_analysis,
    stamp_for,
    template_counts,
)
from carebench.benchmark.pipeline import analyse_posts, read_posts
from carebench.benchmark.scorecard import Period, scorecard
from carebench.benchmark.scoring import Analysis
from carebench.benchmark.settings import Settings
from carebench.benchmark.view import view_mask
from carebench.brands import load_brand_config
from carebench.dashboard.escaping import code, file_name, md, without_folders
from carebench.dashboard.filters import FilterOptions, Filters, sidebar, sources_asked
from carebench.dashboard.page_guard import activity
from carebench.dashboard.reply_only import explain, is_reply_only, style_table
from carebench.dashboard.thread_view import ThreadIndex, template_sizes, thread_index, warm_up
from carebench.demo import DEMO_DB, build_demo_store
from carebench.errors import CareBenchError, UnreadableFile
from carebench.ingest import check_twcs_files, import_twcs_files
from carebench.store import DEFAULT_DB, ImportSummary, Store, resolve_db_path

# The name `carebench.demo` gives the generated CSV it imports: a store whose every
# import has this name holds generated data only, wherever the file was moved.
DEMO_SOURCE_NAME = "demo_twcs.csv"
# Rejected rows shown on the Data page; the store keeps them all.
REJECTED_ROWS_SHOWN = 1000

StoreVersion = tuple[str, int, int, int, int]
_T = TypeVar("_T")
_log = get_logger("carebench.dashboard")


@dataclass(frozen=True)
class LoadedStore:
    """Everything read from one version of a store, in one open/close."""

    analysis: Analysis
    imports: pd.DataFrame
    rejected: pd.DataFrame
    posts: int
    generated: bool
    options: FilterOptions
    # Whether a thread's turns can be read from the store by conversation (an index, see
    # `view_thread`); False for an analysis kept in memory or an older store.
    indexed: bool = False


@dataclass(frozen=True)
class View:
    """What a page renders: the (maybe anonymised) analysis and the filtered slices."""

    store_path: Path
    is_demo: bool
    analysis: Analysis
    filters: Filters
    settings: Settings
    conversations: pd.DataFrame
    loaded: LoadedStore
    version: StoreVersion
    # Which of `analysis.conversations` the filters keep (`conversations` are those).
    mask: np.ndarray
    # Each conversation's source (import file or collector), aligned on
    # `analysis.conversations`; None when not known.
    sources: pd.Series | None = None

    @functools.cached_property
    def turns(self) -> pd.DataFrame:
        """The turns of the conversations in view (read on first use: see `StoredAnalysis`)."""
        positions = _cached_positions(self.version, self.filters.anonymise)
        return select_turns(self.analysis.turns, self.mask, positions)

    @property
    def brands(self) -> tuple[str, ...]:
        """Focus brand first, then the competitors."""
        return self.filters.brands

    def scorecard(self, period: Period | None = None) -> pd.DataFrame:
        """`scorecard` of the conversations in view (a copy of a result kept for reruns
        and page changes with the same filters and SLA: on a big store it is a fifth of
        a page's time)."""
        key = (self.version, _mask_key(self.filters), self.filters.sla_minutes, period)
        card = _recent_cards.get(key, lambda: scorecard(self.conversations, self.settings, period))
        return card.copy()

    @property
    def templates(self) -> pd.DataFrame:
        """The top templates of the brands in view."""
        templates = self.analysis.templates
        return templates[templates["brand"].isin(list(self.brands))]


@dataclass(frozen=True)
class ThreadLookup:
    """What opening a thread needs besides its turns: where each conversation's turns
    are, and how often each template was sent."""

    index: ThreadIndex
    sizes: dict[str, int]


def thread_lookup(analysis: Analysis) -> ThreadLookup:
    """Index the analysis' turns by conversation; count its templates (see `template_sizes`)."""
    warm_up()
    return ThreadLookup(
        thread_index(analysis.turns), template_sizes(analysis.turns, analysis.templates)
    )


class StoredAnalysis(Analysis):
    """An `Analysis` read from the store whose turns arrive from a background read.

    The turns are three quarters of what a store's analysis reads, and only the
    Conversations page needs them: the first page renders from the conversations while
    a worker thread reads the turns, then indexes them by conversation (`lookup`);
    whoever needs them first waits for the rest.
    """

    _turns: pd.DataFrame | None
    _pending: Future[pd.DataFrame] | None
    _lookup: Future[ThreadLookup] | None

    def __init__(
        self,
        conversations: pd.DataFrame,
        turns: pd.DataFrame | None = None,
        templates: pd.DataFrame | None = None,
        issues: dict[str, int] | None = None,
        *,
        pending: Future[pd.DataFrame] | None = None,
    ) -> None:
        # Set as the frozen dataclass sets its fields; `turns` is the property below.
        object.__setattr__(self, "conversations", conversations)
        object.__setattr__(self, "templates", templates)
        object.__setattr__(self, "issues", issues or {})
        object.__setattr__(self, "_turns", turns)
        object.__setattr__(self, "_pending", pending)
        object.__setattr__(self, "_lookup", None)

    @property
    def turns(self) -> pd.DataFrame:
        if self._turns is None:
            assert self._pending is not None
            activity.needed()  # a page waits for them: the read must not hold back
            object.__setattr__(self, "_turns", self._pending.result())
        turns = self._turns
        assert turns is not None
        return turns

    @property
    def lookup_ready(self) -> bool:
        """Whether the worker has read and indexed the turns (`lookup` will not wait)."""
        return self._lookup is not None and self._lookup.done()

    @property
    def lookup(self) -> ThreadLookup:
        """The turns' `ThreadLookup`, made by the worker once they are read."""
        if not self.lookup_ready:
            activity.needed()  # a page waits for it: the read must not hold back
        if self._lookup is None:
            object.__setattr__(self, "_lookup", _done(thread_lookup(self)))
        assert self._lookup is not None
        return self._lookup.result()


def _done(value: _T) -> Future[_T]:
    future: Future[_T] = Future()
    future.set_result(value)
    return future


# One worker reads turns in the background (see `StoredAnalysis`); a write to the store
# from this process waits for it (`wait_for_reads`): DuckDB refuses a read-write
# connection to a file this process has open read-only.
def _in_background() -> None:
    """Run this worker thread at a lower priority than the pages (Linux, where a thread
    has its own nice value): a read no page waits for must not slow the page a user
    waits for."""
    if sys.platform.startswith("linux"):
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


# The nice value of the background readers' threads (0 is the pages').
BACKGROUND_NICE = 10
_turn_reader = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="carebench-turns", initializer=_in_background
)
_pending_reads: dict[str, Future[pd.DataFrame]] = {}


# The background read of the turns starts once pages have paused this long (the user
# reads one), or when a page needs the turns, and after this long at most.
QUIET_SECONDS = 1.0
LONGEST_HOLD_SECONDS = 15.0


def _read_turns_and_close(store: Store) -> pd.DataFrame:
    # While the user reads a page, not while pages are drawn (see `page_guard.Activity`).
    activity.wait_for_a_pause(QUIET_SECONDS, LONGEST_HOLD_SECONDS)
    try:
        # On this (low-priority) thread only: DuckDB's own threads would run the query at
        # the pages' priority. The setting is the database's, so pages' queries meanwhile
        # run on one thread too (they are small).
        with _one_duckdb_thread(store):
            # In any order: the dashboard finds a conversation's turns through its index.
            return read_turns(store, ordered=False)
    finally:
        store.close()


# Per store: how many background reads run on one DuckDB thread, and the thread count
# to give back when the last ends (the setting is the database's, shared by the turns'
# and the sources' readers: each restoring what it saw could leave one thread for good).
_narrowed: dict[str, tuple[int, int]] = {}
_narrowed_lock = threading.Lock()


@contextmanager
def _one_duckdb_thread(store: Store) -> Iterator[None]:
    key = str(store.path)
    with _narrowed_lock:
        users, threads = _narrowed.get(key, (0, 0))
        if users == 0:
            row = store.con.execute("SELECT current_setting('threads')").fetchone()
            threads = int(row[0]) if row else 0
            store.con.execute("SET threads = 1")
        _narrowed[key] = (users + 1, threads)
    try:
        yield
    finally:
        with _narrowed_lock:
            users, threads = _narrowed.pop(key)
            if users > 1:
                _narrowed[key] = (users - 1, threads)
            elif threads > 0:
                store.con.execute(f"SET threads = {threads}")


def wait_for_reads(path: Path) -> None:
    """Let the background reads of this store finish (and close it) before writing to it."""
    activity.needed()  # a read held back for a pause starts now
    key = str(path.resolve())
    for pending in (_pending_reads.get(key), _pending_sources.get(key)):
        if pending is not None:
            with suppress(Exception):  # its reader sees the error, not the writer
                pending.result()


@contextmanager
def writable_store(path: Path) -> Iterator[Store]:
    """The store opened read-write for one write from the dashboard.

    Every write goes through here: it first lets this process's background read of the
    store finish (`wait_for_reads`), since DuckDB refuses a read-write connection to a
    file the same process still has open read-only.
    """
    wait_for_reads(path)
    with Store(path) as store:
        yield store


class _Recent:
    """The last few results of a costly per-view computation, by what decides them.

    A page change or a rerun with the same filters (a click in a table, a chart's
    selection) reuses them instead of recomputing over every conversation. Sessions run
    in threads: a result computed twice at once is harmless, so only the dict is locked.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return cast(_T, self._items[key])
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


# Filtered conversations hold half a big store's conversations each: a few only.
_recent_views = _Recent(3)
_recent_cards = _Recent(16)


def _mask_key(filters: Filters) -> Filters:
    """The filters that decide which conversations a view holds (not the SLA)."""
    return replace(filters, sla_minutes=0)


# -- choosing and versioning the store ------------------------------------------------


def brands_path() -> Path | None:
    """The brand config the dashboard applies: $CAREBENCH_BRANDS, like the CLI's --brand-config."""
    value = os.environ.get(BRANDS_ENV_VAR, "").strip()
    return Path(value) if value else None


def store_version(path: Path) -> StoreVersion:
    """Changes whenever an import lands in the store (posts change only by imports), or
    the brand config file changes.

    Not the store file's modification time: pinning a thread writes to the file too, and
    must not make the next run re-read and re-score every post.
    """
    return inspect_store(path)[0]


# The last inspection of each store, with the files' state it was made from.
_inspected: dict[str, tuple[tuple[object, ...], tuple[StoreVersion, AnalysisState]]] = {}


def _files_state(path: Path) -> tuple[object, ...]:
    """The store's and its write-ahead log's size and modification time, and the brand
    config's: whatever lands in the store changes one of them."""
    config = brands_path()
    stamps: list[object] = [str(config)]
    for file in (path, path.with_name(path.name + ".wal"), config):
        try:
            stat = file.stat() if file is not None else None
        except OSError:
            stat = None
        stamps.append((stat.st_size, stat.st_mtime_ns) if stat else None)
    return tuple(stamps)


def inspect_store(path: Path) -> tuple[StoreVersion, AnalysisState]:
    """The store's version and whether its persisted analysis is up to date (one open).

    Every page run asks, so while none of the store's files changed (no import, no pin:
    the usual case) the last answer is given without opening the store: on a big store,
    opening it while the turns are read in the background cost a fifth of a second.
    """
    key = str(path.resolve())
    files = _files_state(path)
    last = _inspected.get(key)
    if last is not None and last[0] == files:
        return last[1]
    found = _inspect(path)
    _inspected[key] = (files, found)
    return found


def _inspect(path: Path) -> tuple[StoreVersion, AnalysisState]:
    brands = load_brand_config(brands_path())
    with Store(path, read_only=True) as store:
        imports, last_import = store.import_version()
        posts = store.count_posts()
        state = analysis_state(store, brands=brands)
    config = brands_path()
    config_stamp = config.stat().st_mtime_ns if config and config.exists() else 0
    return (str(path.resolve()), imports, last_import, posts, config_stamp), state


def is_demo_path(path: Path) -> bool:
    """The demo store's own file (data/demo.duckdb under the working directory)."""
    return path.resolve() == DEMO_DB.resolve()


_demo_lock = threading.Lock()


def choose_store() -> tuple[Path, bool]:
    """The store to show: resolve_db_path() if it exists, else the (built) demo store."""
    path = resolve_db_path()
    if path.exists():
        return path, is_demo_path(path)
    # One build per process even when several browser sessions open at once.
    with _demo_lock:
        if not DEMO_DB.exists():
            # Said before anything else is drawn: the first open takes a while.
            with st.status(
                "Preparing the demo store (first start only)...", expanded=True
            ) as status:
                st.write(
                    "There is no store yet, so CareBench builds a demo one from generated "
                    "data: a dozen made-up brands with different care styles. It generates "
                    "the posts, imports them and analyses every conversation once; later "
                    "starts open it at once."
                )
                bar = st.progress(0.0, text="Generating posts...")
                build_demo_store(DEMO_DB, on_step=_progress_to(bar))
                status.update(
                    label="Demo store ready: generated and analysed.",
                    state="complete",
                    expanded=False,
                )
    return DEMO_DB, True


def _progress_to(bar: DeltaGenerator) -> StepCallback:
    """A progress callback drawing on a `st.progress` bar."""

    def on_step(done: int, total: int, what: str) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"{what[:1].upper()}{what[1:]}...")

    return on_step


def upload_target(store_path: Path, is_demo: bool) -> Path:
    """Where an upload lands: the current store, or a real store when showing the demo.

    Generated and real posts must never mix, so on the demo store an upload goes to the
    store the dashboard would open by default (CAREBENCH_DB, else data/carebench.duckdb),
    or to data/carebench.duckdb when CAREBENCH_DB points at the demo itself.
    """
    if not is_demo:
        return store_path
    real = resolve_db_path()
    if real.resolve() == store_path.resolve():
        return DEFAULT_DB
    return real


# -- reading (cached) -------------------------------------------------------------------


def read_store(path: Path, rebuilt: Analysis | None = None) -> LoadedStore:
    """Read one store: its persisted analysis, or `rebuilt` (an analysis of this version
    kept in memory because it could not be saved), or else an analysis computed now.

    The store is opened read-only, and closed before any analysis computes: DuckDB locks
    the file while any connection is open, so `carebench import` can land meanwhile (this
    read stays one consistent version, and the next page load sees the import).
    """
    brands = load_brand_config(brands_path())
    read = None
    analysis: Analysis | None = rebuilt
    store = Store(path, read_only=True)
    try:
        indexed = False
        if rebuilt is None and analysis_state(store, brands=brands).status == "fresh":
            conversations, templates, issues = read_summary(store)
            analysis = StoredAnalysis(conversations, templates=templates, issues=issues)
            indexed = has_turns_index(store)
        elif rebuilt is None:
            stamp = stamp_for(store, None, brands)
            read = read_posts(store, brands)
        imports = store.imports()
        rejected = store.rejected_rows(limit=REJECTED_ROWS_SHOWN)
        posts = store.count_posts()
    except BaseException:
        store.close()
        raise
    if isinstance(analysis, StoredAnalysis):
        # The turns come on the open store, which the worker closes once they are read.
        pending = _turn_reader.submit(_read_turns_and_close, store)
        _pending_reads[str(path.resolve())] = pending
        object.__setattr__(analysis, "_pending", pending)
        # Then, on the same worker, what the Conversations page would build on its
        # first visit (a second on 2.8M posts).
        object.__setattr__(analysis, "_lookup", _turn_reader.submit(thread_lookup, analysis))
    else:
        store.close()
    if analysis is None:
        assert read is not None
        analysis = analyse_posts(read, brands=brands)
        del read  # emptied by the analysis
        _try_to_save(path, analysis, stamp)
    sources = imports["source"].astype(str) if len(imports) else pd.Series(dtype=str)
    generated = bool(len(sources)) and bool(
        sources.map(lambda s: Path(s).name == DEMO_SOURCE_NAME).all()
    )
    options = FilterOptions.from_conversations(analysis.conversations)
    return LoadedStore(analysis, imports, rejected, posts, generated, options, indexed)


def _try_to_save(path: Path, analysis: Analysis, stamp: Stamp) -> bool:
    """Save an analysis into the store, opened read-write for the write only.

    False when the store cannot be written now (an import holds it, the file or its
    folder is read-only) or its posts changed since they were read.
    """
    try:
        with writable_store(path) as store:
            return save_analysis(store, analysis, stamp)
    except (CareBenchError, duckdb.Error, OSError) as exc:
        _log.info("Could not save the analysis in %s: %s", path, exc)
        return False


# Analyses computed by this server that could not be saved in their store, per version.
_unsaved: dict[StoreVersion, Analysis] = {}
_analysis_lock = threading.Lock()


def ensure_analysis(path: Path, version: StoreVersion, state: AnalysisState) -> None:
    """Analyse a store whose persisted analysis is missing or stale, with a progress bar.

    Once per version: the result is saved in the store, or kept in memory (and the page
    says how to save it) when the store cannot be written now.
    """
    if state.status == "fresh" or version in _unsaved:
        return
    with _analysis_lock:  # one analysis at a time, whatever the number of sessions
        if version in _unsaved:
            return
        brands = load_brand_config(brands_path())
        with Store(path, read_only=True) as store:
            if analysis_state(store, brands=brands).status == "fresh":
                return  # another session or `carebench analyse` did it meanwhile
            stamp = stamp_for(store, None, brands)
        why = "it has none yet" if state.status == "missing" else state.reason
        with st.status(f"Analysing the store: {why}...", expanded=True) as status:
            st.write(
                "CareBench rebuilds every conversation and scores it once, then keeps the "
                "result in the store, so the next start opens at once."
            )
            bar = st.progress(0.0, text="Reading the posts...")
            on_step = _progress_to(bar)
            with Store(path, read_only=True) as store:
                on_step(0, 3, "reading the posts")
                posts = read_posts(store, brands)
            on_step(1, 3, f"analysing {len(posts):,} posts")
            analysis = analyse_posts(posts, brands=brands)
            del posts
            on_step(2, 3, "saving the analysis in the store")
            saved = _try_to_save(path, analysis, stamp)
            on_step(3, 3, "done")
            status.update(label=f"Analysed the store ({why}).", state="complete", expanded=False)
        if not saved:
            # Only the store's latest version is kept (the same objects the cache holds).
            for older in [v for v in _unsaved if v[0] == version[0]]:
                del _unsaved[older]
            _unsaved[version] = analysis
            st.warning(
                "The analysis could not be saved in the store just now (another program, "
                "such as `carebench import`, holds it, or it is read-only): it is kept "
                "until the dashboard restarts. Run `carebench analyse` to save it."
            )


# Two versions per store: the one shown and the one replacing it after an import.
@st.cache_resource(max_entries=4, show_spinner="Reading the store...")
def _cached_store(version: StoreVersion) -> LoadedStore:
    return read_store(Path(version[0]), _unsaved.get(version))


@st.cache_resource(max_entries=4, show_spinner="Anonymising...")
def _cached_anonymised(version: StoreVersion) -> Analysis:
    # Imported here: the anonymiser lives in its own module and is only needed on demand.
    from carebench.benchmark.anonymise import anonymise_analysis

    return anonymise_analysis(_cached_store(version).analysis)


# Each conversation's source (import file or collector) is read by a worker of its own:
# on a store of several files it joins every root with its post (1.8 s at 2.8M posts),
# which the first page need not wait for unless the sidebar filters by source.
_source_reader = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="carebench-sources", initializer=_in_background
)
_pending_sources: dict[str, Future[pd.Series]] = {}
# How long the first page of a store version waits for them when it does not need them.
SOURCES_GRACE_SECONDS = 0.25
_graced: set[StoreVersion] = set()


def _read_sources(path: Path, conversations: pd.DataFrame) -> pd.Series:
    # Imported here: only the data-hygiene part of the quality module is needed.
    from carebench.benchmark.quality import conversation_sources

    with Store(path, read_only=True) as store, _one_duckdb_thread(store):
        return conversation_sources(store, conversations)


@st.cache_resource(max_entries=4, show_spinner=False)
def _cached_sources(version: StoreVersion) -> Future[pd.Series]:
    path = Path(version[0])
    job = _source_reader.submit(_read_sources, path, _cached_store(version).analysis.conversations)
    _pending_sources[str(path.resolve())] = job
    return job


def view_sources(version: StoreVersion, *, wait: bool) -> pd.Series | None:
    """Each conversation's source, aligned on the analysis' conversations; None when it
    is still being read and `wait` is off, or the store is busy (then asked again on
    the next run)."""
    job = _cached_sources(version)
    # A store of one file, or a small one, answers within the grace; given once per
    # version, so later runs never wait for a read still going on.
    grace = None if wait else (0.0 if version in _graced else SOURCES_GRACE_SECONDS)
    _graced.add(version)
    try:
        return job.result(timeout=grace)
    except TimeoutError:
        return None
    except CareBenchError:
        _cached_sources.clear()
        return None


@st.cache_resource(max_entries=8, show_spinner=False)
def _cached_positions(version: StoreVersion, anonymised: bool) -> np.ndarray:
    store = _cached_store(version)
    return turn_positions(_cached_anonymised(version) if anonymised else store.analysis)


@st.cache_resource(max_entries=4, show_spinner=False)
def _cached_lookup(version: StoreVersion, anonymised: bool) -> ThreadLookup:
    raw = _cached_store(version).analysis
    if not anonymised and isinstance(raw, StoredAnalysis):
        return raw.lookup
    return thread_lookup(_cached_anonymised(version) if anonymised else raw)


def view_lookup(view: View) -> ThreadLookup:
    """The `ThreadLookup` of the view's analysis (anonymised or not), made once per store
    version; template counts do not depend on anonymising (template ids name brands)."""
    return _cached_lookup(view.version, view.filters.anonymise)


# Threads read from the store before the whole turns are (see `view_thread`).
_early_threads = _Recent(64)


def view_thread(
    view: View, platform: str, conversation_id: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The turns of one conversation of the view, and the template counts (`template_sizes`)
    its annotations read.

    From the turns in memory once the worker has read and indexed them (`view_lookup`).
    Before that (the first seconds after a server start: 4-10 s for 2.8M posts), from the
    store, through its index by conversation (milliseconds), so the Conversations page
    shows its threads without waiting for every turn. An anonymised view always uses
    its (anonymised) turns in memory: anonymising reads every turn anyway.
    """
    raw = view.loaded.analysis
    early = (
        view.loaded.indexed
        and not view.filters.anonymise
        and isinstance(raw, StoredAnalysis)
        and not raw.lookup_ready
    )
    if not early:
        lookup = view_lookup(view)
        thread = view.analysis.turns.iloc[lookup.index.positions(platform, conversation_id)]
        return thread, lookup.sizes
    return _early_threads.get(
        (view.version, platform, conversation_id),
        lambda: _thread_from_store(view, platform, conversation_id),
    )


def _thread_from_store(
    view: View, platform: str, conversation_id: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    with Store(view.store_path, read_only=True) as store:
        thread = read_conversation_turns(store, [(platform, conversation_id)])
        ids = sorted(set(thread["template_id"].dropna().astype(str)))
        sizes = template_counts(store, ids)
    # As `template_sizes`: the top-templates count (every post the brand wrote) where known.
    templates = view.analysis.templates
    if {"template_id", "posts"} <= set(templates.columns):
        known = templates[templates["template_id"].astype("string").isin(ids).fillna(False)]
        sizes.update(
            {str(k): int(v) for k, v in zip(known["template_id"], known["posts"], strict=True)}
        )
    return thread, sizes


# The last good read of each store, for when a read fails (the CLI holds the file
# for an import): the page keeps showing the data as it was, and says so.
_last_good: dict[str, tuple[StoreVersion, LoadedStore]] = {}


def load_store(path: Path) -> tuple[StoreVersion, LoadedStore]:
    """The cached read of the store's current version (or the last good one, with a note)."""
    key = str(path.resolve())
    try:
        version, state = inspect_store(path)
        ensure_analysis(path, version, state)
        loaded = _cached_store(version)
    except CareBenchError as exc:
        if key not in _last_good:
            raise
        st.warning(f"Could not re-read the store just now ({md(exc)}). Showing it as last read.")
        return _last_good[key]
    _last_good[key] = (version, loaded)
    return version, loaded


# -- filtering (every run, not cached) -----------------------------------------------------


def conversation_mask(conversations: pd.DataFrame, filters: Filters) -> np.ndarray:
    """Which conversations the filters keep: brand, opening day (UTC) and platform."""
    return view_mask(
        conversations,
        brands=filters.brands,
        start=filters.start,
        end=filters.end,
        platform=filters.platform,
    )


def filter_conversations(conversations: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Conversations of the chosen brands, opened on the chosen days, on the platform."""
    return conversations[conversation_mask(conversations, filters)]


def turn_positions(analysis: Analysis) -> np.ndarray:
    """For each turn, the row of its conversation in `analysis.conversations` (-1: none).

    Computed once per analysis (cached), so selecting a view's turns is an array lookup
    instead of matching string ids on every run.
    """
    conversations, turns = analysis.conversations, analysis.turns
    if "_root" in turns.columns and len(turns):
        # An analysis from the pipeline or the store numbers each turn's conversation by
        # its row (`persisted.canonical`): checked, it saves matching every id.
        rows = turns["_root"].to_numpy()
        if rows.min() >= 0 and rows.max() < len(conversations):
            same = all(
                pc.all(
                    pc.equal(
                        as_arrow(conversations[c].astype("string")).take(pa.array(rows)),
                        as_arrow(turns[c].astype("string")),
                    )
                ).as_py()
                for c in ("platform", "conversation_id")
            )
            if same:
                return rows.astype(np.int64)
    keys = pd.MultiIndex.from_arrays(
        [conversations["platform"].astype(str), conversations["conversation_id"].astype(str)]
    )
    wanted = pd.MultiIndex.from_arrays(
        [turns["platform"].astype(str), turns["conversation_id"].astype(str)]
    )
    return np.asarray(keys.get_indexer(wanted))


def select_turns(turns: pd.DataFrame, mask: np.ndarray, positions: np.ndarray) -> pd.DataFrame:
    """The turns whose conversation the mask keeps."""
    keep = np.zeros(len(turns), dtype=bool)
    known = positions >= 0
    keep[known] = mask[positions[known]]
    return turns[keep]


def turns_of(turns: pd.DataFrame, conversations: pd.DataFrame) -> pd.DataFrame:
    """The turns of some conversations (conversation ids are per platform)."""
    keep = turns["conversation_id"].isin(conversations["conversation_id"].to_numpy())
    selected = turns[keep.to_numpy(dtype=bool)]
    # Ids are unique per platform only: with several platforms, match on both.
    if selected["platform"].nunique() > 1:
        pairs = pd.MultiIndex.from_frame(conversations[["platform", "conversation_id"]])
        own = pd.MultiIndex.from_frame(selected[["platform", "conversation_id"]]).isin(pairs)
        selected = selected[own]
    return selected


def _filtered(
    analysis: Analysis, filters: Filters, sources: pd.Series | None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Which conversations the filters keep (brands, days, platform, sources), and those."""
    mask = conversation_mask(analysis.conversations, filters)
    if filters.sources and sources is not None:
        mask = mask & sources.isin(list(filters.sources)).to_numpy(dtype=bool)
    return mask, analysis.conversations[mask]


def load_view(
    *, require_data: bool = True, reply_only_ok: bool = False, need_sources: bool = False
) -> View:
    """Read (cached) and filter the store; render the sidebar and the demo banner.

    With `require_data` (every page but Data) the page stops with a plain message when
    no conversation matches the filters, instead of drawing empty charts. A store of
    brand replies only (no conversation at all) says why instead, and pages that can
    show such a store (`reply_only_ok`: templates) go on. `need_sources`: the page shows
    each conversation's source (`View.sources`), so it waits for them to be read.
    """
    path, is_demo = choose_store()
    # Before the sidebar: it already writes the open thread's pseudonym into the address.
    use_key_file(key_file_for(path))
    try:
        version, loaded = load_store(path)
    except CareBenchError as exc:
        st.error(md(without_folders(str(exc), path)))
        st.stop()
    is_demo = is_demo or loaded.generated
    # Waited for when a page or the filters need them; else used once read (meanwhile
    # the sidebar offers no source filter: a store of one file has none anyway).
    sources = view_sources(version, wait=need_sources or sources_asked())
    names = tuple(sorted(map(str, sources.dropna().unique()))) if sources is not None else ()
    options = replace(loaded.options, sources=names)
    reply_only = is_reply_only(loaded.posts, loaded.analysis.conversations)
    if reply_only:
        # No conversation names a brand: the brands are those who wrote the posts.
        style = style_table(version, brands_path(), loaded.analysis.templates)
        options = replace(options, brands=tuple(style["Brand"].astype(str)))
    filters = sidebar(options, version)
    if is_demo:
        demo_banner()
    analysis = loaded.analysis
    if filters.anonymise:
        try:
            analysis = _cached_anonymised(version)
        except ImportError:
            # Never fall back to showing handles when the user asked to hide them.
            st.error("Anonymising is not available in this installation; nothing is shown.")
            st.stop()
    mask, conversations = _recent_views.get(
        (version, _mask_key(filters)), lambda: _filtered(analysis, filters, sources)
    )
    view = View(
        store_path=path,
        is_demo=is_demo,
        analysis=analysis,
        filters=filters,
        settings=Settings(sla_seconds=filters.sla_seconds),
        conversations=conversations,
        loaded=loaded,
        version=version,
        mask=mask,
        sources=sources,
    )
    if require_data and view.conversations.empty:
        if reply_only:
            explain(loaded.posts)
            if reply_only_ok:
                return view
            st.stop()
        if loaded.posts == 0:
            st.info(
                f"The store {code(file_name(path))} holds no posts yet. Import a TWCS CSV on "
                "the Data page or with `carebench import twcs FILE.csv`."
            )
        else:
            st.warning(
                "No conversation matches these filters. Choose a focus brand, competitors "
                "or a wider date range in the sidebar."
            )
        st.stop()
    return view


def demo_banner() -> None:
    """Said on every page of the demo store: generated data, and how to load real data."""
    st.info(
        "**Demo data.** These conversations are generated: a dozen made-up brands with "
        "different care styles, not real companies. To see real data, import a TWCS CSV "
        "with `carebench import twcs FILE.csv` (then reload this page) or upload one on "
        "the **Data** page.",
        icon=":material/science:",
    )


# -- importing an upload ------------------------------------------------------------------


def import_uploads(target: Path, files: Sequence[tuple[str, bytes]]) -> list[ImportSummary]:
    """Import uploaded TWCS files into `target` with the CLI's rules: all or nothing.

    The files are checked before the store is opened, so a file that is not TWCS
    leaves the store untouched (and uncreated); the store is opened read-write only for
    the import itself. Raises the same `CareBenchError`s as `carebench import twcs`.
    """
    existed = target.exists()
    with tempfile.TemporaryDirectory(prefix="carebench-upload-") as scratch:
        paths = []
        for index, (name, content) in enumerate(files):
            # A folder per file keeps the user's file name (messages name it) even when
            # two uploads share a name.
            folder = Path(scratch) / str(index)
            folder.mkdir()
            path = folder / _upload_name(name)
            try:
                path.write_bytes(content)
            except OSError as exc:
                raise UnreadableFile(_unsaved_message(path.name, exc)) from None
            paths.append(path)
        try:
            check_twcs_files(paths)
            with writable_store(target) as store:
                summaries = import_twcs_files(store, paths)
        except CareBenchError as exc:
            if not existed:
                # A store created for a failed import would hold nothing: remove it, so
                # "nothing changed" is true for the file system too.
                for leftover in (target, target.with_name(target.name + ".wal")):
                    leftover.unlink(missing_ok=True)
            raise type(exc)(_unscratch(str(exc), scratch)) from exc
    _analyse_landed(target)
    return [replace(s, source=_unscratch(s.source, scratch)) for s in summaries]


def _analyse_landed(target: Path) -> None:
    """Persist the analysis of the posts an upload landed, with a progress bar.

    The import has landed whatever happens here: if the analysis cannot be saved, the
    next page load rebuilds it (with its own progress bar).
    """
    bar = st.progress(0.0, text="Analysing the store...")
    try:
        with writable_store(target) as store:
            refresh_analysis(
                store, brands=load_brand_config(brands_path()), on_step=_progress_to(bar)
            )
    except (CareBenchError, duckdb.Error, OSError) as exc:
        _log.warning("The upload landed in %s, but its analysis was not saved: %s", target, exc)
    finally:
        bar.empty()


def _upload_name(name: str) -> str:
    """The name an upload is saved under: the browser's, minus any folder or NUL."""
    base = Path(name.replace("\x00", "")).name
    return base if base not in ("", ".", "..") else "upload.csv"


def _unsaved_message(name: str, exc: OSError) -> str:
    shown = name if len(name) <= 60 else f"{name[:40]}...{name[-12:]}"
    if exc.errno == errno.ENAMETOOLONG:
        return (
            f"The upload's file name is too long ({len(name):,} characters): {shown}. "
            "Rename the file to a shorter name and upload it again."
        )
    return (
        f"Cannot save the upload {shown} for importing: {exc.strerror or exc}. "
        "Free some space in the temporary folder, or import it with `carebench import twcs`."
    )


def _unscratch(text: str, scratch: str) -> str:
    """Messages name the uploaded file, not the temporary folder it was saved in."""
    return re.sub(re.escape(scratch) + r"/\d+/", "", text)
