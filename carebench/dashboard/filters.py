"""The dashboard's filters: one frozen value, its URL form, and the sidebar widgets.

The URL is the source of truth for a shared view: a fresh session reads the filters
from `st.query_params`, every run writes them back, so copying the address bar
reproduces the view. Within a session the canonical value lives in session state
(not only in the widgets), because page switches drop the state of widgets that the
new page has not rendered yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from carebench.benchmark.anonymise import pseudonymise_ids
from carebench.benchmark.quality import bulk_span
from carebench.dashboard.charts import md

# The SLA choices in minutes: the thresholds care teams actually promise.
SLA_MINUTES: tuple[int, ...] = (5, 10, 15, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 1440)
DEFAULT_SLA_MINUTES = 60
# How many competitors a fresh view compares the focus brand with (the largest ones).
DEFAULT_COMPETITORS = 5
ALL_PLATFORMS = "All platforms"

_STATE = "carebench_filters"
_STATE_STORE = "carebench_filters_store"
_KEYS = {
    "focus": "flt_focus",
    "competitors": "flt_vs",
    "dates": "flt_dates",
    "platform": "flt_platform",
    "sla": "flt_sla",
    "anonymise": "flt_anon",
    "sources": "flt_sources",
}


@dataclass(frozen=True)
class FilterOptions:
    """What the data allows: brands (largest first), platforms and the date range.

    `bulk_first` / `bulk_last` are the days of the bulk of the data (`quality.bulk_span`):
    the default range, which leaves out `outliers` conversations opened far from the
    rest (a stray post of 2011 in a 2017 sample). `sources` are the import files (or
    collectors) the conversations come from, set by the loader when it knows them.
    """

    brands: tuple[str, ...]
    platforms: tuple[str, ...]
    first_day: date
    last_day: date
    bulk_first: date | None = None
    bulk_last: date | None = None
    outliers: int = 0
    sources: tuple[str, ...] = ()

    @classmethod
    def from_conversations(cls, conversations: pd.DataFrame) -> FilterOptions:
        """Options from scored conversations (unassigned ones have no brand to pick)."""
        counts = conversations["brand"].dropna().value_counts()
        # Largest first, ties by name, so the default view is stable between runs.
        ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
        platforms = tuple(sorted(str(p) for p in conversations["platform"].dropna().unique()))
        opened = conversations["opened_at"]
        today = pd.Timestamp.now(tz="UTC").date()
        first = opened.min().date() if len(opened) else today
        last = opened.max().date() if len(opened) else today
        span = bulk_span(opened) if len(opened) else None
        bulk_first, bulk_last = (span[0].date(), span[1].date()) if span else (first, last)
        # Whole days, as the date filter keeps them (no Python date per row).
        times = pd.to_datetime(opened, utc=True)
        kept_from = pd.Timestamp(bulk_first, tz="UTC")
        kept_to = pd.Timestamp(bulk_last, tz="UTC") + pd.Timedelta(days=1)
        outliers = int(((times < kept_from) | (times >= kept_to)).sum()) if span else 0
        return cls(
            tuple(str(b) for b, _ in ordered),
            platforms,
            first,
            last,
            bulk_first,
            bulk_last,
            outliers,
        )


@dataclass(frozen=True)
class Filters:
    """One view of the data: who is compared, over which days, with which SLA."""

    focus: str | None
    competitors: tuple[str, ...]
    start: date
    end: date
    platform: str | None = None
    sla_minutes: int = DEFAULT_SLA_MINUTES
    anonymise: bool = False
    # Import files (or collectors) to keep; empty: every source.
    sources: tuple[str, ...] = ()

    @property
    def brands(self) -> tuple[str, ...]:
        """The focus brand first, then the competitors: the brands every page shows."""
        head = (self.focus,) if self.focus else ()
        return head + tuple(b for b in self.competitors if b != self.focus)

    @property
    def sla_seconds(self) -> float:
        return float(self.sla_minutes * 60)


def default_filters(options: FilterOptions) -> Filters:
    """The largest brand against the next largest ones, over the bulk of the data (a
    few posts years away from the rest would stretch every range and axis)."""
    focus = options.brands[0] if options.brands else None
    return Filters(
        focus=focus,
        competitors=options.brands[1 : 1 + DEFAULT_COMPETITORS],
        start=options.bulk_first or options.first_day,
        end=options.bulk_last or options.last_day,
    )


def parse_query(
    params: Mapping[str, Sequence[str]], options: FilterOptions
) -> tuple[Filters, list[str]]:
    """Filters from URL parameters (each a list of values), and what had to be dropped.

    Anything missing takes its default; anything the data does not have (an unknown
    brand, a date outside the data) is dropped or clamped and reported, so a shared
    link opened on another store still opens.
    """
    base = default_filters(options)
    problems: list[str] = []
    by_lower = {b.lower(): b for b in options.brands}

    def one(name: str) -> str | None:
        values = [v for v in params.get(name, []) if v != ""]
        return values[-1] if values else None

    focus = base.focus
    if (asked := one("focus")) is not None:
        if asked.lower() in by_lower:
            focus = by_lower[asked.lower()]
        else:
            problems.append(f"brand {asked!r} is not in this store")
    competitors = base.competitors
    if "vs" in params:
        # "vs" present but empty means the user chose no competitors: keep that.
        names: list[str] = []
        for value in params["vs"]:
            for asked in filter(None, value.split(",")):
                if asked.lower() in by_lower:
                    names.append(by_lower[asked.lower()])
                else:
                    problems.append(f"brand {asked!r} is not in this store")
        competitors = tuple(dict.fromkeys(names))
    competitors = tuple(b for b in competitors if b != focus)

    start, end = base.start, base.end
    for name in ("from", "to"):
        asked = one(name)
        if asked is None:
            continue
        try:
            day = date.fromisoformat(asked)
        except ValueError:
            problems.append(f"{name}={asked!r} is not a date (YYYY-MM-DD)")
            continue
        day = min(max(day, options.first_day), options.last_day)
        if name == "from":
            start = day
        else:
            end = day
    if start > end:
        problems.append("the start date was after the end date; showing every day")
        start, end = base.start, base.end

    platform = one("platform")
    if platform is not None and platform not in options.platforms:
        problems.append(f"platform {platform!r} is not in this store")
        platform = None

    sla = base.sla_minutes
    if (asked := one("sla")) is not None:
        try:
            minutes = float(asked)
        except ValueError:
            problems.append(f"sla={asked!r} is not a number of minutes")
        else:
            if not 0 < minutes < float("inf"):  # nan too: it fails every comparison
                problems.append(f"sla={asked!r} is not a number of minutes above 0")
            else:
                sla = min(SLA_MINUTES, key=lambda m: abs(m - minutes))
    anonymise = (one("anon") or "0").lower() in ("1", "true", "yes", "on")
    sources: list[str] = []
    for asked in params.get("source", []):
        if not asked:
            continue
        if asked in options.sources:
            sources.append(asked)
        elif options.sources:
            problems.append(f"source {asked!r} is not in this store")
    filters = Filters(
        focus, competitors, start, end, platform, sla, anonymise, tuple(dict.fromkeys(sources))
    )
    return filters, problems


def to_query(filters: Filters) -> dict[str, str | list[str]]:
    """The URL parameters of a view (every filter spelled out, so links stay exact)."""
    query: dict[str, str | list[str]] = {
        "focus": filters.focus or "",
        # An empty "vs" says "no competitors", which differs from "vs" absent (defaults).
        "vs": ",".join(filters.competitors),
        "from": filters.start.isoformat(),
        "to": filters.end.isoformat(),
        "sla": str(filters.sla_minutes),
    }
    if filters.platform:
        query["platform"] = filters.platform
    if filters.anonymise:
        query["anon"] = "1"
    if filters.sources:
        query["source"] = list(filters.sources)
    return query


def restrict(filters: Filters, options: FilterOptions) -> Filters:
    """The same filters re-checked against other data (after an import changed it)."""
    again, _ = parse_query(
        {k: [v] if isinstance(v, str) else v for k, v in to_query(filters).items()}, options
    )
    return again


def format_sla(minutes: int) -> str:
    """5 min, 1 h, 1.5 h, 24 h: how people state an SLA."""
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:g} h"


# -- widgets -------------------------------------------------------------------------


def sidebar(options: FilterOptions, store_key: object) -> Filters:
    """Render the filter widgets in the sidebar and return the filters they say."""
    state = st.session_state
    if _STATE not in state:
        opened, problems = parse_query(_query_lists(), options)
        if problems:
            # The problems quote the URL: escaped, so a crafted link cannot inject a link.
            st.sidebar.warning("Link adjusted: " + md("; ".join(problems)) + ".")
        state[_STATE] = opened
    elif state.get(_STATE_STORE) != store_key:
        # The data changed under the session (an import): keep what still applies.
        state[_STATE] = restrict(state[_STATE], options)
    state[_STATE_STORE] = store_key
    # Widgets are re-seeded from the canonical value on every run: after a page switch
    # Streamlit would otherwise start them at their defaults. A user's change reaches
    # the canonical value first, through the on_change callback (run before the page).
    _seed(state[_STATE])

    bar = st.sidebar
    bar.header("Compare")
    brands = list(options.brands)
    if not brands:
        bar.caption("No brands yet: import data on the Data page.")
    bar.selectbox(
        "Focus brand",
        brands,
        key=_KEYS["focus"],
        on_change=_commit,
        help="The brand the workshop is about; KPI deltas compare it with the competitors.",
    )
    focus = state[_STATE].focus
    bar.multiselect(
        "Competitors",
        [b for b in brands if b != focus],
        key=_KEYS["competitors"],
        on_change=_commit,
        help="Brands to compare with; the peer median is taken over these.",
    )
    bar.date_input(
        "Conversations opened between",
        min_value=options.first_day,
        max_value=options.last_day,
        key=_KEYS["dates"],
        on_change=_commit,
        help="Days in UTC, both ends included.",
    )
    _date_note(state[_STATE], options)
    bar.selectbox(
        "Platform", [ALL_PLATFORMS, *options.platforms], key=_KEYS["platform"], on_change=_commit
    )
    bar.select_slider(
        "SLA: answered within",
        options=list(SLA_MINUTES),
        format_func=format_sla,
        key=_KEYS["sla"],
        on_change=_commit,
        help="The threshold behind every 'answered within SLA' figure.",
    )
    bar.toggle(
        "Anonymise customers",
        key=_KEYS["anonymise"],
        on_change=_commit,
        help="Masks customer handles, names, e-mails, phone numbers and post ids on every "
        "page, in every CSV and in the page address.",
    )
    if len(options.sources) > 1:
        bar.multiselect(
            "Sources",
            list(options.sources),
            key=_KEYS["sources"],
            on_change=_commit,
            placeholder="All sources",
            help="The import files (or collectors) to include; none chosen: all of them. "
            "The Data page shows each source's dates.",
        )
    filters: Filters = state[_STATE]
    _write_query(filters)
    return filters


def sources_asked() -> bool:
    """Whether this session filters by source (chosen in the sidebar, committed, or in
    the address): the sidebar then needs the store's sources before it draws."""
    committed = st.session_state.get(_STATE)
    return bool(
        st.session_state.get(_KEYS["sources"])
        or st.query_params.get_all("source")
        or (committed is not None and getattr(committed, "sources", ()))
    )


def _date_note(filters: Filters, options: FilterOptions) -> None:
    """Under the dates: what the range leaves out, when it leaves something out."""
    bulk = (options.bulk_first, options.bulk_last)
    if options.outliers and (filters.start, filters.end) == bulk:
        st.sidebar.caption(
            f"The bulk of the data. Leaves out {options.outliers:,} conversation"
            f"{'s' if options.outliers != 1 else ''} opened far from the rest (the data "
            f"runs {options.first_day:%d %b %Y} – {options.last_day:%d %b %Y}); the Data "
            "page lists them."
        )
    elif (filters.start, filters.end) != (options.first_day, options.last_day):
        st.sidebar.caption(
            f"The data runs {options.first_day:%d %b %Y} – {options.last_day:%d %b %Y}."
        )


def _query_lists() -> dict[str, list[str]]:
    params = st.query_params
    return {name: list(params.get_all(name)) for name in params}


def _seed(filters: Filters) -> None:
    """Put the canonical filters into the widget keys."""
    state = st.session_state
    values: dict[str, Any] = {
        _KEYS["focus"]: filters.focus,
        _KEYS["competitors"]: list(filters.competitors),
        _KEYS["dates"]: (filters.start, filters.end),
        _KEYS["platform"]: filters.platform or ALL_PLATFORMS,
        _KEYS["sla"]: filters.sla_minutes,
        _KEYS["anonymise"]: filters.anonymise,
        _KEYS["sources"]: list(filters.sources),
    }
    for key, value in values.items():
        if key == _KEYS["dates"] and _half_picked(state.get(key)):
            continue  # the user is between the two clicks of a range: leave it be
        state[key] = value


def _half_picked(dates: object) -> bool:
    return isinstance(dates, tuple | list) and len(dates) == 1


def _commit() -> None:
    """on_change of every filter widget: the widgets' values become the filters."""
    state = st.session_state
    previous: Filters = state[_STATE]
    dates = state.get(_KEYS["dates"])
    # While a range is half picked the widget holds one date: keep the last full range.
    start, end = (
        (dates[0], dates[1])
        if isinstance(dates, tuple | list) and len(dates) == 2
        else (previous.start, previous.end)
    )
    focus = state.get(_KEYS["focus"])
    platform = state.get(_KEYS["platform"])
    state[_STATE] = replace(
        previous,
        focus=focus,
        competitors=tuple(b for b in state.get(_KEYS["competitors"], ()) if b != focus),
        start=start,
        end=end,
        platform=None if platform in (None, ALL_PLATFORMS) else str(platform),
        sla_minutes=int(state.get(_KEYS["sla"], DEFAULT_SLA_MINUTES)),
        anonymise=bool(state.get(_KEYS["anonymise"], False)),
        sources=tuple(state.get(_KEYS["sources"], ()) or ()),
    )


# Every URL parameter the global filters own; pages keep their own parameters beside them.
FILTER_PARAMS: tuple[str, ...] = (
    "focus",
    "vs",
    "from",
    "to",
    "sla",
    "platform",
    "anon",
    "source",
)


def _write_query(filters: Filters) -> None:
    """Write the filters into the URL, leaving parameters the filters do not own alone."""
    wanted = to_query(filters)
    params = st.query_params
    for name in FILTER_PARAMS:
        if name not in wanted and name in params:
            del params[name]
    for name, value in wanted.items():
        current: str | list[str] | None = (
            params.get_all(name) if isinstance(value, list) else params.get(name)
        )
        if current != value:
            params[name] = value
    if filters.anonymise:
        _pseudonymise_thread(params)


# What `pseudonymise_ids` makes of a conversation id.
_PSEUDONYM = re.compile(r"post-[0-9a-f]{16}")


def _pseudonymise_thread(params: Any) -> None:
    """With anonymise on, the open thread's id in the address (the Conversations page's
    ``thread``) becomes its pseudonym, on every page: a raw id names the customer (on
    Bluesky it holds their DID). The Conversations page resolves either form."""
    value = params.get("thread")
    if value and not _PSEUDONYM.fullmatch(value):
        params["thread"] = str(pseudonymise_ids(pd.Series([value], dtype="string")).iloc[0])
