"""Store -> cached analysis -> the filtered view every page renders.

Reading the store is the slow part, so it is cached per store *version* (path, number
of imports, last import id, posts): an import by the CLI or the Data page changes the
version and the next run reads the store again; pinning a thread does not.
The DuckDB file is opened read-only and closed as soon as it is read, so the CLI can
import while the dashboard runs. Filtering is cheap and happens on every run,
outside the cache.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from carebench.benchmark.anonymise import key_file_for, use_key_file
from carebench.benchmark.pipeline import analyse_posts, read_posts
from carebench.benchmark.scoring import Analysis
from carebench.benchmark.settings import Settings
from carebench.brands import load_brand_config
from carebench.dashboard.escaping import code, file_name, md, without_folders
from carebench.dashboard.filters import FilterOptions, Filters, sidebar
from carebench.dashboard.reply_only import explain, is_reply_only, style_table
from carebench.demo import DEMO_DB, build_demo_store
from carebench.errors import CareBenchError, UnreadableFile
from carebench.ingest import check_twcs_files, import_twcs_files
from carebench.store import DEFAULT_DB, ImportSummary, Store, resolve_db_path

# The name `carebench.demo` gives the generated CSV it imports: a store whose every
# import has this name holds generated data only, wherever the file was moved.
DEMO_SOURCE_NAME = "demo_twcs.csv"
# The brand config file (TOML, see the README), as `--brands` is for the CLI.
BRANDS_ENV_VAR = "CAREBENCH_BRANDS"
# Rejected rows shown on the Data page; the store keeps them all.
REJECTED_ROWS_SHOWN = 1000

StoreVersion = tuple[str, int, int, int, int]


@dataclass(frozen=True)
class LoadedStore:
    """Everything read from one version of a store, in one open/close."""

    analysis: Analysis
    imports: pd.DataFrame
    rejected: pd.DataFrame
    posts: int
    generated: bool
    options: FilterOptions


@dataclass(frozen=True)
class View:
    """What a page renders: the (maybe anonymised) analysis and the filtered slices."""

    store_path: Path
    is_demo: bool
    analysis: Analysis
    filters: Filters
    settings: Settings
    conversations: pd.DataFrame
    turns: pd.DataFrame
    loaded: LoadedStore
    version: StoreVersion
    # Each conversation's source (import file or collector), aligned on
    # `analysis.conversations`; None when not known.
    sources: pd.Series | None = None

    @property
    def brands(self) -> tuple[str, ...]:
        """Focus brand first, then the competitors."""
        return self.filters.brands

    @property
    def templates(self) -> pd.DataFrame:
        """The top templates of the brands in view."""
        templates = self.analysis.templates
        return templates[templates["brand"].isin(list(self.brands))]


# -- choosing and versioning the store ------------------------------------------------


def brands_path() -> Path | None:
    """The brand config the dashboard applies: $CAREBENCH_BRANDS, like the CLI's --brands."""
    value = os.environ.get(BRANDS_ENV_VAR, "").strip()
    return Path(value) if value else None


def store_version(path: Path) -> StoreVersion:
    """Changes whenever an import lands in the store (posts change only by imports), or
    the brand config file changes.

    Not the store file's modification time: pinning a thread writes to the file too, and
    must not make the next run re-read and re-score every post.
    """
    with Store(path, read_only=True) as store:
        imports, last_import = store.import_version()
        posts = store.count_posts()
    config = brands_path()
    config_stamp = config.stat().st_mtime_ns if config and config.exists() else 0
    return (str(path.resolve()), imports, last_import, posts, config_stamp)


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
            with st.spinner("No store yet: building the demo store from generated data..."):
                build_demo_store(DEMO_DB)
    return DEMO_DB, True


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


def read_store(path: Path) -> LoadedStore:
    """Read one store, opened read-only and closed before scoring what it read.

    DuckDB locks the file while any connection is open, and scoring a big store takes
    a while: the store is closed first, so `carebench import` can land meanwhile (this
    read stays one consistent version, and the next page load sees the import).
    """
    brands = load_brand_config(brands_path())
    with Store(path, read_only=True) as store:
        read = read_posts(store, brands)
        imports = store.imports()
        rejected = store.rejected_rows(limit=REJECTED_ROWS_SHOWN)
        posts = store.count_posts()
    analysis = analyse_posts(read, brands=brands)
    del read  # emptied by the analysis
    sources = imports["source"].astype(str) if len(imports) else pd.Series(dtype=str)
    generated = bool(len(sources)) and bool(
        sources.map(lambda s: Path(s).name == DEMO_SOURCE_NAME).all()
    )
    options = FilterOptions.from_conversations(analysis.conversations)
    return LoadedStore(analysis, imports, rejected, posts, generated, options)


# Two versions per store: the one shown and the one replacing it after an import.
@st.cache_resource(max_entries=4, show_spinner="Reading and scoring the store...")
def _cached_store(version: StoreVersion) -> LoadedStore:
    return read_store(Path(version[0]))


@st.cache_resource(max_entries=4, show_spinner="Anonymising...")
def _cached_anonymised(version: StoreVersion) -> Analysis:
    # Imported here: the anonymiser lives in its own module and is only needed on demand.
    from carebench.benchmark.anonymise import anonymise_analysis

    return anonymise_analysis(_cached_store(version).analysis)


@st.cache_resource(max_entries=4, show_spinner=False)
def _cached_sources(version: StoreVersion) -> pd.Series:
    # Imported here: only the data-hygiene part of the quality module is needed.
    from carebench.benchmark.quality import conversation_sources

    with Store(Path(version[0]), read_only=True) as store:
        return conversation_sources(store, _cached_store(version).analysis.conversations)


@st.cache_resource(max_entries=8, show_spinner=False)
def _cached_positions(version: StoreVersion, anonymised: bool) -> np.ndarray:
    store = _cached_store(version)
    return turn_positions(_cached_anonymised(version) if anonymised else store.analysis)


# The last good read of each store, for when a read fails (the CLI holds the file
# for an import): the page keeps showing the data as it was, and says so.
_last_good: dict[str, tuple[StoreVersion, LoadedStore]] = {}


def load_store(path: Path) -> tuple[StoreVersion, LoadedStore]:
    """The cached read of the store's current version (or the last good one, with a note)."""
    key = str(path.resolve())
    try:
        version = store_version(path)
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
    opened = conversations["opened_at"]
    start = pd.Timestamp(filters.start, tz="UTC")
    end = pd.Timestamp(filters.end, tz="UTC") + pd.Timedelta(days=1)
    keep = conversations["brand"].isin(list(filters.brands)) & (opened >= start) & (opened < end)
    if filters.platform:
        keep &= conversations["platform"] == filters.platform
    return keep.fillna(False).to_numpy(dtype=bool)


def filter_conversations(conversations: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Conversations of the chosen brands, opened on the chosen days, on the platform."""
    return conversations[conversation_mask(conversations, filters)]


def turn_positions(analysis: Analysis) -> np.ndarray:
    """For each turn, the row of its conversation in `analysis.conversations` (-1: none).

    Computed once per analysis (cached), so selecting a view's turns is an array lookup
    instead of matching string ids on every run.
    """
    conversations, turns = analysis.conversations, analysis.turns
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


def load_view(*, require_data: bool = True, reply_only_ok: bool = False) -> View:
    """Read (cached) and filter the store; render the sidebar and the demo banner.

    With `require_data` (every page but Data) the page stops with a plain message when
    no conversation matches the filters, instead of drawing empty charts. A store of
    brand replies only (no conversation at all) says why instead, and pages that can
    show such a store (`reply_only_ok`: templates) go on.
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
    try:
        sources: pd.Series | None = _cached_sources(version)
    except CareBenchError:
        sources = None  # the store is busy: no source filter this run
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
    mask = conversation_mask(analysis.conversations, filters)
    if filters.sources and sources is not None:
        mask = mask & sources.isin(list(filters.sources)).to_numpy(dtype=bool)
    conversations = analysis.conversations[mask]
    turns = select_turns(analysis.turns, mask, _cached_positions(version, filters.anonymise))
    view = View(
        store_path=path,
        is_demo=is_demo,
        analysis=analysis,
        filters=filters,
        settings=Settings(sla_seconds=filters.sla_seconds),
        conversations=conversations,
        turns=turns,
        loaded=loaded,
        version=version,
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
            with Store(target) as store:
                summaries = import_twcs_files(store, paths)
        except CareBenchError as exc:
            if not existed:
                # A store created for a failed import would hold nothing: remove it, so
                # "nothing changed" is true for the file system too.
                for leftover in (target, target.with_name(target.name + ".wal")):
                    leftover.unlink(missing_ok=True)
            raise type(exc)(_unscratch(str(exc), scratch)) from exc
    return [replace(s, source=_unscratch(s.source, scratch)) for s in summaries]


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
