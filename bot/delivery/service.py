"""Runs the scheduler and the sender in the background of the server process."""
from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import Config
from bot.content import Content
from bot.delivery.ports import Budget, DeliveryCoach, DeliveryStore
from bot.delivery.scheduler import Scheduler
from bot.delivery.sender import Sender
from bot.delivery.transport import Transport

log = logging.getLogger(__name__)
DRAIN_TIMEOUT = 20.0


class Installer(Protocol):
    """Something run periodically beside the scheduler (installing the Teams app through Graph)."""

    async def run(self) -> Any:
        ...


class Verifier(Protocol):
    """The X and Bluesky sync (``bot.networks.sync.PresenceSync``), run beside the scheduler."""

    async def run_due(self, every: timedelta) -> Any:
        ...


VERIFY_CHECK_SECONDS = 600.0
"""How often the verify loop looks whether a sync is due (or an unfinished one should resume)."""


class Delivery:
    def __init__(self, store: DeliveryStore, content: Content, config: Config, coach: DeliveryCoach, clock: Clock,
                 transports: dict[str, Transport], installer: Installer | None, budget: Budget,
                 *, demo: bool = False, verifier: Verifier | None = None) -> None:
        self.store = store
        self.verifier = verifier
        self._verifying: asyncio.Task[None] | None = None
        self.config = config
        self.clock = clock
        self.transports = transports
        self.installer = installer
        platforms = tuple(p for p in ("slack", "teams", "web") if p in transports)
        self.scheduler = Scheduler(store, content, config, platforms, coach, demo=demo, ready=self.poke)
        self.budget = budget
        self.sender = Sender(store, coach, clock, transports, config.delivery, budget=self.budget)
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._installing: asyncio.Task[None] | None = None
        self._upkeep: list[asyncio.Task[None]] = []
        self._tick_now = asyncio.Event()

    async def tick(self) -> int:
        """Plan what is due now and wake the sender."""
        added = await self.scheduler.tick(self.clock.now())
        self.sender.wake.set()
        return added

    def poke(self) -> None:
        """Ask for a scheduler tick right away (the demo clock moved)."""
        self._tick_now.set()

    async def _schedule_loop(self) -> None:
        """A planning pass every ``tick_seconds``, when poked, and at once while a pass leaves some due."""
        interval = self.config.delivery.tick_seconds
        while True:
            self._tick_now.clear()
            try:
                done = await self.scheduler.plan_pass(self.clock.now())
                self.sender.wake.set()
                if done.more:
                    await asyncio.sleep(0)
                    continue
            except Exception:
                log.exception("scheduler tick failed; next tick in %ss", interval)
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._tick_now.wait(), timeout=interval)

    async def _install_loop(self, installer: Installer) -> None:
        """Run the installer now and then every ``teams_install_minutes`` (one instance at a time: its lease)."""
        interval = self.config.delivery.teams_install_minutes * 60
        while True:
            try:
                await installer.run()
            except Exception:
                log.exception("teams install run failed; next run in %ss", interval)
            await asyncio.sleep(interval)

    async def _verify_loop(self, verifier: Verifier) -> None:
        """The daily X and Bluesky sync: due every ``verify.hours``; an unfinished one resumes at the next check.
        One instance at a time (the sync's lease); the others find it busy and wait for the next check."""
        every = timedelta(hours=self.config.verify.hours)
        while True:
            try:
                await verifier.run_due(every)
            except Exception as exc:  # Busy (another instance syncs) or a fault: facts stay as they were
                log.info("verify: not run now (%s: %s); next check in %.0fs", type(exc).__name__, exc,
                         VERIFY_CHECK_SECONDS)
            await asyncio.sleep(VERIFY_CHECK_SECONDS)

    def start(self) -> None:
        if self.verifier is not None and self.config.verify.hours > 0:
            self._verifying = asyncio.create_task(self._verify_loop(self.verifier), name="verify")
        if not self.transports:
            log.info("delivery: no platform configured, reminders are off")
            return
        log.info("delivery: reminders via %s", ", ".join(sorted(self.transports)))
        self._tasks = [asyncio.create_task(self._schedule_loop(), name="scheduler"),
                       asyncio.create_task(self.sender.run(), name="sender")]
        if self.installer is not None:
            self._installing = asyncio.create_task(self._install_loop(self.installer), name="teams-install")
        self._upkeep = [asyncio.create_task(maintain(self._stopping), name=f"{platform} upkeep")
                        for platform, transport in self.transports.items()
                        if (maintain := getattr(transport, "maintain", None)) is not None]

    async def stop(self) -> None:
        """Stop planning and installing, let in-flight sends finish (bounded), hand back unsent claims."""
        if self._verifying is not None:
            self._verifying.cancel()
            with suppress(asyncio.CancelledError):
                await self._verifying  # the sync's finally hands back its lease; its cursor is saved
            self._verifying = None
        if self._installing is not None:
            self._installing.cancel()
            with suppress(asyncio.CancelledError):
                await self._installing  # the run's finally hands back its lease
            self._installing = None
        if not self._tasks:
            await self.scheduler.close()
            return
        scheduler, sender = self._tasks
        scheduler.cancel()
        self._stopping.set()
        for task in self._upkeep:
            task.cancel()
        await asyncio.gather(*self._upkeep, return_exceptions=True)
        self._upkeep = []
        self.sender.stop()
        try:
            await asyncio.wait_for(asyncio.shield(sender), timeout=DRAIN_TIMEOUT)
        except TimeoutError:
            log.warning("sender did not drain in %ss; unsent claims return to the outbox", DRAIN_TIMEOUT)
            sender.cancel()
        with suppress(asyncio.CancelledError):
            await scheduler
        await self.scheduler.close()
        await self.sender.flush()
        await self.store.outbox.release(self.sender.owner)
        self._tasks = []
        for key, pacer in self.sender.pacers.items():
            log.info("budget %s: %d tokens taken in %d round trips, %d went stale unused",
                     key, pacer.taken, pacer.acquired, pacer.dropped)
