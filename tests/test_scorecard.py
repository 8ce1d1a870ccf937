"""The scorecard: denominators, intervals, clock skew, periods, on hand-built conversations."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from carebench.benchmark.scorecard import scorecard
from carebench.benchmark.scoring import analyse
from carebench.benchmark.settings import Settings
from tests.conftest import make_posts


def conversations(**columns: list) -> pd.DataFrame:
    """Scored conversations with sensible defaults for every column not given."""
    n = len(next(iter(columns.values())))
    base = {
        "brand": ["Acme"] * n,
        "opened_at": pd.to_datetime(["2017-10-02T10:00:00Z"] * n, utc=True),
        "answered": [True] * n,
        "ttfr_seconds": [600.0] * n,
        "clock_skew": [False] * n,
        "care_request": [True] * n,
        "deflected": [False] * n,
        "first_touch_deflection": [False] * n,
        "deflection_channels": [""] * n,
        "outcome": ["unknown"] * n,
        "time_to_resolution_seconds": [math.nan] * n,
        "empathy_first_reply": [False] * n,
        "hedging": [False] * n,
        "agent_continuity": [pd.NA] * n,
        "repeat_contact": [False] * n,
        "follow_up": [pd.NA] * n,
        "brand_posts": [1] * n,
        "templated_posts": [0] * n,
        "personal_posts": [0] * n,
        "reply_seconds_median": [600.0] * n,
    }
    base.update(columns)
    frame = pd.DataFrame(base)
    frame["agent_continuity"] = frame["agent_continuity"].astype("boolean")
    frame["follow_up"] = frame["follow_up"].astype("boolean")
    return frame


def test_rates_use_their_own_denominators():
    card = scorecard(
        conversations(
            answered=[True, True, True, False],
            ttfr_seconds=[60.0, 7200.0, 120.0, math.nan],
            deflected=[True, False, False, False],
            deflection_channels=["dm;phone", "", "", ""],
            outcome=["resolved", "unresolved", "unknown", "unanswered"],
            care_request=[True, True, False, True],
        )
    ).iloc[0]
    assert card["conversations"] == 4
    assert card["response_rate"] == 0.75 and card["response_rate_n"] == 4
    assert card["sla_share"] == pytest.approx(2 / 3) and card["sla_share_n"] == 3
    assert card["deflection_rate"] == pytest.approx(1 / 3)
    assert card["channel_dm_share"] == 1.0 and card["channel_phone_share"] == 1.0
    assert card["channel_email_share"] == 0.0 and card["channel_dm_share_n"] == 1
    # resolution is over answered care requests only: the resolved and unresolved ones
    assert card["resolution_rate_n"] == 2
    assert card["resolution_rate"] == 0.5 and card["unresolved_share"] == 0.5
    assert card["unknown_share"] == 0.0
    assert card["ttfr_median_seconds"] == 120.0
    assert card["small_sample"]


def test_clock_skew_is_left_out_of_speed_figures():
    card = scorecard(
        conversations(ttfr_seconds=[-300.0, 100.0, 200.0], clock_skew=[True, False, False])
    ).iloc[0]
    assert card["ttfr_median_seconds"] == 150.0
    assert card["ttfr_median_seconds_n"] == 2
    assert card["clock_skew_conversations"] == 1


def test_templated_ratio_is_over_posts_with_wilson_interval():
    card = scorecard(conversations(brand_posts=[3, 1], templated_posts=[3, 0])).iloc[0]
    assert card["templated_ratio"] == 0.75 and card["templated_ratio_n"] == 4
    assert 0 < card["templated_ratio_low"] < 0.75 < card["templated_ratio_high"] <= 1


def test_undefined_rates_are_nan_not_zero():
    card = scorecard(conversations(answered=[False], ttfr_seconds=[math.nan])).iloc[0]
    assert math.isnan(card["deflection_rate"]) and card["deflection_rate_n"] == 0
    assert math.isnan(card["ttfr_median_seconds"])


def test_small_sample_threshold_is_a_setting():
    frame = conversations(answered=[True] * 5)
    assert scorecard(frame, Settings(min_sample=5)).iloc[0]["small_sample"] == False  # noqa: E712
    assert scorecard(frame, Settings(min_sample=6)).iloc[0]["small_sample"] == True  # noqa: E712


def test_weekly_rows_per_brand():
    frame = conversations(
        brand=["Acme", "Acme", "Other"],
        opened_at=pd.to_datetime(
            ["2017-10-02T10:00Z", "2017-10-10T10:00Z", "2017-10-03T10:00Z"], utc=True
        ),
    )
    card = scorecard(frame, period="week")
    assert list(zip(card["brand"], card["period"].dt.strftime("%Y-%m-%d"), strict=True)) == [
        ("Acme", "2017-10-02"),
        ("Acme", "2017-10-09"),
        ("Other", "2017-10-02"),
    ]


def test_unassigned_conversations_are_left_out():
    card = scorecard(conversations(brand=["Acme", None]))
    assert list(card["brand"]) == ["Acme"]
    assert card.iloc[0]["conversations"] == 1


def test_empty_input_gives_empty_frame_with_columns():
    card = scorecard(conversations(brand=["Acme"]).iloc[0:0])
    assert card.empty and "resolution_rate_low" in card.columns


def test_end_to_end_hedging_and_personal_touch():
    rows = [
        ("1", None, "c", "customer", 0, "my bill is wrong, help?"),
        ("2", "1", "Acme", "brand", 5, "Hi Sarah, we apologise for any inconvenience this may "
         "have caused. ^AB"),
        ("3", None, "d", "customer", 0, "my bill is wrong, help?"),
        ("4", "3", "Acme", "brand", 5, "Let us look into it."),
    ]  # fmt: skip
    card = scorecard(analyse(make_posts(rows)).conversations).iloc[0]
    assert card["hedging_rate"] == 0.5
    assert card["personal_touch_rate"] == 0.5 and card["personal_touch_rate_n"] == 2


def test_channel_shares_never_reuse_another_frames_encoding(tmp_path):
    """The channel rates encode the channel lists once per column: two views in turn
    (a slice of the other included) each get their own shares."""
    from carebench.benchmark import scorecard as module
    from carebench.benchmark.pipeline import analyse_store
    from tests.conftest import generated_store

    conversations = analyse_store(generated_store(tmp_path, 4000, seed=9)).conversations
    views = [conversations, conversations.iloc[: len(conversations) // 2], conversations]
    columns = [c for c in scorecard(conversations).columns if c.startswith("channel_")]
    seen = []
    for view in views:
        seen.append(scorecard(view)[columns])
    for view, got in zip(views, seen, strict=True):
        module._last_lists = None
        pd.testing.assert_frame_equal(got, scorecard(view)[columns])
    assert not seen[0].equals(seen[1])
