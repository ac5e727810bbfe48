"""Delivery at hospital scale: a roster imported by email only, three instances on PostgreSQL, one
SIGKILLed mid fan-out, against a fake Slack that enforces per-channel, workspace and tier limits.
Every first message arrives exactly once, and every 429 the fake gave was honoured by every instance."""
from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from conftest import run_rounds
from fakes.slack_api import FakeSlackApi, Limits
from fanout import Instance, assert_exactly_once, delivered, prepare, wait_for
from pg import fresh_database

PHYSICIANS = 2000
MISSING = 3
CONFIG = """\
hospital: {timezone: America/New_York}
quiet_hours: {start: "00:00", end: "00:00", weekends: false}
delivery:
  slack:
    per_conversation_per_second: 1
    per_second: 20
    methods_per_minute: {users.list: 18, users.lookupByEmail: 45, conversations.open: 45, conversations.history: 45}
  tick_seconds: 5
  lease_seconds: 8
"""


def roster() -> str:
    lines = ["name,email,department,specialty"]
    lines += [f"Dr. Scale {i:05d},scale{i:05d}@riverside.example,Dept {i % 40:02d},Internist"
              for i in range(PHYSICIANS + MISSING)]
    return "\n".join(lines) + "\n"


def windows_over(calls: list[float], limit: int, window: float) -> int:
    """How many calls had ``limit`` others in the ``window`` seconds before them."""
    calls = sorted(calls)
    return sum(1 for i, at in enumerate(calls) if i >= limit and at - calls[i - limit] < window)


def check_limits(api: FakeSlackApi) -> None:
    print(f"refused over a limit: {len(api.over_limit)}; calls during a Retry-After: {len(api.ignored_retry_after)}")
    assert api.ignored_retry_after == [], f"calls during a Retry-After: {api.ignored_retry_after[:5]}"
    for method in ("users.lookupByEmail", "conversations.open", "conversations.history", "users.list"):
        at = [c.at for c in api.calls_to(method)]
        assert windows_over(at, 50 if method != "users.list" else 20, 60.0) == 0, f"{method} over its tier"
    accepted = [c for c in api.calls_to("chat.postMessage") if c.status == 200]
    assert windows_over([c.at for c in accepted], 25, 1.0) == 0


async def fan_out(tmp_path: Path, api: FakeSlackApi) -> tuple[list[Instance], Path, dict[str, str]]:
    for i in range(PHYSICIANS):  # the workspace; the last MISSING roster emails have no account
        api.add_user(f"U{i:07d}", f"scale{i:05d}@riverside.example", f"Dr. Scale {i:05d}")
    async with fresh_database() as url:
        env = prepare(tmp_path, api, url, CONFIG, roster())
        a, b, c = (Instance(tmp_path, env) for _ in range(3))
        try:
            await a.start()
            await wait_for(lambda: len(delivered(api)) >= PHYSICIANS * 4 // 10, 240, "40 % of the fan-out")
            assert await a.signal(signal.SIGKILL) == -signal.SIGKILL
            assert len(delivered(api)) < PHYSICIANS
            await asyncio.gather(b.start(), c.start())
            await wait_for(lambda: len(delivered(api)) >= PHYSICIANS, 600, "B and C to finish the fan-out")
            await asyncio.sleep(10)  # past the lease: anything in doubt is settled; nothing more may arrive
            outbox = run_rounds("outbox", "--config", "rounds.yaml", cwd=tmp_path, env=env, timeout=60)
            return [a, b, c], tmp_path, {"outbox": outbox.stdout, "url": url}
        finally:
            for instance in (a, b, c):
                await instance.kill_if_running()


@pytest.mark.postgres
async def test_three_instances_fan_out_to_a_roster_imported_by_email(tmp_path: Path, api: FakeSlackApi) -> None:
    api.limits = Limits(per_channel=1, workspace_per_second=25)
    _, _, seen = await fan_out(tmp_path, api)
    assert_exactly_once(api, PHYSICIANS)
    check_limits(api)
    assert len(api.calls_to("users.lookupByEmail")) <= 2 * MISSING, "users.list resolved the roster"
    assert "slack:chat.postMessage" in seen["outbox"] and "slack:users.lookupByEmail" in seen["outbox"]


@pytest.mark.postgres
async def test_in_doubt_checks_answered_429_half_the_time_send_nothing_twice(tmp_path: Path,
                                                                           api: FakeSlackApi) -> None:
    api.limits = Limits(per_channel=1, workspace_per_second=25)
    api.flaky = {"conversations.open": 0.5, "conversations.history": 0.5}
    await fan_out(tmp_path, api)
    assert_exactly_once(api, PHYSICIANS)
    assert api.ignored_retry_after == [], f"calls during a Retry-After: {api.ignored_retry_after[:5]}"
    checks = [c for c in api.calls_to("conversations.history")]
    assert any(c.status == 429 for c in checks), "the checks were throttled"
