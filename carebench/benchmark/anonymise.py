"""Anonymise an analysis: customers become stable pseudonyms, personal details are masked.

One anonymiser for everything that shows or writes an analysis (CLI exports, every
dashboard page, its CSV downloads and its page address). What is masked, everywhere
(turns, conversations, template examples, exports):

- **Customer accounts.** `author_handle` and `author_id` of customer posts and
  `conversations.customer_id` become a pseudonym such as ``customer-7f3a9c``; the url and
  raw_ref of customer posts are dropped (a post's url names its author on most platforms).
- **Accounts named in text**, of any account that is not a brand account, become the
  same pseudonym: @mentions of every platform's syntax, whole (``@name_1``,
  ``@jane-doe.bsky.social``, ``@tom@mastodon.social``), Bluesky DIDs (``did:plc:...``)
  and the account in an x.com / twitter.com / bsky.app address. A DID and the handle it
  belongs to, and a Mastodon ``@tom`` and the one known ``tom@host``, get one tag
  (`account_aliases`), so a thread stays readable. Mentions of unknown third parties (a
  friend, a company not in the data) are masked too: a privacy switch fails closed.
- **Bare handles**: the handle of a conversation's customer, or of an account mentioned
  with @ in it, written without @ ("it is jane-doe.bsky.social", in a URL path) becomes
  the tag in that conversation, from `BARE_HANDLE_MIN` characters on.
- **Post and conversation ids** become ``post-3f9a0c1b5e7d2a90`` (`pseudonymise_ids`) in every
  id column, and so do post addresses in text (``at://did:.../app.bsky.feed.post/...``,
  status ids in x.com addresses): a public post id leads back to its author, and a
  Bluesky one holds the author's DID. Ids are hashed the same way everywhere, so
  threads still join and a pseudonym can be matched back to its id by whoever holds the
  data and the key (the dashboard does, to open a linked thread or pin one).
- **Names**: a first name a brand reply addresses the customer by ("Hi Sarah,", "Thanks,
  Tom!", the forms of `text_signals.addresses_by_name`, plus "Thanks for reaching out
  Sarah.") becomes ``[name]``, as a whole word, in every post of that conversation (the
  customer may sign with it too); in template examples, within the template's examples.
  A name nobody addresses ("I'm Jo Smith" in a customer's post) is not found.
- **E-mail addresses** become ``[email]`` and **phone numbers** ``[phone]``, in brand posts
  too: a reply may quote the customer's own number or address, and text cannot tell it
  from the brand's help line; the channel stays visible (``call us on [phone]``). Phone
  numbers are numbers laid out like one (see `PHONE_PATTERNS`: national and
  international forms, ten-digit North American numbers and UK mobiles unseparated);
  other plain digit runs (order and tracking numbers), dates, times and prices are left
  alone.

What stays: brand accounts, their mentions and addresses, other links (a help site), and
agents' sign-offs (``^AB``, ``-Becky``): the brands and their agents' public work are what
the benchmark is about, and the personal-touch signal reads the sign-offs.

Pseudonyms are a keyed hash (SipHash, `pandas.util.hash_array`) of the lower-cased handle
with a random key drawn once per process: stable within one analysis (and one dashboard
process), not reversible without the key, even for small id spaces such as TWCS's numeric
customer ids. 24 bits of the hash are shown: two given customers share a tag with a
chance of one in 16.8 million.

Everything is vectorised with pyarrow (RE2): tokens that need a lookup (mentions, names)
are wrapped in NUL markers by one regex pass, split out, replaced column-wise and joined
back; large inputs run as two halves in two threads. Bare handles are looked for with a
substring test per text in Python (about 1 s per million texts). 300,000 generated turns
take about 2.5 s of CPU on a busy 2-core machine.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

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
POST_TAG_DIGITS = 16

# One random key per process: pseudonyms are stable while the process lives, and nobody
# can recompute them from a handle afterwards. The dashboard swaps in its store's key
# (use_key_file), so a link copied with anonymise on still opens after a restart.
_PROCESS_SALT = secrets.token_hex(8)
KEY_FILE_SUFFIX = ".anonymise-key"

_TEXT = pd.StringDtype("pyarrow")
_MARK = "\x00"

# Group 1 is the character before the address, put back. An address glued to "@" or to a
# handle character is the host part of a Mastodon handle (@user@host.tld): the mention
# pass takes it whole, so that it gets the same tag as its author.
_EMAIL = (
    r"(^|[^A-Za-z0-9._%+@-])([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
# Cheap tests that pick the few texts a slower pattern needs to run on.
_EMAIL_HINT = r"@[A-Za-z0-9-]+\."
# (Every pattern of `PHONE_PATTERNS` has three digits, a separator and three digits, a
# plus sign and a digit, ten digits in a row, or pairs of digits.)
_PHONE_HINT = r"[0-9]{3}[ .)-]{1,2}[0-9]{3}|[+][0-9]|[0-9]{10}|[0-9]{2}(?:[ .-][0-9]{2}){3}"
# Below this many texts one thread is faster than two.
_PARALLEL_MIN_TEXTS = 50_000

# Phone numbers, as laid out by people (RE2 syntax). Numbers with separators, in national
# and international forms; and two unseparated forms that order numbers rarely take: ten
# digits that are a valid North American number (area code and exchange start with 2-9,
# so "1234567890" is not one) and eleven-digit UK mobiles (07...). Other plain digit runs
# (order and tracking numbers, case ids, epoch times) are left alone; an order number
# that happens to be a valid North American number is masked: a masked order number
# costs a reader little, a leaked phone number costs the customer more. Dates use / or .
# with one- or two-digit groups and times use :, which none of these take.
PHONE_PATTERNS: tuple[str, ...] = (
    # North American: 415-555-0132, (415) 555-0132, 415.555.0132, 1-800-555-0142, +1 ...
    r"(?:\+?1[ .-]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-]?)[0-9]{3}[ .-][0-9]{4}",
    # ... and unseparated: 4155550132
    r"[2-9][0-9]{2}[2-9][0-9]{6}",
    # International with a country code: +44 20 7946 0958, +44 (0) 2076604452, +4915112345678
    r"\+[1-9][0-9]{0,2}[ .-]?(?:\(0?[0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{2,4}){2,4}",
    # National with a trunk 0: 0345 600 7000, 07700 900123, 020 7946 0958, 0151 1234 5678,
    # 030-1234-5678, 06.12.34.56.78 (French pairs)
    r"0[1-9][0-9]{1,4}[ .-][0-9]{3,4}[ .-]?[0-9]{3,4}",
    r"0[1-9][0-9]{0,3}(?:[ .-][0-9]{2}){4}",
    r"07[0-9]{9}",
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
# An @mention: Twitter handles (@name_1), Bluesky's dotted and hyphenated handles
# (@jane-doe.bsky.social, @help.acme.example), Mastodon's @user@instance.tld. Hyphens only
# inside a label, as the platforms allow, so "@jane-" is "@jane" and a dash.
_LABEL = r"[A-Za-z0-9_]+(?:-+[A-Za-z0-9_]+)*"
_MENTION = rf"@{_LABEL}(?:[.@]{_LABEL})*"
# Bluesky's permanent account ids (did:plc:..., did:web:host) and post addresses
# (at://did:.../app.bsky.feed.post/rkey): they name the account behind a handle.
_DID = r"did:[a-z]+:[A-Za-z0-9_%-]+(?:[.:][A-Za-z0-9_%-]+)*"
_AT_URI = rf"at://(?:{_DID}|{_LABEL}(?:\.{_LABEL})*)(?:/[A-Za-z0-9._~:-]+)*"
# A post or profile address on Twitter/X or Bluesky names the account in its path, and a
# status address leads to the post.
_SOCIAL_URL = (
    rf"(?i:https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/){_LABEL}(?:/status(?:es)?/[0-9]+)?"
    rf"|(?i:https?://(?:www\.)?bsky\.app/profile/)(?:{_DID}|{_LABEL}(?:\.{_LABEL})*)"
    r"(?:/post/[A-Za-z0-9]+)?"
)
# Everything the account pass replaces, in one RE2 pass (longest forms first).
_ACCOUNT_TOKEN = f"{_SOCIAL_URL}|{_AT_URI}|{_DID}|{_MENTION}"
_ACCOUNT_HINT = r"@|did:|at://|(?i:twitter\.com/|x\.com/|bsky\.app/profile/)"
# Twitter paths that are not accounts (a brand's DM link is twitter.com/messages/...).
_NOT_ACCOUNTS = frozenset(
    ("i", "messages", "intent", "home", "search", "hashtag", "settings", "share", "explore")
)
# Bare handles (without @) are masked only from this length: shorter ones ("jo", "ab")
# are words and initials far more often than they are the customer.
BARE_HANDLE_MIN = 3

# The name forms of `text_signals.addresses_by_name`, after the @handles a reply opens
# with: "Hi Sarah,", "Thanks, Tom!"; "Colton, we're glad"; "Here to help, Rajshree."
# Spaces may be runs of whitespace (RE2 syntax, matched on the original text).
_NAME = "(?:(?i:mr|mrs|ms|miss|dr)[.]?[ ]+)?(?P<name>[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?)"
_GREETING = "(?i:" + "|".join(g.replace(" ", "[ ]+") for g in lexicon.NAME_GREETINGS) + ")"
_START = f"^(?:[ .]*{_MENTION}[ ,:;]*)*[ \t\r\n]*(?:[0-9]+(?:/[0-9]+)?[.:)]?[ ]+)?"
_NAME_FORMS: tuple[str, ...] = (
    f"{_START}{_GREETING}(?:,[ ]*|[ \t\r\n]+){_NAME}(?:[^A-Za-z0-9_'-]|$)",
    f"{_START}{_NAME},[ ]",
    f"[a-z],[ ]+{_NAME}(?:[ ][A-Z][a-z]+)?[.!?,]",
    # Beyond addresses_by_name: a name closing a thanks, "Thanks for reaching out Sarah.",
    # "This made our day Sarah!"
    f"(?i:thanks|thank you|cheers|welcome|made our day)(?:[ ]+[a-z]+){{0,3}}[ ]+{_NAME}[.!,]",
)


def key_file_for(store: str | Path) -> Path:
    """Where the dashboard keeps a store's pseudonym key: beside the store file."""
    return Path(f"{store}{KEY_FILE_SUFFIX}")


def use_key_file(path: Path) -> None:
    """Take this process's pseudonym key from `path`, made (random, owner-only) if absent.

    The key is what makes a tag impossible to recompute from an id or a handle (TWCS ids
    are 1, 2, 3, ...), so it never leaves the server: not in a URL, not in an export. A
    file that cannot be read or written leaves the random per-process key in place:
    links then last as long as the dashboard process, and nothing is ever shown in clear.
    """
    global _PROCESS_SALT
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = secrets.token_hex(8)
        try:
            # O_EXCL: two dashboards starting at once agree on the first one's key.
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            use_key_file(path)
            return
        except OSError:
            return
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(key + "\n")
    except (OSError, UnicodeError):
        return
    if re.fullmatch(r"[0-9a-f]{16}", key):
        _PROCESS_SALT = key


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
    """Post ids replaced by stable salted tags (``post-3f9a0c1b5e7d2a90``).

    All 64 bits of the hash: the tags are keys (threads join and open by them), and
    among the 2.8M posts of TWCS 32 bits would give some 900 pairs of posts one tag.
    """
    return _tags(ids, salt, prefix, POST_TAG_DIGITS)


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
    texts = replace_where(
        texts, pc.match_substring_regex(texts, _EMAIL_HINT), _EMAIL, f"\\1{MASK_EMAIL}"
    )
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


@dataclass(frozen=True)
class _Accounts:
    """How accounts named in text are tagged: which are brands (kept), and which names are
    other names of one account (a Bluesky DID and its handle; a Mastodon @user and its
    user@host), so that every way of naming a customer gets the same tag."""

    brands: frozenset[str]
    salt: str | None
    # Lower-case key -> the lower-case key its tag is computed from.
    aliases: Mapping[str, str] = field(default_factory=dict)
    # Lower-case handle -> its DID (to rebuild a Bluesky post address from a profile URL).
    dids: Mapping[str, str] = field(default_factory=dict)

    def canonical(self, keys: pd.Series) -> pd.Series:
        """Lower-case keys (no @) with aliases resolved."""
        if not self.aliases:
            return keys
        return keys.map(self.aliases).astype(_TEXT).fillna(keys)

    def tags(self, handles: pd.Series) -> pd.Series:
        """``customer-xxxxxx`` per handle or DID, aliases resolved (NA stays NA)."""
        return _tags(
            handles,
            self.salt,
            CUSTOMER_PREFIX,
            6,
            key=lambda keys: self.canonical(_handle_key(keys)),
        )

    def url(self, address: str) -> str:
        """A Twitter/X or Bluesky address with its account tagged and its post id
        pseudonymised (a brand's own addresses, and non-account paths, stay)."""
        head, _, tail = address.partition("://")
        host, _, path = tail.partition("/")
        parts = path.split("/")
        at = 1 if parts[0].lower() == "profile" else 0
        account = parts[at]
        key = account.lower()
        if (at == 0 and key in _NOT_ACCOUNTS) or self.canonical(pd.Series([key], dtype=_TEXT)).iloc[
            0
        ] in self.brands:
            return address
        parts[at] = str(self.tags(pd.Series([account], dtype=_TEXT)).iloc[0])
        if len(parts) == at + 3:
            post = parts[at + 2]
            if parts[at + 1] == "post":
                did = account if key.startswith("did:") else self.dids.get(key)
                post = f"at://{did}/app.bsky.feed.post/{post}" if did else post
            parts[at + 2] = str(pseudonymise_ids(pd.Series([post], dtype=_TEXT), self.salt)[0])
        return f"{head}://{host}/" + "/".join(parts)


# Mentions found while masking: (row positions, lower-case handles), for the bare pass.
_Found = list[tuple[np.ndarray, pd.Series]]


def _account_rule(accounts: _Accounts, found: _Found | None = None, offset: int = 0) -> TokenRule:
    """@mentions and DIDs of anything but a brand account become (@)customer-xxxxxx; post
    addresses (at://) become the post's pseudonym; social profile and post addresses
    get both. The mentions tagged are added to `found` (rows shifted by `offset`)."""

    def rule(tokens: pa.Array, rows: np.ndarray) -> pa.Array:
        codes, uniques = pd.factorize(pd.array(tokens, dtype=_TEXT))
        unique = pd.Series(uniques, dtype=_TEXT)
        out = unique.copy()
        is_mention = unique.str.startswith("@").to_numpy(dtype=bool)
        is_did = unique.str.startswith("did:").to_numpy(dtype=bool)
        is_post = unique.str.startswith("at://").to_numpy(dtype=bool)
        is_url = ~(is_mention | is_did | is_post)
        named = is_mention | is_did
        keys = _handle_key(unique[named])
        keep = accounts.canonical(keys).isin(accounts.brands).to_numpy(dtype=bool)
        tags = accounts.tags(unique[named])
        at_sign = pd.Series(np.where(is_mention[named], "@", ""), index=tags.index)
        out[named] = (at_sign + tags).where(~keep, unique[named])
        if is_post.any():
            out[is_post] = pseudonymise_ids(unique[is_post], accounts.salt)
        if is_url.any():
            out[is_url] = pd.array([accounts.url(str(u)) for u in unique[is_url]], dtype=_TEXT)
        if found is not None:
            tagged = np.zeros(len(unique), dtype=bool)
            tagged[np.flatnonzero(named)[~keep]] = True
            tagged &= is_mention
            per_token = tagged[codes]
            lowered = _handle_key(unique).to_numpy()
            found.append((rows[per_token] + offset, pd.Series(lowered[codes[per_token]])))
        return pa.array(out.astype(_TEXT)).take(pa.array(codes))

    return rule


def _mask_bare_handles(
    texts: pa.Array, row_groups: np.ndarray, handles: pd.DataFrame, accounts: _Accounts
) -> pa.Array:
    """Handles written without @ ("sarah_j", "jane-doe.bsky.social", in a brand reply, a
    signature or an address) become ``customer-xxxxxx``, where they are the handle of an
    account of the same group (its customer, or one mentioned with @ in it).

    Only handles of `BARE_HANDLE_MIN` characters or more, and never a brand's; matched
    case-insensitively as a whole handle, not inside a word, a domain or a tag.
    """
    keys = handles["key"].astype(_TEXT)
    usable = (keys.str.len() >= BARE_HANDLE_MIN) & ~accounts.canonical(keys).isin(accounts.brands)
    pairs = handles[usable.to_numpy(dtype=bool, na_value=False)].drop_duplicates()
    if pairs.empty:
        return texts
    by_group: dict[int, list[str]] = {}
    for group, key in zip(pairs["group"].tolist(), pairs["key"].tolist(), strict=True):
        by_group.setdefault(int(group), []).append(str(key))
    rows = np.flatnonzero(np.isin(row_groups, pairs["group"].to_numpy()))
    if not len(rows):
        return texts
    lowered = pc.utf8_lower(texts.take(pa.array(rows))).to_pylist()
    hit_rows: list[int] = []
    hit_keys: list[list[str]] = []
    for position, text, group in zip(
        rows.tolist(), lowered, row_groups[rows].tolist(), strict=True
    ):
        if text is None:
            continue
        present = [key for key in by_group[group] if key in text]
        if present:
            hit_rows.append(position)
            hit_keys.append(present)
    if not hit_rows:
        return texts
    distinct = sorted({key for keys_ in hit_keys for key in keys_})
    tag_of = dict(
        zip(distinct, accounts.tags(pd.Series(distinct, dtype=_TEXT)).tolist(), strict=True)
    )
    originals = texts.take(pa.array(hit_rows)).to_pylist()
    replaced = []
    for text, present in zip(originals, hit_keys, strict=True):
        words = "|".join(re.escape(key) for key in sorted(present, key=len, reverse=True))
        pattern = rf"(?<![A-Za-z0-9_@.\[-])(?:{words})(?![A-Za-z0-9_\]-]|\.[A-Za-z0-9])"
        replaced.append(re.sub(pattern, lambda m: tag_of[m[0].lower()], text, flags=re.IGNORECASE))
    selected = np.zeros(len(texts), dtype=bool)
    selected[hit_rows] = True
    return pc.replace_with_mask(
        texts, pa.array(selected), pa.array(replaced, type=pa.large_string()).cast(texts.type)
    )


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
    texts: pa.Array,
    *,
    brand_handles: frozenset[str],
    salt: str | None,
    names: _Names | None,
    accounts: _Accounts | None = None,
    handles: pd.DataFrame | None = None,
    found: _Found | None = None,
) -> pa.Array:
    """E-mails, phone numbers, non-brand accounts (@mentions, DIDs, post and profile
    addresses), (with `names`) names and (with `handles`) bare handles, masked.

    `handles` are (group, key) rows: the lower-case handles known per group (a
    conversation's customers); the handles mentioned with @ in a group are added to them,
    and to `found` when given. Large arrays are masked as two halves in two threads:
    pyarrow's kernels release the GIL, and every rule is row-local.
    """
    accounts = accounts or _Accounts(brand_handles, salt)
    mentions: _Found = []

    def in_halves(array: pa.Array, function: Callable[[pa.Array, int, int], pa.Array]) -> pa.Array:
        workers = min(2, os.cpu_count() or 1)
        if len(array) < _PARALLEL_MIN_TEXTS or workers < 2:
            return function(array, 0, len(array))
        half = len(array) // 2
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = pool.map(
                function, [array.slice(0, half), array.slice(half)], [0, half], [half, len(array)]
            )
            return pa.concat_arrays(list(parts))

    def fixed_and_accounts(part: pa.Array, lo: int, _hi: int) -> pa.Array:
        part = _mask_fixed(part)
        hint = pc.fill_null(pc.match_substring_regex(part, _ACCOUNT_HINT), False)
        named = np.flatnonzero(hint.to_numpy(zero_copy_only=False))
        return _replace_tokens(part, named, _ACCOUNT_TOKEN, _account_rule(accounts, mentions, lo))

    masked = in_halves(texts, fixed_and_accounts)
    if found is not None:
        found.extend(mentions)
    if names is None:
        return masked
    # Bare handles before names: "jane-doe.bsky.social" goes whole, not as "[name].bsky...".
    if handles is not None:
        mentioned = [
            pd.DataFrame({"group": names.row_groups[rows], "key": keys.to_numpy()})
            for rows, keys in mentions
        ]
        known = pd.concat([handles, *mentioned], ignore_index=True)
        masked = _mask_bare_handles(masked, names.row_groups, known, accounts)
    if not len(names.pairs):
        return masked

    def names_of(part: pa.Array, lo: int, hi: int) -> pa.Array:
        return _mask_names(part, replace(names, row_groups=names.row_groups[lo:hi]))

    return in_halves(masked, names_of)


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
    handles: pd.Series | None = None,
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
        group is masked in every text of that group, and so is a handle written without
        @ that is the handle of the group's customer or mentioned with @ in the group.
        Default: each text is its own group.
    name_sources : pd.Series of bool, optional
        Which texts to read addressed names from (the brand replies). Default: all.
    handles : pd.Series, optional
        A customer handle per text (its author's; missing for brand posts): the group's
        known handles, masked where written without @ too.

    Returns
    -------
    pd.Series
        dtype ``string``, same index: e-mails -> ``[email]``, phone numbers ->
        ``[phone]``, @mentions, DIDs and profile addresses of non-brand accounts ->
        ``@customer-xxxxxx`` / ``customer-xxxxxx``, post addresses (``at://...``) ->
        ``post-xxxxxxxx``, addressed first names -> ``[name]``, the group's customer
        handles written without @ -> ``customer-xxxxxx``.
    """
    brands = frozenset(_handle_key(pd.Series(list(brand_handles), dtype=_TEXT)).dropna())
    group_codes = (
        pd.Series(np.arange(len(texts)), index=texts.index)
        if groups is None
        else pd.Series(pd.factorize(groups.astype(_TEXT))[0], index=texts.index)
    )
    sources = texts if name_sources is None else texts[name_sources.to_numpy(dtype=bool)]
    names = _names(group_codes, addressed_names(sources))
    known = _known_handles(group_codes, handles)
    masked = _mask_array(
        _to_arrow(texts), brand_handles=brands, salt=salt, names=names, handles=known
    )
    return _to_series(masked, texts.index)


def _known_handles(group_codes: pd.Series, handles: pd.Series | None) -> pd.DataFrame:
    """(group, lower-case handle) rows for the bare-handle pass."""
    if handles is None:
        return pd.DataFrame({"group": np.array([], dtype=np.int64), "key": pd.array([], _TEXT)})
    keys = _handle_key(handles)
    present = keys.notna().to_numpy(dtype=bool)
    return pd.DataFrame(
        {
            "group": group_codes.to_numpy(np.int64)[present],
            "key": keys[present].to_numpy(),
        }
    ).drop_duplicates()


# -- the analysis ---------------------------------------------------------------------


def brand_handles_of(analysis: Analysis) -> frozenset[str]:
    """Every brand account and brand name the analysis knows, lower-case.

    A Mastodon brand account ``help@acme.example`` is also known as ``help``: that is how
    mentions of it read on its home instance.
    """
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
    handles = _handle_key(pd.concat(distinct, ignore_index=True)).dropna()
    local = handles[handles.str.contains("@", regex=False)].str.split("@").str[0]
    return frozenset(pd.concat([handles, local]).unique().tolist())


def account_aliases(turns: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    """Other names of customer accounts, so each gets its handle's tag.

    Returns ``(aliases, dids)``: aliases map a lower-case DID to its handle, and a
    Mastodon local name (``tom``) to the one known ``tom@host`` with that name (when it
    is neither ambiguous nor itself a known handle); dids map a handle to its DID.
    """
    customer = turns.loc[
        (turns["author_role"] != "brand").to_numpy(dtype=bool, na_value=True),
        ["author_id", "author_handle"],
    ].drop_duplicates()
    pairs = pd.DataFrame(
        {
            "id": _handle_key(customer["author_id"]).to_numpy(),
            "handle": _handle_key(customer["author_handle"]).to_numpy(),
        }
    ).dropna()
    with_did = pairs[pairs["id"].str.startswith("did:").to_numpy(dtype=bool)].drop_duplicates()
    aliases = dict(zip(with_did["id"], with_did["handle"], strict=True))
    dids = dict(zip(with_did["handle"], with_did["id"], strict=True))
    handles = pd.Series(pairs["handle"].unique(), dtype=_TEXT)
    full = handles[handles.str.contains("@", regex=False).to_numpy(dtype=bool)]
    local = full.str.split("@").str[0]
    unique_local = ~local.duplicated(keep=False) & ~local.isin(set(handles))
    aliases.update(zip(local[unique_local], full[unique_local], strict=True))
    return aliases, dids


# Columns holding a post id, per frame of an analysis: every one is pseudonymised.
_TURN_ID_COLUMNS: tuple[str, ...] = ("post_id", "parent_id", "conversation_id", "answered_post_id")


def anonymise_analysis(analysis: Analysis, *, salt: str | None = None) -> Analysis:
    """The analysis with customers pseudonymised and personal details masked (see module doc).

    Figures do not change: only identifying columns and texts are rewritten, every row
    and every signal column stays as it was. Post and conversation ids become
    ``post-xxxxxxxx`` (`pseudonymise_ids`, the same tags as in anonymised exports and as
    the post addresses in texts), in every column, so threads still join.
    """
    brands = brand_handles_of(analysis)
    turns = analysis.turns.copy()
    conversations = analysis.conversations.copy()
    aliases, dids = account_aliases(turns)
    accounts = _Accounts(brands, salt, aliases, dids)

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
    customer = ~is_brand
    names = _names(turn_codes, addressed_names(turns.loc[is_brand, "text"]))

    author_key = turns["author_handle"].astype(_TEXT).fillna(turns["author_id"].astype(_TEXT))
    known = _known_handles(turn_codes, author_key.where(customer))
    found: _Found = []
    masked = _mask_array(
        _to_arrow(turns["text"]),
        brand_handles=brands,
        salt=salt,
        names=names,
        accounts=accounts,
        handles=known,
        found=found,
    )
    turns["text"] = _to_series(masked, turns.index)
    # Customer accounts: one tag per customer, from the handle (what mentions use).
    is_root = (turns["post_id"].astype(_TEXT) == turns["conversation_id"].astype(_TEXT)).to_numpy(
        dtype=bool, na_value=False
    )
    if "root_text" in conversations:
        # A conversation's first post is its root turn: reuse that turn's masked text
        # (the same groups, names and handles), and mask only first posts that differ.
        n_groups = codes.max() + 1 if len(codes) else 0
        raw_root = pd.Series(pd.NA, index=np.arange(n_groups), dtype=_TEXT)
        masked_root = raw_root.copy()
        root_codes = turn_codes.to_numpy()[is_root]
        raw_root.iloc[root_codes] = analysis.turns["text"].astype(_TEXT).to_numpy()[is_root]
        masked_root.iloc[root_codes] = turns["text"].to_numpy()[is_root]
        root_text = conversations["root_text"].astype(_TEXT)
        same = (root_text.to_numpy() == raw_root.iloc[conv_codes].to_numpy()).astype(bool)
        same &= root_text.notna().to_numpy()
        out = pd.Series(masked_root.iloc[conv_codes].to_numpy(), index=conversations.index)
        if (~same).any():
            # The handles mentioned anywhere in the thread are known for its first post too.
            mentioned = [
                pd.DataFrame({"group": turn_codes.to_numpy()[rows], "key": keys.to_numpy()})
                for rows, keys in found
            ]
            rest = conversations.index[~same]
            masked = _mask_array(
                _to_arrow(root_text.loc[rest]),
                brand_handles=brands,
                salt=salt,
                names=replace(names, row_groups=conv_codes[~same].astype(np.int64)),
                accounts=accounts,
                handles=pd.concat([known, *mentioned], ignore_index=True),
            )
            out.loc[rest] = _to_series(masked, rest).to_numpy()
        conversations["root_text"] = out.astype(_TEXT)

    tags = accounts.tags(author_key.where(customer))
    for column in ("author_handle", "author_id"):
        turns[column] = tags.where(customer, turns[column].astype(_TEXT))
    for column in ("url", "raw_ref"):
        if column in turns:
            turns[column] = turns[column].astype(_TEXT).mask(customer)
    # The conversation's customer is its root's author: the same tag as in the thread.
    root_tag = pd.Series(pd.NA, index=np.arange(codes.max() + 1 if len(codes) else 0), dtype=_TEXT)
    root_tag.iloc[turn_codes.to_numpy()[is_root & customer]] = tags[is_root & customer].to_numpy()
    by_root = pd.Series(root_tag.iloc[conv_codes].to_numpy(), index=conversations.index)
    fallback = accounts.tags(conversations["customer_id"])
    conversations["customer_id"] = by_root.astype(_TEXT).fillna(fallback)

    _pseudonymise_id_columns(
        [(turns, c) for c in _TURN_ID_COLUMNS] + [(conversations, c) for c in POST_ID_COLUMNS],
        salt,
    )
    return replace(
        analysis,
        turns=turns,
        conversations=conversations,
        templates=anonymise_templates(analysis.templates, brands, salt),
    )


def _pseudonymise_id_columns(columns: list[tuple[pd.DataFrame, str]], salt: str | None) -> None:
    """`pseudonymise_ids` over several columns at once (each distinct id hashed once),
    written back in place."""
    present = [(frame, column) for frame, column in columns if column in frame]
    if not present:
        return
    values = pd.concat(
        [frame[column].astype(_TEXT) for frame, column in present], ignore_index=True
    )
    # Kept as one arrow array and sliced: no Python string per id.
    tags = as_arrow(pseudonymise_ids(values, salt).astype(_TEXT))
    start = 0
    for frame, column in present:
        part = tags.slice(start, len(frame))
        frame[column] = pd.Series(pd.array(part, dtype=_TEXT), index=frame.index)
        start += len(frame)


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
