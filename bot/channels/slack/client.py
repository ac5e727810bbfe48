"""The Slack Web API clients built from the settings, and the one HTTP session (connection pool)
every Slack call of the process shares."""
from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.settings import SlackSettings

TIMEOUT_SECONDS = 10
MAX_CONNECTIONS = 100
"""Open connections to Slack at most (aiohttp's default); more calls wait for a free one."""


def _interactive_retries() -> list[AsyncRetryHandler]:
    return [AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2)]


def sdk_logger() -> logging.Logger:
    """slack_sdk's clients' logger, never below INFO. The SDK formats every request and response body
    into a DEBUG message whenever its logger's *own* level is DEBUG or unset (even when nothing is
    printed); those bodies carry what people wrote, and formatting them costs CPU on every call."""
    logger = logging.getLogger("bot.channels.slack.sdk")
    if logger.level < logging.INFO:
        logger.setLevel(logging.INFO)
    return logger


class SlackHttp:
    """The process's one ``aiohttp.ClientSession`` for Slack: Web API calls (answers, App Home,
    ``users.info``, the outbox sender) and ``response_url`` posts reuse its kept-alive connections
    instead of a new session and TCP (and TLS) connection per call.

    Opened when the server starts (:meth:`open`, inside the event loop) and closed at clean-up,
    after in-flight answers and the sender have stopped. Clients made before :meth:`open`, or used
    without it, fall back to slack_sdk's session per call.
    """

    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None
        self._clients: list[AsyncWebClient] = []

    def web_client(self, settings: SlackSettings, *, retries: bool) -> AsyncWebClient:
        client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url, timeout=TIMEOUT_SECONDS,
                                session=self.session, logger=sdk_logger(),
                                retry_handlers=_interactive_retries() if retries else [])
        self._clients.append(client)
        return client

    def webhook(self, url: str) -> AsyncWebhookClient:
        """Posts to a ``response_url`` with the same retry policy as the interactive client."""
        return AsyncWebhookClient(url=url, timeout=TIMEOUT_SECONDS, session=self.session, logger=sdk_logger(),
                                  retry_handlers=_interactive_retries())

    async def open(self) -> None:
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
                                                 connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS))
        for client in self._clients:
            client.session = self.session

    async def close(self) -> None:
        session, self.session = self.session, None
        for client in self._clients:
            client.session = None
        if session is not None and not session.closed:
            await session.close()


def interactive_client(settings: SlackSettings, http: SlackHttp | None = None) -> AsyncWebClient:
    """For answering people: waits out 429 (``Retry-After``) and retries dropped connections."""
    return (http or SlackHttp()).web_client(settings, retries=True)


def transport_client(settings: SlackSettings, http: SlackHttp | None = None) -> AsyncWebClient:
    """For the outbox sender: exactly one attempt per call, the sender owns every retry."""
    return (http or SlackHttp()).web_client(settings, retries=False)


def response_url_client(url: str, http: SlackHttp | None = None) -> AsyncWebhookClient:
    """Posts to a ``response_url`` with the same retry policy as the interactive client."""
    return (http or SlackHttp()).webhook(url)


def status_of(exc: SlackApiError) -> int:
    response: Any = exc.response
    return int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)


def error_code(exc: BaseException) -> str:
    """Slack's ``error`` code (``channel_not_found`` …), else ``http <status>``, else the exception type."""
    if not isinstance(exc, SlackApiError):
        return type(exc).__name__
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http {status_of(exc)}"
