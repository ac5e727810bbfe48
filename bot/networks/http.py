"""A JSON GET on the shared aiohttp session, under a rate budget, honouring the network's rate headers.

Before each call a token is taken from the budget (``bot.delivery.budget``: in the database on
PostgreSQL, so every instance shares it). The answer's rate headers are read on every response:
``x-rate-limit-remaining``/``x-rate-limit-reset`` (X) or ``ratelimit-remaining``/``ratelimit-reset``
(Bluesky), resets in epoch seconds. When nothing remains, or on a 429, the budget's key is paused
until the reset (``Retry-After`` when there is no reset header), so every caller on every instance
waits. A wait longer than ``max_wait`` raises :class:`RateLimited` (the sync stops and resumes
later); 5xx answers and network faults are retried with back-off, then :class:`NetworkUnavailable`.
Logs carry paths and status codes, never what the network said about anyone.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from bot.delivery.ports import Budget, Rate
from bot.delivery.transport import retry_after_seconds
from bot.outbound import OutboundSession

log = logging.getLogger(__package__)

TIMEOUT_SECONDS = 20.0
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
DEFAULT_PAUSE_SECONDS = 60.0
RETRYABLE = frozenset({500, 502, 503, 504})


class NetworkError(Exception):
    """An answer retrying will not change (a refused token, a bad request); ``status`` is the HTTP one."""

    def __init__(self, reason: str, status: int = 0, body: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.body = body or {}


class NetworkUnavailable(Exception):
    """5xx or unreachable after every retry: the sync keeps what it knew and tries on a later run."""


class RateLimited(NetworkUnavailable):
    """The network's limit resets later than the caller is willing to wait."""

    def __init__(self, seconds: float, key: str) -> None:
        super().__init__(f"rate limited on {key} for {seconds:.0f}s")
        self.seconds = seconds


class JsonApi:
    """GET ``base_url + path`` answering JSON, on a shared session (or its own), under ``budget``."""

    def __init__(self, base_url: str, budget: Budget, *, header_prefix: str,
                 headers: dict[str, str] | None = None,
                 session: Callable[[], aiohttp.ClientSession | None] | None = None,
                 timeout: float = TIMEOUT_SECONDS, max_wait: float = 960.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 wall: Callable[[], float] = time.time) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.budget = budget
        self.prefix = header_prefix
        self.headers = headers or {}
        self.max_wait = max_wait
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = OutboundSession(session, self._timeout)
        self._sleep = sleep
        self._wall = wall
        self.calls = 0
        """Requests sent, retries included (the bench counts API calls per physician)."""

    async def close(self) -> None:
        await self._session.close()

    async def get(self, path: str, params: Sequence[tuple[str, str]], key: str, rate: Rate) -> dict[str, Any]:
        """The JSON body of a 200; NetworkError for a 4xx other than 429 (with the body, for callers
        that read the network's error), RateLimited or NetworkUnavailable as above."""
        backoff = BACKOFF_SECONDS
        for attempt in range(1, MAX_ATTEMPTS + 1):
            paused = await self.budget.paused_for(key)
            if paused > self.max_wait:
                raise RateLimited(paused, key)
            wait = await self.budget.acquire(key, rate)
            if wait > self.max_wait:
                raise RateLimited(wait, key)
            if wait > 0:
                await self._sleep(wait)
            self.calls += 1
            try:
                async with self._session().get(self.base_url + path, params=list(params), headers=self.headers,
                                               timeout=self._timeout) as response:
                    status = response.status
                    await self._note_limits(key, response.headers, status)
                    if status == 200:
                        body = await response.json(content_type=None)
                        return body if isinstance(body, dict) else {}
                    if status == 429:
                        log.info("%s: 429 on %s (attempt %d)", key, path.split("?")[0], attempt)
                        continue
                    if status in RETRYABLE:
                        log.info("%s: %d on %s (attempt %d)", key, status, path.split("?")[0], attempt)
                    else:
                        try:
                            body = await response.json(content_type=None)
                        except (ValueError, aiohttp.ContentTypeError):
                            body = {}
                        raise NetworkError(f"{key}: HTTP {status}", status, body if isinstance(body, dict) else {})
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.info("%s: %s on %s (attempt %d)", key, type(exc).__name__, path.split("?")[0], attempt)
            if attempt < MAX_ATTEMPTS:
                await self._sleep(backoff)
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)
        raise NetworkUnavailable(f"{key}: no answer after {MAX_ATTEMPTS} attempts")

    async def _note_limits(self, key: str, headers: Any, status: int) -> None:
        """Pause the key until the reset when the network says nothing remains (or answered 429)."""
        remaining = _number(headers.get(self.prefix + "remaining"))
        reset = _number(headers.get(self.prefix + "reset"))
        if status != 429 and (remaining is None or remaining > 0):
            return
        seconds: float | None = None
        if reset is not None:
            seconds = max(0.0, reset - self._wall()) if reset > 1e9 else reset  # epoch seconds, or a delta
        if seconds is None and status == 429:
            seconds = retry_after_seconds(headers.get("Retry-After"))
        if seconds is None:
            seconds = DEFAULT_PAUSE_SECONDS if status == 429 else 0.0
        seconds = min(seconds, 86_400.0)
        if seconds > 0:
            await self.budget.pause(key, seconds)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
