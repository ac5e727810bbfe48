"""One person's turns run one at a time, in the order their platform delivered them.

Shared by every channel: a physician who presses two buttons quickly gets the second answer
computed after the first one's changes are stored. Turns of different people run side by side.
"""
from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class TurnQueue:
    """A lock per person with turns in flight, forgotten when their last turn ends."""

    def __init__(self) -> None:
        self._turns: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        """Per person: their lock and how many turns hold or await it."""

    async def serially(self, person: str, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` after every earlier turn of ``person`` (``platform:user id``) has finished."""
        lock, holders = self._turns.setdefault(person, (asyncio.Lock(), [0]))
        holders[0] += 1
        try:
            async with lock:
                return await work
        finally:
            work.close()  # no-op once run; a turn cancelled while waiting in line is never started
            holders[0] -= 1
            if not holders[0]:  # nobody else in line: forget the lock (it would stay for every person ever seen)
                del self._turns[person]

    def __len__(self) -> int:
        """People with turns in flight."""
        return len(self._turns)
