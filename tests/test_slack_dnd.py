"""Slack Do Not Disturb: reminders wait while a physician's DND or snooze is on and go when it ends,
unless out of date by then; statuses come from ``dnd.teamInfo`` in batches of at most 50 users under
its Tier 2 budget. Through the real sender, transport and HTTP against the fake Slack Web API."""
from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.channels.slack.transport import DND_STALE, DND_WAITING
from bot.core.dnd import DndStatus, decide, from_slack, quiet_until
from conftest import rounds_env, run_rounds
from fakes.slack_api import FakeSlackApi, Limits
from slack_fixtures import SIGNING_SECRET, SlackServer, start_server
from test_delivery import World, make_world

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def test_the_decision_is_pure() -> None:
    info = {"dnd_enabled": True, "next_dnd_start_ts": ts(NOW - timedelta(hours=1)),
            "next_dnd_end_ts": ts(NOW + timedelta(hours=1)), "snooze_enabled": False}
    status = from_slack("U1", info, NOW)
    assert quiet_until(status, NOW) == NOW + timedelta(hours=1)
    assert quiet_until(status, NOW + timedelta(hours=2)) is None, "the window passed"
    assert decide(status, NOW, NOW).action == "hold"
    assert decide(status, NOW, NOW - timedelta(hours=12)).action == "drop", "stale by the time DND ends"
    assert decide(None, NOW, NOW).action == "lookup"
    assert decide(status, NOW + timedelta(hours=7), NOW).action == "lookup", "an old status is asked again"
    off = from_slack("U2", {"dnd_enabled": False, "next_dnd_start_ts": 1, "next_dnd_end_ts": 1}, NOW)
    assert off == DndStatus("U2", None, None, None, NOW) and decide(off, NOW, NOW).action == "send"
    later = from_slack("U3", dict(info, next_dnd_start_ts=ts(NOW + timedelta(hours=5)),
                                  next_dnd_end_ts=ts(NOW + timedelta(hours=9))), NOW)
    assert decide(later, NOW, NOW).action == "send", "the next window has not begun"
    snoozed = from_slack("U4", {"dnd_enabled": False, "snooze_enabled": True,
                                "snooze_endtime": ts(NOW + timedelta(minutes=30))}, NOW)
    assert decide(snoozed, NOW, NOW).until == NOW + timedelta(minutes=30)


def user_of(world: World, index: int) -> str:
    return f"U{index:05d}"


async def physician_users(world: World) -> list[str]:
    return [f"U{p.id:05d}" for p in await world.runtime.store.people.all(role="physician")]


@pytest.fixture
async def dnd_world(database_url: str, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch):
    built = await make_world(database_url, api, monkeypatch)
    try:
        yield built
    finally:
        await built.runtime.store.close()


async def test_a_reminder_waits_for_dnd_and_a_snooze_to_end_then_goes_once(dnd_world: World,
                                                                        api: FakeSlackApi) -> None:
    world = dnd_world
    users = await physician_users(world)
    api.dnd[users[0]] = (ts(NOW - timedelta(hours=1)), ts(NOW + timedelta(hours=1)))
    api.snoozed[users[1]] = ts(NOW + timedelta(minutes=30))
    api.dnd[users[2]] = (ts(NOW + timedelta(hours=8)), ts(NOW + timedelta(hours=16)))  # tonight: not now

    await world.round()
    delivered = {c.args["channel"] for c in api.calls_to("chat.postMessage") if c.status == 200}
    assert users[0] not in delivered and users[1] not in delivered
    assert {users[2], users[3], users[4]} <= delivered
    waiting = {reason: count for platform, reason, count, _ in await world.runtime.store.outbox.waiting()}
    assert waiting == {DND_WAITING: 2}
    calls = api.calls_to("dnd.teamInfo")
    assert {u for c in calls for u in c.args["users"].split(",")} >= set(users) and len(calls) <= 2

    world.clock.advance(timedelta(minutes=31))
    await world.round()
    delivered = Counter(c.args["channel"] for c in api.calls_to("chat.postMessage") if c.status == 200)
    assert delivered[users[1]] == 1 and delivered[users[0]] == 0, "the snooze ended, DND not yet"

    world.clock.advance(timedelta(minutes=30))
    await world.round()
    keys = world.sent_keys()
    assert len(keys) == 5 and set(keys.values()) == {1}, "everyone once, the held ones after DND"
    assert len(api.calls_to("dnd.teamInfo")) == len(calls), "statuses are kept, not asked again per attempt"
    assert await world.runtime.store.outbox.counts() == {"sent": 6}


async def test_a_dnd_updated_user_event_ends_the_wait_at_once(dnd_world: World, api: FakeSlackApi,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack tells the server (a signed ``dnd_updated_user`` to /slack/events) that a physician turned
    Do Not Disturb off an hour early: the reminder held for it goes at the next round, once, on the
    status the event stored (no ``dnd.teamInfo`` call)."""
    world = dnd_world
    users = await physician_users(world)
    api.dnd[users[0]] = (ts(NOW - timedelta(hours=1)), ts(NOW + timedelta(hours=1)))
    await world.round()
    assert users[0] not in {c.args["channel"] for c in api.calls_to("chat.postMessage") if c.status == 200}
    [held] = [m for m in await world.runtime.store.outbox.list(["pending"]) if m.address == users[0]]
    assert held.last_error == DND_WAITING == "slack_dnd_waiting" and held.next_attempt_at >= NOW + timedelta(minutes=59)
    lookups = len(api.calls_to("dnd.teamInfo"))

    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    runner, url = await start_server(world.runtime)
    try:
        async with aiohttp.ClientSession() as session:
            server = SlackServer(url, world.runtime, api, session)
            off = {"dnd_enabled": False, "next_dnd_start_ts": 1, "next_dnd_end_ts": 1, "snooze_enabled": False}
            status, _ = await server.event({"type": "dnd_updated_user", "user": users[0], "dnd_status": off,
                                            "event_ts": f"{ts(NOW)}.000100"})
            assert status == 200
            deadline = asyncio.get_running_loop().time() + 10
            while (await world.runtime.store.slack_dnd.statuses([users[0]]))[users[0]].dnd_end is not None:
                assert asyncio.get_running_loop().time() < deadline, "the event's status was not stored"
                await asyncio.sleep(0.05)
            status, _ = await server.event({"type": "dnd_updated_user", "user": users[0], "dnd_status": off},
                                           secret="not-the-signing-secret")
            assert status == 401, "an unsigned event changes nothing"
    finally:
        await runner.cleanup()
    [due] = [m for m in await world.runtime.store.outbox.list(["pending"]) if m.address == users[0]]
    assert due.next_attempt_at == NOW, "due now, not when Do Not Disturb was to end"

    await world.round()  # the clock has not moved
    delivered = Counter(c.args["channel"] for c in api.calls_to("chat.postMessage") if c.status == 200)
    assert delivered[users[0]] == 1
    assert set(world.sent_keys().values()) == {1} and len(world.sent_keys()) == 5
    assert len(api.calls_to("dnd.teamInfo")) == lookups, "the sender read the status the event stored"
    assert await world.runtime.store.outbox.counts() == {"sent": 6}


async def test_a_reminder_out_of_date_by_the_end_of_dnd_is_dropped(dnd_world: World, api: FakeSlackApi) -> None:
    world = dnd_world
    users = await physician_users(world)
    api.dnd[users[0]] = (ts(NOW - timedelta(hours=1)), ts(NOW + timedelta(hours=13)))  # a long leave
    await world.round()
    delivered = {c.args["channel"] for c in api.calls_to("chat.postMessage") if c.status == 200}
    assert users[0] not in delivered and len(world.sent_keys()) == 4
    [dropped] = await world.runtime.store.outbox.list(["cancelled"])
    assert dropped.address == users[0] and dropped.last_error == DND_STALE == "slack_dnd_stale"


async def test_lookups_go_50_users_a_call_under_the_tier_2_budget(database_url: str, api: FakeSlackApi,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    world = await make_world(database_url, api, monkeypatch, physicians=120)
    try:
        api.limits = Limits(per_channel=5, workspace_per_second=1000)
        users = await physician_users(world)
        for user in users[::3]:
            api.dnd[user] = (ts(NOW - timedelta(minutes=5)), ts(NOW + timedelta(hours=2)))
        await world.round()
        calls = api.calls_to("dnd.teamInfo")
        asked = Counter(u for c in calls for u in c.args["users"].split(","))
        assert all(len(c.args["users"].split(",")) <= 50 for c in calls)
        assert len(calls) >= 2 and max(asked.values()) == 1, "batched, each user once"
        assert [c for c in calls if c.status != 200] == [] and api.over_limit == []
        starts = sorted(c.at for c in calls)
        assert all(b - a >= 2.5 for a, b in itertools.pairwise(starts)), "Tier 2: 20 a minute"
        delivered = Counter(c.args["channel"] for c in api.calls_to("chat.postMessage") if c.status == 200)
        in_dnd = set(users[::3]) & set(asked)
        assert len(asked) >= 100 and in_dnd and not in_dnd & set(delivered), "whoever was asked about waits"
        assert set(delivered.values()) == {1} and set(users) - set(delivered) <= in_dnd
    finally:
        await world.runtime.store.close()


def test_rounds_outbox_shows_the_dnd_budget(tmp_path: Path) -> None:
    env = rounds_env(DATABASE_URL=f"sqlite:///{tmp_path / 'rounds.db'}")
    assert run_rounds("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    result = run_rounds("outbox", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if "slack:dnd.teamInfo" in line]
    assert "20/min" in line
