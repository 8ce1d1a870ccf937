"""How each brand writes its replies, from its posts alone (no conversation needed).

A store of brand replies only (TWCS ``brand_replies`` files: every post by a brand, no
customer post) has no conversation: nothing opens one, so speed, deflection rates and
outcomes cannot be measured. What the posts themselves show can: templates (found over
every post a brand wrote) and this reply style, with the text signals the analysis uses
on conversations (`text_signals`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from carebench.benchmark import text_signals

COLUMNS = (
    "Brand",
    "Brand posts",
    "In its top templates (%)",
    "Signed by an agent (%)",
    "Customer named (%)",
    "Empathic (%)",
    "Hedging (%)",
    "Sends elsewhere (%)",
    "Median length (characters)",
)


def reply_style(posts: pd.DataFrame, templates: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per brand: how many posts, and the share of them with each style signal.

    Parameters
    ----------
    posts : pd.DataFrame
        Brand posts (columns ``brand``, ``text``); other authors' rows are ignored when
        an ``author_role`` column says so.
    templates : pd.DataFrame, optional
        `Analysis.templates` (columns ``brand``, ``posts``): the share of each brand's
        posts its top templates hold.

    Returns
    -------
    pd.DataFrame
        `COLUMNS`, largest brand first; shares in percent (0-100).
    """
    own = posts
    if "author_role" in own:
        own = own[(own["author_role"] == "brand").to_numpy(dtype=bool, na_value=False)]
    own = own[own["brand"].notna().to_numpy(dtype=bool)]
    if own.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    texts = text_signals.prepare_texts(own["text"].astype("string").fillna(""))
    flags = pd.DataFrame(
        {
            "brand": own["brand"].astype(str).to_numpy(),
            "signed": text_signals.agent_signature(texts).notna().to_numpy(),
            "named": text_signals.addresses_by_name(texts).to_numpy(),
            "empathic": text_signals.is_empathic(texts).to_numpy(),
            "hedging": text_signals.is_hedging(texts).to_numpy(),
            "elsewhere": (text_signals.deflection_channels(texts).fillna("") != "").to_numpy(),
            "length": own["text"].astype("string").fillna("").str.len().to_numpy(),
        }
    )
    grouped = flags.groupby("brand", sort=True)
    table = pd.DataFrame(
        {
            "Brand posts": grouped.size(),
            "Signed by an agent (%)": grouped["signed"].mean() * 100,
            "Customer named (%)": grouped["named"].mean() * 100,
            "Empathic (%)": grouped["empathic"].mean() * 100,
            "Hedging (%)": grouped["hedging"].mean() * 100,
            "Sends elsewhere (%)": grouped["elsewhere"].mean() * 100,
            "Median length (characters)": grouped["length"].median(),
        }
    )
    covered = pd.Series(0.0, index=table.index)
    if templates is not None and len(templates):
        sums = templates.groupby("brand")["posts"].sum()
        covered = sums.reindex(table.index).fillna(0) / table["Brand posts"] * 100
    table.insert(1, "In its top templates (%)", covered.astype(float))
    table = table.reset_index(names="Brand")
    table = table.sort_values(["Brand posts", "Brand"], ascending=[False, True], kind="stable")
    table["Brand posts"] = table["Brand posts"].astype(np.int64)
    return table[list(COLUMNS)].reset_index(drop=True)
