"""The sync: ask X and Bluesky about every physician's handle and keep what they say.

Per network, in phases, with the cursor persisted after every batch (``store.presence.save_cursor``),
so a run that dies is resumed where it stopped by the next one:

- X: ``profiles`` (``users/by``, 100 a call), then ``followers`` and ``following`` (the hospital's
  lists, 1,000 a page; a walk decides follows only once complete);
- Bluesky: ``profiles`` (``getProfiles``, 25 a call), then ``follows`` (``getRelationships``, 30 a call).

One instance syncs at a time (the ``verify`` lease, renewed every batch; a run of this host that
died hands it on at once). A network that fails or is rate-limited for longer than the sync may
wait keeps every fact it had; the accounts it could not ask about get ``failed_at``. ``dry_run``
asks the networks and counts, storing nothing.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot.clock import Clock
from bot.core.presence import Account, Profile, ProfileFacts, facts_of
from bot.networks.bluesky import OTHERS_PER_CALL, BlueskyClient
from bot.networks.http import NetworkError, NetworkUnavailable
from bot.networks.x import XClient

log = logging.getLogger(__package__)

LEASE = "verify"
LEASE_SECONDS = 300.0
LOG_EVERY_SECONDS = 10.0
Follow = Literal["follows_hospital", "followed_back"]
Progress = Callable[[str, str, int, int], None]
"""(network, phase, done, total): called after every batch."""


class CandidateLike(Protocol):
    @property
    def person_id(self) -> int: ...
    @property
    def handle(self) -> str: ...
    @property
    def specialty(self) -> str: ...
    @property
    def account_id(self) -> str | None: ...


class PresencePort(Protocol):
    """The part of ``store.presence`` the sync uses."""

    async def candidates(self, network: str, after_id: int, limit: int) -> Sequence[CandidateLike]: ...
    async def count_candidates(self, network: str) -> int: ...
    async def record_profiles(self, network: str, facts: Sequence[tuple[int, ProfileFacts]], now: datetime) -> int: ...
    async def record_failure(self, network: str, who: Sequence[tuple[int, str]], reason: str,
                             now: datetime) -> None: ...
    async def record_follows(self, network: str, rows: Sequence[tuple[int, bool, bool]], now: datetime) -> None: ...
    async def mark_seen(self, network: str, which: Follow, account_ids: Sequence[str], run: datetime) -> int: ...
    async def settle(self, network: str, which: Follow, run: datetime, now: datetime) -> int: ...
    async def cursor(self, network: str) -> dict[str, Any] | None: ...
    async def save_cursor(self, network: str, cursor: dict[str, Any] | None) -> None: ...
    async def finished_at(self, network: str) -> datetime | None: ...
    async def set_finished(self, network: str, now: datetime) -> None: ...
    async def take_lease(self, name: str, owner: str, now: datetime, seconds: float) -> bool: ...
    async def release_lease(self, name: str, owner: str) -> None: ...
    async def lease_holder(self, name: str) -> str | None: ...


@dataclass(frozen=True)
class Hospital:
    name: str
    x_handle: str
    bluesky_handle: str


@dataclass
class NetworkRun:
    """What one run did on one network (the CLI's summary and the log's last line)."""

    network: str
    asked: int = 0
    found: int = 0
    not_found: int = 0
    follows_hospital: int = 0
    followed_back: int = 0
    calls: int = 0
    resumed: bool = False
    complete: bool = False
    error: str = ""
    seconds: float = 0.0


class Busy(Exception):
    """Another instance is syncing."""


@dataclass
class _State:
    network: str
    cursor: dict[str, Any]
    run: NetworkRun
    dry_run: bool
    seen: dict[str, int] = field(default_factory=dict)
    """Dry run: account id → person, found in this run (nothing is stored to match against)."""

    @property
    def started(self) -> datetime:
        return datetime.fromisoformat(self.cursor["run"])


class PresenceSync:
    def __init__(self, store: PresencePort, clock: Clock, hospital: Hospital, *, x: XClient | None,
                 bluesky: BlueskyClient | None, owner: str | None = None, progress: Progress | None = None,
                 lease_seconds: float = LEASE_SECONDS) -> None:
        self.store = store
        self.clock = clock
        self.hospital = hospital
        self.clients: dict[str, XClient | BlueskyClient] = {}
        if x is not None and hospital.x_handle:
            self.clients["x"] = x
        if bluesky is not None and hospital.bluesky_handle:
            self.clients["bluesky"] = bluesky
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.progress = progress
        self.lease_seconds = lease_seconds
        self._logged = 0.0

    async def close(self) -> None:
        """Close the clients' own HTTP sessions (none when they share the process's)."""
        for client in self.clients.values():
            await client.api.close()

    @property
    def networks(self) -> tuple[str, ...]:
        """The networks this sync can verify (X needs a token, each needs the hospital's handle)."""
        return tuple(self.clients)

    async def run_due(self, every: timedelta) -> list[NetworkRun]:
        """The background job: each network whose sync is unfinished or older than ``every``."""
        now = self.clock.now()
        due = []
        for network in self.networks:
            finished = await self.store.finished_at(network)
            if await self.store.cursor(network) is not None or finished is None or now - finished >= every:
                due.append(network)
        return await self.run(due) if due else []

    async def run(self, networks: Sequence[str] | None = None, *, dry_run: bool = False) -> list[NetworkRun]:
        """Sync ``networks`` (default: every available one). Raises Busy when another instance syncs."""
        chosen = [n for n in (networks or self.networks) if n in self.clients]
        if not dry_run and not await self._lease():
            raise Busy(await self.store.lease_holder(LEASE) or "another instance")
        try:
            return [await self._network(network, dry_run) for network in chosen]
        finally:
            if not dry_run:
                await self.store.release_lease(LEASE, self.owner)

    async def _lease(self) -> bool:
        if await self.store.take_lease(LEASE, self.owner, self.clock.now(), self.lease_seconds):
            return True
        holder = await self.store.lease_holder(LEASE) or ""
        host, _, rest = holder.partition(":")
        pid = rest.partition(":")[0]
        if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
            log.info("verify: the run that held the lease on this host (pid %s) is gone; taking over", pid)
            await self.store.release_lease(LEASE, holder)
            return await self.store.take_lease(LEASE, self.owner, self.clock.now(), self.lease_seconds)
        return False

    async def _network(self, network: str, dry_run: bool) -> NetworkRun:
        began = time.monotonic()
        client = self.clients[network]
        calls = client.api.calls
        saved = None if dry_run else await self.store.cursor(network)
        run = NetworkRun(network, resumed=saved is not None)
        cursor = saved or {"run": self.clock.now().isoformat(), "phase": "profiles", "after": 0}
        state = _State(network, cursor, run, dry_run)
        if saved is None and not dry_run:
            await self.store.save_cursor(network, cursor)  # a run that dies before its first batch resumes too
        if run.resumed:
            log.info("verify %s: resuming the run of %s at %s", network, cursor["run"], cursor["phase"])
        try:
            await self._profiles(state, client)
            if isinstance(client, XClient):
                await self._x_follows(state, client)
            else:
                await self._bluesky_follows(state, client)
            run.complete = True
            if not dry_run:
                await self.store.save_cursor(network, None)
                await self.store.set_finished(network, self.clock.now())
        except (NetworkUnavailable, NetworkError) as exc:
            run.error = str(exc)
            log.warning("verify %s: stopped at %s (%s); facts kept, the next run resumes here",
                        network, cursor["phase"], exc)
        except _LeaseLost:
            run.error = "another instance took over the sync"
            log.warning("verify %s: lost the lease; stopping", network)
        run.calls = client.api.calls - calls
        run.seconds = time.monotonic() - began
        log.info("verify %s: %s; %d asked, %d found, %d not found, %d follow the hospital, %d followed back, "
                 "%d calls in %.1fs", network, "done" if run.complete else "incomplete", run.asked, run.found,
                 run.not_found, run.follows_hospital, run.followed_back, run.calls, run.seconds)
        return run

    # -- phases --------------------------------------------------------------------------------------------
    async def _profiles(self, state: _State, client: XClient | BlueskyClient) -> None:
        if state.cursor["phase"] != "profiles":
            return
        network, run = state.network, state.run
        total = await self.store.count_candidates(network)
        done = 0
        while True:
            batch = await self.store.candidates(network, int(state.cursor["after"]), client.per_call)
            if not batch:
                break
            try:
                answers = await client.accounts([c.handle for c in batch])
            except (NetworkUnavailable, NetworkError) as exc:
                if not state.dry_run:
                    await self.store.record_failure(network, [(c.person_id, c.handle) for c in batch],
                                                    str(exc), self.clock.now())
                raise
            facts = []
            for candidate in batch:
                account = answers.get(candidate.handle.lower()) or Account(candidate.handle, Profile.NOT_FOUND)
                fact = facts_of(replace(account, handle=candidate.handle), candidate.specialty,
                                self.hospital.name, self.hospital.x_handle)
                facts.append((candidate.person_id, fact))
                if fact.profile in (Profile.FOUND, Profile.PROTECTED):
                    run.found += 1
                    if fact.account_id:
                        state.seen[fact.account_id] = candidate.person_id
                else:
                    run.not_found += 1
            run.asked += len(batch)
            done += len(batch)
            state.cursor["after"] = batch[-1].person_id
            if not state.dry_run:
                await self.store.record_profiles(network, facts, self.clock.now())
            await self._checkpoint(state)
            self._report(network, "profiles", done, total)
        state.cursor.update(phase="followers" if network == "x" else "follows", after=0, token=None)
        await self._checkpoint(state)

    async def _x_follows(self, state: _State, client: XClient) -> None:
        hospital_id = state.cursor.get("hospital")
        if hospital_id is None:
            account = (await client.accounts([self.hospital.x_handle])).get(self.hospital.x_handle.lower())
            if account is None or account.account_id is None:
                raise NetworkError(f"x: the hospital's account @{self.hospital.x_handle} was not found")
            hospital_id = state.cursor["hospital"] = account.account_id
        walks: tuple[tuple[Literal["followers", "following"], Follow], ...] = (
            ("followers", "follows_hospital"), ("following", "followed_back"))
        for which, fact in walks:
            if state.cursor["phase"] != which:
                continue
            pages = int(state.cursor.get("pages", 0))
            while True:
                page = await client.page(str(hospital_id), which, state.cursor.get("token"))
                ids = page.ids
                pages += 1
                state.cursor.update(token=page.next_token, pages=pages)

                if state.dry_run:
                    matched = sum(1 for i in ids if i in state.seen)
                    if fact == "follows_hospital":
                        state.run.follows_hospital += matched
                    else:
                        state.run.followed_back += matched
                if not state.dry_run:
                    await self.store.mark_seen("x", fact, ids, state.started)
                await self._checkpoint(state)
                self._report("x", which, pages, pages + (1 if page.next_token else 0))
                if not page.next_token:
                    break
            if not state.dry_run:
                count = await self.store.settle("x", fact, state.started, self.clock.now())
                if fact == "follows_hospital":
                    state.run.follows_hospital = count
                else:
                    state.run.followed_back = count
            state.cursor.update(phase="following" if which == "followers" else "done", token=None, pages=0)
            await self._checkpoint(state)

    async def _bluesky_follows(self, state: _State, client: BlueskyClient) -> None:
        if state.cursor["phase"] != "follows":
            return
        total = await self.store.count_candidates("bluesky")
        done = 0
        while True:
            batch = await self.store.candidates("bluesky", int(state.cursor["after"]), OTHERS_PER_CALL * 10)
            if not batch:
                break
            for start in range(0, len(batch), OTHERS_PER_CALL):
                chunk = batch[start:start + OTHERS_PER_CALL]
                dids = {}
                for c in chunk:
                    did = c.account_id
                    if state.dry_run:
                        did = next((i for i, p in state.seen.items() if p == c.person_id), None)
                    if did:
                        dids[did] = c.person_id
                found = await client.relationships(self.hospital.bluesky_handle, list(dids)) if dids else []
                rows = [(dids[r.did], r.follows_hospital, r.followed_back) for r in found if r.did in dids]
                state.run.follows_hospital += sum(1 for _, f, _ in rows if f)
                state.run.followed_back += sum(1 for _, _, b in rows if b)
                state.cursor["after"] = chunk[-1].person_id
                if not state.dry_run:
                    await self.store.record_follows("bluesky", rows, self.clock.now())
                await self._checkpoint(state)
                done += len(chunk)
                self._report("bluesky", "follows", done, total)
        state.cursor.update(phase="done", after=0)
        await self._checkpoint(state)

    # -- bookkeeping ---------------------------------------------------------------------------------------
    async def _checkpoint(self, state: _State) -> None:
        """After the batch's facts are stored: the cursor past it, and the lease renewed."""
        if state.dry_run:
            return
        await self.store.save_cursor(state.network, state.cursor)
        if not await self.store.take_lease(LEASE, self.owner, self.clock.now(), self.lease_seconds):
            raise _LeaseLost()

    def _report(self, network: str, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(network, phase, done, total)
        now = time.monotonic()
        if now - self._logged >= LOG_EVERY_SECONDS or done == total:
            self._logged = now
            log.info("verify %s: %s %d/%d", network, phase, done, total)


class _LeaseLost(Exception):
    pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
