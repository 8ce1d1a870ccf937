"""The brand rules every path shares (`brand_rules`), and the Spark parts that need no Spark."""

from __future__ import annotations

import pandas as pd
import pytest

from carebench.benchmark.brand_rules import brand_of_posts, template_brand_posts
from carebench.benchmark.scoring import analyse
from carebench.benchmark.templates import THREADS_ENV_VAR
from carebench.errors import CareBenchError
from carebench.schema import conform_posts
from carebench.spark.tasks import pack_groups

START = pd.Timestamp("2024-01-01", tz="UTC")


def _posts() -> pd.DataFrame:
    """Three customers answered by a brand account known only by its id (no handle, no
    declared brand), with the same reply each time."""
    rows = []
    for i in range(3):
        rows.append(("c", f"{i}", None, f"cust{i}", f"cust{i}", "customer", f"@acme help {i}"))
        rows.append(("b", f"r{i}", f"{i}", "acme-id", None, "brand", "Sorry, DM us your order"))
    frame = pd.DataFrame(
        rows,
        columns=[
            "kind",
            "post_id",
            "parent_id",
            "author_id",
            "author_handle",
            "author_role",
            "text",
        ],
    )
    frame = frame.drop(columns="kind").assign(
        platform="twitter",
        collector="test",
        created_at=[START + pd.Timedelta(minutes=m) for m in range(len(rows))],
    )
    return conform_posts(frame)


def test_templates_and_conversations_agree_on_a_brand_known_by_its_id():
    # The template search took a brand post's brand as its `brand`, else its handle, and
    # left a brand known only by its id without a brand; conversations took the id. Now
    # both call `brand_of_posts`.
    posts = _posts()
    assert list(template_brand_posts(posts)["brand"]) == ["acme-id"] * 3
    analysis = analyse(posts)
    assert set(analysis.conversations["brand"]) == {"acme-id"}
    assert list(analysis.templates["brand"]) == ["acme-id"]
    assert brand_of_posts(posts).notna().sum() == 3


def test_template_threads_are_a_setting(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(THREADS_ENV_VAR, "1")
    one = analyse(_posts())
    monkeypatch.setenv(THREADS_ENV_VAR, "2")
    two = analyse(_posts())
    pd.testing.assert_frame_equal(one.templates, two.templates)
    monkeypatch.setenv(THREADS_ENV_VAR, "zero")
    with pytest.raises(CareBenchError, match=THREADS_ENV_VAR):
        analyse(_posts())


def test_small_brands_share_a_task_and_big_ones_get_their_own():
    sizes = {"big": 500, "a": 60, "b": 50, "c": 40, "d": 10}
    task_of = pack_groups(sizes, 100)
    assert task_of["big"] != task_of["a"]
    assert len(set(task_of.values())) == 3  # big | a + c | b + d (first fit, largest first)
    for task in set(task_of.values()):
        load = sum(sizes[g] for g, t in task_of.items() if t == task)
        assert load <= 100 or [g for g, t in task_of.items() if t == task] == ["big"]
    assert pack_groups(sizes, 100) == task_of  # the same on every run
