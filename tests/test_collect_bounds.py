"""The live collectors against hostile or broken servers: real sockets on 127.0.0.1.

Each fake server is a threading http.server whose handlers give up on their own after
a few seconds, so a test can never hang, even against code that does not bound itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from carebench.collectors.live import bluesky, mastodon
from carebench.collectors.live import http as live_http
from carebench.collectors.live.checkpoint import open_run
from carebench.collectors.live.http import CollectFailed, RetryPolicy, get_json, make_client

# Handlers stop dripping or streaming after this long whatever the client does.
SERVER_GIVES_UP_SECONDS = 8.0
KIB = 1024
MIB = 1024 * KIB
TWO_GB = 2 * 1024 * MIB

Route = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.server.calls[path] += 1
        self.server.routes.get(path, not_found)(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def send_json(self, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Route] = {}
        self.calls: Counter[str] = Counter()
        self.sent = 0  # body bytes the streaming routes managed to write
        self.finished = threading.Event()  # a streaming route has stopped

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def not_found(handler: Handler) -> None:
    handler.send_error(404)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    thread = threading.Thread(target=fake.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield fake
    fake.shutdown()
    fake.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(live_http, "sleep", waits.append)
    return waits


def drip(handler: Handler, data: bytes, interval: float) -> None:
    """Write `data` a byte at a time until the client hangs up (or the server gives up)."""
    end = time.monotonic() + SERVER_GIVES_UP_SECONDS
    try:
        for byte in data:
            if time.monotonic() > end:
                break
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(interval)
    except OSError:
        pass
    finally:
        handler.server.finished.set()


def at_most(times: int, route: Route) -> Route:
    """`route` for the first `times` requests, then 410 Gone: code that would page a
    looping server forever still ends (and fails its test)."""
    served = 0

    def answer(handler: Handler) -> None:
        nonlocal served
        served += 1
        if served > times:
            handler.send_error(410)
        else:
            route(handler)

    return answer


def timed(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


# -- one request: deadline, byte cap, redirects -----------------------------------------------


def test_a_dripping_body_is_abandoned_at_the_total_deadline(server: FakeServer):
    def body_drip(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        drip(handler, b" " * 100_000, 0.05)  # each read returns at once: no read timeout

    server.routes["/drip"] = body_drip
    policy = RetryPolicy(deadline_seconds=1.0)
    with make_client() as client:
        error, seconds = timed(
            lambda: get_json(
                client, f"{server.base}/drip", None, service="Fake", what="a page", policy=policy
            )
        )
    assert isinstance(error, CollectFailed), error
    assert "took over 1 s" in str(error) and f"{server.base}/drip" in str(error)
    assert 1.0 <= seconds < 2.5
    assert server.calls["/drip"] == 1  # not retried: the server would drip again


def test_dripping_headers_are_cut_off_at_the_deadline(server: FakeServer):
    def header_drip(handler: Handler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        drip(handler, b"a" * 10_000, 0.05)

    server.routes["/slow-headers"] = header_drip
    policy = RetryPolicy(deadline_seconds=1.0)
    with make_client() as client:
        error, seconds = timed(
            lambda: get_json(
                client,
                f"{server.base}/slow-headers",
                None,
                service="Fake",
                what="a page",
                policy=policy,
            )
        )
    assert isinstance(error, CollectFailed), error
    assert "took over 1 s" in str(error)
    assert seconds < 2.5


def test_a_2_gb_body_is_stopped_at_the_cap_without_reading_the_rest(server: FakeServer):
    block = b"[" + b"0," * (32 * KIB)  # never valid JSON: only the cap can end it early

    def two_gigabytes(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()  # no Content-Length: the body ends when the server closes
        end = time.monotonic() + SERVER_GIVES_UP_SECONDS
        try:
            while server.sent < TWO_GB and time.monotonic() < end:
                handler.wfile.write(block)  # generated on the fly, never held whole
                server.sent += len(block)
        except OSError:
            pass
        finally:
            server.finished.set()

    server.routes["/huge"] = two_gigabytes
    policy = RetryPolicy(max_response_bytes=MIB)
    with make_client() as client:
        error, seconds = timed(
            lambda: get_json(
                client, f"{server.base}/huge", None, service="Fake", what="a page", policy=policy
            )
        )
    assert isinstance(error, CollectFailed), error
    message = str(error)
    assert "more than 1,048,576 bytes" in message and f"{server.base}/huge" in message
    read = int(message.split("stopped after ")[1].split(" bytes")[0].replace(",", ""))
    assert MIB < read < MIB + 256 * KIB  # the client read just past the cap
    assert server.finished.wait(5)
    # What the server got to write before the client hung up: the cap plus what the
    # kernel's socket buffers took, nowhere near 2 GB.
    assert server.sent < 64 * MIB
    assert seconds < 5
    print(f"2 GB body: client read {read:,} bytes, server wrote {server.sent:,} bytes")


def test_an_announced_oversized_body_is_refused_before_reading(server: FakeServer):
    def announced(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(TWO_GB))
        handler.end_headers()
        drip(handler, b"[" * 1000, 0.01)

    server.routes["/announced"] = announced
    with make_client() as client, pytest.raises(CollectFailed, match="2,147,483,648 bytes"):
        get_json(
            client,
            f"{server.base}/announced",
            None,
            service="Fake",
            what="a page",
            policy=RetryPolicy(max_response_bytes=MIB),
        )


def test_redirects_stay_on_the_same_host(server: FakeServer):
    port = server.server_address[1]

    def redirect(to: str) -> Route:
        def answer(handler: Handler) -> None:
            handler.send_response(302)
            handler.send_header("Location", to)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        return answer

    server.routes["/ok"] = lambda handler: handler.send_json({"ok": 1})
    server.routes["/moved"] = redirect("/ok?page=2")
    # localhost is this very server, but another host name: its data must not land
    # under 127.0.0.1.
    server.routes["/away"] = redirect(f"http://localhost:{port}/ok")
    with make_client() as client:
        assert get_json(client, f"{server.base}/moved", None, service="Fake", what="x").json() == {
            "ok": 1
        }
        assert server.calls["/ok"] == 1
        with pytest.raises(CollectFailed) as refused:
            get_json(client, f"{server.base}/away", None, service="Fake", what="x")
    assert "http://127.0.0.1" in str(refused.value) and "http://localhost" in str(refused.value)
    assert server.calls["/ok"] == 1  # the other host was never asked


# -- a run: repeated cursors and the page cap ---------------------------------------------------

BSKY_PROFILE = {"did": "did:plc:acme7brand", "handle": "acme.bsky.social"}


def bsky_post(n: int) -> dict[str, Any]:
    return {
        "post": {
            "uri": f"at://did:plc:acme7brand/app.bsky.feed.post/3k{n}",
            "cid": f"bafy{n}",
            "author": {"did": "did:plc:acme7brand", "handle": "acme.bsky.social"},
            "record": {
                "$type": "app.bsky.feed.post",
                "text": f"post {n}",
                "createdAt": "2024-05-01T10:00:00.000Z",
            },
            "indexedAt": "2024-05-01T10:00:00.000Z",
        }
    }


def bluesky_run(server: FakeServer, raw: Path, policy: RetryPolicy) -> tuple[object, float]:
    options = bluesky.BlueskyOptions(appview=server.base, threads=False)
    run = open_run(raw, "bluesky", "Acme", {"appview": server.base})
    with make_client() as client:
        return timed(
            lambda: bluesky.fetch(run, client, ["acme.bsky.social"], options, policy=policy)
        )


def test_bluesky_repeating_its_cursor_is_abandoned_at_once(server: FakeServer, tmp_path: Path):
    server.routes["/xrpc/app.bsky.actor.getProfile"] = lambda h: h.send_json(BSKY_PROFILE)
    server.routes["/xrpc/app.bsky.feed.getAuthorFeed"] = at_most(
        100, lambda h: h.send_json({"feed": [bsky_post(1)], "cursor": "2024-05-01T10:00:00.000Z"})
    )
    error, seconds = bluesky_run(server, tmp_path, RetryPolicy())
    assert isinstance(error, CollectFailed), error
    message = str(error)
    assert "Bluesky AppView" in message and "'2024-05-01T10:00:00.000Z'" in message
    assert "a second time" in message
    requests = server.calls["/xrpc/app.bsky.feed.getAuthorFeed"]
    assert requests == 2 and seconds < 2
    print(f"bluesky repeated cursor: abandoned after {requests} feed requests, {seconds:.3f} s")
    # The checkpoint keeps the cursor that led somewhere new; the rerun stops the same way
    # (no crash, no --fresh needed), and nothing half-kept is read twice.
    checkpoint = json.loads((tmp_path / "bluesky" / "Acme" / "checkpoint.json").read_text())
    feed_state = checkpoint["state"]["feeds"]["acme.bsky.social"]
    assert feed_state == {
        "cursor": "2024-05-01T10:00:00.000Z",
        "pages": 1,
        "posts": 1,
        "done": False,
    }
    error, _seconds = bluesky_run(server, tmp_path, RetryPolicy())
    assert isinstance(error, CollectFailed) and "a second time" in str(error)
    assert server.calls["/xrpc/app.bsky.feed.getAuthorFeed"] == 3


def test_bluesky_paging_forever_stops_at_the_page_cap(server: FakeServer, tmp_path: Path):
    server.routes["/xrpc/app.bsky.actor.getProfile"] = lambda h: h.send_json(BSKY_PROFILE)
    counter = iter(range(10**9))

    def endless(handler: Handler) -> None:
        n = next(counter)
        handler.send_json({"feed": [bsky_post(n)], "cursor": f"c{n}"})

    server.routes["/xrpc/app.bsky.feed.getAuthorFeed"] = at_most(200, endless)
    error, seconds = bluesky_run(server, tmp_path, RetryPolicy(max_pages=25))
    assert isinstance(error, CollectFailed), error
    assert "after 25 pages" in str(error) and "--limit" in str(error)
    assert server.calls["/xrpc/app.bsky.feed.getAuthorFeed"] == 25
    assert seconds < 10


def test_bluesky_cursor_of_the_wrong_type_never_reaches_the_checkpoint(
    server: FakeServer, tmp_path: Path
):
    server.routes["/xrpc/app.bsky.actor.getProfile"] = lambda h: h.send_json(BSKY_PROFILE)
    server.routes["/xrpc/app.bsky.feed.getAuthorFeed"] = at_most(
        100, lambda h: h.send_json({"feed": [bsky_post(1)], "cursor": {"$oops": 1}})
    )
    error, _seconds = bluesky_run(server, tmp_path, RetryPolicy())
    assert isinstance(error, CollectFailed) and "cursor" in str(error), error
    checkpoint = (tmp_path / "bluesky" / "Acme" / "checkpoint.json").read_text()
    assert "$oops" not in checkpoint  # the rerun asks for the first page again
    assert not list(tmp_path.glob("bluesky/Acme/*/feed/*/*.json"))  # no page kept


def test_mastodon_repeating_its_link_header_is_abandoned_at_once(
    server: FakeServer, tmp_path: Path
):
    statuses_path = "/api/v1/accounts/1001/statuses"
    server.routes["/api/v1/accounts/lookup"] = lambda h: h.send_json({"id": "1001", "acct": "acme"})
    status = {
        "id": "500",
        "created_at": "2024-05-01T10:00:00.000Z",
        "in_reply_to_id": None,
        "content": "<p>hello</p>",
        "account": {"id": "1001", "acct": "acme", "username": "acme"},
    }
    link = f'<{server.base}{statuses_path}?max_id=499>; rel="next"'
    server.routes[statuses_path] = at_most(100, lambda h: h.send_json([status], {"Link": link}))
    options = mastodon.MastodonOptions(instance=server.base, threads=False)
    run = open_run(tmp_path, "mastodon", "Acme", {"instance": server.base})
    with make_client() as client:
        error, seconds = timed(lambda: mastodon.fetch(run, client, ["acme"], options))
    assert isinstance(error, CollectFailed), error
    assert "Mastodon server" in str(error) and "'499'" in str(error)
    requests = server.calls[statuses_path]
    assert requests == 2 and seconds < 2
    print(f"mastodon repeated Link: abandoned after {requests} status requests, {seconds:.3f} s")
    checkpoint = json.loads((tmp_path / "mastodon" / "Acme" / "checkpoint.json").read_text())
    assert checkpoint["state"]["accounts"]["acme"]["max_id"] == "499"
    assert checkpoint["state"]["accounts"]["acme"]["pages"] == 1
