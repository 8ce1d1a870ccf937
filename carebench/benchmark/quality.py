"""A per-conversation care quality score (0-100) for the good/bad gallery of trainers.

The score reads a customer-care trainer's checklist off the signals `scoring.analyse`
already computed for each conversation. Points, out of 100:

============== ====== ======================================================================
component      points how they are earned
============== ====== ======================================================================
resolution     25     `resolved` in public 25, `unknown` 10, `unresolved` 0. The customer
                      came with a problem: whether it was solved matters most.
speed          20     first response within the SLA 20, then falling with the logarithm of
                      the delay to 0 at 4x the SLA (1 h SLA: 10 points at 2 h, 0 at 4 h).
                      Clock skew (negative delay) gets 10: the data cannot tell.
public help    15     no deflection 15; deflected only later in the thread 8; deflected at
                      first touch ("please DM us" as the first answer) 0; plus 4 (up to 15)
                      when the brand came back in public after deflecting (follow-up).
personal       15     10 x the share of the brand's replies that are not templates, plus 5
                      when a reply is signed by an agent or addresses the customer by name.
empathy        10     the first reply acknowledges or apologises for the problem.
plain words    5      no legalistic hedging ("any inconvenience this may have caused").
continuity     5      one agent throughout 5, several agents 0, fewer than two signed
                      replies 2.5 (no evidence either way).
no repeat      5      the customer did not have to come back within the repeat-contact window
                      5, came back 0, unknown customer 2.5.
============== ====== ======================================================================

Why these weights: customers judge care first by whether the problem went away and how
long it took (resolution and speed, 45 together); then by the effort they were asked to
make (public help: every move to another channel is a hand-off and a restart) and by
whether a person answered them (personal touch, empathy: 25 together); the remaining 15
reward habits trainers coach (plain words, one owner for the case, no need to chase).
Speed is scored on a log scale because a reply 10 minutes late and one a day late are
not equally bad, and the SLA is the dashboard's setting, so the score follows it.

Only answered care requests get a score; the others are NaN: an unanswered post has no
reply to judge (it counts in the response rate instead), and praise or banter has no
problem to resolve, so most of the checklist does not apply.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carebench.store import Store

# The most points each component can give; they add up to 100.
QUALITY_WEIGHTS: dict[str, float] = {
    "resolution": 25.0,
    "speed": 20.0,
    "public_help": 15.0,
    "personal": 15.0,
    "empathy": 10.0,
    "plain_words": 5.0,
    "continuity": 5.0,
    "no_repeat": 5.0,
}
# Beyond this multiple of the SLA a first response earns no speed points.
SPEED_ZERO_AT_SLA_MULTIPLE = 4.0
# An `unknown` outcome (the case went private, or nothing tells) earns this share.
UNKNOWN_OUTCOME_SHARE = 0.4
# Deflecting only later in the thread earns this many public-help points...
LATER_DEFLECTION_POINTS = 8.0
# ...and coming back in public after a deflection adds this many.
FOLLOW_UP_POINTS = 4.0
# Of the personal points: this many for untemplated replies, the rest for a signed or
# by-name reply.
UNTEMPLATED_POINTS = 10.0
# The share of a component earned when the data cannot tell (clock skew, fewer than two
# signed replies, unknown customer).
_NEUTRAL = 0.5


def _flag(conversations: pd.DataFrame, column: str) -> pd.Series:
    """A nullable boolean column (missing column: all unknown)."""
    if column not in conversations:
        return pd.Series(pd.NA, index=conversations.index, dtype="boolean")
    return conversations[column].astype("boolean")


def _true(flags: pd.Series) -> np.ndarray:
    return flags.fillna(False).to_numpy(dtype=bool)


def _false(flags: pd.Series) -> np.ndarray:
    return (~flags).fillna(False).to_numpy(dtype=bool)


def scored(conversations: pd.DataFrame) -> np.ndarray:
    """Which conversations get a quality score: answered care requests."""
    return _true(_flag(conversations, "answered")) & _true(_flag(conversations, "care_request"))


def quality_components(conversations: pd.DataFrame, sla_seconds: float = 3600.0) -> pd.DataFrame:
    """The points of each component of the quality score (see the module docstring).

    Parameters
    ----------
    conversations : pd.DataFrame
        Scored conversations (`Analysis.conversations`, or any slice of it).
    sla_seconds : float
        The first-response SLA: full speed points within it.

    Returns
    -------
    pd.DataFrame
        One float column per key of `QUALITY_WEIGHTS`, aligned on ``conversations.index``;
        every value in [0, its weight]; NaN on rows that get no score (not an answered
        care request).
    """
    c = conversations
    w = QUALITY_WEIGHTS
    outcome = c["outcome"].astype("string").fillna("").to_numpy(dtype=object)
    resolution = np.select(
        [outcome == "resolved", outcome == "unknown"],
        [w["resolution"], w["resolution"] * UNKNOWN_OUTCOME_SHARE],
        0.0,
    )

    ttfr = pd.to_numeric(c["ttfr_seconds"], errors="coerce").to_numpy(dtype=float)
    sla = max(float(sla_seconds), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        late = np.log(np.maximum(ttfr, sla) / sla) / np.log(SPEED_ZERO_AT_SLA_MULTIPLE)
    speed = w["speed"] * np.clip(1.0 - late, 0.0, 1.0)
    speed = np.where(np.isnan(ttfr) | (ttfr < 0), w["speed"] * _NEUTRAL, speed)

    deflected = _true(_flag(c, "deflected"))
    first_touch = _true(_flag(c, "first_touch_deflection"))
    follow_up = _true(_flag(c, "follow_up"))
    public_help = np.select(
        [~deflected, first_touch], [w["public_help"], 0.0], LATER_DEFLECTION_POINTS
    )
    public_help = np.minimum(
        public_help + np.where(deflected & follow_up, FOLLOW_UP_POINTS, 0.0), w["public_help"]
    )

    brand_posts = pd.to_numeric(c["brand_posts"], errors="coerce").to_numpy(dtype=float)
    templated = pd.to_numeric(c["templated_posts"], errors="coerce").to_numpy(dtype=float)
    personal_posts = pd.to_numeric(c["personal_posts"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        untemplated = np.clip(1.0 - templated / brand_posts, 0.0, 1.0)
    untemplated = np.where(brand_posts > 0, untemplated, 0.0)
    personal = UNTEMPLATED_POINTS * untemplated + np.where(
        personal_posts > 0, w["personal"] - UNTEMPLATED_POINTS, 0.0
    )

    empathy = np.where(_true(_flag(c, "empathy_first_reply")), w["empathy"], 0.0)
    plain = np.where(_true(_flag(c, "hedging")), 0.0, w["plain_words"])
    continuity_flag = _flag(c, "agent_continuity")
    continuity = np.select(
        [_true(continuity_flag), _false(continuity_flag)],
        [w["continuity"], 0.0],
        w["continuity"] * _NEUTRAL,
    )
    repeat_flag = _flag(c, "repeat_contact")
    no_repeat = np.select(
        [_false(repeat_flag), _true(repeat_flag)], [w["no_repeat"], 0.0], w["no_repeat"] * _NEUTRAL
    )

    components = pd.DataFrame(
        {
            "resolution": resolution,
            "speed": speed,
            "public_help": public_help,
            "personal": personal,
            "empathy": empathy,
            "plain_words": plain,
            "continuity": continuity,
            "no_repeat": no_repeat,
        },
        index=c.index,
        dtype=float,
    )
    return components.where(pd.Series(scored(c), index=c.index), np.nan, axis=0)


def quality_score(conversations: pd.DataFrame, sla_seconds: float = 3600.0) -> pd.Series:
    """The care quality score, 0 (worst) to 100 (best), of each conversation.

    Parameters
    ----------
    conversations : pd.DataFrame
        Scored conversations (`Analysis.conversations`, or any slice of it).
    sla_seconds : float
        The first-response SLA of the speed component.

    Returns
    -------
    pd.Series
        float named ``quality``, aligned on ``conversations.index``: the sum of
        `quality_components`; NaN for conversations that are not answered care requests.
    """
    components = quality_components(conversations, sla_seconds)
    total = components.sum(axis=1, min_count=1).clip(0.0, 100.0)
    return total.rename("quality")


def quality_reasons(conversations: pd.DataFrame, sla_seconds: float = 3600.0) -> pd.Series:
    """Why a conversation scores as it does, in a trainer's words, ``, ``-joined.

    E.g. "resolved in public, fast, personal, empathic" or "unresolved, slow (3.2x SLA),
    deflected at first touch, templated, no empathy". Empty for unscored rows.

    Labels never contradict each other: "personal" (a reply signed by an agent or
    addressing the customer by name) is said only when no reply is a template; a
    templated conversation with such a reply says "templated, signed or by name" (a
    template with an agent's sign-off is still a template).
    """
    c = conversations
    ttfr = pd.to_numeric(c["ttfr_seconds"], errors="coerce").to_numpy(dtype=float)
    sla = max(float(sla_seconds), 1.0)
    outcome = c["outcome"].astype("string").fillna("").to_numpy(dtype=object)
    brand_posts = pd.to_numeric(c["brand_posts"], errors="coerce").fillna(0).to_numpy()
    templated = pd.to_numeric(c["templated_posts"], errors="coerce").fillna(0).to_numpy()
    personal = pd.to_numeric(c["personal_posts"], errors="coerce").fillna(0).to_numpy()
    empathy = _flag(c, "empathy_first_reply")
    deflected = _true(_flag(c, "deflected"))
    with np.errstate(invalid="ignore"):
        slow = np.array([f"slow ({x:.1f}x SLA)" for x in ttfr / sla], dtype=object)
    parts = [
        np.select(
            [outcome == "resolved", outcome == "unresolved", outcome == "unknown"],
            ["resolved in public", "unresolved", "no public outcome"],
            "",
        ),
        np.select([np.isnan(ttfr) | (ttfr < 0), ttfr <= sla], ["", "fast"], slow),
        np.select(
            [_true(_flag(c, "first_touch_deflection")), deflected],
            ["deflected at first touch", "deflected later"],
            "",
        ),
        np.where(deflected & _true(_flag(c, "follow_up")), "followed up", ""),
        np.select(
            [(templated > 0) & (templated >= brand_posts), templated > 0],
            ["templated", "partly templated"],
            "",
        ),
        # A templated reply can still be signed or greet the customer by name: then the
        # touch is named for what it is, never "personal" beside "templated".
        np.select(
            [(personal > 0) & (templated > 0), personal > 0], ["signed or by name", "personal"], ""
        ),
        np.select([_true(empathy), _false(empathy)], ["empathic", "no empathy"], ""),
        np.where(_true(_flag(c, "hedging")), "hedging", ""),
        np.where(_false(_flag(c, "agent_continuity")), "agent changed", ""),
        np.where(_true(_flag(c, "repeat_contact")), "customer came back", ""),
    ]
    rows = zip(*(part.astype(object).tolist() for part in parts), strict=True)
    joined = [", ".join(p for p in row if p) for row in rows]
    reasons = pd.Series(joined, index=c.index, dtype="string")
    return reasons.where(pd.Series(scored(c), index=c.index), "")


def gallery(conversations: pd.DataFrame, sla_seconds: float = 3600.0, n: int = 5) -> pd.DataFrame:
    """The best `n` and worst `n` scored conversations of each brand.

    Returns the chosen rows of `conversations` with ``quality``, ``reasons``, ``rank``
    (1 = best or worst of the brand) and ``side`` (``"best"`` / ``"worst"``) columns,
    brands in name order, best then worst. Ties are broken by conversation id, so the
    gallery is the same on every run. A brand with fewer than 2n scored conversations
    shows each at most once (on the side it is closer to).
    """
    rows = np.flatnonzero(scored(conversations))
    if len(rows) == 0 or n <= 0:
        c = conversations.iloc[:0]
        return c.assign(quality=pd.Series(dtype=float), reasons="", rank=0, side="")
    # Ranked on the three keys alone, by position; only the chosen rows are copied.
    c = conversations.iloc[rows]
    keys = pd.DataFrame(
        {
            "brand": c["brand"].reset_index(drop=True),
            "quality": quality_score(c, sla_seconds).reset_index(drop=True),
            "conversation_id": c["conversation_id"].reset_index(drop=True),
            "_row": rows,
        }
    ).sort_values(["brand", "quality", "conversation_id"], ascending=[True, False, True])
    picked: list[np.ndarray] = []
    sides: list[str] = []
    ranks: list[np.ndarray] = []
    for _, group in keys.groupby("brand", sort=True):
        ordered = group["_row"].to_numpy()
        best = ordered[: min(n, (len(ordered) + 1) // 2)]
        worst = ordered[len(best) :][::-1][:n]
        for side, chosen_rows in (("best", best), ("worst", worst)):
            picked.append(chosen_rows)
            sides += [side] * len(chosen_rows)
            ranks.append(np.arange(1, len(chosen_rows) + 1))
    chosen = conversations.iloc[np.concatenate(picked)]
    chosen = chosen.assign(
        quality=quality_score(chosen, sla_seconds),
        side=sides,
        rank=np.concatenate(ranks),
    )
    return chosen.assign(reasons=quality_reasons(chosen, sla_seconds))


# -- data hygiene: dates far from the bulk, and mixed sources ----------------------------------

# The bulk of the data runs from the 1st to the 99th percentile of opening times, widened
# on each side by half that span and at least a month: a Tukey-like fence that keeps
# every day of evenly spread data and a late week of a sample, and leaves out a handful
# of posts months or years away from the rest.
BULK_QUANTILES = (0.01, 0.99)
BULK_MARGIN = 0.5
BULK_MIN_MARGIN = pd.Timedelta(days=30)


def bulk_span(opened_at: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last opening time of the bulk of the data (None when empty).

    Everything opened outside is an outlier date (see `date_outliers`). Whole UTC days,
    so a day is in or out, never half of it.
    """
    times = pd.to_datetime(opened_at, utc=True).dropna()
    if times.empty:
        return None
    # Nanoseconds since the epoch: plain integers for the arithmetic.
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    ns = naive.astype("datetime64[ns]").astype(np.int64)
    day = pd.Timedelta(days=1).value
    low, high = np.quantile(ns, BULK_QUANTILES)
    margin = max((high - low) * BULK_MARGIN, BULK_MIN_MARGIN.value)
    first = max(ns.min(), low - margin) // day * day
    last = min(ns.max(), high + margin) // day * day + day
    # Outside the fence nothing else decides: the first/last kept times themselves.
    kept = ns[(ns >= first) & (ns < last)]
    return pd.Timestamp(int(kept.min()), tz="UTC"), pd.Timestamp(int(kept.max()), tz="UTC")


def date_outliers(conversations: pd.DataFrame) -> pd.DataFrame:
    """Conversations opened outside `bulk_span`: a few stray posts years away from the
    rest, which would stretch every date range and time axis. Oldest first."""
    span = bulk_span(conversations["opened_at"])
    if span is None:
        return conversations.iloc[:0]
    opened = pd.to_datetime(conversations["opened_at"], utc=True)
    outside = (opened < span[0]) | (opened > span[1])
    return conversations[outside.fillna(False).to_numpy(dtype=bool)].sort_values("opened_at")


def year_spans(years: pd.Series) -> str:
    """Distinct years as runs: "2011, 2016-2017"."""
    values = sorted({int(y) for y in years.dropna()})
    runs: list[list[int]] = []
    for year in values:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def source_table(conversations: pd.DataFrame, sources: pd.Series) -> pd.DataFrame:
    """Per source (import file or collector): conversations, first and last opening day,
    the years they span, and how many fall outside the bulk of all the data.

    `sources` is each conversation's source label, aligned on `conversations`.
    """
    span = bulk_span(conversations["opened_at"])
    opened = pd.to_datetime(conversations["opened_at"], utc=True)
    outside = (
        ((opened < span[0]) | (opened > span[1])).fillna(False)
        if span
        else pd.Series(False, index=conversations.index)
    )
    frame = pd.DataFrame(
        {
            "source": sources.to_numpy(),
            # Naive UTC datetime64: a tz-aware column would become Python objects here.
            "opened": opened.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(),
            "year": opened.dt.year.to_numpy(),
            "outside": outside.to_numpy(),
        },
        index=conversations.index,
    )
    # Vectorised per source; only the year runs are joined per source (a few sources).
    grouped = frame.groupby("source", sort=True)
    first, last = grouped["opened"].min(), grouped["opened"].max()
    years = grouped["year"].unique()
    rows = [
        {
            "Source": str(source),
            "Conversations": int(size),
            "First day": pd.Timestamp(first[source]).strftime("%Y-%m-%d"),
            "Last day": pd.Timestamp(last[source]).strftime("%Y-%m-%d"),
            "Years": year_spans(pd.Series(years[source])),
            "Outlier dates": int(outliers),
        }
        for source, size, outliers in zip(
            grouped.size().index, grouped.size(), grouped["outside"].sum(), strict=True
        )
    ]
    return pd.DataFrame(
        rows,
        columns=["Source", "Conversations", "First day", "Last day", "Years", "Outlier dates"],
    )


def hygiene_issues(conversations: pd.DataFrame, sources: pd.Series | None = None) -> pd.DataFrame:
    """Rows for the data-quality table: outlier dates, mixed years, mixed sources.

    Columns Check, Count, Meaning (as `aggregates.issue_table`); a check that finds
    nothing says so with a count of 0, so the table shows it was run.
    """
    outliers = date_outliers(conversations)
    rows = []
    if len(outliers):
        span = bulk_span(conversations["opened_at"])
        assert span is not None
        first = pd.to_datetime(outliers["opened_at"], utc=True).min()
        meaning = (
            f"Opened far from the bulk ({span[0]:%d %b %Y} – {span[1]:%d %b %Y}), the first "
            f"on {first:%d %b %Y}: left out of the default dates, listed below."
        )
    else:
        meaning = "Conversations opened far from the bulk of the data: none."
    rows.append({"Check": "outlier dates", "Count": len(outliers), "Meaning": meaning})
    opened = pd.to_datetime(conversations["opened_at"], utc=True)
    kept = opened.drop(outliers.index) if len(outliers) else opened
    years = kept.dt.year.value_counts().sort_index()
    rows.append(
        {
            "Check": "mixed years",
            "Count": len(years) if len(years) > 1 else 0,
            "Meaning": (
                "The bulk of the data spans "
                + ", ".join(f"{y} ({n:,})" for y, n in years.items())
                + ": every figure pools these years unless you narrow the dates."
                if len(years) > 1
                else "The bulk of the data lies within one year."
            ),
        }
    )
    if sources is not None:
        names = sources.dropna().unique()
        rows.append(
            {
                "Check": "mixed sources",
                "Count": len(names) if len(names) > 1 else 0,
                "Meaning": (
                    f"Conversations come from {len(names)} sources (table below): figures "
                    "pool them unless you pick sources in the sidebar."
                    if len(names) > 1
                    else "Every conversation comes from one source."
                ),
            }
        )
    return pd.DataFrame(rows, columns=["Check", "Count", "Meaning"])


def conversation_sources(store: Store, conversations: pd.DataFrame) -> pd.Series:
    """Each conversation's source: the file its first post was imported from (name only),
    or its collector for live collections; aligned on `conversations`.

    A store whose imports all came from one file (the usual case) answers without
    reading a post.
    """
    imports = store.imports()
    names = {
        (str(c), str(s).replace("\\", "/").rsplit("/", 1)[-1])
        for c, s in zip(imports["collector"], imports["source"], strict=True)
    }
    if len(names) <= 1:
        label = next(iter(names))[1] if names else "unknown"
        return pd.Series(label, index=conversations.index, dtype="string")
    import pyarrow as pa

    wanted = pa.table(
        {
            "platform": pa.array(conversations["platform"].astype(str).to_numpy()),
            "post_id": pa.array(conversations["conversation_id"].astype(str).to_numpy()),
            "row": pa.array(np.arange(len(conversations), dtype=np.int64)),
        }
    )
    store.con.register("carebench_wanted_roots", wanted)
    try:
        found = store.con.execute(
            "SELECT w.row, coalesce(nullif(regexp_extract(regexp_extract(p.raw_ref, "
            "'^(.*):[0-9]+(#.*)?$', 1), '([^/\\\\]+)$', 1), ''), p.collector) AS source "
            "FROM carebench_wanted_roots w JOIN posts p "
            "ON p.platform = w.platform AND p.post_id = w.post_id"
        ).df()
    finally:
        store.con.unregister("carebench_wanted_roots")
    values = np.full(len(conversations), "unknown", dtype=object)
    values[found["row"].to_numpy(dtype=np.int64)] = found["source"].astype(str).to_numpy()
    return pd.Series(values, index=conversations.index, dtype="string")
