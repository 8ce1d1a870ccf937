"""Scored conversations -> one row per brand (and period) with n and 95% intervals.

Every rate is a fraction 0..1 with its own denominator `n` (written `<metric>_n`),
a Wilson interval (`<metric>_low`, `<metric>_high`); medians and P90s carry an exact
bootstrap interval. `small_sample` flags brands with fewer conversations than the
setting, and `<metric>_n` lets a reader judge each figure on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carebench.benchmark.intervals import quantile_interval, wilson_interval
from carebench.benchmark.settings import Settings
from carebench.benchmark.text_signals import CHANNELS

Period = Literal["week", "month"]

# (metric, numerator column or predicate, denominator predicate); documented below.
RateSpec = tuple[str, Callable[[pd.DataFrame], pd.Series], Callable[[pd.DataFrame], pd.Series]]


def _answered(c: pd.DataFrame) -> pd.Series:
    return c["answered"].astype(bool)


def _answered_care(c: pd.DataFrame) -> pd.Series:
    return c["answered"].astype(bool) & c["care_request"].astype(bool)


def _all(c: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=c.index)


def _valid_ttfr(c: pd.DataFrame) -> pd.Series:
    # Clock-skewed (negative) gaps are data issues, not speeds: kept in the export,
    # left out of every speed figure and counted in `clock_skew_conversations`.
    return c["ttfr_seconds"].notna() & (c["ttfr_seconds"] >= 0)


def _flag(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda c: c[column].astype("boolean").fillna(False).astype(bool)


def _outcome(value: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda c: c["outcome"] == value


def _has(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda c: c[column].notna()


def _rate_specs(settings: Settings) -> list[RateSpec]:
    """Each rate: (name, which conversations count as success, which are in `n`)."""
    sla = settings.sla_seconds
    promise = settings.resolution_promise_hours * 3600
    specs: list[RateSpec] = [
        # answered / conversations (only meaningful when unanswered posts are sampled)
        ("response_rate", _answered, _all),
        # answered within the SLA / answered with a valid TTFR
        ("sla_share", lambda c: _valid_ttfr(c) & (c["ttfr_seconds"] <= sla), _valid_ttfr),
        # >= 1 deflecting brand post / answered
        ("deflection_rate", _flag("deflected"), _answered),
        # first brand reply deflects / answered
        ("first_touch_deflection_rate", _flag("first_touch_deflection"), _answered),
        # outcome shares / answered care requests (resolution rate and its companions)
        ("resolution_rate", _outcome("resolved"), _answered_care),
        ("unresolved_share", _outcome("unresolved"), _answered_care),
        ("unknown_share", _outcome("unknown"), _answered_care),
        # care requests resolved in public within the promise / care requests (unanswered
        # ones included: an unanswered care request broke the promise too)
        (
            "resolved_within_promise_share",
            lambda c: (c["outcome"] == "resolved") & (c["time_to_resolution_seconds"] <= promise),
            _flag("care_request"),
        ),
        # first brand reply empathic / answered
        ("empathy_rate", _flag("empathy_first_reply"), _answered),
        # any hedging brand reply / answered
        ("hedging_rate", _flag("hedging"), _answered),
        # all signed replies by one agent / conversations with >= 2 signed replies
        ("agent_continuity_rate", _flag("agent_continuity"), _has("agent_continuity")),
        # another conversation by the same customer within the window / conversations
        # with a known customer and brand
        ("repeat_contact_rate", _flag("repeat_contact"), _has("repeat_contact")),
        # brand posts again in public after deflecting / deflected conversations
        ("follow_up_rate", _flag("follow_up"), _has("follow_up")),
        # care requests / conversations
        ("care_request_share", _flag("care_request"), _all),
    ]
    # deflected to this channel / deflected conversations (a case can use several)
    for channel in CHANNELS:
        specs.append((f"channel_{channel}_share", _uses_channel(channel), _flag("deflected")))
    return specs


def _uses_channel(channel: str) -> Callable[[pd.DataFrame], pd.Series]:
    # Channel lists are `;`-joined names: RE2 in Arrow, not Python's regex per row, and
    # over the few distinct lists only (`_distinct_lists`), not every conversation's.
    pattern = f"(?:^|;){channel}(?:;|$)"

    def uses(c: pd.DataFrame) -> pd.Series:
        indices, distinct = _distinct_lists(
            pa.array(c["deflection_channels"].astype("string").array)
        )
        on_list = pc.fill_null(pc.match_substring_regex(distinct, pattern), False)
        found = np.zeros(len(indices), dtype=bool)
        known = indices >= 0
        found[known] = on_list.to_numpy(zero_copy_only=False)[indices[known]]
        return pd.Series(found, index=c.index)

    return uses


# The last column `_distinct_lists` encoded: the six channel rates of one scorecard read
# the same column, and encode it once. The column itself is kept with it: while it is
# alive no other array can have its buffers' addresses, so an equal key is this column.
_last_lists: (
    tuple[tuple[tuple[int, ...], ...], np.ndarray, pa.Array, pa.Array | pa.ChunkedArray] | None
) = None


def _distinct_lists(lists: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Each value's index into the distinct values (-1: missing), and those values."""
    global _last_lists
    chunks = lists.chunks if isinstance(lists, pa.ChunkedArray) else [lists]
    key = tuple(
        (*(b.address if b is not None else 0 for b in chunk.buffers()), chunk.offset, len(chunk))
        for chunk in chunks
    )
    last = _last_lists
    if last is not None and last[0] == key:
        return last[1], last[2]
    encoded = pc.dictionary_encode(lists)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = (
            encoded.combine_chunks()
            if encoded.num_chunks
            else pa.DictionaryArray.from_arrays(pa.array([], pa.int32()), pa.array([], pa.string()))
        )
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    _last_lists = (key, indices, encoded.dictionary, lists)
    return indices, encoded.dictionary


def _post_rates(group: pd.DataFrame) -> dict[str, float | int]:
    """Rates over the brand's posts (not conversations): templated and personal touch."""
    row: dict[str, float | int] = {}
    posts = int(group["brand_posts"].sum())
    for name, column in (
        ("templated_ratio", "templated_posts"),
        ("personal_touch_rate", "personal_posts"),
    ):
        hits = int(group[column].sum())
        low, high = wilson_interval(hits, posts)
        row[name] = hits / posts if posts else np.nan
        row[f"{name}_low"], row[f"{name}_high"], row[f"{name}_n"] = low, high, posts
    return row


def _rate_counts(data: pd.DataFrame, specs: list[RateSpec], keys: list[str]) -> pd.DataFrame:
    """Per group of `keys`, each rate's `n` (column `name:n`) and successes (`name:hits`).

    Every predicate looks at one conversation at a time, so it runs once over all of
    them and each group's counts are sums: evaluating the predicates group by group
    cost ~20 pandas calls per brand.
    """
    grouped = data[keys].groupby(keys, sort=True)
    # Each conversation's group number (-1: a key is missing), counted with bincount: a
    # groupby sum converted every flag column first, half a second on 2.8M posts.
    group = grouped.ngroup().to_numpy()
    kept = group >= 0
    group = group[kept]
    size = grouped.size()
    counts: dict[str, np.ndarray] = {}
    for name, success, denominator in specs:
        among = denominator(data).to_numpy(dtype=bool)
        hits = success(data).to_numpy(dtype=bool) & among
        for part, flags in (("n", among), ("hits", hits)):
            counts[f"{name}:{part}"] = np.bincount(
                group, weights=flags[kept], minlength=len(size)
            ).astype(np.int64)
    return pd.DataFrame(counts, index=size.index)


# The columns `_brand_row` reads.
_ROW_COLUMNS = (
    "answered",
    "care_request",
    "brand_posts",
    "clock_skew",
    "templated_posts",
    "personal_posts",
    "ttfr_seconds",
    "reply_seconds_median",
    "outcome",
    "time_to_resolution_seconds",
)


def _brand_row(
    group: pd.DataFrame,
    counts: pd.Series | Mapping[str, int],
    specs: list[RateSpec],
    settings: Settings,
) -> dict:
    row: dict[str, float | int | bool] = {
        "conversations": len(group),
        "answered": int(group["answered"].sum()),
        "care_requests": int(group["care_request"].sum()),
        "brand_posts": int(group["brand_posts"].sum()),
        "clock_skew_conversations": int(group["clock_skew"].sum()),
        "small_sample": len(group) < settings.min_sample,
    }
    for name, _, _ in specs:
        n, hits = int(counts[f"{name}:n"]), int(counts[f"{name}:hits"])
        low, high = wilson_interval(hits, n)
        row[name] = hits / n if n else np.nan
        row[f"{name}_low"], row[f"{name}_high"], row[f"{name}_n"] = low, high, n
    row.update(_post_rates(group))
    speeds = group.loc[_valid_ttfr(group), "ttfr_seconds"].to_numpy(dtype=float)
    replies = group["reply_seconds_median"].dropna().to_numpy(dtype=float)
    resolved = group.loc[group["outcome"] == "resolved", "time_to_resolution_seconds"]
    for name, values, q in (
        ("ttfr_median_seconds", speeds, 0.5),
        ("ttfr_p90_seconds", speeds, 0.9),
        ("reply_time_median_seconds", replies, 0.5),
        ("time_to_resolution_median_seconds", resolved.dropna().to_numpy(dtype=float), 0.5),
    ):
        row[name] = float(np.quantile(values, q)) if len(values) else np.nan
        row[f"{name}_low"], row[f"{name}_high"] = quantile_interval(values, q)
        row[f"{name}_n"] = len(values)
    return row


def scorecard(
    conversations: pd.DataFrame,
    settings: Settings | None = None,
    period: Period | None = None,
) -> pd.DataFrame:
    """One row per brand (per period when given) with every headline figure.

    Parameters
    ----------
    conversations
        Scored conversations from `scoring.analyse` (any filter applied already).
        Unassigned conversations (no brand) are left out.
    settings
        SLA threshold, repeat-contact window, resolution promise, small-sample size.
    period
        None for one row per brand; "week" or "month" for one row per brand and period
        of the conversation's opening (weeks start on Monday, UTC).

    Returns
    -------
    DataFrame sorted by brand (and period): brand, [period,] conversations, answered,
    care_requests, brand_posts, small_sample, and for each metric its value, `_low`,
    `_high` and `_n`. Rates are fractions 0..1; times are seconds. Empty input gives an
    empty frame with the same columns.
    """
    settings = settings or Settings()
    specs = _rate_specs(settings)
    named = conversations["brand"].notna().to_numpy(dtype=bool)
    # A view's conversations all name a brand: no copy of every column then.
    data = conversations if named.all() else conversations[named]
    keys = ["brand"]
    if period is not None:
        data = data.assign(period=period_start(data["opened_at"], period))
        keys.append("period")
    rows = []
    if len(data):
        counts = _rate_counts(data, specs, keys)
        # The same grouping, so the counts come in the groups' order; only the columns
        # `_brand_row` reads are split into groups (the root texts are not copied).
        groups = data[[*keys, *_ROW_COLUMNS]].groupby(keys, sort=True)
        for (key, group), (_, tally) in zip(groups, counts.iterrows(), strict=True):
            values = key if isinstance(key, tuple) else (key,)
            row = _brand_row(group, tally, specs, settings)
            rows.append({**dict(zip(keys, values, strict=True)), **row})
    if not rows:
        none = {f"{name}:{part}": 0 for name, _, _ in specs for part in ("n", "hits")}
        template = _brand_row(conversations.iloc[0:0], none, specs, settings)
        return pd.DataFrame(columns=[*keys, *template])
    return pd.DataFrame(rows)


def period_start(opened_at: pd.Series, period: Period) -> pd.Series:
    """The UTC start of each time's week (Monday) or calendar month."""
    naive = opened_at.dt.tz_convert("UTC").dt.tz_localize(None)
    freq = "W-SUN" if period == "week" else "M"
    return naive.dt.to_period(freq).dt.start_time.dt.tz_localize("UTC")


# Figures over brand posts, not conversations: a conversation counts when it holds one.
_POST_RATES = {"templated_ratio": "templated_posts", "personal_touch_rate": "personal_posts"}
# Medians and P90s: the conversations whose value the quantile is taken over.
_QUANTILE_MEMBERS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "ttfr_median_seconds": _valid_ttfr,
    "ttfr_p90_seconds": _valid_ttfr,
    "reply_time_median_seconds": _has("reply_seconds_median"),
    "time_to_resolution_median_seconds": lambda c: (
        (c["outcome"] == "resolved") & c["time_to_resolution_seconds"].notna()
    ),
}


def figure_members(
    conversations: pd.DataFrame, metric: str, settings: Settings | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Which conversations a scorecard figure is computed over, and which it counts.

    The same predicates as `scorecard`, so a dashboard drill-down lists exactly the
    conversations behind a figure: ``members`` are the `<metric>_n` conversations (for
    post rates, those holding a brand post), ``hits`` the successes of a rate (None for
    medians and P90s). ``conversations`` is one brand's (and period's) rows. Raises
    KeyError for a name that is not a scorecard figure.
    """
    settings = settings or Settings()
    if metric == "conversations":
        return np.ones(len(conversations), dtype=bool), None
    if metric in _POST_RATES:
        posts = pd.to_numeric(conversations["brand_posts"], errors="coerce").fillna(0)
        hits = pd.to_numeric(conversations[_POST_RATES[metric]], errors="coerce").fillna(0)
        return (posts > 0).to_numpy(dtype=bool), (hits > 0).to_numpy(dtype=bool)
    if metric in _QUANTILE_MEMBERS:
        return _QUANTILE_MEMBERS[metric](conversations).to_numpy(dtype=bool), None
    for name, success, denominator in _rate_specs(settings):
        if name == metric:
            among = denominator(conversations).to_numpy(dtype=bool)
            return among, success(conversations).to_numpy(dtype=bool) & among
    raise KeyError(metric)
