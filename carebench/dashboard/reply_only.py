"""Stores of brand replies only: what they can show, and why the rest is empty.

Every conversation metric starts at a customer's post (the one a brand answers). A store
holding only brand posts (TWCS ``brand_replies`` files) has none, so it has no
conversation; it still shows each brand's templates and reply style. Pages that need
conversations say so with this explanation instead of "No brands yet: import data".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from carebench.benchmark.pipeline import read_posts
from carebench.benchmark.reply_style import reply_style
from carebench.brands import load_brand_config
from carebench.dashboard.charts import show_table
from carebench.store import Store

TEMPLATES_PAGE = "carebench/dashboard/pages/templates.py"
DATA_PAGE = "carebench/dashboard/pages/data.py"


def is_reply_only(posts: int, conversations: pd.DataFrame) -> bool:
    """Posts in the store, and not one conversation among them."""
    return posts > 0 and conversations.empty


@st.cache_resource(max_entries=2, show_spinner="Reading the brands' replies...")
def style_table(
    version: tuple[object, ...], brands_file: Path | None, _templates: pd.DataFrame
) -> pd.DataFrame:
    """`reply_style` of the store's posts (read once per store version)."""
    with Store(Path(str(version[0])), read_only=True) as store:
        posts = read_posts(store, load_brand_config(brands_file))
    return reply_style(posts, _templates)


def explain(posts: int, *, page_links: bool = True) -> None:
    """Why the conversation figures are empty, and where to look instead."""
    st.info(
        f"**This store holds {posts:,} posts, all written by brands: no customer post "
        "opens a conversation.** Speed, deflection, resolution and every other "
        "conversation figure start at the customer's post a brand answers, so they are "
        "empty here (TWCS `brand_replies` files are like this: every reply of some "
        "brands, without the tweets they answer). What the replies show on their own: "
        "each brand's **templates** and its **reply style** (signed, named, empathic, "
        "sent elsewhere). Import the customers' posts (the full TWCS file) to measure "
        "the conversations.",
        icon=":material/info:",
    )
    if page_links:
        left, right, _ = st.columns([1, 1, 3])
        with left:
            st.page_link(TEMPLATES_PAGE, label="Templates", icon=":material/content_copy:")
        with right:
            st.page_link(DATA_PAGE, label="Reply style", icon=":material/database:")


def show_style(table: pd.DataFrame) -> None:
    """The reply-style table with what its columns mean."""
    st.subheader("Reply style")
    st.caption(
        "Share of each brand's posts: in one of its top templates, signed by an agent "
        "(^AB, -Becky), naming the customer (Hi Sarah,), empathic (sorry, we understand), "
        "hedging (any inconvenience this may have caused), sending the customer elsewhere "
        "(DM, phone, e-mail, a form). Measured on every post, whatever the filters."
    )
    show_table(table, "reply-style")
