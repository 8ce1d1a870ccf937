"""Templated replies: brand posts that repeat one text with small fills (METRICS.md).

The detector never compares all pairs of posts, so it scales to millions of brand posts:

1. every post is normalised (`normalise_text`) with vectorised RE2 passes (pyarrow);
2. identical (brand, normalised text) pairs collapse into one node with a post count;
3. texts of >= `short_post_words` words get word 3-gram shingles; those that could reach the
   Jaccard threshold with another text of their brand (an exact pre-filter) get a MinHash
   signature and LSH buckets; candidate pairs that agree on too few MinHash values are
   dropped and every other one is verified with the exact Jaccard;
4. templates are the connected components of the verified near-duplicate graph that hold
   >= `min_group_size` posts.

Everything is deterministic and content-based (fixed seeds, hashes of the text itself):
row order and other brands' posts never change which of a brand's posts are templated.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from carebench.benchmark.arrow_text import as_arrow, replace_where, string_buffers
from carebench.benchmark.lexicon import SIGNOFF_PATTERN
from carebench.benchmark.memory import release_freed_memory
from carebench.benchmark.runs import first_of_runs, place_in_runs
from carebench.errors import CareBenchError


@dataclass(frozen=True)
class TemplateSettings:
    """The thresholds of METRICS.md's "Templated replies", with its defaults."""

    # A group of near-duplicate posts is a template from this many posts.
    min_group_size: int = 3
    # Posts of >= short_post_words words are near-duplicates at this Jaccard or more.
    jaccard_threshold: float = 0.7
    # Posts under this many (normalised) words only match identical normalised text.
    short_post_words: int = 6
    # Shingles are runs of this many words.
    shingle_words: int = 3

    def __post_init__(self) -> None:
        """Refuse settings under which the definition means nothing."""
        if self.min_group_size < 1:
            raise ValueError(f"min_group_size must be >= 1, not {self.min_group_size}")
        if not 0.0 < self.jaccard_threshold <= 1.0:
            raise ValueError(f"jaccard_threshold must be in (0, 1], not {self.jaccard_threshold}")
        if self.shingle_words < 1:
            raise ValueError(f"shingle_words must be >= 1, not {self.shingle_words}")
        if self.short_post_words < 0:
            raise ValueError(f"short_post_words must be >= 0, not {self.short_post_words}")


# The threads the template search may use (an integer >= 1; default 2). A process that
# shares its cores with others (a Spark executor running several tasks) sets it to the
# cores each task has, so tasks do not oversubscribe them. Results never depend on it.
THREADS_ENV_VAR = "CAREBENCH_THREADS"


def search_threads() -> int:
    """The template search's thread count: $CAREBENCH_THREADS, else 2."""
    value = os.environ.get(THREADS_ENV_VAR, "").strip()
    if not value:
        return 2
    if not value.isdigit() or int(value) < 1:
        raise CareBenchError(
            f"{THREADS_ENV_VAR} must be a whole number of threads (1 or more), not {value!r}."
        )
    return int(value)


TOP_TEMPLATE_COLUMNS: tuple[str, ...] = (
    "brand",
    "template_id",
    "posts",
    "share",
    "normalised",
    "examples",
)

# --- Normalisation ------------------------------------------------------------------------
# The patterns are RE2 (pyarrow) so 1M posts normalise in C++ without Python per row:
# no lookarounds, and Unicode classes (\pL letters, \pN numbers, \pM marks) spelled out
# because RE2's \w and \d are ASCII-only. Masks are words wrapped in `_` (`_url_`), so they
# survive punctuation folding and read well in the dashboard.
_EMOJI = (
    r"[\x{1F000}-\x{1FAFF}\x{2300}-\x{23FF}\x{2600}-\x{27BF}\x{2B00}-\x{2BFF}"
    r"\x{FE0F}\x{200D}\x{20E3}\x{E0020}-\x{E007F}]"
)
# Runs of emoji (spaces between them included) fold to one mask.
_EMOJI_RUN = _EMOJI + r"(?:[ \t]*" + _EMOJI + r")*"
# Curly and modifier apostrophes become the ASCII one, so "we’ll" == "we'll".
_APOSTROPHES = r"[\x{2018}\x{2019}\x{201B}\x{02BC}\x{00B4}]"
_URL = r"https?://\S+"
_WWW = r"www\.\S+"
_EMAIL = r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+"
# Cheap test for rows that may hold an e-mail address: it starts with a literal `@`,
# which RE2 finds with memchr, unlike _EMAIL that can start anywhere.
_EMAIL_HINT = r"@[a-z0-9\-]+\.[a-z0-9]"
# A run of @handles (a reply to several people) is one fill, so it is one mask.
_HANDLES = r"@[a-z0-9_]+(?:\s*@[a-z0-9_]+)*"
# Numbers and order / ticket / booking codes are one mask, as a brand fills one slot with
# either ("order 12345", "order #A12345"): a word with a digit, continued through the
# separators of phone numbers, dates, times and prices ("1-800-769-2555", "+44 20 7946
# 0958", "jkpy2t", "5pm").
_NUMBER = r"[\pL\pN_]*\pN(?:[\pL\pN_]|[.,:/\- ]\pN)*"
# Punctuation, symbols, HTML entities (&amp;) and whitespace other than one plain space fold
# into one space; an apostrophe survives only inside a word ("don't"). Single spaces are
# left alone on purpose: rewriting every space made this pass 3x slower.
_ENTITY = r"&(?:[a-z]{2,8}|#[0-9]{1,7}|#x[0-9a-f]{1,6});"
_NON_WORD = r"(?:" + _ENTITY + r"|[^\pL\pN\pM_'])"
_NON_WORD_NOT_SPACE = r"(?:" + _ENTITY + r"|[^\pL\pN\pM_' ])"
_PUNCTUATION_RUN = (
    _NON_WORD_NOT_SPACE + r"(?:" + _NON_WORD + r"|')*"
    r"|[ ](?:" + _NON_WORD + r"|')+"
    r"|'+(?:" + _NON_WORD + r"|')*(?:" + _NON_WORD + r"|$)"
    r"|^'+"
)
# The sign-off without its capturing group: the mask keeps no part of it, and RE2 replaces
# 3x faster when it need not track a group (300 -> 90 ms per 400k brand posts).
_SIGNOFF = SIGNOFF_PATTERN.replace("([A-Z]", "(?:[A-Z]", 1)
assert _SIGNOFF != SIGNOFF_PATTERN
# Below this many texts one thread is faster than two.
_PARALLEL_MIN_TEXTS = 50_000
# Texts normalised at a time (see `_normalise_array`).
_NORMALISE_CHUNK = 100_000


def normalise_text(texts: pd.Series) -> pd.Series:
    """Normalise post texts for template matching, vectorised; <NA> stays <NA>.

    Parameters
    ----------
    texts : pd.Series
        Post texts (any string-like dtype, any index).

    Returns
    -------
    pd.Series
        A ``string`` Series on the same index. In order: runs of emoji become ``_emoji_``
        and curly apostrophes ``'``; an agent sign-off at the end
        (``lexicon.SIGNOFF_PATTERN``, case-sensitive, with any links after it) becomes
        ``_sig_``; the text is lower-cased; URLs become ``_url_``, e-mail addresses
        ``_email_``, a run of @handles ``_user_``, and numbers and order / ticket codes
        (any word with a digit, through ``.,:/-`` and space separators) ``_num_``; every run of
        punctuation, symbols, HTML entities and whitespace becomes one space (an apostrophe
        is kept only inside a word); leading and trailing spaces are dropped.
    """
    # Chunks combined: Arrow-backed text read from parquet or DuckDB can come in several.
    normalised = _normalise_array(as_arrow(texts.astype("string[pyarrow]")))
    return pd.Series(
        pd.arrays.ArrowStringArray(pa.chunked_array([normalised]).cast(pa.large_string())),
        index=texts.index,
        name=texts.name,
    )


def _normalise_array(array: pa.Array) -> pa.Array:
    """Normalise an arrow string array, in two threads when it is large.

    Every pass makes a new copy of the texts, so they go through in chunks: the copies
    then cost the memory of two chunks, not of the whole array (each text is normalised
    on its own, so chunks change nothing).
    """
    workers = min(search_threads(), os.cpu_count() or 1)
    if len(array) < _PARALLEL_MIN_TEXTS or workers < 2:
        return _normalise_chunk(array)
    chunks = [array.slice(at, _NORMALISE_CHUNK) for at in range(0, len(array), _NORMALISE_CHUNK)]
    # pyarrow's kernels release the GIL, so two chunks run at a time on two cores.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(_normalise_chunk, chunks))
    return pa.concat_arrays(parts)


def _normalise_chunk(array: pa.Array) -> pa.Array:
    """The normalisation passes of `normalise_text` on one arrow string array."""
    # Imported here: numba takes ~0.2 s to load, which commands that never look for
    # templates should not pay.
    from carebench.benchmark.text_kernels import fold_punctuation

    array = pc.utf8_trim_whitespace(array)
    # Emoji and curly quotes are never ASCII; rewriting only the few non-ASCII texts is 8x
    # faster than running those two patterns over everything.
    non_ascii = pc.invert(pc.string_is_ascii(array))
    array = replace_where(array, non_ascii, _EMOJI_RUN, " _emoji_ ")
    array = replace_where(array, non_ascii, _APOSTROPHES, "'")
    # Emoji first so a sign-off glued to emoji ("👏👏-Rad") is preceded by a space.
    array = pc.replace_substring_regex(array, pattern=_SIGNOFF, replacement=" _sig_")
    array = pc.utf8_lower(array)
    array = pc.replace_substring_regex(array, pattern=_URL, replacement=" _url_ ")
    # RE2 finds the literal 3x faster than `pc.match_substring` does.
    array = replace_where(array, pc.match_substring_regex(array, "www[.]"), _WWW, " _url_ ")
    hint = pc.match_substring_regex(array, _EMAIL_HINT)
    array = replace_where(array, hint, _EMAIL, " _email_ ")
    array = pc.replace_substring_regex(array, pattern=_HANDLES, replacement=" _user_ ")
    array = pc.replace_substring_regex(array, pattern=_NUMBER, replacement=" _num_ ")
    # The punctuation pass and the trim, compiled: RE2 pays per match, and this pattern
    # matches nearly every punctuation mark (0.45 s -> 0.12 s per 400k brand posts).
    return fold_punctuation(array)


# --- Near-duplicate search ------------------------------------------------------------------
# LSH banding: MinHash signatures of _BANDS * _ROWS values; two texts are candidates when all
# _ROWS values of any band agree. A pair at Jaccard J collides with probability
# 1 - (1 - J**_ROWS) ** _BANDS: with 20 bands of 4 rows that is 0.996 at J = 0.7, 0.9995 at
# J = 0.75, 0.99997 at J = 0.8, and 0.72 at J = 0.5 / 0.15 at J = 0.3 (false candidates the
# exact check drops). On the real TWCS brand replies 99.94% of the pairs at >= 0.7 collided
# and 99.96% ended in the same group as with an exact all-pairs search: a group's members
# are usually linked by several pairs, so a whole group is missed even less often.
_BANDS = 20
_ROWS = 4
_SEED = 20_171_031
# Before the exact check, a candidate pair must agree on at least this share of its MinHash
# values (compared by their low byte: a chance match only keeps a pair). Agreement is
# Binomial(80, J): a pair at J = 0.7 falls under 0.55 with probability 0.0016 (at 0.75,
# 3e-5), while the many LSH candidates at J = 0.35-0.65 (common phrasing, no template)
# mostly stop here. On 2.8M generated posts this left 5.0M exact checks (12.8M at 0.45),
# cut the detector from 30 s to 26 s, and changed 23 of its 670k templated posts: a
# group's members are linked by many pairs, so a lost pair rarely loses a post.
_MIN_AGREEMENT = 0.55
# pandas' key for hashing text (`pandas.util.hash_array`), as two little-endian words.
_PANDAS_HASH_KEY = np.frombuffer(b"0123456789123456", dtype="<u8").copy()
# Anchors per LSH bucket (see `_verify_buckets`).
_ANCHORS = 16
# The pre-filter's count table per brand has at most 2**this slots.
_MAX_TABLE_BITS = 24


@dataclass(frozen=True)
class TemplateSearch:
    """What one search finds (`search_templates`).

    ids: each post's template id or <NA> (what `find_templates` returns).
    normalised: indexed by template id, the template's most frequent normalised text
    (ties: the smallest), as `top_templates` shows it.
    """

    ids: pd.Series
    normalised: pd.Series


def find_templates(
    posts: pd.DataFrame, settings: TemplateSettings = TemplateSettings()
) -> pd.Series:
    """The template each brand post belongs to, or <NA> when it is not templated.

    Parameters
    ----------
    posts : pd.DataFrame
        Brand posts with columns ``brand``, ``post_id`` and ``text`` (any index). Posts
        without a brand or whose normalised text is empty are never templated.
    settings : TemplateSettings
        ``min_group_size``, ``jaccard_threshold``, ``short_post_words``, ``shingle_words``.

    Returns
    -------
    pd.Series
        A ``string`` Series aligned on ``posts.index``: the template id, ``"{brand}#{n}"``,
        or <NA>. Two posts of the same brand are near-duplicates when their normalised
        texts (`normalise_text`) are identical, or when both have >= ``short_post_words``
        words and the Jaccard similarity of their sets of ``shingle_words``-word shingles
        is >= ``jaccard_threshold`` (posts under ``short_post_words`` words match only an
        identical text). Groups are the connected components of this near-duplicate
        graph, so A~B and B~C put A, B and C in one group even when A and C differ more.
        A group of >= ``min_group_size`` posts is a template. Groups never cross brands.
        Templates are numbered per brand from 1 by size (posts) descending, then by their
        smallest normalised text (code-point order). Candidate pairs come from MinHash LSH
        (0.994 of the pairs at Jaccard 0.7 are found, more above); candidates whose
        MinHash values mostly disagree are dropped, and every remaining one is checked
        with the exact Jaccard, so no pair under the threshold is ever linked.
        Words are those of the normalised text, masks included. Deterministic: row order
        and other brands' posts never change which of a brand's posts are templated.
    """
    return search_templates(posts, settings).ids


def search_templates(
    posts: pd.DataFrame, settings: TemplateSettings = TemplateSettings()
) -> TemplateSearch:
    """`find_templates`, with each template's most frequent normalised text.

    The search already knows how many posts share each normalised text, so it finds that
    text from its counts and normalises one post per template, where `top_templates`
    alone would normalise every post of the templates it shows again.
    """
    _check_columns(posts, "find_templates")
    result = pd.Series(pd.NA, index=posts.index, dtype="string", name="template_id")
    none = TemplateSearch(ids=result, normalised=pd.Series(dtype="string"))
    if posts.empty:
        return none

    brand = posts["brand"].astype("string")
    normalised = pa.array(normalise_text(posts["text"]))
    release_freed_memory()
    usable = brand.notna().to_numpy() & pc.fill_null(pc.utf8_length(normalised), 0).to_numpy(
        zero_copy_only=False
    ).astype(bool)
    if not usable.any():
        return none
    rows = np.flatnonzero(usable)
    brand_codes, brand_names = pd.factorize(brand.iloc[rows], sort=True)
    # Most brand posts are usable: then the normalised texts are used as they are, not copied.
    texts = normalised if len(rows) == len(normalised) else normalised.take(pa.array(rows))
    del normalised

    # One node per distinct (brand, normalised text), ordered by brand then text.
    text_codes, unique_texts = _sorted_codes(texts)
    del texts
    node_keys, post_node = np.unique(
        brand_codes.astype(np.int64) * len(unique_texts) + text_codes, return_inverse=True
    )
    node_brand = node_keys // len(unique_texts)
    node_text = node_keys % len(unique_texts)
    node_posts = np.bincount(post_node, minlength=len(node_keys))

    shingled = _shingled_nodes(unique_texts, node_text, node_brand, brand_names, settings)
    # Texts are not read again: the search works on shingle sets (0.3 GB less while it runs).
    del unique_texts
    release_freed_memory()
    edges = _near_duplicate_edges(shingled, node_posts, settings)
    release_freed_memory()  # the search's working arrays
    graph = sparse.coo_matrix(
        (np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])),
        shape=(len(node_keys), len(node_keys)),
    )
    _, labels = connected_components(graph, directed=False)

    group_posts = np.bincount(labels, weights=node_posts).astype(np.int64)
    # Nodes are sorted by (brand, text), so a group's first node is its smallest text.
    group_first = np.full(len(group_posts), len(node_keys), dtype=np.int64)
    np.minimum.at(group_first, labels, np.arange(len(node_keys)))
    templated = np.flatnonzero(group_posts >= settings.min_group_size)
    group_brand = node_brand[group_first[templated]]
    order = np.lexsort((group_first[templated], -group_posts[templated], group_brand))
    ranked = templated[order]
    ranked_brand = group_brand[order]
    number = place_in_runs(ranked_brand) + 1

    group_id = np.full(len(group_posts), None, dtype=object)
    group_id[ranked] = [
        f"{brand_names[b]}#{n}" for b, n in zip(ranked_brand.tolist(), number.tolist(), strict=True)
    ]
    ids = pd.array(group_id[labels[post_node]], dtype="string")
    result.iloc[rows] = ids

    # A template's most frequent normalised text is that of its node with the most posts
    # (ties: the first node, the smallest text); any post of that node has it.
    in_template = np.flatnonzero(group_posts[labels] >= settings.min_group_size)
    by_count = in_template[np.lexsort((in_template, -node_posts[in_template], labels[in_template]))]
    top_node = by_count[first_of_runs(labels[by_count])]
    post_of_node = np.empty(len(node_keys), dtype=np.int64)
    post_of_node[post_node] = np.arange(len(post_node))
    texts_of_top = posts["text"].iloc[rows[post_of_node[top_node]]]
    normalised_top = pd.Series(
        normalise_text(texts_of_top).array,
        index=pd.Index(group_id[labels[top_node]], dtype="string", name="template_id"),
        name="normalised",
    )
    return TemplateSearch(ids=result, normalised=normalised_top)


def templated_ratio(posts: pd.DataFrame, template_ids: pd.Series) -> pd.Series:
    """Per brand, the share of its posts that are in a template (0..1).

    Parameters
    ----------
    posts : pd.DataFrame
        Brand posts with a ``brand`` column.
    template_ids : pd.Series
        `find_templates` of ``posts`` (aligned on its index).

    Returns
    -------
    pd.Series
        Float Series indexed by brand, named ``templated_ratio``: brand posts in a
        template / brand posts. Brands without posts are absent.
    """
    frame = pd.DataFrame(
        {"brand": posts["brand"], "templated": _aligned(template_ids, posts).notna()}
    )
    ratio = frame.groupby("brand", sort=True)["templated"].mean().astype(float)
    return ratio.rename("templated_ratio")


def top_templates(
    posts: pd.DataFrame,
    template_ids: pd.Series,
    n: int = 10,
    examples: int = 3,
    normalised: pd.Series | None = None,
) -> pd.DataFrame:
    """Each brand's `n` largest templates with counts, share and real examples.

    Parameters
    ----------
    posts : pd.DataFrame
        The brand posts given to `find_templates` (columns ``brand``, ``post_id``,
        ``text``).
    template_ids : pd.Series
        `find_templates` of ``posts`` (aligned on its index).
    n : int
        Templates kept per brand, largest first (ties: template number).
    examples : int
        Original texts kept per template.
    normalised : pd.Series, optional
        `search_templates(posts).normalised` of the search that gave ``template_ids``:
        spares normalising the templates' posts again. Computed when not given.

    Returns
    -------
    pd.DataFrame
        One row per (brand, template_id), brands in order, with ``posts`` (posts in the
        template), ``share`` (of all the brand's posts, 0..1), ``normalised`` (the
        template's most frequent normalised text; ties: the smallest) and
        ``examples`` (a list of up to `examples` distinct original texts, in post_id
        order, numeric ids numerically).
    """
    _check_columns(posts, "top_templates")
    ids = _aligned(template_ids, posts).astype("string")
    brand_posts = posts.groupby(posts["brand"].astype("string"), sort=True).size()
    mask = ids.notna().to_numpy()
    if not mask.any() or n <= 0:
        return _empty_top_templates()

    # Templates are ranked first, from their post counts alone; only the posts of the
    # chosen ones are then read (their texts stay in Arrow: no Python str per post).
    codes, names = pd.factorize(ids[mask])
    brands = posts.loc[mask, "brand"].astype("string").to_numpy(dtype=object)
    first_post = np.full(len(names), len(codes), dtype=np.int64)
    np.minimum.at(first_post, codes, np.arange(len(codes)))
    sizes = pd.DataFrame(
        {
            "brand": brands[first_post],
            "template_id": np.asarray(names, dtype=object),
            "posts": np.bincount(codes, minlength=len(names)),
            "code": np.arange(len(names)),
        }
    )
    sizes["number"] = (
        sizes["template_id"].str.rsplit("#", n=1).str[-1].astype("Int64").fillna(0).astype(int)
    )
    sizes = sizes.sort_values(
        ["brand", "posts", "number", "template_id"], ascending=[True, False, True, True]
    )
    sizes = sizes.groupby("brand", sort=False).head(n)

    rows = np.flatnonzero(np.isin(codes, sizes["code"].to_numpy()))
    template = codes[rows]
    at = pa.array(np.flatnonzero(mask)[rows])
    texts = as_arrow(posts["text"].astype("string")).take(at)
    post_ids = as_arrow(posts["post_id"].astype("string")).take(at)
    if normalised is None:
        normalised_texts = normalise_text(pd.Series(pd.arrays.ArrowStringArray(texts)))
        most_common = _most_common(
            template, pa.array(normalised_texts.array), sizes["code"].to_numpy()
        )
    else:
        most_common = pd.Series(normalised.reindex(sizes["template_id"]).array, dtype="string")
    table = sizes.merge(
        pd.DataFrame(
            {
                "code": sizes["code"].to_numpy(),
                "normalised": most_common,
                "examples": _first_distinct(template, texts, post_ids, sizes["code"], examples),
            }
        ),
        on="code",
    )
    table["share"] = table["posts"] / table["brand"].map(brand_posts).astype(float)
    table["posts"] = table["posts"].astype(np.int64)
    table = table.sort_values(["brand", "posts", "number"], ascending=[True, False, True])
    return table.loc[:, list(TOP_TEMPLATE_COLUMNS)].reset_index(drop=True)


def _most_common(template: np.ndarray, values: pa.Array, wanted: np.ndarray) -> pd.Series:
    """For each wanted template code, its most frequent value (ties: the smallest)."""
    value_codes, uniques = pd.factorize(pd.Series(pd.arrays.ArrowStringArray(values)))
    keys, counts = np.unique(
        template.astype(np.int64) * len(uniques) + value_codes, return_counts=True
    )
    frame = pd.DataFrame(
        {
            "code": keys // len(uniques),
            "count": counts,
            "value": np.asarray(uniques, dtype=object)[keys % len(uniques)],
        }
    )
    # Only the values that reach their template's top count are compared as strings.
    top = frame[frame["count"] == frame.groupby("code")["count"].transform("max")]
    best = top.sort_values(["code", "value"]).drop_duplicates("code").set_index("code")
    return pd.Series(best["value"].reindex(wanted).to_numpy(), dtype="string")


def _first_distinct(
    template: np.ndarray, texts: pa.Array, post_ids: pa.Array, wanted: pd.Series, count: int
) -> list[list[str]]:
    """For each wanted template code, its first `count` distinct texts in post id order.

    Post ids sort by length, then as text, so numeric ids sort as numbers; the text
    breaks a tie (one post id on two platforms).
    """
    id_rank = pc.rank(post_ids, tiebreaker="dense").to_numpy()
    text_codes, _ = pd.factorize(pd.Series(pd.arrays.ArrowStringArray(texts)))
    id_length = pc.utf8_length(post_ids).to_numpy(zero_copy_only=False)
    keys = [id_rank, id_length, template]
    order = np.lexsort(keys)
    tied = (np.diff(template[order]) == 0) & (np.diff(id_length[order]) == 0)
    if (tied & (np.diff(id_rank[order]) == 0)).any():
        keys.insert(0, pc.rank(texts, tiebreaker="dense").to_numpy())
        order = np.lexsort(keys)
    # The first post of each (template, text), in that order; then a template's first few.
    pair = template[order].astype(np.int64) * (text_codes.max(initial=0) + 1) + text_codes[order]
    firsts = np.sort(np.unique(pair, return_index=True)[1])
    kept = order[firsts]
    kept = kept[place_in_runs(template[kept]) < count]
    found: dict[int, list[str]] = {int(code): [] for code in wanted}
    for code, text in zip(
        template[kept].tolist(), texts.take(pa.array(kept)).to_pylist(), strict=True
    ):
        found[code].append(text)
    return [found[int(code)] for code in wanted]


def _aligned(template_ids: pd.Series, posts: pd.DataFrame) -> pd.Series:
    """`template_ids` in the row order of `posts` (as `find_templates` returns them)."""
    if template_ids.index.equals(posts.index):
        return template_ids
    return template_ids.reindex(posts.index)


def _empty_top_templates() -> pd.DataFrame:
    """`top_templates` with no rows, with its columns and dtypes."""
    return pd.DataFrame(
        {
            "brand": pd.Series(dtype="string"),
            "template_id": pd.Series(dtype="string"),
            "posts": pd.Series(dtype=np.int64),
            "share": pd.Series(dtype=float),
            "normalised": pd.Series(dtype="string"),
            "examples": pd.Series(dtype=object),
        }
    )


def _check_columns(posts: pd.DataFrame, caller: str) -> None:
    """Raise a clear error when the posts frame lacks a column the detector needs."""
    missing = [column for column in ("brand", "post_id", "text") if column not in posts.columns]
    if missing:
        raise ValueError(
            f"{caller} needs a posts frame with columns brand, post_id and text; missing: "
            f"{', '.join(missing)}. Build it from the brand's posts (see scoring.analyse)."
        )


def _sorted_codes(texts: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Codes of each text in its sorted distinct values, and those sorted distinct values."""
    encoded = pc.dictionary_encode(texts)
    dictionary = encoded.dictionary
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    return codes, dictionary.take(pa.array(order))


@dataclass(frozen=True)
class _Shingled:
    """The nodes worth searching (rows of `shingles`) and their shingle sets."""

    nodes: np.ndarray
    shingles: sparse.csr_matrix
    shingle_hashes: np.ndarray


def _shingled_nodes(
    texts: pa.Array,
    node_text: np.ndarray,
    node_brand: np.ndarray,
    brand_names: pd.Index,
    settings: TemplateSettings,
) -> _Shingled | None:
    """The shingle sets of the nodes that could have a near-duplicate (None if < 2).

    Identical texts are already one node and short texts only match identical text, so
    only nodes whose text has >= max(short_post_words, shingle_words) words count.
    """
    threshold = settings.jaccard_threshold
    from carebench.benchmark.text_kernels import byte_counts  # see `_minhash`

    # Normalised text has single spaces between words and none at the ends.
    words = byte_counts(texts, ord(" ")) + 1
    min_words = max(settings.short_post_words, settings.shingle_words)
    nodes = np.flatnonzero(words[node_text] >= min_words)
    if len(nodes) < 2:
        return None
    # Salting every shingle with its brand keeps brands apart in every later step.
    brand_of = node_brand[nodes]
    salt = pd.util.hash_array(np.asarray(brand_names, dtype=object))[brand_of]
    shingle_hash, counts = _shingle_hashes(
        texts, node_text[nodes], words[node_text[nodes]], settings.shingle_words, salt
    )

    # Exact pre-filter: Jaccard(A, B) >= t needs |A & B| >= t |A|, so a text with more
    # than (1 - t) |A| shingles that no other text of its brand has cannot match anything
    # and skips MinHash and LSH. Most free-text replies go here.
    lonely = _lonely_shingles(shingle_hash, counts, brand_of)
    kept = np.flatnonzero(lonely <= (1.0 - threshold) * counts + 1e-9)
    if len(kept) < 2:
        return None
    kept_hash = shingle_hash[np.repeat(np.isin(np.arange(len(nodes)), kept), counts)]
    del shingle_hash
    release_freed_memory()
    columns, unique_hashes = pd.factorize(kept_hash)
    del kept_hash
    kept_counts = counts[kept]
    # Only the sparsity pattern is read (sorted column indices per row), so the values
    # are one-byte booleans, and the int64 codes go as soon as the matrix holds them.
    shingles = sparse.csr_matrix(
        (np.ones(len(columns), dtype=bool), columns, np.r_[0, np.cumsum(kept_counts)]),
        shape=(len(kept), len(unique_hashes)),
    )
    del columns
    shingles.sum_duplicates()
    return _Shingled(nodes=nodes[kept], shingles=shingles, shingle_hashes=unique_hashes)


def _near_duplicate_edges(
    shingled: _Shingled | None, node_posts: np.ndarray, settings: TemplateSettings
) -> np.ndarray:
    """Verified near-duplicate pairs of nodes (n x 2), all of them between long texts."""
    if shingled is None:
        return np.empty((0, 2), dtype=np.int64)
    nodes, shingles = shingled.nodes, shingled.shingles
    signatures = _minhash(shingles, shingled.shingle_hashes)
    # Anchors first: the most posted texts (ties: the smallest text, as nodes are sorted).
    by_posts = np.lexsort((np.arange(len(nodes)), -node_posts[nodes]))
    rank = np.empty(len(nodes), dtype=np.int64)
    rank[by_posts] = np.arange(len(nodes))
    sketches = _byte_sketches(signatures)
    buckets = _lsh_buckets(signatures, rank)
    del signatures
    release_freed_memory()
    edges = _verify_buckets(buckets, shingles, sketches, settings.jaccard_threshold)
    return nodes[edges]


def _shingle_hashes(
    texts: pa.Array, rows: np.ndarray, words: np.ndarray, shingle_words: int, salt: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the `shingle_words`-word shingles of texts[rows] (in order), and their counts.

    A shingle's hash depends only on its words and the text's `salt`: each word is hashed
    by content, as pandas' `hash_array` hashes it (SipHash-2-4 with pandas' fixed key, then
    SplitMix64), the words' hashes are weighted by their place in the shingle and summed
    with the salt, and the sum is mixed again. One compiled pass over the text bytes in
    two threads; splitting the texts into word lists and hashing the distinct words in
    pandas cost 4x as long.
    """
    # Imported here, as in `_minhash`: numba takes ~0.2 s to load.
    from carebench.benchmark.minhash_kernels import shingle_hashes

    weights = np.random.default_rng(_SEED).integers(1, 2**62, shingle_words, dtype=np.uint64)
    weights = weights * np.uint64(2) + np.uint64(1)
    counts = words - shingle_words + 1
    ends = np.cumsum(counts)
    hashes = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.uint64)
    offsets, data = string_buffers(texts)
    half = len(rows) // 2
    middle = int(ends[half - 1]) if half else 0

    def hash_part(first: int, last: int, out: np.ndarray) -> None:
        shingle_hashes(
            offsets, data, rows[first:last], salt[first:last], weights, _PANDAS_HASH_KEY, out
        )

    if search_threads() < 2:
        hash_part(0, half, hashes[:middle])
        hash_part(half, len(rows), hashes[middle:])
        return hashes, counts
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = [
            pool.submit(hash_part, 0, half, hashes[:middle]),
            pool.submit(hash_part, half, len(rows), hashes[middle:]),
        ]
        for part in parts:
            part.result()
    return hashes, counts


def _lonely_shingles(shingle_hash: np.ndarray, counts: np.ndarray, brand: np.ndarray) -> np.ndarray:
    """Per text, a lower bound on its shingles that no other text of its brand has.

    Occurrences are counted per brand in a hash table 4x the brand's shingles: a shingle
    alone in its slot is certainly alone, and a slot shared by chance only makes the
    bound lower, which keeps the pre-filter exact. Texts arrive grouped by brand.
    """
    from carebench.benchmark.minhash_kernels import lonely_counts  # see `_minhash`

    lonely = np.empty(len(counts), dtype=np.int64)
    text_starts = np.r_[0, np.flatnonzero(np.diff(brand)) + 1, len(brand)]
    offsets = np.r_[0, np.cumsum(counts)]
    # One table of byte counters for every brand (16 MB at most), zeroed after each.
    table = np.zeros(1 << _MAX_TABLE_BITS, dtype=np.uint8)
    for first, last in pairwise(text_starts.tolist()):
        begin, end = offsets[first], offsets[last]
        bits = min(_MAX_TABLE_BITS, max(10, int(4 * (end - begin) - 1).bit_length()))
        # Counted per text in the loop: a flag per shingle summed by np.add.reduceat
        # made this pre-filter take 0.59 s at 2.8M posts instead of 0.13 s.
        text_offsets = offsets[first : last + 1] - begin
        lonely_counts(shingle_hash[begin:end], text_offsets, bits, table, lonely[first:last])
    return lonely


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: spreads every input bit over the whole 64-bit hash.

    The numpy twin of `minhash_kernels.split_mix`, for the few values hashed outside
    the compiled loops.
    """
    values = np.array(values, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for shift, multiplier in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            values ^= values >> np.uint64(shift)
            values *= np.uint64(multiplier)
        values ^= values >> np.uint64(31)
    return values


def _minhash(shingles: sparse.csr_matrix, shingle_hashes: np.ndarray) -> np.ndarray:
    """MinHash signatures (rows x _BANDS * _ROWS, uint32) of each row's shingle set.

    Permutation k maps the top 32 bits x of a shingle's (already mixed) hash to
    (a_k * x + b_k) mod 2**32 with odd a_k: a bijection, so the row's minimum is the
    MinHash of that permutation. 32 bits halve the memory traffic of the 64-bit version;
    a chance tie only adds a candidate that the exact check drops. Fixed seed: the same
    text always gets the same signature.
    """
    # Imported here: numba takes ~0.2 s to load, which commands that never search for
    # templates (import, collect, --help) should not pay.
    from carebench.benchmark.minhash_kernels import minhash_rows

    values = (shingle_hashes >> np.uint64(32)).astype(np.uint32)[shingles.indices]
    rng = np.random.default_rng(_SEED)
    count = _BANDS * _ROWS
    multipliers = rng.integers(0, 2**31, size=count, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    offsets = rng.integers(0, 2**32, size=count, dtype=np.uint32)
    rows = shingles.shape[0]
    signatures = np.empty((rows, count), dtype=np.uint32)

    def fill(first: int, last: int) -> None:
        minhash_rows(
            shingles.indptr[first : last + 1], values, multipliers, offsets, signatures[first:last]
        )

    workers = min(search_threads(), os.cpu_count() or 1)
    if len(values) < _PARALLEL_MIN_TEXTS or workers < 2:
        fill(0, rows)
    else:
        # The compiled loop releases the GIL: two threads each take half the rows.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(fill, [0, rows // 2], [rows // 2, rows]))
    return signatures


# One band's LSH buckets: rows (bucket by bucket), each row's position in its bucket.
_Band = tuple[np.ndarray, np.ndarray]


def _lsh_buckets(signatures: np.ndarray, rank: np.ndarray) -> list[_Band]:
    """Per band, the LSH buckets of >= 2 rows: (rows, position in bucket).

    Rows sharing all of a band's values share its bucket; buckets come in the order of
    their first row, and inside a bucket rows are in `rank` order. Brands never share a
    bucket: their shingle hashes (hence signatures) are salted with the brand. A
    compiled pass over a hash table per band (`band_buckets`): factorizing, counting and
    sorting each band in numpy cost 4x as long.
    """
    from carebench.benchmark.minhash_kernels import band_buckets, band_keys  # see `_minhash`

    count = len(signatures)
    by_rank = np.empty(count, dtype=np.int64)
    by_rank[rank] = np.arange(count)
    keys = band_keys(signatures, _ROWS, _mix(np.arange(1, _ROWS + 1, dtype=np.uint64)))
    # One hash table for every band: a power of two over the rows.
    size = 1 << max(int(count).bit_length(), 4)
    slots = np.empty(size, dtype=np.uint64)
    bucket_of_slot = np.empty(size, dtype=np.int32)
    return [band_buckets(keys[band], by_rank, slots, bucket_of_slot) for band in range(_BANDS)]


def _byte_sketches(signatures: np.ndarray) -> np.ndarray:
    """The low byte of every MinHash value, packed 8 to a uint64 word (rows x words)."""
    rows, values = signatures.shape
    padding = (-values) % 8
    # Padding bytes are equal in every row; `_verify_buckets` allows for them.
    low = np.zeros((rows, values + padding), dtype=np.uint8)
    # Each value's low byte read in place (byte 0 of a little-endian uint32): masking
    # and casting the whole array first wrote three copies of it (0.56 s against 0.03 s
    # for the signatures of the 2.8M-post benchmark's brand replies).
    low[:, :values] = signatures.astype("<u4", copy=False).view(np.uint8)[:, 0::4]
    return low.view(np.uint64)


def _verify_buckets(
    bands: list[_Band], shingles: sparse.csr_matrix, sketches: np.ndarray, threshold: float
) -> np.ndarray:
    """Verified near-duplicate pairs (n x 2 rows of `shingles`) among LSH bucket mates.

    All pairs of a bucket would be quadratic (a template with 10k variants is one bucket),
    so the first _ANCHORS rows of each bucket (the most posted texts, see `_lsh_buckets`)
    are anchors: band by band, step r checks every later row against anchor r. A pair
    already connected through verified pairs is skipped, as it cannot change a connected
    component; so once a template's variants are linked, the other bands cost a sketch
    comparison per pair, not an exact Jaccard.
    Buckets of <= _ANCHORS + 1 rows are thus checked exhaustively; in bigger ones a row
    is linked through the anchors, the template's most repeated texts. The pairs returned
    join two components when found: enough for the components, not every passing pair.
    """
    from carebench.benchmark.minhash_kernels import linked_bucket_pairs  # see `_minhash`

    if not bands:
        return np.empty((0, 2), dtype=np.int64)
    # Bands one after the other; bucket starts shifted to the concatenated positions.
    offsets = np.cumsum([0] + [len(rows) for rows, _ in bands[:-1]])
    rows = np.concatenate([rows for rows, _ in bands])
    position = np.concatenate([position for _, position in bands])
    band_starts = np.r_[offsets, len(rows)].astype(np.int64)
    # Padding bytes are equal in every row (`_byte_sketches`).
    padding = sketches.shape[1] * 8 - _BANDS * _ROWS
    min_equal_bytes = int(np.ceil(_MIN_AGREEMENT * _BANDS * _ROWS)) + padding
    return linked_bucket_pairs(
        rows,
        position,
        band_starts,
        _ANCHORS,
        sketches,
        min_equal_bytes,
        shingles.indptr,
        shingles.indices,
        threshold,
    )
