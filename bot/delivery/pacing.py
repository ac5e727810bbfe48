"""Send pacing under platform rate limits: per conversation, per hour, and platform-wide.

A caller reserves the next free slot synchronously and then sleeps until it, so any number of
concurrent senders share one schedule and the achieved rate stays at the allowed rate.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Callable

from bot.config import RateLimit


class Pacer:
    def __init__(self, limit: RateLimit, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._now = monotonic
        self._global_next = 0.0
        self._key_next: dict[str, float] = {}
        self._hourly: dict[str, deque[float]] = {}

    def reserve(self, key: str) -> float:
        """Reserve a slot for one message to ``key``; returns the seconds to wait for it."""
        now = self._now()
        slot = max(now, self._global_next, self._key_next.get(key, 0.0))
        hourly_cap = self.limit.per_conversation_per_hour
        if hourly_cap:
            window = self._hourly.setdefault(key, deque())
            while window and window[0] <= slot - 3600:
                window.popleft()
            if len(window) >= hourly_cap:
                slot = max(slot, window[0] + 3600)
            window.append(slot)
        self._global_next = slot + 1.0 / self.limit.per_second
        self._key_next[key] = slot + 1.0 / self.limit.per_conversation_per_second
        if len(self._key_next) > 50_000:  # forget conversations whose slot has long passed
            self._key_next = {k: v for k, v in self._key_next.items() if v > now}
        return slot - now

    def back_off(self, key: str, seconds: float) -> None:
        """The platform said wait (429): nothing more to ``key`` or the platform before then."""
        until = self._now() + seconds
        self._key_next[key] = max(self._key_next.get(key, 0.0), until)

