"""An annotated thread: each turn with its role, time, delay and the phrases to highlight.

Pure functions, no streamlit: the Conversations page renders what `annotate_thread`
returns with `thread_html`. The signals come from the analysis (`scoring`: a turn
deflects, is empathic, hedges, is templated); this module only finds *where* in the
post the phrase behind each signal is, using the same phrase lists (`lexicon`), so a
trainer sees why a reply was counted. A signal whose phrase cannot be located still
shows as a badge on the turn.

Post text is data, never markup: `thread_html` escapes every character of it, so a
post reading ``<script>``, ``**bold**``, ``[link](http://x)`` or ``$x$`` shows exactly
that (rendered with ``st.html``, which reads neither markdown nor LaTeX).
"""

from __future__ import annotations

import html
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd

from carebench.benchmark import lexicon
from carebench.benchmark.anonymise import MASK_NAME, addressed_names, pseudonymise_ids
from carebench.benchmark.quality import quality_reasons, quality_score

Role = Literal["customer", "brand", "other brand"]
# What a highlighted stretch of text shows.
SpanKind = Literal["deflection", "empathy", "hedging", "signature", "name"]

# Colours of highlights and badges (light backgrounds, readable on a projector).
KIND_COLOURS: dict[str, str] = {
    "deflection": "#ffd8a8",
    "empathy": "#c3fae8",
    "hedging": "#e5dbff",
    "signature": "#d0ebff",
    "name": "#d0ebff",
    "slow": "#ffc9c9",
    "fast": "#d3f9d8",
    "template": "#fff3bf",
    "solved": "#d3f9d8",
    "problem": "#ffc9c9",
    "persists": "#ffc9c9",
    "fix": "#d3f9d8",
    "cannot_help": "#ffc9c9",
    "thanks": "#f1f3f5",
    "first": "#f1f3f5",
}
KIND_LABELS: dict[str, str] = {
    "deflection": "deflection",
    "empathy": "empathy",
    "hedging": "hedging",
    "signature": "agent sign-off",
    "name": "addressed by name",
}


@dataclass(frozen=True)
class Segment:
    """A stretch of a post's text; `kind` set when it is highlighted, with a `label`."""

    text: str
    kind: SpanKind | None = None
    label: str = ""


@dataclass(frozen=True)
class Badge:
    """A turn-level note: slow reply, template, a signal without a located phrase."""

    kind: str
    label: str


@dataclass(frozen=True)
class AnnotatedTurn:
    """One post of a thread, ready to render."""

    post_id: str
    role: Role
    author: str
    created_at: pd.Timestamp
    # Brand turns: seconds since the customer post they answer; else None.
    delay_seconds: float | None
    slow: bool
    segments: tuple[Segment, ...]
    badges: tuple[Badge, ...]


# -- phrase patterns on the original text ------------------------------------------------

_EDGE = "a-z0-9_"
_QUOTES = "\u2018\u2019\u201b\u02bc\u0060\u00b4"
_TOKENS = {
    "<link>": r"(?:https?://|www\.)[^ ]+",
    "<email>": r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+",
    "<handle>": r"@[a-z0-9_]+(?:-+[a-z0-9_]+)*(?:[.@][a-z0-9_]+(?:-+[a-z0-9_]+)*)*",
    "<phone>": "(?:" + "|".join(f"(?:{p})" for p in lexicon.PHONE_NUMBER_PATTERNS) + ")",
}
_LEADING_HANDLES = re.compile(r"^(?:[ .]*" + _TOKENS["<handle>"] + r"[ ,:;]*)+")


def _phrase(phrase: str) -> str:
    """A lexicon phrase as a Python regex over lower-cased text (see `lexicon`'s rules)."""
    body = phrase.replace("'", "'?")
    body = re.sub(r"(?<=[a-z])\*", "[a-z']*", body)
    for token, pattern in _TOKENS.items():
        body = body.replace(token, pattern)
    head = f"(?<![{_EDGE}])" if re.match(r"(?:\(\?:)?[a-z0-9_]", phrase) else ""
    tail = f"(?![{_EDGE}])" if re.search(r"[a-z0-9_)*?]$", phrase) else ""
    return f"{head}(?:{body}){tail}"


def _any(phrases: Iterable[str]) -> re.Pattern[str]:
    # Longest first: Python takes the first alternative that matches, and the longer
    # phrase is the better highlight ("any inconvenience this may have caused").
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile("|".join(_phrase(p) for p in ordered))


def warm_up() -> None:
    """Compile the highlighting patterns now (a tenth of a second), e.g. in a background
    thread, rather than when the first thread is opened."""
    _patterns()


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    """Compiled once: each deflection channel, empathy, hedging and their exceptions."""
    web_pointer = (
        f"(?:{_any(lexicon.WEB_LINK_POINTERS).pattern})[^.!?]{{0,60}}{_TOKENS['<link>']}"
        f"|(?:{_any(lexicon.WEB_LINK_VERBS).pattern})[ :>-]*{_TOKENS['<link>']}"
    )
    return {
        "dm": _any(lexicon.DM_PHRASES),
        "phone": _any((*lexicon.PHONE_PHRASES, "<phone>")),
        "email": _any((*lexicon.EMAIL_PHRASES, "<email>")),
        "web": re.compile(_any(lexicon.WEB_PHRASES).pattern + "|" + web_pointer),
        "store": _any(lexicon.STORE_PHRASES),
        "other_account": re.compile(
            f"(?:{_any(lexicon.OTHER_ACCOUNT_LEADS).pattern})[ :,]*{_TOKENS['<handle>']}"
        ),
        "deflection_exception": _any(lexicon.DEFLECTION_EXCEPTIONS),
        "empathy": _any(lexicon.EMPATHY_PHRASES),
        "empathy_exception": _any(lexicon.EMPATHY_EXCEPTIONS),
        "hedging": _any(lexicon.HEDGING_PHRASES),
        "hedging_exception": _any(lexicon.HEDGING_EXCEPTIONS),
    }


def _fold(text: str) -> tuple[str, list[int], list[int]]:
    """Lower-cased text with quotes straightened, entities decoded and whitespace runs
    collapsed, and for each of its characters the start and end in the original."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        for entity, char in (("&amp;", "&"), ("&gt;", ">"), ("&lt;", "<")):
            if text.startswith(entity, i):
                chars.append(char)
                starts.append(i)
                ends.append(i + len(entity))
                i += len(entity)
                break
        else:
            char = text[i]
            if char.isspace():
                if chars and chars[-1] == " ":
                    ends[-1] = i + 1
                    i += 1
                    continue
                char = " "
            elif char in _QUOTES:
                char = "'"
            lower = char.lower()
            chars.append(lower if len(lower) == 1 else char)
            starts.append(i)
            ends.append(i + 1)
            i += 1
    return "".join(chars), starts, ends


Span = tuple[int, int, SpanKind, str]


def _search(
    text: str, pattern: re.Pattern[str], exception: re.Pattern[str] | None, skip_handles: bool
) -> list[tuple[int, int]]:
    """Spans (in the original text) where `pattern` matches, outside `exception` matches."""
    folded, starts, ends = _fold(text)
    begin = 0
    if skip_handles:
        lead = _LEADING_HANDLES.match(folded)
        begin = lead.end() if lead else 0
    blocked = [m.span() for m in exception.finditer(folded)] if exception else []
    spans = []
    for match in pattern.finditer(folded, begin):
        lo, hi = match.span()
        if hi <= lo or any(lo < b_hi and b_lo < hi for b_lo, b_hi in blocked):
            continue
        spans.append((starts[lo], ends[hi - 1]))
    return spans


def deflection_spans(text: str, channels: Iterable[str]) -> list[Span]:
    """Where a brand post sends the customer elsewhere, for each channel it was counted for."""
    patterns = _patterns()
    spans: list[Span] = []
    for channel in channels:
        if channel not in patterns:
            continue
        found = _search(text, patterns[channel], patterns["deflection_exception"], True)
        spans.extend((lo, hi, "deflection", f"deflects to {channel}") for lo, hi in found)
    return spans


def empathy_spans(text: str) -> list[Span]:
    """The apology or acknowledgement in a brand post."""
    p = _patterns()
    found = _search(text, p["empathy"], p["empathy_exception"], True)
    return [(lo, hi, "empathy", "empathy") for lo, hi in found]


def hedging_spans(text: str) -> list[Span]:
    """Legalistic distancing in a brand post."""
    p = _patterns()
    found = _search(text, p["hedging"], p["hedging_exception"], True)
    return [(lo, hi, "hedging", "hedging") for lo, hi in found]


def signature_spans(text: str) -> list[Span]:
    """The agent's sign-off at the end of a brand post (``^AB``, ``-Becky``)."""
    match = re.search(lexicon.SIGNOFF_PATTERN, text)
    if not match:
        return []
    lo = match.start() + (len(match[0]) - len(match[0].lstrip()))
    return [(lo, match.end(1), "signature", f"signed by {match[1]}")]


def name_spans(text: str) -> list[Span]:
    """The customer's first name in a brand post that addresses them by it ("Hi Sarah,")."""
    names = addressed_names(pd.Series([text], dtype="string"))["name"].tolist()
    words = [re.escape(str(n)) for n in names] or [re.escape(MASK_NAME)]
    pattern = re.compile(r"(?<![A-Za-z0-9_@])(?:" + "|".join(words) + r")(?![A-Za-z0-9_])")
    match = pattern.search(text) if names else re.compile(words[0]).search(text)
    return [(match.start(), match.end(), "name", "addressed by name")] if match else []


def segments(text: str, spans: Sequence[Span]) -> tuple[Segment, ...]:
    """The text cut into plain and highlighted segments; overlapping spans: the earlier
    (then the longer) one wins. Joining the segments gives the text back exactly."""
    ordered = sorted(spans, key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[Segment] = []
    cursor = 0
    for lo, hi, kind, label in ordered:
        if lo < cursor or hi <= lo:
            continue
        if lo > cursor:
            out.append(Segment(text[cursor:lo]))
        out.append(Segment(text[lo:hi], kind, label))
        cursor = hi
    if cursor < len(text) or not out:
        out.append(Segment(text[cursor:]))
    return tuple(out)


# -- a whole thread ------------------------------------------------------------------------


def template_sizes(turns: pd.DataFrame, templates: pd.DataFrame) -> dict[str, int]:
    """How many times each template was sent: the top-templates count (every post the
    brand wrote) where known, else the count among the conversations' brand turns."""
    sizes: dict[str, int] = {}
    if "template_id" in turns:
        counts = turns["template_id"].dropna().astype(str).value_counts()
        sizes.update({str(k): int(v) for k, v in counts.items()})
    if {"template_id", "posts"} <= set(templates.columns):
        sizes.update(
            {
                str(k): int(v)
                for k, v in zip(templates["template_id"], templates["posts"], strict=True)
            }
        )
    return sizes


def _role(turn: Mapping[Hashable, object]) -> Role:
    if turn.get("author_role") == "customer":
        return "customer"
    return "brand" if bool(turn.get("is_brand_turn")) else "other brand"


def _text(value: object) -> str:
    return (
        ""
        if value is None or value is pd.NA or (isinstance(value, float) and value != value)
        else str(value)
    )


def duration(seconds: float) -> str:
    """A delay as a person says it: 45 s, 12 min, 3 h 05 min, 2 d 4 h."""
    if seconds != seconds:
        return "-"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 60:
        return f"{sign}{s:.0f} s"
    if s < 3600:
        return f"{sign}{s / 60:.0f} min"
    if s < 86400:
        hours, rest = divmod(round(s), 3600)
        return f"{sign}{hours} h {rest // 60:02d} min"
    days, rest = divmod(round(s), 86400)
    return f"{sign}{days} d {rest // 3600} h"


def annotate_thread(
    thread: pd.DataFrame, sla_seconds: float, sizes: Mapping[str, int] | None = None
) -> list[AnnotatedTurn]:
    """Every turn of one conversation, in order, with its highlights and badges.

    Parameters
    ----------
    thread : pd.DataFrame
        The turns of one conversation (`Analysis.turns` rows), any order.
    sla_seconds : float
        A brand reply later than this after the customer post it answers is slow.
    sizes : mapping, optional
        Template id -> how many times the brand sent it (see `template_sizes`).
    """
    sizes = sizes or {}
    ordered = thread.sort_values(["created_at", "post_id"], kind="stable")
    posted_at = dict(zip(ordered["post_id"].astype(str), ordered["created_at"], strict=True))
    first_brand_seen = False
    annotated: list[AnnotatedTurn] = []
    for turn in ordered.to_dict("records"):
        text = _text(turn.get("text"))
        role = _role(turn)
        spans: list[Span] = []
        badges: list[Badge] = []
        delay: float | None = None
        slow = False
        if role == "brand":
            answered = _text(turn.get("answered_post_id"))
            if answered in posted_at:
                delay = (turn["created_at"] - posted_at[answered]).total_seconds()
                slow = delay > sla_seconds
            if not first_brand_seen:
                badges.append(Badge("first", "first response"))
                first_brand_seen = True
            if delay is not None:
                kind = "slow" if slow else "fast"
                note = "over" if slow else "within"
                badges.append(
                    Badge(kind, f"{'slow' if slow else 'on time'}: {duration(delay)} ({note} SLA)")
                )
            channels = [c for c in _text(turn.get("deflection_channels")).split(";") if c]
            if channels:
                found = deflection_spans(text, channels)
                spans += found
                badges.append(Badge("deflection", "deflects to " + ", ".join(channels)))
            if bool(turn.get("empathic")):
                spans += empathy_spans(text)
                badges.append(Badge("empathy", "empathy"))
            if bool(turn.get("hedging")):
                spans += hedging_spans(text)
                badges.append(Badge("hedging", "hedging"))
            if _text(turn.get("agent_signature")):
                spans += signature_spans(text)
            if bool(turn.get("addresses_by_name")):
                spans += name_spans(text)
            template = _text(turn.get("template_id"))
            if template:
                times = sizes.get(template)
                sent = f"sent {times:,} times" if times else "sent again and again"
                number = template.rsplit("#", 1)[-1]
                badges.append(Badge("template", f"template #{number}, {sent}"))
            answer = _text(turn.get("answer_kind"))
            if answer == "fix":
                badges.append(Badge("fix", "states a fix"))
            elif answer == "cannot_help":
                badges.append(Badge("cannot_help", "cannot help, no route"))
        elif role == "customer":
            signal = _text(turn.get("customer_signal"))
            if signal:
                label = {
                    "solved": "says it is solved",
                    "persists": "says it persists",
                    "problem": "problem",
                    "thanks": "thanks",
                }
                badges.append(Badge(signal, label.get(signal, signal)))
        annotated.append(
            AnnotatedTurn(
                post_id=_text(turn.get("post_id")),
                role=role,
                author=_text(turn.get("author_handle")) or _text(turn.get("author_id")),
                created_at=turn["created_at"],
                delay_seconds=delay,
                slow=slow,
                segments=segments(text, spans),
                badges=tuple(badges),
            )
        )
    return annotated


# -- HTML ------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def thread_html(turns: Sequence[AnnotatedTurn]) -> str:
    """The annotated thread as HTML for ``st.html``; every piece of data is escaped."""
    parts = ['<div class="cb-thread" style="font-size:1.05rem;line-height:1.5">']
    for turn in turns:
        brand = turn.role != "customer"
        align = "margin-left:12%" if brand else "margin-right:12%"
        background = "#f8f9fa" if brand else "#ffffff"
        when = turn.created_at.strftime("%Y-%m-%d %H:%M UTC")
        meta = f"<b>{_escape(turn.role)}</b> · {_escape(turn.author)} · {_escape(when)}"
        if turn.delay_seconds is not None:
            meta += f" · {_escape(duration(turn.delay_seconds))} after the customer"
        body = "".join(_segment_html(segment) for segment in turn.segments)
        badges = " ".join(
            f'<span class="cb-badge cb-{_escape(b.kind)}" style="background:'
            f"{KIND_COLOURS.get(b.kind, '#f1f3f5')};border-radius:4px;padding:1px 6px;"
            f'font-size:0.85rem">{_escape(b.label)}</span>'
            for b in turn.badges
        )
        border = "#e03131" if turn.slow else "#dee2e6"
        parts.append(
            f'<div class="cb-turn cb-{_escape(turn.role.replace(" ", "-"))}" '
            f'data-post="{_escape(turn.post_id)}" style="{align};background:{background};'
            f'border:1px solid {border};border-radius:8px;padding:8px 12px;margin:6px 0">'
            f'<div class="cb-meta" style="color:#495057;font-size:0.85rem">{meta}</div>'
            f'<div class="cb-text" style="white-space:pre-wrap">{body}</div>'
            + (f'<div class="cb-badges" style="margin-top:4px">{badges}</div>' if badges else "")
            + "</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def _segment_html(segment: Segment) -> str:
    text = _escape(segment.text)
    if segment.kind is None:
        return text
    colour = KIND_COLOURS.get(segment.kind, "#fff3bf")
    return (
        f'<mark class="cb-{segment.kind}" title="{_escape(segment.label)}" '
        f'style="background:{colour};padding:0 2px;border-radius:3px">{text}</mark>'
    )


# -- choosing conversations -------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadFilter:
    """The Conversations page's own filters, on top of the global ones (None = any)."""

    brands: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    deflected: bool | None = None
    templated: bool | None = None
    # Slow: the first response came after the SLA; False: within it (unanswered: neither).
    slow: bool | None = None
    empathy: bool | None = None


def select_conversations(
    conversations: pd.DataFrame, wanted: ThreadFilter, sla_seconds: float
) -> pd.DataFrame:
    """The conversations matching every filter that is set."""
    c = conversations
    keep = pd.Series(True, index=c.index)
    if wanted.brands:
        keep &= c["brand"].isin(list(wanted.brands)).fillna(False).astype(bool)
    if wanted.outcomes:
        keep &= c["outcome"].isin(list(wanted.outcomes)).fillna(False).astype(bool)
    if wanted.deflected is not None:
        keep &= c["deflected"].astype(bool) == wanted.deflected
    if wanted.templated is not None:
        keep &= (c["templated_posts"].fillna(0) > 0) == wanted.templated
    if wanted.slow is not None:
        ttfr = pd.to_numeric(c["ttfr_seconds"], errors="coerce")
        valid = ttfr.notna() & (ttfr >= 0)
        late = ttfr > sla_seconds
        keep &= valid & (late if wanted.slow else ~late)
    if wanted.empathy is not None:
        empathy = c["empathy_first_reply"].astype("boolean")
        keep &= (empathy == wanted.empathy).fillna(False).astype(bool)
    return c[keep.to_numpy(dtype=bool)]


SortOrder = Literal["newest", "worst", "best", "slowest"]
SORT_LABELS: dict[SortOrder, str] = {
    "newest": "Newest first",
    "worst": "Lowest quality first",
    "best": "Highest quality first",
    "slowest": "Slowest first response first",
}
# Characters of the customer's first post shown in the list.
PREVIEW_CHARS = 140


def _first_rows(
    keys: pd.DataFrame, columns: list[str], ascending: list[bool], n: int
) -> np.ndarray:
    """Positions of the first `n` rows of `keys` sorted stably by `columns` (missing
    values last), as sorting every row would give them.

    Only the rows whose first key can be among the first `n` are sorted: those at least
    as good as the n-th best first key (ties included, so the later keys and the rows'
    order still decide among them), and every row when fewer than n have a first key.
    """
    head = keys[columns[0]]
    known = head.notna().to_numpy(dtype=bool)
    if 0 < n < known.sum():
        values = head[known]
        nth = values.nsmallest(n).iloc[-1] if ascending[0] else values.nlargest(n).iloc[-1]
        near = (head <= nth) if ascending[0] else (head >= nth)
        keys = keys[near.fillna(False).to_numpy(dtype=bool)]
    ordered = keys.sort_values(columns, ascending=ascending, na_position="last", kind="stable")
    return ordered.index.to_numpy()[:n]


def conversation_list(
    conversations: pd.DataFrame, sla_seconds: float, order: SortOrder = "newest", n: int = 100
) -> pd.DataFrame:
    """The first `n` conversations in `order`, as the list the page shows (n rows at most).

    Columns: ``platform`` and ``conversation_id`` (the keys), then what a reader scans:
    brand, opened, customer, first post (shortened), first response (minutes), outcome,
    deflected to, templated replies, empathy, quality (0-100) and why.
    """
    columns, ascending = {
        "newest": (["opened_at", "conversation_id"], [False, True]),
        "worst": (["quality", "opened_at"], [True, False]),
        "best": (["quality", "opened_at"], [False, False]),
        "slowest": (["ttfr_seconds", "opened_at"], [False, False]),
    }[order]
    # Only the sort keys are sorted, by position, and only the first n rows are taken:
    # sorting every column of half a million conversations cost a fifth of a second.
    keys = pd.DataFrame(
        {
            name: (
                quality_score(conversations, sla_seconds)
                if name == "quality"
                else conversations[name]
            ).reset_index(drop=True)
            for name in columns
        }
    )
    first = _first_rows(keys, columns, ascending, n)
    top = conversations.iloc[first]
    top = top.assign(quality=quality_score(top, sla_seconds))
    preview = top["root_text"].astype("string").fillna("")
    shortened = preview.str.slice(0, PREVIEW_CHARS).where(
        preview.str.len() <= PREVIEW_CHARS, preview.str.slice(0, PREVIEW_CHARS - 1) + "…"
    )
    return pd.DataFrame(
        {
            "platform": top["platform"].astype("string"),
            "conversation_id": top["conversation_id"].astype("string"),
            "brand": top["brand"].astype("string"),
            "opened": top["opened_at"],
            "customer": top["customer_id"].astype("string"),
            "first post": shortened,
            "first response (min)": pd.to_numeric(top["ttfr_seconds"], errors="coerce") / 60,
            "outcome": top["outcome"].astype("string"),
            "deflected to": top["deflection_channels"].astype("string").str.replace(";", ", "),
            "templated replies": top["templated_posts"].astype("int64"),
            "empathy": top["empathy_first_reply"].astype("boolean"),
            "quality": top["quality"].round(1),
            "why": quality_reasons(top, sla_seconds),
        }
    ).reset_index(drop=True)


def thread_of(turns: pd.DataFrame, platform: str, conversation_id: str) -> pd.DataFrame:
    """The turns of one conversation (ids are per platform)."""
    keep = (turns["conversation_id"].astype("string") == conversation_id) & (
        turns["platform"].astype("string") == platform
    )
    return turns[keep.fillna(False).to_numpy(dtype=bool)]


@dataclass(frozen=True)
class ThreadIndex:
    """Where each conversation's turns are: opening a thread becomes a lookup, not a scan
    of every turn. Built once per analysis by `thread_index`."""

    keys: pd.Index
    order: np.ndarray
    starts: np.ndarray

    def positions(self, platform: str, conversation_id: str) -> np.ndarray:
        """Row positions (for ``iloc``) of the conversation's turns; empty when unknown."""
        key = f"{platform}\x1f{conversation_id}"
        if key not in self.keys:
            return np.array([], dtype=np.int64)
        code = int(self.keys.get_loc(key))  # type: ignore[arg-type]
        return self.order[self.starts[code] : self.starts[code + 1]]


def thread_index(turns: pd.DataFrame) -> ThreadIndex:
    """Index the turns by (platform, conversation_id)."""
    keys = turns["platform"].astype("string") + "\x1f" + turns["conversation_id"].astype("string")
    codes, uniques = pd.factorize(keys)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    index = pd.Index(uniques)
    if len(index):
        index.get_loc(index[0])  # builds the hash table now, not at the first thread opened
    return ThreadIndex(keys=index, order=order, starts=starts)


def find_conversation(
    conversations: pd.DataFrame, conversation_id: str, platform: str | None, anonymised: bool
) -> pd.DataFrame:
    """The conversations a thread link names, whichever form of id the link holds.

    A link copied with anonymise on holds the conversation's pseudonym (``post-...``, see
    `pseudonymise_ids`); one copied with it off holds the raw id. Either opens the
    thread in either view: the raw id of an anonymised view is found by its pseudonym,
    and a pseudonym in a plain view by hashing the view's ids (only when no raw id
    matches). Pseudonyms are keyed per process, so they resolve while the dashboard
    that made them runs.
    """
    ids = conversations["conversation_id"].astype("string")
    keep = ids == conversation_id
    if platform:
        keep &= conversations["platform"].astype("string") == platform
    found = conversations[keep.fillna(False).to_numpy(dtype=bool)]
    if not found.empty:
        return found
    if anonymised:
        wanted = str(pseudonymise_ids(pd.Series([conversation_id], dtype="string")).iloc[0])
        keep = ids == wanted
    else:
        keep = pseudonymise_ids(ids) == conversation_id
    if platform:
        keep &= conversations["platform"].astype("string") == platform
    return conversations[keep.fillna(False).to_numpy(dtype=bool)]


# -- why each label -------------------------------------------------------------------------

# Channel names as a reader says them (the analysis stores them `;`-joined).
CHANNEL_WORDS: dict[str, str] = {
    "dm": "DM",
    "phone": "phone",
    "email": "e-mail",
    "web": "web / form",
    "store": "store",
    "other_account": "another account",
}


def label_reasons(conversations: pd.DataFrame) -> pd.Series:
    """Each conversation's outcome and deflection labels with what set them, `; `-joined.

    E.g. "resolved: the brand answered in public, no objection after; deflected at
    first reply to DM, phone". The outcome's reason is the analysis' `outcome_reason`
    (the rule that fired, see `scoring._outcomes`); a trainer can then tell a label
    the rules earned from one they guessed. Empathy and templates are in
    `quality_reasons`. An analysis without `outcome_reason` shows the outcome alone.
    A loop per row: meant for the few conversations a page shows.
    """
    c = conversations
    outcome = c["outcome"].astype("string").fillna("")
    if "outcome_reason" in c:
        why = c["outcome_reason"].astype("string").fillna("")
    else:
        why = pd.Series("", index=c.index, dtype="string")
    answered = c["answered"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    deflected = c["deflected"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    first = c["first_touch_deflection"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    channels = c["deflection_channels"].astype("string").fillna("")
    rows = []
    for i, (label, reason, lists) in enumerate(zip(outcome, why, channels, strict=True)):
        parts = [f"{label}: {reason}" if reason else label] if label else []
        if deflected[i]:
            named = ", ".join(CHANNEL_WORDS.get(x, x) for x in str(lists).split(";") if x)
            when = "at first reply" if first[i] else "later in the thread"
            parts.append(f"deflected {when}" + (f" to {named}" if named else ""))
        elif answered[i]:
            parts.append("not deflected: no reply sends the customer elsewhere")
        rows.append("; ".join(parts))
    return pd.Series(rows, index=c.index, dtype="string")


# -- search ------------------------------------------------------------------------------------


def search_conversations(
    conversations: pd.DataFrame, turns: pd.DataFrame, text: str
) -> pd.DataFrame:
    """The conversations with a post (customer's or brand's) containing `text`.

    Case-insensitive, the words as typed (no pattern syntax: a trainer types "refund"
    or "dm us", not a regex). `turns` are the view's turns (anonymised when the view
    is, so a masked name finds nothing). Matched on Arrow (one pass over the texts).
    """
    wanted = text.strip()
    if not wanted:
        return conversations
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pa.array(turns["text"].astype("string").array)
    found = pc.fill_null(pc.match_substring(texts, wanted, ignore_case=True), False)
    hit = found.to_numpy(zero_copy_only=False)
    keys = pd.MultiIndex.from_arrays(
        [
            turns["platform"].astype("string").to_numpy()[hit],
            turns["conversation_id"].astype("string").to_numpy()[hit],
        ]
    )
    own = pd.MultiIndex.from_arrays(
        [
            conversations["platform"].astype("string").to_numpy(),
            conversations["conversation_id"].astype("string").to_numpy(),
        ]
    )
    keep = own.isin(keys)
    return conversations[keep]


# -- a pinned thread as CSV rows -----------------------------------------------------------------


def annotation_text(turn: AnnotatedTurn) -> str:
    """A turn's badges and highlighted phrases as one line: "first response; deflects to
    dm; highlighted: deflects to dm "DM us"" (what the page shows in colour)."""
    parts = [badge.label for badge in turn.badges]
    marked = [f'{s.label} "{s.text}"' for s in turn.segments if s.kind is not None]
    if marked:
        parts.append("highlighted: " + ", ".join(marked))
    return "; ".join(parts)


def thread_rows(turns: Sequence[AnnotatedTurn]) -> pd.DataFrame:
    """Every turn of one annotated thread as a table row: order, role, author, time,
    delay, text and annotations."""
    return pd.DataFrame(
        {
            "turn": range(1, len(turns) + 1),
            "post_id": [t.post_id for t in turns],
            "role": [t.role for t in turns],
            "author": [t.author for t in turns],
            "posted_at": pd.to_datetime([t.created_at for t in turns], utc=True),
            "seconds_after_customer": [t.delay_seconds for t in turns],
            "over_sla": [t.slow if t.role == "brand" else None for t in turns],
            "text": ["".join(s.text for s in t.segments) for t in turns],
            "annotations": [annotation_text(t) for t in turns],
        }
    )
