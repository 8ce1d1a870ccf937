"""The brand config: which accounts speak for which brand, and each brand's time zone.

A TOML file, e.g. `brands.toml`::

    [brands.Delta]
    accounts = ["Delta", "DeltaAssist"]        # handles, any platform
    timezone = "America/New_York"              # for business-hour splits; default UTC

    [brands.Spotify]
    accounts = ["SpotifyCares", "bluesky:spotify.bsky.social"]   # platform:handle

Handles match case-insensitively, without the leading @. Data that says who the
brand is itself (TWCS `inbound=False`) needs no config: each brand account is then
its own brand, and the config only merges accounts into brands.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from carebench.errors import BadBrandConfig


@dataclass(frozen=True)
class Brand:
    """One brand: its name, its accounts (`handle` or `platform:handle`) and time zone."""

    name: str
    accounts: tuple[str, ...]
    timezone: str = "UTC"


@dataclass(frozen=True)
class BrandConfig:
    """All declared brands; empty means 'take brands from the data itself'."""

    brands: tuple[Brand, ...] = field(default_factory=tuple)

    def account_map(self) -> dict[tuple[str | None, str], str]:
        """(platform or None, lower-case handle) -> brand name."""
        mapping: dict[tuple[str | None, str], str] = {}
        for brand in self.brands:
            for account in brand.accounts:
                platform, _, handle = account.rpartition(":")
                key = (platform.lower() or None, handle.lstrip("@").lower())
                mapping[key] = brand.name
        return mapping

    def timezone_of(self, brand: str) -> str:
        """The brand's time zone name, UTC when not declared."""
        for declared in self.brands:
            if declared.name == brand:
                return declared.timezone
        return "UTC"


def load_brand_config(path: str | Path | None) -> BrandConfig:
    """Read a brand config file; None gives the empty config."""
    if path is None:
        return BrandConfig()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadBrandConfig(f"Brand config {path} does not exist.") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadBrandConfig(
            f"Brand config {path} is not valid TOML ({exc}). See the README, 'Brand config'."
        ) from exc
    table = data.get("brands")
    if not isinstance(table, dict) or not table:
        raise BadBrandConfig(
            f"Brand config {path} has no [brands.NAME] tables. Example:\n"
            '[brands.Delta]\naccounts = ["Delta", "DeltaAssist"]'
        )
    brands = []
    for name, entry in table.items():
        accounts = entry.get("accounts") if isinstance(entry, dict) else None
        if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
            raise BadBrandConfig(
                f'Brand config {path}: [brands.{name}] needs accounts = ["handle", ...].'
            )
        timezone = entry.get("timezone", "UTC")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BadBrandConfig(
                f"Brand config {path}: [brands.{name}] timezone {timezone!r} is not a time "
                "zone name like 'Europe/London'."
            ) from exc
        brands.append(Brand(name=name, accounts=tuple(accounts), timezone=timezone))
    return BrandConfig(brands=tuple(brands))


def apply_brand_config(posts: pd.DataFrame, config: BrandConfig) -> pd.DataFrame:
    """Mark posts by declared brand accounts as brand posts of their brand.

    Posts by accounts the config does not name keep the role and brand their
    collector gave them.
    """
    mapping = config.account_map()
    if not mapping or posts.empty:
        return posts
    handles = posts["author_handle"].astype("string").str.lstrip("@").str.lower()
    platforms = posts["platform"].astype("string").str.lower()
    any_platform = {h: b for (p, h), b in mapping.items() if p is None}
    brand = handles.map(any_platform).astype("string")
    for (platform, handle), name in mapping.items():
        if platform is not None:
            brand = brand.mask((platforms == platform) & (handles == handle), name)
    declared = brand.notna()
    out = posts.copy()
    out.loc[declared, "author_role"] = "brand"
    out.loc[declared, "brand"] = brand[declared].astype("string")
    return out
