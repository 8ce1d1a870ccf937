"""Mastodon live collector, offline: recorded REST API responses served by respx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
import respx
from typer.testing import CliRunner

from carebench.cli import app
from carebench.collectors.live import http as live_http
from carebench.collectors.live import mastodon
from carebench.collectors.live.checkpoint import open_run
from carebench.collectors.live.common import BrandAccounts
from carebench.collectors.live.html_text import html_to_text
from carebench.collectors.live.http import CollectFailed, make_client
from carebench.store import Source, Store

FIXTURES = Path(__file__).parent / "fixtures" / "live" / "mastodon"
BASE = "https://social.example"
STATUSES = f"{BASE}/api/v1/accounts/1001/statuses"
PAGES = {
    None: ("statuses_1", "112300000000000150"),
    "112300000000000150": ("statuses_2", "112000000000000060"),
    "112000000000000060": ("statuses_3", None),
}
CONTEXTS = {"112400000000000300": "context_s3", "112000000000000060": "context_s1"}
runner = CliRunner()


def fixture(name: str) -> object:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def statuses_page(request: httpx.Request) -> httpx.Response:
    assert request.url.params["exclude_reblogs"] == "true"
    assert int(request.url.params["limit"]) <= 40
    name, next_max_id = PAGES[request.url.params.get("max_id")]
    body = fixture(name)
    links = []
    if next_max_id:
        links.append(f'<{STATUSES}?limit=40&max_id={next_max_id}>; rel="next"')
    if body:
        links.append(f'<{STATUSES}?limit=40&min_id={body[0]["id"]}>; rel="prev"')  # type: ignore[index]
    headers = {"Link": ", ".join(links)} if links else {}
    return httpx.Response(200, json=body, headers=headers)


def context(request: httpx.Request) -> httpx.Response:
    status_id = request.url.path.split("/")[-2]
    return httpx.Response(200, json=fixture(CONTEXTS[status_id]))


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(live_http, "sleep", waits.append)
    return waits


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.get(f"{BASE}/api/v1/accounts/lookup", name="lookup").mock(
            return_value=httpx.Response(200, json=fixture("lookup_acme"))
        )
        router.get(STATUSES, name="statuses").mock(side_effect=statuses_page)
        router.get(url__regex=rf"{BASE}/api/v1/statuses/\d+/context", name="context").mock(
            side_effect=context
        )
        yield router


def collect(raw: Path, store: Store, options: mastodon.MastodonOptions | None = None) -> None:
    options = options or mastodon.MastodonOptions(instance=BASE)
    run = open_run(raw, "mastodon", "Acme", {"limit": options.limit})
    with make_client() as client:
        mastodon.fetch(run, client, ["acme"], options)
    chunks = mastodon.read_run(run, raw, ["acme"], options, BrandAccounts({"acme": "Acme"}))
    store.import_sources("mastodon", [Source(f"mastodon:Acme:{run.run_id}", chunks)])
    run.finish()


def test_pages_by_link_header_and_expands_threads(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter
):
    collect(tmp_path, fresh_store)
    assert api["lookup"].calls.last.request.url.params["acct"] == "acme"
    assert api["statuses"].call_count == 3
    assert api["context"].call_count == 2  # the two replies; the announcement has no thread
    posts = fresh_store.posts().set_index("post_id")
    # 3 brand statuses (the boost is skipped), Bob's root and follow-up, Alice's root.
    assert len(posts) == 6
    reply = posts.loc["social.example:112400000000000300"]
    assert reply["author_role"] == "brand" and reply["brand"] == "Acme"
    assert reply["author_handle"] == "acme@social.example"
    assert reply["author_id"] == "social.example:1001"
    assert reply["parent_id"] == "social.example:112400000000000100"
    assert reply["root_id"] == "social.example:112400000000000100"
    assert reply["url"] == "https://social.example/@acme/112400000000000300"
    assert reply["text"] == "@bob Sorry Bob!\nWe refunded it today."
    assert reply["created_at"] == pd.Timestamp("2024-05-01T09:30:00Z")
    bob = posts.loc["social.example:112400000000000100"]
    assert bob["author_role"] == "customer" and pd.isna(bob["brand"])
    assert bob["author_handle"] == "bob@other.example"
    assert bob["root_id"] == "social.example:112400000000000100"
    assert bob["text"] == (
        "@acme my order & refund didn't arrive <3 weeks>\n\nOrder https://shop.example/o/123"
    )
    follow_up = posts.loc["social.example:112400000000000400"]
    assert follow_up["parent_id"] == "social.example:112400000000000300"
    assert follow_up["root_id"] == "social.example:112400000000000100"
    announcement = posts.loc["social.example:112300000000000200"]
    assert announcement["text"] == "New opening hours: 8–20"  # the script tag's text is gone


def test_since_and_limit(tmp_path: Path, fresh_store: Store, api: respx.MockRouter):
    since = pd.Timestamp("2024-04-01T00:00:00Z").to_pydatetime()
    collect(tmp_path / "a", fresh_store, mastodon.MastodonOptions(instance=BASE, since=since))
    assert api["statuses"].call_count == 2  # page 2 holds only older statuses: stop there
    assert (fresh_store.posts()["author_role"] == "brand").sum() == 2
    with Store(":memory:") as store:
        collect(tmp_path / "b", store, mastodon.MastodonOptions(instance=BASE, limit=1))
        assert (store.posts()["author_role"] == "brand").sum() == 1
        assert store.count_posts() == 3  # the reply, Bob's root and his follow-up


def test_resume_after_a_crash_fetches_nothing_twice(tmp_path: Path, api: respx.MockRouter):
    with Store(":memory:") as reference:
        collect(tmp_path / "reference", reference)
        expected = reference.posts().drop(columns=["collected_at", "raw_ref"])
    api["context"].side_effect = [context, RuntimeError("connection dropped hard")]
    raw = tmp_path / "raw"
    with Store(":memory:") as store:
        with pytest.raises(RuntimeError):
            collect(raw, store)
        assert store.count_posts() == 0
        statuses_before = api["statuses"].call_count
        api["context"].side_effect = context
        collect(raw, store)
        assert api["statuses"].call_count == statuses_before  # pages not fetched again
        got = store.posts().drop(columns=["collected_at", "raw_ref"])
        pd.testing.assert_frame_equal(got, expected)
    run_dir = next(p for p in (raw / "mastodon" / "Acme").iterdir() if p.is_dir())
    assert len(list((run_dir / "statuses" / "acme").glob("*.json"))) == 3
    assert len(list((run_dir / "context").glob("*.json"))) == 2


def test_unknown_account_is_a_clear_error(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter
):
    api["lookup"].return_value = httpx.Response(404, json=fixture("error_not_found"))
    with pytest.raises(CollectFailed, match=r"social.example.*404.*Record not found.*handle"):
        collect(tmp_path, fresh_store)


def test_server_that_needs_login_is_a_clear_error(
    tmp_path: Path, fresh_store: Store, api: respx.MockRouter
):
    api["statuses"].side_effect = None
    api["statuses"].return_value = httpx.Response(
        401, json={"error": "This method requires an authenticated user"}
    )
    with pytest.raises(CollectFailed, match="does not allow reading without login"):
        collect(tmp_path, fresh_store)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#39; &nbsp;f</p>", "a & b <c> \"d\" 'e'  f"),
        (
            "<p>line one<br>line two<br/>three</p><p>para two</p>",
            "line one\nline two\nthree\n\npara two",
        ),
        ('<p><a href="javascript:alert(1)" onclick="x()">click</a></p>', "click"),
        ("<p>hi<script>alert('x')</script><style>p{}</style></p>", "hi"),
        ("plain text, no tags", "plain text, no tags"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("", ""),
        ("<p>5 &lt; 6 &amp;&amp; 7 &gt; 3 &#x1F600;</p>", "5 < 6 && 7 > 3 😀"),
    ],
)
def test_html_content_to_text(html: str, text: str):
    assert html_to_text(html) == text


def test_cli_end_to_end_takes_the_server_from_the_handle(tmp_path: Path, api: respx.MockRouter):
    db = tmp_path / "store.duckdb"
    args = ["collect", "mastodon", "--brand", "Acme", "--handle", "acme@social.example"]
    args += ["--db", str(db), "--raw-dir", str(tmp_path / "raw"), "--no-threads"]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert api["context"].call_count == 0
    with Store(db) as store:
        posts = store.posts()
    assert len(posts) == 3
    assert set(posts["brand"].dropna()) == {"Acme"}


def test_cli_needs_a_server(tmp_path: Path):
    result = runner.invoke(app, ["collect", "mastodon", "--brand", "Acme", "--handle", "acme"])
    assert result.exit_code == 1
    assert "--instance" in result.output


# -- a brand read from its own home instance ---------------------------------------------------

HOME = "https://social.acme.example"  # the server; its accounts are @acme.example
HOME_STATUSES = f"{HOME}/api/v1/accounts/109000000000000042/statuses"
HOME_CONTEXTS = {
    "113000000000000300": "home_context_jane",
    "113000000000000200": "home_context_bob",
}


@pytest.fixture
def home() -> Iterator[respx.MockRouter]:
    """A Mastodon server answering for its own brand account: acct "help", no domain."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.get(f"{HOME}/api/v1/accounts/lookup", name="lookup").mock(
            return_value=httpx.Response(200, json=fixture("home_lookup_help"))
        )
        router.get(HOME_STATUSES, name="statuses").mock(
            return_value=httpx.Response(200, json=fixture("home_statuses"))
        )
        router.get(url__regex=rf"{HOME}/api/v1/statuses/\d+/context", name="context").mock(
            side_effect=lambda request: httpx.Response(
                200, json=fixture(HOME_CONTEXTS[request.url.path.split("/")[-2]])
            )
        )
        yield router


def test_brand_read_from_its_home_instance_is_recognised_by_account_id(
    tmp_path: Path, home: respx.MockRouter
):
    db = tmp_path / "store.duckdb"
    args = ["collect", "mastodon", "--brand", "Acme", "--handle", "help@acme.example"]
    args += ["--instance", HOME, "--db", str(db), "--raw-dir", str(tmp_path / "raw")]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert home["lookup"].calls.last.request.url.params["acct"] == "help@acme.example"
    with Store(db) as store:
        posts = store.posts().set_index("post_id")
    brand = posts[posts["author_role"] == "brand"]
    # Both replies of the brand, although its statuses say only acct "help".
    assert sorted(brand.index) == [
        "social.acme.example:113000000000000200",
        "social.acme.example:113000000000000300",
    ]
    assert set(brand["brand"]) == {"Acme"}
    assert set(brand["author_handle"]) == {"help@acme.example"}  # stored in full
    assert set(brand["author_id"]) == {"social.acme.example:109000000000000042"}
    jane = posts.loc["social.acme.example:113000000000000100"]
    assert jane["author_role"] == "customer" and jane["author_handle"] == "jane@acme.example"
    bob = posts.loc["social.acme.example:113000000000000150"]
    assert bob["author_handle"] == "bob@other.example"
    assert len(posts) == 5


# -- items of the wrong JSON type ----------------------------------------------------------


def test_statuses_of_the_wrong_type_are_rejected_counted_and_the_rerun_works(
    tmp_path: Path, api: respx.MockRouter
):
    def broken_page(request: httpx.Request) -> httpx.Response:
        response = statuses_page(request)
        if request.url.params.get("max_id") is None:
            body = json.loads(response.content)
            body[1:1] = ["not a status", {**body[0], "id": "9", "account": ["acme"]}]
            return httpx.Response(200, json=body, headers=response.headers)
        return response

    def broken_context(request: httpx.Request) -> httpx.Response:
        if request.url.path.split("/")[-2] not in CONTEXTS:
            return httpx.Response(404, json=fixture("error_not_found"))
        body = fixture(CONTEXTS[request.url.path.split("/")[-2]])
        assert isinstance(body, dict)
        if request.url.path.split("/")[-2] == "112000000000000060":
            body["descendants"] = {"id": "1"}  # an object where a list belongs
        return httpx.Response(200, json=body)

    api["statuses"].side_effect = broken_page
    api["context"].side_effect = broken_context
    db = tmp_path / "store.duckdb"
    args = ["collect", "mastodon", "--brand", "Acme", "--handle", "acme@social.example"]
    args += ["--db", str(db), "--raw-dir", str(tmp_path / "raw")]
    for _run in range(2):  # the rerun needs no --fresh
        result = runner.invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "Mastodon status of the wrong shape" in " ".join(result.output.split())
    with Store(db) as store:
        assert store.imports()["rejected"].tolist() == [3, 3]
        assert store.count_posts() == 6  # every good post landed
        reasons = store.rejected_rows()["reason"].tolist()
    assert any("status is text, not an object" in r for r in reasons)
    assert any("status.account is a list" in r for r in reasons)
    assert any("context.descendants is an object" in r for r in reasons)
