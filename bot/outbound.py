"""The HTTP session an outbound client sends on: the process's shared one, or its own."""
from __future__ import annotations

from collections.abc import Callable

import aiohttp


class OutboundSession:
    """The server's shared aiohttp session while it is open; otherwise (a CLI run, a test) one of this
    client's own, made on first use with ``timeout`` and closed by :meth:`close`."""

    def __init__(self, shared: Callable[[], aiohttp.ClientSession | None] | None, timeout: aiohttp.ClientTimeout) -> None:
        self._shared = shared
        self._timeout = timeout
        self._own: aiohttp.ClientSession | None = None

    def __call__(self) -> aiohttp.ClientSession:
        shared = self._shared() if self._shared else None
        if shared is not None and not shared.closed:
            return shared
        if self._own is None or self._own.closed:
            self._own = aiohttp.ClientSession(timeout=self._timeout)
        return self._own

    async def close(self) -> None:
        own, self._own = self._own, None
        if own is not None and not own.closed:
            await own.close()
