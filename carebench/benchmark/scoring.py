"""Conversations + text signals -> one scored row per conversation.

Each column added here is one signal from METRICS.md; its definition is in the
docstring of the function that computes it and, for text, in `lexicon.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carebench.benchmark import text_signals
from carebench.benchmark.arrow_text import as_arrow
from carebench.benchmark.brand_rules import template_brand_posts
from carebench.benchmark.conversations import build_threads, epoch_seconds
from carebench.benchmark.memory import release_freed_memory
from carebench.benchmark.runs import first_of_runs
from carebench.benchmark.settings import Settings
from carebench.benchmark.shared_jobs import SharedJobs
from carebench.benchmark.templates import search_templates, top_templates
from carebench.benchmark.topics import conversation_topics, topic_of_texts
from carebench.brands import BrandConfig

Outcome = Literal["resolved", "unresolved", "unknown", "unanswered"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
# brand posts -> (each one's template id, aligned with them; the templates table).
TemplateSearchFn = Callable[[pd.DataFrame], tuple[pd.Series, pd.DataFrame]]


@dataclass(frozen=True)
class Analysis:
    """Everything the scorecard, exports and dashboard read.

    conversations: one scored row per customer-started conversation.
    turns: every post of those conversations, in order, with its signals.
    templates: each brand's largest templates (see `templates.top_templates`).
    issues: data-quality counts.
    """

    conversations: pd.DataFrame
    turns: pd.DataFrame
    templates: pd.DataFrame
    issues: dict[str, int]


def analyse(
    posts: pd.DataFrame,
    settings: Settings | None = None,
    brands: BrandConfig | None = None,
    *,
    consume: bool = False,
    accounts: dict[str, str] | None = None,
    template_search: TemplateSearchFn | None = None,
) -> Analysis:
    """Rebuild conversations from posts and score every signal.

    `accounts`: the brand accounts of the whole store when `posts` are some brands'
    share of it (see `conversations.build_threads`).

    `template_search(brand_posts)`: each brand post's template id (aligned with
    `brand_posts`, see `brand_rules.template_brand_posts`) and the templates table. By
    default the search over these posts; a caller analysing only some trees of a store
    passes one that answers from a search over the brands' whole output (templates are
    found across all a brand wrote, not per tree: see `appended`).

    `consume=True` empties `posts` (in place) as the conversations are rebuilt, which
    saves ~0.8 GB at 2.8M posts: for a caller that has no further use for the frame
    (`pipeline.analyse_store`). By default `posts` is left as it was.

    Templates run in a worker thread from the start, while this thread rebuilds the
    conversations, computes the text signals (with the worker's help once its search is
    done) and scores everything but the template counts; only those wait for the worker,
    which also takes the conversation outcomes once its templates are done.
    Both strands spend most of their time in numpy/pyarrow/numba code that releases the
    GIL, so on two cores they overlap. The two strands' memory peaks meet, so the rebuild
    empties `posts` as it copies them into the turns, and freed memory is handed back to
    the system between steps (see `carebench.benchmark.memory`).
    Brand text signals are computed per brand post and looked up by the post's row, as
    template ids are. `posts` is emptied: pass a frame you no longer need.
    """
    settings = settings or Settings()
    brands = brands or BrandConfig()
    brand_posts = template_brand_posts(posts)
    release_freed_memory()
    # Text signals go a chunk at a time through a queue that both strands draw from: this
    # thread once the conversations are rebuilt, the template worker once its search is
    # done; so neither core idles while the other strand still has work. (A third strand
    # draining the queue from the start kept templates, the longest strand, from a core
    # of their own: 3 s slower at 2.8M posts.)
    shared = SharedJobs()
    brand_parts = [
        shared.add(partial(_brand_signal_columns, chunk)) for chunk in _chunks(brand_posts["text"])
    ]
    with ThreadPoolExecutor(max_workers=1) as pool:
        search = template_search or partial(_templates, settings=settings)
        templates_done = pool.submit(_templates_then_help, brand_posts, search, shared)
        # Consumed, the posts are emptied as the turns are built: both whole cost 0.8 GB more.
        threads = build_threads(posts, consume=consume, accounts=accounts)
        del posts
        release_freed_memory()
        turns = threads.turns
        customer = turns["is_customer_turn"].to_numpy(dtype=bool)
        customer_parts = [
            shared.add(partial(_customer_signal_columns, chunk))
            for chunk in _chunks(turns.loc[customer, "text"])
        ]
        shared.work()
        # Both sides know each post by its row in `posts`: each of the brand's own turns
        # finds its brand post by position. The brand signals and the template ids come
        # in the brand posts' row order, so one lookup serves both.
        own = turns["is_brand_turn"].to_numpy(dtype=bool)
        brand_row = _rows_at(brand_posts.index, turns["_pos"].to_numpy(), own)
        _add_signals(turns, _stacked(brand_parts, _brand_signal_columns), brand_row)
        # The customer signals come in the customer turns' order.
        customer_row = np.where(customer, np.cumsum(customer) - 1, -1)
        _add_signals(turns, _stacked(customer_parts, _customer_signal_columns), customer_row)
        # Everything but the template counts is scored while templates still run.
        # Conversations and turns meet on the root post's row (`_root`): integer keys group
        # and look up several times faster than conversation id strings, and two
        # platforms that reuse a post id can never be mixed up.
        conversations = threads.conversations.set_index("_root")
        # The outcomes go to the worker, which is done with templates by now (else they
        # wait their turn): this tail ran on one core while the other idled. The worker
        # reads its own frame of the two columns it needs, as this thread adds columns.
        outcomes = pool.submit(_outcomes, turns, conversations[["answered", "opened_at"]])
        _add_columns(conversations, _brand_turn_signals(turns))
        _add_columns(conversations, _customer_turn_signals(turns))
        repeats = repeat_contact(conversations, settings.repeat_contact_days)
        opened_hour = _hour_of_week(conversations, brands)
        _add_columns(conversations, outcomes.result())
        conversations["repeat_contact"] = repeats
        conversations["opened_hour_of_week"] = opened_hour
        template_of, templates = templates_done.result()
    del brand_posts
    turns["template_id"] = _strings_at(template_of, brand_row, pd.NA)
    turns["templated"] = turns["template_id"].notna()
    templated_posts = (
        turns.loc[own, ["_root", "templated"]].groupby("_root", sort=False)["templated"].sum()
    )
    conversations["templated_posts"] = templated_posts.reindex(conversations.index)
    conversations = _fill_defaults(conversations.reset_index(drop=True))
    return Analysis(
        conversations=conversations,
        turns=turns,
        templates=templates,
        issues=threads.issues,
    )


def _add_columns(conversations: pd.DataFrame, per_conversation: pd.DataFrame) -> None:
    """Add each column of `per_conversation` (in place, aligned on the index).

    What a left join gives, without copying every column already there (root texts
    included) once per join.
    """
    for column in per_conversation.columns:
        conversations[column] = per_conversation[column].reindex(conversations.index)


def _rows_at(index: pd.Index, positions: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each wanted position, its row in `index` (row positions); -1 elsewhere."""
    size = 1 + max(index.max() if len(index) else -1, positions.max(initial=-1))
    slot = np.full(size, -1, dtype=np.int64)
    slot[index.to_numpy()] = np.arange(len(index))
    return np.where(wanted, slot[positions], -1)


def _strings_at(
    values: pd.Series, rows: np.ndarray, fill: object
) -> pd.api.extensions.ExtensionArray:
    """`values` at `rows` (`_rows_at`), `fill` where the row is -1, as Arrow strings.

    Taken in Arrow: going through numpy built a Python str per turn.
    """
    if not len(values):
        return pd.array(np.full(len(rows), fill, dtype=object), "string")
    found = pa.array(rows >= 0)
    fill_value = pa.scalar(None if fill is pd.NA else fill, pa.large_string())
    taken = as_arrow(values.astype("string")).take(pa.array(np.maximum(rows, 0)))
    return pd.array(pc.if_else(found, taken, fill_value.cast(taken.type)), "string")


def _templates(brand_posts: pd.DataFrame, settings: Settings) -> tuple[pd.Series, pd.DataFrame]:
    """Each brand post's template id (indexed by its row in posts) and the top templates."""
    search = search_templates(brand_posts, settings.templates)
    return search.ids, top_templates(brand_posts, search.ids, normalised=search.normalised)


def _templates_then_help(
    brand_posts: pd.DataFrame, search: TemplateSearchFn, shared: SharedJobs
) -> tuple[pd.Series, pd.DataFrame]:
    """The template search (`_templates` unless a caller gave its own), then a hand with
    the text signals still queued."""
    result = search(brand_posts)
    shared.work()
    return result


# Text signals run over this many texts at a time: every clean-up pass makes a new copy
# of the texts, so chunks bound that working memory at no cost in speed.
_TEXT_CHUNK = 150_000


def _chunks(texts: pd.Series) -> list[pd.Series]:
    """The texts in slices of `_TEXT_CHUNK`."""
    return [texts.iloc[at : at + _TEXT_CHUNK] for at in range(0, len(texts), _TEXT_CHUNK)]


def _stacked(
    parts: list[Future[pd.DataFrame]], signals: Callable[[pd.Series], pd.DataFrame]
) -> pd.DataFrame:
    """The signal frames of all chunks, stacked (`signals` of no text when there is none)."""
    if not parts:
        return signals(pd.Series([], dtype="string"))
    return pd.concat([part.result() for part in parts])


def _brand_signal_columns(texts: pd.Series) -> pd.DataFrame:
    # The texts are cleaned once and shared by all the signals that read them.
    given = text_signals.prepare_texts(texts)
    channels = text_signals.deflection_channels(given)
    return pd.DataFrame(
        {
            "deflection_channels": channels,
            "deflects": (channels != "").to_numpy(dtype=bool),
            "empathic": text_signals.is_empathic(given),
            "hedging": text_signals.is_hedging(given),
            "addresses_by_name": text_signals.addresses_by_name(given),
            "agent_signature": text_signals.agent_signature(given),
            "answer_kind": text_signals.brand_answer_kind(given),
            "reply_act": text_signals.brand_reply_act(given),
        },
        index=texts.index,
    )


def _customer_signal_columns(texts: pd.Series) -> pd.DataFrame:
    given = text_signals.prepare_texts(texts)
    care = text_signals.is_care_request(given)
    return pd.DataFrame(
        {
            "customer_signal": text_signals.customer_signal(given),
            "care_request": care,
            "topic": topic_of_texts(given, care.to_numpy(dtype=bool)),
        },
        index=texts.index,
    )


def _add_signals(turns: pd.DataFrame, signals: pd.DataFrame, rows: np.ndarray) -> None:
    """Add text signal columns to the turns (in place; "", False or <NA> on other turns).

    `rows` gives each turn's row in `signals` (`_rows_at`), -1 for the turns that get
    none: for the brand signals, customer turns and another brand's post in the thread.
    """
    own = rows >= 0
    for column in signals.columns:
        if signals[column].dtype == bool:
            flags = np.zeros(len(turns), dtype=bool)
            flags[own] = signals[column].to_numpy(dtype=bool)[rows[own]]
            turns[column] = flags
        else:  # text: "" when there is no value, but a missing signature stays <NA>
            fill = pd.NA if column == "agent_signature" else ""
            turns[column] = _strings_at(signals[column], rows, fill)


def _brand_turn_signals(turns: pd.DataFrame) -> pd.DataFrame:
    """Per conversation: deflection, templates, empathy, hedging, personal touch, follow-up.

    - deflected: at least one of the brand's posts deflects; deflection_channels the
      `;`-joined union of channels in the fixed channel order.
    - first_touch_deflection: the brand's first reply deflects.
    - templated_posts: the brand's posts that belong to a template (left NaN here and
      filled by `analyse` once templates are known).
    - empathy_first_reply: the brand's first reply acknowledges or apologises.
    - hedging: any of the brand's replies hedges.
    - personal_posts: the brand's posts that are signed or address the customer by name.
    - signed_posts / agents: signed replies and distinct signatures;
      agent_continuity: with >= 2 signed replies, all signed by one agent (NA below 2:
      unsigned replies are not evidence either way).
    - follow_up: after its first deflecting post the brand posts again in public
      (NA when the conversation was not deflected).
    """
    # Turns come grouped by conversation, so the brand's posts of a conversation are one
    # run of rows: every figure is a reduction over runs (numpy `reduceat`), not a
    # pandas groupby (0.57 s -> 0.1 s for 1.28M brand posts).
    own = np.flatnonzero(turns["is_brand_turn"].to_numpy(dtype=bool))
    root = turns["_root"].to_numpy()[own]
    first = first_of_runs(root)
    starts = np.flatnonzero(first)
    result = pd.DataFrame(index=pd.Index(root[starts], name="_root"))
    if not len(own):
        return _empty_brand_turn_signals(result.index)

    def column(name: str) -> np.ndarray:
        return turns[name].to_numpy(dtype=bool)[own]

    deflects = column("deflects")
    result["deflected"] = np.logical_or.reduceat(deflects, starts)
    # Channels as bits: a post's few distinct channel lists are decoded once, and the
    # union per conversation is an OR over its run of rows.
    codes, lists = pd.factorize(turns["deflection_channels"].iloc[own].fillna(""))
    post_bits = np.array([_channel_bits(str(value)) for value in lists], dtype=np.int64)[codes]
    union = np.bitwise_or.reduceat(post_bits, starts)
    result["deflection_channels"] = pd.array(text_signals.CHANNEL_LISTS[union], dtype="string")
    result["first_touch_deflection"] = deflects[starts]
    # Filled in by `analyse` once templates are known; the column keeps its place.
    result["templated_posts"] = np.nan
    result["empathy_first_reply"] = column("empathic")[starts]
    result["hedging"] = np.logical_or.reduceat(column("hedging"), starts)
    signature, agents = pd.factorize(turns["agent_signature"].iloc[own])
    signed = signature >= 0
    personal = signed | column("addresses_by_name")
    result["personal_posts"] = np.add.reduceat(personal.astype(np.int64), starts)
    signed_posts = np.add.reduceat(signed.astype(np.int64), starts)
    result["signed_posts"] = signed_posts
    # Distinct signatures per conversation: distinct (run, signature) pairs, counted.
    run = np.cumsum(first) - 1
    pairs = pd.unique(run[signed] * (len(agents) + 1) + signature[signed])
    distinct = np.bincount(pairs // (len(agents) + 1), minlength=len(starts))
    result["agents"] = distinct
    continuity = pd.array(distinct == 1, dtype="boolean")
    continuity[signed_posts < 2] = pd.NA
    result["agent_continuity"] = continuity
    # Follow-up: the brand's last post comes after its first deflecting post.
    created = turns["created_at"].astype("int64").to_numpy()[own]
    never = np.iinfo(np.int64).max
    first_deflect_at = np.minimum.reduceat(np.where(deflects, created, never), starts)
    last_post_at = np.maximum.reduceat(created, starts)
    follow = pd.array(last_post_at > first_deflect_at, dtype="boolean")
    follow[~result["deflected"].to_numpy()] = pd.NA
    result["follow_up"] = follow
    return result


def _empty_brand_turn_signals(index: pd.Index) -> pd.DataFrame:
    """`_brand_turn_signals` when no conversation has a brand post: its columns, no rows."""
    return pd.DataFrame(
        {
            "deflected": pd.Series(dtype=bool),
            "deflection_channels": pd.Series(dtype="string"),
            "first_touch_deflection": pd.Series(dtype=bool),
            "templated_posts": pd.Series(dtype=float),
            "empathy_first_reply": pd.Series(dtype=bool),
            "hedging": pd.Series(dtype=bool),
            "personal_posts": pd.Series(dtype=np.int64),
            "signed_posts": pd.Series(dtype=np.int64),
            "agents": pd.Series(dtype=np.int64),
            "agent_continuity": pd.Series(dtype="boolean"),
            "follow_up": pd.Series(dtype="boolean"),
        },
        index=index,
    )


def _channel_bits(channels: str) -> int:
    """The bits of a `;`-joined channel list."""
    named = set(channels.split(";"))
    return sum(1 << bit for bit, c in enumerate(text_signals.CHANNELS) if c in named)


def _customer_turn_signals(turns: pd.DataFrame) -> pd.DataFrame:
    """Per conversation: care_request when any customer turn raises a problem or question;
    the topic of a care request (`topics.conversation_topics`)."""
    customer = turns.loc[
        turns["is_customer_turn"].to_numpy(dtype=bool), ["_root", "care_request", "topic"]
    ]
    care = customer.groupby("_root", sort=False)["care_request"].any()
    return pd.DataFrame({"care_request": care, "topic": conversation_topics(customer, care)})


def _outcomes(turns: pd.DataFrame, conversations: pd.DataFrame) -> pd.DataFrame:
    """The public outcome of each conversation and when it was reached.

    Each turn is modelled first: what the brand's reply does (`answer_kind`: a fix or
    "cannot help"; `reply_act`: asks, passes feedback on, promises, answers; and whether
    it deflects) and what the customer's turn says (`customer_signal`: solved, problem,
    thanks). A customer *signal* is a customer turn after the brand's first reply that
    says solved (positive), the problem persists or objects (negative), or thanks
    (positive only when the brand turn before it answered in public: thanks for "please
    DM us" or for sympathy is politeness, not a resolution). A brand *answer* is a reply
    that states a fix or answers in public without deflecting.

    The rule table below decides, first match wins (METRICS.md, "Resolution" and its
    reading guide); the same table names each conversation's `outcome_reason`.

    resolved_at is the turn that signals the resolution (the customer's positive
    signal, or the brand's answer).
    """
    # Turns come grouped by conversation, in time order: each conversation is a run of
    # rows, and every figure below is a reduction over runs (numpy `reduceat`) or a
    # running maximum, not a pandas groupby (1.5-2 s -> 0.4 s for 2.8M turns).
    brand_or_customer = turns["is_brand_turn"] | turns["is_customer_turn"]
    rows = np.flatnonzero(brand_or_customer.to_numpy(dtype=bool))
    root = turns["_root"].to_numpy()[rows]
    first = first_of_runs(root)
    starts = np.flatnonzero(first)
    run = np.cumsum(first) - 1
    at = np.arange(len(rows))
    is_brand = turns["is_brand_turn"].to_numpy(dtype=bool)[rows]
    is_customer = turns["is_customer_turn"].to_numpy(dtype=bool)[rows]
    deflects = turns["deflects"].to_numpy(dtype=bool)[rows]
    kind = _equals_of(turns["answer_kind"].iloc[rows], ("fix", "cannot_help"))
    act = _equals_of(turns["reply_act"].iloc[rows], ("asks", "feedback", "promise", "answer"))
    signal = _equals_of(
        turns["customer_signal"].iloc[rows], ("persists", "solved", "problem", "thanks")
    )
    # Epoch seconds: plain floats, with inf and NaN for "none".
    t = epoch_seconds(turns["created_at"].iloc[rows]).to_numpy()

    def last_where(mask: np.ndarray) -> np.ndarray:
        """Per run, the row of its last `mask` row (-1 when none)."""
        return np.maximum.reduceat(np.where(mask, at, -1), starts) if len(rows) else at

    def first_time_where(mask: np.ndarray) -> np.ndarray:
        """Per run, the earliest time of its `mask` rows (inf when none)."""
        return np.minimum.reduceat(np.where(mask, t, np.inf), starts) if len(rows) else t

    # A public answer: a fix or a statement, not a deflection.
    answers = is_brand & (kind["fix"] | act["answer"]) & ~deflects
    first_brand_at = first_time_where(is_brand)
    # The brand turn before each customer turn (running maximum of brand rows, kept
    # only within the run): did it answer?
    prev_brand = np.maximum.accumulate(np.where(is_brand, at, -1)) if len(rows) else at
    has_prev = prev_brand >= starts[run]
    after_answer = has_prev & answers[np.maximum(prev_brand, 0)]
    # A problem described in reply to the brand's question is an answer to it, not an
    # objection ("I can't say for sure, it started with iOS 11"); "still not working" is.
    after_question = has_prev & act["asks"][np.maximum(prev_brand, 0)]
    polarity = np.select(
        [
            signal["persists"],
            signal["solved"],
            signal["problem"] & ~after_question,
            signal["thanks"] & after_answer,
        ],
        [-1, 1, -1, 1],
        default=0,
    )
    after_first = t > first_brand_at[run]
    is_signal = is_customer & after_first & (polarity != 0)
    last_signal = last_where(is_signal)
    negative = is_signal & (polarity < 0)
    # Per run, the latest negative signal (-inf when none: every answer comes after it).
    last_negative_at = (
        np.maximum.reduceat(np.where(negative, t, -np.inf), starts) if len(rows) else t
    )
    later = t > last_negative_at[run]
    fix_time = first_time_where(answers & later)
    deflect_after_negative = first_time_where(is_brand & deflects & later)
    last_brand = last_where(is_brand)
    # The brand's last reply with substance (courtesy-only replies are skipped).
    substantive = is_brand & (
        deflects
        | kind["fix"]
        | kind["cannot_help"]
        | act["asks"]
        | act["feedback"]
        | act["promise"]
        | act["answer"]
    )
    last_substance = last_where(substantive)

    # Per conversation, in the order of `conversations` (each has a run: its root).
    index = conversations.index
    slot = index.get_indexer(pd.Index(root[starts]))

    def per_conversation(values: np.ndarray, missing: float) -> np.ndarray:
        out = np.full(len(index), missing, dtype=values.dtype)
        out[slot] = values
        return out

    has_signal = last_signal >= 0
    signal_row = np.maximum(last_signal, 0)
    sig_pol = per_conversation(np.where(has_signal, polarity[signal_row], 0), 0)
    sig_at = per_conversation(np.where(has_signal, t[signal_row], np.nan), np.nan)
    has_brand = last_brand >= 0
    brand_row = np.maximum(last_brand, 0)
    last_at = per_conversation(np.where(has_brand, t[brand_row], np.nan), np.nan)
    last_cannot_help = per_conversation(has_brand & kind["cannot_help"][brand_row], False)
    has_substance = last_substance >= 0
    sub_row = np.maximum(last_substance, 0)

    def last_act(mask: np.ndarray) -> np.ndarray:
        return per_conversation(has_substance & mask[sub_row], False)

    last_deflects = last_act(deflects)
    last_open = last_act(
        (act["asks"] | act["promise"] | act["feedback"]) & ~kind["fix"] & ~act["answer"]
    )
    fix_at = per_conversation(np.where(np.isinf(fix_time), np.nan, fix_time), np.nan)
    routed_after = per_conversation(np.isfinite(deflect_after_negative), False)
    answered = conversations["answered"].to_numpy(dtype=bool)
    signal_after_last = sig_at > last_at
    has_fix = ~np.isnan(fix_at)

    # The rule table: (condition, outcome, the reason shown beside the label).
    rules = [
        (~answered, "unanswered", "no reply from the brand"),
        (
            signal_after_last & (sig_pol > 0),
            "resolved",
            "the customer's last word, after the brand's last reply, says it is solved",
        ),
        (
            signal_after_last & (sig_pol < 0),
            "unresolved",
            "the customer's last word, after the brand's last reply, objects",
        ),
        (
            last_cannot_help & ~last_deflects,
            "unresolved",
            "the brand says it cannot help and offers no route",
        ),
        (
            (sig_pol < 0) & ~has_fix & ~routed_after,
            "unresolved",
            "the customer objected; the brand's later replies did not answer it",
        ),
        (sig_pol > 0, "resolved", "the customer said it is solved"),
        (last_deflects, "unknown", "moved to a private channel, no public signal after"),
        (
            last_open,
            "unknown",
            "the brand asked, promised or passed it on; nothing public after",
        ),
        (has_fix, "resolved", "the brand answered in public, no objection after"),
    ]
    fallback = "nothing in public tells either way"
    # Outcomes as codes into `names`: a Python str per conversation is slow to make.
    names = ["unanswered", "resolved", "unresolved", "unknown"]
    conditions = [condition for condition, _, _ in rules]
    code = np.select(
        conditions, [names.index(c) for _, c, _ in rules], default=names.index("unknown")
    )
    reasons = [reason for _, _, reason in rules] + [fallback]
    reason = pa.array(reasons).take(
        pa.array(np.select(conditions, np.arange(len(rules)), default=len(rules)))
    )
    resolved = code == names.index("resolved")
    outcome = pa.array(names).take(pa.array(code))
    by_signal = resolved & (sig_pol > 0)
    resolved_seconds = pd.Series(
        np.where(by_signal, sig_at, fix_at), index=index, dtype=float
    ).where(resolved)
    seconds = resolved_seconds - epoch_seconds(conversations["opened_at"])
    return pd.DataFrame(
        {
            "outcome": pd.Series(pd.array(outcome, dtype="string"), index=index),
            "outcome_reason": pd.Series(pd.array(reason, dtype="string"), index=index),
            "resolved_at": pd.to_datetime(resolved_seconds, unit="s", utc=True).dt.round("s"),
            "time_to_resolution_seconds": seconds,
        },
        index=index,
    )


def _equals_of(values: pd.Series, wanted: tuple[str, ...]) -> dict[str, np.ndarray]:
    """For each wanted string, where `values` equal it (False where missing)."""
    array = as_arrow(values.astype("string"))
    return {
        value: pc.fill_null(pc.equal(array, value), False).to_numpy(zero_copy_only=False)
        for value in wanted
    }


def repeat_contact(conversations: pd.DataFrame, window_days: float = 7.0) -> pd.Series:
    """Whether the same customer opens another conversation with the same brand soon after.

    A conversation is a repeat-contact case when its customer (the root's author) opens
    a *later* conversation with the same brand within `window_days` of this one
    opening: the "they kept no record" failure. NA when brand or customer is unknown.
    """
    known = (conversations["brand"].notna() & conversations["customer_id"].notna()).to_numpy()
    # Integer codes and microseconds: sorting 870k (brand, customer) string pairs took 1 s.
    brand = pd.factorize(conversations["brand"])[0]
    customer = pd.factorize(conversations["customer_id"])[0]
    opened = conversations["opened_at"].astype("int64").to_numpy()  # microseconds
    rows = np.flatnonzero(known)
    rows = rows[np.lexsort((opened[rows], customer[rows], brand[rows]))]
    same_next = (brand[rows][1:] == brand[rows][:-1]) & (customer[rows][1:] == customer[rows][:-1])
    gap = opened[rows][1:] - opened[rows][:-1]
    repeat = np.zeros(len(rows), dtype=bool)
    repeat[:-1] = same_next & (gap <= window_days * 86_400_000_000)
    flag = pd.array(np.zeros(len(conversations), dtype=bool), dtype="boolean")
    flag[rows] = repeat
    flag[~known] = pd.NA
    return pd.Series(flag, index=conversations.index)


def _hour_of_week(conversations: pd.DataFrame, brands: BrandConfig) -> pd.Series:
    """Hour of the week the root was posted (0 = Monday 00:00) in the brand's time zone."""
    codes, names = pd.factorize(conversations["brand"])
    # One zone per distinct brand; the last entry, UTC, is for code -1 (no brand).
    zones = np.array([brands.timezone_of(str(name)) for name in names] + ["UTC"])[codes]
    opened = conversations["opened_at"]
    hours = np.zeros(len(conversations), dtype=np.int64)
    for zone in pd.unique(zones):
        rows = zones == zone
        local = opened[rows].dt.tz_convert(str(zone))
        hours[rows] = (local.dt.day_of_week * 24 + local.dt.hour).to_numpy()
    return pd.Series(hours, index=conversations.index, dtype="Int64")


def _fill_defaults(conversations: pd.DataFrame) -> pd.DataFrame:
    """Unanswered conversations have no brand posts: counts are 0 and flags false."""
    for column in ("templated_posts", "personal_posts", "signed_posts", "agents"):
        conversations[column] = conversations[column].fillna(0).astype("int64")
    for column in ("deflected", "first_touch_deflection", "hedging", "care_request"):
        conversations[column] = conversations[column].astype("boolean").fillna(False).astype(bool)
    conversations["empathy_first_reply"] = conversations["empathy_first_reply"].astype("boolean")
    conversations["deflection_channels"] = (
        conversations["deflection_channels"].astype("string").fillna("")
    )
    conversations["topic"] = conversations["topic"].astype("string").fillna("")
    return conversations
