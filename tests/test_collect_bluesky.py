"""Bluesky live collector, offline: recorded AppView responses served by respx."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
import respx
from typer.testing import CliRunner

from carebench.cli import app
from carebench.collectors.live import bluesky
from carebench.collectors.live import http as live_http
from carebench.collectors.live.checkpoint import CheckpointMismatch, open_run
from carebench.collectors.live.common import BrandAccounts
from carebench.collectors.live.http import CollectFailed, RetryPolicy, make_client
from carebench.store import Source, Store

FIXTURES = Path(__file__).parent / "fixtures" / "live" / "bluesky"
APPVIEW = bluesky.DEFAULT_APPVIEW
FEED_URL = f"{APPVIEW}/xrpc/app.bsky.feed.getAuthorFeed"
THREAD_URL = f"{APPVIEW}/xrpc/app.bsky.feed.getPostThread"
PROFILE_URL = f"{APPVIEW}/xrpc/app.bsky.actor.getProfile"
HANDLE = "acme.bsky.social"
CURSORS = {None: "author_feed_1", "2024-05-02T09:00:00.000Z": "author_feed_2"}
CURSORS["2024-04-10T13:00:00.000Z"] = "author_feed_3"
THREADS = {
    "at://did:plc:alice2cust/app.bsky.feed.post/3kalice1": "thread_alice",
    "at://did:plc:bob3cust/app.bsky.feed.post/3kbob1": "thread_bob",
    "at://did:plc:carol4cust/app.bsky.feed.post/3kcarol1": "thread_carol",
    "at://did:plc:dave5cust/app.bsky.feed.post/3kdave1": "thread_dave",
}
runner = CliRunner()


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def feed_page(request: httpx.Request) -> httpx.Response:
    assert request.url.params["actor"] == HANDLE
    assert request.url.params["filter"] == "posts_with_replies"
    assert int(request.url.params["limit"]) <= 100
    return httpx.Response(200, json=fixture(CURSORS[request.url.params.get("cursor")]))


def thread(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=fixture(THREADS[request.url.params["uri"]]))


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries do not sleep in tests; the waits asked for are recorded."""
    waits: list[float] = []
    monkeypatch.setattr(live_http, "sleep", waits.append)
    return waits


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.get(PROFILE_URL, name="profile").mock(
            return_value=httpx.Response(200, json=fixture("profile_acme"))
        )
        router.get(FEED_URL, name="feed").mock(side_effect=feed_page)
        router.get(THREAD_URL, name="thread").mock(side_effect=thread)
        yield router


def collect(
    raw: Path,
    store: Store,
    options: bluesky.BlueskyOptions | None = None,
    brands: dict[str, str] | None = None,
) -> None:
    """What `carebench collect bluesky` does: fetch to raw pages, land in one import."""
    options = options or bluesky.BlueskyOptions()
    accounts = BrandAccounts({HANDLE: "Acme", **(brands or {})})
    run = open_run(raw, "bluesky", "Acme", {"since": str(options.since), "limit": options.limit})
    with make_client() as client:
        bluesky.fetch(run, client, [HANDLE], options)
    chunks = bluesky.read_run(run, raw, [HANDLE], options, accounts)
    store.import_sources("bluesky", [Source(f"bluesky:Acme:{run.run_id}", chunks)])
    run.finish()


def content(store: Store) -> pd.DataFrame:
    """The posts without provenance (when and from which page they were collected)."""
    return store.posts().drop(columns=["collected_at", "raw_ref"])


def test_pages_threads_roles_and_ids(tmp_path: Path, fresh_store: Store, api: respx.MockRouter):
    collect(tmp_path, fresh_store)
    posts = fresh_store.posts().set_index("post_id")
    assert api["feed"].call_count == 3
    assert api["thread"].call_count == 4
    # 5 brand posts (the repost is skipped), 4 customer roots, Alice's follow-up and the
    # competitor's reply from the threads; each post once.
    assert len(posts) == 11
    assert "at://did:plc:carol4cust/app.bsky.feed.post/3kcarolx" not in posts.index
    reply = posts.loc["at://did:plc:acme7brand/app.bsky.feed.post/3kacme1"]
    assert reply["author_role"] == "brand" and reply["brand"] == "Acme"
    assert reply["author_id"] == "did:plc:acme7brand"
    assert reply["author_handle"] == HANDLE
    assert reply["parent_id"] == "at://did:plc:alice2cust/app.bsky.feed.post/3kalice1"
    assert reply["root_id"] == reply["parent_id"]
    assert reply["url"] == "https://bsky.app/profile/acme.bsky.social/post/3kacme1"
    assert reply["created_at"] == pd.Timestamp("2024-05-03T10:05:00Z")
    assert reply["lang"] == "en" and reply["collector"] == "bluesky"
    assert reply["raw_ref"].endswith("feed/acme.bsky.social/00001.json#0")
    root = posts.loc["at://did:plc:alice2cust/app.bsky.feed.post/3kalice1"]
    assert root["author_role"] == "customer" and pd.isna(root["brand"])
    assert root["root_id"] == "at://did:plc:alice2cust/app.bsky.feed.post/3kalice1"
    assert pd.isna(root["parent_id"])
    assert root["text"] == "@acme.bsky.social my parcel is 5 days late & nobody answers"
    follow_up = posts.loc["at://did:plc:alice2cust/app.bsky.feed.post/3kalice2"]
    assert follow_up["parent_id"] == "at://did:plc:acme7brand/app.bsky.feed.post/3kacme1"
    assert follow_up["text"] == "done, thanks"
    competitor = posts.loc["at://did:plc:zed6other/app.bsky.feed.post/3kzed1"]
    assert competitor["author_role"] == "customer"  # not declared: no brand config
    # A handle Bluesky could not verify links to the profile by DID.
    dave = posts.loc["at://did:plc:dave5cust/app.bsky.feed.post/3kdave1"]
    assert dave["url"] == "https://bsky.app/profile/did:plc:dave5cust/post/3kdave1"
    assert pd.isna(dave["lang"])
    # Raw responses are kept, one file per page or thread.
    run_dir = next((tmp_path / "bluesky" / "Acme").iterdir())
    assert len(list((run_dir / "feed" / HANDLE).glob("*.json"))) == 3
    assert len(list((run_dir / "thread").glob("*.json"))) == 4
    assert not (tmp_path / "bluesky" / "Acme" / "checkpoint.json").exists()


def test_declared_competitor_accounts_are_brand_posts(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter
):
    collect(tmp_path, fresh_store, brands={"zedcorp.bsky.social": "Zed"})
    zed = (
        fresh_store.posts()
        .set_index("post_id")
        .loc["at://did:plc:zed6other/app.bsky.feed.post/3kzed1"]
    )
    assert zed["author_role"] == "brand" and zed["brand"] == "Zed"


def test_collecting_again_changes_nothing(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter
):
    collect(tmp_path, fresh_store)
    before = content(fresh_store)
    collect(tmp_path, fresh_store)
    pd.testing.assert_frame_equal(content(fresh_store), before)
    assert fresh_store.imports()["posts_new"].tolist() == [0, 11]


def test_since_stops_paging(tmp_path: Path, fresh_store: Store, api: respx.MockRouter):
    since = pd.Timestamp("2024-04-15T00:00:00Z").to_pydatetime()
    collect(tmp_path, fresh_store, bluesky.BlueskyOptions(since=since))
    # Page 2 ends with a post older than --since: page 3 is never asked for.
    assert api["feed"].call_count == 2
    posts = fresh_store.posts()
    brand = posts[posts["author_role"] == "brand"]
    assert set(brand["text"].str[:6]) == {"Sorry ", "New ap", "Hi Bob"}
    assert (brand["created_at"] >= pd.Timestamp(since)).all()
    assert api["thread"].call_count == 2  # Alice's and Bob's threads only


def test_limit_counts_brand_posts(tmp_path: Path, fresh_store: Store, api: respx.MockRouter):
    collect(tmp_path, fresh_store, bluesky.BlueskyOptions(limit=3))
    posts = fresh_store.posts()
    assert (posts["author_role"] == "brand").sum() == 3
    assert api["feed"].call_count == 2  # the limit was reached on page 2
    assert api["thread"].call_count == 2


def test_no_threads_keeps_the_inline_parents(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter
):
    collect(tmp_path, fresh_store, bluesky.BlueskyOptions(threads=False))
    assert api["thread"].call_count == 0
    assert fresh_store.count_posts() == 9  # 5 brand posts + the 4 posts they answer


def test_429_waits_for_retry_after(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter, no_waiting: list[float]
):
    limited = httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "RateLimitExceeded"})
    api["feed"].side_effect = [limited, feed_page, feed_page, feed_page]
    collect(tmp_path, fresh_store)
    assert no_waiting == [7.0]
    assert fresh_store.count_posts() == 11


def test_500_backs_off_and_retries(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter, no_waiting: list[float]
):
    api["thread"].side_effect = [
        httpx.Response(502),
        httpx.Response(500),
        thread,
        thread,
        thread,
        thread,
    ]
    collect(tmp_path, fresh_store)
    assert no_waiting == [2.0, 4.0]  # exponential backoff
    assert fresh_store.count_posts() == 11


def test_a_deleted_thread_root_is_skipped(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter
):
    def gone_or_thread(request: httpx.Request) -> httpx.Response:
        if "dave" in request.url.params["uri"]:
            return httpx.Response(400, json=fixture("error_not_found"))
        return thread(request)

    api["thread"].side_effect = gone_or_thread
    collect(tmp_path, fresh_store)
    assert fresh_store.count_posts() == 11  # Dave's post came inline with the brand reply


def test_persistent_500_fails_clearly_and_leaves_the_store(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter, no_waiting: list[float]
):
    collect(tmp_path / "first", fresh_store)
    before = list(fresh_store.snapshot())
    api["feed"].side_effect = None
    api["feed"].return_value = httpx.Response(503)
    with pytest.raises(CollectFailed) as failure:
        collect(tmp_path / "second", fresh_store)
    message = str(failure.value)
    assert "Bluesky AppView" in message and "5 times" in message and "rerun" in message
    assert len(no_waiting) == RetryPolicy().max_attempts - 1
    assert max(no_waiting) <= RetryPolicy().max_delay_seconds
    assert list(fresh_store.snapshot()) == before


def test_unknown_handle_is_a_clear_error(tmp_path: Path, fresh_store: Store, api: respx.MockRouter):
    api["feed"].side_effect = None
    api["feed"].return_value = httpx.Response(400, json=fixture("error_profile"))
    with pytest.raises(CollectFailed, match=r"Profile not found.*Check the handle"):
        collect(tmp_path, fresh_store)


def test_crash_then_resume_equals_an_uninterrupted_run(tmp_path: Path, api: respx.MockRouter):
    with Store(":memory:") as reference:
        collect(tmp_path / "reference", reference)
        expected = content(reference)

    calls: Counter[str | None] = Counter()

    def crash_after_page_2(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        calls[cursor] += 1
        if CURSORS[cursor] == "author_feed_3" and calls[cursor] == 1:
            raise KeyboardInterrupt  # Ctrl-C while page 3 is on its way
        return feed_page(request)

    api["feed"].side_effect = crash_after_page_2
    raw = tmp_path / "raw"
    with Store(":memory:") as store:
        with pytest.raises(KeyboardInterrupt):
            collect(raw, store)
        assert store.count_posts() == 0
        checkpoint = json.loads((raw / "bluesky" / "Acme" / "checkpoint.json").read_text())
        assert checkpoint["state"]["feeds"][HANDLE]["pages"] == 2
        collect(raw, store)  # the rerun resumes from the cursor
        pd.testing.assert_frame_equal(content(store), expected)
        assert len(store.imports()) == 1
    # Pages 1 and 2 were fetched once; no raw page is kept twice.
    assert [calls[c] for c in CURSORS] == [1, 1, 2]
    runs = list((raw / "bluesky" / "Acme").iterdir())
    assert len(runs) == 1
    pages = sorted(p.name for p in (runs[0] / "feed" / HANDLE).iterdir())
    assert pages == ["00001.json", "00002.json", "00003.json"]


def test_resume_with_other_options_is_refused(tmp_path: Path, api: respx.MockRouter):
    run = open_run(tmp_path, "bluesky", "Acme", {"limit": 5})
    # Nothing kept yet (e.g. the handle was mistyped): other options simply start afresh.
    assert open_run(tmp_path, "bluesky", "Acme", {"limit": 9}).options == {"limit": 9}
    run = open_run(tmp_path, "bluesky", "Acme", {"limit": 5})
    run.save_page(run.page_path("feed/x", "00001"), {"body": {}})
    with pytest.raises(CheckpointMismatch, match="--fresh"):
        open_run(tmp_path, "bluesky", "Acme", {"limit": 6})
    resumed = open_run(tmp_path, "bluesky", "Acme", {"limit": 5})
    assert resumed.resumed and resumed.run_id == run.run_id
    assert open_run(tmp_path, "bluesky", "Acme", {"limit": 6}, fresh=True).options == {"limit": 6}


# -- the command ---------------------------------------------------------------------------


def test_cli_end_to_end(tmp_path: Path, api: respx.MockRouter):
    db = tmp_path / "store.duckdb"
    raw = tmp_path / "raw"
    args = ["collect", "bluesky", "--brand", "Acme", "--handle", HANDLE]
    args += ["--db", str(db), "--raw-dir", str(raw)]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "11 posts" in result.output
    with Store(db) as store:
        posts = store.posts()
        assert len(posts) == 11
        assert set(posts.loc[posts["author_role"] == "brand", "brand"]) == {"Acme"}
        assert store.imports()["collector"].tolist() == ["bluesky"]


def test_cli_reads_handles_from_the_brand_config(tmp_path: Path, api: respx.MockRouter):
    config = tmp_path / "brands.toml"
    config.write_text(
        '[brands.Acme]\naccounts = ["AcmeCares", "bluesky:acme.bsky.social"]\n'
        '[brands.Zed]\naccounts = ["bluesky:zedcorp.bsky.social"]\n',
        encoding="utf-8",
    )
    db = tmp_path / "store.duckdb"
    args = ["collect", "bluesky", "--brand-config", str(config), "--brand", "Acme", "--limit", "1"]
    args += ["--db", str(db), "--raw-dir", str(tmp_path / "raw")]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        brands = store.posts().dropna(subset=["brand"])
    assert set(brands["brand"]) == {"Acme"}


def test_cli_failure_is_one_line_and_store_unchanged(tmp_path: Path, api: respx.MockRouter):
    api["feed"].side_effect = None
    api["feed"].return_value = httpx.Response(500)
    db = tmp_path / "store.duckdb"
    args = ["collect", "bluesky", "--brand", "Acme", "--handle", HANDLE, "--db", str(db)]
    args += ["--raw-dir", str(tmp_path / "raw")]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 1
    assert "Bluesky AppView" in result.output and "Traceback" not in result.output
    assert not db.exists()  # fetching failed before the store was opened


def test_cli_needs_a_handle(tmp_path: Path):
    result = runner.invoke(app, ["collect", "bluesky", "--brand", "Acme"])
    assert result.exit_code == 1
    assert "--handle" in result.output


def test_cli_rejects_a_bad_date(tmp_path: Path):
    args = ["collect", "bluesky", "--brand", "Acme", "--handle", HANDLE, "--since", "May 3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "2024-01-31" in result.output


# -- brand accounts by DID; items of the wrong JSON type -------------------------------------


def test_brand_posts_are_recognised_by_did_whatever_the_handle(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter
):
    def unverified_handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(feed_page(request).content)
        for item in body["feed"]:
            if item["post"]["author"]["did"] == "did:plc:acme7brand":
                item["post"]["author"]["handle"] = "handle.invalid"  # verification failed
        return httpx.Response(200, json=body)

    api["feed"].side_effect = unverified_handle
    collect(tmp_path, fresh_store)
    posts = fresh_store.posts()
    brand = posts[posts["author_id"] == "did:plc:acme7brand"]
    assert len(brand) == 5
    assert (brand["author_role"] == "brand").all() and set(brand["brand"]) == {"Acme"}
    assert api["profile"].calls.last.request.url.params["actor"] == HANDLE


def test_feed_items_of_the_wrong_type_are_rejected_counted_and_the_rerun_works(
    tmp_path: Path, api: respx.MockRouter
):
    def broken_page(request: httpx.Request) -> httpx.Response:
        body = json.loads(feed_page(request).content)
        if request.url.params.get("cursor") is None:
            first = body["feed"][0]
            bad_reply = json.loads(json.dumps(first))
            bad_reply["post"]["uri"] += "x"
            bad_reply["post"]["record"]["reply"] = "at://nowhere"  # text, not an object
            body["feed"][1:1] = [{"post": "oops"}, bad_reply, 42]
        return httpx.Response(200, json=body)

    api["feed"].side_effect = broken_page
    db = tmp_path / "store.duckdb"
    args = ["collect", "bluesky", "--brand", "Acme", "--handle", HANDLE]
    args += ["--db", str(db), "--raw-dir", str(tmp_path / "raw")]
    for _run in range(2):  # the rerun needs no --fresh
        result = runner.invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "Bluesky feed item of the wrong shape" in " ".join(result.output.split())
    with Store(db) as store:
        assert store.imports()["rejected"].tolist() == [3, 3]
        assert store.count_posts() == 11  # every good post landed
        reasons = store.rejected_rows()["reason"].tolist()
    assert any("feed item.post is text" in r for r in reasons)
    assert any("post.record.reply is text" in r for r in reasons)
    assert any("feed item is a number, not an object" in r for r in reasons)
