"""Read a CSV in CareBench's normalised post columns: the escape hatch for tool exports.

The header names the columns of the normalised post (schema.POST_COLUMNS). Required:
platform, post_id, author_id, author_role, created_at, text (collector is always "csv").
Other tools' exports (Hootsuite, Sprout, Sparkcentral, Zendesk) are read by renaming their
columns with `--map SOURCE=TARGET` (repeatable), e.g.
`--map "Message ID=post_id" --map "Message=text" --map "Sent At=created_at"`.

Rules, and why:

- A required column missing after the renames, a `--map` naming a column the file does not
  have, or a target that is not a post column refuses the file, naming them. Other columns
  are not post fields and are ignored.
- Each record is checked: platform one of schema.Platform, author_role brand/customer,
  created_at an ISO 8601 time (or a Twitter date); a time without a zone is taken as UTC.
  A bad record is rejected with its line (the header is line 1) and every reason.
- Text is UTF-8 (a byte-order mark is fine); empty optional cells are empty (None).
- A brand post without a brand gets its author's handle (else id) as brand, as in TWCS.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

from carebench.collectors.common import (
    BadRecord,
    PostsChunk,
    Record,
    chunks_from_records,
    iso_time,
    looks_like,
    read_text,
)
from carebench.collectors.twcs import _parse_one_date, _show_columns
from carebench.errors import CareBenchError, NotThisFormat
from carebench.schema import AUTHOR_ROLES, POST_COLUMNS, REQUIRED_POST_COLUMNS, Platform

FORMAT = "csv"
_EXPECT = "a CSV file with a header of CareBench post columns"
_REQUIRED = tuple(c for c in REQUIRED_POST_COLUMNS if c != "collector")
_PLATFORMS = get_args(Platform)


def parse_column_map(pairs: Sequence[str]) -> dict[str, str]:
    """{source column: post column} from "SOURCE=TARGET" strings; CareBenchError if bad."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or not target:
            raise CareBenchError(f"--map {pair!r} is not SOURCE=TARGET, e.g. --map 'Message=text'.")
        if target not in POST_COLUMNS:
            raise CareBenchError(
                f"--map {pair!r}: {target!r} is not a post column; use one of "
                f"{', '.join(POST_COLUMNS)}."
            )
        if target in mapping.values():
            raise CareBenchError(f"--map: two columns are mapped to {target!r}; keep one.")
        mapping[source] = target
    return mapping


def check_csv_file(path: Path, *, column_map: Mapping[str, str] | None = None) -> None:
    """Raise UnreadableFile or NotThisFormat unless `path` has the columns a post needs."""
    _records(path, column_map or {})


def read_csv(
    path: Path,
    *,
    collected_at: datetime,
    column_map: Mapping[str, str] | None = None,
    chunk_rows: int = 50_000,
) -> Iterator[PostsChunk]:
    """Yield the posts of a normalised-columns CSV file."""
    loaded = _records(path, column_map or {})
    return chunks_from_records(
        path, loaded, lambda row: [_post(row)], FORMAT, collected_at, chunk_rows
    )


def _records(path: Path, column_map: Mapping[str, str]) -> tuple[list[Record], int]:
    text = read_text(path, _EXPECT)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as e:
        # The csv module refuses a field over 128 KiB: no column name is that long, so the
        # first line is not a header (or holds an unclosed quote).
        raise NotThisFormat(
            f"{path}: is not {_EXPECT}: its first line cannot be read as a header ({e}; "
            f"a column name over {csv.field_size_limit() // 1024} KiB or an unclosed quote). "
            f"The first line must name the columns, e.g. {','.join(_REQUIRED)}."
        ) from e
    unknown = [s for s in column_map if s not in header]
    if unknown:
        raise NotThisFormat(
            f"{path}: has no column(s) {', '.join(map(repr, unknown))} named in --map; "
            f"found {_show_columns(header)}."
        )
    names = [column_map.get(h, h) for h in header]
    missing = [c for c in _REQUIRED if c not in names]
    if missing:
        raise NotThisFormat(
            f"{path}: is not {_EXPECT}: missing required column(s) {', '.join(missing)}; "
            f"found {_show_columns(header)}. Rename columns with --map SOURCE=TARGET."
            + looks_like(text, FORMAT)
        )
    wanted = {i: n for i, n in enumerate(names) if n in POST_COLUMNS}
    records = []
    line = reader.line_num + 1
    try:
        for row in reader:
            raw = ",".join(row)[:200]
            if not any(cell.strip() for cell in row):
                line = reader.line_num + 1
                continue  # a blank line holds nothing to lose
            if len(row) != len(header):
                reason = (
                    f"has {len(row)} field(s), expected {len(header)}: "
                    "look for an unquoted comma or a broken quote"
                )
                records.append(Record(line, None, raw, reason, reader.line_num))
            else:
                value = {wanted[i]: cell for i, cell in enumerate(row) if i in wanted}
                records.append(Record(line, value, raw, None, reader.line_num))
            line = reader.line_num + 1
    except csv.Error as e:
        raise NotThisFormat(
            f"{path}: cannot be read as CSV at line {reader.line_num} ({e}); fix the quote there"
        ) from e
    # Progress is counted in lines here: record offsets are the reader's line numbers.
    return records, text.count("\n") + 1


def _post(row: dict[str, str]) -> dict[str, Any]:
    values = {k: (v.strip() if k != "text" else v) for k, v in row.items()}
    problems = [f"{c} is empty" for c in _REQUIRED if c != "text" and not values.get(c)]
    platform = values.get("platform", "").lower()
    if platform and platform not in _PLATFORMS:
        problems.append(f"platform {platform!r} is not one of {', '.join(_PLATFORMS)}")
    role = values.get("author_role", "").lower()
    if role and role not in AUTHOR_ROLES:
        problems.append(f"author_role {role!r} is not brand or customer")
    times: dict[str, datetime | None] = {}
    for column in ("created_at", "collected_at"):
        if values.get(column):
            times[column] = _time(values, column, problems)
    if problems:
        raise BadRecord("; ".join(problems))
    post: dict[str, Any] = {c: (v or None) for c, v in values.items()}
    post.update(platform=platform, author_role=role, text=row["text"], **times)
    post.pop("collector", None)
    if role == "brand" and not post.get("brand"):
        post["brand"] = post.get("author_handle") or post["author_id"]
    return post


def _time(values: dict[str, str], column: str, problems: list[str]) -> datetime | None:
    twitter = _parse_one_date(values[column])
    if twitter is not None:
        return twitter
    try:
        return iso_time(values, column)
    except BadRecord as e:
        problems.append(str(e))
        return None
