"""Kill the server in the middle of a fan-out of thousands of reminders, start it again: every
planned message reaches the fake Slack API exactly once. Also: SIGTERM drains and exits cleanly,
and two instances on one PostgreSQL database share the work without sending anything twice."""
from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from conftest import free_port, rounds_env, run_rounds
from fakes.slack_api import FakeSlackApi
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


def write_roster(path: Path, count: int) -> None:
    lines = ["name,email,department,specialty,slack id"]
    lines += [f"Dr. Fan {i:05d},fan{i:05d}@riverside.example,Dept {i % 40:02d},Internist,U{i:06d}"
              for i in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class Instance:
    """``python -m bot serve`` as an asyncio subprocess (so the in-process fake keeps answering)."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env, self.port = cwd, env, free_port()
        self.log = cwd / f"serve-{self.port}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> "Instance":
        handle = self.log.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--config", "rounds.yaml", cwd=self.cwd, env=self.env, stdout=handle, stderr=handle)
        handle.close()
        async with aiohttp.ClientSession() as session:
            for _ in range(150):
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                assert self.process.returncode is None, self.log.read_text()
                await asyncio.sleep(0.2)
        raise AssertionError("server did not start:\n" + self.log.read_text())

    async def signal(self, sig: int, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def kill_if_running(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


def delivered(api: FakeSlackApi) -> Counter:
    return Counter(m["metadata"]["event_payload"]["dedup_key"]
                   for messages in api.history.values() for m in messages)


async def wait_for(predicate, timeout: float, what: str) -> None:
    for _ in range(int(timeout * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def prepare(tmp_path: Path, api: FakeSlackApi, database_url: str) -> dict[str, str]:
    env = rounds_env(DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-fanout", SLACK_API_URL=api.api_url)
    (tmp_path / "rounds.yaml").write_text(CONFIG, encoding="utf-8")
    write_roster(tmp_path / "roster.csv", PHYSICIANS)
    for args in (("db", "upgrade"), ("roster", "import", "roster.csv")):
        result = run_rounds(*args, cwd=tmp_path, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
    return env


def assert_exactly_once(api: FakeSlackApi) -> None:
    counts = delivered(api)
    assert len(counts) == PHYSICIANS, f"{PHYSICIANS - len(counts)} physicians got nothing"
    twice = {key: n for key, n in counts.items() if n > 1}
    assert not twice, f"sent more than once: {list(twice.items())[:5]}"


async def test_sigkill_mid_fanout_then_restart_delivers_each_message_exactly_once(
        tmp_path: Path, api: FakeSlackApi) -> None:
    env = prepare(tmp_path, api, f"sqlite:///{tmp_path}/fanout.db")
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
            assert_exactly_once(api)
        finally:
            await second.kill_if_running()
    finally:
        await first.kill_if_running()


async def test_sigterm_finishes_in_flight_sends_and_exits_cleanly(tmp_path: Path, api: FakeSlackApi) -> None:
    env = prepare(tmp_path, api, f"sqlite:///{tmp_path}/fanout.db")
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
            assert_exactly_once(api)
        finally:
            await second.kill_if_running()
    finally:
        await first.kill_if_running()


@pytest.mark.postgres
async def test_two_instances_on_postgresql_share_the_fanout_and_survive_one_dying(
        tmp_path: Path, api: FakeSlackApi) -> None:
    async with fresh_database() as url:
        env = prepare(tmp_path, api, url)
        one, two = Instance(tmp_path, env), Instance(tmp_path, env)
        try:
            await asyncio.gather(one.start(), two.start())
            await wait_for(lambda: len(delivered(api)) >= PHYSICIANS // 3, 60, "a third of the fan-out")
            assert await one.signal(signal.SIGKILL) == -signal.SIGKILL
            await wait_for(lambda: len(delivered(api)) >= PHYSICIANS, 120, "the survivor to finish")
            await asyncio.sleep(6)
            assert_exactly_once(api)
            senders = {line.split("reminders via")[0] for line in one.log.read_text().splitlines()
                       if "reminders via" in line}
            assert senders, "instance one was sending before it died"
        finally:
            await one.kill_if_running()
            await two.kill_if_running()
