"""The TWCS reader: each quirk of real copies, each rejected row with its line, chunking."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import ftfy
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carebench.collectors import twcs
from carebench.collectors.twcs import (
    TWCS_COLUMNS,
    RejectedRow,
    TwcsChunk,
    check_twcs_file,
    read_twcs,
)
from carebench.errors import NotThisFormat, UnreadableFile
from carebench.schema import POST_COLUMNS, empty_posts

REAL = Path(__file__).parents[1] / ".." / "shared" / "data" / "twcs"
COLLECTED = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
HEADER = ",".join(TWCS_COLUMNS)
DATE = "Tue Oct 31 22:10:47 +0000 2017"
WHEN = pd.Timestamp("2017-10-31 22:10:47", tz="UTC")


def record(
    tweet_id: str = "1",
    author_id: str = "AcmeHelp",
    inbound: str = "False",
    created_at: str = DATE,
    text: str = "hello",
    response_tweet_id: str = "",
    in_response_to_tweet_id: str = "",
) -> str:
    """One TWCS record as a CSV line (quoted where needed), ending in "\\n"."""
    out = io.StringIO()
    fields = [tweet_id, author_id, inbound, created_at, text, response_tweet_id]
    csv.writer(out, lineterminator="\n").writerow([*fields, in_response_to_tweet_id])
    return out.getvalue()


def write(tmp_path: Path, content: str | bytes, name: str = "t.csv") -> Path:
    """A file holding exactly `content` (text is written as UTF-8, line ends untouched)."""
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def read_all(path: Path, **kwargs: object) -> tuple[pd.DataFrame, list[RejectedRow]]:
    """Every post and every rejected row of a file, ids without their "twcs:" namespace.

    The tests here are about the values in the file; the namespace has tests of its own.
    """
    chunks = list(read_twcs(path, collected_at=COLLECTED, **kwargs))  # type: ignore[arg-type]
    posts = pd.concat([c.posts for c in chunks], ignore_index=True) if chunks else empty_posts()
    for column in ("post_id", "parent_id"):
        assert posts[column].dropna().str.startswith("twcs:").all()
        posts[column] = posts[column].str.removeprefix("twcs:")
    return posts, [r for c in chunks for r in c.rejected]


def only_post(path: Path) -> dict[str, object]:
    """The single post of a file that must hold exactly one good record."""
    posts, rejected = read_all(path)
    assert rejected == []
    assert len(posts) == 1
    return dict(posts.iloc[0])


def exact_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every block go through the csv-module parser instead of pyarrow."""
    monkeypatch.setattr(twcs, "_parse_fast", lambda *args: "other")


def fast_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any block needs the csv-module parser."""
    monkeypatch.setattr(twcs, "_parse_exact", lambda *a, **k: pytest.fail("slow path used"))


# --- the mapping to normalised posts ------------------------------------------------------


def test_a_brand_reply_and_a_customer_post_fill_every_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "\n"
        + record("1", "sprintcare", "False", DATE, "We can help", "", "3")
        + record("3", "115712", "True", "Tue Oct 31 22:08:27 +0000 2017", "@sprintcare hi", "1"),
        name="sample.csv",
    )
    posts, rejected = read_all(path)
    assert rejected == []
    assert list(posts.columns) == list(POST_COLUMNS)
    assert dict(posts.dtypes) == dict(empty_posts().dtypes)
    brand, customer = (dict(posts.iloc[i]) for i in range(2))
    assert brand == {
        "platform": "twitter",
        "post_id": "1",
        "url": "https://twitter.com/sprintcare/status/1",
        "root_id": pd.NA,
        "parent_id": "3",
        "author_id": "sprintcare",
        "author_handle": "sprintcare",
        "author_role": "brand",
        "brand": "sprintcare",
        "created_at": WHEN,
        "text": "We can help",
        "lang": pd.NA,
        "collector": "twcs",
        "collected_at": pd.Timestamp(COLLECTED),
        "raw_ref": "sample.csv:2",
    }
    assert customer["url"] == "https://twitter.com/i/web/status/3"
    assert customer["author_role"] == "customer"
    assert customer["brand"] is pd.NA
    assert customer["parent_id"] is pd.NA
    assert customer["created_at"] == pd.Timestamp("2017-10-31 22:08:27", tz="UTC")
    assert customer["raw_ref"] == "sample.csv:3"


def test_a_failure_while_checking_rows_reaches_the_reader_and_stops_its_thread(
    tmp_path: Path,
) -> None:
    # Rows are checked and normalised in the read-ahead thread: an error there (here a
    # brand lookup that fails) must surface where the chunks are read.
    def brand_of(author: str) -> str | None:
        raise LookupError(f"no brand table for {author}")

    path = write(tmp_path, HEADER + "\n" + record("1", "AppleSupport"))
    with pytest.raises(LookupError, match="no brand table for AppleSupport"):
        read_all(path, brand_of=brand_of)
    assert not [t for t in threading.enumerate() if t.name == "twcs-read-ahead"]


def test_dates_with_an_offset_are_converted_to_utc(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\n" + record(created_at="Tue Oct 31 23:10:47 +0100 2017"))
    assert only_post(path)["created_at"] == WHEN


def test_brand_of_names_the_brand_and_is_asked_once_per_author(tmp_path: Path) -> None:
    asked: list[str] = []

    def brand_of(author: str) -> str | None:
        asked.append(author)
        return {"AppleSupport": "Apple"}.get(author)

    lines = [
        record("1", "AppleSupport"),
        record("2", "AppleSupport"),
        record("3", "Other"),
        record("4", "777", "True"),
    ]
    path = write(tmp_path, HEADER + "\n" + "".join(lines))
    posts, _ = read_all(path, brand_of=brand_of, chunk_rows=1)
    assert posts["brand"].tolist()[:3] == ["Apple", "Apple", "Other"]
    assert posts["brand"].iloc[3] is pd.NA
    assert sorted(asked) == ["AppleSupport", "Other"]


def test_duplicate_tweet_ids_are_passed_through_for_the_store_to_count(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\n" + record("5", text="a") + record("5", text="b"))
    posts, rejected = read_all(path)
    assert rejected == []
    assert posts["post_id"].tolist() == ["5", "5"]
    assert posts["text"].tolist() == ["a", "b"]


# --- quirks of real copies ----------------------------------------------------------------


def test_bom_crlf_and_spreadsheet_booleans(tmp_path: Path) -> None:
    lines = [HEADER, f"7,AcmeHelp,FALSE,{DATE},fine,,6", f"6,42,TRUE,{DATE},help,7,"]
    path = write(tmp_path, b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    posts, rejected = read_all(path)
    assert rejected == []
    assert posts["author_role"].tolist() == ["brand", "customer"]
    assert posts["parent_id"].tolist() == ["6", pd.NA]
    assert posts["text"].tolist() == ["fine", "help"]
    assert posts["raw_ref"].tolist() == ["t.csv:2", "t.csv:3"]


def test_a_quoted_multiline_text_keeps_its_crlf_in_a_crlf_file(tmp_path: Path) -> None:
    content = HEADER + f'\r\n1,AcmeHelp,False,{DATE},"line one\r\nline two",,\r\n'
    content += f"2,AcmeHelp,False,{DATE},next,,\r\n"
    posts, rejected = read_all(write(tmp_path, content))
    assert rejected == []
    assert posts["text"].tolist() == ["line one\r\nline two", "next"]
    assert posts["raw_ref"].tolist() == ["t.csv:2", "t.csv:4"]


@pytest.mark.parametrize("fast", [True, False], ids=["pyarrow", "csv-module"])
def test_bare_cr_in_an_unquoted_text_is_text_not_a_line_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    if fast:
        fast_only(monkeypatch)  # bare "\r" must not push a clean block off the fast path
    else:
        exact_only(monkeypatch)
    content = HEADER + "\n" + f"1,77,True,{DATE},@Acme \r\rI just love it,," + "\n"
    content += record("2")
    posts, rejected = read_all(write(tmp_path, content))
    assert rejected == []
    assert posts["text"].tolist() == ["@Acme \r\rI just love it", "hello"]
    assert posts["raw_ref"].tolist() == ["t.csv:2", "t.csv:3"]


@pytest.mark.parametrize("index_name", ["", "Unnamed: 0"])
def test_a_leftover_index_column_is_ignored(tmp_path: Path, index_name: str) -> None:
    content = f"{index_name},{HEADER}\n0,{record('9', in_response_to_tweet_id='8.0')}"
    post = only_post(write(tmp_path, content))
    assert (post["post_id"], post["parent_id"]) == ("9", "8")


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("3", "3"),
        ("3.0", "3"),
        ("3.00", "3"),
        ("3.", "3"),
        (" 12 ", "12"),
        ("007", "7"),
        ("0", "0"),
    ],
)
def test_ids_written_as_floats_become_integer_strings(
    tmp_path: Path, written: str, stored: str
) -> None:
    path = write(tmp_path, HEADER + "\n" + record(written, in_response_to_tweet_id=written))
    post = only_post(path)
    assert (post["post_id"], post["parent_id"]) == (stored, stored)


def test_a_customer_number_written_as_a_float_is_made_an_integer(tmp_path: Path) -> None:
    post = only_post(write(tmp_path, HEADER + "\n" + record(author_id="115712.0", inbound="1")))
    assert (post["author_id"], post["url"]) == ("115712", "https://twitter.com/i/web/status/1")


@pytest.mark.parametrize(
    ("inbound", "role"),
    [(v, "customer") for v in ("True", "TRUE", "true", "1", " True ")]
    + [(v, "brand") for v in ("False", "FALSE", "false", "0")],
)
def test_inbound_spellings(tmp_path: Path, inbound: str, role: str) -> None:
    assert (
        only_post(write(tmp_path, HEADER + "\n" + record(inbound=inbound)))["author_role"] == role
    )


@pytest.mark.parametrize(
    ("garbled", "repaired"),
    [
        ("Weâ€™ll get this passed on ðŸ’š /CG", "We’ll get this passed on 💚 /CG"),
        ("shout ðŸ˜‰ /GS", "shout 😉 /GS"),
        ("les pÃ©riodes de haute activitÃ©", "les périodes de haute activité"),
        ("thanks â€“ Mariya", "thanks – Mariya"),
        ("We â\x9d¤ï¸\x8f you", "We ❤️ you"),
        ("Hey HÃ¥kon!", "Hey Håkon!"),
    ],
)
def test_double_encoded_utf8_is_repaired(tmp_path: Path, garbled: str, repaired: str) -> None:
    assert only_post(write(tmp_path, HEADER + "\n" + record(text=garbled)))["text"] == repaired


@pytest.mark.parametrize(
    ("escaped", "decoded"),
    [
        ("Fish &amp; Chips", "Fish & Chips"),
        ("I &lt;3 it &gt;_&lt;", "I <3 it >_<"),
        ("say &quot;hi&quot; &#39;now&#39;", "say \"hi\" 'now'"),
        ("typed &amp;lt; literally", "typed &lt; literally"),
        ("wait&hellip; &#8230; &#x2026;", "wait… … …"),
        ("Manage Booking &gt; ÄNDERN", "Manage Booking > ÄNDERN"),
    ],
)
def test_html_entities_are_decoded_once(tmp_path: Path, escaped: str, decoded: str) -> None:
    assert only_post(write(tmp_path, HEADER + "\n" + record(text=escaped)))["text"] == decoded


CLEAN_TEXTS = [
    "“Curly” ‘quotes’ stay — and so do dashes…",
    "ﬁne ligature, ＦＵＬＬ width, ｶﾀｶﾅ",
    "café naïve Ærø ¿Qué? São Paulo Ça va à Noël",
    "price £5 · 10€ · 3×4 · ½ · © ® ™ · °C",
    "AT&T &copy R&D & more &amp without its semicolon",
    "emoji 😉💚❤️ and a\u00a0no-break space",
    "tabs\tand  spaces  ",
    "line one\nline two\n\nline four",
    "  leading spaces",
    "Ã is a letter on its own",
    'He said "hi", then left',
]


@pytest.mark.parametrize("fast", [True, False], ids=["pyarrow", "csv-module"])
def test_clean_texts_pass_through_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    if not fast:
        exact_only(monkeypatch)
    content = HEADER + "\n" + "".join(record(str(i), text=t) for i, t in enumerate(CLEAN_TEXTS))
    posts, rejected = read_all(write(tmp_path, content))
    assert rejected == []
    assert posts["text"].tolist() == CLEAN_TEXTS


def test_an_empty_parent_is_none(tmp_path: Path) -> None:
    post = only_post(write(tmp_path, HEADER + "\n" + record(in_response_to_tweet_id=" ")))
    assert post["parent_id"] is pd.NA


# --- rejected rows ------------------------------------------------------------------------


BAD_FILE_LINES = [
    HEADER,  # 1
    f'1,AcmeHelp,False,{DATE},"first\nsecond\nthird",,',  # 2-4: a three-line text
    f"2,AcmeHelp,False,{DATE},too few fields",  # 5
    f",AcmeHelp,False,{DATE},no id,,",  # 6
    f"abc,AcmeHelp,False,{DATE},letters,,",  # 7
    f"4,AcmeHelp,maybe,{DATE},bad inbound,,",  # 8
    "5,AcmeHelp,False,yesterday,bad date,,",  # 9
    f"6,,False,{DATE},no author,,",  # 10
    f"7,AcmeHelp,False,{DATE},bad parent,,x12",  # 11
    f"1.23e+06,AcmeHelp,False,{DATE},scientific,,",  # 12
    "8,AcmeHelp,False,Tue Nov 31 22:10:47 +0000 2017,no such day,,",  # 13
    f"9,AcmeHelp,False,{DATE},fine again,,",  # 14
    "10,AcmeHelp,perhaps,later,two problems,,",  # 15
    HEADER,  # 16
]
EXPECTED_REJECTS = [
    (5, "has 5 field(s), expected 7"),
    (6, "tweet_id is empty"),
    (7, "tweet_id 'abc' is not a whole number"),
    (8, "inbound 'maybe' is not True/False (or 1/0)"),
    (9, f"created_at 'yesterday' is not a date like '{DATE}'"),
    (10, "author_id is empty"),
    (11, "in_response_to_tweet_id 'x12' is not a whole number"),
    (12, "tweet_id '1.23e+06' is in scientific notation, so its digits were lost"),
    (13, "created_at 'Tue Nov 31 22:10:47 +0000 2017' is not a date like"),
    (15, "inbound 'perhaps' is not True/False (or 1/0); created_at 'later' is not a date"),
    (16, "is a repeated header line"),
]


@pytest.mark.parametrize("fast", [True, False], ids=["pyarrow", "csv-module"])
@pytest.mark.parametrize("field_count_problem", [True, False], ids=["5-fields", "no-5-fields"])
def test_every_bad_record_is_rejected_with_its_physical_line_and_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool, field_count_problem: bool
) -> None:
    lines = list(BAD_FILE_LINES)
    expected = list(EXPECTED_REJECTS)
    good = ["t.csv:2", "t.csv:14"]
    if not field_count_problem:
        lines[2] = f"3,AcmeHelp,False,{DATE},now fine,,"
        expected, good = expected[1:], ["t.csv:2", "t.csv:5", "t.csv:14"]
    if not fast:
        exact_only(monkeypatch)
    elif not field_count_problem:
        # Field-level problems alone must not need the slow parser.
        fast_only(monkeypatch)
    posts, rejected = read_all(write(tmp_path, "\n".join(lines) + "\n"))
    assert posts["raw_ref"].tolist() == good
    assert [r.line for r in rejected] == [line for line, _ in expected]
    for reject, (line, reason) in zip(rejected, expected, strict=True):
        assert reject.reason.startswith(reason), (line, reject.reason)
        assert reject.raw == lines[line - 3]  # lines 2-4 are one record


def test_the_raw_record_of_a_reject_is_truncated_to_200_characters(tmp_path: Path) -> None:
    long_text = "x" * 500
    path = write(tmp_path, HEADER + "\n" + record("no", text=long_text))
    _, rejected = read_all(path)
    assert len(rejected) == 1
    assert rejected[0].raw == record("no", text=long_text)[:200]


@pytest.mark.parametrize("fast", [True, False], ids=["pyarrow-first", "csv-module"])
def test_bytes_that_are_not_utf8_reject_only_their_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    if not fast:
        exact_only(monkeypatch)
    good = HEADER + "\n" + record("1", text="Thanks 😉 “really”")
    bad = f"2,AcmeHelp,False,{DATE},caf\xe9,,\n".encode("latin-1")
    posts, rejected = read_all(write(tmp_path, good.encode() + bad + record("3").encode()))
    assert posts["post_id"].tolist() == ["1", "3"]
    assert [r.line for r in rejected] == [3]
    assert "text holds a byte that is not UTF-8 (0xE9)" in rejected[0].reason
    assert "re-save the file as UTF-8" in rejected[0].reason
    assert rejected[0].raw == f"2,AcmeHelp,False,{DATE},caf\ufffd,,"


def test_a_latin1_file_is_refused_as_a_whole(tmp_path: Path) -> None:
    records = [f"{i},AcmeHelp,False,{DATE},caf\xe9 cr\xe8me,," for i in range(3)]
    path = write(tmp_path, (HEADER + "\n" + "\n".join(records) + "\n").encode("latin-1"))
    with pytest.raises(UnreadableFile, match=r"is not UTF-8 text .* re-save it as UTF-8"):
        check_twcs_file(path)


@pytest.mark.parametrize(
    ("closing_line", "reason"),
    [
        # The next quote opens a field of its own: the record gets too many fields.
        (f'4,AcmeHelp,False,{DATE},"quoted, text",,', "has 8 field(s), expected 7"),
        # The next quote closes the text: seven fields, and only the swallowed dates tell.
        (f'4,AcmeHelp,False,{DATE},ends here",,', "a quote is not closed: this record runs over"),
    ],
)
@pytest.mark.parametrize("fast", [True, False], ids=["pyarrow-first", "csv-module"])
def test_an_unclosed_quote_is_reported_with_the_lines_it_swallowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closing_line: str, reason: str, fast: bool
) -> None:
    if not fast:
        exact_only(monkeypatch)
    elif "expected 7" not in reason:
        # Seven fields parse cleanly in pyarrow too: the swallowed dates must be caught there.
        fast_only(monkeypatch)
    lines = [
        HEADER,  # 1
        f"1,AcmeHelp,False,{DATE},fine,,",  # 2
        f'2,AcmeHelp,False,{DATE},"never closed,,',  # 3
        f"3,AcmeHelp,False,{DATE},swallowed,,",  # 4
        closing_line,  # 5
        f"5,AcmeHelp,False,{DATE},after,,",  # 6
    ]
    posts, rejected = read_all(write(tmp_path, "\n".join(lines) + "\n"))
    assert posts["raw_ref"].tolist() == ["t.csv:2", "t.csv:6"]
    assert [r.line for r in rejected] == [3]
    assert rejected[0].reason.startswith(reason)
    assert "lines 3-5" in rejected[0].reason


def test_an_unclosed_quote_at_the_end_of_the_file_is_reported(tmp_path: Path) -> None:
    content = HEADER + "\n" + record("1") + f'2,AcmeHelp,False,{DATE},"oops\nmore\n'
    posts, rejected = read_all(write(tmp_path, content))
    assert posts["post_id"].tolist() == ["1"]
    assert [(r.line, r.reason[:24]) for r in rejected] == [(3, "has 5 field(s), expected")]


def test_a_quote_that_runs_past_the_csv_field_limit_is_rejected_and_reading_goes_on(
    tmp_path: Path,
) -> None:
    filler = "".join(record(str(i), text="y" * 100) for i in range(10, 1600))
    content = HEADER + "\n" + f'1,AcmeHelp,False,{DATE},"open\n' + filler + record("2")
    posts, rejected = read_all(write(tmp_path, content))
    assert [r.line for r in rejected] == [2]
    assert rejected[0].reason.startswith("a quoted field never closes (field larger than field")
    swallowed = re.search(r"lines 2-(\d+) were read as one record", rejected[0].reason)
    assert swallowed
    last = int(swallowed.group(1))
    # Nothing is lost: every line after the rejected ones is a post again.
    assert posts["raw_ref"].tolist() == [f"t.csv:{n}" for n in range(last + 1, 1594)]
    assert posts["post_id"].iloc[-1] == "2"


def test_blank_lines_are_not_records_but_still_count_as_lines(tmp_path: Path) -> None:
    content = HEADER + "\n\n" + record("1") + "\r\n\n" + record("2") + "\n\n"
    posts, rejected = read_all(write(tmp_path, content))
    assert rejected == []
    assert posts["raw_ref"].tolist() == ["t.csv:3", "t.csv:6"]


def test_an_overlong_line_is_rejected_without_reading_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(twcs, "_BLOCK_BYTES", 64)
    monkeypatch.setattr(twcs, "_MAX_LINE_BYTES", 1000)
    content = HEADER + "\n" + record("1") + "9" * 5000 + "\n" + record("2")
    posts, rejected = read_all(write(tmp_path, content))
    assert posts["raw_ref"].tolist() == ["t.csv:2", "t.csv:4"]
    assert [(r.line, r.reason, r.raw) for r in rejected] == [
        (3, "line is longer than 1,000 bytes: not a TWCS record", "9" * 200)
    ]


# --- whole-file problems -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "is empty"),
        (b"\xef\xbb\xbf\r\n \n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is binary"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook (.xlsx)"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        ("tweet_id,author_id\n".encode("utf-16"), "UTF-16"),
        (b"tweet_id,text\n1,caf\xe9\n", "is not UTF-8 text (byte 0xE9 at offset 19)"),
    ],
)
def test_files_that_cannot_be_read_say_why(tmp_path: Path, content: bytes, words: str) -> None:
    path = write(tmp_path, content, name="odd.csv")
    with pytest.raises(UnreadableFile) as caught:
        check_twcs_file(path)
    assert words in str(caught.value)
    assert str(path) in str(caught.value)
    with pytest.raises(UnreadableFile):
        read_twcs(path, collected_at=COLLECTED)  # raised on the call, before iterating


def test_only_the_start_is_checked_and_a_character_cut_by_the_sample_is_fine(
    tmp_path: Path,
) -> None:
    cut = twcs._SNIFF_BYTES
    head = (HEADER + "\n").encode()
    prefix = f"9,AcmeHelp,False,{DATE},".encode()
    # One long text whose 4-byte emoji straddles the end of the start that the check reads.
    spacer = b"y" * (cut - 2 - len(head) - len(prefix))
    content = head + prefix + spacer + "😉,,\n".encode()
    assert content[cut - 2 : cut + 2] == "😉".encode()
    # A byte that is not UTF-8, past the checked start, costs only its own record.
    content += f"10,AcmeHelp,False,{DATE},caf".encode() + b"\xe9,,\n" + record("11").encode()
    path = write(tmp_path, content)
    check_twcs_file(path)
    posts, rejected = read_all(path)
    assert posts["post_id"].tolist() == ["9", "11"]
    assert posts["text"].iloc[0].endswith("y😉")
    assert [(r.line, r.reason[:12]) for r in rejected] == [(3, "text holds a")]


def test_header_names_are_matched_without_case_or_spaces(tmp_path: Path) -> None:
    header = ", ".join(c.upper() for c in TWCS_COLUMNS)
    assert only_post(write(tmp_path, header + "\n" + record("4")))["post_id"] == "4"


def test_a_missing_path_and_a_directory_are_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="no such file"):
        check_twcs_file(tmp_path / "nope.csv")
    with pytest.raises(UnreadableFile, match="is a directory"):
        check_twcs_file(tmp_path)


def test_wrong_columns_name_the_missing_and_the_found_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "tweet_id,author_id,text\n1,a,b\n", name="orders.csv")
    with pytest.raises(NotThisFormat) as caught:
        check_twcs_file(path)
    message = str(caught.value)
    assert str(path) in message
    assert "missing column(s) inbound, created_at, in_response_to_tweet_id" in message
    assert "found column(s) 'tweet_id', 'author_id', 'text'" in message


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (
            "platform,post_id,url,author_role,text\n",
            "normalised-posts CSV: import it with format csv",
        ),
        (HEADER.replace(",", ";") + "\n", "separated by semicolons"),
        ('{"id": 1, "rawContent": "hi", "inReplyToTweetId": 2}\n', "format snscrape"),
        ("window.YTD.tweets.part0 = [\n", "format x-archive"),
        ('[\n {"agentURL": {"tweet_ID": "1", "url_utterance": "x"}}\n]', "format ibm-care"),
        ("<!DOCTYPE html><html>\n", "HTML"),
    ],
)
def test_a_file_of_another_format_is_named(tmp_path: Path, content: str, looks_like: str) -> None:
    with pytest.raises(NotThisFormat, match="missing column") as caught:
        check_twcs_file(write(tmp_path, content))
    assert looks_like in str(caught.value)


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_a_header_only_file_has_no_chunks(tmp_path: Path, ending: str) -> None:
    path = write(tmp_path, HEADER + ending)
    check_twcs_file(path)
    assert list(read_twcs(path, collected_at=COLLECTED)) == []


def test_bad_arguments_are_programming_errors(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\n" + record())
    with pytest.raises(ValueError, match="timezone-aware"):
        read_twcs(path, collected_at=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="chunk_rows"):
        read_twcs(path, collected_at=COLLECTED, chunk_rows=0)


# --- chunks and blocks -------------------------------------------------------------------


def test_chunks_of_two_records_give_the_same_posts_as_one_chunk(tmp_path: Path) -> None:
    path = write(tmp_path, "\n".join(BAD_FILE_LINES) + "\n" + "".join(map(record, "ABCDE")))
    whole = list(read_twcs(path, collected_at=COLLECTED))
    pairs = list(read_twcs(path, collected_at=COLLECTED, chunk_rows=2))
    assert len(whole) == 1
    assert [c.records_read for c in pairs] == [2] * 9
    for chunk in [*whole, *pairs]:
        assert chunk.records_read == len(chunk.posts) + len(chunk.rejected)
    glued = pd.concat([c.posts for c in pairs], ignore_index=True)
    pd.testing.assert_frame_equal(glued, whole[0].posts)
    assert [r for c in pairs for r in c.rejected] == list(whole[0].rejected)
    progress = [c.bytes_read for c in pairs]
    assert progress == sorted(progress)
    assert progress[-1] == whole[0].bytes_read == path.stat().st_size


@pytest.mark.parametrize("block_bytes", [1, 7, 64, 300])
def test_tiny_blocks_split_records_and_texts_without_changing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    content = "\ufeff" + "\n".join(BAD_FILE_LINES) + "\n"
    content += "".join(record(str(i), text=t) for i, t in enumerate(CLEAN_TEXTS, start=100))
    content += f"1,77,True,{DATE},bare \r cr,,\r\n"
    path = write(tmp_path, content)
    expected = list(read_twcs(path, collected_at=COLLECTED))
    monkeypatch.setattr(twcs, "_BLOCK_BYTES", block_bytes)
    chunks = list(read_twcs(path, collected_at=COLLECTED, chunk_rows=3))
    posts = pd.concat([c.posts for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(posts, pd.concat([c.posts for c in expected], ignore_index=True))
    assert [r for c in chunks for r in c.rejected] == [r for c in expected for r in c.rejected]
    progress = [c.bytes_read for c in chunks]
    assert progress == sorted(progress) and progress[-1] == path.stat().st_size


@pytest.mark.parametrize("block_bytes", [7, 64, 300])
def test_multiline_texts_across_blocks_stay_on_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    content = HEADER + "\n" + "".join(record(str(i), text=t) for i, t in enumerate(CLEAN_TEXTS))
    content += f"1,77,True,{DATE},bare \r cr,,\r\n" + record("2", text="a\n\n\nb")
    path = write(tmp_path, content)
    expected = read_all(path)
    monkeypatch.setattr(twcs, "_BLOCK_BYTES", block_bytes)
    fast_only(monkeypatch)
    posts, rejected = read_all(path)
    pd.testing.assert_frame_equal(posts, expected[0])
    assert rejected == expected[1] == []


@pytest.mark.parametrize("chunk_rows", [2, 250_000])
@pytest.mark.parametrize("ending", ["", "\n", "\r\n", "\n\n\r\n\n", "\n\r"])
def test_the_last_chunk_reports_the_whole_file_as_read(
    tmp_path: Path, ending: str, chunk_rows: int
) -> None:
    path = write(tmp_path, HEADER + "\n" + record("1") + record("2").rstrip("\n") + ending)
    chunks = list(read_twcs(path, collected_at=COLLECTED, chunk_rows=chunk_rows))
    assert [c.records_read for c in chunks] == [2]
    assert chunks[-1].bytes_read == path.stat().st_size


def test_stopping_early_stops_the_reading_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(twcs, "_BLOCK_BYTES", 64)  # many blocks: the reader is still busy
    path = write(tmp_path, HEADER + "\n" + "".join(record(str(i)) for i in range(50)))
    chunks = read_twcs(path, collected_at=COLLECTED, chunk_rows=5)
    first = next(iter(chunks))
    assert isinstance(first, TwcsChunk) and first.records_read == 5
    chunks.close()  # type: ignore[attr-defined]
    assert not [t for t in threading.enumerate() if t.name == "twcs-read-ahead"]


def test_a_failure_while_reading_surfaces_as_unreadable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, HEADER + "\n" + record())

    def broken(*args: object) -> object:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(twcs, "_parse_open_file", broken)
    with pytest.raises(UnreadableFile, match="reading failed part-way"):
        list(read_twcs(path, collected_at=COLLECTED))


# --- properties ---------------------------------------------------------------------------


def _pieces(*pieces: str, max_size: int = 12) -> st.SearchStrategy[str]:
    """Texts glued from the given pieces."""
    return st.lists(st.sampled_from(pieces), max_size=max_size).map("".join)


_TEXT = _pieces(*'ab ,"\n\r\t;é😉’–&', "amp;", "lt;", "#39;", "Ã©", "â€™")


def _expected_text(text: str) -> str:
    """What the reader should make of a text, computed one text at a time."""
    if twcs._MOJIBAKE_RE.search(text):
        text = twcs._fix_mojibake(text)
    return twcs._ENTITY.sub(twcs._unescape, text) if "&" in text else text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(_TEXT, min_size=1, max_size=8),
    crlf=st.booleans(),
    bom=st.booleans(),
    block_bytes=st.sampled_from([5, 40, 1 << 20]),
    chunk_rows=st.integers(1, 4),
)
def test_any_well_formed_file_reads_back_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    texts: list[str],
    crlf: bool,
    bom: bool,
    block_bytes: int,
    chunk_rows: int,
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(TWCS_COLUMNS)
    for i, text in enumerate(texts):
        writer.writerow([f"{i}.0", "AcmeHelp", "TRUE" if i % 2 else "false", DATE, text, "", ""])
    content = ("\ufeff" if bom else "") + out.getvalue()
    path = write(tmp_path_factory.mktemp("prop"), content)
    starts = _record_lines(content)
    for fast in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(twcs, "_BLOCK_BYTES", block_bytes)
            if not fast:
                exact_only(patch)
            posts, rejected = read_all(path, chunk_rows=chunk_rows)
        assert rejected == []
        assert posts["post_id"].tolist() == [str(i) for i in range(len(texts))]
        assert posts["text"].tolist() == [_expected_text(t) for t in texts]
        assert posts["raw_ref"].tolist() == [f"t.csv:{line}" for line in starts]


def _record_lines(content: str) -> list[int]:
    """The physical line each record starts on, by the csv module reading "\\n"-ended lines."""
    lines = re.sub("\r(?!\n)", "\x00", content.removeprefix("\ufeff")).split("\n")
    reader = csv.reader(line + "\n" for line in lines)
    next(reader)
    starts: list[int] = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return starts
        if row:
            starts.append(start)


@given(_pieces(*"a&;#x3<>", "amp;", "lt;", "gt;", "quot;", "hellip;", max_size=20))
def test_bulk_entity_decoding_equals_html_unescape_one_text_at_a_time(text: str) -> None:
    bulk = twcs._repair_texts(twcs.pa.array([text, "plain"])).to_pylist()
    assert bulk == [twcs._ENTITY.sub(twcs._unescape, text), "plain"]


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)))
def test_fixed_width_dates_parse_like_python(moment: datetime) -> None:
    written = moment.strftime("%a %b %d %H:%M:%S +0000 %Y")
    stamps, ok = twcs._parse_dates(twcs.pa.array([written]))
    assert ok.tolist() == [True]
    assert stamps[0].as_py() == moment.replace(microsecond=0, tzinfo=UTC)


# --- the real files ----------------------------------------------------------------------


def _real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real TWCS data not found at {path} (it lives in ../shared/data)")
    return path


REAL_FILES = [
    "twcs_head_5k.csv",
    "twcs_random_5k.csv",
    *(f"brand_replies/{b}.csv" for b in ("AirAsiaSupport", "AppleSupport", "AskRBC")),
    *(f"brand_replies/{b}.csv" for b in ("McDonalds", "NikeSupport", "SpotifyCares", "Walmart")),
]


def _csv_module_records(path: Path) -> list[tuple[int, list[str]]]:
    """Every record of a file with its first line, by the csv module ("\\n" ends records)."""
    content = path.read_bytes().decode("utf-8-sig")
    starts = _record_lines(content)
    text = re.sub("\r(?!\n)", "\x00", content.removeprefix("\ufeff"))
    rows = [r for r in list(csv.reader(io.StringIO(text, newline="")))[1:] if r]
    assert len(rows) == len(starts)
    return list(zip(starts, rows, strict=True))


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_FILES)
def test_real_files_lose_no_record(name: str) -> None:
    path = _real(name)
    expected = _csv_module_records(path)
    posts, rejected = read_all(path, chunk_rows=1500)
    assert len(posts) + len(rejected) == len(expected)
    assert rejected == []
    header = next(csv.reader([path.read_text(encoding="utf-8-sig").split("\n", 1)[0].rstrip()]))
    ids = [str(int(float(row[header.index("tweet_id")]))) for _, row in expected]
    assert posts["post_id"].tolist() == ids
    assert posts["raw_ref"].tolist() == [f"{path.name}:{line}" for line, _ in expected]
    assert not posts["text"].str.contains("â€").any()
    assert not posts["text"].str.endswith("\r").any()


@pytest.mark.realdata
def test_real_head_file_known_rows() -> None:
    posts, _ = read_all(_real("twcs_head_5k.csv"))
    by_id = posts.set_index("post_id")
    first = by_id.loc["1"]
    assert (first["author_id"], first["author_role"], first["brand"]) == (
        "sprintcare",
        "brand",
        "sprintcare",
    )
    assert first["parent_id"] == "3"
    assert first["created_at"] == pd.Timestamp("2017-10-31 22:10:47", tz="UTC")
    assert first["url"] == "https://twitter.com/sprintcare/status/1"
    assert first["raw_ref"] == "twcs_head_5k.csv:2"
    customer = by_id.loc["2"]
    assert (customer["author_id"], customer["author_role"]) == ("115712", "customer")
    assert customer["brand"] is pd.NA
    assert customer["url"] == "https://twitter.com/i/web/status/2"
    # The one record with bare "\r" in its text (written "\r\r" by the original exporter).
    bare = by_id.loc["3399"]
    assert bare["raw_ref"] == "twcs_head_5k.csv:2589"
    assert bare["text"].startswith("@AskPayPal \r\rI just love the start of email 😁")


@pytest.mark.realdata
def test_real_spotify_mojibake_is_repaired() -> None:
    posts, _ = read_all(_real("brand_replies/SpotifyCares.csv"))
    by_id = posts.set_index("post_id")["text"]
    assert by_id["2798"] == (
        "@116374 Hey Katie, thanks for the feedback – we appreciate it! We’ll get this "
        "passed onto the right team 💚 /CG"
    )
    assert (
        by_id["863"]
        == "@115891 No worries. If you have other questions, just give us a shout 😉 /GS"
    )
    assert posts["author_role"].eq("brand").all() and posts["brand"].eq("SpotifyCares").all()


@pytest.mark.realdata
def test_real_mojibake_repair_agrees_with_ftfy() -> None:
    """The quick undo gives what ftfy gives, except where ftfy declines a real mojibake."""
    suspects = []
    for name in REAL_FILES:
        for _, row in _csv_module_records(_real(name)):
            suspects += [v for v in row if twcs._MOJIBAKE_RE.search(v)]
    assert len(suspects) > 4000
    differ = {
        s: twcs._fix_mojibake(s)
        for s in suspects
        if twcs._fix_mojibake(s) != ftfy.fix_encoding(s, twcs._FTFY)
    }
    assert list(differ.values()) == [
        "@178568 Hey Håkon! We've just sent you a bit more info over DM. "
        "We'll carry on helping out there /CO"
    ]
