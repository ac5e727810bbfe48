"""Drafts sent to the checker never reach a log, a table or a file: ``rounds serve`` at DEBUG with its
access log on, driven through Slack (good and bad signatures), Teams and the local chat."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from pathlib import Path

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.store import database_url as async_url
from conftest import RoundsServer, rounds_env, run_rounds
from fakes.bot_connector import FakeBotConnector
from fakes.slack_api import FakeSlackApi
from slack_fixtures import JANE, PHYSICIAN, SIGNING_SECRET, seed_users, signature
from teams_fixtures import JANE as TEAMS_JANE, message

MARKER = "QZXMARKER7731"
DRAFT = f"check Great talk by Dr. Smith {MARKER}, patient John Doe in room 12 at the summit #HS26"
ROSTER_CSV = f"name,email,department,specialty\nDr. Jane Rivera,{PHYSICIAN},Cardiology,Cardiologist\n"


async def _rows_with(url: str, marker: str) -> list[str]:
    engine = create_async_engine(async_url(url))
    found = []
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
            for name in names:
                rows = (await connection.execute(sa.text(f'SELECT * FROM "{name}"'))).all()
                found += [f"{name}: {row}" for row in rows if marker in repr(row)]
    finally:
        await engine.dispose()
    return found


async def _quiet_log(server: RoundsServer, settle: float = 0.5, timeout: float = 15.0) -> int:
    """The length of the server's log once it has not grown for ``settle`` seconds."""
    deadline = time.monotonic() + timeout
    size = len(server.output())
    while time.monotonic() < deadline:
        await asyncio.sleep(settle)
        grown = len(server.output())
        if grown == size:
            break
        size = grown
    return size


async def test_a_draft_is_in_no_log_no_table_and_no_file(tmp_path: Path, database_url: str) -> None:
    api = FakeSlackApi()
    await api.start()
    seed_users(api)
    connector = FakeBotConnector()
    connector.add_member(TEAMS_JANE)
    service_url = await connector.start()
    env = rounds_env(DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                     SLACK_API_URL=api.api_url, ROUNDS_TEAMS_ANONYMOUS="1", ROUNDS_LOG_LEVEL="DEBUG",
                     ROUNDS_ACCESS_LOG="1")
    try:
        assert (await asyncio.to_thread(run_rounds, "db", "upgrade", cwd=tmp_path, env=env)).returncode == 0
        (tmp_path / "roster.csv").write_text(ROSTER_CSV)
        imported = await asyncio.to_thread(run_rounds, "roster", "import", "roster.csv", cwd=tmp_path, env=env)
        assert imported.returncode == 0, imported.stderr
        with RoundsServer("serve", "--webchat", cwd=tmp_path, env=env) as server:
            await asyncio.to_thread(server.wait_healthy)
            token = next(line.split("token=")[1] for line in server.output().splitlines() if "token=" in line)
            async with aiohttp.ClientSession() as session:
                # Slack: a slash command signed with the wrong secret, a stale one, then a good one; a DM.
                fields = {"command": "/rounds", "text": DRAFT.removeprefix("check "), "user_id": JANE,
                          "channel_id": "C1", "team_id": "T1", "response_url": api.response_url("c1"),
                          "trigger_id": "t1"}
                fields["text"] = DRAFT
                body = urllib.parse.urlencode(fields)
                now = str(int(time.time()))
                for secret, stamp in (("wrong-secret", now), (SIGNING_SECRET, str(int(now) - 900)),
                                      (SIGNING_SECRET, now)):
                    headers = {"Content-Type": "application/x-www-form-urlencoded",
                               "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature(secret, stamp, body)}
                    async with session.post(f"{server.url}/slack/events", data=body, headers=headers) as response:
                        assert response.status == (200 if secret == SIGNING_SECRET and stamp == now else 401)
                event = json.dumps({"type": "event_callback", "event_id": "EvPRIVACY1", "team_id": "T1",
                                    "event": {"type": "message", "channel_type": "im", "channel": "DJANE",
                                              "user": JANE, "text": DRAFT, "ts": "1.1"}})
                headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": now,
                           "X-Slack-Signature": signature(SIGNING_SECRET, now, event)}
                async with session.post(f"{server.url}/slack/events", data=event, headers=headers) as response:
                    assert response.status == 200
                # Five unsigned bodies of about 1 MB: one short line each, whatever their size. The
                # server's own background work (the DM's answer, the first planning and the week's
                # snapshot) logs first, so that its lines do not count against the bodies'.
                before = await _quiet_log(server)
                big = ("text=" + MARKER + "x" * 1_000_000).encode()
                for _ in range(5):
                    async with session.post(f"{server.url}/slack/events", data=big,
                                            headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
                        assert response.status in (401, 413)
                await asyncio.sleep(0.2)
                assert len(server.output()) - before < 5 * 500
                # Teams and the local chat.
                async with session.post(f"{server.url}/api/messages",
                                        json=message(service_url, TEAMS_JANE, DRAFT)) as response:
                    assert response.status == 200
                async with session.post(f"{server.url}/chat/api/message", json={"persona": PHYSICIAN, "text": DRAFT},
                                        headers={"Authorization": f"Bearer {token}"}) as response:
                    assert response.status == 200
                    answered = json.dumps(await response.json())
            await api.wait_for("response_url")
            await api.wait_for("chat.postMessage")
            await connector_sent(connector)
            assert server.stop() == 0
        assert "check" in answered.lower() or "draft" in answered.lower()
        log = server.output()
        assert "DEBUG" in log and "aiohttp.access" in log  # the most verbose the server gets
        assert MARKER not in log
        files = [p for p in tmp_path.rglob("*") if p.is_file() and MARKER.encode() in p.read_bytes()]
        assert files == []
        assert await _rows_with(database_url, MARKER) == []
    finally:
        await connector.stop()
        await api.close()


async def connector_sent(connector: FakeBotConnector, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not connector.sent() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert connector.sent()
