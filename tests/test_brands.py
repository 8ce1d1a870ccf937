"""The brand config: merging accounts into brands, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from carebench.brands import apply_brand_config, load_brand_config
from carebench.errors import BadBrandConfig
from tests.conftest import make_posts


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "brands.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_accounts_merge_into_one_brand(tmp_path: Path):
    config = load_brand_config(
        write(tmp_path, '[brands.Delta]\naccounts = ["Delta", "@DeltaAssist"]\n')
    )
    posts = make_posts(
        [
            ("1", None, "c", "customer", 0, "help"),
            ("2", "1", "deltaassist", "brand", 1, "hi"),
            ("3", "1", "Delta", "brand", 2, "hi"),
            ("4", "1", "United", "brand", 3, "hi"),
        ]
    )
    mapped = apply_brand_config(posts, config).set_index("post_id")
    assert list(mapped.loc[["2", "3", "4"], "brand"]) == ["Delta", "Delta", "United"]


def test_declared_account_becomes_brand_even_if_collector_said_customer(tmp_path: Path):
    config = load_brand_config(write(tmp_path, '[brands.Acme]\naccounts = ["mastodon:acme"]\n'))
    posts = make_posts([("1", None, "acme", "customer", 0, "hello")], platform="mastodon")
    other = make_posts([("1", None, "acme", "customer", 0, "hello")], platform="twitter")
    assert apply_brand_config(posts, config).loc[0, "author_role"] == "brand"
    assert apply_brand_config(other, config).loc[0, "author_role"] == "customer"


def test_timezone_is_read_and_validated(tmp_path: Path):
    good = load_brand_config(
        write(tmp_path, '[brands.BA]\naccounts = ["British_Airways"]\ntimezone = "Europe/London"\n')
    )
    assert good.timezone_of("BA") == "Europe/London"
    assert good.timezone_of("Other") == "UTC"
    with pytest.raises(BadBrandConfig, match="Europe/London"):
        load_brand_config(write(tmp_path, '[brands.X]\naccounts = ["x"]\ntimezone = "Mars"\n'))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("this is = not toml [", "not valid TOML"),
        ("[other]\na = 1\n", "no \\[brands.NAME\\]"),
        ('[brands.X]\naccounts = "x"\n', "needs accounts"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, message: str):
    with pytest.raises(BadBrandConfig, match=message):
        load_brand_config(write(tmp_path, text))


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(BadBrandConfig, match="does not exist"):
        load_brand_config(tmp_path / "nope.toml")
