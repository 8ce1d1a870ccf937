"""Anonymise in the dashboard: nothing on screen, in the address or in a CSV names a customer.

A small Bluesky store, as the collector writes it: a customer with a hyphenated handle and a
permanent DID, post ids that are at:// addresses holding that DID (so the conversation id
itself names the customer), a brand reply greeting her by name, her phone number and
her handle written without @. The pages run in Streamlit's AppTest; the CSV downloads are
caught as the pages hand them to `st.download_button` and generated as a click would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from carebench.benchmark.anonymise import pseudonymise_ids
from carebench.store import Source, Store
from tests.conftest import make_posts

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PAGE = "carebench/dashboard/pages/conversations.py"
TIMEOUT = 90
BRAND = "Acme"
DID = "did:plc:jx5mqfv6ecvtgmdwmbwkbnkx"
BRAND_DID = "did:plc:brandbrandbrandbrandbran"
HANDLE = "jane-doe.bsky.social"
SECRETS = (DID, "jx5mqfv6ecvtgmdwmbwkbnkx", HANDLE, "jane-doe", "Jessica", "4155550132", "at://")


def uri(author: str, key: str) -> str:
    return f"at://{author}/app.bsky.feed.post/{key}"


ROOT = uri(DID, "3kroot")


@dataclass(frozen=True)
class Chunk:
    posts: pd.DataFrame
    rejected: tuple[Any, ...] = ()
    records_read: int = 0


def bluesky_posts() -> pd.DataFrame:
    rows = [
        (
            "3kroot",
            None,
            HANDLE,
            "customer",
            0,
            "@acme.bsky.social my order never came, call me on 4155550132",
        ),
        (
            "3kb1",
            "3kroot",
            "acme.bsky.social",
            "brand",
            90,
            f"@{HANDLE} Hi Jessica, so sorry! Please DM us. ^AB",
        ),
        ("3kc2", "3kb1", HANDLE, "customer", 100, f"done, it is {HANDLE} if you need it"),
    ]
    # A few more conversations of other customers, so the list is not one row.
    for i in range(4):
        rows.append(
            (
                f"3kx{i}",
                None,
                f"other{i}.bsky.social",
                "customer",
                200 + i,
                "@acme.bsky.social where is my refund",
            )
        )
        rows.append(
            (
                f"3ky{i}",
                f"3kx{i}",
                "acme.bsky.social",
                "brand",
                230 + i,
                f"@other{i}.bsky.social Sorry, we're on it. ^CD",
            )
        )
    posts = make_posts(rows, platform="bluesky")
    did_of = {HANDLE: DID, "acme.bsky.social": BRAND_DID}
    dids = posts["author_handle"].map(lambda h: did_of.get(h, f"did:plc:{h.split('.')[0]:a<24}"))
    keys = {key: uri(did, key) for key, did in zip(posts["post_id"], dids, strict=True)}
    posts["post_id"] = posts["post_id"].map(keys)
    posts["parent_id"] = posts["parent_id"].map(keys)
    posts["author_id"] = dids.to_numpy()
    posts.loc[posts["author_role"] == "brand", "brand"] = BRAND
    return posts


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bluesky.duckdb"
    posts = bluesky_posts()
    with Store(path) as opened:
        opened.import_sources(
            "bluesky", [Source("bluesky:Acme:test", [Chunk(posts, (), len(posts))])]
        )
        opened.pin("bluesky", ROOT, BRAND, f"call back {HANDLE} on 4155550132")
    monkeypatch.setenv("CAREBENCH_DB", str(path))
    return path


@dataclass
class Downloads:
    """What the pages hand to download buttons: file name -> the file's text."""

    made: dict[str, Callable[[], Any] | Any] = field(default_factory=dict)

    def texts(self) -> dict[str, str]:
        out = {}
        for name, data in self.made.items():
            value = data() if callable(data) else data
            out[name] = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        return out


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Downloads]:
    caught = Downloads()
    original = DeltaGenerator.download_button

    def record(
        self: DeltaGenerator,
        label: str,
        data: Any,
        file_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if str(file_name).endswith(".csv"):
            caught.made[str(file_name)] = data
        return original(self, label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", record)
    main = streamlit._main  # the container `st.download_button` is bound to
    monkeypatch.setattr(streamlit, "download_button", lambda *a, **k: record(main, *a, **k))
    yield caught


def open_page(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"focus": BRAND, **query})
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def on_screen(at: AppTest) -> str:
    parts = [str(e.value) for e in (*at.text, *at.markdown, *at.caption, *at.title, *at.html)]
    parts += [frame.value.to_csv(index=False) for frame in at.dataframe]
    parts += [str(box.options) + str(box.value) for box in at.selectbox]
    return "\n".join(parts)


def address(at: AppTest) -> str:
    return "&".join(f"{k}={v}" for k, v in at.query_params.items())


def test_the_store_names_the_customer_without_anonymise(store: Path, downloads: Downloads):
    # The fixture is a fair test: plain, the screen, address and CSVs do name her.
    at = open_page({"thread": ROOT, "thread_platform": "bluesky"})
    assert f'data-post="{ROOT}"' in at.html[0].value
    assert DID in address(at)
    csvs = downloads.texts()
    assert DID in csvs["conversations.csv"] and DID in csvs["workshop-pins.csv"]
    assert HANDLE in at.html[0].value


def test_anonymised_nothing_names_the_customer(store: Path, downloads: Downloads):
    # A link with the raw id (copied before anonymising) opens the thread, anonymised.
    at = open_page({"thread": ROOT, "thread_platform": "bluesky", "anon": "1"})
    pseudonym = str(pseudonymise_ids(pd.Series([ROOT])).iloc[0])
    assert at.query_params["thread"] == pseudonym
    assert f'data-post="{pseudonym}"' in at.html[0].value
    shown, link, csvs = on_screen(at), address(at), downloads.texts()
    assert {"conversations.csv", "workshop-pins.csv"} <= set(csvs)
    for secret in SECRETS:
        assert secret not in shown, secret
        assert secret not in link, secret
        for name, text in csvs.items():
            assert secret not in text, (secret, name)
    # The thread still reads: her tag, the brand and its agent.
    assert "Hi [name], " in shown and "[phone]" in shown and "^AB" in shown
    assert pseudonym in csvs["workshop-pins.csv"]


def test_a_link_copied_with_anonymise_on_opens_the_same_thread(store: Path, downloads: Downloads):
    first = open_page({"thread": ROOT, "thread_platform": "bluesky", "anon": "1"})
    copied = dict(first.query_params.items())
    assert copied["thread"].startswith("post-") and copied["anon"] == "1"
    again = open_page(copied)
    assert again.html[0].value == first.html[0].value
    # Opened with anonymise off, the pseudonym still finds the thread (under its raw id).
    plain = open_page({**copied, "anon": "0"})
    assert f'data-post="{ROOT}"' in plain.html[0].value
    assert plain.query_params["thread"] == ROOT


def test_pinning_while_anonymised_pins_the_stored_conversation(store: Path, downloads: Downloads):
    at = open_page({"thread": ROOT, "thread_platform": "bluesky", "anon": "1"})
    with Store(store) as opened:
        opened.unpin("bluesky", ROOT)
    at.button(key="conv_thread_pin").click().run()
    assert not at.exception, [e.message for e in at.exception]
    with Store(store, read_only=True) as reopened:
        assert reopened.pins()["conversation_id"].tolist() == [ROOT]
    assert DID not in on_screen(at)
    at.button(key="conv_unpin").click().run()
    with Store(store, read_only=True) as reopened:
        assert reopened.pins().empty
