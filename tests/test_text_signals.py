"""Text signals: hand-made posts with known answers, edge cases first, then properties."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carebench.benchmark import lexicon, text_signals
from carebench.benchmark.text_signals import (
    CHANNELS,
    addresses_by_name,
    agent_signature,
    brand_answer_kind,
    customer_signal,
    deflection_channels,
    is_care_request,
    is_empathic,
    is_hedging,
)

ALL_SIGNALS = (
    deflection_channels,
    is_empathic,
    is_hedging,
    agent_signature,
    addresses_by_name,
    customer_signal,
    brand_answer_kind,
    is_care_request,
)
BOOL_SIGNALS = (is_empathic, is_hedging, addresses_by_name, is_care_request)


def one(function, text):
    """The signal of a single text."""
    return function(pd.Series([text])).iloc[0]


# --- edge cases: empty and missing text, index, dtypes -------------------------------


@pytest.mark.parametrize("function", ALL_SIGNALS)
def test_missing_and_empty_text_give_no_signal(function):
    texts = pd.Series(["", None, pd.NA, float("nan")], index=[10, 11, 12, 13], dtype=object)
    result = function(texts)
    assert list(result.index) == [10, 11, 12, 13]
    if function is agent_signature:
        assert result.isna().all()
    elif function in BOOL_SIGNALS:
        assert not result.any()
    else:
        assert (result == "").all()


@pytest.mark.parametrize("function", ALL_SIGNALS)
def test_empty_series(function):
    assert len(function(pd.Series([], dtype="string"))) == 0


@pytest.mark.parametrize("function", ALL_SIGNALS)
def test_output_keeps_a_shuffled_index(function):
    texts = pd.Series(["Please DM us", "Hi Sarah, sorry!", "thanks"], index=["b", "z", "a"])
    assert list(function(texts).index) == ["b", "z", "a"]


def test_output_dtypes():
    texts = pd.Series(["Please DM us ^AB"], dtype="string")
    assert deflection_channels(texts).dtype == "string"
    assert agent_signature(texts).dtype == "string"
    assert customer_signal(texts).dtype == "string"
    assert brand_answer_kind(texts).dtype == "string"
    for function in BOOL_SIGNALS:
        assert function(texts).dtype == bool


def test_accepts_every_string_dtype():
    for dtype in (object, "string", "str"):
        texts = pd.Series(["@1 Please DM us", "Give us a call"], dtype=dtype)
        assert deflection_channels(texts).tolist() == ["dm", "phone"]


def test_channel_order():
    assert CHANNELS == ("dm", "phone", "email", "web", "store", "other_account")


# --- deflection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@123456 Please DM us your order number.", "dm"),
        ("@123456 SEND US A PRIVATE MESSAGE and we'll look into it", "dm"),
        ("@123456 Hey! We've just sent you a DM. Check your DMs 🙂 /AN", "dm"),
        ("@123456 We've received your DM, thanks", "dm"),
        ("@123456 Follow & DM us", "dm"),
        ("@AppleSupport Let us know via a DM. https://t.co/GDrqU22YpT", "dm"),
        ("@123456 Slide into our DMs 😉", "dm"),
        ("@123456 Please give us a call at 1-800-379-6453 (8a-5p PT).", "phone"),
        ("@123456 You may contact our Thailand Call Centre +66 2 515 9999", "phone"),
        ("@123456 Please email us at help@example.com", "email"),
        ("@123456 You will be updated via e-mail soon.", "email"),
        ("@123456 Please fill out this form: https://t.co/abc", "web"),
        ("@123456 Suggest it in our Community at https://t.co/x /LO", "web"),
        ("@123456 This article may help: https://t.co/2hgNQH8Vvq", "web"),
        ("@123456 Please visit your local store and a team member will help.", "store"),
        ("@123456 Best to take it to an Apple Store or Genius Bar.", "store"),
        ("@123456 Please speak to a team member at the airport desk.", "store"),
        ("@123456 Kindly refer to @AirAsiaBIG for your points.", "other_account"),
        ("@123456 please reach out to @OtherSupport", "other_account"),
        ("@123456 Call us or DM us", "dm;phone"),
    ],
)
def test_deflection_channels(text, expected):
    assert one(deflection_channels, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "@123456 @987654 Thanks for the kind words!",  # leading customer handles
        "@123456 What happens when you try to make a call?",  # a phone problem
        "@123456 No, you need admin rights for that.",  # "dm" inside a word
        "@123456 Try restarting your iPhone. Here's how: https://t.co/x",  # answered
        "@123456 Great detective work! https://t.co/LpsmyUtme0",  # a GIF, not a page
        "@123456 Thank you for stopping by our store today!",
        "@123456 We'll pass this feedback on to our friends at @Partner.",
        "@123456 Our sauce is back at 5 pm today",  # "pm" the time
    ],
)
def test_no_deflection(text):
    assert one(deflection_channels, text) == ""


def test_asking_for_an_email_address_is_not_email_deflection():
    assert one(deflection_channels, "@1 Can you DM us your account's email address?") == "dm"


# --- empathy and hedging -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We're so sorry to hear that!", True),
        ("Our APOLOGIES for the wait.", True),
        ("We understand how frustrating this must be.", True),
        ("We’re sad to hear this 😢", True),  # curly apostrophe
        ("That's not what we want to hear.", True),
        ("No need to apologise! Enjoy your meal.", False),
        ("If we understand correctly, the app crashes?", False),
        ("Try restarting the app.", False),
    ],
)
def test_is_empathic(text, expected):
    assert bool(one(is_empathic, text)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It appears your parcel was delivered.", True),
        ("We apologise for any inconvenience this may have caused.", True),
        ("We are unable to comment on this.", True),
        ("As per our policy, refunds take 30 days.", True),
        ("What seems to be going on?", False),
        ("Does everything appear to be working?", False),
        ("Sorry about that! Please DM us.", False),
    ],
)
def test_is_hedging(text, expected):
    assert bool(one(is_hedging, text)) is expected


# --- personal touch ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@1 Please DM us. ^AB", "AB"),
        ("@1 We'll carry on chatting there /CG https://t.co/ldFdZRiNAt", "CG"),
        ("@1 Thanks for your patience -Becky", "Becky"),
        ("@1 Please DM us.", None),
        ("@1 Please DM us ^ab", None),  # initials are capitals
    ],
)
def test_agent_signature(text, expected):
    result = one(agent_signature, text)
    assert (result is pd.NA) if expected is None else (result == expected)


def test_agent_signature_is_group_one_of_the_lexicon_pattern():
    text = "@1 We've just sent you a DM /AN"
    match = re.search(lexicon.SIGNOFF_PATTERN, text)
    assert match is not None
    assert one(agent_signature, text) == match.group(1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@123456 Hi Sarah, can you DM us?", True),
        ("@123456 Hey Katie! That's not cool.", True),
        ("@123456 Thanks, Tom! Enjoy.", True),
        ("@123456 @654321 Hey, Colin. Did you file a report?", True),
        ("@123456 Here to help, Rajshree. What app version?", True),
        ("@123456 Hi there, can you DM us?", False),
        ("@123456 Hey all! Thanks for the love.", False),
        ("@123456 Hello again! How can we help?", False),
        ("@123456 Thanks Apple fans!", False),
        ("@123456 Hi! We've just sent you a DM.", False),
        ("@123456 hi sarah", False),  # a lower-case word is not read as a name
    ],
)
def test_addresses_by_name(text, expected):
    assert bool(one(addresses_by_name, text)) is expected


# --- customer signal -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@AppleSupport That worked, thanks!", "solved"),
        ("@AppleSupport all sorted now 👍", "solved"),
        ("@AppleSupport It’s fixed it now, cheers", "solved"),  # curly apostrophe
        ("@Tesco All good now", "solved"),
        ("@SpotifyCares Thanks!!", "thanks"),
        ("@SpotifyCares Thank you so much 🙏", "thanks"),
        ("@SpotifyCares thanks but still not working", "persists"),
        ("@SpotifyCares Thanks for nothing.", "persists"),
        ("@SpotifyCares Thanks for leaving my parcel in the rain", "persists"),
        ("@SpotifyCares Already tried that", "persists"),
        ("@SpotifyCares didn't help", "persists"),
        ("@SpotifyCares still waiting for a reply", "persists"),
        ("@SpotifyCares no one has replied to my DM", "persists"),
        ("@SpotifyCares useless", "persists"),
        ("@SpotifyCares STILL NOT WORKING https://t.co/abc", "persists"),
        ("@SpotifyCares hoping it's fixed soon", ""),
        ("@SpotifyCares Any update? Thanks", "persists"),
        ("@SpotifyCares It's an iPhone 7 on iOS 11", ""),
    ],
)
def test_customer_signal(text, expected):
    assert one(customer_signal, text) == expected


# --- brand answer --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@1 Unfortunately we're unable to help with this.", "cannot_help"),
        ("@1 There's nothing we can do, sorry.", "cannot_help"),
        ("@1 We can't assist with refunds for this order.", "cannot_help"),
        ("@1 We're unable to help here, please call us on 0345 600 7000", ""),
        ("@1 That isn't possible, but you can try the web player.", "fix"),
        ("@1 This has been fixed in iOS 11.1.", "fix"),
        ("@1 We've refunded your order.", "fix"),
        ("@1 You can change this in Settings > Privacy.", "fix"),
        ("@1 Try restarting your device.", "fix"),
        ("@1 It's now back up and running!", "fix"),
        ("@1 Here's how: https://t.co/80YRnjDFDk", "fix"),
        ("@1 Which iOS version? Go to Settings > General > About.", ""),
        ("@1 Please DM us.", ""),
    ],
)
def test_brand_answer_kind(text, expected):
    assert one(brand_answer_kind, text) == expected


# --- care requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@Delta my flight was cancelled and no one is helping", True),
        ("@AppleSupport how do I turn off Bedtime", True),
        ("@comcastcares internet not working AGAIN", True),
        ("@AmazonHelp where is my refund", True),
        ("@Uber_Support why was I charged twice?", True),
        ("@Tesco can’t log in 😡", True),  # curly apostrophe, emoji
        ("@ChipotleTweets love you guys!! 🌯❤️", False),
        ("@SouthwestAir best service ever, thank you!", False),
        ("@AppleSupport Thank you", False),
        ("Dressed up for $3 burritos @ChipotleTweets! https://t.co/abc", False),
    ],
)
def test_is_care_request(text, expected):
    assert bool(one(is_care_request, text)) is expected


def test_question_mark_in_a_link_is_not_a_question():
    assert not one(is_care_request, "@Tesco lovely https://example.com/a?b=1")


# --- the lexicon ---------------------------------------------------------------------


def test_every_phrase_list_compiles_for_python_re():
    for name in dir(text_signals):
        value = getattr(text_signals, name)
        if name.isupper() and isinstance(value, str):
            re.compile(value)


def test_signoff_pattern_is_unchanged():
    assert lexicon.SIGNOFF_PATTERN == (
        r"(?:^|\s)[\^\-–—~*/]\s?([A-Z][a-z]{1,14}|[A-Z]{1,3}\d?)"
        r"\s*(?:https?://\S+\s*)*$"
    )


# --- properties ----------------------------------------------------------------------

texts_strategy = st.lists(st.one_of(st.none(), st.text(max_size=200)), max_size=20)


@settings(max_examples=25, deadline=None)
@given(texts_strategy)
def test_never_raises_and_stays_aligned(values):
    texts = pd.Series(values, index=range(100, 100 + len(values)), dtype=object)
    for function in ALL_SIGNALS:
        result = function(texts)
        assert result.index.equals(texts.index)
    channels = deflection_channels(texts)
    for value in channels:
        assert value == "" or set(value.split(";")) <= set(CHANNELS)
    assert set(customer_signal(texts)) <= {"", "solved", "thanks", "problem"}
    assert set(brand_answer_kind(texts)) <= {"", "fix", "cannot_help"}


@settings(max_examples=15, deadline=None)
@given(st.lists(st.text(max_size=120), min_size=1, max_size=10), st.randoms())
def test_row_order_does_not_matter(values, random):
    texts = pd.Series(values)
    shuffled = texts.sample(frac=1, random_state=random.randint(0, 2**31))
    for function in ALL_SIGNALS:
        expected = function(texts).reindex(shuffled.index)
        pd.testing.assert_series_equal(function(shuffled), expected)


def test_prepared_texts_give_the_same_answers_as_raw_texts():
    texts = pd.Series(
        [
            "@123 Sorry to hear that! Please DM us, we'll fix it. ^AB",
            "Hi Sarah, try restarting the app: https://t.co/x",
            "We're unable to help with this.",
            "still not working, thanks for nothing",
            "",
        ]
    )
    prepared = text_signals.prepare_texts(texts)
    for function in (
        text_signals.deflection_channels,
        text_signals.is_empathic,
        text_signals.is_hedging,
        text_signals.agent_signature,
        text_signals.addresses_by_name,
        text_signals.customer_signal,
        text_signals.brand_answer_kind,
        text_signals.is_care_request,
    ):
        pd.testing.assert_series_equal(function(prepared), function(texts))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789 +-.()18ax", min_size=7, max_size=24))
def test_every_phone_number_carries_the_hint_the_mask_looks_for(digits: str) -> None:
    # The phone mask only runs on texts with the hint (three digits in a row, or "+" and
    # a digit): a phone pattern that matched without it would go unmasked.
    text = f" call {digits} now "
    if re.search(text_signals._PHONE_NUMBER, text):
        assert re.search(lexicon.PHONE_NUMBER_HINT, text)


@pytest.mark.parametrize(
    "number", ["+1 2 3 4 5 6 7", "+44 (0) 2076604452", "0345 600 7000", "1-800-my-apple"]
)
def test_phone_numbers_without_long_digit_runs_are_still_masked(number: str) -> None:
    assert "<PHONE>" in text_signals.PreparedTexts(pd.Series([f"Call {number} today"])).prepared[0]
