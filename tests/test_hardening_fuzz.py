"""Malformed and unauthenticated requests to ``/slack/events`` and ``/api/messages``: never a 5xx, never
a traceback, one short log line each, and ``/healthz`` answers throughout."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.channels.http_guard import MAX_JSON_DEPTH, too_deep
from fakes.bot_connector import FakeBotConnector
from fakes.slack_api import FakeSlackApi
from slack_fixtures import SIGNING_SECRET, SLACK_ENV_KEYS, TEAMS_ENV_KEYS, seed_users, seeded_runtime, start_server
from teams_fixtures import JANE as TEAMS_JANE, message

Case = tuple[str, bytes, dict[str, str]]


def _deep(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def _deep_object(depth: int) -> str:
    """JSON text of objects nested ``depth`` deep (built as text: json.dumps would recurse)."""
    return '{"a": ' * depth + "1" + "}" * depth


class Deep:
    """A JSON value spliced into the body as text."""

    def __init__(self, text: str) -> None:
        self.text = text


def _dumps(value: Any) -> bytes:
    spliced: list[str] = []

    def default(obj: Any) -> str:
        if isinstance(obj, Deep):
            spliced.append(obj.text)
            return f"@@DEEP{len(spliced) - 1}@@"
        raise TypeError(type(obj).__name__)

    text = json.dumps(value, default=default)
    for index, inner in enumerate(spliced):
        text = text.replace(f'"@@DEEP{index}@@"', inner)
    return text.encode()


SLACK_BODIES: list[tuple[bytes, str]] = [
    (b"[1]", "application/json"), (b"{", "application/json"), (b"null", "application/json"),
    (b'"text"', "application/json"), (b"123", "application/json"), (b"\xff\xfe\x00{}", "application/json"),
    (b"payload=%7Bx", "application/x-www-form-urlencoded"), (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
    (b"payload=", "application/x-www-form-urlencoded"), (b"payload=null", "application/x-www-form-urlencoded"),
    (b"payload=%FF%FE", "application/x-www-form-urlencoded"), (b"\xc3\x28=1", "application/x-www-form-urlencoded"),
    (_deep(5000).encode(), "application/json"), (_deep_object(3000).encode(), "application/json"),
    (b"payload=" + _deep(3000).encode(), "application/x-www-form-urlencoded"),
    (b"", "application/json"), (b"", "application/x-www-form-urlencoded"), (b"{}", "text/plain"),
    (b'{"type": 1}', "application/json"), (b'{"type": "event_callback", "event": "x"}', "application/json"),
    (b'{"type": "event_callback", "event": {"type": 5}}', "application/json"),
    (b'{"type": "event_callback", "event_id": [], "event": {}}', "application/json"),
    (b'{"type": "url_verification"}', "application/json"),
    (b'payload={"type":"block_actions"}', "application/x-www-form-urlencoded"),
    (b'payload={"type":"block_actions","actions":"x","user":"u"}', "application/x-www-form-urlencoded"),
    (b'payload={"type":"view_submission","view":null}', "application/x-www-form-urlencoded"),
    (b'payload={"type":"view_submission","view":{"callback_id":5,"state":"s"}}', "application/x-www-form-urlencoded"),
    (b"command=%2Frounds&text=", "application/x-www-form-urlencoded"),
    (b"command=%2Frounds&user_id=&text=check+x", "application/x-www-form-urlencoded"),
    (b"a=1&a=2&payload", "application/x-www-form-urlencoded"), (b"%%%%", "application/x-www-form-urlencoded"),
    (b"x" * 2_000_000, "application/json"),
]
SLACK_STAMPS = ["abc", "1e3", "-5", "99999999999999999999999", "\u0661\u0662\u0663", "", " 1700000000"]


def sign(stamp: str, body: bytes) -> str:
    return "v0=" + hmac.new(SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()


def slack_cases() -> list[Case]:
    cases: list[Case] = []
    now = str(int(time.time()))
    for body, content_type in SLACK_BODIES:
        stale = str(int(now) - 3600)
        variants = [
            {},  # unsigned
            {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=" + "0" * 64},
            {"X-Slack-Request-Timestamp": stale, "X-Slack-Signature": sign(stale, body)},
            {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": sign(now, body)},  # signed, but malformed
        ]
        for headers in variants:
            cases.append(("/slack/events", body, {"Content-Type": content_type, **headers}))
    for stamp in SLACK_STAMPS:
        body = b'{"type": "event_callback"}'
        cases.append(("/slack/events", body, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                                             "X-Slack-Signature": "v0=abc"}))
    cases.append(("/slack/events", b"{}", {"Content-Type": "application/json; charset=klingon",
                                          "X-Slack-Request-Timestamp": now, "X-Slack-Signature": "\u00e9"}))
    return cases


def teams_cases(service_url: str) -> list[Case]:
    good = message(service_url, TEAMS_JANE, "help")
    mutations: list[Any] = [
        b"not json", b"[1]", b"null", b"\xff\xfe", b"", _deep(5000).encode(), b'{"type": "message"',
        {**good, "value": Deep(_deep_object(5000))}, {**good, "value": Deep(_deep_object(MAX_JSON_DEPTH + 5))},
        {**good, "value": Deep(_deep_object(20))}, {**good, "type": 7}, {**good, "type": ""}, {**good, "type": None},
        {**good, "from": "x"}, {**good, "from": None}, {**good, "from": {"id": 5}}, {**good, "from": {}},
        {**good, "conversation": 5}, {**good, "conversation": {}}, {**good, "conversation": {"id": []}},
        {**good, "serviceUrl": 5}, {**good, "serviceUrl": "ftp://x"}, {**good, "serviceUrl": ""},
        {**good, "text": {}}, {**good, "text": [1]}, {**good, "value": "text"}, {**good, "value": [1, 2]},
        {**good, "entities": "x"}, {**good, "entities": [1]}, {**good, "entities": [{"type": "mention"}]},
        {**good, "attachments": 5}, {**good, "channelData": []}, {**good, "channelData": {"tenant": 5}},
        {**good, "localTimezone": "Mars/Base"}, {**good, "localTimezone": 5}, {**good, "timestamp": "soon"},
        {**good, "recipient": "bot"}, {**good, "channelId": 5}, {**good, "name": 5}, {**good, "locale": 5},
        {**good, "type": "invoke", "name": "adaptiveCard/action", "value": "x"},
        {**good, "type": "invoke", "name": "adaptiveCard/action", "value": {"action": 5}},
        {**good, "type": "invoke", "name": "adaptiveCard/action", "value": {"action": {"data": [1]}}},
        {**good, "type": "invoke", "name": "adaptiveCard/action", "value": {"action": {"verb": 5, "data": {}}}},
        {**good, "type": "conversationUpdate", "membersAdded": "x"},
        {**good, "type": "conversationUpdate", "membersAdded": [5]},
        {**good, "type": "installationUpdate", "action": 5},
        {**good, "type": "messageReaction", "reactionsAdded": "x"},
        {"type": "message"}, {}, {"x": Deep(_deep_object(10))},
    ]
    cases: list[Case] = []
    for mutation in mutations:
        body = mutation if isinstance(mutation, bytes) else _dumps(mutation)
        for headers in ({"Content-Type": "application/json"},
                        {"Content-Type": "application/json", "Authorization": "Bearer not.a.jwt"},
                        {"Content-Type": "text/plain"}):
            cases.append(("/api/messages", body, headers))
    cases.append(("/api/messages", b"{" * 300_000, {"Content-Type": "application/json"}))
    return cases


def test_depth_scan_ignores_brackets_in_strings() -> None:
    assert not too_deep(json.dumps({"text": "[" * 500 + "{" * 500, "q": '\\"[[[' * 100}))
    assert too_deep(_deep(MAX_JSON_DEPTH + 1))
    assert not too_deep(_deep(MAX_JSON_DEPTH))
    assert too_deep('{"a": "\\\\", "b": ' + _deep_object(MAX_JSON_DEPTH + 2) + "}")


@pytest.fixture
async def both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, FakeSlackApi, str]]:
    """The real server with Slack (HTTP mode) and Teams (anonymous, local testing) both mounted."""
    for key in SLACK_ENV_KEYS + TEAMS_ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    api = FakeSlackApi()
    await api.start()
    seed_users(api)
    connector = FakeBotConnector()
    connector.add_member(TEAMS_JANE)
    service_url = await connector.start()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", api.api_url)
    monkeypatch.setenv("ROUNDS_TEAMS_ANONYMOUS", "1")
    runtime = await seeded_runtime(tmp_path)
    runner, url = await start_server(runtime)
    try:
        yield url, api, service_url
    finally:
        await runner.shutdown()
        await runner.cleanup()
        await runtime.store.close()
        await connector.stop()
        await api.close()


async def test_malformed_requests_get_4xx_one_short_line_and_health_stays_up(
        both: tuple[str, FakeSlackApi, str], caplog: pytest.LogCaptureFixture) -> None:
    url, _, service_url = both
    cases = slack_cases() + teams_cases(service_url)
    assert len(cases) >= 200
    caplog.set_level(logging.INFO)
    health: list[int] = []
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        async def check_health() -> None:
            async with session.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=5)) as response:
                health.append(response.status)

        async def watch() -> None:
            while not stop.is_set():
                await check_health()
                await asyncio.sleep(0.02)

        watcher = asyncio.create_task(watch())
        statuses: dict[int, list[str]] = {}
        for index, (path, body, headers) in zip(itertools.count(), cases):
            async with session.post(f"{url}{path}", data=body, headers=headers) as response:
                await response.read()
                statuses.setdefault(response.status, []).append(f"#{index} {path} {body[:60]!r} {headers}")
            if index % 20 == 0:
                await check_health()
        stop.set()
        await watcher
    server_errors = {status: where for status, where in statuses.items() if status >= 500}
    assert not server_errors, server_errors
    assert len(health) >= len(cases) // 20 and set(health) == {200}
    records = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not records, [r.getMessage()[:200] for r in records]
    rejected = [r for r in caplog.records if "request rejected" in r.getMessage()]
    assert len(rejected) >= 150
    assert max(len(r.getMessage()) for r in rejected) < 120
    assert statuses.get(401) and statuses.get(400)
