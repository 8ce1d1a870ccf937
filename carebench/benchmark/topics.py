"""What each care request is about: a reviewable taxonomy, and themes it misses.

The feedback loop (METRICS.md, "Recurring issues"): a care team hands the business the
problems that keep coming back. Every care request gets one **topic** from the taxonomy
below, read from what the customer wrote:

- The customer's posts are read in order; the first post that names any topic gives
  the conversation its topic. Within a post, the topic named **first** wins ("my refund
  for the late parcel" is refund/return; "the parcel is late, I want a refund" is
  delivery): what the customer leads with is what they came for.
- A care request naming none of them is ``other``; a conversation that is not a care
  request has no topic (empty).
- Phrases are matched on the same cleaned text as every other signal (lower case,
  links, e-mails, handles and phone numbers masked; see `text_signals`), with word
  edges, ``*`` standing for any word ending. All nine topics are one regular
  expression with a named group each, so classifying is a single pass over the texts.

`discover_themes` looks at the ``other`` requests for themes the taxonomy misses
(TF-IDF + NMF, scikit-learn), with the posts that show each theme best.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carebench.benchmark.intervals import wilson_interval
from carebench.benchmark.scorecard import Period, period_start
from carebench.benchmark.text_signals import TextInput, phrase_regex, prepare_texts

OTHER = "other"
# Words every care request uses, whatever it is about: never a theme of their own.
_CHATTER = frozenset(
    {
        "help",
        "please",
        "thanks",
        "thank",
        "hey",
        "hello",
        "dont",
        "cant",
        "wont",
        "isnt",
        "didnt",
        "doesnt",
        "arent",
        "wasnt",
        "havent",
        "hasnt",
        "couldnt",
        "wouldnt",
        "shouldnt",
        "aint",
        "don",
        "can",
        "won",
        "isn",
        "didn",
        "doesn",
        "aren",
        "wasn",
        "haven",
        "hasn",
        "couldn",
        "wouldn",
        "shouldn",
        "just",
        "like",
        "know",
        "need",
        "really",
        "got",
        "get",
        "getting",
        "want",
        "going",
        "today",
        "yesterday",
        "time",
        "guys",
        "way",
        "make",
        "trying",
        "tried",
        "sure",
        "ok",
        "okay",
        "yes",
        "lol",
        "pls",
        "plz",
        "amp",
        "hours",
        "hour",
        "day",
        "days",
        "week",
        "weeks",
        "minutes",
    }
)

# The taxonomy, in the order it is listed to users. Each phrase list is what a care
# expert would file under that topic; review them here, nowhere else.
TOPIC_PHRASES: dict[str, tuple[str, ...]] = {
    "delivery": (
        "deliver*",
        "package*",
        "parcel*",
        "shipping",
        "shipment*",
        "shipped",
        "courier*",
        "dispatch*",
        "tracking",
        "track my (?:order|package|parcel)",
        "where is my (?:order|item|food|stuff)",
        "(?:order|item|items|food|box) (?:hasn't|has not|never|still hasn't|didn't|did not|"
        "still not|not) (?:arriv*|come|came|shown up|show up|turned up|been received)",
        "missing (?:item|items|order|box)",
        "arrived (?:late|damaged|broken|open|opened|wet|empty)",
        "late (?:order|delivery|package|parcel|shipment)",
        "received (?:a|an|the|my|this) (?:box|package|parcel|item|order)",
        "out for delivery",
        "usps",
        "fedex",
        "ups (?:driver|guy|store|tracking)",
        "royal mail",
        "dpd",
        "hermes",
        "postman",
        "mail ?man",
    ),
    "billing": (
        "bill",
        "bills",
        "billed",
        "billing",
        "over ?charg*",
        "surcharg*",
        "(?:double|twice|wrongly|already|been|being|was|were|got|get|i'm|im) charged",
        "charged (?:me|my|us|twice|for|again|extra|a fee)",
        "charging (?:me|my|us|for|twice|extra)",
        "(?:extra|hidden|late|monthly|annual|overdraft|cancellation|roaming|service) "
        "(?:charge|charges|fee|fees)",
        "fee",
        "fees",
        "invoice*",
        "payment*",
        "autopay",
        "direct debit",
        "paid (?:for|twice|my|the|full)",
        "pay (?:twice|more|extra|for)",
        "price*",
        "pricing",
        "subscription*",
        "promo code",
        "coupon*",
        "discount*",
        "credit card",
        "debit card",
        "card (?:declined|was declined|got declined|blocked)",
        "transaction*",
        "deposit*",
        "statement",
        "auto ?renew*",
        "(?:took|take|taking|stole|stealing) (?:my |our )?money",
    ),
    "outage/connectivity": (
        "outage*",
        "(?:internet|wifi|wi-fi|service|network|signal|connection|cable|power|tv|broadband|"
        "data|servers?|psn|xbox live|site) (?:is |are |has been |have been |keeps |keep |went "
        "|goes |was )?(?:down|out|off|dropping|cutting out|going out|disconnecting|offline)",
        "no (?:internet|service|signal|connection|wifi|wi-fi|data|power|cable|tv|broadband|"
        "reception|dial tone)",
        "(?:slow|bad|poor|spotty|intermittent|terrible|horrible|unstable) (?:internet|speeds?|"
        "connection|signal|service|wifi|wi-fi|data|reception|network)",
        "internet",
        "wifi",
        "wi-fi",
        "broadband",
        "connectivity",
        "disconnect*",
        "(?:lost|losing|lose) (?:connection|signal|service)",
        "(?:can't|cannot|can not|won't|unable to) connect",
        "dropped calls?",
        "dropping calls",
        "dead zone",
        "mbps",
        "speed test",
        "lag",
        "lagging",
        "server (?:issue|issues|error|problem|problems)",
        "(?:is|are|was|went|goes) down",
    ),
    "account/login": (
        "log ?in",
        "log (?:me|you|us) (?:in|out)",
        "(?:on|into|in to|to|access) (?:my|our) account",
        "scam*",
        "fraud*",
        "phish*",
        "logging in",
        "logged (?:out|off)",
        "sign ?in",
        "signing in",
        "password*",
        "username",
        "user name",
        "account (?:is |was |has been |got |been )?(?:locked|suspended|banned|hacked|disabled|"
        "deactivated|closed|blocked|compromised|frozen|terminated)",
        "locked out",
        "(?:card|wallet|phone|identity) (?:was |got |has been |been )?"
        "(?:stolen|lost|cloned|compromised)",
        "(?:stolen|lost|cloned) (?:card|credit card|debit card)",
        "hack*",
        "verification code",
        "verify my (?:account|identity|email|phone)",
        "two[- ]factor",
        "2fa",
        "security (?:code|question|questions)",
        "(?:can't|cannot|can not|unable to) (?:access|get into) my account",
        "(?:recover|reset|unlock|reactivate|delete|close) my account",
        "apple id",
        "gamertag",
    ),
    "refund/return": (
        "refund*",
        "money back",
        "reimburs*",
        "compensat*",
        "chargeback",
        "store credit",
        "return (?:it|them|this|that|the item|an item|my order|the order|a product|policy|label)",
        "returned (?:it|them|the item|my order|the order)",
        "returns",
        "exchange (?:it|them|this|the item|my)",
        "cancel (?:my|the|an|this) order",
    ),
    "product fault": (
        "broken",
        "broke",
        "faulty",
        "defective",
        "damaged",
        "cracked",
        "shattered",
        "stopped working",
        "(?:doesn't|does not|don't|won't|will not|isn't|is not|not) (?:work|working|turn on|"
        "charge|charging|start|starting|boot|load|update|updating|sync|syncing|open|opening)",
        "keeps? (?:crashing|freezing|restarting|rebooting|dying|shutting)",
        "crash*",
        "freez*",
        "glitch*",
        "bug",
        "bugs",
        "buggy",
        "battery",
        "screen",
        "overheat*",
        "error",
        "errors",
        "error code",
        # Food and goods quality: the product a restaurant or shop sells.
        "(?:stale|raw|undercooked|burnt|burned|soggy|moldy|mouldy|expired|spoiled|rotten)"
        "(?: (?:food|burrito|bowl|chicken|meat|fries|bread|sandwich|pizza|coffee|order|milk))?",
        # "cold" alone is weather or cold brew: cold food, or something that came cold.
        "cold (?:food|burrito|bowl|chicken|meat|fries|bread|sandwich|pizza|order|meal)",
        "(?:arrived|came|was|were|is|got here|delivered|served) (?:stone )?cold",
        "food poisoning",
        "(?:tastes?|tasted|smells?|smelled|smelt) (?:like|bad|funny|off|weird|awful|horrible|"
        "disgusting|terrible)",
        "hair in",
        "(?:wrong|missing) (?:item|order|size|ingredients?|toppings?)",
        "quality",
    ),
    "staff/store": (
        "staff",
        "employee*",
        "cashier*",
        "manager*",
        "rude",
        "store",
        "stores",
        "shop",
        "branch",
        "branches",
        "restaurant*",
        "cafe",
        "(?:at|this|that|your|the) (?:location|branch)",
        "drive[- ]?thru",
        "drive[- ]?through",
        "crew",
        "waiter*",
        "waitress*",
        "representative*",
        "customer service (?:rep|agent|person|staff)",
        "(?:gate|ticket|counter|check-in) agent*",
        "flight attendant*",
        "pilot",
        "driver",
        "drivers",
        "technician*",
        "engineer came",
        "installer",
    ),
    "app/website": (
        "app",
        "apps",
        "application",
        "website",
        "web site",
        "webpage",
        "site",
        "online (?:checkout|form|chat|order|ordering|banking|account)",
        "checkout",
        "browser",
        "page (?:won't|doesn't|does not|will not|isn't|is not) load*",
        "(?:android|ios|iphone|ipad) app",
        # Online shops called stores: listed here, they start before "store" does, so
        # the earliest match is this topic, not staff/store.
        "(?:app|xbox|play|playstation|microsoft|google|online|web|file|itunes|steam) store",
        "playlist*",
        "notification*",
    ),
}
TOPICS: tuple[str, ...] = (*TOPIC_PHRASES, OTHER)

# Group names must be identifiers: "outage/connectivity" -> "outage_connectivity".
_GROUPS = {topic: "t_" + "".join(c if c.isalnum() else "_" for c in topic) for topic in TOPICS}
_TOPIC_REGEX = "|".join(
    f"(?P<{_GROUPS[topic]}>{phrase_regex(phrases)})" for topic, phrases in TOPIC_PHRASES.items()
)

_ANY_TOPIC_REGEX = re.sub(r"\(\?P<[a-z_]+>", "(?:", _TOPIC_REGEX)


def topic_of_texts(texts: TextInput, rows: np.ndarray | None = None) -> pd.Series:
    """The topic each text names first ("" when it names none of the taxonomy's).

    Parameters
    ----------
    texts : pd.Series or PreparedTexts
        Customer post texts (raw, or already prepared for the other signals).
    rows : np.ndarray of bool, optional
        Read only these texts (the others get ""): the care requests, so the one
        regular expression runs over the posts that can have a topic.

    Returns
    -------
    pd.Series
        string, aligned on the texts' index: a key of `TOPIC_PHRASES`, or "".
    """
    given = prepare_texts(texts)
    text = given.prepared_array
    # Which topic matched needs the capture groups, which RE2 finds five times slower
    # than whether any did: so the groups run only on the rows where one did.
    wanted = pc.match_substring_regex(text, _ANY_TOPIC_REGEX)
    if rows is not None:
        wanted = pc.and_(wanted, pa.array(rows, type=pa.bool_()))
    text = pc.if_else(wanted, text, pa.scalar("", text.type))
    found = pc.extract_regex(text, pattern=_TOPIC_REGEX)
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    matched = found.is_valid().to_numpy(zero_copy_only=False)
    conditions, choices = [], []
    for topic, group in _GROUPS.items():
        if topic == OTHER:
            continue
        field = found.field(group).fill_null("")
        conditions.append(matched & (pc.utf8_length(field).to_numpy(zero_copy_only=False) > 0))
        choices.append(topic)
    named = np.select(conditions, choices, "") if conditions else np.full(len(found), "")
    return pd.Series(named, index=given.original.index, dtype="string")


def conversation_topics(customer_turns: pd.DataFrame, care: pd.Series) -> pd.Series:
    """Per conversation: the topic of the first customer post that names one.

    Parameters
    ----------
    customer_turns : pd.DataFrame
        Customer turns in time order within each conversation, with ``_root`` (the
        conversation key) and ``topic`` (`topic_of_texts`, "" for none).
    care : pd.Series
        bool per conversation key: is it a care request.

    Returns
    -------
    pd.Series
        string per key of `care`: a topic, ``other`` for a care request naming none,
        "" for a conversation that is not a care request.
    """
    named = customer_turns.loc[customer_turns["topic"] != "", ["_root", "topic"]]
    first = named.drop_duplicates("_root", keep="first").set_index("_root")["topic"]
    topic = first.reindex(care.index).astype("string").fillna(OTHER)
    return topic.where(care.to_numpy(dtype=bool), "")


def discover_themes(
    texts: pd.Series,
    brands: pd.Series | None = None,
    *,
    themes: int = 8,
    sample: int = 20_000,
    examples: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """Themes in texts the taxonomy left as ``other``: TF-IDF + NMF (scikit-learn).

    Parameters
    ----------
    texts : pd.Series
        The customers' texts (raw); handles and links are masked before reading.
    brands : pd.Series, optional
        Each text's brand (same index): the themes then say which brands they come from.
    themes : int
        At most this many themes (fewer when there are few texts: one per 40).
    sample : int
        Read at most this many texts, drawn with `seed`: themes are found the same way
        in a big store, in bounded time.
    examples : int
        Representative texts per theme: the ones the theme weighs most.

    Returns
    -------
    pd.DataFrame
        One row per theme, largest first: ``theme`` (1..), ``terms`` (its top words,
        ", "-joined), ``size`` (texts of the sample whose strongest theme it is),
        ``share`` (of the sample), ``brands`` (the three brands with most of its texts,
        "Brand (n)"), ``examples`` (list of texts).
    """
    columns = ["theme", "terms", "size", "share", "brands", "examples"]
    texts = texts.dropna().astype(str)
    if len(texts) > sample:
        texts = texts.sample(sample, random_state=seed)
    k = min(themes, len(texts) // 40)
    if k < 2:
        return pd.DataFrame({c: [] for c in columns})
    # Imported here: scikit-learn takes ~1 s to load, which only this step needs.
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    # Masked tokens (<LINK>, <HANDLE>...) and apostrophes go: "don't" must not be a theme.
    prepared = prepare_texts(texts).prepared.str.replace(r"<[A-Z]+>|'", " ", regex=True)
    vectoriser = TfidfVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | _CHATTER),
        min_df=3,
        max_df=0.3,
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b[a-z]{3,}\b",
        sublinear_tf=True,
    )
    try:
        matrix = vectoriser.fit_transform(prepared.fillna(""))
    except ValueError:  # no term left after pruning
        return pd.DataFrame({c: [] for c in columns})
    k = min(k, matrix.shape[1] - 1)
    if k < 2:
        return pd.DataFrame({c: [] for c in columns})
    model = NMF(n_components=k, init="nndsvd", random_state=seed, max_iter=400)
    with warnings.catch_warnings():
        # A fit that stops at max_iter still ranks words and posts by theme, which is all
        # this exploration needs; the warning would only alarm a user.
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = model.fit_transform(matrix)
    words = np.asarray(vectoriser.get_feature_names_out())
    strongest = weights.argmax(axis=1)
    has_theme = weights.max(axis=1) > 0
    rows = []
    originals = texts.to_numpy()
    for theme in range(k):
        members = np.flatnonzero(has_theme & (strongest == theme))
        if len(members) == 0:
            continue
        top_terms = words[np.argsort(model.components_[theme])[::-1][:6]]
        best = members[np.argsort(weights[members, theme])[::-1][:examples]]
        top_brands = ""
        if brands is not None:
            counts = brands.reindex(texts.index).iloc[members].astype(str).value_counts()
            top_brands = ", ".join(f"{b} ({n})" for b, n in counts.head(3).items())
        rows.append(
            {
                "terms": ", ".join(top_terms),
                "size": len(members),
                "share": len(members) / len(texts),
                "brands": top_brands,
                "examples": [str(originals[i]) for i in best],
            }
        )
    found = pd.DataFrame(rows, columns=columns[1:]).sort_values(
        ["size", "terms"], ascending=[False, True], ignore_index=True
    )
    found.insert(0, "theme", range(1, len(found) + 1))
    return found


# A topic recurs at a brand when it comes back in at least this share of the periods the
# brand had care requests in, and in at least `RECURRING_MIN_PERIODS` of them.
RECURRING_SHARE_OF_PERIODS = 0.5
RECURRING_MIN_PERIODS = 3

TOPIC_TABLE_COLUMNS: tuple[str, ...] = (
    "brand",
    "period",
    "topic",
    "care_requests",
    "share",
    "share_low",
    "share_high",
    "answered",
    "ttfr_median_minutes",
    "deflection_rate",
    "resolution_rate",
    "periods_seen",
    "recurring",
)


def topic_table(conversations: pd.DataFrame, period: Period | None = "week") -> pd.DataFrame:
    """Per brand, period and topic: how many care requests, and how they fare.

    Parameters
    ----------
    conversations : pd.DataFrame
        `Analysis.conversations` (with ``topic``).
    period : "week", "month" or None
        Rows per brand, period and topic; None: one row per brand and topic over the
        whole data (``period`` empty).

    Returns
    -------
    pd.DataFrame
        `TOPIC_TABLE_COLUMNS`: ``care_requests`` with that topic; ``share`` of the
        brand's care requests in the period (Wilson 95% interval); of the answered ones
        (``answered``): the median time to first response in minutes, the share
        deflected and the share resolved in public (METRICS.md definitions, over
        answered care requests); ``periods_seen`` (weeks, or months, the topic came up
        in at the brand, over the whole data) and ``recurring`` (a taxonomy topic that
        came up in at least half the brand's active periods, and in 3 or more). Rates
        are fractions (0-1), rounded to 3 places; times to 0.1 minute.
    """
    care = conversations.loc[
        conversations["care_request"].to_numpy(dtype=bool),
        ["brand", "opened_at", "topic", "answered", "ttfr_seconds", "deflected", "outcome"],
    ].copy()
    if care.empty:
        return pd.DataFrame({c: [] for c in TOPIC_TABLE_COLUMNS})
    care["brand"] = care["brand"].astype(str)
    care["topic"] = care["topic"].astype(str).replace("", OTHER)
    care["week"] = period_start(care["opened_at"], period or "week")
    care["period"] = care["week"] if period else pd.NaT
    answered = care["answered"].to_numpy(dtype=bool)
    ttfr = pd.to_numeric(care["ttfr_seconds"], errors="coerce")
    care["ttfr_minutes"] = ttfr.where(answered & (ttfr >= 0)) / 60
    care["deflected_answer"] = (care["deflected"].to_numpy(dtype=bool) & answered).astype(int)
    care["resolved_answer"] = ((care["outcome"] == "resolved").to_numpy() & answered).astype(int)
    care["answered_int"] = answered.astype(int)
    keys = ["brand", "period", "topic"]
    grouped = care.groupby(keys, sort=True, dropna=False)
    table = grouped.agg(
        care_requests=("topic", "size"),
        answered=("answered_int", "sum"),
        ttfr_median_minutes=("ttfr_minutes", "median"),
        deflected=("deflected_answer", "sum"),
        resolved=("resolved_answer", "sum"),
    ).reset_index()
    totals = care.groupby(["brand", "period"], dropna=False).size().rename("total")
    table = table.merge(totals.reset_index(), on=["brand", "period"], how="left")
    table["share"] = table["care_requests"] / table["total"]
    bounds = [
        wilson_interval(int(k), int(n))
        for k, n in zip(table["care_requests"], table["total"], strict=True)
    ]
    table["share_low"] = [low for low, _ in bounds]
    table["share_high"] = [high for _, high in bounds]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["deflection_rate"] = table["deflected"] / table["answered"].where(
            table["answered"] > 0
        )
        table["resolution_rate"] = table["resolved"] / table["answered"].where(
            table["answered"] > 0
        )
    # Recurrence is judged over the whole data, in weeks (or months), whatever the rows.
    unit = period_start(care["opened_at"], period or "week")
    active = care.assign(unit=unit).groupby("brand")["unit"].nunique().rename("active")
    seen = care.assign(unit=unit).groupby(["brand", "topic"])["unit"].nunique()
    table = table.merge(seen.rename("periods_seen").reset_index(), on=["brand", "topic"])
    table = table.merge(active.reset_index(), on="brand")
    table["recurring"] = (
        (table["topic"] != OTHER)
        & (table["periods_seen"] >= RECURRING_MIN_PERIODS)
        & (table["periods_seen"] >= RECURRING_SHARE_OF_PERIODS * table["active"])
    )
    for column in ("share", "share_low", "share_high", "deflection_rate", "resolution_rate"):
        table[column] = table[column].astype(float).round(3)
    table["ttfr_median_minutes"] = table["ttfr_median_minutes"].astype(float).round(1)
    table = table.sort_values(
        ["brand", "period", "care_requests", "topic"], ascending=[True, True, False, True]
    )
    return table.loc[:, list(TOPIC_TABLE_COLUMNS)].reset_index(drop=True)


def other_themes(conversations: pd.DataFrame, **options: int) -> pd.DataFrame:
    """`discover_themes` over the care requests the taxonomy left as ``other``."""
    rows = conversations["topic"].astype(str) == OTHER
    return discover_themes(
        conversations.loc[rows, "root_text"], conversations.loc[rows, "brand"], **options
    )
