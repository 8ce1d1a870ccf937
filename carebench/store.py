"""The store: one embedded DuckDB file holding posts, imports and rejected rows.

Posts are keyed by (platform, post_id) and upserted, so loading the same data twice
leaves the store as loading it once. Every import runs in one transaction: it lands
whole or changes nothing, even if the process dies half-way.

A post belongs to the source that last wrote it: its collector and, for a file, the file
name (read off its raw_ref, "FILE:LINE"). An import that would change (not just re-read)
posts of another source is refused unless asked to replace them: ids that happen to be
equal across unrelated data must never overwrite each other silently. A live collector
re-collecting its own posts (edits) is the same source.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carebench.errors import CareBenchError, ImportFailed, StoreError
from carebench.schema import (
    NAMESPACE_SEP,
    POST_COLUMNS,
    TWCS_NAMESPACE,
    VALID_YEARS_ENV_VAR,
    conform_posts,
    out_of_range,
    valid_years,
    year_bounds,
)

DEFAULT_DB = Path("data") / "carebench.duckdb"
_IMPORT_MEMORY_LIMIT = "1500MB"
# DuckDB's own memory limit, as first read in this process (see `Store._memory_limit`).
_FIRST_MEMORY_LIMIT: str | None = None
# An import holds the posts it has read in memory, as Arrow, up to this many bytes in all
# (2.8M posts take ~0.8 GB); DuckDB then copies them into the store once. Past this, a
# source's posts go to a temporary DuckDB table instead, which can spill to disk: copying
# rows into it costs ~2 s per 2.8M posts that the in-memory staging saves.
_STAGE_IN_MEMORY_BYTES = 1_200_000_000
# Arrow string columns read back as pandas' Arrow-backed string dtype (no copy).
_ARROW_STRINGS = {
    pa.string(): pd.StringDtype("pyarrow"),
    pa.large_string(): pd.StringDtype("pyarrow"),
}
DB_ENV_VAR = "CAREBENCH_DB"

# Columns whose change makes a re-collected post "updated". Provenance columns
# (collector, collected_at, raw_ref) are left out: re-importing the same posts from
# another file or at another time is not a change, so import twice == import once.
KEY_COLUMNS: tuple[str, ...] = ("platform", "post_id")
PROVENANCE_COLUMNS: tuple[str, ...] = ("collector", "collected_at", "raw_ref")
CONTENT_COLUMNS: tuple[str, ...] = tuple(
    c for c in POST_COLUMNS if c not in KEY_COLUMNS + PROVENANCE_COLUMNS
)

_SCHEMA = """
-- (platform, post_id) is the key. The import's anti-join keeps it unique; a PRIMARY KEY
-- index would cost a third more time and space per import (stores made before this
-- change keep theirs, which works the same).
-- Columns of many distinct strings are compressed with FSST, which DuckDB picks for them
-- anyway: named here, it skips weighing the other methods on every write (2.8M posts
-- import ~0.8 s faster, same file size). Stores made before keep DuckDB's own choice.
CREATE TABLE IF NOT EXISTS posts (
    platform VARCHAR NOT NULL,
    post_id VARCHAR NOT NULL USING COMPRESSION fsst,
    url VARCHAR USING COMPRESSION fsst,
    root_id VARCHAR,
    parent_id VARCHAR USING COMPRESSION fsst,
    author_id VARCHAR NOT NULL USING COMPRESSION fsst,
    author_handle VARCHAR USING COMPRESSION fsst,
    author_role VARCHAR NOT NULL CHECK (author_role IN ('brand', 'customer')),
    brand VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    text VARCHAR NOT NULL USING COMPRESSION fsst,
    lang VARCHAR,
    collector VARCHAR NOT NULL,
    collected_at TIMESTAMPTZ,
    raw_ref VARCHAR USING COMPRESSION fsst
);
CREATE SEQUENCE IF NOT EXISTS import_ids START 1;
CREATE TABLE IF NOT EXISTS imports (
    import_id BIGINT PRIMARY KEY,
    collector VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    content_sha256 VARCHAR,
    records_read BIGINT NOT NULL,
    posts_new BIGINT NOT NULL,
    posts_updated BIGINT NOT NULL,
    posts_unchanged BIGINT NOT NULL,
    duplicates_in_source BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected_rows (
    import_id BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    line BIGINT,
    reason VARCHAR NOT NULL,
    raw VARCHAR
);
CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR);
"""
# Stores made before TWCS ids had a namespace keep bare ids; the first writable open
# moves them into it (see `_migrate_ids`), recorded under this key.
_ID_SCHEME_KEY = "id_namespaces"
_ID_SCHEME = "1"

# Posts changes since the store's persisted analysis (`carebench.benchmark.persisted`),
# logged by every import and deletion of a store that holds one, so the next analysis
# redoes only the brands they touch: each changed post's key and, for a post that was
# there before, the columns that said whose it was. The second table chains the posts
# versions (`Store.posts_version`) the changes went through: a gap (a change logged by
# nobody) means the log cannot be trusted, and the analysis is redone whole.
ANALYSIS_META_TABLE = "analysis_meta"
CHANGES_TABLE = "analysis_changes"
CHANGE_LOG_TABLE = "analysis_change_log"
_CHANGES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} (
    platform VARCHAR NOT NULL,
    post_id VARCHAR NOT NULL,
    author_role VARCHAR,
    brand VARCHAR,
    author_handle VARCHAR,
    author_id VARCHAR
);
CREATE TABLE IF NOT EXISTS {CHANGE_LOG_TABLE} (version_before VARCHAR, version_after VARCHAR);
"""
_OLD_OWNER = "p.platform, p.post_id, p.author_role, p.brand, p.author_handle, p.author_id"

# The file a raw_ref ("FILE:LINE", maybe followed by "#mark") names; '' for the refs of
# live collectors ("run/page.json#3"), whose posts belong to the collector as a whole.
_FILE_OF_REF = r"^(.*):[0-9]+(#.*)?$"
_LINE_OF_REF = r"(?::([0-9]+)(?:#.*)?|#([0-9]+))$"


class OverwriteRefused(ImportFailed):
    """An import would change posts that another source wrote; nothing was imported."""


@dataclass(frozen=True)
class DeleteReport:
    """What `Store.delete_posts` removed."""

    removed: int
    by_brand: dict[str, int]
    not_found: tuple[str, ...] = ()
    import_removed: int | None = None


class RejectedRecord(Protocol):
    """A source record a reader could not turn into a post."""

    @property
    def line(self) -> int | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def raw(self) -> str: ...


class PostChunk(Protocol):
    """What a collector yields: normalised posts plus the records it rejected."""

    @property
    def posts(self) -> pd.DataFrame: ...
    @property
    def rejected(self) -> Sequence[RejectedRecord]: ...
    @property
    def records_read(self) -> int: ...


@dataclass(frozen=True)
class Source:
    """One input of an import: a name to record and the chunks read from it."""

    name: str
    chunks: Iterable[PostChunk]
    # A file's hash, or its hash still being computed (waited for when it is recorded).
    content_sha256: str | Future[str] | None = None


@dataclass
class _Staged:
    """One source read into temporary tables, waiting to be merged into the store.

    Its posts are Arrow tables in memory (`held`, registered with DuckDB under
    `posts_table` once read) or, past the import's memory budget, a temporary table.
    """

    source: Source
    posts_table: str
    rejected_table: str
    held: list[pa.Table] | None = field(default_factory=list)
    records_read: int = 0
    rejected: int = 0
    rejected_examples: list[tuple[int | None, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ImportSummary:
    """What one source of an import did to the store."""

    source: str
    records_read: int
    posts_new: int
    posts_updated: int
    posts_unchanged: int
    duplicates_in_source: int
    rejected: int
    rejected_examples: tuple[tuple[int | None, str], ...]


def _held_bytes(staged: _Staged) -> int:
    """Bytes of the posts a staged source holds in memory."""
    return sum(table.nbytes for table in staged.held or ())


def resolve_db_path(db: str | Path | None = None) -> Path:
    """The store path: an explicit `db`, else $CAREBENCH_DB, else data/carebench.duckdb."""
    if db:
        return Path(db)
    from_env = os.environ.get(DB_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_DB


def _fetch_and_close(cursor: duckdb.DuckDBPyConnection, query: str) -> pa.Table:
    """The result of `query` on its own cursor, as an Arrow table; the cursor is closed."""
    with cursor:
        return cursor.execute(query).to_arrow_table()


def _resolved(digest: str | Future[str] | None) -> str | None:
    """A source's hash, waiting for it if it is still being computed."""
    return digest.result() if isinstance(digest, Future) else digest


def file_sha256(path: Path) -> str:
    """Content hash of a file, recorded so a user can tell which copy was imported."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Store:
    """A CareBench store on one DuckDB file (or in memory with path ':memory:')."""

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            folder = Path(self.path).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"Cannot create the store {self.path}: {folder_problem(folder, exc)}. "
                    "Pass --db a path inside a folder, e.g. --db data/carebench.duckdb."
                ) from exc
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            if _is_damage(exc) and "lock" not in str(exc).lower():
                raise store_failure(self.path, exc, action="open") from exc
            raise StoreError(
                f"Cannot open the store {self.path}: {exc}. Pass another file with --db, "
                "or close the program that holds it open."
            ) from exc
        try:
            if not read_only:
                self.con.execute(_SCHEMA)
                self._migrate_ids()
            elif not self._has_posts_table():
                raise StoreError(
                    f"{self.path} is not a CareBench store (no posts table). "
                    "Create one with `carebench import` or `carebench demo`."
                )
        except BaseException as exc:
            self.con.close()
            if isinstance(exc, duckdb.Error) and not is_interrupt(exc):
                raise store_failure(self.path, exc) from exc
            raise

    def _migrate_ids(self) -> None:
        """Give the TWCS posts of a store made before id namespaces their namespace.

        Such a store holds TWCS ids bare ("42"); the reader now writes "twcs:42", so a
        re-import would otherwise duplicate every post. Posts of the twcs collector are
        all TWCS-shaped (generated files came through it too, so they join the TWCS
        namespace, where they already were). Runs once, in one transaction.
        """
        done = self.con.execute(
            "SELECT count(*) FROM store_info WHERE key = ?", [_ID_SCHEME_KEY]
        ).fetchone()
        if done and done[0]:
            return
        prefix = TWCS_NAMESPACE + NAMESPACE_SEP
        self.con.execute("BEGIN TRANSACTION")
        try:
            if self._has_pins_table():
                self.con.execute(
                    "UPDATE pins SET conversation_id = ? || conversation_id "
                    "WHERE platform = 'twitter' AND conversation_id IN (SELECT post_id FROM "
                    "posts WHERE collector = 'twcs' AND NOT starts_with(post_id, ?))",
                    [prefix, prefix],
                )
            self.con.execute(
                "UPDATE posts SET post_id = ? || post_id, parent_id = ? || parent_id "
                "WHERE collector = 'twcs' AND NOT starts_with(post_id, ?)",
                [prefix, prefix, prefix],
            )
            self.con.execute("INSERT INTO store_info VALUES (?, ?)", [_ID_SCHEME_KEY, _ID_SCHEME])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _has_posts_table(self) -> bool:
        found = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'posts'"
        ).fetchone()
        return bool(found and found[0])

    def close(self) -> None:
        """Close the connection (DuckDB checkpoints the file on close)."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        self.close()
        # A damaged file shows only when its pages are read, anywhere in the caller's block.
        if isinstance(exc, duckdb.Error) and (_is_damage(exc) or _disk_full(exc)):
            raise store_failure(self.path, exc) from exc

    # -- writing ---------------------------------------------------------------------

    def import_sources(
        self,
        collector: str,
        sources: Sequence[Source],
        *,
        on_chunk: Callable[[PostChunk], None] | None = None,
        replace: bool = False,
    ) -> list[ImportSummary]:
        """Upsert every source's posts in ONE transaction and record each source's counts.

        A post whose time is outside the valid years (`schema.valid_years`) is rejected
        with its line. Changing posts another source wrote raises `OverwriteRefused`
        (nothing changes) unless `replace` is true.

        Every source is read first into a temporary staging table (outside the store's
        tables), then all are merged into the store in one transaction. Any exception
        while reading (a damaged file, Ctrl-C, a bug) or merging rolls the whole import
        back and is re-raised as `ImportFailed`; the store is left as it was.
        """
        started = datetime.now(UTC)
        # A big import stages millions of rows: past this much memory DuckDB spills to
        # disk beside the store instead of growing (a full TWCS import peaked at 3.8 GB
        # without it). An in-memory store has nowhere to spill, so it is left alone.
        limit_before = self._memory_limit()
        if self.path != ":memory:":
            self.con.execute(f"SET memory_limit = '{_IMPORT_MEMORY_LIMIT}'")
        staged: list[_Staged] = []
        failed = False
        years = valid_years()
        try:
            # Staging happens before the transaction opens: DuckDB copies rows out of a
            # table created inside the same transaction about twice as slowly (7.5 s
            # instead of 3.8 s per 2.8M posts), and temporary tables never reach the file.
            for source in sources:
                held_bytes = sum(_held_bytes(s) for s in staged)
                staged.append(self._stage(len(staged), source, on_chunk, held_bytes, years))
            self.con.execute("BEGIN TRANSACTION")
            try:
                logging = self._logging_changes()
                summaries = [self._merge(collector, s, started, replace, logging) for s in staged]
                if logging is not None:
                    self._log_versions(logging)
                self.con.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (a full disk) has already ended the transaction: the
                # ROLLBACK then fails too, and must not hide the first error.
                with suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
                raise
        except BaseException as exc:
            failed = True
            if is_interrupt(exc) and not isinstance(exc, KeyboardInterrupt):
                raise KeyboardInterrupt from exc
            if isinstance(exc, KeyboardInterrupt | ImportFailed):
                raise
            if isinstance(exc, duckdb.Error | OSError) and (_is_damage(exc) or _disk_full(exc)):
                raise store_failure(self.path, exc, "Nothing was imported.") from exc
            if isinstance(exc, Exception) and type(exc).__module__.startswith("carebench"):
                raise ImportFailed(f"{exc} Nothing was imported; the store is unchanged.") from exc
            raise ImportFailed(
                f"Import stopped with an unexpected error ({type(exc).__name__}: {exc}). "
                "Nothing was imported; the store is unchanged."
            ) from exc
        finally:
            # After a failure the connection may refuse even this cleanup (a full disk, a
            # damaged file): the first error is the one to report.
            with suppress(*((duckdb.Error,) if failed else ())):
                for table in staged:
                    if table.held is not None:
                        self.con.unregister(table.posts_table)
                        table.held = None
                    self.con.execute(f"DROP TABLE IF EXISTS {table.posts_table}")
                    self.con.execute(f"DROP TABLE IF EXISTS {table.posts_table}_last")
                    self.con.execute(f"DROP TABLE IF EXISTS {table.rejected_table}")
                if self.path != ":memory:":
                    self._set_memory_limit(limit_before)
        return summaries

    def _stage(
        self,
        number: int,
        source: Source,
        on_chunk: Callable[[PostChunk], None] | None,
        held_before: int,
        years: tuple[int, int] | None = None,
    ) -> _Staged:
        """Read one source: its posts (in file order, see `_Staged`) and its rejects.

        `held_before` is the bytes earlier sources of the import hold in memory.
        """
        con = self.con
        staged = _Staged(
            source=source,
            posts_table=f"staging_posts_{number}",
            rejected_table=f"staging_rejected_{number}",
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {staged.rejected_table} AS "
            "SELECT * EXCLUDE (import_id) FROM rejected_rows WHERE false"
        )
        seq = 0
        for chunk in source.chunks:
            staged.records_read += chunk.records_read
            posts = conform_posts(chunk.posts)
            rejected_rows = list(chunk.rejected)
            if years is not None and len(posts):
                posts = _without_bad_times(posts, years, rejected_rows)
            if len(posts):
                # seq keeps the source order so a post repeated in a file resolves to
                # its last occurrence, like a re-collection would.
                posts["seq"] = range(seq, seq + len(posts))
                seq += len(posts)
                # Arrow scans without converting each string to a Python object.
                table = pa.Table.from_pandas(posts, preserve_index=False)
                del posts
                if staged.held is not None:
                    staged.held.append(table)
                    if held_before + _held_bytes(staged) > _STAGE_IN_MEMORY_BYTES:
                        self._spill(staged)
                else:
                    self._insert_staged(staged, table)
            if rejected_rows:
                rejected = pd.DataFrame(
                    {
                        "source": source.name,
                        "line": pd.array([r.line for r in rejected_rows], dtype="Int64"),
                        "reason": [r.reason for r in rejected_rows],
                        "raw": [r.raw for r in rejected_rows],
                    }
                )
                con.register("chunk_rejected", rejected)
                con.execute(f"INSERT INTO {staged.rejected_table} SELECT * FROM chunk_rejected")
                con.unregister("chunk_rejected")
                staged.rejected += len(rejected_rows)
                room = 20 - len(staged.rejected_examples)
                staged.rejected_examples.extend((r.line, r.reason) for r in rejected_rows[:room])
            if on_chunk is not None:
                on_chunk(chunk)
        if staged.held:
            # `conform_posts` gave every chunk the same columns and types.
            con.register(staged.posts_table, pa.concat_tables(staged.held))
        elif staged.held is not None:
            self._spill(staged)  # no posts: an empty table has the staging columns
        return staged

    def _spill(self, staged: _Staged) -> None:
        """Move a source's held posts into a temporary table (see `_STAGE_IN_MEMORY_BYTES`)."""
        held, staged.held = staged.held or [], None
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {staged.posts_table} AS "
            "SELECT *, 0::BIGINT AS seq FROM posts WHERE false"
        )
        while held:
            self._insert_staged(staged, held.pop(0))

    def _insert_staged(self, staged: _Staged, table: pa.Table) -> None:
        """Append Arrow posts to a source's temporary staging table."""
        self.con.register("chunk_posts", table)
        self.con.execute(f"INSERT INTO {staged.posts_table} SELECT * FROM chunk_posts")
        self.con.unregister("chunk_posts")

    def _merge(
        self,
        collector: str,
        staged: _Staged,
        started: datetime,
        replace: bool = False,
        logging: str | None = None,
    ) -> ImportSummary:
        """Upsert one staged source into the store (inside the import's transaction).

        With `logging` (see `_logging_changes`), the posts it adds or changes are logged.
        """
        con = self.con
        import_id = _scalar(con, "SELECT nextval('import_ids')")
        table = staged.posts_table
        rows = _scalar(con, f"SELECT count(*) FROM {table}")
        unique = _scalar(con, f"SELECT count(DISTINCT (platform, post_id)) FROM {table}")
        # Keeping each post's last occurrence costs a window and a copy (~5 s per 2.8M
        # rows); most files repeat no post, and then every row already is its last one.
        if unique != rows:
            last = f"{table}_last"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {last} AS SELECT * FROM {table} "
                "QUALIFY row_number() OVER (PARTITION BY platform, post_id ORDER BY seq DESC) = 1"
            )
            table = last
        incoming = f"(SELECT * EXCLUDE (seq) FROM {table})"
        changed = " OR ".join(f"p.{c} IS DISTINCT FROM i.{c}" for c in CONTENT_COLUMNS)
        posts_new = _scalar(
            con,
            f"SELECT count(*) FROM {incoming} i ANTI JOIN posts p USING (platform, post_id)",
        )
        posts_updated = _scalar(
            con,
            f"SELECT count(*) FROM {incoming} i JOIN posts p USING (platform, post_id) "
            f"WHERE {changed}",
        )
        if posts_updated and not replace:
            self._refuse_overwrites(staged.source.name, incoming, changed)
        if logging is not None:
            con.execute(
                f"INSERT INTO {CHANGES_TABLE} SELECT {_OLD_OWNER} FROM posts p "
                f"JOIN {incoming} i USING (platform, post_id) WHERE {changed}"
            )
            con.execute(
                f"INSERT INTO {CHANGES_TABLE} SELECT i.platform, i.post_id, NULL, NULL, NULL, "
                f"NULL FROM {incoming} i ANTI JOIN posts p USING (platform, post_id)"
            )
        if posts_updated:
            assignments = ", ".join(
                f"{c} = i.{c}" for c in POST_COLUMNS if c not in ("platform", "post_id")
            )
            con.execute(
                f"UPDATE posts p SET {assignments} FROM {incoming} i "
                f"WHERE p.platform = i.platform AND p.post_id = i.post_id AND ({changed})"
            )
        # The posts table has no PRIMARY KEY index: this anti-join is what keeps
        # (platform, post_id) unique, and skipping the index saves ~3 s per 2.8M posts.
        con.execute(
            f"INSERT INTO posts SELECT i.* FROM {incoming} i "
            "ANTI JOIN posts p USING (platform, post_id)"
        )
        con.execute(
            f"INSERT INTO rejected_rows SELECT ?, * FROM {staged.rejected_table}", [import_id]
        )
        con.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                import_id,
                collector,
                staged.source.name,
                _resolved(staged.source.content_sha256),
                staged.records_read,
                posts_new,
                posts_updated,
                unique - posts_new - posts_updated,
                rows - unique,
                staged.rejected,
                started,
                datetime.now(UTC),
            ],
        )
        return ImportSummary(
            source=staged.source.name,
            records_read=staged.records_read,
            posts_new=posts_new,
            posts_updated=posts_updated,
            posts_unchanged=unique - posts_new - posts_updated,
            duplicates_in_source=rows - unique,
            rejected=staged.rejected,
            rejected_examples=tuple(staged.rejected_examples),
        )

    def _refuse_overwrites(self, name: str, incoming: str, changed: str) -> None:
        """Raise OverwriteRefused if the import would change posts of another source."""
        con = self.con
        owners = con.execute(
            f"SELECT p.collector, regexp_extract(p.raw_ref, '{_FILE_OF_REF}', 1) AS file, "
            f"count(*) AS posts FROM {incoming} i JOIN posts p USING (platform, post_id) "
            f"WHERE ({changed}) AND (p.collector IS DISTINCT FROM i.collector OR "
            f"regexp_extract(p.raw_ref, '{_FILE_OF_REF}', 1) IS DISTINCT FROM "
            f"regexp_extract(i.raw_ref, '{_FILE_OF_REF}', 1)) "
            "GROUP BY ALL ORDER BY posts DESC, file, p.collector"
        ).fetchall()
        if not owners:
            return
        total = sum(int(n) for _, _, n in owners)
        named = []
        for collector, file, count in owners[:3]:
            named.append(f"{count:,} from {self._source_label(collector, file)}")
        if len(owners) > 3:
            named.append(f"{sum(int(n) for _, _, n in owners[3:]):,} from other sources")
        raise OverwriteRefused(
            f"{Path(name).name}: would change {total:,} post(s) that another source wrote "
            f"({'; '.join(named)}): their ids are the same but the posts differ. Nothing "
            "was imported; the store is unchanged. To keep both, import into another "
            "store (--db OTHER.duckdb); to overwrite those posts, import again with "
            "--replace."
        )

    def _source_label(self, collector: str | None, file: str | None) -> str:
        """A source as a user knows it: file (collector, import #N), or the collector."""
        found = self.con.execute(
            "SELECT max(import_id) FROM imports WHERE collector = ? AND (? = '' OR "
            "source = ? OR ends_with(replace(source, '\\', '/'), '/' || ?))",
            [collector, file or "", file or "", file or ""],
        ).fetchone()
        number = f", import #{found[0]}" if found and found[0] is not None else ""
        return f"{file} ({collector}{number})" if file else f"{collector}{number}"

    # -- removing ----------------------------------------------------------------------

    _DELETIONS_SCHEMA = """
    CREATE TABLE IF NOT EXISTS deletions (
        deleted_at TIMESTAMPTZ NOT NULL,
        what VARCHAR NOT NULL,
        posts_removed BIGINT NOT NULL
    );
    """

    def delete_posts(
        self,
        platform: str | None = None,
        post_ids: Sequence[str] = (),
        import_id: int | None = None,
        out_of_range: bool = False,
    ) -> DeleteReport:
        """Remove posts, in one transaction: by id (on `platform`), an import's, and/or
        (`out_of_range`) those whose time is outside the valid years.

        An import's posts are those whose current version came from it: its collector
        and file (or, for a collection run, its run), as their raw_ref says. Posts it
        read unchanged from an earlier source stay; its log entry and rejected rows go.
        Replies to a removed post stay, as orphans. The deletion is logged, which
        changes `import_version`, so cached analyses are computed again.
        """
        if post_ids and not platform:
            raise CareBenchError("Name the platform of the post ids, e.g. --platform twitter.")
        if not post_ids and import_id is None and not out_of_range:
            raise CareBenchError(
                "Say what to delete: --post-id ID (with --platform), --import-id N or "
                "--out-of-range."
            )
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(self._DELETIONS_SCHEMA)
            con.execute("CREATE OR REPLACE TEMP TABLE doomed (platform VARCHAR, post_id VARCHAR)")
            what: list[str] = []
            not_found: list[str] = []
            import_removed = None
            if post_ids:
                ids = pd.DataFrame({"platform": platform, "post_id": list(dict.fromkeys(post_ids))})
                con.register("wanted_ids", ids)
                found = {
                    row[0]
                    for row in con.execute(
                        "SELECT w.post_id FROM wanted_ids w SEMI JOIN posts p "
                        "USING (platform, post_id)"
                    ).fetchall()
                }
                con.execute("INSERT INTO doomed SELECT platform, post_id FROM wanted_ids")
                con.unregister("wanted_ids")
                not_found = [i for i in ids["post_id"] if i not in found]
                what.append(f"{platform} post(s) {', '.join(ids['post_id'][:10])}")
            if import_id is not None:
                import_removed = self._doom_import(import_id)
                what.append(f"import #{import_id}")
            if out_of_range:
                con.execute(
                    "INSERT INTO doomed SELECT platform, post_id FROM posts "
                    f"WHERE NOT ({self._in_range()})"
                )
                what.append("posts out of the valid years")
            by_brand = {
                str(brand) if brand is not None else "(no brand)": int(count)
                for brand, count in con.execute(
                    "SELECT p.brand, count(*) FROM posts p SEMI JOIN doomed d "
                    "USING (platform, post_id) GROUP BY ALL ORDER BY 2 DESC, 1"
                ).fetchall()
            }
            removed = sum(by_brand.values())
            logging = self._logging_changes()
            if logging is not None:
                con.execute(
                    f"INSERT INTO {CHANGES_TABLE} SELECT {_OLD_OWNER} FROM posts p "
                    "SEMI JOIN doomed d USING (platform, post_id)"
                )
            con.execute(
                "DELETE FROM posts p USING doomed d WHERE p.platform = d.platform "
                "AND p.post_id = d.post_id"
            )
            if import_id is not None:
                con.execute("DELETE FROM rejected_rows WHERE import_id = ?", [import_id])
                con.execute("DELETE FROM imports WHERE import_id = ?", [import_id])
            con.execute(
                "INSERT INTO deletions VALUES (?, ?, ?)",
                [datetime.now(UTC), "; ".join(what), removed],
            )
            con.execute("DROP TABLE doomed")
            if logging is not None:
                self._log_versions(logging)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return DeleteReport(removed, by_brand, tuple(not_found), import_removed)

    def _doom_import(self, import_id: int) -> int:
        """Add the posts import `import_id` last wrote to `doomed`; how many there are."""
        con = self.con
        row = con.execute(
            "SELECT collector, source FROM imports WHERE import_id = ?", [import_id]
        ).fetchone()
        if row is None:
            last = _scalar(con, "SELECT coalesce(max(import_id), 0) FROM imports")
            raise CareBenchError(
                f"There is no import #{import_id} in {self.path} (the last is #{last}); "
                "see the import log on the dashboard's Data page."
            )
        collector, source = str(row[0]), str(row[1])
        run = source.split(":")[-1] if source.startswith(f"{collector}:") else None
        if run:  # a collection run: its raw pages sit in a folder named after the run
            match, value = "contains(raw_ref, ?)", f"/{run}/"
        else:
            match = f"regexp_extract(raw_ref, '{_FILE_OF_REF}', 1) = ?"
            value = source.replace("\\", "/").rsplit("/", 1)[-1]
        return len(
            con.execute(
                f"INSERT INTO doomed SELECT platform, post_id FROM posts "
                f"WHERE collector = ? AND {match} RETURNING 1",
                [collector, value],
            ).fetchall()
        )

    # -- reading ---------------------------------------------------------------------

    def posts(self, skip: Sequence[str] = (), ordered: bool = True) -> pd.DataFrame:
        """Every post in the store, in the schema's columns and dtypes.

        Columns named in `skip` are not read and come back empty: a caller that never
        looks at them saves their memory (the analysis skips url and provenance).
        Posts come sorted by platform, time and id unless `ordered` is False: then in
        the store's own order, which is stable while the store is unchanged. The sort
        costs ~4 s per 2.8M posts, and the analysis does not depend on row order.

        Posts whose time is outside the valid years (a store filled before imports
        checked them) are left out: one year-0 time breaks every date shown. They are
        counted by `count_out_of_range`, and can be removed with `delete_posts`.
        """
        unknown = set(skip) - set(POST_COLUMNS)
        if unknown:
            raise ValueError(f"Not post columns: {', '.join(sorted(unknown))}")
        wanted = [c for c in POST_COLUMNS if c not in skip]
        order = " ORDER BY platform, created_at, post_id" if ordered else ""
        # Only when there are such posts: the filter costs a little on every read.
        if self.count_out_of_range():
            order = f" WHERE {self._in_range()}{order}"
        # DuckDB frees a result batch only when every column of it is gone, but a caller
        # may drop columns one by one as it uses them (the analysis does). So the text,
        # most of the memory, comes in a query of its own, and the other columns are
        # copied into one Arrow buffer each (0.3 GB per 2.8M posts, a fraction of a second).
        others = ["rowid AS _row", *(c for c in wanted if c != "text")]
        with ThreadPoolExecutor(max_workers=1) as pool:
            # The two queries run side by side, the text on a cursor of its own: DuckDB
            # hands a result to Arrow on one core (2.8M posts: 1.3 s one after the other,
            # 0.85 s together).
            text_query = f"SELECT rowid AS _row, text FROM posts{order}"
            pending = (
                pool.submit(_fetch_and_close, self.con.cursor(), text_query)
                if "text" in wanted
                else None
            )
            table = self.con.execute(f"SELECT {', '.join(others)} FROM posts{order}")
            table = table.to_arrow_table()
            table = table.combine_chunks()
            texts = pending.result() if pending is not None else None
        if texts is not None:
            # Both scans see the posts in the same order; aligned by row id all the same.
            if not table["_row"].equals(texts["_row"]):
                texts = texts.take(pc.index_in(table["_row"], value_set=texts["_row"]))
            # One buffer too: pyarrow takes rows across several chunks slowly (2.8M
            # texts in 3 chunks: 1.5 s, against 0.25 s to combine them and take).
            table = table.append_column("text", texts["text"].combine_chunks())
            del texts
        table = table.select(wanted)
        # DuckDB keeps the blocks it just read cached (about 0.55 GB per 2.8M posts) while
        # the store is open; the caller is about to build its own copies, so let them go.
        if self.path != ":memory:":  # an in-memory store's blocks are its data
            before = self._memory_limit()
            self.con.execute("SET memory_limit = '64MB'")
            self._set_memory_limit(before)
        # Through Arrow, strings stay Arrow-backed: 3x faster than `.df()`, which builds
        # Python str objects only for pandas to turn them back into Arrow strings.
        return conform_posts(table.to_pandas(types_mapper=_ARROW_STRINGS.get))

    def _memory_limit(self) -> str:
        """DuckDB's memory limit as this process first saw it (DuckDB prints it rounded:
        restoring what it prints now would shrink it a little at every restore)."""
        global _FIRST_MEMORY_LIMIT
        if _FIRST_MEMORY_LIMIT is None:
            row = self.con.execute("SELECT current_setting('memory_limit')").fetchone()
            _FIRST_MEMORY_LIMIT = str(row[0]) if row else ""
        return _FIRST_MEMORY_LIMIT

    def _set_memory_limit(self, value: str) -> None:
        """Set DuckDB's memory limit back to `value` (from `_memory_limit`).

        Not `RESET memory_limit`: with DuckDB 1.5 it shows the default again but the
        buffer pool keeps the smaller limit, and building the turns' index of a 2.8M-post
        store then failed with "Out of Memory" at 61 MiB.
        """
        if value:
            self.con.execute(f"SET memory_limit = '{value}'")
        else:
            self.con.execute("RESET memory_limit")

    def in_range_condition(self) -> str:
        """SQL condition: a post's time is inside the valid years."""
        return self._in_range()

    def has_table(self, name: str) -> bool:
        """Whether the store has a table of this name."""
        return self._has_table(name)

    def _in_range(self) -> str:
        """SQL condition: a post's time is inside the valid years."""
        start, end = (str(bound) for bound in year_bounds(valid_years()))
        return f"created_at >= '{start}+00' AND created_at < '{end}+00'"

    def count_out_of_range(self) -> int:
        """Posts whose time is outside the valid years (`schema.valid_years`).

        Cheap when there are none: DuckDB skips every block whose times are in range.
        """
        return _scalar(self.con, f"SELECT count(*) FROM posts WHERE NOT ({self._in_range()})")

    def import_version(self) -> tuple[int, int]:
        """(imports, deletions and migrations recorded, last import id): changes
        whenever posts can have changed.

        Posts only change through imports, deletions and the one migration of an old
        store's ids, so this is a cheap cache key for anything computed from them;
        writing pins does not change it.
        """
        row = self.con.execute("SELECT count(*), coalesce(max(import_id), 0) FROM imports")
        count, last = row.fetchone() or (0, 0)
        if self._has_table("deletions"):
            count += _scalar(self.con, "SELECT count(*) FROM deletions")
        # Migrating an old store's ids (store_info gains its row) changes every TWCS id.
        if self._has_table("store_info"):
            count += _scalar(self.con, "SELECT count(*) FROM store_info")
        return int(count), int(last)

    def posts_version(self) -> str:
        """`import_version` and the post count, as one string: changes with the posts."""
        changes, last_import = self.import_version()
        return f"{changes}:{last_import}:{self.count_posts()}"

    def _logging_changes(self) -> str | None:
        """Inside a transaction that is about to change posts: when the store holds a
        persisted analysis, the posts version before the change (its changes are then
        logged, see `CHANGES_TABLE`); else None."""
        if not self._has_table(ANALYSIS_META_TABLE):
            return None
        self.con.execute(_CHANGES_SCHEMA)
        return self.posts_version()

    def _log_versions(self, before: str) -> None:
        self.con.execute(
            f"INSERT INTO {CHANGE_LOG_TABLE} VALUES (?, ?)", [before, self.posts_version()]
        )

    def count_posts(self) -> int:
        """Number of posts in the store."""
        return _scalar(self.con, "SELECT count(*) FROM posts")

    def imports(self) -> pd.DataFrame:
        """The import log, newest first."""
        return self.con.execute("SELECT * FROM imports ORDER BY import_id DESC").df()

    def rejected_rows(self, limit: int = 1000) -> pd.DataFrame:
        """Rows that imports could not read, with file, line and reason."""
        return self.con.execute(
            "SELECT * FROM rejected_rows ORDER BY import_id, line LIMIT ?", [limit]
        ).df()

    def snapshot(self) -> Iterator[tuple[object, ...]]:
        """Every row of every table, for tests that check the store did not change."""
        for table in ("posts", "imports", "rejected_rows"):
            yield from self.con.execute(f"SELECT '{table}', * FROM {table} ORDER BY ALL").fetchall()

    # -- pins: threads kept for the workshop deck --------------------------------------

    # Created on the first pin, so stores that never pin (and read-only ones) are unchanged.
    _PINS_SCHEMA = """
    CREATE TABLE IF NOT EXISTS pins (
        platform VARCHAR NOT NULL,
        conversation_id VARCHAR NOT NULL,
        brand VARCHAR,
        note VARCHAR,
        pinned_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (platform, conversation_id)
    );
    """
    PIN_COLUMNS: tuple[str, ...] = ("platform", "conversation_id", "brand", "note", "pinned_at")

    def pin(
        self,
        platform: str,
        conversation_id: str,
        brand: str | None = None,
        note: str | None = None,
    ) -> None:
        """Pin a thread. Pinning it again keeps one pin and its first time; a new note or
        brand replaces the old one, a missing one keeps it."""
        try:
            self.con.execute(self._PINS_SCHEMA)
            self.con.execute(
                "INSERT INTO pins VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (platform, conversation_id) DO UPDATE SET "
                "brand = coalesce(excluded.brand, pins.brand), "
                "note = coalesce(excluded.note, pins.note)",
                [platform, conversation_id, brand, note, datetime.now(UTC)],
            )
        except duckdb.Error as exc:
            raise StoreError(f"Cannot pin the thread in the store {self.path}: {exc}") from exc

    def unpin(self, platform: str, conversation_id: str) -> bool:
        """Remove a pin; False when the thread was not pinned."""
        if not self._has_pins_table():
            return False
        try:
            removed = self.con.execute(
                "DELETE FROM pins WHERE platform = ? AND conversation_id = ? RETURNING 1",
                [platform, conversation_id],
            ).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"Cannot unpin the thread in the store {self.path}: {exc}") from exc
        return bool(removed)

    def pins(self) -> pd.DataFrame:
        """Pinned threads, oldest pin first (no rows, same columns, when nothing is pinned)."""
        columns = ", ".join(self.PIN_COLUMNS)
        if self._has_pins_table():
            frame = self.con.execute(
                f"SELECT {columns} FROM pins ORDER BY pinned_at, platform, conversation_id"
            ).df()
        else:
            frame = pd.DataFrame({c: [] for c in self.PIN_COLUMNS})
        for column in self.PIN_COLUMNS[:-1]:
            frame[column] = frame[column].astype("string")
        frame["pinned_at"] = pd.to_datetime(frame["pinned_at"], utc=True).astype(
            "datetime64[us, UTC]"
        )
        return frame

    def _has_pins_table(self) -> bool:
        return self._has_table("pins")

    def _has_table(self, name: str) -> bool:
        found = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()
        return bool(found and found[0])


@dataclass(frozen=True)
class _TimeRejected:
    """A post refused for its time, where its raw_ref says it came from."""

    line: int | None
    reason: str
    raw: str


def _without_bad_times(
    posts: pd.DataFrame, years: tuple[int, int], rejected: list[RejectedRecord]
) -> pd.DataFrame:
    """`posts` without those whose time is outside `years`; each is added to `rejected`.

    Checked here, where every importer's and collector's posts pass, so no path lets
    one in. The line is read off the post's raw_ref ("FILE:LINE", or "PAGE#INDEX").
    """
    bad = out_of_range(posts["created_at"], years)
    if not bad.any():
        return posts
    rows = posts[bad]
    times = np.datetime_as_string(
        rows["created_at"].to_numpy(dtype="datetime64[us]"), unit="s", timezone="UTC"
    )
    refs = rows["raw_ref"].astype("object").where(rows["raw_ref"].notna(), "")
    for post_id, when, ref in zip(rows["post_id"], times, refs, strict=True):
        found = re.search(_LINE_OF_REF, ref)
        line = int(found[1] or found[2]) if found else None
        rejected.append(
            _TimeRejected(
                line,
                f"created_at {when} is outside the years {years[0]}-{years[1]}: fix the "
                f"time in the source, or set {VALID_YEARS_ENV_VAR}=FIRST-LAST to accept it",
                f"post {post_id} ({ref})" if ref else f"post {post_id}",
            )
        )
    return posts[~bad].reset_index(drop=True)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


@contextmanager
def open_store(db: str | Path | None = None, *, read_only: bool = False) -> Iterator[Store]:
    """Open the store at `db` (resolved like the CLI's --db) and close it afterwards."""
    path = resolve_db_path(db)
    if read_only and not path.exists():
        raise StoreError(
            f"No store at {path}. Import data first (`carebench import twcs FILE.csv`) "
            "or build the demo store (`carebench demo`)."
        )
    with Store(path, read_only=read_only) as store:
        yield store


def is_interrupt(exc: BaseException) -> bool:
    """Ctrl-C, as Python or DuckDB raise it (DuckDB turns SIGINT into errors of its own)."""
    return isinstance(exc, KeyboardInterrupt | duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and str(exc) == "Query interrupted"
    )


def _is_damage(exc: BaseException) -> bool:
    """A DuckDB error that says the file itself is unreadable (not a bug, not the data)."""
    return isinstance(
        exc, duckdb.IOException | duckdb.SerializationException | duckdb.InternalException
    ) and not _disk_full(exc)


def _disk_full(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) == errno.ENOSPC or "no space left" in str(exc).lower()


def folder_problem(folder: Path, exc: OSError) -> str:
    """Why a store's folder cannot be made: usually a file is in the way."""
    for part in (folder, *folder.parents):
        if part.is_file():
            return f"{part} is a file, not a folder"
    return exc.strerror or str(exc)


def store_failure(
    path: str | Path, exc: BaseException, done: str = "", *, action: str = "read"
) -> StoreError:
    """The message for a store the disk or the file itself failed under.

    `done` says what became of the command's work, e.g. "Nothing was imported."
    """
    if _disk_full(exc):
        return StoreError(
            f"No space left on device while writing {path}: free space or use --db on "
            "another disk; the store is unchanged."
        )
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreError(
        f"Cannot {action} the store file {path}: it is damaged or not a CareBench store "
        f"({detail}); restore it from a backup, or re-import the data into a new store "
        "(--db NEW.duckdb)." + (f" {done}" if done else "")
    )
