"""Send pacing under platform rate limits: per conversation, per hour, and platform-wide.

A caller reserves the next free slot synchronously and then sleeps until it, so any number of
concurrent senders share one schedule and the achieved rate stays at the allowed rate.
"""
from __future__ import annotations

import math
import time
from collections import deque
from typing import Callable

from bot.config import RateLimit


class Pacer:
    def __init__(self, limit: RateLimit, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._now = monotonic
        self._taken: set[int] = set()
        """Platform-wide slots given out (slot ``i`` is at ``i / per_second``): one message per slot."""
        self._key_next: dict[str, float] = {}
        self._hourly: dict[str, deque[float]] = {}

    def reserve(self, key: str) -> float:
        """Reserve a slot for one message to ``key``; returns the seconds to wait for it.

        The message gets the first free platform-wide slot at or after the moment its conversation
        may have the next message. A message that must wait for its conversation leaves the slots
        before it to messages for other conversations (it does not hold up the whole platform).
        """
        now = self._now()
        earliest = max(now, self._key_next.get(key, 0.0))
        hourly_cap = self.limit.per_conversation_per_hour
        window = None
        if hourly_cap:
            window = self._hourly.setdefault(key, deque())
            while window and window[0] <= earliest - 3600:
                window.popleft()
            if len(window) >= hourly_cap:
                earliest = max(earliest, window[0] + 3600)
        gap = 1.0 / self.limit.per_second
        index = math.ceil(earliest / gap)
        while index in self._taken:
            index += 1
        self._taken.add(index)
        slot = index * gap
        if window is not None:
            window.append(slot)
        self._key_next[key] = slot + 1.0 / self.limit.per_conversation_per_second
        if len(self._taken) > 10_000:  # forget slots that have passed
            self._taken = {i for i in self._taken if i * gap > now}
        if len(self._key_next) > 50_000:  # forget conversations whose slot has long passed
            self._key_next = {k: v for k, v in self._key_next.items() if v > now}
        return slot - now

    def back_off(self, key: str, seconds: float) -> None:
        """The platform said wait (429): nothing more to ``key`` or the platform before then."""
        until = self._now() + seconds
        self._key_next[key] = max(self._key_next.get(key, 0.0), until)

