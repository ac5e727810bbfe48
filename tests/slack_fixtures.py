"""Shared helpers for the Slack tests: a seeded runtime, the fake Slack, the real server, and
requests signed exactly as Slack signs them.

Its fixtures (``slack_api``, ``slack_runtime``, ``slack``) are registered by tests/conftest.py
(``pytest_plugins``): test modules ask for them by name and import only the helpers they call.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from bot.app import Runtime, create_app
from bot.channels.slack.app import SLACK
from bot.clock import FixedClock
from bot.config import Config
from bot.content import load_content
from bot.core.models import Meeting
from bot.settings import Settings
from bot.store import RosterEntry, Store
from fakes.slack_api import Call, FakeSlackApi

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "tests" / "data" / "schemas"
"""Official schemas vendored for the tests, with their origin (ORIGIN.md there)."""
SLACK_NOW = datetime(2026, 5, 12, 14, 0, tzinfo=UTC)
"""Tuesday 12 May 2026, 10:00 in New York; the Heart Summit starts 17 days later."""
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-social-rounds-test"
APP_TOKEN = "xapp-1-social-rounds-test"
ADMIN = "maria.lopez@riverside.example"
PHYSICIAN = "jane.rivera@riverside.example"
ONCOLOGIST = "omar.haddad@riverside.example"
JANE, MARIA, OMAR, STRANGER = "UJANE01", "UMARIA01", "UOMAR01", "USTRANGER1"
JANE_DM = "DJANE01"
SLACK_ENV_KEYS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL")
TEAMS_ENV_KEYS = ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID", "MICROSOFT_APP_TYPE",
                  "ROUNDS_TEAMS_ANONYMOUS")

ROSTER = (
    RosterEntry(ADMIN, "Maria Lopez", "Marketing", "Marketing manager", "admin"),
    RosterEntry(PHYSICIAN, "Dr. Jane Rivera", "Cardiology", "Cardiologist"),
    RosterEntry(ONCOLOGIST, "Dr. Omar Haddad", "Oncology", "Medical Oncologist", x_handle="OmarHaddadMD"),
)
HEART_SUMMIT = Meeting(0, "heart-summit-2026", "Heart Summit 2026", "Cardiology", date(2026, 5, 29),
                       date(2026, 5, 31), "Chicago", "#HS26", "Abstracts are embargoed until presented.")


async def seeded_runtime(tmp_path: Path, name: str = "t.db") -> Runtime:
    """A migrated SQLite store with the small roster, one upcoming meeting and the real content."""
    store = Store.open(f"sqlite:///{tmp_path}/{name}")
    await store.upgrade()
    clock = FixedClock(SLACK_NOW)
    await store.people.upsert(ROSTER, clock.now())
    if await store.meetings.by_key(HEART_SUMMIT.key) is None:
        await store.meetings.add(HEART_SUMMIT, clock.now())
    config = Config(admins=(ADMIN,))
    content = load_content(ROOT / "prompts")
    return Runtime.of(config, content, store, clock)


def slack_env(monkeypatch: pytest.MonkeyPatch, api: FakeSlackApi, *, socket_mode: bool = False) -> None:
    """Environment for the server: the fake Slack's URL, HTTP mode (or Socket Mode), no Teams."""
    for key in SLACK_ENV_KEYS + TEAMS_ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", api.api_url)
    if socket_mode:
        monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    else:
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)


def signature(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


@dataclass
class SlackServer:
    """The real server on 127.0.0.1, spoken to the way Slack speaks to it."""

    url: str
    runtime: Runtime
    api: FakeSlackApi
    session: aiohttp.ClientSession
    channel: Any = None
    """The server's Slack channel (the ``slack`` fixture sets it): tests wait for its background tasks."""
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- raw --------------------------------------------------------------------------------------
    async def post(self, body: str, content_type: str, *, secret: str = SIGNING_SECRET,
                   timestamp: int | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature(secret, stamp, body), **(headers or {})}
        async with self.session.post(f"{self.url}/slack/events", data=body.encode(), headers=sent) as response:
            return response.status, await response.text()

    async def post_form(self, fields: dict[str, str], **kwargs: Any) -> tuple[int, str]:
        return await self.post(urlencode(fields), "application/x-www-form-urlencoded", **kwargs)

    async def post_payload(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        """Interactivity: ``payload=<json>``, form-encoded, as Slack sends it."""
        return await self.post_form({"payload": json.dumps(payload)}, **kwargs)

    # -- what Slack sends ----------------------------------------------------------------------------
    def next_id(self) -> int:
        return next(self._ids)

    async def command(self, user: str, text: str, *, channel: str = "C0GENERAL", **kwargs: Any) -> tuple[int, str, str]:
        """A ``/rounds`` slash command; returns (status, body, the response_url name)."""
        name = f"cmd-{self.next_id()}"
        fields = {"token": "legacy", "team_id": "T1", "team_domain": "riverside", "channel_id": channel,
                  "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": "/rounds",
                  "text": text, "api_app_id": "A1", "is_enterprise_install": "false",
                  "response_url": self.api.response_url(name), "trigger_id": f"trigger-{name}"}
        status, body = await self.post_form(fields, **kwargs)
        return status, body, name

    def event_body(self, event: dict[str, Any], event_id: str) -> dict[str, Any]:
        return {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "event": event,
                "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
                "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}]}

    async def event(self, event: dict[str, Any], event_id: str | None = None, *, retry: int | None = None,
                    **kwargs: Any) -> tuple[int, str]:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        body = json.dumps(self.event_body(event, event_id or f"Ev{uuid.uuid4().hex[:12].upper()}"))
        return await self.post(body, "application/json", headers=headers, **kwargs)

    async def dm(self, user: str, text: str, *, event_id: str | None = None, retry: int | None = None,
                 channel: str = JANE_DM) -> tuple[int, str]:
        ts = f"1767225000.{self.next_id():06d}"
        event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                 "event_ts": ts, "channel_type": "im"}
        return await self.event(event, event_id, retry=retry)

    async def press(self, user: str, element: dict[str, Any], *, block_id: str | None = None,
                    container: dict[str, Any], message: dict[str, Any] | None = None,
                    response_url: str | None = None, view: dict[str, Any] | None = None) -> tuple[int, str]:
        """A ``block_actions`` payload for one element (as it would come back from the client)."""
        action = {**element, "block_id": block_id or "b", "action_ts": "1767225000.1"}
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": "T1"},
            "api_app_id": "A1", "token": "legacy", "container": container, "trigger_id": f"trigger-{self.next_id()}",
            "team": {"id": "T1", "domain": "riverside"}, "enterprise": None, "is_enterprise_install": False,
            "actions": [action]}
        if container.get("channel_id"):
            payload["channel"] = {"id": container["channel_id"], "name": "directmessage"}
        if message is not None:
            payload["message"] = message
        if response_url is not None:
            payload["response_url"] = response_url
        if view is not None:
            payload["view"] = view
        return await self.post_payload(payload)

    async def submit(self, user: str, view: dict[str, Any], answers: dict[str, dict[str, Any]]) -> tuple[int, str]:
        """A ``view_submission`` of ``view`` (as opened) with input states ``answers`` (block → state)."""
        state = {"values": {block: {"value": value} for block, value in answers.items()}}
        payload = {"type": "view_submission", "team": {"id": "T1", "domain": "riverside"},
                   "user": {"id": user, "username": user.lower(), "team_id": "T1"}, "api_app_id": "A1",
                   "token": "legacy", "trigger_id": f"trigger-{self.next_id()}",
                   "view": {**view, "id": "V1", "team_id": "T1", "state": state, "hash": "h1"}}
        return await self.post_payload(payload)


def blocks_of(call: Call) -> list[dict[str, Any]]:
    blocks = call.args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if blocks is None and isinstance(call.args.get("view"), (dict, str)):
        view = call.args["view"]
        blocks = (json.loads(view) if isinstance(view, str) else view)["blocks"]
    return list(blocks or [])


def view_of(call: Call) -> dict[str, Any]:
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else view


def elements(blocks: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every interactive element with its block, in order."""
    found = []
    for block in blocks:
        for element in block.get("elements") or []:
            if "action_id" in element:
                found.append((block, element))
        accessory = block.get("accessory")
        if accessory and "action_id" in accessory:
            found.append((block, accessory))
    return found


def button(blocks: list[dict[str, Any]], value_prefix: str) -> dict[str, Any]:
    for _, element in elements(blocks):
        if element.get("type") == "button" and element.get("value", "").startswith(value_prefix):
            return element
    raise AssertionError(f"no button with a value starting {value_prefix!r}")


def checklist(blocks: list[dict[str, Any]], value_prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The checkboxes element (and its block) that holds an option with that value prefix."""
    for block, element in elements(blocks):
        if element.get("type") == "checkboxes" and any(
                o["value"].startswith(value_prefix) for o in element["options"]):
            return block, element
    raise AssertionError(f"no checkbox option starting {value_prefix!r}")


def texts(blocks: list[dict[str, Any]]) -> str:
    """All visible text of some blocks, for assertions."""
    return json.dumps(blocks, ensure_ascii=False)


async def start_server(runtime: Runtime) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(create_app(Settings.from_env(os.environ), runtime, webchat=False, background=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def seed_users(api: FakeSlackApi) -> None:
    api.add_user(JANE, PHYSICIAN, "Dr. Jane Rivera", tz="America/Chicago")
    api.add_user(MARIA, ADMIN, "Maria Lopez")
    api.add_user(OMAR, ONCOLOGIST, "Dr. Omar Haddad", tz="Europe/Berlin")
    api.add_user(STRANGER, "visitor@elsewhere.example", "Visiting Doctor")


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    await api.start()
    seed_users(api)
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
async def slack_runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = await seeded_runtime(tmp_path)
    try:
        yield runtime
    finally:
        await runtime.store.close()


@pytest.fixture
async def slack(slack_api: FakeSlackApi, slack_runtime: Runtime,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SlackServer]:
    """The real server in HTTP mode, its Web API client pointed at the fake Slack."""
    slack_env(monkeypatch, slack_api)
    runner, url = await start_server(slack_runtime)
    session = aiohttp.ClientSession()
    try:
        yield SlackServer(url, slack_runtime, slack_api, session, runner.app[SLACK])
    finally:
        await session.close()
        await runner.cleanup()
