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
    BARE_HANDLE_MIN,
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
    assert re.fullmatch(r"post-[0-9a-f]{16}", str(ids[0]))


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


def post(post_id: str) -> str:
    """The pseudonym an anonymised analysis gives a post id."""
    return str(pseudonymise_ids(pd.Series([post_id]), SALT)[0])


def test_threads_stay_readable(analysis):
    out = anonymise_analysis(analysis, salt=SALT)
    turns = out.turns.set_index("post_id")
    sarah = turns.loc[post("1"), "author_handle"]
    assert sarah.startswith("customer-")
    # The brand's @reply and the later mention by another customer name the same tag.
    assert turns.loc[post("2"), "text"].startswith(f"@{sarah} Hi [name], so sorry!")
    assert f"@{sarah}?" in turns.loc[post("4"), "text"]
    # The name the brand used is masked in the customer's own post too.
    assert turns.loc[post("3"), "text"] == f"@Acme done. Cheers, [name] ({MASK_EMAIL})"
    conversations = out.conversations.set_index("conversation_id")
    assert conversations.loc[post("1"), "customer_id"] == sarah
    assert (
        conversations.loc[post("4"), "customer_id"] == conversations.loc[post("6"), "customer_id"]
    )
    assert conversations.loc[post("1"), "root_text"] == turns.loc[post("1"), "text"]
    # Threads still join: replies point at their (pseudonymised) parents and roots.
    assert turns.loc[post("3"), "parent_id"] == post("2")
    assert turns.loc[post("3"), "conversation_id"] == post("1")
    assert conversations.loc[post("1"), "first_response_id"] == post("2")


def test_brand_accounts_and_signoffs_stay(analysis):
    out = anonymise_analysis(analysis, salt=SALT)
    brand = out.turns[out.turns["author_role"] == "brand"]
    assert set(brand["author_handle"]) == {"Acme"}
    assert brand["text"].str.endswith(("^AB", "-Becky")).all()
    assert (out.conversations["brand"] == analysis.conversations["brand"]).all()


ID_COLUMNS = ("conversation_id", "first_response_id", "answered_post_id")


def test_figures_do_not_change(analysis):
    out = anonymise_analysis(analysis, salt=SALT)
    masked = ("customer_id", "root_text", *ID_COLUMNS)
    signals = [c for c in analysis.conversations.columns if c not in masked]
    pd.testing.assert_frame_equal(out.conversations[signals], analysis.conversations[signals])
    assert len(out.turns) == len(analysis.turns)
    assert out.issues == analysis.issues
    for column in ID_COLUMNS:
        expected = pseudonymise_ids(analysis.conversations[column], SALT)
        assert out.conversations[column].tolist() == expected.tolist()


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
    assert re.fullmatch(r"post-[0-9a-f]{16}", row["conversation_id"])
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


# -- handles of every platform, DIDs, post addresses, bare handles (issue 15, item 1) -----

LABEL = r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?"
HANDLES = {
    "twitter": st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True),
    "bluesky": st.from_regex(
        rf"{LABEL}(?:\.{LABEL}){{0,2}}\.(?:bsky\.social|[a-z]{{2,6}})", fullmatch=True
    ),
    "mastodon": st.from_regex(
        rf"[A-Za-z0-9_]{{1,15}}@{LABEL}(?:\.{LABEL}){{0,2}}\.[a-z]{{2,6}}", fullmatch=True
    ),
}
BRANDS = ("Acme", "acme.bsky.social", "help@acme.example")


def survives(value: str, text: str) -> bool:
    """`value` as a whole handle (not inside a longer one) anywhere in `text`."""
    edge = r"A-Za-z0-9_.@-"
    return (
        re.search(rf"(?<![{edge}]){re.escape(value)}(?![A-Za-z0-9_@-]|\.[A-Za-z0-9])", text, re.I)
        is not None
    )


@pytest.mark.parametrize("platform", list(HANDLES))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_generated_handles_are_masked_whole_with_one_tag(platform: str, data: st.DataObject):
    handle = data.draw(HANDLES[platform], label="handle")
    assume_not_brand = handle.lower() not in {b.lower() for b in BRANDS} | {"help"}
    if not assume_not_brand:
        return
    texts = pd.Series(
        [
            "@Acme my parcel is late @acme.bsky.social",
            f"@{handle} Hi Jessica, sorry about that! DM us. ^AB",
            f"@{handle.upper()}: still waiting, my handle is {handle} for the record",
        ],
        dtype="string",
    )
    out = mask_text(
        texts,
        brand_handles=BRANDS,
        salt=SALT,
        groups=pd.Series([1, 1, 1]),
        handles=pd.Series([handle, None, handle]),
    )
    joined = " ".join(out)
    tag = str(pseudonyms(pd.Series([handle]), SALT)[0])
    # Every @mention of the customer, in any case, is their own tag: the thread reads.
    assert out[1].startswith(f"@{tag} Hi [name], sorry")
    assert out[2].startswith(f"@{tag}: still waiting")
    assert not survives(f"@{handle}", joined)
    if len(handle) >= BARE_HANDLE_MIN:
        # Written without @, the customer's own handle is masked too (user@host reads
        # as an e-mail address).
        bare = MASK_EMAIL if "@" in handle else tag
        assert out[2].endswith(f"my handle is {bare} for the record")
        assert not survives(handle, joined)
    assert "Jessica" not in joined
    # The brand's accounts stay.
    assert out[0] == texts[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The issue's example: masked whole, the greeting after it read.
        ("@jane-doe.bsky.social Hi Jessica", "@{tag} Hi [name]"),
        ("@jane-doe.bsky.social, Hi Jessica!", "@{tag}, Hi [name]!"),
        ("thanks @jane-doe.bsky.social.", "thanks @{tag}."),
        ("ask @jane-doe.bsky.social-", "ask @{tag}-"),
    ],
)
def test_hyphenated_bluesky_handles_are_masked_whole(text: str, expected: str):
    tag = str(pseudonyms(pd.Series(["jane-doe.bsky.social"]), SALT)[0])
    assert masked(text) == expected.format(tag=tag)


def test_mastodon_handles_are_one_account_not_an_email():
    tag = str(pseudonyms(pd.Series(["tom@mastodon.social"]), SALT)[0])
    assert (
        masked("@tom@mastodon.social hi, mail tom@example.com") == f"@{tag} hi, mail {MASK_EMAIL}"
    )


DID = "did:plc:abcdefghijklmnopqrstuvwx"


@pytest.fixture
def bluesky():
    """A Bluesky thread as the collector stores it: DIDs as author ids, at:// post ids."""
    posts = make_posts(
        [
            (
                "c1",
                None,
                "jane-doe.bsky.social",
                "customer",
                0,
                "@acme.bsky.social my order is lost",
            ),
            (
                "b1",
                "c1",
                "acme.bsky.social",
                "brand",
                5,
                "@jane-doe.bsky.social Hi Jessica, sorry! ^AB",
            ),
            (
                "c2",
                "b1",
                "jane-doe.bsky.social",
                "customer",
                9,
                f"see at://{DID}/app.bsky.feed.post/c1 (I am {DID}, jane-doe.bsky.social) "
                "https://bsky.app/profile/jane-doe.bsky.social/post/c1",
            ),
            ("m1", None, "tom@mastodon.social", "customer", 20, "@acme.bsky.social @tom hi"),
        ],
        platform="bluesky",
    )
    uri = {p: f"at://{DID}/app.bsky.feed.post/{p}" for p in ("c1", "c2", "m1")}
    uri["b1"] = "at://did:plc:brandbrandbrandbrandbran/app.bsky.feed.post/b1"
    posts["post_id"] = posts["post_id"].map(uri)
    posts["parent_id"] = posts["parent_id"].map(uri)
    customer = posts["author_role"] == "customer"
    posts.loc[customer & (posts["author_handle"] != "tom@mastodon.social"), "author_id"] = DID
    posts.loc[~customer, "author_id"] = "did:plc:brandbrandbrandbrandbran"
    posts.loc[~customer, "brand"] = "Acme"
    return analyse(posts), uri


def test_dids_post_addresses_and_ids_are_masked_everywhere(bluesky):
    analysis, uri = bluesky
    out = anonymise_analysis(analysis, salt=SALT)
    tag = str(pseudonyms(pd.Series(["jane-doe.bsky.social"]), SALT)[0])
    frames = [out.turns.astype(str), out.conversations.astype(str)]
    everything = "\n".join(frame.to_csv() for frame in frames)
    for secret in (DID, "jane-doe", "Jessica", "at://"):
        assert secret not in everything, secret
    # The DID, the post address and the profile address name the same customer / post.
    turns = out.turns.set_index("post_id")
    text = turns.loc[post(uri["c2"]), "text"]
    assert text.startswith(f"see {post(uri['c1'])} (I am {tag}, {tag}) ")
    assert text.endswith(f"https://bsky.app/profile/{tag}/post/{post(uri['c1'])}")
    assert set(out.turns.loc[out.turns["author_role"] == "customer", "author_id"]) >= {tag}
    conversation = out.conversations.set_index("conversation_id").loc[post(uri["c1"])]
    assert conversation["customer_id"] == tag
    # A Mastodon mention without the instance is the known user@instance.
    tom = str(pseudonyms(pd.Series(["tom@mastodon.social"]), SALT)[0])
    assert turns.loc[post(uri["m1"]), "text"] == f"@acme.bsky.social @{tom} hi"


def test_brand_accounts_and_help_site_addresses_stay():
    text = (
        "@Acme see https://help.acme.com/orders/123456 or https://twitter.com/Acme/status/99 "
        "or DM https://twitter.com/messages/compose?recipient_id=15 and @acme.bsky.social"
    )
    assert masked(text, BRANDS) == text


def test_social_addresses_of_customers_are_masked():
    out = masked("https://x.com/jane_d/status/123456 and https://bsky.app/profile/jane.example")
    assert "jane" not in out and "123456" not in out
    assert re.fullmatch(
        r"https://x\.com/customer-[0-9a-f]{6}/status/post-[0-9a-f]{16} and "
        r"https://bsky\.app/profile/customer-[0-9a-f]{6}",
        out,
    ), out


# -- phones in common national and international forms ----------------------------------

digits = st.integers(min_value=0, max_value=9).map(str)


def run(n: int) -> st.SearchStrategy[str]:
    return st.lists(digits, min_size=n, max_size=n).map("".join)


def nanp() -> st.SearchStrategy[str]:
    area = st.tuples(st.sampled_from("23456789"), run(2)).map("".join)
    exchange = st.tuples(st.sampled_from("23456789"), run(2)).map("".join)
    layouts = [
        "{a}-{e}-{l}",
        "({a}) {e}-{l}",
        "({a}){e}-{l}",
        "{a}.{e}.{l}",
        "{a} {e} {l}",
        "{a}{e}{l}",
        "+1 {a} {e} {l}",
        "1-{a}-{e}-{l}",
        "+1 ({a}) {e}-{l}",
        "+1{a}{e}{l}",
    ]
    return st.builds(
        lambda layout, a, e, ln: layout.format(a=a, e=e, l=ln),
        st.sampled_from(layouts),
        area,
        exchange,
        run(4),
    )


def uk() -> st.SearchStrategy[str]:
    return st.one_of(
        # 0151 1234 5678 (the issue's), 0345 600 7000, 020 7946 0958, 01632 960 123
        st.builds(
            lambda a, b, c: f"0{a} {b} {c}",
            run(3).filter(lambda s: s[0] != "0"),
            st.one_of(run(3), run(4)),
            st.one_of(run(3), run(4)),
        ),
        st.builds(
            lambda a, b, c: f"0{a} {b} {c}", run(2).filter(lambda s: s[0] != "0"), run(4), run(4)
        ),
        # 07700 900123, 07700900123
        st.builds(lambda a, b: f"07{a} {b}", run(3), run(6)),
        st.builds(lambda a: f"07{a}", run(9)),
        # +44 151 123 4567, +44 20 7946 0958, +44 7700 900123, +44 (0) 20 7946 0958
        st.builds(
            lambda a, b, c: f"+44 {a} {b} {c}",
            st.sampled_from(["151", "20", "161"]),
            run(3),
            run(4),
        ),
        st.builds(lambda a, b: f"+44 7{a} {b}", run(3), run(6)),
        st.builds(lambda a, b: f"+44 (0) 20 {a} {b}", run(4), run(4)),
    )


def international() -> st.SearchStrategy[str]:
    # +CC then groups, at most 15 digits in all (E.164): +49 151 12345678, +33 6 12 34 56 78
    return st.one_of(
        st.builds(
            lambda c, a, b: f"+{c} {a} {b}",
            st.sampled_from(["49", "33", "61", "353", "91"]),
            run(3),
            run(8),
        ),
        st.builds(lambda a, b, c, d: f"+33 6 {a} {b} {c} {d}", run(2), run(2), run(2), run(2)),
        st.builds(lambda a: f"+49{a}", run(11)),
        # French national pairs: 06 12 34 56 78
        st.builds(lambda a, b, c, d: f"06 {a} {b} {c} {d}", run(2), run(2), run(2), run(2)),
    )


@settings(max_examples=150, deadline=None)
@given(number=st.one_of(nanp(), uk(), international()))
def test_generated_phone_numbers_are_masked(number: str):
    assert masked(f"call me on {number} please") == f"call me on {MASK_PHONE} please"
    assert masked(f"{number}, thanks") == f"{MASK_PHONE}, thanks"


def not_a_phone() -> st.SearchStrategy[str]:
    day = st.integers(1, 28).map("{:02d}".format)
    month = st.integers(1, 12).map("{:02d}".format)
    year = st.integers(1990, 2030).map(str)
    return st.one_of(
        # Order, case and tracking numbers: digit runs a phone is not laid out like.
        st.builds(lambda n: f"order #{n}", st.one_of(run(10), run(11), run(12))),
        st.builds(lambda n: f"order {n}", st.one_of(run(5), run(8), run(12), run(16), run(19))),
        st.builds(lambda n: f"order 1{n}", run(9)),  # ten digits, not a valid area code
        st.builds(
            lambda n: f"case 0{n}",
            st.one_of(run(9), run(10)).filter(lambda s: not s.startswith("7")),
        ),
        st.builds(lambda n: f"tracking 1Z{n}", run(16)),
        st.builds(lambda n: f"ref ABC-{n}", run(10)),
        st.builds(lambda y, m, d: f"on {y}-{m}-{d}", year, month, day),
        st.builds(lambda y, m, d: f"on {d}/{m}/{y}", year, month, day),
        st.builds(lambda y, m, d: f"on {d}.{m}.{y}", year, month, day),
        st.builds(
            lambda h, m: f"at {h}:{m}",
            st.integers(0, 23).map("{:02d}".format),
            st.integers(0, 59).map("{:02d}".format),
        ),
        st.builds(lambda a, b: f"paid ${a},{b}.99", st.integers(1, 999).map(str), run(3)),
    )


@settings(max_examples=150, deadline=None)
@given(text=not_a_phone())
def test_generated_order_numbers_dates_and_prices_stay(text: str):
    assert masked(text) == text


@pytest.mark.parametrize("platform", list(HANDLES))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_the_author_and_mentions_of_them_share_one_tag(platform: str, data: st.DataObject):
    handle = data.draw(HANDLES[platform], label="handle")
    if handle.lower() in {b.lower() for b in BRANDS} | {"help"}:
        return
    analysis = analyse(
        make_posts(
            [
                ("1", None, handle, "customer", 0, "@Acme my parcel is late"),
                ("2", "1", "Acme", "brand", 5, f"@{handle} Hi Jessica, so sorry! ^AB"),
            ],
            platform=platform,
        )
    )
    out = anonymise_analysis(analysis, salt=SALT).turns.sort_values("created_at")
    author = out["author_handle"].iloc[0]
    assert out["text"].iloc[1] == f"@{author} Hi [name], so sorry! ^AB"


def test_the_dashboard_key_file_keeps_pseudonyms_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from carebench.benchmark import anonymise

    ids = pd.Series(["1", "2", "at://did:plc:abc/app.bsky.feed.post/3k"], dtype="string")
    key_file = anonymise.key_file_for(tmp_path / "store.duckdb")
    monkeypatch.setattr(anonymise, "_PROCESS_SALT", "0" * 16)
    anonymise.use_key_file(key_file)
    first = anonymise.pseudonymise_ids(ids).tolist()
    # Owner-only: the key is what keeps TWCS's 1, 2, 3, ... from being recomputed.
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert first != anonymise.pseudonymise_ids(ids, salt="other").tolist()
    # A new process starts with another random key, then reads the same file.
    monkeypatch.setattr(anonymise, "_PROCESS_SALT", "1" * 16)
    anonymise.use_key_file(key_file)
    assert anonymise.pseudonymise_ids(ids).tolist() == first
    # A damaged key file is not used; the process key stays.
    key_file.write_text("not a key\n")
    monkeypatch.setattr(anonymise, "_PROCESS_SALT", "2" * 16)
    anonymise.use_key_file(key_file)
    assert anonymise._PROCESS_SALT == "2" * 16
