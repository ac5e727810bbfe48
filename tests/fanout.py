"""Shared by the fan-out tests (test_fanout_crash.py, test_fanout_scale.py): ``rounds serve`` as an
asyncio subprocess beside the in-process fake Slack, a database prepared through the CLI, and the
exactly-once check over what the fake received."""
from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp

from conftest import free_port, rounds_env, run_rounds
from fakes.slack_api import FakeSlackApi


class Instance:
    """``python -m bot serve`` as an asyncio subprocess (so the in-process fake keeps answering)."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env, self.port = cwd, env, free_port()
        self.log = cwd / f"serve-{self.port}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> Instance:
        with self.log.open("ab") as handle:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--config", "rounds.yaml", cwd=self.cwd, env=self.env, stdout=handle, stderr=handle)
        async with aiohttp.ClientSession() as session:
            for _ in range(450):  # a loaded machine can take a minute to start a server
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


def prepare(tmp_path: Path, api: FakeSlackApi, database_url: str, config: str, roster: str) -> dict[str, str]:
    """Write ``rounds.yaml`` and ``roster.csv``, run ``db upgrade`` and ``roster import``; the servers' env."""
    env = rounds_env(DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-fanout", SLACK_API_URL=api.api_url)
    (tmp_path / "rounds.yaml").write_text(config, encoding="utf-8")
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    for args in (("db", "upgrade"), ("roster", "import", "roster.csv")):
        result = run_rounds(*args, cwd=tmp_path, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
    return env


def delivered(api: FakeSlackApi) -> Counter[str]:
    """How often each deduplication key reached the fake Slack."""
    return Counter(m["metadata"]["event_payload"]["dedup_key"]
                   for messages in api.history.values() for m in messages)


def assert_exactly_once(api: FakeSlackApi, physicians: int) -> None:
    counts = delivered(api)
    assert len(counts) == physicians, f"{physicians - len(counts)} physicians got nothing"
    twice = {key: n for key, n in counts.items() if n > 1}
    assert not twice, f"sent more than once: {list(twice.items())[:5]}"


async def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    for _ in range(int(timeout * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
