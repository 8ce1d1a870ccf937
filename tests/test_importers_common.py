"""Rules every importer shares: bad files refused with the fix, one path into the store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from carebench.cli import ImportFormat
from carebench.errors import CareBenchError, ImportFailed, NotThisFormat, UnreadableFile
from carebench.ingest import FORMATS, ImportOptions, check_files, import_files
from carebench.store import Store

OPTIONS = ImportOptions(brand_handles=("AcmeHelp",))
JSON_FORMATS = ("ibm-care", "x-api", "snscrape", "csv")
TWCS_TEXT = (
    "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    "1,111,True,Tue Oct 31 10:00:00 +0000 2017,@Acme hi,,\n"
)


def test_the_cli_offers_every_format():
    assert tuple(f.value for f in ImportFormat) == FORMATS


@pytest.mark.parametrize("fmt", [*JSON_FORMATS, "x-archive"])
def test_empty_file_is_refused(tmp_path: Path, fmt: str):
    path = tmp_path / "empty.js"
    path.write_bytes(b"\xef\xbb\xbf \n")
    with pytest.raises(UnreadableFile, match="is empty"):
        check_files(fmt, [path], OPTIONS)


@pytest.mark.parametrize("fmt", [*JSON_FORMATS, "x-archive"])
def test_missing_file_is_refused(tmp_path: Path, fmt: str):
    with pytest.raises(UnreadableFile, match="no such file"):
        check_files(fmt, [tmp_path / "typo.json"], OPTIONS)


@pytest.mark.parametrize("fmt", [*JSON_FORMATS, "x-archive"])
def test_latin1_file_is_refused_naming_the_byte_and_the_fix(tmp_path: Path, fmt: str):
    path = tmp_path / "latin1.json"
    path.write_bytes('[{"text": "caf\u00e9"}]\n'.encode("latin-1"))
    with pytest.raises(UnreadableFile, match=r"not UTF-8 text \(byte 0xE9 on line 1\).*UTF-8"):
        check_files(fmt, [path], OPTIONS)


@pytest.mark.parametrize("fmt", [f for f in JSON_FORMATS if f != "csv"])
def test_a_twcs_csv_is_refused_as_not_json(tmp_path: Path, fmt: str):
    path = tmp_path / "twcs.csv"
    path.write_text(TWCS_TEXT, encoding="utf-8")
    with pytest.raises(NotThisFormat, match="does not start with JSON"):
        check_files(fmt, [path], OPTIONS)


@pytest.mark.parametrize("fmt", JSON_FORMATS)
def test_a_zip_is_refused_saying_what_it_is(tmp_path: Path, fmt: str):
    path = tmp_path / "export.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(UnreadableFile, match="ZIP archive"):
        check_files(fmt, [path], OPTIONS)


@pytest.mark.parametrize("fmt", ["ibm-care", "x-api", "snscrape"])
def test_truncated_json_is_refused_with_its_line(tmp_path: Path, fmt: str):
    path = tmp_path / "cut.json"
    path.write_text('[\n  {"a": 1},\n  {"b": ', encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"not valid JSON.*line 3"):
        check_files(fmt, [path], OPTIONS)


@pytest.mark.parametrize("fmt", ["x-api", "snscrape"])
def test_formats_that_cannot_tell_the_brand_need_a_brand_handle(tmp_path: Path, fmt: str):
    with pytest.raises(CareBenchError, match="--brand-handle"):
        check_files(fmt, [tmp_path / "x.json"], ImportOptions())


def test_a_bad_file_among_good_ones_leaves_the_store_unchanged(tmp_path: Path):
    good = tmp_path / "good.jsonl"
    good.write_text(
        '{"_type": "snscrape.modules.twitter.Tweet", "id": 1, "date": "2023-01-01T10:00:00+00:00",'
        ' "rawContent": "hi", "user": {"username": "bob", "id": 5}}\n',
        encoding="utf-8",
    )
    with Store(":memory:") as store:
        import_files(store, "snscrape", [good], OPTIONS)
        before = list(store.snapshot())
        with pytest.raises(UnreadableFile):
            import_files(store, "snscrape", [good, tmp_path / "nope.csv"], OPTIONS)
        bad = tmp_path / "nope.csv"
        bad.write_text(TWCS_TEXT, encoding="utf-8")
        with pytest.raises(NotThisFormat):
            import_files(store, "snscrape", [good, bad], OPTIONS)
        assert list(store.snapshot()) == before


def test_a_failure_part_way_rolls_the_whole_import_back(tmp_path: Path, monkeypatch):
    from carebench.collectors import common

    good = tmp_path / "a.jsonl"
    good.write_text(
        '{"id": 1, "date": "2023-01-01T10:00:00+00:00", "rawContent": "hi",'
        ' "user": {"username": "bob"}, "conversationId": 1}\n',
        encoding="utf-8",
    )
    second = tmp_path / "b.jsonl"
    second.write_text(good.read_text(encoding="utf-8").replace('"id": 1', '"id": 2'), "utf-8")
    real = common._chunk
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(common, "_chunk", failing)
    with Store(":memory:") as store, pytest.raises(ImportFailed, match="store is unchanged"):
        import_files(store, "snscrape", [good, second], OPTIONS)
        assert store.count_posts() == 0


def test_each_file_is_recorded_with_its_content_hash(tmp_path: Path):
    # Hashed in a thread of its own while the files are read: each hash must still
    # land on its own file's row of the import log.
    first = tmp_path / "a.csv"
    first.write_text(TWCS_TEXT, encoding="utf-8")
    second = tmp_path / "b.csv"
    second.write_text(TWCS_TEXT.replace("@Acme hi", "@Acme hello"), encoding="utf-8")
    assert first.read_bytes() != second.read_bytes()
    with Store(":memory:") as store:
        # b.csv changes a post of a.csv: without replace that import would be refused.
        import_files(store, "twcs", [first, second], replace=True)
        log = store.imports().set_index("source")["content_sha256"]
    for file in (first, second):
        assert log[str(file)] == hashlib.sha256(file.read_bytes()).hexdigest()
