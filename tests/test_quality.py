"""The per-conversation quality score: the ordering a trainer relies on, and its bounds."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carebench.benchmark.quality import (
    QUALITY_WEIGHTS,
    gallery,
    quality_components,
    quality_reasons,
    quality_score,
    scored,
)
from carebench.benchmark.scoring import analyse
from tests.conftest import make_posts

SLA = 3600.0

GOOD = {
    "conversation_id": "1",
    "brand": "Acme",
    "answered": True,
    "care_request": True,
    "ttfr_seconds": 600.0,
    "outcome": "resolved",
    "deflected": False,
    "first_touch_deflection": False,
    "follow_up": pd.NA,
    "brand_posts": 2,
    "templated_posts": 0,
    "personal_posts": 2,
    "empathy_first_reply": True,
    "hedging": False,
    "agent_continuity": True,
    "repeat_contact": False,
}
BAD = {
    **GOOD,
    "conversation_id": "2",
    "ttfr_seconds": 6 * 3600.0,
    "outcome": "unresolved",
    "deflected": True,
    "first_touch_deflection": True,
    "follow_up": False,
    "templated_posts": 2,
    "personal_posts": 0,
    "empathy_first_reply": False,
    "hedging": True,
    "agent_continuity": False,
    "repeat_contact": True,
}


def frame(*rows: dict) -> pd.DataFrame:
    table = pd.DataFrame(list(rows))
    for column in ("follow_up", "empathy_first_reply", "agent_continuity", "repeat_contact"):
        table[column] = table[column].astype("boolean")
    return table


def score(**changes) -> float:
    return float(quality_score(frame({**GOOD, **changes}), SLA).iloc[0])


def test_weights_add_up_to_100():
    assert sum(QUALITY_WEIGHTS.values()) == 100


def test_the_best_thread_scores_100_and_the_worst_0():
    scores = quality_score(frame(GOOD, BAD), SLA)
    assert scores.tolist() == [100.0, 0.0]


def test_fast_personal_empathic_resolved_beats_slow_templated_deflected_unresolved():
    good = score(ttfr_seconds=120.0, personal_posts=1, empathy_first_reply=True)
    bad = score(
        ttfr_seconds=3 * 3600.0,
        templated_posts=2,
        personal_posts=0,
        deflected=True,
        first_touch_deflection=True,
        outcome="unresolved",
        empathy_first_reply=False,
    )
    assert good > bad + 50


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        ({"outcome": "resolved"}, {"outcome": "unknown"}),
        ({"outcome": "unknown"}, {"outcome": "unresolved"}),
        ({"ttfr_seconds": 60.0}, {"ttfr_seconds": 2 * 3600.0}),
        ({"ttfr_seconds": 2 * 3600.0}, {"ttfr_seconds": 3 * 3600.0}),
        (
            {"deflected": True, "first_touch_deflection": False},
            {"deflected": True, "first_touch_deflection": True},
        ),
        ({"deflected": False}, {"deflected": True, "first_touch_deflection": False}),
        (
            {"deflected": True, "first_touch_deflection": True, "follow_up": True},
            {"deflected": True, "first_touch_deflection": True, "follow_up": False},
        ),
        ({"templated_posts": 0}, {"templated_posts": 1}),
        ({"templated_posts": 1}, {"templated_posts": 2}),
        ({"personal_posts": 1}, {"personal_posts": 0}),
        ({"empathy_first_reply": True}, {"empathy_first_reply": False}),
        ({"hedging": False}, {"hedging": True}),
        ({"agent_continuity": True}, {"agent_continuity": pd.NA}),
        ({"agent_continuity": pd.NA}, {"agent_continuity": False}),
        ({"repeat_contact": False}, {"repeat_contact": True}),
    ],
)
def test_each_signal_moves_the_score_the_right_way(better: dict, worse: dict):
    assert score(**better) > score(**worse)


def test_resolution_and_speed_weigh_most():
    # One slip on the two things customers care about most costs more than any habit.
    unresolved = 100 - score(outcome="unresolved")
    very_slow = 100 - score(ttfr_seconds=24 * 3600.0)
    for habit in (
        {"empathy_first_reply": False},
        {"hedging": True},
        {"agent_continuity": False},
        {"repeat_contact": True},
    ):
        assert 100 - score(**habit) < min(unresolved, very_slow)


def test_speed_follows_the_sla():
    assert score(ttfr_seconds=3600.0) == 100
    assert score(ttfr_seconds=2 * 3600.0) == pytest.approx(90.0)  # half the 20 speed points
    assert score(ttfr_seconds=4 * 3600.0) == pytest.approx(80.0)
    assert score(ttfr_seconds=40 * 3600.0) == pytest.approx(80.0)
    row = frame({**GOOD, "ttfr_seconds": 2 * 3600.0})
    assert quality_score(row, sla_seconds=4 * 3600.0).iloc[0] == 100
    # Clock skew: the data cannot tell, half the speed points.
    assert score(ttfr_seconds=-30.0) == pytest.approx(90.0)


def test_only_answered_care_requests_get_a_score():
    rows = frame(GOOD, {**GOOD, "answered": False}, {**GOOD, "care_request": False})
    scores = quality_score(rows, SLA)
    assert scores.iloc[0] == 100 and scores.iloc[1:].isna().all()
    assert quality_components(rows, SLA).iloc[1:].isna().all().all()
    assert quality_reasons(rows, SLA).iloc[1:].tolist() == ["", ""]


def test_reasons_say_why():
    reasons = quality_reasons(frame(GOOD, BAD), SLA).tolist()
    assert reasons[0] == "resolved in public, fast, personal, empathic"
    assert reasons[1] == (
        "unresolved, slow (6.0x SLA), deflected at first touch, templated, no empathy, "
        "hedging, agent changed, customer came back"
    )


@settings(max_examples=200, deadline=None)
@given(
    ttfr=st.one_of(st.none(), st.floats(-1e4, 1e7)),
    outcome=st.sampled_from(["resolved", "unresolved", "unknown", "unanswered"]),
    deflected=st.booleans(),
    first_touch=st.booleans(),
    follow_up=st.sampled_from([True, False, pd.NA]),
    brand_posts=st.integers(0, 6),
    templated=st.integers(0, 6),
    personal=st.integers(0, 6),
    empathy=st.sampled_from([True, False, pd.NA]),
    hedging=st.booleans(),
    continuity=st.sampled_from([True, False, pd.NA]),
    repeat=st.sampled_from([True, False, pd.NA]),
    answered=st.booleans(),
    care=st.booleans(),
    sla=st.floats(60, 86400),
)
def test_scores_stay_in_bounds(**kw):
    row = {
        **GOOD,
        "ttfr_seconds": math.nan if kw["ttfr"] is None else kw["ttfr"],
        "outcome": kw["outcome"],
        "deflected": kw["deflected"],
        "first_touch_deflection": kw["deflected"] and kw["first_touch"],
        "follow_up": kw["follow_up"],
        "brand_posts": kw["brand_posts"],
        "templated_posts": min(kw["templated"], kw["brand_posts"]),
        "personal_posts": min(kw["personal"], kw["brand_posts"]),
        "empathy_first_reply": kw["empathy"],
        "hedging": kw["hedging"],
        "agent_continuity": kw["continuity"],
        "repeat_contact": kw["repeat"],
        "answered": kw["answered"],
        "care_request": kw["care"],
    }
    table = frame(row)
    components = quality_components(table, kw["sla"]).iloc[0]
    value = quality_score(table, kw["sla"]).iloc[0]
    if kw["answered"] and kw["care"]:
        assert 0 <= value <= 100
        for name, points in components.items():
            assert 0 <= points <= QUALITY_WEIGHTS[str(name)]
    else:
        assert math.isnan(value)


def test_the_score_on_real_threads():
    posts = make_posts(
        [
            (1, None, "c1", "customer", 0, "@Acme my order never arrived, can you help?"),
            (2, 1, "Acme", "brand", 4, "@c1 Hi Sam, so sorry! We've refunded your order. ^AB"),
            (3, 2, "c1", "customer", 10, "@Acme that worked, thanks!"),
            (11, None, "c2", "customer", 0, "@Acme my order never arrived, can you help?"),
            (12, 11, "Acme", "brand", 300, "@c2 Please DM us your order number."),
            (13, 12, "c2", "customer", 310, "@Acme still not working, this is useless"),
        ]
    )
    conversations = analyse(posts).conversations.set_index("conversation_id")
    scores = quality_score(conversations, SLA)
    assert scores["1"] > 90 > 30 > scores["11"]


def test_gallery_picks_best_and_worst_per_brand():
    rows = [
        {**GOOD, "conversation_id": str(i), "ttfr_seconds": 600.0 * i, "brand": brand}
        for brand in ("A", "B")
        for i in range(1, 9)
    ]
    rows.append({**GOOD, "conversation_id": "99", "brand": "A", "answered": False})
    shown = gallery(frame(*rows), SLA, n=2)
    assert list(shown["brand"]) == ["A"] * 4 + ["B"] * 4
    a = shown[shown["brand"] == "A"]
    assert a[a["side"] == "best"]["conversation_id"].tolist() == ["1", "2"]
    assert a[a["side"] == "worst"]["conversation_id"].tolist() == ["8", "7"]
    assert a["rank"].tolist() == [1, 2, 1, 2]
    assert (a[a["side"] == "best"]["quality"] >= a[a["side"] == "worst"]["quality"].max()).all()
    assert "99" not in shown["conversation_id"].tolist()
    assert shown["reasons"].str.len().gt(0).all()


def test_gallery_never_shows_a_thread_twice():
    rows = [{**GOOD, "conversation_id": str(i)} for i in range(3)]
    shown = gallery(frame(*rows), SLA, n=5)
    assert sorted(shown["conversation_id"]) == ["0", "1", "2"]
    assert gallery(frame(*rows).iloc[:0], SLA, n=5).empty


def test_labels_never_say_templated_and_personal_together():
    # A templated reply signed by an agent: "signed or by name", never "personal".
    both = {**GOOD, "templated_posts": 2, "personal_posts": 2}
    partly = {**GOOD, "templated_posts": 1, "personal_posts": 1}
    own = {**GOOD, "templated_posts": 0, "personal_posts": 1}
    reasons = quality_reasons(frame(both, partly, own), SLA).tolist()
    assert "templated, signed or by name" in reasons[0]
    assert "partly templated, signed or by name" in reasons[1]
    assert "personal" in reasons[2].split(", ") and "templated" not in reasons[2]
    for text in reasons:
        labels = text.split(", ")
        assert not ({"templated", "partly templated"} & set(labels) and "personal" in labels)


def test_the_gallery_equals_ranking_every_column(tmp_path):
    """The gallery ranks on its keys alone: the rows, sides and ranks of ranking whole rows."""
    from carebench.benchmark.pipeline import analyse_store
    from tests.conftest import generated_store

    c = analyse_store(generated_store(tmp_path, 6_000, seed=6)).conversations
    for n in (1, 3, 10_000):
        shown = gallery(c, 1800.0, n)
        scored_rows = c.loc[scored(c)].assign(quality=quality_score(c.loc[scored(c)], 1800.0))
        ranked = scored_rows.sort_values(
            ["brand", "quality", "conversation_id"], ascending=[True, False, True]
        )
        expected = []
        for _, rows in ranked.groupby("brand", sort=True):
            best = rows.head(min(n, (len(rows) + 1) // 2))
            worst = rows.drop(best.index).iloc[::-1].head(n)
            expected += [("best", r, i + 1) for i, r in enumerate(best["conversation_id"])]
            expected += [("worst", r, i + 1) for i, r in enumerate(worst["conversation_id"])]
        got = list(zip(shown["side"], shown["conversation_id"], shown["rank"], strict=True))
        assert got == expected, n
        assert shown.columns[-4:].tolist() == ["quality", "side", "rank", "reasons"]
