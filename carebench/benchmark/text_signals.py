"""Text signals: vectorised classifiers of post texts built on the phrase lists in `lexicon`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carebench.benchmark import lexicon
from carebench.benchmark.arrow_text import as_arrow, replace_where, rewrite_where

Channel = Literal["dm", "phone", "email", "web", "store", "other_account"]
CHANNELS: tuple[Channel, ...] = ("dm", "phone", "email", "web", "store", "other_account")
# Every `;`-joined channel list (as `deflection_channels` writes them), indexed by its
# bits: bit i stands for CHANNELS[i].
CHANNEL_LISTS = np.array(
    [
        ";".join(c for bit, c in enumerate(CHANNELS) if value >> bit & 1)
        for value in range(1 << len(CHANNELS))
    ],
    dtype=object,
)

CustomerSignal = Literal["solved", "thanks", "problem", ""]
AnswerKind = Literal["cannot_help", "fix", ""]

# Every pattern below stays inside the regex subset RE2 and Python's `re` share, and avoids
# \b, \s, \w, \d and `$`: with those pandas falls back to Python's engine on non-ASCII
# text (most posts have emoji), which is about ten times slower. Word boundaries are
# explicit: texts are padded with a space at both ends and `_EDGE` is any non-word char.
_EDGE = "[^a-z0-9_]"
_TEXT_DTYPE = pd.StringDtype("pyarrow")

_WHITESPACE = "\t\r\n\f\v\u00a0\u2000-\u200b\u2028\u2029\u3000"
# Only runs that need collapsing: replacing every single space is ten times slower.
_SPACE_RUN = f"(?:[{_WHITESPACE}]| [ {_WHITESPACE}])[ {_WHITESPACE}]*"
_QUOTES = "[\u2018\u2019\u201b\u02bc\u0060\u00b4]"
# The @handles a reply opens with: its addressees, not part of what it says.
_LEADING_HANDLES = "^(?:[ .]*@[A-Za-z0-9_]+(?:[.@][A-Za-z0-9_-]+)*[ ,:;]*)+"
_URL = "(?:https?://|www[.])[^ ]+"
_EMAIL = "(?:[a-z0-9._%+-]+@[a-z0-9-]+(?:[.][a-z0-9-]+)+|__email__)"
_HANDLE = "@[a-z0-9_]+(?:[.@][a-z0-9_-]+)*"


def phrase_regex(phrases: Iterable[str]) -> str:
    """Join lexicon phrases into one regex; word edges only where a phrase has a word edge."""
    parts = []
    for phrase in phrases:
        # Tokens are upper-case in prepared text so that the word "link" never matches them.
        body = re.sub(r"<(link|email|handle|phone)>", lambda m: m[0].upper(), phrase)
        body = body.replace("'", "'?")
        body = re.sub(r"(?<=[a-z])\*", "[a-z']*", body)
        head = _EDGE if re.match(r"(?:\(\?:)?[a-z0-9_]", phrase) else ""
        tail = _EDGE if re.search(r"[a-z0-9_)*?]$", phrase) else ""
        parts.append(f"{head}(?:{body}){tail}")
    return "(?:" + "|".join(parts) + ")"


_PHONE_NUMBER = (
    "[^0-9+](?:" + "|".join(f"(?:{p})" for p in lexicon.PHONE_NUMBER_PATTERNS) + ")[^0-9]"
)
_CHANNEL_REGEX: dict[Channel, str] = {
    "dm": phrase_regex(lexicon.DM_PHRASES),
    "phone": phrase_regex(lexicon.PHONE_PHRASES),
    "email": phrase_regex(lexicon.EMAIL_PHRASES),
    "web": phrase_regex(lexicon.WEB_PHRASES),
    "store": phrase_regex(lexicon.STORE_PHRASES),
    "other_account": phrase_regex(lexicon.OTHER_ACCOUNT_LEADS) + "[ :,]*<HANDLE>",
}
_DEFLECTION_EXCEPTION = phrase_regex(lexicon.DEFLECTION_EXCEPTIONS)
_WEB_LINK_POINTER = (
    f"(?:{phrase_regex(lexicon.WEB_LINK_POINTERS)}[^.!?]{{0,60}}"
    f"|{phrase_regex(lexicon.WEB_LINK_VERBS)}[ :>-]*)<LINK>"
)
_EMPATHY = phrase_regex(lexicon.EMPATHY_PHRASES)
_EMPATHY_EXCEPTION = phrase_regex(lexicon.EMPATHY_EXCEPTIONS)
_HEDGING = phrase_regex(lexicon.HEDGING_PHRASES)
_HEDGING_EXCEPTION = phrase_regex(lexicon.HEDGING_EXCEPTIONS)
_SOLVED = phrase_regex(lexicon.SOLVED_PHRASES)
_SOLVED_EXCEPTION = phrase_regex(lexicon.SOLVED_EXCEPTIONS)
_PROBLEM_PERSISTS = phrase_regex(lexicon.PROBLEM_PERSISTS_PHRASES)
_PROBLEM = phrase_regex(lexicon.PROBLEM_PHRASES)
_THANKS = phrase_regex(lexicon.THANKS_PHRASES)
_THANKS_BLOCKER = "[?]|" + phrase_regex(lexicon.THANKS_BLOCKERS)
_CANNOT_HELP = phrase_regex(lexicon.CANNOT_HELP_PHRASES)
_CANNOT_HELP_ALTERNATIVE = phrase_regex(lexicon.CANNOT_HELP_ALTERNATIVES)
_FIX_EXCEPTION = phrase_regex(lexicon.FIX_EXCEPTIONS)
_FIX_STEP = phrase_regex(lexicon.FIX_STEP_PHRASES)
_FIX_PUBLIC = phrase_regex(lexicon.FIX_DONE_PHRASES + lexicon.FIX_STEP_PHRASES)
_FIX_LINK = phrase_regex(lexicon.FIX_LINK_PHRASES)
_CARE = phrase_regex(lexicon.CARE_REQUEST_PHRASES)
_COURTESY = phrase_regex(lexicon.PLEASANTRY_PHRASES + lexicon.EMPATHY_PHRASES)
_ASK = "[?]|" + phrase_regex(lexicon.ASK_PHRASES)
_FEEDBACK_ONLY = phrase_regex(lexicon.FEEDBACK_ONLY_PHRASES)
_PROMISE = phrase_regex(lexicon.PROMISE_PHRASES)
# A reply with fewer words than this left once courtesy is taken out says nothing more.
ANSWER_MIN_WORDS = 6
# The sentence (or clause) that carries a link, and the words a reply must still hold
# without it for the link to be a supplement to an answer rather than the whole reply.
_LINK_SENTENCE = "[^.!?]*<LINK>[^.!?]*[.!?]?"
SUPPLEMENTED_MIN_WORDS = 16

# Name forms on the original-case text (greeting words case-insensitive, the name
# capitalised): "Hi Sarah", "Thanks, Tom!"; "Colton, we're glad"; "Here to help, Rajshree."
# A word followed by an apostrophe ("We've", "Help's") is never a name.
_NAME = "(?:(?i:mr|mrs|ms|miss|dr)[.]? )?(?P<name>[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?)"
_GREETING = "(?i:" + "|".join(lexicon.NAME_GREETINGS) + ")"
# Threads of several tweets number them: "1: Hey David!", "2/2 Hi".
_START = "^(?:[0-9]+(?:/[0-9]+)?[.:)]? )?"
# The sign-off pattern with its group named, as pyarrow's extract_regex needs.
_SIGNOFF_NAMED = lexicon.SIGNOFF_PATTERN.replace("([A-Z]", "(?P<agent>[A-Z]", 1)
assert _SIGNOFF_NAMED != lexicon.SIGNOFF_PATTERN
_NAME_FORMS: tuple[str, ...] = (
    f"{_START}{_GREETING}(?:, ?| ){_NAME}[^A-Za-z0-9_'-]",
    f"{_START}{_NAME}, ",
    f"[a-z], {_NAME}(?: [A-Z][a-z]+)?[.!?,]",
)


def _as_text(texts: pd.Series) -> pd.Series:
    """The texts as Arrow-backed strings, missing values as empty text."""
    return texts.astype(_TEXT_DTYPE).fillna("")


def _fold(text: pa.Array) -> pa.Array:
    """Straighten quotes, decode `&amp;`, collapse whitespace, trim.

    Only the rows that need it are rewritten (`text_kernels.needs_fold`): most texts are
    plain ASCII with single spaces, and each rewrite over every row costs as much as the
    test that finds them.
    """
    # Imported here: numba takes ~0.2 s to load, which commands that never classify
    # texts (import, collect, --help) should not pay.
    from carebench.benchmark.text_kernels import needs_fold

    return rewrite_where(text, pa.array(needs_fold(text)), _fold_all)


def _fold_all(text: pa.Array) -> pa.Array:
    """`_fold` on every row."""
    # The only ASCII character in _QUOTES is the backtick.
    quoted = pc.or_(pc.invert(pc.string_is_ascii(text)), pc.match_substring(text, "`"))
    text = replace_where(text, quoted, _QUOTES, "'")
    if pc.any(pc.match_substring(text, "&")).as_py():
        for entity, char in (("&amp;", "&"), ("&gt;", ">"), ("&lt;", "<")):
            text = replace_where(text, pc.match_substring(text, entity), entity, char)
    text = pc.replace_substring_regex(text, pattern=_SPACE_RUN, replacement=" ")
    return pc.utf8_trim_whitespace(text)


def _padded(text: pa.Array, left: str = " ", right: str = " ") -> pa.Array:
    """Each text with a space (or `left`, `right`) added at its ends."""
    parts = (pa.scalar(left, text.type), text, pa.scalar(right, text.type))
    return pc.binary_join_element_wise(*parts, pa.scalar("", text.type))


# The tokens masked in prepared text, in order: each with a cheap test for the rows that
# may hold one (every token holds what its test looks for), so the rewrite runs on those
# rows only.
_MASKS: tuple[tuple[str, str, str], ...] = (
    ("http|www[.]", _URL, " <LINK> "),
    ("@|__email__", _EMAIL, " <EMAIL> "),
    ("@", _HANDLE, " <HANDLE> "),
    (lexicon.PHONE_NUMBER_HINT, _PHONE_NUMBER, " <PHONE> "),
)
# Rows that may hold any token: one pass instead of one per token over every row.
_ANY_MASK = "|".join(hint for hint, _, _ in _MASKS)


def _lower(text: pa.Array) -> pa.Array:
    """Lower-cased texts; the ASCII case mapping (ten times faster) where it is the same.

    The other rows are lowered again with the full mapping, which gives what it gives on
    the original text: the ASCII mapping only changes A-Z, which it lowers too.
    """
    return rewrite_where(pc.ascii_lower(text), pc.invert(pc.string_is_ascii(text)), pc.utf8_lower)


def _mask_tokens(body: pa.Array) -> pa.Array:
    """Lower-case texts as the lexicon expects them: tokens masked, padded with spaces.

    `body` is folded text without its leading @handles: no space at either end and no
    double space, so a row without any token is already prepared once padded.
    """
    text = _padded(_lower(body))
    return rewrite_where(text, pc.match_substring_regex(text, _ANY_MASK), _mask_all)


def _mask_all(text: pa.Array) -> pa.Array:
    """`_mask_tokens` on padded lower-case texts that may hold a token."""
    for hint, pattern, token in _MASKS:
        text = replace_where(text, pc.match_substring_regex(text, hint), pattern, token)
    # Masks leave double spaces, and one at either end.
    text = pc.replace_substring_regex(text, pattern="  +", replacement=" ")
    return _padded(pc.utf8_trim_whitespace(text))


def _has(text: pa.Array, pattern: str) -> np.ndarray:
    """Whether each text contains the pattern, as a numpy bool array."""
    found = pc.match_substring_regex(text, pattern)
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _has_where(text: pa.Array, rows: np.ndarray, pattern: str) -> np.ndarray:
    """`_has` on the selected rows only (False elsewhere)."""
    found = np.zeros(len(text), dtype=bool)
    if rows.any():
        found[rows] = _has(pc.filter(text, pa.array(rows)), pattern)
    return found


def _without(text: pa.Array, pattern: str, rows: np.ndarray | None = None) -> pa.Array:
    """The texts with every match of `pattern` replaced by a space.

    `rows`, when given, holds every row that may match (the others are left as they are).
    """
    found = pc.match_substring_regex(text, pattern) if rows is None else pa.array(rows)
    return replace_where(text, found, pattern, " ")


def _any_of(*patterns: str) -> str:
    """One regex that matches where any of the patterns does."""
    return "(?:" + "|".join(patterns) + ")"


# Every exception phrase list in one: the rows worth removing exceptions from.
_ANY_EXCEPTION = _any_of(
    _DEFLECTION_EXCEPTION, _EMPATHY_EXCEPTION, _HEDGING_EXCEPTION, _FIX_EXCEPTION, _SOLVED_EXCEPTION
)
# Every channel pattern in one: one pass finds the few rows worth testing channel by channel.
_ANY_CHANNEL = _any_of(*_CHANNEL_REGEX.values())


def _channel_flags(
    text: pa.Array, exceptions: np.ndarray | None = None
) -> dict[Channel, np.ndarray]:
    """One bool array per channel over prepared texts (`exceptions`: see `_without`)."""
    text = _without(text, _DEFLECTION_EXCEPTION, exceptions)
    some = _has(text, _ANY_CHANNEL)
    flags = {channel: _has_where(text, some, _CHANNEL_REGEX[channel]) for channel in CHANNELS}
    named = np.logical_or.reduce([flags[c] for c in CHANNELS if c != "web"])
    # A link pointer needs a link: test the pointer only where there is one.
    linked = _has(text, "<LINK>") & ~named
    pointer = _has_where(text, linked, _WEB_LINK_POINTER)
    # A step in public beside the link? Read as the answer kind reads fix phrases: "you
    # can find tips here: <link>" or "follow the steps in this link" is no step in public
    # (`lexicon.FIX_EXCEPTIONS`). Only the pointer rows are read, not every text.
    step = np.zeros(len(text), dtype=bool)
    if pointer.any():
        at_pointer = pc.filter(text, pa.array(pointer))
        step[pointer] = _has(_without(at_pointer, _FIX_EXCEPTION), _FIX_PUBLIC)
    link_only = pointer & ~step
    # A link that supplements a public answer is not a deflection (METRICS.md's reading
    # guide): with the link's sentence and the courtesy taken out, words still left.
    rows = np.flatnonzero(link_only)
    if len(rows):
        words = _substance_words(_courtesy_free(text.take(rows)))
        link_only[rows[words >= SUPPLEMENTED_MIN_WORDS]] = False
    flags["web"] = flags["web"] | link_only
    return flags


@dataclass(frozen=True)
class PreparedTexts:
    """Texts with the shared clean-up done once, for callers that run several signals.

    Every signal function accepts either a Series of raw texts or this; pass this when
    classifying the same texts more than once, so the clean-up and the channel flags
    are computed a single time.
    """

    original: pd.Series

    @cached_property
    def folded(self) -> pa.Array:
        """The texts folded (`_fold`): quotes straightened, `&amp;` decoded, spaces collapsed."""
        return _fold(as_arrow(_as_text(self.original)))

    @cached_property
    def body(self) -> pa.Array:
        """Folded texts without the @handles a reply opens with (its addressees)."""
        return pc.replace_substring_regex(self.folded, pattern=_LEADING_HANDLES, replacement="")

    @cached_property
    def prepared_array(self) -> pa.Array:
        """The body lower-cased with tokens masked, padded with spaces (`_mask_tokens`)."""
        return _mask_tokens(self.body)

    @cached_property
    def prepared(self) -> pd.Series:
        return pd.Series(
            pd.array(self.prepared_array, dtype=_TEXT_DTYPE), index=self.original.index
        )

    @cached_property
    def channel_flags(self) -> dict[Channel, np.ndarray]:
        return _channel_flags(self.prepared_array, self.exception_rows)

    @cached_property
    def exception_rows(self) -> np.ndarray:
        """Rows that hold any signal's exception phrase: one pass instead of one per signal."""
        return _has(self.prepared_array, _ANY_EXCEPTION)


TextInput = pd.Series | PreparedTexts


def prepare_texts(texts: TextInput) -> PreparedTexts:
    """Wrap raw texts for repeated classification (a PreparedTexts passes through)."""
    return texts if isinstance(texts, PreparedTexts) else PreparedTexts(texts)


def deflection_channels(texts: TextInput) -> pd.Series:
    """Channels a brand post moves the customer to, `;`-joined in `CHANNELS` order.

    Parameters
    ----------
    texts : pd.Series
        Brand post texts; missing values count as empty text.

    Returns
    -------
    pd.Series
        dtype ``string``, aligned on ``texts.index``; ``""`` when the post does not deflect.

    Notes
    -----
    A post deflects to a channel when it matches that channel's phrases in `lexicon`:
    ``dm`` (`DM_PHRASES`), ``phone`` (`PHONE_PHRASES`, including any phone number),
    ``email`` (`EMAIL_PHRASES`, including any e-mail address), ``web`` (`WEB_PHRASES`,
    or a link with a pointer word from `WEB_LINK_POINTERS` in a post that gives no
    answer in public, i.e. no `FIX_DONE_PHRASES`/`FIX_STEP_PHRASES`, and names no other
    channel), ``store`` (`STORE_PHRASES`) and ``other_account`` (a phrase from
    `OTHER_ACCOUNT_LEADS` right before an @handle in the body; the @handles the post
    starts with are its addressees and never count). A post may name several channels.
    """
    given = prepare_texts(texts)
    flags = given.channel_flags
    code = np.zeros(len(given.original), dtype=np.int64)
    for bit, channel in enumerate(CHANNELS):
        code |= flags[channel].astype(np.int64) << bit
    return pd.Series(CHANNEL_LISTS[code], index=given.original.index, dtype="string")


def is_empathic(texts: TextInput) -> pd.Series:
    """Whether a brand reply acknowledges or apologises for the customer's problem.

    Parameters
    ----------
    texts : pd.Series
        Brand post texts; missing values count as empty text.

    Returns
    -------
    pd.Series
        bool, aligned on ``texts.index``: True when the text contains a phrase from
        `lexicon.EMPATHY_PHRASES` ("sorry", "apologies", "we understand how
        frustrating", "sad to hear", "not what we want to hear") once the phrases in
        `lexicon.EMPATHY_EXCEPTIONS` ("no need to apologise", "if we understand
        correctly") are removed.
    """
    given = prepare_texts(texts)
    text = _without(given.prepared_array, _EMPATHY_EXCEPTION, given.exception_rows)
    return pd.Series(_has(text, _EMPATHY), index=given.original.index, dtype=bool)


def is_hedging(texts: TextInput) -> pd.Series:
    """Whether a brand reply distances itself legalistically from the problem.

    Parameters
    ----------
    texts : pd.Series
        Brand post texts; missing values count as empty text.

    Returns
    -------
    pd.Series
        bool, aligned on ``texts.index``: True when the text contains a phrase from
        `lexicon.HEDGING_PHRASES` ("it appears", "any inconvenience this may have
        caused", "we are unable to comment", "as per our policy") once the phrases in
        `lexicon.HEDGING_EXCEPTIONS` (questions such as "what seems to be going on?")
        are removed.
    """
    given = prepare_texts(texts)
    text = _without(given.prepared_array, _HEDGING_EXCEPTION, given.exception_rows)
    return pd.Series(_has(text, _HEDGING), index=given.original.index, dtype=bool)


def agent_signature(texts: TextInput) -> pd.Series:
    """The agent's sign-off at the end of a brand reply (`^AB`, `-Becky`, `/CG`).

    Parameters
    ----------
    texts : pd.Series
        Brand post texts; missing values count as empty text.

    Returns
    -------
    pd.Series
        dtype ``string``, aligned on ``texts.index``: group 1 of
        `lexicon.SIGNOFF_PATTERN` (case-sensitive, so "AB", "Becky"), ``<NA>`` when the
        post is not signed.
    """
    given = prepare_texts(texts)
    # Folded text: its quotes, entities and trimmed ends never change a sign-off, and its
    # whitespace is single spaces, so RE2's ASCII `\s` and `$` mean here what they mean in
    # `re`. Extracting is several times slower than testing: extract only where it matches.
    text = given.folded
    signed = _has(text, lexicon.SIGNOFF_PATTERN)
    agent = np.full(len(text), None, dtype=object)
    if signed.any():
        # pyarrow's RE2 directly: pandas runs `str.extract` with Python's `re`, row by
        # row, for a pattern with an unnamed group.
        found = pc.extract_regex(pc.filter(text, pa.array(signed)), _SIGNOFF_NAMED)
        agent[signed] = pc.struct_field(found, [0]).to_numpy(zero_copy_only=False)
    return pd.Series(pd.array(agent, dtype="string"), index=given.original.index)


def addresses_by_name(texts: TextInput) -> pd.Series:
    """Whether a brand reply addresses the customer by a first name.

    Parameters
    ----------
    texts : pd.Series
        Brand post texts; missing values count as empty text.

    Returns
    -------
    pd.Series
        bool, aligned on ``texts.index``. After the leading @handles, the reply opens
        with a greeting from `lexicon.NAME_GREETINGS` followed by a capitalised word
        ("Hi Sarah,", "Thanks, Tom!"), opens with a capitalised word and a comma
        ("Colton, we're glad"), or its first sentence ends in ", Name" ("Here to help,
        Rajshree."); and that word is not in `lexicon.NOT_NAMES` ("Hi there", "Hey
        all", "Hello again", brand names). An optional title (Mr, Ms, Dr) is skipped.
    """
    given = prepare_texts(texts)
    text = _padded(given.body, left="")
    found = np.zeros(len(given.original), dtype=bool)
    not_names = pa.array(sorted(lexicon.NOT_NAMES), text.type)
    for form in _NAME_FORMS:
        # Extracting is several times slower than testing: extract only where it matches.
        matches = pc.match_substring_regex(text, form).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(matches & ~found)
        if not len(rows):
            continue
        name = pc.utf8_lower(pc.struct_field(pc.extract_regex(text.take(rows), form), [0]))
        is_name = pc.and_(pc.is_valid(name), pc.invert(pc.is_in(name, value_set=not_names)))
        found[rows] = pc.fill_null(is_name, False).to_numpy(zero_copy_only=False)
    return pd.Series(found, index=given.original.index, dtype=bool)


def customer_signal(texts: TextInput) -> pd.Series:
    """What a customer's post says about the brand's help: solved, thanks or problem.

    Parameters
    ----------
    texts : pd.Series
        Customer post texts; missing values count as empty text.

    Returns
    -------
    pd.Series
        dtype ``string``, aligned on ``texts.index``, the first that applies of:
        ``"persists"`` when the text contains a phrase from
        `lexicon.PROBLEM_PERSISTS_PHRASES` ("still not working", "didn't help",
        "already tried that", "thanks for nothing"); ``"solved"`` for
        `lexicon.SOLVED_PHRASES` ("that worked", "sorted", "all good now") once the
        hopes and conditions in `lexicon.SOLVED_EXCEPTIONS` ("until it's fixed") are
        removed;
        ``"problem"`` for `lexicon.PROBLEM_PHRASES` ("can't", "error", "not working");
        ``"thanks"`` for `lexicon.THANKS_PHRASES` in a text without a question mark or
        a request from `lexicon.THANKS_BLOCKERS` ("please", "thanks in advance");
        otherwise ``""``.
    """
    given = prepare_texts(texts)
    text = given.prepared_array
    persists = _has(text, _PROBLEM_PERSISTS)
    solved = _has(_without(text, _SOLVED_EXCEPTION, given.exception_rows), _SOLVED)
    problem = _has(text, _PROBLEM)
    thanks = _has(text, _THANKS)
    thanks &= ~_has_where(text, thanks, _THANKS_BLOCKER)
    signal = np.select(
        [persists, solved, problem, thanks], ["persists", "solved", "problem", "thanks"], ""
    )
    return pd.Series(signal, index=given.original.index, dtype="string")


def brand_answer_kind(texts: TextInput) -> pd.Series:
    """Whether a brand reply says it cannot help, states a fix, or neither.

    Parameters
    ----------
    texts : pd.Series
        Brand post texts; missing values count as empty text.

    Returns
    -------
    pd.Series
        dtype ``string``, aligned on ``texts.index``: ``"cannot_help"`` when the text
        contains a phrase from `lexicon.CANNOT_HELP_PHRASES` ("we're unable to help
        with this", "there's nothing we can do") and offers no route: no deflection
        channel (see `deflection_channels`), no alternative from
        `lexicon.CANNOT_HELP_ALTERNATIVES` ("but you can ...") and no step from
        `lexicon.FIX_STEP_PHRASES`; else ``"fix"`` when,
        once the phrases in `lexicon.FIX_EXCEPTIONS` are removed, it contains a phrase
        from `lexicon.FIX_DONE_PHRASES` ("this has been fixed", "we've refunded"),
        `lexicon.FIX_STEP_PHRASES` ("try restarting", "go to Settings") or
        `lexicon.FIX_LINK_PHRASES` ("here's how: <link>"); else ``""``.
    """
    given = prepare_texts(texts)
    text = given.prepared_array
    routed = np.logical_or.reduce(list(given.channel_flags.values()))
    fixable = _without(text, _FIX_EXCEPTION, given.exception_rows)
    # The route and alternative tests only matter where the post says it cannot help.
    cannot = _has(fixable, _CANNOT_HELP) & ~routed
    alternative = _has_where(text, cannot, _CANNOT_HELP_ALTERNATIVE)
    alternative |= _has_where(fixable, cannot, _FIX_STEP)
    cannot &= ~alternative
    fix = _has(fixable, _any_of(_FIX_PUBLIC, _FIX_LINK))
    kind = np.select([cannot, fix], ["cannot_help", "fix"], "")
    return pd.Series(kind, index=given.original.index, dtype="string")


def is_care_request(texts: TextInput) -> pd.Series:
    """Whether a customer's post raises a problem, a question or a request for help.

    Parameters
    ----------
    texts : pd.Series
        Customer post texts; missing values count as empty text.

    Returns
    -------
    pd.Series
        bool, aligned on ``texts.index``: True when the text (links and @handles
        masked) contains a question mark or a phrase from
        `lexicon.CARE_REQUEST_PHRASES` (complaint words, "not working", "can't",
        "help", "refund", "cancelled", "delayed", "why", "how do I"). Praise, banter and
        thanks without any of these are not care requests.
    """
    given = prepare_texts(texts)
    care = _has(given.prepared_array, _any_of("[?]", _CARE))
    return pd.Series(care, index=given.original.index, dtype=bool)


def _courtesy_free(text: pa.Array) -> pa.Array:
    """Prepared texts with their courtesy (greetings, thanks, closers, apologies) taken out."""
    return pc.replace_substring_regex(text, pattern=_COURTESY, replacement=" ")


def _substance_words(rest: pa.Array) -> np.ndarray:
    """Words a courtesy-free reply holds besides the sentences that carry its links.

    What is left is what the reply says in public itself: a reply that only wraps a link
    in thanks and apologies holds none. (Tokens such as <LINK> are upper-case: not words.)
    """
    linked = pc.match_substring(rest, "<LINK>")
    rest = rewrite_where(
        rest,
        linked,
        lambda t: pc.replace_substring_regex(t, pattern=_LINK_SENTENCE, replacement=" "),
    )
    return pc.count_substring_regex(rest, pattern="[a-z0-9']+").to_numpy(zero_copy_only=False)


def brand_reply_act(texts: TextInput) -> pd.Series:
    """What a brand reply does besides deflecting: asks, passes on, promises or answers.

    Parameters
    ----------
    texts : pd.Series
        Brand post texts; missing values count as empty text.

    Returns
    -------
    pd.Series
        dtype ``string``, aligned on ``texts.index``. Courtesy is taken out first
        (`lexicon.PLEASANTRY_PHRASES` and `lexicon.EMPATHY_PHRASES`: greetings, thanks,
        "glad to hear", "let us know if you need anything", apologies); then the first
        that applies of: ``"asks"``, what is left asks something (a question mark, or
        `lexicon.ASK_PHRASES` such as "could you confirm", "which version");
        ``"feedback"``, it only passes the point on (`lexicon.FEEDBACK_ONLY_PHRASES`,
        "we'll pass your feedback on", "we hear you"); ``"promise"``, it says it is on
        it with nothing concrete yet (`lexicon.PROMISE_PHRASES`, "we're looking into
        it", "we'll follow up"); ``"answer"``, at least `ANSWER_MIN_WORDS` words are
        left besides the sentences that carry a link: a statement in public (a link
        wrapped in thanks is no answer); otherwise ``""`` (courtesy only). Whether the reply
        also deflects is `deflection_channels`' to say; the outcome rules read both.
    """
    given = prepare_texts(texts)
    rest = _courtesy_free(given.prepared_array)
    asks = _has(rest, _ASK)
    feedback = _has(rest, _FEEDBACK_ONLY)
    promise = _has(rest, _PROMISE)
    words = _substance_words(rest)
    act = np.select(
        [asks, feedback, promise, words >= ANSWER_MIN_WORDS],
        ["asks", "feedback", "promise", "answer"],
        "",
    )
    return pd.Series(act, index=given.original.index, dtype="string")
