"""HTTP for the live collectors: timeouts, bounded retries, Retry-After, clear errors."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from carebench.errors import CareBenchError

USER_AGENT = "CareBench/0.1 (customer-care benchmark; public data only)"

# Module-level so tests can make the waits instant.
sleep: Callable[[float], None] = time.sleep


class CollectFailed(CareBenchError):
    """A live collection stopped: the service refused, failed or could not be reached."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry 429, 5xx and network errors."""

    max_attempts: int = 5
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 60.0
    # A Retry-After beyond this is not waited out: the run stops, resumable later.
    max_retry_after_seconds: float = 900.0

    def backoff_seconds(self, attempt: int) -> float:
        """Delay before retry number `attempt` (1-based): exponential, capped."""
        return float(min(self.base_delay_seconds * 2 ** (attempt - 1), self.max_delay_seconds))


DEFAULT_POLICY = RetryPolicy()


def make_client(timeout_seconds: float = 30.0) -> httpx.Client:
    """An httpx client with connect/read timeouts and CareBench's user agent."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout_seconds, connect=10.0),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=True,
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
    """GET `url` and return the response once it is a 2xx JSON answer.

    429 waits for Retry-After (else the backoff); 5xx, timeouts and connection errors
    back off exponentially; after `policy.max_attempts` tries, or on any other status,
    raises CollectFailed naming the service, the request and what to do. Statuses in
    `ok_statuses` (e.g. a thread that was deleted) are returned for the caller to judge.
    """
    last_problem = ""
    for attempt in range(1, policy.max_attempts + 1):
        try:
            response = client.get(url, params=params)
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


def _api_message(response: httpx.Response) -> str:
    """The error text an API put in its JSON body, if any."""
    try:
        body = response.json()
    except ValueError:
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
