"""Kill the server in the middle of a fan-out of thousands of reminders, start it again: every
planned message reaches the fake Slack API exactly once. Also: SIGTERM drains and exits cleanly,
and two instances on one PostgreSQL database share the work without sending anything twice."""
from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from fakes.slack_api import FakeSlackApi
from fanout import Instance, assert_exactly_once, delivered, prepare, wait_for
from pg import fresh_database

PHYSICIANS = 2000
CONFIG = """\
hospital: {timezone: America/New_York}
quiet_hours: {start: "00:00", end: "00:00", weekends: false}
delivery:
  slack:
    per_conversation_per_second: 5
    per_second: 400
    # this fake enforces no limits: checks of the messages in doubt need not wait for Tier 3 either
    methods_per_minute: {conversations.open: 6000, conversations.history: 6000}
  tick_seconds: 5
  lease_seconds: 5
"""


def roster(count: int) -> str:
    lines = ["name,email,department,specialty,slack id"]
    lines += [f"Dr. Fan {i:05d},fan{i:05d}@riverside.example,Dept {i % 40:02d},Internist,U{i:06d}"
              for i in range(count)]
    return "\n".join(lines) + "\n"


def prepared(tmp_path: Path, api: FakeSlackApi, database_url: str) -> dict[str, str]:
    return prepare(tmp_path, api, database_url, CONFIG, roster(PHYSICIANS))


async def test_sigkill_mid_fanout_then_restart_delivers_each_message_exactly_once(
        tmp_path: Path, api: FakeSlackApi) -> None:
    env = prepared(tmp_path, api, f"sqlite:///{tmp_path}/fanout.db")
    first = await Instance(tmp_path, env).start()
    try:
        await wait_for(lambda: len(delivered(api)) >= PHYSICIANS // 3, 60, "a third of the fan-out")
        assert await first.signal(signal.SIGKILL) == -signal.SIGKILL
        at_kill = len(delivered(api))
        assert at_kill < PHYSICIANS, "the fan-out finished before the kill; nothing was tested"
        second = await Instance(tmp_path, env).start()
        try:
            await wait_for(lambda: len(delivered(api)) >= PHYSICIANS, 120, "the rest of the fan-out")
            await asyncio.sleep(6)  # past the lease: in-doubt messages are settled, nothing more may arrive
            assert_exactly_once(api, PHYSICIANS)
        finally:
            await second.kill_if_running()
    finally:
        await first.kill_if_running()


async def test_sigterm_finishes_in_flight_sends_and_exits_cleanly(tmp_path: Path, api: FakeSlackApi) -> None:
    env = prepared(tmp_path, api, f"sqlite:///{tmp_path}/fanout.db")
    first = await Instance(tmp_path, env).start()
    try:
        await wait_for(lambda: len(delivered(api)) >= PHYSICIANS // 4, 60, "a quarter of the fan-out")
        assert await first.signal(signal.SIGTERM) == 0
        log = first.log.read_text()
        assert "Traceback" not in log
        stopped_at = len(delivered(api))
        await asyncio.sleep(1)
        assert len(delivered(api)) == stopped_at, "nothing is sent after the process exited"
        second = await Instance(tmp_path, env).start()  # no lease to wait out: claims were handed back
        try:
            await wait_for(lambda: len(delivered(api)) >= PHYSICIANS, 60, "the rest after a clean restart")
            await asyncio.sleep(1)
            assert_exactly_once(api, PHYSICIANS)
        finally:
            await second.kill_if_running()
    finally:
        await first.kill_if_running()


@pytest.mark.postgres
async def test_two_instances_on_postgresql_share_the_fanout_and_survive_one_dying(
        tmp_path: Path, api: FakeSlackApi) -> None:
    async with fresh_database() as url:
        env = prepared(tmp_path, api, url)
        one, two = Instance(tmp_path, env), Instance(tmp_path, env)
        try:
            await asyncio.gather(one.start(), two.start())
            await wait_for(lambda: len(delivered(api)) >= PHYSICIANS // 3, 60, "a third of the fan-out")
            assert await one.signal(signal.SIGKILL) == -signal.SIGKILL
            await wait_for(lambda: len(delivered(api)) >= PHYSICIANS, 120, "the survivor to finish")
            await asyncio.sleep(6)
            assert_exactly_once(api, PHYSICIANS)
            senders = {line.split("reminders via")[0] for line in one.log.read_text().splitlines()
                       if "reminders via" in line}
            assert senders, "instance one was sending before it died"
        finally:
            await one.kill_if_running()
            await two.kill_if_running()
