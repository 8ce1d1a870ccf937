"""The live collectors' HTTP: Retry-After, bounded backoff, network errors, help texts."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import httpx
import pytest
import respx
import typer

from carebench.cli import app
from carebench.collectors.live import http as live_http
from carebench.collectors.live.http import (
    CollectFailed,
    RetryPolicy,
    get_json,
    make_client,
    retry_after_seconds,
)

URL = "https://api.example/x"


@pytest.fixture(autouse=True)
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(live_http, "sleep", recorded.append)
    return recorded


def test_retry_after_seconds_and_http_dates():
    now = datetime(2024, 5, 3, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("Fri, 03 May 2024 10:00:45 GMT", now) == 45.0
    assert retry_after_seconds("Fri, 03 May 2024 09:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_is_exponential_and_capped():
    policy = RetryPolicy(base_delay_seconds=2, max_delay_seconds=10)
    assert [policy.backoff_seconds(n) for n in range(1, 6)] == [2, 4, 8, 10, 10]


@respx.mock
def test_network_errors_are_retried_then_explained(waits: list[float]):
    respx.get(URL).mock(side_effect=httpx.ConnectTimeout("timed out"))
    with make_client() as client, pytest.raises(CollectFailed) as failure:
        get_json(client, URL, None, service="Test API", what="the page")
    assert "Test API" in str(failure.value) and "ConnectTimeout" in str(failure.value)
    assert waits == [2.0, 4.0, 8.0, 16.0]


@respx.mock
def test_429_without_retry_after_backs_off(waits: list[float]):
    respx.get(URL).mock(side_effect=[httpx.Response(429), httpx.Response(200, json={"ok": 1})])
    with make_client() as client:
        assert get_json(client, URL, None, service="Test API", what="x").json() == {"ok": 1}
    assert waits == [2.0]


@respx.mock
def test_a_very_long_retry_after_stops_the_run_resumably(waits: list[float]):
    respx.get(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "86400"}))
    with make_client() as client, pytest.raises(CollectFailed, match="resumes"):
        get_json(client, URL, None, service="Test API", what="x")
    assert waits == []


@respx.mock
def test_a_page_that_is_not_json_is_a_clear_error():
    respx.get(URL).mock(return_value=httpx.Response(200, text="<html>maintenance</html>"))
    with make_client() as client, pytest.raises(CollectFailed, match="not JSON"):
        get_json(client, URL, None, service="Test API", what="x")


@respx.mock
def test_a_page_nested_too_deep_is_a_clear_error():
    # Valid JSON 10,000 levels deep: Python's reader gives up with RecursionError.
    respx.get(URL).mock(return_value=httpx.Response(200, text="[" * 10_000 + "]" * 10_000))
    with make_client() as client, pytest.raises(CollectFailed, match="nested too deep"):
        get_json(client, URL, None, service="Test API", what="x")


def test_every_collect_command_and_option_has_help_text():
    collect = typer.main.get_command(app).commands["collect"]  # type: ignore[attr-defined]
    assert collect.help
    assert set(collect.commands) == {"bluesky", "mastodon", "snscrape"}
    for name, command in collect.commands.items():
        assert command.help, f"collect {name} has no help"
        for param in command.params:
            assert getattr(param, "help", None), f"collect {name} {param.name} has no help"


@respx.mock
def test_redirects_to_plain_http_or_in_circles_are_refused():
    respx.get(URL).mock(
        return_value=httpx.Response(301, headers={"Location": "http://api.example/x"})
    )
    with make_client() as client, pytest.raises(CollectFailed, match="never from https"):
        get_json(client, URL, None, service="Test API", what="x")
    respx.get(URL).mock(return_value=httpx.Response(302, headers={"Location": "/x"}))
    policy = RetryPolicy(max_redirects=3)
    with make_client() as client, pytest.raises(CollectFailed, match="more than 3 times"):
        get_json(client, URL, None, service="Test API", what="x", policy=policy)


@respx.mock
def test_the_byte_cap_counts_decompressed_bytes_and_bad_gzip_is_explained():
    zeros = gzip.compress(b" " * (5 * 1024 * 1024))  # 5 MB of JSON whitespace, ~5 KB sent
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    respx.get(URL).mock(return_value=httpx.Response(200, content=zeros, headers=headers))
    policy = RetryPolicy(max_response_bytes=1024 * 1024)
    with make_client() as client, pytest.raises(CollectFailed, match="more than 1,048,576"):
        get_json(client, URL, None, service="Test API", what="x", policy=policy)
    respx.get(URL).mock(
        return_value=httpx.Response(200, content=iter([b"not gzip"]), headers=headers)
    )
    with make_client() as client, pytest.raises(CollectFailed, match="cannot be decoded"):
        get_json(client, URL, None, service="Test API", what="x")
