"""The live collectors' HTTP: Retry-After, bounded backoff, network errors, help texts."""

from __future__ import annotations

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


def test_every_collect_command_and_option_has_help_text():
    collect = typer.main.get_command(app).commands["collect"]  # type: ignore[attr-defined]
    assert collect.help
    assert set(collect.commands) == {"bluesky", "mastodon", "snscrape"}
    for name, command in collect.commands.items():
        assert command.help, f"collect {name} has no help"
        for param in command.params:
            assert getattr(param, "help", None), f"collect {name} {param.name} has no help"
