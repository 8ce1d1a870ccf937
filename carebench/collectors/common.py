"""What the file importers other than TWCS share: safe reading, records with lines, chunks.

How a file is read, and why:

- The whole file is read and decoded as UTF-8 (a byte-order mark is allowed). These formats
  are exports of at most some hundred MB; TWCS, the one format of many GB, has its own
  streaming reader.
- JSON comes in three shapes: one document (an object), an array of records, or JSON lines
  (one object per line). Records of an array are parsed one by one so that each keeps the
  line it starts on; a syntax error in a document or an array refuses the whole file (what
  follows it cannot be trusted), while a bad JSON line is rejected alone with its number.
- Every record becomes zero or more posts or one rejected row with its line and reason;
  nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from carebench.collectors.twcs import _ENTITY, _MAGIC, RejectedRow, _looks_like, _unescape
from carebench.errors import NotThisFormat, UnreadableFile
from carebench.schema import DERIVED_TIME_MARK, POST_COLUMNS, conform_posts

# Twitter ids since November 2010 are snowflakes: milliseconds since this epoch, shifted.
TWITTER_EPOCH_MS = 1288834974657
_SNOWFLAKE_START = datetime(2010, 11, 4, tzinfo=UTC)

_RAW_CHARS = 200
_SNIFF_CHARS = 64 * 1024


class BadRecord(Exception):
    """A record that cannot become posts; the message is the reason a user reads."""


class Record(NamedTuple):
    """One source record: where it starts, its value (or why it could not be parsed)."""

    line: int
    value: Any
    raw: str
    error: str | None = None
    offset: int = 0  # characters of the file consumed after this record, for progress


@dataclass(frozen=True)
class PostsChunk:
    """Posts read from part of a file, the records rejected, and how far the file was read."""

    posts: pd.DataFrame
    rejected: tuple[RejectedRow, ...]
    records_read: int
    bytes_read: int
    derived_timestamps: int = 0


def read_text(path: Path, expect: str) -> str:
    """The file as text; UnreadableFile naming the problem and fix if that is impossible.

    `expect` says what the file should be, for messages ("an IBM customer-care JSON file").
    """
    try:
        if not path.exists():
            raise UnreadableFile(f"{path}: no such file; check the path and the file name")
        if path.is_dir():
            raise UnreadableFile(f"{path}: is a directory; give {expect} inside it")
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableFile(f"{path}: cannot be read ({e.strerror}); check its permissions") from e
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise UnreadableFile(f"{path}: is empty; expected {expect}")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            # The TWCS messages end in advice for CSV files; only the first part applies here.
            raise UnreadableFile(f"{path}: is {what.split(':')[0]}, not {expect}")
    if b"\x00" in data[:_SNIFF_CHARS]:
        raise UnreadableFile(f"{path}: is binary (it holds NUL bytes), not {expect}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UnreadableFile(
            f"{path}: is not UTF-8 text (byte 0x{data[e.start]:02X} on line {line}); "
            "it may be Latin-1/Windows-1252: re-save it as UTF-8"
        ) from e


# Keys that tell the JSON formats apart, checked before the TWCS reader's hints (which
# know fewer of them), as (key, format).
_JSON_HINTS: tuple[tuple[str, str], ...] = (
    ('"dialogContent"', "ibm-care"),
    ('"url_utterance"', "ibm-care"),
    ('"snscrape.modules.', "snscrape"),
    ('"rawContent"', "snscrape"),
    ('"inReplyToTweetId"', "snscrape"),
    ('"referenced_tweets"', "x-api"),
    ('"result_count"', "x-api"),
    ('"conversation_id"', "x-api"),
)
_FORMAT_NAMES = {
    "ibm-care": "IBM customer-care dialog JSON",
    "snscrape": "snscrape --jsonl output",
    "x-api": "an X API v2 JSON page",
}


def looks_like(text: str, fmt: str) -> str:
    """What a refused file seems to be, as a sentence to append, unless that is `fmt` itself."""
    sample = text[:_SNIFF_CHARS]
    start = sample.lstrip()
    if start.startswith(("{", "[")):
        for key, other in _JSON_HINTS:
            if key in sample and other != fmt:
                return f" It looks like {_FORMAT_NAMES[other]}: import it with format {other}."
    first = start.split("\n", 1)[0]
    hint = _looks_like(sample, tuple(h.strip() for h in first.split(",")), first)
    if not hint or f"format {fmt}" in hint or hint == "JSON, not CSV":
        return ""
    return f" It looks like {hint}."


def json_records(path: Path, text: str, expect: str, start: int = 0) -> Iterator[Record]:
    """The records of JSON text from `start`: array items, JSON lines, or one document."""
    begin = _skip_space(text, start)
    if begin >= len(text) or text[begin] not in "[{":
        raise NotThisFormat(
            f"{path}: is not {expect}: it does not start with JSON ('{{' or '[')."
            + looks_like(text, "")
        )
    if text[begin] == "[":
        yield from _array_records(path, text, begin)
        return
    first_end = text.find("\n", begin)
    first_line = text[begin : len(text) if first_end < 0 else first_end]
    try:
        one_line = isinstance(json.loads(first_line), dict)
    except (ValueError, RecursionError):
        one_line = False
    rest = "" if first_end < 0 else text[first_end:]
    if one_line and rest.strip():
        yield from _json_lines(text, begin)
        return
    try:
        value = json.loads(text[begin:])
    except json.JSONDecodeError as e:
        raise _syntax_error(path, text[begin:], e, text.count("\n", 0, begin)) from e
    except (ValueError, RecursionError) as e:
        raise _unparsable(path, text.count("\n", 0, begin) + 1, e) from e
    yield Record(text.count("\n", 0, begin) + 1, value, _show_raw(text[begin:]), None, len(text))


def _array_records(path: Path, text: str, begin: int) -> Iterator[Record]:
    """Items of a JSON array, each with the line it starts on."""
    decoder = json.JSONDecoder()
    line, counted = 1, 0
    i = _skip_space(text, begin + 1)
    if i < len(text) and text[i] == "]":
        return
    while True:
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as e:
            raise _syntax_error(path, text, e) from e
        except (ValueError, RecursionError) as e:
            raise _unparsable(path, line + text.count("\n", counted, i), e) from e
        line += text.count("\n", counted, i)
        counted = i
        after = _skip_space(text, end)
        yield Record(line, value, _show_raw(text[i:end]), None, after)
        if after < len(text) and text[after] == ",":
            i = _skip_space(text, after + 1)
            continue
        if after < len(text) and text[after] == "]":
            if text[after + 1 :].strip().rstrip(";").strip():
                where = text.count("\n", 0, after) + 1
                raise UnreadableFile(
                    f"{path}: has text after the end of its JSON array (line {where}); "
                    "delete it, or check that two files were not joined together"
                )
            return
        where = text.count("\n", 0, after) + 1
        raise UnreadableFile(
            f"{path}: is not valid JSON: expected ',' or ']' on line {where} "
            "(was the file cut short or edited by hand?); fix it there or export it again"
        )


def _json_lines(text: str, begin: int) -> Iterator[Record]:
    """One record per non-blank line; a line that is not a JSON object is rejected alone."""
    offset = begin
    line = text.count("\n", 0, begin) + 1
    for raw in text[begin:].splitlines(keepends=True):
        offset += len(raw)
        body = raw.strip()
        if body:
            try:
                value = json.loads(body)
            except json.JSONDecodeError as e:
                reason = f"is not valid JSON ({e.msg} at column {e.colno}): fix or delete the line"
                yield Record(line, None, _show_raw(body), reason, offset)
            except (ValueError, RecursionError) as e:
                yield Record(line, None, _show_raw(body), _too_big(e), offset)
            else:
                yield Record(line, value, _show_raw(body), None, offset)
        line += raw.count("\n") or 1
    return


def _syntax_error(
    path: Path, text: str, e: json.JSONDecodeError, lines_before: int = 0
) -> UnreadableFile:
    """The refusal of a JSON file that does not parse, naming where."""
    return UnreadableFile(
        f"{path}: is not valid JSON: {e.msg} on line {e.lineno + lines_before} column {e.colno} "
        "(was the file cut short or edited by hand?); fix it there or export it again"
    )


def _too_big(e: BaseException) -> str:
    """Why JSON that is valid cannot be read: Python's limits on nesting and on numbers."""
    if isinstance(e, RecursionError):
        return "is JSON nested too deep to read (over ~900 levels): no export is shaped so"
    return "holds a number of thousands of digits, too long to read: no id has that many"


def _unparsable(path: Path, line: int, e: ValueError | RecursionError) -> UnreadableFile:
    """The refusal of a JSON file whose record on `line` cannot be read at all."""
    return UnreadableFile(
        f"{path}: the record on line {line} {_too_big(e)}; remove it or export the file again"
    )


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _show_raw(raw: str) -> str:
    """A record as text for the rejected_rows table: at most 200 characters."""
    return raw[:_RAW_CHARS]


def load_json(
    path: Path, *, fmt: str, expect: str, recognise: Callable[[Any], bool], missing: str
) -> tuple[list[Record], int]:
    """The records of a JSON file and its length; NotThisFormat if none is `recognise`d.

    Only the first 50 good records are looked at: a file of another format shows it at once.
    """
    text = read_text(path, expect)
    records = list(json_records(path, text, expect))
    good = [r for r in records if r.error is None]
    if good and not any(recognise(r.value) for r in good[:50]):
        raise NotThisFormat(f"{path}: is not {expect}: {missing}." + looks_like(text, fmt))
    return records, len(text)


def chunks_from_records(
    path: Path,
    loaded: tuple[Iterable[Record], int],
    to_posts: Callable[[Any], list[dict[str, Any]]],
    collector: str,
    collected_at: datetime,
    chunk_rows: int = 50_000,
) -> Iterator[PostsChunk]:
    """Turn records into chunks of posts; a record `to_posts` refuses (BadRecord) is rejected.

    `loaded` is the records and the length of the text their offsets point into (progress).

    A post dict may hold "_derived_time": True, which marks its raw_ref with
    DERIVED_TIME_MARK and counts it in the chunk's derived_timestamps. A dict holding only
    "_rejected": reason rejects part of a record (a bad tweet of a good page) with its line.
    """
    records, total_chars = loaded
    size = path.stat().st_size
    posts: list[dict[str, Any]] = []
    rejected: list[RejectedRow] = []
    read = derived = 0
    last_offset = 0
    for record in records:
        last_offset = record.offset
        # "Read" counts posts, as every summary column does: a record holding a dialog
        # or an API page counts its posts (kept or rejected); a record that cannot be
        # read at all counts as one.
        if record.error is not None:
            read += 1
            rejected.append(RejectedRow(record.line, record.error, record.raw))
        else:
            try:
                new = to_posts(record.value)
            except BadRecord as e:
                rejected.append(RejectedRow(record.line, str(e), record.raw))
                new = []
            read += max(len(new), 1)
            for post in new:
                if "_rejected" in post:
                    rejected.append(RejectedRow(record.line, post["_rejected"], record.raw))
                    continue
                ref = post.get("raw_ref") or f"{path.name}:{record.line}"
                if post.pop("_derived_time", False):
                    ref += DERIVED_TIME_MARK
                    derived += 1
                post["raw_ref"] = ref
                post["collector"] = collector
                post["collected_at"] = collected_at
            posts.extend(p for p in new if "_rejected" not in p)
        if len(posts) + len(rejected) >= chunk_rows:
            done = size * min(last_offset, total_chars) // max(total_chars, 1)
            yield _chunk(posts, rejected, read, done, derived)
            posts, rejected, read, derived = [], [], 0, 0
    yield _chunk(posts, rejected, read, size, derived)


def _chunk(
    posts: list[dict[str, Any]],
    rejected: list[RejectedRow],
    read: int,
    bytes_read: int,
    derived: int,
) -> PostsChunk:
    frame = pd.DataFrame.from_records(posts, columns=list(POST_COLUMNS))
    return PostsChunk(conform_posts(frame), tuple(rejected), read, bytes_read, derived)


def decode_entities(text: str) -> str:
    """Twitter's HTML character references (&amp; &lt; ...) decoded, as the TWCS reader does."""
    return _ENTITY.sub(_unescape, text) if "&" in text else text


def snowflake_time(tweet_id: str) -> datetime:
    """When a Twitter snowflake id was made; BadRecord for ids older than snowflakes."""
    try:
        when = datetime.fromtimestamp(((int(tweet_id) >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadRecord(f"tweet id {_show(tweet_id)} is too large for a Twitter id") from None
    if when < _SNOWFLAKE_START:
        raise BadRecord(f"tweet id {tweet_id} is older than Twitter's snowflake ids (Nov 2010)")
    return when


_DIGITS = re.compile(r"[0-9]+")


def text_field(record: dict[str, Any], name: str, where: str = "") -> str:
    """A required string field; BadRecord naming it if it is missing or not a string."""
    value = record.get(name)
    if not isinstance(value, str):
        state = "missing" if value is None else f"not text ({type(value).__name__})"
        raise BadRecord(f"{where}{name} is {state}")
    return value


def id_field(record: dict[str, Any], name: str, where: str = "") -> str:
    """A required numeric id (string or integer in the JSON), as a plain digit string."""
    value = record.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return value.strip().lstrip("0") or "0"
    state = "missing" if value is None else f"{_show(value)} is not a numeric id"
    raise BadRecord(f"{where}{name} is {state}" if value is None else f"{where}{name} {state}")


def optional_id(record: dict[str, Any], name: str, where: str = "") -> str | None:
    """An id field that may be missing or null."""
    return None if record.get(name) in (None, "") else id_field(record, name, where)


def iso_time(record: dict[str, Any], name: str, where: str = "") -> datetime:
    """A required ISO 8601 time ('2020-04-01T17:31:32.000Z'); naive times are taken as UTC."""
    value = text_field(record, name, where)
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRecord(
            f"{where}{name} {_show(value)} is not an ISO 8601 time like 2020-04-01T17:31:32Z"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:40] + "..."


def handle_key(handle: str) -> str:
    """A handle compared case-insensitively and without a leading '@'."""
    return handle.strip().lstrip("@").lower()


def twitter_url(handle: str | None, post_id: str) -> str:
    """The public address of a tweet."""
    return f"https://twitter.com/{handle or 'i/web'}/status/{post_id}"
