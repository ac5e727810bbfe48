"""Answers to acknowledged Slack requests: started in arrival order, behind the acks.

Slack wants every request acknowledged within 3 seconds and shows the person an error when an ack
is late; the answer itself (a ``response_url`` post, a ``chat.postMessage``, the App Home) may come
minutes later. In one process the acks and the answers share one event loop, so under a burst every
answer started slows every ack. An answer therefore starts only while no Slack request is waiting
for its ack, or once it has waited :data:`PATIENCE_SECONDS`: a burst is acknowledged at full speed
and answered right after it, and under sustained load no answer waits much longer than that.

A waiting answer is a plain queue entry (a started one holds a task and its frames: far more
memory), and at most :data:`STARTED_AT_MOST` are under way at once.
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

Answer = Callable[[], Coroutine[Any, Any, None]]
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]

STARTED_AT_MOST = 64
"""Answers under way at once (most of their time is spent waiting on Slack's API)."""
PATIENCE_SECONDS = 5.0
"""How long an answer waits behind acks in flight before it starts anyway: about as long as people
wait for a chat reply without trying again (Slack keeps a ``response_url`` usable for 30 minutes)."""


class Answers:
    """The line of answers behind the acks of one Slack app."""

    def __init__(self, spawn: Spawn, *, started_at_most: int = STARTED_AT_MOST,
                 patience: float = PATIENCE_SECONDS) -> None:
        self._spawn = spawn
        self._started_at_most = started_at_most
        self._patience = patience
        self._started = 0
        self._acking = 0
        self._waiting: deque[tuple[float, Answer]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @contextmanager
    def acking(self) -> Iterator[None]:
        """Around one request until its ack is sent: answers wait while any request is inside."""
        self._acking += 1
        try:
            yield
        finally:
            self._acking -= 1
            if not self._acking:
                self._start_what_may()

    def submit(self, answer: Answer) -> None:
        """Answer later, in arrival order."""
        self._waiting.append((asyncio.get_running_loop().time(), answer))
        self._start_what_may()

    def clear(self) -> int:
        """Forget the answers not started (shutdown); how many there were."""
        count = len(self._waiting)
        self._waiting.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return count

    def _start_what_may(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting and self._started < self._started_at_most:
            since, answer = self._waiting[0]
            if self._acking and loop.time() - since < self._patience:
                self._wake_at(since + self._patience)
                return
            self._waiting.popleft()
            self._started += 1
            self._spawn(answer()).add_done_callback(self._finished)

    def _wake_at(self, when: float) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_at(when, self._wake)

    def _wake(self) -> None:
        self._timer = None
        self._start_what_may()

    def _finished(self, _: asyncio.Task[None]) -> None:
        self._started -= 1
        self._start_what_may()
