"""Measurements against running servers: Slack and Teams throughput, memory, and the reminder fan-out.

The product runs as ``python -m bot serve`` in its own process(es) with a bench config and the fakes
(bench/fakes.py, served by this process) as Slack and the Bot Connector; the baselines run as
``python -m bench.bare_bolt`` and ``python -m bench.bare_teams``. The same wrk settings load both
sides, one side at a time, so neither competes with the other for the two cores. On PostgreSQL
two product instances share one database and one wrk loads them round-robin; each baseline then
runs as two instances behind the same load too.
"""
from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench import load, procs
from bench.fakes import FakeConnector, FakeSlack, RateLimits
from bench.inproc import ADMINS
from bench.pgcopy import postgres_copy

BOT_TOKEN = "xoxb-bench"
SIGNING_SECRET = "bench-signing-secret-0123456789ab"
CLEAR_ENV = ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID", "MICROSOFT_APP_TYPE",
             "SLACK_APP_TOKEN", "ROUNDS_TEAMS_ANONYMOUS", "ROUNDS_CONFIG")


@dataclass
class Plan:
    """How long and how hard: the full run and ``--quick`` differ only in these numbers."""

    warmup_s: float = 3.0
    run_s: float = 10.0
    runs: int = 2
    connections: int = 32
    slack_users: int = 2000
    slack_run_s: float = 5.0
    """The product answers after the ack: every acked command of a run is answered (drained) before
    the next run starts, so Slack runs are kept short."""
    teams_users: int = 2000
    fanout_rate: float = 100.0
    drain_timeout_s: float = 180.0
    per_turn_echo: bool = True
    """Also measure the SDK sample's echo bot (a Bot Connector client per turn), an info row."""


@dataclass
class Side:
    """One server's results under one load."""

    runs: list[dict[str, float]] = field(default_factory=list)

    def best(self, key: str = "rps") -> dict[str, float]:
        return max(self.runs, key=lambda r: r[key]) if self.runs else {}

    def median(self, key: str) -> float:
        values = sorted(r[key] for r in self.runs)
        return values[len(values) // 2] if values else 0.0


def config_yaml(*, per_second: float = 20.0, tick_seconds: int = 3600) -> str:
    admins = "\n".join(f"  - {a}" for a in ADMINS)
    return f"""# written by python -m bench
admins:
{admins}
quiet_hours: {{start: "00:00", end: "00:00", weekends: false}}
delivery:
  slack: {{per_second: {per_second}, per_conversation_per_second: 1}}
  tick_seconds: {tick_seconds}
"""


def product_env(db: Path, slack: FakeSlack, *, teams: bool, database_url: str | None = None) -> dict[str, str]:
    env = {key: "" for key in CLEAR_ENV}
    env.update(DATABASE_URL=database_url or f"sqlite:///{db}", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=slack.api_url, PYTHONUNBUFFERED="1")
    if teams:
        env["ROUNDS_TEAMS_ANONYMOUS"] = "1"
    return env


async def start_product(name: str, db: Path, config: Path, slack: FakeSlack, out: Path, *,
                        teams: bool = True, database_url: str | None = None) -> procs.Server:
    port = procs.free_port()
    return await procs.start(name, ["-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
                                    "--config", str(config)],
                             product_env(db, slack, teams=teams, database_url=database_url), port, out,
                             ready_path="/readyz")


async def _answers_settled(slack: FakeSlack, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while slack.calls["response_url"] < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def _all_quiet(servers: list[procs.Server], *, settle: float, timeout: float) -> float:
    return max([await procs.wait_quiet(s, settle=settle, timeout=timeout) for s in servers])


async def slack_load(servers: list[procs.Server], slack: FakeSlack, plan: Plan, out: Path, *,
                     answers: bool) -> Side:
    """``/rounds status`` from ``plan.slack_users`` different physicians, round-robin over ``servers``;
    acks by wrk, answers (``answers=True``) counted at the fake's ``response_url``.

    A warm-up run comes first (most users' ``users.info`` is cached and their Slack time zone
    stored afterwards, as for anyone who used the bot this hour).
    """
    side = Side()
    users = range(3, 3 + plan.slack_users)

    async def one(seconds: float) -> dict[str, float]:
        slack.reset()
        requests = load.slack_commands(SIGNING_SECRET, users, slack.url + "/response")
        started = time.monotonic()
        result = await load.run_wrk([s.url for s in servers], "/slack/events", requests, seconds=seconds,
                                    connections=plan.connections, work_dir=out)
        row = result.as_dict()
        if answers:
            acked = result.requests - result.errors
            await _answers_settled(slack, acked, plan.drain_timeout_s)
            answered = slack.calls["response_url"]
            last = slack.answered_at[-1] if slack.answered_at else started
            row.update(answered=answered, answers_per_s=answered / max(1e-9, last - started),
                       drain_s=max(0.0, last - started - result.seconds),
                       home_publishes=slack.calls["views.publish"], users_info=slack.calls["users.info"])
            await _all_quiet(servers, settle=1.0, timeout=plan.drain_timeout_s)
        return row

    await one(plan.warmup_s)
    for _ in range(plan.runs):
        side.runs.append(await one(plan.slack_run_s))
    return side


async def teams_load(servers: list[procs.Server], connector: FakeConnector, plan: Plan, out: Path) -> Side:
    """A personal ``status`` message from ``plan.teams_users`` different Teams-linked physicians,
    round-robin over ``servers``."""
    side = Side()
    requests = load.teams_messages(connector.url, range(3, 3 + plan.teams_users))

    async def one(seconds: float) -> dict[str, float]:
        before = connector.calls["send"]
        result = await load.run_wrk([s.url for s in servers], "/api/messages", requests, seconds=seconds,
                                    connections=plan.connections, work_dir=out)
        return dict(result.as_dict(), sends=connector.calls["send"] - before)

    await one(plan.warmup_s)
    for _ in range(plan.runs):
        side.runs.append(await one(plan.run_s))
    return side


def _mb(servers: list[procs.Server], key: str) -> list[float]:
    return [s.memory()[key] / 1024 for s in servers]


async def _baseline(name: str, args: list[str], env: dict[str, str], instances: int, out: Path,
                    measure: Callable[[list[procs.Server]], Awaitable[Side]]) -> dict[str, Any]:
    """Start ``instances`` copies of a bare baseline, load them as the product was loaded, stop them."""
    servers: list[procs.Server] = []
    try:
        for i in range(instances):
            port = procs.free_port()
            servers.append(await procs.start(f"{name}-{i}", [*args, "--port", str(port)], env, port, out))
        idle = _mb(servers, "VmRSS")
        runs = (await measure(servers)).runs
        return dict(runs=runs, idle_rss_mb=max(idle), peak_mb=max(_mb(servers, "VmHWM")))
    finally:
        for server in servers:
            await procs.stop(server)


async def measure_servers(serve_db: Path, out: Path, plan: Plan, *, slack_on: bool, teams_on: bool,
                          database_url: str | None = None, instances: int = 1,
                          baselines: bool = True) -> dict[str, Any]:
    """The product (``instances`` of ``rounds serve`` on one database), then each bare baseline with
    as many instances behind the same load: bare Bolt (acks), bare Bolt answering through
    ``response_url``, the echo bot keeping its connector client, the echo bot building one per turn.
    Memory is per instance (the largest). ``baselines=False``: the product only."""
    config = out / "rounds-bench.yaml"
    config.write_text(config_yaml(), encoding="utf-8")
    slack, connector = await FakeSlack().start(), await FakeConnector().start()
    result: dict[str, Any] = dict(instances=instances)
    try:
        servers: list[procs.Server] = []
        try:
            for i in range(instances):
                servers.append(await start_product(f"rounds-serve-{i}", serve_db, config, slack, out,
                                                   database_url=database_url))
            settle = await _all_quiet(servers, settle=2.0, timeout=90.0)
            result["product_start_s"] = max(s.started_in for s in servers)
            result["product_settle_s"] = settle
            result["product_idle_rss_mb"] = max(_mb(servers, "VmRSS"))
            result["product_startup_peak_mb"] = max(_mb(servers, "VmHWM"))
            if slack_on:
                result["slack_product"] = (await slack_load(servers, slack, plan, out, answers=True)).runs
            if teams_on:
                await _all_quiet(servers, settle=1.0, timeout=plan.drain_timeout_s)
                result["teams_product"] = (await teams_load(servers, connector, plan, out)).runs
            await _all_quiet(servers, settle=1.0, timeout=30)
            result["product_after_load_rss_mb"] = max(_mb(servers, "VmRSS"))
            result["product_peak_mb"] = max(_mb(servers, "VmHWM"))
            result["product_peak_mb_each"] = _mb(servers, "VmHWM")
        finally:
            result["product_exit_code"] = max([await procs.stop(s) or 0 for s in servers] or [0])
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url}
        if slack_on and baselines:
            bare = await _baseline("bare-bolt", ["-m", "bench.bare_bolt"], env, instances, out,
                                   lambda s: slack_load(s, slack, plan, out, answers=False))
            result.update(slack_bare=bare["runs"], bare_bolt_idle_rss_mb=bare["idle_rss_mb"],
                          bare_bolt_peak_mb=bare["peak_mb"])
            answering = await _baseline("bare-bolt-answer", ["-m", "bench.bare_bolt", "--answer"], env, instances,
                                        out, lambda s: slack_load(s, slack, plan, out, answers=True))
            result["slack_bare_answering"] = answering["runs"]
        if teams_on and baselines:
            kept = await _baseline("bare-teams-kept", ["-m", "bench.bare_teams", "--keep-client"], {}, instances,
                                   out, lambda s: teams_load(s, connector, plan, out))
            result.update(teams_bare_kept=kept["runs"], bare_teams_idle_rss_mb=kept["idle_rss_mb"],
                          bare_teams_peak_mb=kept["peak_mb"])
            if plan.per_turn_echo:
                per_turn = await _baseline("bare-teams", ["-m", "bench.bare_teams"], {}, instances, out,
                                           lambda s: teams_load(s, connector, plan, out))
                result["teams_bare"] = per_turn["runs"]
    finally:
        await slack.close()
        await connector.close()
    return result


async def _outbox_state(url: str, last_id: int) -> tuple[Counter, set[str], int]:
    """Statuses of the fan-out set (ids up to ``last_id``), every recorded message id, retried rows."""
    conn = await asyncpg.connect(url)
    try:
        statuses = Counter({r[0]: r[1] for r in await conn.fetch(
            "SELECT status, count(*) FROM outbox WHERE id <= $1 GROUP BY status", last_id)})
        ids = {r[0] for r in await conn.fetch("SELECT message_id FROM outbox WHERE status = 'sent' "
                                              "AND message_id IS NOT NULL")}
        retried = await conn.fetchval("SELECT count(*) FROM outbox WHERE id <= $1 AND attempts > 0", last_id)
    finally:
        await conn.close()
    return statuses, ids, retried


@dataclass(frozen=True)
class Sample:
    """Once a second during the fan-out: CPU seconds used so far by each instance, and the database's
    transactions so far."""

    at: float
    cpu: tuple[float, ...]
    transactions: int


async def _progress(url: str, last_id: int) -> tuple[int, int]:
    """(fan-out rows not yet sent, transactions committed or rolled back in the database so far)."""
    conn = await asyncpg.connect(url)
    try:
        unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE id <= $1 AND status IN ('pending', 'sending')",
                                     last_id)
        transactions = await conn.fetchval("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                                           "WHERE datname = current_database()")
        return unsent, int(transactions or 0)
    finally:
        await conn.close()


def _costs(samples: list[Sample], first_post: float, last_post: float, sent: int) -> dict[str, Any]:
    """What each send cost between the first and the last post (the samples nearest those instants):
    CPU seconds of each instance and PostgreSQL transactions (statistics lag by up to a second; the
    bench's own once-a-second reads are taken off)."""
    inside = [s for s in samples if first_post - 1.0 <= s.at <= last_post + 1.0]
    if len(inside) < 2 or not sent:
        return {}
    first, last = inside[0], inside[-1]
    cpu = [b - a for a, b in zip(first.cpu, last.cpu, strict=True)]
    transactions = last.transactions - first.transactions - 2 * (len(inside) - 1)
    load = os.getloadavg()
    return dict(cpu_seconds_per_instance=cpu, cpu_ms_per_send=1000 * sum(cpu) / sent,
                cpu_busy_per_instance=[c / (last.at - first.at) for c in cpu],
                transactions_per_send=transactions / sent, load_average=list(load))


def _fanout_set(db: Path) -> tuple[int, int]:
    """(how many pending, the highest pending id) before the run."""
    with sqlite3.connect(db, timeout=30) as conn:
        count, last = conn.execute("SELECT count(*), max(id) FROM outbox WHERE status = 'pending'").fetchone()
    return count, last or 0


INSTANCES = 2


async def measure_fanout(fanout_db: Path, out: Path, plan: Plan) -> dict[str, Any]:
    """Drain the pending reminders to the fake Slack under its rate limits with two instances sharing one
    PostgreSQL database (and so one set of budgets); count loss and duplicates."""
    config = out / "rounds-fanout.yaml"
    config.write_text(config_yaml(per_second=plan.fanout_rate, tick_seconds=60), encoding="utf-8")
    expected, last_id = _fanout_set(fanout_db)
    result: dict[str, Any] = dict(allowed_rate=plan.fanout_rate, expected=expected, instances=INSTANCES,
                                  database="postgresql")
    async with postgres_copy(fanout_db) as url:
        slack = await FakeSlack(RateLimits(per_second=plan.fanout_rate)).start()
        slack.users = _roster_size(fanout_db)
        started = time.monotonic()
        timeout = expected / plan.fanout_rate * 4 + 120  # a loaded machine sends at a fraction of the rate
        try:
            servers = [await start_product(f"rounds-fanout-{i}", fanout_db, config, slack, out, teams=False,
                                           database_url=url) for i in range(INSTANCES)]
            samples: list[Sample] = []
            try:
                while time.monotonic() - started < timeout and all(s.alive() for s in servers):
                    await asyncio.sleep(1.0)
                    unsent, transactions = await _progress(url, last_id)
                    samples.append(Sample(time.monotonic(), tuple(s.cpu() for s in servers), transactions))
                    if unsent == 0:
                        break
                result["peak_mb"] = max(s.memory()["VmHWM"] for s in servers) / 1024
            finally:
                result["exit_code"] = max([await procs.stop(s) or 0 for s in servers])
        finally:
            await slack.close()
        statuses, recorded, retried = await _outbox_state(url, last_id)
    posts = slack.posts
    accepted = {f"{p.channel}:{p.ts}" for p in posts}
    per_channel = Counter(p.channel for p in posts)
    span = posts[-1].at - posts[0].at if len(posts) > 1 else 0.0
    achieved = (len(posts) - 1) / span if span else 0.0
    gaps = _channel_gaps(posts)
    if posts:
        result.update(_costs(samples, posts[0].at, posts[-1].at, len(posts)))
    result.update(
        accepted=len(posts), refused_429=slack.refused, refused_by=dict(slack.refused_by), seconds=span, achieved_rate=achieved,
        fraction_of_allowed=achieved / plan.fanout_rate,
        lost=statuses.get("pending", 0) + statuses.get("sending", 0) + statuses.get("dead", 0),
        cancelled_by_sender=statuses.get("cancelled", 0),
        duplicated=len(posts) - len(accepted & recorded),
        unrecorded=len(accepted - recorded), statuses=dict(statuses), retried_rows=retried,
        channels=len(per_channel), channels_with_several=sum(1 for c in per_channel.values() if c > 1),
        min_gap_same_channel_s=min(gaps) if gaps else None,
        first_post_after_s=(posts[0].at - started) if posts else None,
    )
    return result


def _roster_size(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM people").fetchone()[0]


def _channel_gaps(posts: list[Any]) -> list[float]:
    last: dict[str, float] = {}
    gaps = []
    for post in posts:
        if post.channel in last:
            gaps.append(post.at - last[post.channel])
        last[post.channel] = post.at
    return gaps
