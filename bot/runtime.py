"""Wiring: config, content, store, clock and coach, built once per process."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.clock import Clock, SimulatedClock, SystemClock
from bot.coach import Coach
from bot.config import Config
from bot.content import Content, load_content
from bot.store import Store

DEFAULT_DATABASE = "sqlite:///social-rounds.db"
DEMO_DATABASE = "sqlite:///social-rounds-demo.db"
CLOCK_OFFSET_KEY = "demo.clock_offset_seconds"


def database_url_from_env(default: str = DEFAULT_DATABASE) -> str:
    return os.environ.get("DATABASE_URL") or default


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL (None for other databases and in-memory SQLite)."""
    for prefix in ("sqlite:///", "sqlite+aiosqlite:///"):
        if url.startswith(prefix):
            path = url[len(prefix):].split("?", 1)[0]
            return Path(path) if path and path != ":memory:" else None
    return None


@dataclass
class Runtime:
    config: Config
    content: Content
    store: Store
    clock: Clock
    coach: Coach
    demo: bool = False

    @classmethod
    def build(cls, config: Config, database_url: str, *, demo: bool = False,
              clock: Clock | None = None, content: Content | None = None) -> Runtime:
        content = content or load_content(Path(config.content_dir))
        store = Store.open(database_url)
        clock = clock or (SimulatedClock() if demo else SystemClock())
        return cls(config, content, store, clock, Coach(store, content, config, clock), demo)

    async def restore_clock(self) -> None:
        """The demo's simulated time survives a restart."""
        if isinstance(self.clock, SimulatedClock):
            saved = await self.store.settings.get(CLOCK_OFFSET_KEY)
            if saved:
                self.clock.offset = timedelta(seconds=float(saved))

    async def advance_clock(self, delta: timedelta) -> None:
        if not isinstance(self.clock, SimulatedClock):
            raise RuntimeError("only the demo clock can be moved")
        self.clock.advance(delta)
        await self.store.settings.set(CLOCK_OFFSET_KEY, str(self.clock.offset.total_seconds()))
