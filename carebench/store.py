"""The store: one embedded DuckDB file holding posts, imports and rejected rows.

Posts are keyed by (platform, post_id) and upserted, so loading the same data twice
leaves the store as loading it once. Every import runs in one transaction: it lands
whole or changes nothing, even if the process dies half-way.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carebench.errors import ImportFailed, StoreError
from carebench.schema import POST_COLUMNS, conform_posts

DEFAULT_DB = Path("data") / "carebench.duckdb"
_IMPORT_MEMORY_LIMIT = "1500MB"
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
"""


class RejectedRecord(Protocol):
    """A source record a reader could not turn into a post."""

    @property
    def line(self) -> int: ...
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
    rejected_examples: list[tuple[int, str]] = field(default_factory=list)


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
    rejected_examples: tuple[tuple[int, str], ...]


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
    ) -> list[ImportSummary]:
        """Upsert every source's posts in ONE transaction and record each source's counts.

        Every source is read first into a temporary staging table (outside the store's
        tables), then all are merged into the store in one transaction. Any exception
        while reading (a damaged file, Ctrl-C, a bug) or merging rolls the whole import
        back and is re-raised as `ImportFailed`; the store is left as it was.
        """
        started = datetime.now(UTC)
        # A big import stages millions of rows: past this much memory DuckDB spills to
        # disk beside the store instead of growing (a full TWCS import peaked at 3.8 GB
        # without it). An in-memory store has nowhere to spill, so it is left alone.
        if self.path != ":memory:":
            self.con.execute(f"SET memory_limit = '{_IMPORT_MEMORY_LIMIT}'")
        staged: list[_Staged] = []
        failed = False
        try:
            # Staging happens before the transaction opens: DuckDB copies rows out of a
            # table created inside the same transaction about twice as slowly (7.5 s
            # instead of 3.8 s per 2.8M posts), and temporary tables never reach the file.
            for source in sources:
                held_bytes = sum(_held_bytes(s) for s in staged)
                staged.append(self._stage(len(staged), source, on_chunk, held_bytes))
            self.con.execute("BEGIN TRANSACTION")
            try:
                summaries = [self._merge(collector, s, started) for s in staged]
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
                    self.con.execute("RESET memory_limit")
        return summaries

    def _stage(
        self,
        number: int,
        source: Source,
        on_chunk: Callable[[PostChunk], None] | None,
        held_before: int,
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
            if chunk.rejected:
                rejected = pd.DataFrame(
                    {
                        "source": source.name,
                        "line": [r.line for r in chunk.rejected],
                        "reason": [r.reason for r in chunk.rejected],
                        "raw": [r.raw for r in chunk.rejected],
                    }
                )
                con.register("chunk_rejected", rejected)
                con.execute(f"INSERT INTO {staged.rejected_table} SELECT * FROM chunk_rejected")
                con.unregister("chunk_rejected")
                staged.rejected += len(chunk.rejected)
                room = 20 - len(staged.rejected_examples)
                staged.rejected_examples.extend((r.line, r.reason) for r in chunk.rejected[:room])
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

    def _merge(self, collector: str, staged: _Staged, started: datetime) -> ImportSummary:
        """Upsert one staged source into the store (inside the import's transaction)."""
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

    # -- reading ---------------------------------------------------------------------

    def posts(self, skip: Sequence[str] = (), ordered: bool = True) -> pd.DataFrame:
        """Every post in the store, in the schema's columns and dtypes.

        Columns named in `skip` are not read and come back empty: a caller that never
        looks at them saves their memory (the analysis skips url and provenance).
        Posts come sorted by platform, time and id unless `ordered` is False: then in
        the store's own order, which is stable while the store is unchanged. The sort
        costs ~4 s per 2.8M posts, and the analysis does not depend on row order.
        """
        unknown = set(skip) - set(POST_COLUMNS)
        if unknown:
            raise ValueError(f"Not post columns: {', '.join(sorted(unknown))}")
        wanted = [c for c in POST_COLUMNS if c not in skip]
        order = " ORDER BY platform, created_at, post_id" if ordered else ""
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
            self.con.execute("SET memory_limit = '64MB'")
            self.con.execute("RESET memory_limit")
        # Through Arrow, strings stay Arrow-backed: 3x faster than `.df()`, which builds
        # Python str objects only for pandas to turn them back into Arrow strings.
        return conform_posts(table.to_pandas(types_mapper=_ARROW_STRINGS.get))

    def import_version(self) -> tuple[int, int]:
        """(imports recorded, last import id): changes whenever posts can have changed.

        Posts only change through imports, so this is a cheap cache key for anything
        computed from them; writing pins does not change it.
        """
        row = self.con.execute("SELECT count(*), coalesce(max(import_id), 0) FROM imports")
        count, last = row.fetchone() or (0, 0)
        return int(count), int(last)

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
        found = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'pins'"
        ).fetchone()
        return bool(found and found[0])


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
