"""Anonymise an analysis: customers become stable pseudonyms, personal details are masked.

What is masked, everywhere (turns, conversations, template examples, exports):

- **Customer accounts.** `author_handle` and `author_id` of customer posts and
  `conversations.customer_id` become a pseudonym such as ``customer-7f3a9c``; the url and
  raw_ref of customer posts are dropped (a post's url names its author on most platforms).
- **@mentions** of any account that is not a brand account, in any text, become the same
  pseudonym (``@customer-7f3a9c``): the customer's handle in a brand reply and in their own
  posts match, so a thread stays readable. Mentions of unknown third parties (a friend, a
  company not in the data) are masked too: a privacy switch fails closed.
- **Names**: a first name a brand reply addresses the customer by ("Hi Sarah,", "Thanks,
  Tom!", the forms of `text_signals.addresses_by_name`, plus "Thanks for reaching out
  Sarah.") becomes ``[name]``, as a whole word, in every post of that conversation (the
  customer may sign with it too); in template examples, within the template's examples.
  A name nobody addresses ("I'm Jo Smith" in a customer's post) is not found.
- **E-mail addresses** become ``[email]`` and **phone numbers** ``[phone]``, in brand posts
  too: a reply may quote the customer's own number or address, and text cannot tell it
  from the brand's help line; the channel stays visible (``call us on [phone]``). Phone
  numbers are numbers laid out like one (see `PHONE_PATTERNS`); plain digit runs (order
  and tracking numbers), dates and times are left alone.

What stays: brand accounts and brand mentions, and agents' sign-offs (``^AB``, ``-Becky``):
the brands and their agents' public work are what the benchmark is about, and the
personal-touch signal reads the sign-offs. Post ids stay in the analysis (they are the keys
the dashboard opens threads and pins by); `pseudonymise_ids` hides them in exports, since a
public post id leads back to its author.

Pseudonyms are a keyed hash (SipHash, `pandas.util.hash_array`) of the lower-cased handle
with a random key drawn once per process: stable within one analysis (and one dashboard
process), not reversible without the key, even for small id spaces such as TWCS's numeric
customer ids. 24 bits of the hash are shown: two given customers share a tag with a
chance of one in 16.8 million.

Everything is vectorised with pyarrow (RE2): tokens that need a lookup (mentions, names)
are wrapped in NUL markers by one regex pass, split out, replaced column-wise and joined
back; large inputs run as two halves in two threads. A million generated turns take about
5 s of CPU on a busy 2-core machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carebench.benchmark import lexicon
from carebench.benchmark.arrow_text import as_arrow, replace_where, rewrite_where
from carebench.benchmark.scoring import Analysis

MASK_EMAIL = "[email]"
MASK_PHONE = "[phone]"
MASK_NAME = "[name]"
CUSTOMER_PREFIX = "customer-"

# One random key per process: pseudonyms are stable while the process lives, and nobody
# can recompute them from a handle afterwards.
_PROCESS_SALT = secrets.token_hex(8)

_TEXT = pd.StringDtype("pyarrow")
_MARK = "\x00"

_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# Cheap tests that pick the few texts a slower pattern needs to run on.
_EMAIL_HINT = r"@[A-Za-z0-9-]+\."
# (Every pattern of `PHONE_PATTERNS` has three digits, a separator and three digits, or
# a plus sign and a digit.)
_PHONE_HINT = r"[0-9]{3}[ .)-]{1,2}[0-9]{3}|[+][0-9]"
# Below this many texts one thread is faster than two.
_PARALLEL_MIN_TEXTS = 50_000

# Phone numbers, as laid out by people (RE2 syntax). A separator is required somewhere, so
# plain digit runs (order numbers, tracking codes) never match; dates use / or . or
# two-digit groups and times use :, which none of these take.
PHONE_PATTERNS: tuple[str, ...] = (
    # North American: 415-555-0132, (415) 555-0132, 415.555.0132, 1-800-555-0142, +1 ...
    r"(?:\+?1[ .-]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-]?)[0-9]{3}[ .-][0-9]{4}",
    # International with a country code: +44 20 7946 0958, +44 (0) 2076604452, +4915112345678
    r"\+[1-9][0-9]{0,2}[ .-]?(?:\(0?[0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{2,4}){2,4}",
    # UK national: 0345 600 7000, 07700 900123, 020 7946 0958
    r"0[1-9][0-9]{2,3} [0-9]{3} ?[0-9]{3,4}",
    r"0[1-9][0-9] [0-9]{4} [0-9]{4}",
    # Indian toll-free: 1800 180 1407
    r"1800[ -][0-9]{3}[ -][0-9]{3,4}",
)
# Group 1 and 3 are the characters around a number; they are put back. A number glued to
# letters, digits or id punctuation (#, ., -) is part of something else.
_PHONE = (
    r"(^|[^0-9A-Za-z_#.+-])("
    + "|".join(f"(?:{p})" for p in PHONE_PATTERNS)
    + r")($|[^0-9A-Za-z_-]|-[^0-9]|-$)"
)
# An @mention: Twitter handles, Bluesky's dotted handles, Mastodon's user@instance. E-mail
# addresses are masked before; what is left of "abc@def" is masked like a mention.
_MENTION = r"@[A-Za-z0-9_]+(?:[.@][A-Za-z0-9_-]+)*"

# The name forms of `text_signals.addresses_by_name`, after the @handles a reply opens
# with: "Hi Sarah,", "Thanks, Tom!"; "Colton, we're glad"; "Here to help, Rajshree."
# Spaces may be runs of whitespace (RE2 syntax, matched on the original text).
_NAME = "(?:(?i:mr|mrs|ms|miss|dr)[.]?[ ]+)?(?P<name>[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?)"
_GREETING = "(?i:" + "|".join(g.replace(" ", "[ ]+") for g in lexicon.NAME_GREETINGS) + ")"
_START = (
    "^(?:[ .]*@[A-Za-z0-9_]+(?:[.@][A-Za-z0-9_-]+)*[ ,:;]*)*"
    "[ \t\r\n]*(?:[0-9]+(?:/[0-9]+)?[.:)]?[ ]+)?"
)
_NAME_FORMS: tuple[str, ...] = (
    f"{_START}{_GREETING}(?:,[ ]*|[ \t\r\n]+){_NAME}(?:[^A-Za-z0-9_'-]|$)",
    f"{_START}{_NAME},[ ]",
    f"[a-z],[ ]+{_NAME}(?:[ ][A-Z][a-z]+)?[.!?,]",
    # Beyond addresses_by_name: a name closing a thanks, "Thanks for reaching out Sarah.",
    # "This made our day Sarah!"
    f"(?i:thanks|thank you|cheers|welcome|made our day)(?:[ ]+[a-z]+){{0,3}}[ ]+{_NAME}[.!,]",
)


def _hash_key(salt: str | None) -> str:
    """A 16-character SipHash key: the process key, or one derived from a given salt."""
    if salt is None:
        return _PROCESS_SALT
    return hashlib.blake2b(salt.encode("utf-8"), digest_size=8).hexdigest()


def _handle_key(handles: pd.Series) -> pd.Series:
    """Handles compared as platforms do: case-insensitive, without the leading @."""
    return handles.astype(_TEXT).str.lower().str.removeprefix("@")


def _hex(values: np.ndarray, digits: int) -> np.ndarray:
    """The low `digits` hex digits of unsigned integers, as strings, vectorised."""
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = (values.astype(np.uint64)[:, None] >> shifts) & np.uint64(0xF)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles.astype(np.intp)]
    return np.ascontiguousarray(chars).view(f"S{digits}").ravel().astype(f"U{digits}")


def _tags(
    values: pd.Series,
    salt: str | None,
    prefix: str,
    digits: int,
    key: Callable[[pd.Series], pd.Series] | None = None,
) -> pd.Series:
    """`prefix` + keyed hash digits of each value's `key`, hashed once per distinct key."""
    codes, uniques = pd.factorize(values.astype(_TEXT), use_na_sentinel=True)
    keys = pd.Series(uniques, dtype=_TEXT)
    if key is not None:
        keys = key(keys)
    key_codes, distinct = pd.factorize(keys, use_na_sentinel=True)
    hashed = pd.util.hash_array(
        np.asarray(distinct, dtype=object), hash_key=_hash_key(salt), categorize=False
    )
    tags = pa.array(np.char.add(prefix, _hex(hashed, digits)), pa.large_string())
    per_unique = key_codes[codes]
    taken = tags.take(pa.array(per_unique, mask=(codes < 0) | (per_unique < 0)))
    return pd.Series(pd.array(taken, dtype=_TEXT), index=values.index)


def pseudonyms(handles: pd.Series, salt: str | None = None) -> pd.Series:
    """A stable, non-reversible ``customer-xxxxxx`` tag per handle (NA stays NA)."""
    return _tags(handles, salt, CUSTOMER_PREFIX, 6, key=_handle_key)


def pseudonymise_ids(ids: pd.Series, salt: str | None = None, prefix: str = "post-") -> pd.Series:
    """Post ids replaced by stable salted tags (``post-3f9a0c1b``), for exports."""
    return _tags(ids, salt, prefix, 8)


# Columns of exported tables that hold a public post id: it leads back to the post and so
# to its author, so an anonymised export replaces them (consistently within the file).
POST_ID_COLUMNS: tuple[str, ...] = ("conversation_id", "answered_post_id", "first_response_id")


def pseudonymise_post_ids(table: pd.DataFrame, salt: str | None = None) -> pd.DataFrame:
    """A table with its post-id columns (`POST_ID_COLUMNS`) replaced by salted tags."""
    out = table.copy()
    for column in POST_ID_COLUMNS:
        if column in out:
            out[column] = pseudonymise_ids(out[column], salt)
    return out


# -- names ----------------------------------------------------------------------------


def addressed_names(texts: pd.Series) -> pd.DataFrame:
    """First names brand replies address the customer by.

    Returns one row per (row label, name) with columns ``row`` (the label in `texts`) and
    ``name`` (as written, capitalised): the forms of `text_signals.addresses_by_name`
    ("Hi Sarah,", "Thanks, Tom!", "Colton, we're glad", "Here to help, Rajshree.") plus a
    name closing a thanks ("Thanks for reaching out Sarah."), whose word is not in
    `lexicon.NOT_NAMES`.
    """
    array = _to_arrow(texts)
    labels = texts.index.to_numpy()
    found: list[pd.DataFrame] = [pd.DataFrame({"row": labels[:0], "name": pd.array([], _TEXT)})]
    for form in _NAME_FORMS:

        def extract(chunk: pa.Array, form: str = form) -> pa.Array:
            # Matching is cheap and extracting is not: extract from the matches only.
            hits = pc.fill_null(pc.match_substring_regex(chunk, form), False)
            where = np.flatnonzero(hits.to_numpy(zero_copy_only=False))
            names = pc.struct_field(pc.extract_regex(chunk.take(pa.array(where)), form), [0])
            return pa.StructArray.from_arrays([pa.array(where), names], ["at", "name"])

        parts = _in_halves(array, extract)
        for offset, part in parts:
            at = part.field("at").to_numpy(zero_copy_only=False) + offset
            frame = pd.DataFrame(
                {"row": labels[at], "name": pd.array(part.field("name"), dtype=_TEXT)}
            )
            frame = frame[frame["name"].notna()]
            found.append(frame[~frame["name"].str.lower().isin(lexicon.NOT_NAMES)])
    names_found = pd.concat(found, ignore_index=True).drop_duplicates()
    return names_found.reset_index(drop=True)


# -- masking --------------------------------------------------------------------------


def _to_arrow(texts: pd.Series) -> pa.Array:
    return as_arrow(texts.astype(_TEXT))


def _to_series(array: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(array, dtype=_TEXT), index=index)


def _in_halves(
    array: pa.Array, function: Callable[[pa.Array], pa.Array]
) -> list[tuple[int, pa.Array]]:
    """`function` over an arrow array, in two threads when it is large; each result with
    the offset of the part it came from."""
    workers = min(2, os.cpu_count() or 1)
    if len(array) < _PARALLEL_MIN_TEXTS or workers < 2:
        return [(0, function(array))]
    half = len(array) // 2
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(function, [array.slice(0, half), array.slice(half)]))
    return [(0, parts[0]), (half, parts[1])]


def _mask_fixed(texts: pa.Array) -> pa.Array:
    """Marker characters, e-mail addresses and phone numbers, on one arrow array."""
    texts = replace_where(texts, pc.match_substring_regex(texts, _MARK), _MARK, " ")
    texts = replace_where(texts, pc.match_substring_regex(texts, _EMAIL_HINT), _EMAIL, MASK_EMAIL)
    return rewrite_where(texts, pc.match_substring_regex(texts, _PHONE_HINT), _mask_phones)


def _mask_phones(texts: pa.Array) -> pa.Array:
    """Phone numbers masked in texts that may hold one (see `_PHONE_HINT`)."""
    replacement = f"\\1{MASK_PHONE}\\3"
    texts = pc.replace_substring_regex(texts, pattern=_PHONE, replacement=replacement)
    # Again where a number was found: its trailing boundary character may have been the
    # next number's leading one.
    again = pc.match_substring_regex(texts, re.escape(MASK_PHONE))
    return replace_where(texts, again, _PHONE, replacement)


# What a token rule gets: the tokens and the position of the text each came from.
TokenRule = Callable[[pa.Array, np.ndarray], pa.Array]


def _replace_tokens(texts: pa.Array, rows: np.ndarray, pattern: str, rule: TokenRule) -> pa.Array:
    """Replace each match of `pattern` in the texts at positions `rows` by what `rule` says.

    One RE2 pass wraps every match in NUL markers; the marked texts are split so that the
    matches land at odd positions of each list; `rule` maps the tokens to their
    replacements, column-wise; the lists are joined back.
    """
    if not len(rows):
        return texts
    chosen = texts if len(rows) == len(texts) else texts.take(pa.array(rows))

    def wrap(array: pa.Array) -> pa.Array:
        return pc.replace_substring_regex(array, pattern=pattern, replacement="\x00\\0\x00")

    wrapped = wrap(chosen)
    hit = pc.fill_null(pc.match_substring_regex(wrapped, _MARK), False)
    if not pc.all(hit).as_py():
        rows, wrapped = rows[hit.to_numpy(zero_copy_only=False)], wrapped.filter(hit)
    if not len(rows):
        return texts
    parts = pc.split_pattern(wrapped, _MARK)
    values = parts.flatten()
    offsets = parts.offsets.to_numpy()
    parent = pc.list_parent_indices(parts).to_numpy()
    is_token = (np.arange(len(values)) - (offsets[parent] - offsets[0])) % 2 == 1
    token_at = np.flatnonzero(is_token)
    replaced = rule(values.take(pa.array(token_at)), rows[parent[token_at]])
    new_values = pc.replace_with_mask(values, pa.array(is_token), replaced.cast(values.type))
    lists = pa.ListArray.from_arrays(pa.array(offsets - offsets[0], pa.int32()), new_values)
    joined = pc.binary_join(lists, pa.scalar("", new_values.type)).cast(texts.type)
    if len(rows) == len(texts):
        return joined
    selected = np.zeros(len(texts), dtype=bool)
    selected[rows] = True
    return pc.replace_with_mask(texts, pa.array(selected), joined)


def _mention_rule(brand_handles: frozenset[str], salt: str | None) -> TokenRule:
    """@mentions of anything but a brand account become @customer-xxxxxx."""

    def rule(tokens: pa.Array, _rows: np.ndarray) -> pa.Array:
        codes, uniques = pd.factorize(pd.array(tokens, dtype=_TEXT))
        unique = pd.Series(uniques, dtype=_TEXT)
        keep = _handle_key(unique).isin(brand_handles).to_numpy(dtype=bool)
        tags = ("@" + pseudonyms(unique, salt)).where(~keep, unique)
        return pa.array(tags.astype(_TEXT)).take(pa.array(codes))

    return rule


def _name_rule(row_groups: np.ndarray, name_keys: pa.Array) -> TokenRule:
    """Words that are a name addressed in the same group become [name] ("Sarah's" too)."""

    def rule(tokens: pa.Array, rows: np.ndarray) -> pa.Array:
        groups = pa.array(row_groups[rows].astype(np.int64)).cast(pa.string())
        keys = pc.binary_join_element_wise(
            groups, tokens.cast(pa.string()), pa.scalar("\x1f", pa.string())
        )
        is_name = pc.is_in(keys, value_set=name_keys)
        return pc.if_else(is_name, pa.scalar(MASK_NAME, tokens.type), tokens)

    return rule


@dataclass(frozen=True)
class _Names:
    """Names to mask: one (group, name) row per name addressed in a group, and the group
    of every text to mask."""

    pairs: pd.DataFrame
    row_groups: np.ndarray

    @cached_property
    def keys(self) -> pa.Array:
        """``group\\x1fName`` for every pair, the lookup of `_name_rule`."""
        return pc.binary_join_element_wise(
            pa.array(self.pairs["group"].to_numpy()).cast(pa.string()),
            pa.array(self.pairs["name"].astype(_TEXT)).cast(pa.string()),
            pa.scalar("\x1f", pa.string()),
        )


# Names per regex: RE2 keeps an alternation of a few thousand words fast.
_NAMES_PER_PASS = 2000


def _mask_names(texts: pa.Array, names: _Names) -> pa.Array:
    """Every whole-word occurrence of a name in the texts of a group that addressed it."""
    rows = np.flatnonzero(np.isin(names.row_groups, names.pairs["group"].to_numpy()))
    if not len(rows):
        return texts
    subset = texts.take(pa.array(rows))
    groups = names.row_groups[rows]
    rule = _name_rule(groups, names.keys)
    distinct = sorted(names.pairs["name"].unique().tolist())
    for start in range(0, len(distinct), _NAMES_PER_PASS):
        batch = distinct[start : start + _NAMES_PER_PASS]
        in_batch = names.pairs["name"].isin(batch).to_numpy(dtype=bool)
        batch_rows = np.flatnonzero(np.isin(groups, names.pairs["group"].to_numpy()[in_batch]))
        # Whole words around the name, so that "McSarah" or "SarahJ" is one other word.
        pattern = "[A-Za-z0-9_@]*(?:" + "|".join(map(re.escape, batch)) + ")[A-Za-z0-9_]*"
        subset = _replace_tokens(subset, batch_rows, pattern, rule)
    selected = np.zeros(len(texts), dtype=bool)
    selected[rows] = True
    return pc.replace_with_mask(texts, pa.array(selected), subset)


def _mask_array(
    texts: pa.Array, *, brand_handles: frozenset[str], salt: str | None, names: _Names | None
) -> pa.Array:
    """E-mails, phone numbers, non-brand @mentions and (with `names`) names, masked.

    Large arrays are masked as two halves in two threads: pyarrow's kernels release the
    GIL, and every rule is row-local.
    """

    def mask(lo: int, hi: int) -> pa.Array:
        part = texts.slice(lo, hi - lo)
        part = _mask_fixed(part)
        mentions = np.flatnonzero(
            pc.fill_null(pc.match_substring_regex(part, "@"), False).to_numpy(zero_copy_only=False)
        )
        part = _replace_tokens(part, mentions, _MENTION, _mention_rule(brand_handles, salt))
        if names is not None and len(names.pairs):
            part = _mask_names(part, replace(names, row_groups=names.row_groups[lo:hi]))
        return part

    workers = min(2, os.cpu_count() or 1)
    if len(texts) < _PARALLEL_MIN_TEXTS or workers < 2:
        return mask(0, len(texts))
    half = len(texts) // 2
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(mask, [0, half], [half, len(texts)]))
    return pa.concat_arrays(parts)


def _names(row_groups: pd.Series, found: pd.DataFrame) -> _Names:
    """The names found (`addressed_names` of some texts) keyed by those texts' groups."""
    pairs = pd.DataFrame(
        {
            "group": row_groups.loc[found["row"].to_numpy()].to_numpy(dtype=np.int64),
            "name": found["name"].astype(_TEXT).to_numpy(),
        }
    ).drop_duplicates()
    return _Names(pairs=pairs.reset_index(drop=True), row_groups=row_groups.to_numpy(np.int64))


def mask_text(
    texts: pd.Series,
    *,
    brand_handles: Iterable[str] = (),
    salt: str | None = None,
    groups: pd.Series | None = None,
    name_sources: pd.Series | None = None,
) -> pd.Series:
    """Mask personal details in texts, vectorised.

    Parameters
    ----------
    texts : pd.Series
        Any post texts; missing values stay missing.
    brand_handles : iterable of str
        Brand account handles (any case, with or without @); their mentions are kept.
    salt : str, optional
        Key of the pseudonyms; default the per-process key.
    groups : pd.Series, optional
        A group label per text (a conversation). A name addressed in any text of a
        group is masked in every text of that group. Default: each text is its own group.
    name_sources : pd.Series of bool, optional
        Which texts to read addressed names from (the brand replies). Default: all.

    Returns
    -------
    pd.Series
        dtype ``string``, same index: e-mails -> ``[email]``, phone numbers ->
        ``[phone]``, @mentions of non-brand accounts -> ``@customer-xxxxxx``, addressed
        first names -> ``[name]``.
    """
    brands = frozenset(_handle_key(pd.Series(list(brand_handles), dtype=_TEXT)).dropna())
    group_codes = (
        pd.Series(np.arange(len(texts)), index=texts.index)
        if groups is None
        else pd.Series(pd.factorize(groups.astype(_TEXT))[0], index=texts.index)
    )
    sources = texts if name_sources is None else texts[name_sources.to_numpy(dtype=bool)]
    names = _names(group_codes, addressed_names(sources))
    masked = _mask_array(_to_arrow(texts), brand_handles=brands, salt=salt, names=names)
    return _to_series(masked, texts.index)


# -- the analysis ---------------------------------------------------------------------


def brand_handles_of(analysis: Analysis) -> frozenset[str]:
    """Every brand account and brand name the analysis knows, lower-case."""
    turns, conversations = analysis.turns, analysis.conversations
    brand_posts = turns["author_role"] == "brand"
    parts = [
        turns.loc[brand_posts, "author_handle"],
        turns.loc[brand_posts, "author_id"],
        turns["brand"],
        conversations["brand"],
        conversations["brand_account"],
        analysis.templates["brand"] if "brand" in analysis.templates else pd.Series(),
    ]
    distinct = [pd.Series(part.dropna().unique(), dtype=_TEXT) for part in parts]
    handles = _handle_key(pd.concat(distinct, ignore_index=True))
    return frozenset(handles.dropna().unique().tolist())


def anonymise_analysis(analysis: Analysis, *, salt: str | None = None) -> Analysis:
    """The analysis with customers pseudonymised and personal details masked (see module doc).

    Figures do not change: only identifying columns and texts are rewritten, every row
    and every signal column stays as it was.
    """
    brands = brand_handles_of(analysis)
    turns = analysis.turns.copy()
    conversations = analysis.conversations.copy()

    # Groups are conversations; names are read from brand replies only ("Hi Sarah,").
    turn_group = turns["platform"].astype(_TEXT) + "\x1f" + turns["conversation_id"].astype(_TEXT)
    conv_group = (
        conversations["platform"].astype(_TEXT)
        + "\x1f"
        + conversations["conversation_id"].astype(_TEXT)
    )
    codes, _ = pd.factorize(pd.concat([turn_group, conv_group], ignore_index=True))
    turn_codes = pd.Series(codes[: len(turns)], index=turns.index)
    conv_codes = codes[len(turns) :]
    is_brand = (turns["author_role"] == "brand").to_numpy(dtype=bool, na_value=False)
    names = _names(turn_codes, addressed_names(turns.loc[is_brand, "text"]))

    masked = _mask_array(_to_arrow(turns["text"]), brand_handles=brands, salt=salt, names=names)
    turns["text"] = _to_series(masked, turns.index)
    if "root_text" in conversations:
        names = replace(names, row_groups=conv_codes.astype(np.int64))
        masked = _mask_array(
            _to_arrow(conversations["root_text"]), brand_handles=brands, salt=salt, names=names
        )
        conversations["root_text"] = _to_series(masked, conversations.index)

    # Customer accounts: one tag per customer, from the handle (what mentions use).
    customer = ~is_brand
    author_key = turns["author_handle"].astype(_TEXT).fillna(turns["author_id"].astype(_TEXT))
    tags = pseudonyms(author_key.where(customer), salt)
    for column in ("author_handle", "author_id"):
        turns[column] = tags.where(customer, turns[column].astype(_TEXT))
    for column in ("url", "raw_ref"):
        if column in turns:
            turns[column] = turns[column].astype(_TEXT).mask(customer)
    # The conversation's customer is its root's author: the same tag as in the thread.
    is_root = (turns["post_id"].astype(_TEXT) == turns["conversation_id"].astype(_TEXT)).to_numpy(
        dtype=bool, na_value=False
    )
    root_tag = pd.Series(pd.NA, index=np.arange(codes.max() + 1 if len(codes) else 0), dtype=_TEXT)
    root_tag.iloc[turn_codes.to_numpy()[is_root & customer]] = tags[is_root & customer].to_numpy()
    by_root = pd.Series(root_tag.iloc[conv_codes].to_numpy(), index=conversations.index)
    fallback = pseudonyms(conversations["customer_id"], salt)
    conversations["customer_id"] = by_root.astype(_TEXT).fillna(fallback)

    return replace(
        analysis,
        turns=turns,
        conversations=conversations,
        templates=anonymise_templates(analysis.templates, brands, salt),
    )


def anonymise_templates(
    templates: pd.DataFrame, brand_handles: Iterable[str], salt: str | None = None
) -> pd.DataFrame:
    """Template examples masked like posts; names addressed in a template's examples are
    masked in all its examples and in its normalised text."""
    table = templates.copy()
    if table.empty or "examples" not in table:
        return table
    lists = [list(items) if isinstance(items, list | tuple) else [] for items in table["examples"]]
    flat = pd.Series([text for items in lists for text in items], dtype=_TEXT)
    owner = [row for row, items in enumerate(lists) for _ in items]
    masked = mask_text(flat, brand_handles=brand_handles, salt=salt, groups=pd.Series(owner))
    masked_lists: list[list[str]] = [[] for _ in lists]
    for row, text in zip(owner, masked.tolist(), strict=True):
        masked_lists[row].append(text)
    table["examples"] = pd.Series(masked_lists, index=table.index, dtype=object)
    if "normalised" in table:
        names = addressed_names(flat)
        by_row: dict[int, set[str]] = {}
        for position, name in zip(names["row"].tolist(), names["name"].tolist(), strict=True):
            by_row.setdefault(owner[int(position)], set()).add(str(name).lower())
        table["normalised"] = pd.Series(
            [
                _mask_normalised(text, by_row.get(i, set()))
                for i, text in enumerate(table["normalised"].tolist())
            ],
            index=table.index,
            dtype=_TEXT,
        )
    return table


_NORMALISED_GREETING = re.compile(
    r"^((?:_user_ )*(?:" + "|".join(lexicon.NAME_GREETINGS) + r") )([a-z]+(?:-[a-z]+)?)(?= |$)"
)


def _mask_normalised(text: object, names: set[str]) -> object:
    """A template's normalised (lower-case) text with its greeting name and known names masked."""
    if not isinstance(text, str):
        return text
    greeting = _NORMALISED_GREETING.match(text)
    if greeting and greeting[2] not in lexicon.NOT_NAMES:
        text = greeting[1] + MASK_NAME + text[greeting.end() :]
    if names:
        words = "|".join(re.escape(name) for name in sorted(names))
        text = re.sub(rf"(?<![a-z0-9_])(?:{words})(?![a-z0-9_])", MASK_NAME, text)
    return text
