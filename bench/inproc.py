"""In-process measurements: the weekly digest and the scheduler's planning over the whole roster.

Each runs in a fresh interpreter (``python -m bench.inproc digest|tick DB NOW``, DB a SQLite file or
a ``postgresql://`` URL) so its peak
memory is its own: the peak (VmHWM) is reset just before the measured call and read right after.
Both are compared with a baseline run in the same process: one read of every row of the
``people`` table through the same engine, the least any whole-roster computation must do.
Prints one JSON object.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime, time as clock_time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from bench import procs, roster
from bot.app import Runtime, tune_gc
from bot.clock import FixedClock
from bot.config import Config, QuietHours
from bot.content import Content, load_content
from bot.store.schema import outbox, people

ROOT = Path(__file__).resolve().parents[1]
ADMINS = (roster.email(1), roster.email(2))


def bench_config() -> Config:
    """Quiet hours and weekends off (plans do not depend on the hour the bench runs); two admins."""
    return Config(admins=ADMINS, quiet_hours=QuietHours(clock_time(0, 0), clock_time(0, 0), False))


def pinned_instant(now: datetime | None = None) -> datetime:
    """The latest Tuesday 14:00 UTC (10:00 in New York): a lesson day, with the week's digest due."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    tuesday = now.date() - timedelta(days=(now.weekday() - 1) % 7)
    at = datetime.combine(tuesday, clock_time(14, 0), UTC)
    return at if at <= now else at - timedelta(days=7)


def content() -> Content:
    return load_content(ROOT / "prompts")


Database = Path | str
"""A SQLite file, or the URL of a PostgreSQL database (a scratch copy made by bench/pgcopy.py)."""


def database_url(db: Database) -> str:
    return db if isinstance(db, str) else f"sqlite:///{db}"


def parse_database(value: str) -> Database:
    return value if value.startswith(("postgresql://", "postgresql+asyncpg://")) else Path(value)


def runtime(db: Database, now: datetime, config: Config | None = None) -> Runtime:
    """The product's runtime on ``db``, with garbage collection tuned as ``rounds serve`` does after start-up."""
    built = Runtime.build(config or bench_config(), database_url(db), clock=FixedClock(now), content=content())
    tune_gc()
    return built


async def read_roster(rt: Runtime) -> float:
    """Baseline: every row of ``people`` through the store's engine."""
    started = time.perf_counter()
    async with rt.store.engine.connect() as conn:
        rows = (await conn.execute(select(people))).all()
    assert rows
    return time.perf_counter() - started


def _peak_mb() -> tuple[float, float]:
    m = procs.memory(os.getpid())
    return m["VmRSS"] / 1024, m["VmHWM"] / 1024


async def measure_digest(db: Database, now: datetime, repeat: int = 2) -> dict[str, Any]:
    rt = runtime(db, now)
    try:
        baseline = min([await read_roster(rt) for _ in range(repeat + 1)][1:])
        times = []
        rss_before, _ = _peak_mb()
        procs.reset_peak(os.getpid())
        for _ in range(repeat):
            started = time.perf_counter()
            digest = await rt.coach.build_digest(now)
            times.append(time.perf_counter() - started)
        _, peak = _peak_mb()
        started = time.perf_counter()
        await rt.coach.digest_reply(now)
        reply = time.perf_counter() - started
        return dict(seconds=min(times), runs=times, baseline_seconds=baseline, digest_reply_seconds=reply,
                    rss_before_mb=rss_before, peak_mb=peak, peak_increase_mb=peak - rss_before,
                    physicians=digest.overall.physicians, departments=len(digest.departments))
    finally:
        await rt.store.close()


async def _timed_passes(scheduler: Any, now: datetime) -> dict[str, float]:
    """Plan everything due at ``now`` as the service does: pass after pass, then the passes after the
    week's snapshot (stored beside them) is done.

    Returns the longest pass, the whole time, the passes, the messages added, and the longest
    event-loop wait: a watcher task asks for the loop every millisecond meanwhile, so the wait is how
    long planning kept a server from acknowledging anything (Slack's limit is 3 s).
    """
    done = asyncio.Event()
    worst = 0.0

    async def watch() -> None:
        nonlocal worst
        while not done.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - asked - 0.001)

    watcher = asyncio.create_task(watch())
    longest = 0.0
    added = passes = 0
    started = time.perf_counter()
    for _ in range(2):  # the second round plans what waited for the snapshot
        more = True
        while more:
            at = time.perf_counter()
            result = await scheduler.plan_pass(now)
            longest = max(longest, time.perf_counter() - at)
            added += result.added
            passes += 1
            more = result.more
            await asyncio.sleep(0)
        if not await scheduler.settle():
            break
    total = time.perf_counter() - started
    done.set()
    await watcher
    return dict(longest=longest, total=total, passes=passes, added=added, stall=worst)


async def measure_tick(db: Database, now: datetime) -> dict[str, Any]:
    """The first planning of the day (everything due and planned), a later tick (nothing due), and
    planning with every physician due again but nothing new (the day turning in their zone); for
    each, the longest pass (the goal: no pass holds the loop or the database for long) and the time
    until everyone due was planned.

    A SQLite file is copied first; a PostgreSQL database is changed in place (it is a scratch copy)."""
    from bot.delivery.scheduler import Scheduler

    work: Database = db
    if isinstance(db, Path):
        work = db.with_name(db.stem + "-tick.db")
        shutil.copyfile(db, work)
    rt = runtime(work, now)
    try:
        scheduler = Scheduler(rt.store, rt.content, rt.config, ("slack", "teams"), rt.coach)
        baseline = min([await read_roster(rt) for _ in range(3)][1:])
        rss_before, _ = _peak_mb()
        procs.reset_peak(os.getpid())
        cold = await _timed_passes(scheduler, now)
        steady = await _timed_passes(scheduler, now)
        await rt.store.planning.replan_everyone()
        recheck = await _timed_passes(scheduler, now)
        _, peak = _peak_mb()
        await scheduler.close()
        return dict(cold_seconds=cold["longest"], cold_total_seconds=cold["total"], cold_passes=cold["passes"],
                    cold_stall_seconds=cold["stall"], steady_seconds=steady["total"], planned=cold["added"],
                    planned_again=steady["added"] + recheck["added"], recheck_seconds=recheck["longest"],
                    recheck_total_seconds=recheck["total"], recheck_passes=recheck["passes"],
                    recheck_stall_seconds=recheck["stall"], baseline_seconds=baseline, rss_before_mb=rss_before,
                    peak_mb=peak, peak_increase_mb=peak - rss_before)
    finally:
        await rt.store.close()
        if isinstance(work, Path):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{work}{suffix}").unlink(missing_ok=True)


async def plan_outbox(db: Path, now: datetime, *, keep_pending: int | None,
                      platforms: tuple[str, ...] = ("slack", "teams")) -> dict[str, int]:
    """Run the product's scheduler once at ``now`` on ``db``, as the server would.

    ``keep_pending=None`` marks everything planned as already sent (a server that delivered
    today's reminders: its own ticks then plan nothing new). A number keeps that many planned
    messages pending (lowest ids first, in planning order) and cancels the rest: the fan-out set.
    ``platforms``: those the servers deliver on (their scheduler then finds the planning current
    instead of planning everyone again at start-up).
    """
    from bot.delivery.scheduler import Scheduler

    rt = runtime(db, now)
    try:
        scheduler = Scheduler(rt.store, rt.content, rt.config, platforms, rt.coach)
        planned = await scheduler.tick(now)
        async with rt.store.engine.begin() as conn:
            if keep_pending is None:
                await conn.execute(update(outbox).values(status="sent", sent_at=now))
                kept = 0
            else:
                ids = [row.id for row in await conn.execute(select(outbox.c.id).order_by(outbox.c.id))]
                kept = min(keep_pending, len(ids))
                if kept < len(ids):
                    await conn.execute(update(outbox).where(outbox.c.id > ids[kept - 1])
                                       .values(status="cancelled", last_error="bench: not in the fan-out set"))
        return dict(planned=planned, pending=kept)
    finally:
        await rt.store.close()


def main(argv: list[str]) -> int:
    what, db, now = argv[0], parse_database(argv[1]), datetime.fromisoformat(argv[2])
    if what == "digest":
        result = asyncio.run(measure_digest(db, now))
    elif what == "tick":
        result = asyncio.run(measure_tick(db, now))
    else:
        print(f"unknown measurement {what}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
