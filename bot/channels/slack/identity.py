"""Who a Slack user is: email (to match the roster), name and time zone, from ``users.info``.

Answers are cached in memory for an hour, so a busy physician costs one lookup an hour. A failed
lookup is not cached and yields a user with no email: a physician already linked to the roster
is still recognised by the store; anyone else gets the coach's onboarding.
"""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack.client import error_code

log = logging.getLogger(__package__)
TTL_SECONDS = 3600.0
MAX_CACHED = 20_000


@dataclass(frozen=True)
class SlackUser:
    id: str
    email: str | None = None
    name: str | None = None
    timezone: str | None = None


class SlackDirectory:
    """``users.info`` with a bounded, time-limited cache."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = TTL_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl = ttl
        self.monotonic = monotonic
        self._cache: OrderedDict[str, tuple[float, SlackUser]] = OrderedDict()

    async def user(self, user_id: str) -> SlackUser:
        hit = self._cache.get(user_id)
        now = self.monotonic()
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        try:
            response = await self.client.users_info(user=user_id)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("users.info failed user=%s error=%s", user_id, error_code(exc))
            return hit[1] if hit is not None else SlackUser(user_id)
        found = _user(user_id, response.get("user") or {})
        self._cache[user_id] = (now, found)
        self._cache.move_to_end(user_id)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return found


def _user(user_id: str, data: dict) -> SlackUser:
    profile = data.get("profile") or {}
    name = profile.get("real_name") or data.get("real_name") or profile.get("display_name") or data.get("name")
    return SlackUser(id=user_id, email=(profile.get("email") or "").strip().lower() or None,
                     name=name or None, timezone=data.get("tz") or None)
