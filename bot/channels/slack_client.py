"""Slack settings from the environment and the Web API clients built from them."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler, AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

DEFAULT_API_URL = "https://slack.com/api/"
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class SlackSettings:
    """``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``, ``SLACK_APP_TOKEN``, ``SLACK_API_URL``."""

    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SlackSettings":
        env = os.environ if env is None else env
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        return cls(bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
                   signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
                   app_token=env.get("SLACK_APP_TOKEN", "").strip(),
                   api_url=api_url if api_url.endswith("/") else api_url + "/")

    @property
    def mode(self) -> Literal["socket", "http"] | None:
        """Socket Mode when an app-level token is set, HTTP when the signing secret is; else off."""
        if not self.bot_token:
            return None
        if self.app_token:
            return "socket"
        if self.signing_secret:
            return "http"
        return None


def _interactive_retries() -> list[AsyncRetryHandler]:
    return [AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2)]


def interactive_client(settings: SlackSettings) -> AsyncWebClient:
    """For answering people: waits out 429 (``Retry-After``) and retries dropped connections."""
    return AsyncWebClient(token=settings.bot_token, base_url=settings.api_url, timeout=TIMEOUT_SECONDS,
                          retry_handlers=_interactive_retries())


def transport_client(settings: SlackSettings) -> AsyncWebClient:
    """For the outbox sender: exactly one attempt per call, the sender owns every retry."""
    return AsyncWebClient(token=settings.bot_token, base_url=settings.api_url, timeout=TIMEOUT_SECONDS,
                          retry_handlers=[])


def response_url_client(url: str) -> AsyncWebhookClient:
    """Posts to a ``response_url`` with the same retry policy as the interactive client."""
    return AsyncWebhookClient(url=url, timeout=TIMEOUT_SECONDS, retry_handlers=_interactive_retries())


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
