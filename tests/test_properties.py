"""Hypothesis properties of the whole engine: posts -> conversations -> scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.scoring import OUTCOMES, analyse
from tests.conftest import make_posts

CUSTOMER_TEXTS = [
    "my order never arrived, help!",
    "thanks, that worked",
    "still not working",
    "love you guys",
    "why is my bill so high?",
    "thanks",
]
BRAND_TEXTS = [
    "Sorry to hear that! Please DM us your order number.",
    "Try restarting the app, that should fix it. ^AB",
    "Give us a call on 0800 123 456.",
    "We're unable to help with this.",
    "Glad to hear it! -Becky",
]


@st.composite
def threads(draw: st.DrawFn, brand: str = "Acme", prefix: str = "") -> list[tuple]:
    """A forest of plausible threads for one brand: replies come after their parents."""
    rows: list[tuple] = []
    n = draw(st.integers(1, 12))
    for i in range(n):
        post_id = f"{prefix}{i}"
        minute = draw(st.integers(0, 5000))
        if i == 0 or draw(st.booleans()):
            parent, role = None, "customer"
        else:
            parent_index = draw(st.integers(0, i - 1))
            parent = f"{prefix}{parent_index}"
            role = draw(st.sampled_from(["customer", "brand"]))
            minute = rows[parent_index][4] + draw(st.integers(0, 3000))
        author = brand if role == "brand" else f"{prefix}c{draw(st.integers(0, 3))}"
        texts = BRAND_TEXTS if role == "brand" else CUSTOMER_TEXTS
        rows.append((post_id, parent, author, role, minute, draw(st.sampled_from(texts))))
    return rows


RATE_COLUMNS = [
    "response_rate",
    "sla_share",
    "deflection_rate",
    "first_touch_deflection_rate",
    "resolution_rate",
    "unresolved_share",
    "unknown_share",
    "templated_ratio",
    "empathy_rate",
    "repeat_contact_rate",
    "follow_up_rate",
]
CHECK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@CHECK
@given(threads())
def test_rates_stay_in_unit_interval_and_ttfr_non_negative(rows):
    analysis = analyse(make_posts(rows))
    card = scorecard(analysis.conversations)
    for column in RATE_COLUMNS:
        values = card[column].dropna()
        assert ((values >= 0) & (values <= 1)).all(), column
        low, high = card[f"{column}_low"].dropna(), card[f"{column}_high"].dropna()
        assert ((low >= 0) & (high <= 1) & (low <= high)).all(), column
    assert set(analysis.conversations["outcome"]) <= set(OUTCOMES)
    ttfr = analysis.conversations["ttfr_seconds"].dropna()
    assert (ttfr >= 0).all()  # replies are generated after their parents
    outcome_shares = card[["resolution_rate", "unresolved_share", "unknown_share"]].sum(axis=1)
    assert np.allclose(outcome_shares[card["resolution_rate_n"] > 0], 1.0)


@CHECK
@given(threads(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(rows, random):
    shuffled = rows[:]
    random.shuffle(shuffled)
    a = analyse(make_posts(rows)).conversations.set_index("conversation_id").sort_index()
    b = analyse(make_posts(shuffled)).conversations.set_index("conversation_id").sort_index()
    pd.testing.assert_frame_equal(a, b)


@CHECK
@given(threads(brand="Acme", prefix="a"), threads(brand="Other", prefix="o"))
def test_one_brands_rows_never_change_another_brands_figures(acme_rows, other_rows):
    alone = scorecard(analyse(make_posts(acme_rows)).conversations)
    together = scorecard(analyse(make_posts(acme_rows + other_rows)).conversations)
    acme_alone = alone[alone["brand"] == "Acme"].reset_index(drop=True)
    acme_together = together[together["brand"] == "Acme"].reset_index(drop=True)
    assert len(acme_alone) == len(acme_together)
    if len(acme_alone):
        pd.testing.assert_frame_equal(acme_alone, acme_together)
