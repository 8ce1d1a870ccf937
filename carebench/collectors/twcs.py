"""Read the Kaggle "Customer Support on Twitter" (TWCS) CSV into normalised posts, in chunks.

How the file is read, and why:

- Records end at "\\n" only. Real copies hold bare "\\r" inside unquoted texts, which CSV
  parsers take for a line end, splitting the record in two.
- The file is read in byte blocks that end on a record boundary. pyarrow parses a block
  (the fast path) only when it provably read it as Python's csv module would: it ended
  outside a quote, found no malformed record and accounted for every line. Any other block
  (a broken quote, a wrong number of fields, bytes that are not UTF-8, blank lines) is
  parsed again by the csv module (the slow path), so that each bad record is reported with
  its physical line. pyarrow parses the next block in a background thread.
- Line numbers are physical "\\n"-separated lines, the header being line 1, so a record
  after a multi-line text has the number an editor shows.
- A record holding bytes that are not UTF-8 is rejected, not decoded with replacement
  characters: the store never keeps a text we had to guess at, and the reason names the
  byte and the fix. A file whose start is mostly not UTF-8 is refused as a whole.
- A record whose quoted field takes in lines that look like other records (an unclosed
  quote that happened to leave the field count right) is rejected, not silently kept.
- Blank lines are not records: they hold nothing to lose and are skipped.
- Texts: mojibake (UTF-8 read as Windows-1252) is repaired and HTML character references
  are decoded; anything else a user wrote, curly quotes included, is kept as written.
- Ids: TWCS numbers its tweets itself (1, 2, 3, ...), so post and parent ids are kept in
  the namespace "twcs" ("twcs:42", see schema.NAMESPACE_SEP), shared by every subset of
  the corpus. A file whose header holds a column `carebench_namespace=NAME` (what
  `carebench generate` writes) has ids of its own: they go to namespace NAME instead.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import html
import os
import queue
import re
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeVar

import ftfy
import ftfy.bad_codecs  # registers the sloppy-windows-1252 codec used below
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from carebench.errors import NotThisFormat, UnreadableFile
from carebench.schema import NAMESPACE_SEP, TWCS_NAMESPACE, conform_posts

TWCS_COLUMNS: tuple[str, ...] = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)

# A header column named NAMESPACE_COLUMN + "=" + NAME puts the file's ids in namespace NAME.
NAMESPACE_COLUMN = "carebench_namespace"
_NAMESPACE_HEADER = re.compile(NAMESPACE_COLUMN + r"=([A-Za-z0-9_.-]{1,40})", re.IGNORECASE)

# response_tweet_id only repeats, from the parent's side, what in_response_to_tweet_id says,
# so it is neither read nor required.
_READ_COLUMNS: tuple[str, ...] = tuple(c for c in TWCS_COLUMNS if c != "response_tweet_id")

_DATE_EXAMPLE = "Tue Oct 31 22:10:47 +0000 2017"
_RAW_CHARS = 200
_BOM = codecs.BOM_UTF8

# Big enough that pyarrow's threads have work, small enough to bound memory.
_BLOCK_BYTES = 16 * 1024 * 1024
_SNIFF_BYTES = 64 * 1024
# A tweet is at most a few KiB even fully escaped: a longer line is garbage, and stopping
# there keeps one runaway line from being read into memory whole.
_MAX_LINE_BYTES = 8 * 1024 * 1024

# Appended to every fast-path block as a one-field record: pyarrow reports it as a malformed
# row only if it ended the block outside a quote, which proves the block boundary is real.
_MARKER = "\x02carebench-block-end\x03"
_MARKER_LINE = _MARKER.encode() + b"\n"

# Stands in for a bare "\r" in the slow path; a lone high surrogate cannot come out of
# decoding bytes (surrogateescape only makes U+DC80..U+DCFF), so it never clashes with text.
_CR_STANDIN = "\ud800"
_BARE_CR = re.compile("\r(?!\n)")

_TRUE = pa.array(["true", "1"])
_FALSE = pa.array(["false", "0"])

# Only encoding repairs: quotes, ligatures, widths, line breaks and Unicode normalisation are
# what the user wrote and stay as they are. HTML entities are decoded separately (below).
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_encoding=True,
    restore_byte_a0=True,
    replace_lossy_sequences=True,
    decode_inconsistent_utf8=True,
    fix_c1_controls=True,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=False,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)

# UTF-8 read as Windows-1252 or Latin-1 always shows a lead byte C2..F4 as one of 'Â'..'ô'
# followed by what a continuation byte 80..BF becomes. Every such lead character is encoded
# in UTF-8 with the byte C3, which is what the cheap first pass looks for.
_CONTINUATIONS = "".join(
    sorted(
        {chr(b) for b in range(0x80, 0xC0)}
        | set(bytes(range(0x80, 0xC0)).decode("cp1252", "ignore"))
    )
)
_MOJIBAKE = "[\u00c2-\u00f4][" + re.escape(_CONTINUATIONS) + "]"
_MOJIBAKE_RE = re.compile(_MOJIBAKE)
_MOJIBAKE_LEAD_BYTE = 0xC3

# Only complete, semicolon-terminated references: html.unescape would also decode a bare
# "&not" or "&copy" that a user typed, and Twitter always wrote full entities.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LOOSE_DATE = re.compile(
    r"(?P<wd>[A-Za-z]{3})\s+(?P<mon>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})\s+(?P<tz>[+-]\d{4})\s+(?P<y>\d{4})"
)
_DATE_WIDTH = len(_DATE_EXAMPLE)
# A line inside a field that holds ",<Twitter date>," is the start of another record that an
# unclosed quote took in; no tweet says that, and the csv rules alone would accept it silently.
_SWALLOWED_RECORD = (
    r"\n[^\n]*,[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4} [0-9]{4},"
)
_SWALLOWED_RECORD_RE = re.compile(_SWALLOWED_RECORD)
_DATE_DIGITS = [8, 9, 11, 12, 14, 15, 17, 18, 21, 22, 23, 24, 26, 27, 28, 29]
_DATE_SPACES = [3, 7, 10, 19, 25]
_DATE_COLONS = [13, 16]


def _code3(names: Sequence[str]) -> npt.NDArray[np.int32]:
    """Three ASCII letters as one integer, to compare names in bulk."""
    return np.array([(ord(n[0]) << 16) | (ord(n[1]) << 8) | ord(n[2]) for n in names], np.int32)


_MONTH_CODES = _code3(_MONTHS)
_WEEKDAY_CODES = _code3(_WEEKDAYS)


@dataclass(frozen=True)
class RejectedRow:
    """A record that could not become a post, where it is and why."""

    line: int
    reason: str
    raw: str


@dataclass(frozen=True)
class TwcsChunk:
    """Up to chunk_rows records of a TWCS file: the posts and the records rejected."""

    posts: pd.DataFrame
    rejected: tuple[RejectedRow, ...]
    records_read: int
    bytes_read: int


@dataclass(frozen=True)
class _Layout:
    """Where the TWCS columns are in a file and where its records begin."""

    header: tuple[str, ...]
    positions: dict[str, int]
    data_offset: int
    namespace: str = TWCS_NAMESPACE


@dataclass(frozen=True)
class _Block:
    """Records parsed from one byte block: the good ones (as posts) and the rejected ones."""

    posts: pa.Table
    post_lines: npt.NDArray[np.int64]
    rejected: tuple[RejectedRow, ...]
    end_offset: int

    @property
    def records(self) -> int:
        """Records in the block, good or not."""
        return len(self.post_lines) + len(self.rejected)


@dataclass(frozen=True)
class _Fields:
    """Records as split by a parser: string columns, first lines, and those already rejected."""

    columns: dict[str, pa.Array]
    lines: npt.NDArray[np.int64]
    raw_of: Callable[[npt.NDArray[np.intp]], list[str]]
    rejected: tuple[RejectedRow, ...] = ()
    newlines: int = 0  # the "\n" bytes the records take up in the file


def check_twcs_file(path: Path) -> None:
    """Raise UnreadableFile or NotThisFormat unless `path` starts like a TWCS CSV."""
    _read_layout(path)


def read_twcs(
    path: Path,
    *,
    collected_at: datetime,
    chunk_rows: int = 250_000,
    brand_of: Callable[[str], str | None] | None = None,
) -> Iterator[TwcsChunk]:
    """Yield the posts of a TWCS file in chunks of `chunk_rows` records, with every rejected row."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
    if collected_at.tzinfo is None or collected_at.utcoffset() is None:
        raise ValueError("collected_at must be timezone-aware (UTC)")
    # Checked here, not on the first next(), so a bad file fails before any work starts.
    layout = _read_layout(path)
    return _read_chunks(
        path, layout, pd.Timestamp(collected_at).tz_convert("UTC"), chunk_rows, brand_of
    )


def _read_chunks(
    path: Path,
    layout: _Layout,
    collected_at: pd.Timestamp,
    chunk_rows: int,
    brand_of: Callable[[str], str | None] | None,
) -> Iterator[TwcsChunk]:
    """The chunks of a checked file."""
    # One thread parses the next blocks (pyarrow lets go of the GIL) while a second
    # checks and normalises the last ones and this one hands them on to the store: one
    # thread doing both held the import back (~1 s per 2.8M posts).
    parsed = _read_ahead(_parse_file(path, layout))
    blocks = _read_ahead(
        _normalised_blocks(parsed, path.name, _BrandNames(brand_of), layout.namespace)
    )
    for group in _group_records(blocks, chunk_rows):
        yield _chunk(group, collected_at)


def _normalised_blocks(
    parsed: Generator[tuple[_Fields, int], None, None],
    file_name: str,
    brands: _BrandNames,
    namespace: str = TWCS_NAMESPACE,
) -> Generator[_Block, None, None]:
    """Each parsed block of the file, checked and normalised (see `_normalise`)."""
    try:
        for fields, end in parsed:
            yield _normalise(fields, end, file_name, brands, namespace)
    finally:
        parsed.close()  # the file closes now, not when the generator is collected


_T = TypeVar("_T")


def _read_ahead(items: Generator[_T, None, None]) -> Generator[_T, None, None]:
    """Yield `items`, produced one ahead in a background thread; failures are re-raised here."""
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(kind: str, value: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put((kind, value), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand("item", item):
                    return
            hand("done", None)
        except BaseException as e:  # every failure belongs to the consumer
            hand("error", e)
        finally:
            items.close()

    worker = threading.Thread(target=produce, name="twcs-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join()


# --- whole-file checks -------------------------------------------------------------------

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx): save the sheet as 'CSV UTF-8'"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls): save the sheet as 'CSV UTF-8'"),
    (b"\x1f\x8b", "gzip-compressed: decompress it first (gunzip)"),
    (b"BZh", "bzip2-compressed: decompress it first (bunzip2)"),
    (b"\xfd7zXZ", "xz-compressed: decompress it first (unxz)"),
    (b"7z\xbc\xaf", "a 7-Zip archive: extract the CSV first"),
    (b"%PDF", "a PDF document, not a CSV file"),
    (b"PAR1", "a Parquet file, not a CSV file"),
    (b"SQLite format 3\x00", "an SQLite database, not a CSV file"),
    (b"\xff\xfe", "UTF-16 text: re-save it as UTF-8 (in Excel: 'CSV UTF-8')"),
    (b"\xfe\xff", "UTF-16 text: re-save it as UTF-8 (in Excel: 'CSV UTF-8')"),
)


def _read_layout(path: Path) -> _Layout:
    """Check that `path` is a readable TWCS CSV from its start and find its columns."""
    try:
        if not path.exists():
            raise UnreadableFile(f"{path}: no such file; check the path and the file name")
        if path.is_dir():
            raise UnreadableFile(f"{path}: is a directory; give the TWCS .csv file inside it")
        size = path.stat().st_size
        with path.open("rb") as f:
            sample = f.read(_SNIFF_BYTES)
    except OSError as e:
        raise UnreadableFile(f"{path}: cannot be read ({e.strerror}); check its permissions") from e
    whole = len(sample) == size
    if not sample.removeprefix(_BOM).strip():
        raise UnreadableFile(
            f"{path}: is empty; a TWCS file starts with the header line {','.join(TWCS_COLUMNS)}"
        )
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            raise UnreadableFile(f"{path}: is {what}")
    if b"\x00" in sample:
        raise UnreadableFile(
            f"{path}: is binary (it holds NUL bytes), not CSV text; export the data as CSV UTF-8"
        )
    text = _sniff_text(path, sample, whole)
    bom = len(_BOM) if sample.startswith(_BOM) else 0
    text = text.removeprefix("\ufeff")
    newline = text.find("\n")
    if newline < 0 and not whole:
        raise NotThisFormat(
            f"{path}: is not a TWCS CSV file: its first line is longer than "
            f"{_SNIFF_BYTES // 1024} KiB, so it is not a header line ({','.join(TWCS_COLUMNS)})"
        )
    first = text if newline < 0 else text[:newline]
    header = tuple(h.strip() for h in next(csv.reader([first.rstrip("\r")]), []))
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        positions.setdefault(name.lower(), i)
    missing = [c for c in _READ_COLUMNS if c not in positions]
    if missing:
        looks = _looks_like(text, header, first)
        raise NotThisFormat(
            f"{path}: is not a TWCS CSV file: missing column(s) {', '.join(missing)}; "
            f"found {_show_columns(header)}. "
            + (f"It looks like {looks}." if looks else f"Expected {','.join(TWCS_COLUMNS)}.")
        )
    data_offset = size if newline < 0 else bom + len(first.encode("utf-8")) + 1
    marks = [m[1] for m in map(_NAMESPACE_HEADER.fullmatch, header) if m]
    namespace = marks[0] if marks else TWCS_NAMESPACE
    return _Layout(header, {c: positions[c] for c in _READ_COLUMNS}, data_offset, namespace)


def _sniff_text(path: Path, sample: bytes, whole: bool) -> str:
    """The start of the file as text; UnreadableFile if it is not UTF-8 as a whole."""
    if not whole:
        # The sample may end inside a character: drop a last lead byte and what follows it.
        tail = sample[-4:]
        for i in range(len(tail) - 1, -1, -1):
            if tail[i] >= 0xC0:
                sample = sample[: len(sample) - len(tail) + i]
                break
            if tail[i] < 0x80:
                break
    text = sample.decode("utf-8", "surrogateescape")
    bad = [i for i, ch in enumerate(text) if "\udc80" <= ch <= "\udcff"]
    if not bad:
        return text
    good = sum(1 for ch in text if ch > "\x7f") - len(bad)
    header_end = text.find("\n")
    # A few broken bytes in a UTF-8 file cost only their records (rejected one by one); a
    # header that is not UTF-8, or more bad bytes than good non-ASCII characters, means the
    # whole file is in another encoding, and every record with an accent would be lost.
    if bad[0] < header_end or header_end < 0 or len(bad) > good:
        offset = len(text[: bad[0]].encode("utf-8", "surrogateescape"))
        raise UnreadableFile(
            f"{path}: is not UTF-8 text (byte 0x{sample[offset]:02X} at offset {offset}); "
            "it may be Latin-1/Windows-1252: re-save it as UTF-8"
        )
    return text


def _show_columns(header: Sequence[str]) -> str:
    """The columns found, for an error message, shortened if there are many."""
    if not any(header):
        return "no column names"
    names = [repr(h) for h in header[:12]] + (["..."] if len(header) > 12 else [])
    return "column(s) " + ", ".join(names)


def _looks_like(text: str, header: Sequence[str], first: str) -> str:
    """What a file that is not TWCS seems to be, if that is obvious, with the format to use."""
    start = text.lstrip()
    lower = {h.lower() for h in header}
    if start.startswith("window.YTD."):
        return "an X/Twitter account archive file (tweets.js): import it with format x-archive"
    if start.startswith(("{", "[")):
        if '"url_utterance"' in text or '"tweet_ID"' in text:
            return "IBM customer-care dialog JSON: import it with format ibm-care"
        if '"rawContent"' in text or '"inReplyToTweetId"' in text or '"conversationId"' in text:
            return "snscrape --jsonl output: import it with format snscrape"
        if '"referenced_tweets"' in text or '"conversation_id"' in text or '"includes"' in text:
            return "an X API v2 JSON page: import it with format x-api"
        return "JSON, not CSV"
    if start.startswith("<"):
        return "an HTML or XML page, not CSV (a failed download?)"
    if {"platform", "post_id", "author_role"} <= lower:
        return "a CareBench normalised-posts CSV: import it with format csv"
    for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        names = {h.strip().strip('"').lower() for h in first.rstrip("\r").split(sep)}
        if set(_READ_COLUMNS) <= names:
            return f"a TWCS file separated by {name}: re-save it with commas as separators"
    return ""


# --- splitting the file into parsed blocks -----------------------------------------------


def _parse_file(path: Path, layout: _Layout) -> Generator[tuple[_Fields, int], None, None]:
    """Yield the records of the file block by block, each with the file offset reached."""
    try:
        yield from _parse_open_file(path, layout)
    except OSError as e:
        raise UnreadableFile(f"{path}: reading failed part-way ({e.strerror or e})") from e


def _parse_open_file(path: Path, layout: _Layout) -> Iterator[tuple[_Fields, int]]:
    """The work of _parse_file."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        f.seek(layout.data_offset)
        buf = b""
        offset = layout.data_offset
        line = 2
        eof = False
        while True:
            if not eof:
                data = f.read(_BLOCK_BYTES)
                if data:
                    buf = buf + data if buf else data
                else:
                    eof = True
            if eof:
                # Trailing blank lines are not records; what is left must end like a record.
                buf = buf.rstrip(b"\r\n")
                if not buf:
                    if offset < size:
                        yield _no_records(), size
                    return
                buf += b"\n"
                cut = len(buf)
            else:
                cut = buf.rfind(b"\n") + 1
            fast = _parse_fast(buf[:cut], layout, line) if cut else "other"
            if fast == "boundary" and not eof:
                # The last line ends inside a quoted text: end the block where quotes balance,
                # or, if the one record here is still going on, read more of it first (up to
                # a bound, beyond which an unclosed quote is the likelier story).
                cut = _last_record_end(buf) + 1
                if not cut and len(buf) <= _MAX_LINE_BYTES:
                    continue
                fast = _parse_fast(buf[:cut], layout, line) if cut else "other"
            if isinstance(fast, _Fields):
                buf = buf[cut:]
                # At the end, trailing blank lines were dropped and a last "\n" maybe added.
                offset = size if eof and not buf else offset + cut
                line += fast.newlines
                yield fast, offset
                continue
            if not eof and b"\n" not in buf:
                if len(buf) > _MAX_LINE_BYTES:
                    start = buf[: _RAW_CHARS * 4]
                    length, buf, eof = _skip_line(f, buf)
                    offset += length
                    yield _long_line(line, start), offset
                    line += 1
                continue
            fields, used = _parse_exact(buf, layout, line, at_eof=eof)
            line += buf.count(b"\n", 0, used)
            buf = buf[used:]
            offset = size if eof and not buf else offset + used
            if len(fields.lines) or fields.rejected:
                yield fields, offset
            if eof and not buf:
                return


def _last_record_end(buf: bytes) -> int:
    """Index of the "\\n" ending the last whole record in `buf` (quotes balanced), or -1."""
    end = buf.rfind(b"\n")
    if end < 0:
        return -1
    quotes = buf.count(b'"', 0, end)
    while quotes % 2:
        previous = buf.rfind(b"\n", 0, end)
        if previous < 0:
            return -1
        quotes -= buf.count(b'"', previous, end)
        end = previous
    return end


def _skip_line(f: BinaryIO, buf: bytes) -> tuple[int, bytes, bool]:
    """Read past the end of an overlong line: its length, the bytes after it, and EOF."""
    length = len(buf)
    while True:
        data = f.read(_BLOCK_BYTES)
        if not data:
            return length, b"", True
        end = data.find(b"\n")
        if end >= 0:
            return length + end + 1, data[end + 1 :], False
        length += len(data)


def _long_line(line: int, start: bytes) -> _Fields:
    """Fields holding only the rejection of one overlong line."""
    reason = f"line is longer than {_MAX_LINE_BYTES:,} bytes: not a TWCS record"
    return _no_records((RejectedRow(line, reason, _show_raw(start)),))


def _no_records(rejected: tuple[RejectedRow, ...] = ()) -> _Fields:
    """Fields without a single good record."""
    columns = {c: pa.array([], pa.string()) for c in _READ_COLUMNS}
    return _Fields(columns, np.zeros(0, np.int64), lambda rows: [], rejected)


def _parse_fast(
    block: bytes, layout: _Layout, first_line: int
) -> _Fields | Literal["boundary", "other"]:
    """Parse a block with pyarrow, or say why that might differ from the exact parse.

    "boundary": the block ends inside a quoted field; "other": anything else.
    """
    data = np.frombuffer(block, np.uint8)
    # numpy scans bytes several times faster than bytes.count, and this is the only copy.
    parsed = np.empty(len(data) + len(_MARKER_LINE), np.uint8)
    parsed[: len(data)] = data
    parsed[len(data) :] = np.frombuffer(_MARKER_LINE, np.uint8)
    standin: str | None = None
    bare = _bare_cr(data) if block.find(b"\r") >= 0 else np.zeros(0, np.intp)
    if len(bare):
        standin = _unused_control_char(block)
        if standin is None:
            return "other"
        parsed[bare] = ord(standin)
    malformed: list[str] = []

    def on_malformed(row: pa_csv.InvalidRow) -> str:
        malformed.append(row.text)
        return "skip"

    names = [f"f{i}" for i in range(len(layout.header))]
    wanted = {c: names[i] for c, i in layout.positions.items()}
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(parsed),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=True),
            parse_options=pa_csv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_malformed
            ),
            convert_options=pa_csv.ConvertOptions(
                include_columns=list(wanted.values()),
                column_types=dict.fromkeys(wanted.values(), pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        # Bytes that are not UTF-8, mostly: the exact parse finds the records that hold them.
        return "other"
    if malformed != [_MARKER]:
        return "other" if _MARKER in malformed else "boundary"
    columns = {c: table[n].combine_chunks() for c, n in wanted.items()}
    # The text holds nearly every "\n" and bare "\r"; the other columns are scanned only
    # when the text does not account for all that the block holds.
    by_text = ["text", *(c for c in columns if c != "text")]
    if standin is not None:
        left = len(bare)
        for column in by_text:
            columns[column], put_back = _put_back_cr(columns[column], standin)
            left -= put_back
            if not left:
                break
    rows = len(table)
    total_newlines = int(np.count_nonzero(data == 0x0A))
    newlines = np.zeros(rows, np.int64)
    for column in by_text:
        newlines += np.bincount(_rows_with_byte(columns[column], 0x0A), minlength=rows)
        if rows + int(newlines.sum()) == total_newlines:
            break
    # Every "\n" must end a record or sit inside a read field; otherwise there were blank
    # lines or newlines in unread columns, and line numbers would drift.
    if rows + int(newlines.sum()) != total_newlines:
        return "other"
    lines = first_line + np.cumsum(newlines + 1) - newlines - 1

    def raw_of(indices: npt.NDArray[np.intp]) -> list[str]:
        line_ends = np.flatnonzero(data == 0x0A)
        raws = []
        for i in indices:
            start_line = int(lines[i]) - first_line
            start = 0 if start_line == 0 else int(line_ends[start_line - 1]) + 1
            end = int(line_ends[start_line + int(newlines[i])])
            raws.append(_show_raw(block[start:end]))
        return raws

    return _Fields(columns, lines.astype(np.int64), raw_of, newlines=total_newlines)


def _put_back_cr(array: pa.Array, standin: str) -> tuple[pa.Array, int]:
    """`array` with the stand-in turned back into "\\r" (touching only its rows), and how many."""
    hits = _rows_with_byte(array, ord(standin))
    if not len(hits):
        return array, 0
    rows = np.unique(hits)
    mask = np.zeros(len(array), bool)
    mask[rows] = True
    fixed = pc.replace_substring(array.take(pa.array(rows)), standin, "\r")
    return pc.replace_with_mask(array, pa.array(mask), fixed), len(hits)


def _unused_control_char(block: bytes) -> str | None:
    """A control character absent from `block`, to stand in for bare "\\r" while parsing."""
    for code in (0x1A, 0x1F, 0x1E, 0x1D, 0x1C, *range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x1A)):
        if bytes([code]) not in block:
            return chr(code)
    return None


def _bare_cr(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """Positions of every "\\r" that is not followed by "\\n" (`data` ends with "\\n")."""
    cr = np.flatnonzero(data == 0x0D)
    return cr[data[np.minimum(cr + 1, len(data) - 1)] != 0x0A]


def _parse_exact(
    buf: bytes, layout: _Layout, first_line: int, *, at_eof: bool
) -> tuple[_Fields, int]:
    """Parse the whole records of `buf` with the csv module; return them and the bytes used."""
    pieces = buf.split(b"\n")
    line_bytes = [p + b"\n" for p in pieces[:-1]]
    if at_eof and pieces[-1]:
        line_bytes.append(pieces[-1])
    texts = [_BARE_CR.sub(_CR_STANDIN, b.decode("utf-8", "surrogateescape")) for b in line_bytes]
    reader = csv.reader(texts)
    values: dict[str, list[str]] = {c: [] for c in layout.positions}
    lines: list[int] = []
    spans: list[tuple[int, int]] = []
    rejected: list[RejectedRow] = []
    used = 0
    while True:
        start = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            used = len(texts)
            break
        except csv.Error as e:
            end = reader.line_num
            first, last = first_line + start, first_line + end - 1
            reason = (
                f"a quoted field never closes ({e}): lines {first}-{last} were read as one "
                "record; fix the quote"
            )
            rejected.append(RejectedRow(first, reason, _show_raw(b"".join(line_bytes[start:end]))))
            used = end
            continue
        end = reader.line_num
        if not at_eof and end == len(texts) and row:
            # The record may go on in bytes not read yet: parse it again with them.
            used = start
            break
        used = end
        if not row:
            continue
        line = first_line + start
        problem = _record_problem(row, layout, line, end - start)
        if problem:
            rejected.append(RejectedRow(line, problem, _show_raw(b"".join(line_bytes[start:end]))))
            continue
        for column, position in layout.positions.items():
            values[column].append(row[position].replace(_CR_STANDIN, "\r"))
        lines.append(line)
        spans.append((start, end))
    used_bytes = len(buf) if at_eof and used == len(texts) else sum(map(len, line_bytes[:used]))
    fields = _Fields(
        {c: pa.array(v, pa.string()) for c, v in values.items()},
        np.array(lines, np.int64),
        lambda indices: [_show_raw(b"".join(line_bytes[slice(*spans[int(i)])])) for i in indices],
        tuple(rejected),
    )
    return fields, used_bytes


def _record_problem(row: list[str], layout: _Layout, line: int, nlines: int) -> str:
    """Why a record split by the csv module cannot be used, or ''."""
    if len(row) != len(layout.header):
        span = f"; it runs over lines {line}-{line + nlines - 1}" if nlines > 1 else ""
        return (
            f"has {len(row)} field(s), expected {len(layout.header)} "
            f"({','.join(layout.header)}){span}: look for an unquoted comma or a broken quote"
        )
    if nlines > 1 and any(_SWALLOWED_RECORD_RE.search(v) for v in row):
        return _swallow_problem(line, row)
    for name, position in layout.positions.items():
        bad = re.search("[\udc80-\udcff]", row[position])
        if bad:
            return (
                f"{name} holds a byte that is not UTF-8 (0x{ord(bad.group()) - 0xDC00:02X}): "
                "re-save the file as UTF-8"
            )
    return ""


def _show_raw(raw: bytes) -> str:
    """A record as text for a message: without its line end, at most 200 characters."""
    return raw.removesuffix(b"\n").removesuffix(b"\r").decode("utf-8", "replace")[:_RAW_CHARS]


def _rows_with_byte(array: pa.Array, byte: int) -> npt.NDArray[np.intp]:
    """The row of every occurrence of `byte` in a string array (rows repeat, in order)."""
    if len(array) == 0:
        return np.zeros(0, np.intp)
    offsets = _offsets(array)
    data = np.frombuffer(array.buffers()[2], np.uint8)
    low, high = int(offsets[0]), int(offsets[-1])
    hits = np.flatnonzero(data[low:high] == byte) + low
    return np.searchsorted(offsets, hits, side="right") - 1


def _offsets(array: pa.Array) -> npt.NDArray[np.int64]:
    """The value offsets of a string array, sliced to the array."""
    if len(array) == 0:
        return np.zeros(1, np.int64)
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    raw = np.frombuffer(array.buffers()[1], width)
    return raw[array.offset : array.offset + len(array) + 1].astype(np.int64, copy=False)


# --- from fields to posts ----------------------------------------------------------------


class _BrandNames:
    """The brand of each brand author id, asked of `brand_of` once per id."""

    def __init__(self, brand_of: Callable[[str], str | None] | None) -> None:
        self._brand_of = brand_of
        self._known: dict[str, str] = {}

    def of(self, authors: pa.Array, is_customer: pa.Array) -> pa.Array:
        """Brand per row: None for customers, else brand_of(author_id) or the author id."""
        brand_rows = authors if self._brand_of is None else self._map(authors, is_customer)
        return pc.if_else(is_customer, pa.scalar(None, pa.string()), brand_rows)

    def _map(self, authors: pa.Array, is_customer: pa.Array) -> pa.Array:
        assert self._brand_of is not None
        ids = pc.unique(authors.filter(pc.invert(is_customer))).to_pylist()
        for author in ids:
            if author not in self._known:
                self._known[author] = self._brand_of(author) or author
        if not ids:
            return authors
        names = pa.array([self._known[a] for a in ids], pa.string())
        found = pc.take(names, pc.index_in(authors, value_set=pa.array(ids, pa.string())))
        return pc.coalesce(found, authors)


def _normalise(
    fields: _Fields,
    end_offset: int,
    file_name: str,
    brands: _BrandNames,
    namespace: str = TWCS_NAMESPACE,
) -> _Block:
    """Check and convert parsed records to normalised-post columns; reject what is bad."""
    cols = fields.columns
    post_id, id_ok = _canonical_ids(cols["tweet_id"])
    parent_id, parent_ok = _canonical_ids(cols["in_response_to_tweet_id"])
    parent_empty = _lengths(pc.utf8_trim_whitespace(parent_id)) == 0
    author = _plain_author(cols["author_id"])
    author_ok = _lengths(author) > 0
    inbound = pc.utf8_lower(pc.utf8_trim_whitespace(cols["inbound"]))
    customer = _numpy_bool(pc.is_in(inbound, value_set=_TRUE))
    inbound_ok = customer | _numpy_bool(pc.is_in(inbound, value_set=_FALSE))
    created_at, date_ok = _parse_dates(cols["created_at"])
    whole = ~_swallows_records(cols)
    ok = id_ok & (parent_ok | parent_empty) & author_ok & inbound_ok & date_ok & whole
    rejected = list(fields.rejected)
    lines = fields.lines
    if not ok.all():
        bad = np.flatnonzero(~ok)
        for i, raw in zip(bad, fields.raw_of(bad), strict=True):
            values = {c: a[int(i)].as_py() for c, a in cols.items()}
            if not whole[i]:
                reason = _swallow_problem(int(lines[i]), values.values())
            else:
                reason = _reasons(
                    values, id_ok=bool(id_ok[i]), parent_ok=bool(parent_ok[i] or parent_empty[i])
                )
            rejected.append(RejectedRow(int(lines[i]), reason, raw))
        keep = pa.array(ok)
        post_id, parent_id, author, created_at = (
            a.filter(keep) for a in (post_id, parent_id, author, created_at)
        )
        text = cols["text"].filter(keep)
        customer, parent_empty, lines = customer[ok], parent_empty[ok], lines[ok]
    else:
        text = cols["text"]
    is_customer = pa.array(customer)
    # Inserted as an empty slice replaced: 3x faster than joining strings (0.04 s per
    # 2.8M ids), and the ids are ASCII digits, so bytes are characters.
    prefix = namespace + NAMESPACE_SEP
    table = pa.table(
        {
            "post_id": pc.binary_replace_slice(post_id, 0, 0, prefix),
            "url": pc.binary_join_element_wise(
                "https://twitter.com/",
                pc.if_else(is_customer, "i/web", author),
                "/status/",
                post_id,
                "",
            ),
            "parent_id": pc.if_else(
                pa.array(parent_empty),
                pa.scalar(None, pa.string()),
                pc.binary_replace_slice(parent_id, 0, 0, prefix),
            ),
            "author_id": author,
            "author_handle": author,
            "author_role": pc.if_else(is_customer, "customer", "brand"),
            "brand": brands.of(author, is_customer),
            "created_at": created_at,
            "text": _repair_texts(text),
            "raw_ref": pc.binary_join_element_wise(
                f"{file_name}:", pc.cast(pa.array(lines), pa.string()), ""
            ),
        }
    )
    rejected.sort(key=lambda r: r.line)
    return _Block(table, lines, tuple(rejected), end_offset)


def _swallows_records(columns: dict[str, pa.Array]) -> npt.NDArray[np.bool_]:
    """Which records hold, inside a field, a line that starts another record."""
    found = np.zeros(len(columns["text"]), bool)
    for array in columns.values():
        multiline = np.unique(_rows_with_byte(array, 0x0A))
        if len(multiline):
            hits = pc.match_substring_regex(array.take(pa.array(multiline)), _SWALLOWED_RECORD)
            found[multiline[_numpy_bool(hits)]] = True
    return found


def _swallow_problem(line: int, values: Iterable[str]) -> str:
    """The reason for rejecting a record that took in others through an unclosed quote."""
    last = line + sum(v.count("\n") for v in values)
    return (
        f"a quote is not closed: this record runs over lines {line}-{last} and takes in what "
        "look like other records; fix the quote"
    )


def _reasons(values: dict[str, str], *, id_ok: bool, parent_ok: bool) -> str:
    """Everything wrong with one record, for its rejection."""
    if values["tweet_id"].strip().lower() == "tweet_id" and values["text"].strip() == "text":
        return "is a repeated header line (were files joined together?): delete it"
    reasons = []
    if not id_ok:
        reasons.append(_id_problem("tweet_id", values["tweet_id"]))
    if not values["author_id"].strip():
        reasons.append("author_id is empty")
    if values["inbound"].strip().lower() not in ("true", "false", "1", "0"):
        reasons.append(f"inbound {_show(values['inbound'])} is not True/False (or 1/0)")
    if _parse_one_date(values["created_at"]) is None:
        reasons.append(
            f"created_at {_show(values['created_at'])} is not a date like {_DATE_EXAMPLE!r}"
        )
    if not parent_ok:
        reasons.append(_id_problem("in_response_to_tweet_id", values["in_response_to_tweet_id"]))
    return "; ".join(reasons) or "could not be read as a TWCS record"


def _id_problem(column: str, value: str) -> str:
    """Why `value` is not a tweet id."""
    if not value.strip():
        return f"{column} is empty"
    if re.fullmatch(r"\s*[0-9.]+[eE][+-]?[0-9]+\s*", value):
        return (
            f"{column} {_show(value)} is in scientific notation, so its digits were lost: "
            "re-export the file with ids as text"
        )
    return f"{column} {_show(value)} is not a whole number"


def _show(value: str) -> str:
    """A field value quoted for a message, shortened."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _lengths(array: pa.Array) -> npt.NDArray[np.int64]:
    """Byte length of every string."""
    return np.diff(_offsets(array))


def _numpy_bool(array: pa.Array) -> npt.NDArray[np.bool_]:
    """A null-free boolean Arrow array as numpy."""
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=bool)


def _canonical_ids(values: pa.Array) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    """Ids as plain integer strings ('3.0' -> '3', '007' -> '7') and which are whole numbers."""
    ids = values
    ok = _numpy_bool(pc.ascii_is_decimal(ids))
    other = np.flatnonzero(~ok & (_lengths(ids) > 0))
    if len(other):
        # Spreadsheets and pandas write ids as floats ('3.0'), some with spaces around.
        floats = pc.utf8_trim_whitespace(ids.take(pa.array(other)))
        plain = pc.utf8_slice_codeunits(floats, 0, -2)
        point_zero = _numpy_bool(pc.ends_with(floats, ".0")) & _numpy_bool(
            pc.ascii_is_decimal(plain)
        )
        fixed = pc.if_else(pa.array(point_zero), plain, floats)
        whole = point_zero.copy()
        rest = np.flatnonzero(~point_zero)
        if len(rest):
            odd = fixed.take(pa.array(rest))
            whole[rest] = _numpy_bool(pc.match_substring_regex(odd, r"^[0-9]+(\.0*)?$"))
            mask = np.zeros(len(other), bool)
            mask[rest] = True
            odd = pc.replace_substring_regex(odd, r"\.0*$", "")
            fixed = pc.replace_with_mask(fixed, pa.array(mask), odd)
        mask = np.zeros(len(ids), bool)
        mask[other] = True
        ids = pc.replace_with_mask(ids, pa.array(mask), fixed)
        ok[other[whole]] = True
    padded = _numpy_bool(pc.starts_with(ids, "0")) & (_lengths(ids) > 1) & ok
    if padded.any():
        ids = pc.replace_with_mask(
            ids,
            pa.array(padded),
            pc.replace_substring_regex(ids.filter(pa.array(padded)), r"^0+([0-9])", r"\1"),
        )
    return ids, ok


def _plain_author(values: pa.Array) -> pa.Array:
    """Author ids trimmed, and customer numbers a spreadsheet wrote as floats made integers."""
    authors = pc.utf8_trim_whitespace(values)
    floats = _numpy_bool(pc.match_substring_regex(authors, r"^[0-9]+\.0+$"))
    if not floats.any():
        return authors
    mask = pa.array(floats)
    fixed = pc.replace_substring_regex(authors.filter(mask), r"\.0+$", "")
    return pc.replace_with_mask(authors, mask, fixed)


def _parse_dates(values: pa.Array) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    """UTC timestamps from 'Tue Oct 31 22:10:47 +0000 2017' strings, and which parsed."""
    dates = values
    seconds = np.zeros(len(dates), np.int64)
    ok = np.zeros(len(dates), bool)
    # Twitter wrote fixed-width dates, so most are parsed as a byte grid in bulk; Arrow's
    # strptime is ten times slower and quietly turns Nov 31 into Dec 1.
    fixed = np.flatnonzero(_lengths(dates) == _DATE_WIDTH)
    if len(fixed):
        grid_source = dates if len(fixed) == len(dates) else dates.take(pa.array(fixed))
        grid = _fixed_width_bytes(grid_source, _DATE_WIDTH)
        seconds[fixed], ok[fixed] = _grid_seconds(grid)
    for i in np.flatnonzero(~ok):
        parsed = _parse_one_date(dates[int(i)].as_py())
        if parsed is not None:
            seconds[i], ok[i] = int(parsed.timestamp()), True
    stamps = pa.array(seconds, pa.timestamp("s", tz="UTC"), mask=~ok)
    return stamps, ok


def _fixed_width_bytes(array: pa.Array, width: int) -> npt.NDArray[np.uint8]:
    """The bytes of a string array whose values all have `width` bytes, one row per value."""
    offsets = _offsets(array)
    data = np.frombuffer(array.buffers()[2], np.uint8)
    start = int(offsets[0])
    return data[start : start + width * len(array)].reshape(len(array), width)


def _grid_seconds(
    grid: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Epoch seconds of fixed-width Twitter dates given as a byte grid, and which are valid."""
    digits = grid[:, _DATE_DIGITS].astype(np.int64) - ord("0")
    ok = ((digits >= 0) & (digits <= 9)).all(axis=1)
    ok &= (grid[:, _DATE_SPACES] == ord(" ")).all(axis=1)
    ok &= (grid[:, _DATE_COLONS] == ord(":")).all(axis=1)
    sign = grid[:, 20]
    ok &= (sign == ord("+")) | (sign == ord("-"))
    weekday = _grid_code3(grid, 0)
    ok &= np.isin(weekday, _WEEKDAY_CODES)
    month_code = _grid_code3(grid, 4)
    month = np.full(len(grid), -1, np.int64)
    for index, code in enumerate(_MONTH_CODES):
        month[month_code == code] = index
    ok &= month >= 0

    def number(first: int, count: int) -> npt.NDArray[np.int64]:
        value = np.zeros(len(grid), np.int64)
        for k in range(first, first + count):
            value = value * 10 + digits[:, k]
        return value

    day, hour, minute, second = number(0, 2), number(2, 2), number(4, 2), number(6, 2)
    offset_hours, offset_minutes, year = number(8, 2), number(10, 2), number(12, 4)
    ok &= (day >= 1) & (hour < 24) & (minute < 60) & (second < 60)
    ok &= (offset_hours < 24) & (offset_minutes < 60)
    months = np.where(ok, (year - 1970) * 12 + month, 0).astype("datetime64[M]")
    first_day = months.astype("datetime64[D]")
    days_in_month = ((months + 1).astype("datetime64[D]") - first_day).astype(np.int64)
    ok &= day <= days_in_month
    days = first_day.astype(np.int64) + day - 1
    offset = np.where(sign == ord("-"), -1, 1) * (offset_hours * 3600 + offset_minutes * 60)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    return np.where(ok, seconds, 0), ok


def _grid_code3(grid: npt.NDArray[np.uint8], first: int) -> npt.NDArray[np.int32]:
    """Three letters of every row, as the integers _code3 makes."""
    letters = grid[:, first : first + 3].astype(np.int32)
    return (letters[:, 0] << 16) | (letters[:, 1] << 8) | letters[:, 2]


def _parse_one_date(value: str) -> datetime | None:
    """One Twitter date, allowing single-digit days and hours and extra spaces, or None."""
    match = _LOOSE_DATE.fullmatch(value.strip())
    if not match or match["wd"].title() not in _WEEKDAYS or match["mon"].title() not in _MONTHS:
        return None
    tz = match["tz"]
    if int(tz[3:5]) >= 60:
        return None
    offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * (-1 if tz[0] == "-" else 1)
    try:
        return datetime(
            int(match["y"]),
            _MONTHS.index(match["mon"].title()) + 1,
            int(match["day"]),
            int(match["h"]),
            int(match["m"]),
            int(match["s"]),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None


def _repair_texts(texts: pa.Array) -> pa.Array:
    """Texts with mojibake repaired and HTML entities decoded; every other text as it was."""
    if len(texts) == 0:
        return texts
    garbled = np.unique(_rows_with_byte(texts, _MOJIBAKE_LEAD_BYTE))
    if len(garbled):
        found = pc.match_substring_regex(texts.take(pa.array(garbled)), _MOJIBAKE)
        garbled = garbled[_numpy_bool(found)]
    escaped = np.setdiff1d(np.unique(_rows_with_byte(texts, ord("&"))), garbled)
    simple = np.zeros(0, np.intp)
    decoded = pa.array([], pa.string())
    if len(escaped):
        # Twitter escaped only & < > (and quotes in some exports): decode those in bulk and
        # leave the rare other references to html.unescape, one text at a time.
        candidates = texts.take(pa.array(escaped))
        is_simple = _only_common_entities(candidates)
        simple, escaped = escaped[is_simple], escaped[~is_simple]
        decoded = _decode_common_entities(candidates.filter(pa.array(is_simple)))
    one_by_one = np.union1d(garbled, escaped)
    fixed = []
    for text, is_garbled in zip(
        texts.take(pa.array(one_by_one)).to_pylist(), np.isin(one_by_one, garbled), strict=True
    ):
        if is_garbled:
            text = _fix_mojibake(text)
        fixed.append(_ENTITY.sub(_unescape, text) if "&" in text else text)
    rows = np.concatenate([simple, one_by_one])
    if not len(rows):
        return texts
    values = pa.concat_arrays([decoded, pa.array(fixed, pa.string())])
    order = np.argsort(rows, kind="stable")
    mask = np.zeros(len(texts), bool)
    mask[rows] = True
    return pc.replace_with_mask(texts, pa.array(mask), values.take(pa.array(order)))


_COMMON_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&amp;", "&"))


def _only_common_entities(texts: pa.Array) -> npt.NDArray[np.bool_]:
    """Which texts hold no character reference other than the common ones."""
    every = np.asarray(pc.count_substring_regex(texts, _ENTITY.pattern), np.int64)
    common = sum(np.asarray(pc.count_substring(texts, e), np.int64) for e, _ in _COMMON_ENTITIES)
    return np.asarray(every == common, bool)


def _decode_common_entities(texts: pa.Array) -> pa.Array:
    """&lt; &gt; &quot; &#39; &amp; decoded, in bulk."""
    # "&amp;" goes last so that "&amp;lt;" becomes "&lt;", as one left-to-right pass would.
    for entity, char in _COMMON_ENTITIES:
        texts = pc.replace_substring(texts, entity, char)
    return texts


def _fix_mojibake(text: str) -> str:
    """Undo UTF-8 that was read as Latin-1 or Windows-1252, with ftfy deciding the hard cases."""
    # Encoding the whole text back and decoding it as UTF-8 is ftfy's own first step, taken
    # here without its 50 us "does this look bad" scoring: the pre-filter already chose the
    # text, and a strict decode of the whole of it succeeds only if it really was UTF-8.
    # Where both codecs can encode a text they give the same bytes, so trying Windows-1252
    # first (it fails less often, and failing is slow) gives what ftfy's order gives.
    for codec in ("sloppy-windows-1252", "latin-1"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
        if not _MOJIBAKE_RE.search(fixed):
            return fixed
        break
    return ftfy.fix_encoding(text, _FTFY)


def _unescape(match: re.Match[str]) -> str:
    """One HTML character reference decoded."""
    return html.unescape(match.group())


# --- chunks ------------------------------------------------------------------------------


def _group_records(blocks: Iterator[_Block], chunk_rows: int) -> Iterator[list[_Block]]:
    """Regroup blocks so that each group holds exactly chunk_rows records (the last fewer)."""
    pending: list[_Block] = []
    count = 0
    for block in blocks:
        pending.append(block)
        count += block.records
        # Strictly more: the last group then always ends with the last block, whose offset
        # is the end of the file, even when that block holds nothing but blank lines.
        while count > chunk_rows:
            group: list[_Block] = []
            wanted = chunk_rows
            while wanted:
                head = pending.pop(0)
                if head.records <= wanted:
                    group.append(head)
                    wanted -= head.records
                else:
                    first, rest = _split_block(head, wanted)
                    group.append(first)
                    pending.insert(0, rest)
                    wanted = 0
            count -= chunk_rows
            yield group
    if count:
        yield pending


def _split_block(block: _Block, records: int) -> tuple[_Block, _Block]:
    """The first `records` records of a block, and the rest."""
    reject_lines = [r.line for r in block.rejected]
    every = np.sort(np.concatenate([block.post_lines, np.array(reject_lines, np.int64)]))
    cut = int(every[records])
    posts = int(np.searchsorted(block.post_lines, cut))
    rejects = bisect.bisect_left(reject_lines, cut)
    first = _Block(
        block.posts.slice(0, posts),
        block.post_lines[:posts],
        block.rejected[:rejects],
        block.end_offset,
    )
    rest = _Block(
        block.posts.slice(posts),
        block.post_lines[posts:],
        block.rejected[rejects:],
        block.end_offset,
    )
    return first, rest


def _chunk(group: list[_Block], collected_at: pd.Timestamp) -> TwcsChunk:
    """One chunk of normalised posts from a group of blocks."""
    frame = pa.concat_tables([b.posts for b in group]).to_pandas()
    frame["platform"] = "twitter"
    frame["collector"] = "twcs"
    frame["collected_at"] = collected_at
    rejected = tuple(r for b in group for r in b.rejected)
    return TwcsChunk(
        posts=conform_posts(frame),
        rejected=rejected,
        records_read=len(frame) + len(rejected),
        bytes_read=group[-1].end_offset,
    )
