"""Anonymising: every kind of personal detail masked, look-alikes left alone, stable tags."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from carebench.benchmark.anonymise import (
    MASK_EMAIL,
    MASK_NAME,
    MASK_PHONE,
    anonymise_analysis,
    mask_text,
    pseudonymise_ids,
    pseudonyms,
)
from carebench.benchmark.scoring import analyse
from carebench.cli import app
from tests.conftest import make_posts

SALT = "test-salt"


def masked(text: str, brands: tuple[str, ...] = ("Acme",)) -> str:
    return str(mask_text(pd.Series([text], dtype="string"), brand_handles=brands, salt=SALT)[0])


# -- each kind of detail ---------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["sarah.jones@gmail.com", "TOM+care@example.co.uk", "a_b-c@mail-server.example.org"]
)
def test_email_addresses_are_masked(address: str):
    out = masked(f"my email is {address}, thanks")
    assert out == f"my email is {MASK_EMAIL}, thanks"


@pytest.mark.parametrize(
    "number",
    [
        "415-555-0132",
        "(415) 555-0132",
        "(415)555-0132",
        "415.555.0132",
        "415 555 0132",
        "1-800-555-0142",
        "+1 415 555 0132",
        "+1 (415) 555-0132",
        "+44 20 7946 0958",
        "+44 (0) 2076604452",
        "+4915112345678",
        "+66 2 515 9999",
        "0345 600 7000",
        "07700 900123",
        "020 7946 0958",
        "1800 180 1407",
    ],
)
def test_phone_numbers_are_masked(number: str):
    assert masked(f"call me on {number} please") == f"call me on {MASK_PHONE} please"
    assert masked(f"{number}.") == f"{MASK_PHONE}."


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567890 still not here",
        "order #123-456-7890 never came",
        "tracking 1Z999AA10123456784",
        "booked on 2017-10-31 at 12:30",
        "flight on 31.10.2017 at 10:45:00",
        "since 10/31/2017",
        "between 09:00-17:30 on weekdays",
        "charged $1,234.56 twice",
        "prices up +12.5% this year",
        "gave it +5 stars",
        "version 10.3.1 of the app",
        "flight NO269 cancelled",
        "case 01234567890 open",
        "from 2017-2018 and 1999-2000",
        "room 12 555 or seat 14",
    ],
)
def test_numbers_that_are_not_phone_numbers_stay(text: str):
    assert masked(text) == text


def test_two_numbers_side_by_side_are_both_masked():
    assert masked("call 1-800-555-0142/415-555-0199") == f"call {MASK_PHONE}/{MASK_PHONE}"


def test_customer_mentions_become_stable_pseudonyms_and_brands_stay():
    out = masked("@Acme @sarah_j told @Friend99 about it; cc @acme")
    tags = re.findall(r"@(customer-[0-9a-f]{6})", out)
    assert len(tags) == 2 and tags[0] != tags[1]
    assert out.startswith("@Acme @customer-") and out.endswith("cc @acme")
    assert "sarah_j" not in out and "Friend99" not in out
    # Case-insensitive, like the platforms: @SARAH_J is the same customer.
    assert masked("@SARAH_J hi") == f"@{tags[0]} hi"


def test_dotted_and_instance_handles_are_masked_whole():
    out = masked("thanks @sarah.bsky.social and @tom@mastodon.social")
    assert re.fullmatch(r"thanks @customer-[0-9a-f]{6} and @\S+", out), out
    assert "sarah" not in out and "@tom" not in out and "mastodon" not in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@115712 Hi Sarah, sorry to hear that.", "@{tag} Hi [name], sorry to hear that."),
        ("@115712 Thanks, Tom! We're on it.", "@{tag} Thanks, [name]! We're on it."),
        ("Colton, we're glad it worked.", "[name], we're glad it worked."),
        ("Here to help, Rajshree. DM us.", "Here to help, [name]. DM us."),
        ("Thanks for reaching out Sarah.", "Thanks for reaching out [name]."),
        ("Hi Dr. Jones, sorry", "Hi Dr. [name], sorry"),
    ],
)
def test_names_the_brand_addresses_the_customer_by_are_masked(text: str, expected: str):
    tag = str(pseudonyms(pd.Series(["115712"]), SALT)[0])
    assert masked(text) == expected.format(tag=tag)


@pytest.mark.parametrize(
    "text",
    ["Hi there, sorry!", "Hey all, we're on it", "Thanks, Apple!", "Hello again, DM us"],
)
def test_greetings_without_a_name_stay(text: str):
    assert masked(text) == text


def test_a_name_is_masked_only_as_a_whole_word():
    out = masked("Hi Sarah, McSarah and SarahJ met Sarah's friend")
    assert out == f"Hi {MASK_NAME}, McSarah and SarahJ met {MASK_NAME}'s friend"


def test_agent_signoffs_stay():
    assert masked("@Acme We've fixed it. ^AB") == "@Acme We've fixed it. ^AB"
    assert masked("We've fixed it. -Becky") == "We've fixed it. -Becky"


def test_hostile_and_missing_texts_survive():
    texts = pd.Series(["a\x00b", None, "", "<script>@evil</script>"], dtype="string")
    out = mask_text(texts, salt=SALT)
    assert out[0] == "a b" and pd.isna(out[1]) and out[2] == ""
    assert out[3].startswith("<script>@customer-") and out[3].endswith("</script>")


# -- pseudonyms ------------------------------------------------------------------------


def test_pseudonyms_are_stable_per_salt_and_differ_across_salts():
    handles = pd.Series(["Sarah", "@sarah", "tom", None])
    first = pseudonyms(handles, SALT)
    assert first[0] == first[1] != first[2] and pd.isna(first[3])
    assert pseudonyms(handles, SALT).equals(first)
    assert pseudonyms(handles, "another salt")[0] != first[0]
    # Without a salt, the key is random per process: stable within the process.
    assert pseudonyms(handles)[0] == pseudonyms(handles)[1] == pseudonyms(handles)[0]
    assert pseudonyms(handles)[0] != first[0]


def test_small_id_spaces_cannot_be_read_back_without_the_key():
    # TWCS customers are numbers: tags of neighbouring ids share no visible structure.
    tags = pseudonyms(pd.Series([str(i) for i in range(100_000, 100_050)]), SALT)
    assert tags.nunique() == 50
    assert not any(str(i) in tag for i, tag in zip(range(100_000, 100_050), tags, strict=True))


def test_post_ids_get_stable_tags():
    ids = pseudonymise_ids(pd.Series(["1", "2", "1", None]), SALT)
    assert ids[0] == ids[2] != ids[1] and pd.isna(ids[3])
    assert re.fullmatch(r"post-[0-9a-f]{8}", str(ids[0]))


@settings(max_examples=60, deadline=None)
@given(handle=st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,14}", fullmatch=True))
def test_any_customer_handle_is_masked_everywhere(handle: str):
    out = masked(f"@{handle} hi @Acme, @{handle.upper()} here")
    assert not re.search(rf"@{re.escape(handle)}(?![A-Za-z0-9_])", out, re.IGNORECASE)
    tags = re.findall(r"@customer-[0-9a-f]{6}", out)
    assert len(tags) == 2 and tags[0] == tags[1]


# -- a whole analysis --------------------------------------------------------------------


@pytest.fixture
def analysis():
    posts = make_posts(
        [
            (1, None, "sarah_j", "customer", 0, "@Acme my bag is lost, call me on 415-555-0132"),
            (2, 1, "Acme", "brand", 5, "@sarah_j Hi Sarah, so sorry! Email help@acme.com ^AB"),
            (3, 2, "sarah_j", "customer", 9, "@Acme done. Cheers, Sarah (sarah.j@gmail.com)"),
            (4, None, "tom77", "customer", 30, "@Acme where is my refund @sarah_j?"),
            (5, 4, "Acme", "brand", 40, "@tom77 Thanks, Tom! Refunded. -Becky"),
            (6, None, "tom77", "customer", 60, "@Acme hello again"),
        ]
    )
    return analyse(posts)


def test_no_customer_handle_name_email_or_phone_is_left(analysis):
    out = anonymise_analysis(analysis, salt=SALT)
    everything = " ".join(
        [
            *out.turns["text"].tolist(),
            *out.turns["author_handle"].tolist(),
            *out.turns["author_id"].tolist(),
            *out.conversations["customer_id"].tolist(),
            *out.conversations["root_text"].tolist(),
        ]
    )
    for secret in ("sarah_j", "tom77", "Sarah", "Tom", "gmail", "acme.com", "555-0132"):
        assert secret not in everything
    # The analysis does not carry post urls; if a frame does, customers' are dropped.
    assert (
        "url" not in out.turns
        or out.turns.loc[out.turns["author_role"] == "customer", "url"].isna().all()
    )


def test_threads_stay_readable(analysis):
    out = anonymise_analysis(analysis, salt=SALT)
    turns = out.turns.set_index("post_id")
    sarah = turns.loc["1", "author_handle"]
    assert sarah.startswith("customer-")
    # The brand's @reply and the later mention by another customer name the same tag.
    assert turns.loc["2", "text"].startswith(f"@{sarah} Hi [name], so sorry!")
    assert f"@{sarah}?" in turns.loc["4", "text"]
    # The name the brand used is masked in the customer's own post too.
    assert turns.loc["3", "text"] == f"@Acme done. Cheers, [name] ({MASK_EMAIL})"
    conversations = out.conversations.set_index("conversation_id")
    assert conversations.loc["1", "customer_id"] == sarah
    assert conversations.loc["4", "customer_id"] == conversations.loc["6", "customer_id"]
    assert conversations.loc["1", "root_text"] == turns.loc["1", "text"]


def test_brand_accounts_and_signoffs_stay(analysis):
    out = anonymise_analysis(analysis, salt=SALT)
    brand = out.turns[out.turns["author_role"] == "brand"]
    assert set(brand["author_handle"]) == {"Acme"}
    assert brand["text"].str.endswith(("^AB", "-Becky")).all()
    assert (out.conversations["brand"] == analysis.conversations["brand"]).all()


def test_figures_do_not_change(analysis):
    out = anonymise_analysis(analysis, salt=SALT)
    signals = [c for c in analysis.conversations.columns if c not in ("customer_id", "root_text")]
    pd.testing.assert_frame_equal(out.conversations[signals], analysis.conversations[signals])
    assert len(out.turns) == len(analysis.turns)
    assert out.issues == analysis.issues


def test_template_examples_are_masked():
    rows = []
    for i, (name, handle) in enumerate([("Sarah", "s1"), ("Tom", "t2"), ("Ann", "a3")]):
        rows.append((10 * i + 1, None, handle, "customer", i, "@Acme my parcel never came"))
        rows.append(
            (
                10 * i + 2,
                10 * i + 1,
                "Acme",
                "brand",
                i + 1,
                f"@{handle} Hi {name}, sorry about that. Please send us a DM with your order "
                "number and the delivery address and we will look into it right away. ^AB",
            )
        )
    analysis = analyse(make_posts(rows))
    assert len(analysis.templates) == 1
    out = anonymise_analysis(analysis, salt=SALT).templates
    examples = " ".join(out["examples"].iloc[0])
    for secret in ("Sarah", "Tom", "Ann", "@s1", "@t2", "@a3"):
        assert secret not in examples
    assert "Hi [name], sorry about that" in examples
    assert "sarah" not in out["normalised"].iloc[0]


def test_cli_export_anonymise(tmp_path: Path):
    source = tmp_path / "sample.csv"
    source.write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "1,111,True,Tue Oct 31 10:00:00 +0000 2017,@Acme my parcel is late,2,\n"
        "2,Acme,False,Tue Oct 31 10:30:00 +0000 2017,"
        '"@111 Hi Sarah, sorry! Call 1-800-555-0142 ^AB",3,1\n'
        "3,111,True,Tue Oct 31 10:40:00 +0000 2017,@Acme done,,2\n",
        encoding="utf-8",
    )
    db = tmp_path / "store.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["import", "twcs", str(source), "--db", str(db)]).exit_code == 0
    plain, masked_csv = tmp_path / "plain.csv", tmp_path / "masked.csv"
    for out, extra in ((plain, []), (masked_csv, ["--anonymise"])):
        result = runner.invoke(
            app, ["export", "conversations", "-o", str(out), "--db", str(db), *extra]
        )
        assert result.exit_code == 0, result.output
    plain_row = next(csv.DictReader(plain.open(encoding="utf-8")))
    row = next(csv.DictReader(masked_csv.open(encoding="utf-8")))
    assert plain_row["customer_id"] == "111" and plain_row["conversation_id"] == "twcs:1"
    assert re.fullmatch(r"customer-[0-9a-f]{6}", row["customer_id"])
    assert re.fullmatch(r"post-[0-9a-f]{8}", row["conversation_id"])
    assert row["answered_post_id"] == row["conversation_id"]
    # Every figure is the same.
    for column in ("brand", "ttfr_seconds", "deflected", "deflection_channels", "outcome"):
        assert row[column] == plain_row[column]

    templates = tmp_path / "templates.csv"
    result = runner.invoke(
        app, ["export", "templates", "-o", str(templates), "--db", str(db), "--anonymise"]
    )
    assert result.exit_code == 0, result.output


def test_large_inputs_mask_the_same_as_small_ones():
    # From 50,000 texts on the work is split over two threads: the halves must agree.
    samples = [
        "@sarah_j Hi Sarah, call 415-555-0132 or mail s@x.com ^AB",
        "@Acme my parcel @tom77 said so",
        "Thanks for reaching out Tom. Order 1234567890",
    ]
    texts = pd.Series(samples * 20_001, dtype="string")
    big = mask_text(texts, brand_handles=["Acme"], salt=SALT)
    small = mask_text(pd.Series(samples, dtype="string"), brand_handles=["Acme"], salt=SALT)
    assert big.iloc[:3].tolist() == small.tolist()
    assert big.iloc[-3:].tolist() == small.tolist()
    assert big.nunique() == 3
