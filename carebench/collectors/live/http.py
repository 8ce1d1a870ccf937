"""HTTP for the live collectors: bounded requests, bounded retries, Retry-After, clear errors.

Every request is bounded three ways, so no server can hang a run or exhaust memory:
a total deadline (connect, headers and body together, not per read: a server dripping
one byte a second is cut off), a byte cap on the body (read as a stream and stopped at
the cap, never loaded whole), and redirects followed only within the same host (data
fetched from another host would land under the original one).
"""

from __future__ import annotations

import contextlib
import email.utils
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from carebench.errors import CareBenchError

USER_AGENT = "CareBench/0.1 (customer-care benchmark; public data only)"

# Defaults for every request: generous for a real API page (well under a second and a
# few hundred KB), small enough that a broken or hostile server is given up on quickly.
DEFAULT_DEADLINE_SECONDS = 60.0  # total per request, redirects included
DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024  # per response body, after decompression
DEFAULT_MAX_REDIRECTS = 5
# Pages per account per run: 10,000 pages is 1M Bluesky posts or 400k Mastodon statuses,
# far beyond any brand's history; a server that keeps paging past it is looping.
DEFAULT_MAX_PAGES = 10_000

# Module-level so tests can make the waits instant.
sleep: Callable[[float], None] = time.sleep


class CollectFailed(CareBenchError):
    """A live collection stopped: the service refused, failed or could not be reached."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry 429, 5xx and network errors, and the bounds
    every request and run are held to (deadline, body size, redirects, pages)."""

    max_attempts: int = 5
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 60.0
    # A Retry-After beyond this is not waited out: the run stops, resumable later.
    max_retry_after_seconds: float = 900.0
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    max_pages: int = DEFAULT_MAX_PAGES

    def backoff_seconds(self, attempt: int) -> float:
        """Delay before retry number `attempt` (1-based): exponential, capped."""
        return float(min(self.base_delay_seconds * 2 ** (attempt - 1), self.max_delay_seconds))


DEFAULT_POLICY = RetryPolicy()


class LiveClient(httpx.Client):
    """An httpx client that remembers the socket of its connection.

    The collectors send one request at a time over one connection, so the socket last
    connected is the one in use: when a request's deadline passes while a read is
    blocked (a server that sends nothing, or drips its headers), shutting that socket
    down ends the read at once instead of after the per-read timeout.
    """

    live_socket: socket.socket | None = None

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's trace hook: keep the socket of each new (TLS) connection."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            found = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(found, socket.socket):
                self.live_socket = found


def make_client(timeout_seconds: float = 30.0) -> httpx.Client:
    """An httpx client with connect/read timeouts and CareBench's user agent.

    Redirects are not followed by httpx: `get_json` follows them within the same host.
    """
    return LiveClient(
        timeout=httpx.Timeout(timeout_seconds, connect=10.0),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=False,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def get_json(
    client: httpx.Client,
    url: str,
    params: Mapping[str, Any] | None,
    *,
    service: str,
    what: str,
    policy: RetryPolicy = DEFAULT_POLICY,
    ok_statuses: tuple[int, ...] = (),
) -> httpx.Response:
    """GET `url` and return the response (body read, within bounds) once it is 2xx JSON.

    429 waits for Retry-After (else the backoff); 5xx, timeouts and connection errors
    back off exponentially; after `policy.max_attempts` tries, or on any other status,
    raises CollectFailed naming the service, the request and what to do. Statuses in
    `ok_statuses` (e.g. a thread that was deleted) are returned for the caller to judge.
    A request over the deadline or the byte cap, or redirected to another host, fails at
    once (not retried: the server would do it again).
    """
    last_problem = ""
    for attempt in range(1, policy.max_attempts + 1):
        try:
            response = _bounded_get(client, url, params, service, what, policy)
        except httpx.TransportError as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
            wait = policy.backoff_seconds(attempt)
        else:
            status = response.status_code
            if status in ok_statuses:
                return response
            if 200 <= status < 300:
                try:
                    response.json()
                except RecursionError as exc:
                    # Valid JSON that Python cannot read: no API page nests this deep.
                    raise CollectFailed(
                        f"{service} answered {what} with JSON nested too deep to read "
                        "(over ~900 levels); no API page is shaped so, the server is "
                        "misbehaving. Check the server address."
                    ) from exc
                except ValueError as exc:
                    raise CollectFailed(
                        f"{service} answered {what} with something that is not JSON "
                        f"({response.headers.get('content-type', 'no content type')}). "
                        "Check the server address."
                    ) from exc
                return response
            if status == 429:
                last_problem = "HTTP 429 Too Many Requests (rate limited)"
                asked = retry_after_seconds(response.headers.get("Retry-After"))
                if asked is not None and asked > policy.max_retry_after_seconds:
                    raise CollectFailed(
                        f"{service} rate-limited {what} and asks to wait {asked:.0f} s. "
                        "Rerun the same command later: it resumes where it stopped."
                    )
                wait = asked if asked is not None else policy.backoff_seconds(attempt)
            elif status >= 500:
                last_problem = f"HTTP {status}"
                wait = policy.backoff_seconds(attempt)
            else:
                raise CollectFailed(
                    f"{service} refused {what}: HTTP {status}{_api_message(response)}. "
                    + _hint(status)
                )
        if attempt < policy.max_attempts:
            sleep(wait)
    raise CollectFailed(
        f"{service} failed {what} {policy.max_attempts} times (last: {last_problem}). "
        "The service may be down or overloaded: rerun the same command later, it resumes "
        "from its checkpoint and nothing collected so far is lost."
    )


def _bounded_get(
    client: httpx.Client,
    url: str,
    params: Mapping[str, Any] | None,
    service: str,
    what: str,
    policy: RetryPolicy,
) -> httpx.Response:
    """One GET (and its same-host redirects) within the deadline and the byte cap."""
    started = time.monotonic()
    deadline = started + policy.deadline_seconds
    cut = threading.Event()
    watchdog = threading.Timer(policy.deadline_seconds, _cut_connection, (client, cut))
    watchdog.daemon = True
    watchdog.start()
    try:
        request = _request(client, "GET", url, params, policy, deadline)
        for _redirect in range(policy.max_redirects + 1):
            with client.stream(**request) as response:
                if not response.is_redirect:
                    body = _read_capped(response, url, service, what, policy, deadline)
                    return httpx.Response(
                        response.status_code,
                        headers=response.headers,
                        content=body,
                        request=response.request,
                    )
                target = _redirect_target(response, url, service, what)
            request = _request(client, "GET", str(target), None, policy, deadline)
        raise CollectFailed(
            f"{service} redirected {what} more than {policy.max_redirects} times "
            f"({url}). Check the server address."
        )
    except (httpx.TransportError, httpx.DecodingError, OSError, ValueError) as exc:
        if cut.is_set() or time.monotonic() >= deadline:
            raise _over_deadline(url, service, what, policy) from exc
        if isinstance(exc, httpx.DecodingError):
            raise CollectFailed(
                f"{service} answered {what} with a body that cannot be decoded ({exc}; {url}). "
                "Check the server address."
            ) from exc
        raise
    finally:
        watchdog.cancel()
        cut.set()  # a watchdog firing from now on finds the request over


def _request(
    client: httpx.Client,
    method: str,
    url: str,
    params: Mapping[str, Any] | None,
    policy: RetryPolicy,
    deadline: float,
) -> dict[str, Any]:
    """Keyword arguments for client.stream: no single read may outlast the deadline."""
    left = max(0.001, deadline - time.monotonic())
    base = client.timeout
    timeout = httpx.Timeout(
        connect=min(base.connect or left, left),
        read=min(base.read or left, left),
        write=min(base.write or left, left),
        pool=min(base.pool or left, left),
    )
    extensions = {"trace": client.trace} if isinstance(client, LiveClient) else {}
    return {
        "method": method,
        "url": url,
        "params": dict(params) if params else None,
        "timeout": timeout,
        "extensions": extensions,
        "follow_redirects": False,
    }


def _cut_connection(client: httpx.Client, cut: threading.Event) -> None:
    """At the deadline: end whatever read is blocked by shutting the socket down."""
    if cut.is_set():
        return
    cut.set()
    sock = client.live_socket if isinstance(client, LiveClient) else None
    if sock is not None:
        # The plain socket's shutdown, also for TLS: SSLSocket.shutdown would unwrap the
        # TLS object under the reading thread's feet. OSError: it is closed already.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _read_capped(
    response: httpx.Response,
    url: str,
    service: str,
    what: str,
    policy: RetryPolicy,
    deadline: float,
) -> bytes:
    """The body, read chunk by chunk, stopped at the byte cap or the deadline."""
    cap = policy.max_response_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_big(url, service, what, cap, f"it announced {int(declared):,} bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise _too_big(url, service, what, cap, f"stopped after {size:,} bytes")
        if time.monotonic() > deadline:
            raise _over_deadline(url, service, what, policy)
        chunks.append(chunk)
    return b"".join(chunks)


def _redirect_target(response: httpx.Response, url: str, service: str, what: str) -> httpx.URL:
    """Where a redirect points, if it stays on the same host over the same security."""
    location = response.headers.get("location")
    if not location:
        raise CollectFailed(
            f"{service} redirected {what} ({url}) without saying where to. "
            "Check the server address."
        )
    source = response.url
    target = source.join(location)
    same_host = (target.host or "").lower() == (source.host or "").lower()
    downgrade = target.scheme not in ("http", "https") or (
        source.scheme == "https" and target.scheme != "https"
    )
    if not same_host:
        raise CollectFailed(
            f"{service} redirected {what} from {source.scheme}://{source.host} to another "
            f"host, {target.scheme}://{target.host} ({url}); CareBench follows redirects "
            "only within the same host, so the data would not land under the wrong server. "
            f"If the service moved, pass the new address ({target.scheme}://{target.host})."
        )
    if downgrade:
        raise CollectFailed(
            f"{service} redirected {what} from {source.scheme}://{source.host} to "
            f"{target.scheme}://{target.host} ({url}); CareBench follows redirects only "
            "to http(s), never from https to plain http. Check the server address."
        )
    return target


def _too_big(url: str, service: str, what: str, cap: int, detail: str) -> CollectFailed:
    return CollectFailed(
        f"{service} answered {what} with more than {cap:,} bytes ({detail}; {url}); "
        "no API page is that large, so the server is misbehaving. Check the server address."
    )


def _over_deadline(url: str, service: str, what: str, policy: RetryPolicy) -> CollectFailed:
    return CollectFailed(
        f"{service} took over {policy.deadline_seconds:g} s to answer {what} ({url}); "
        "stopped. The server is too slow or misbehaving: rerun the same command later, it "
        "resumes from its checkpoint and nothing collected so far is lost."
    )


def _api_message(response: httpx.Response) -> str:
    """The error text an API put in its JSON body, if any."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return ""
    if isinstance(body, dict):
        message = body.get("message") or body.get("error_description") or body.get("error")
        if isinstance(message, str) and message:
            return f" ({message[:200]})"
    return ""


def _hint(status: int) -> str:
    if status in (401, 403):
        return "This server does not allow reading without login; try another server."
    if status in (400, 404):
        return "Check the handle (and the server address)."
    return "Check the options, or try again later."
