"""Shared helpers for the Teams tests: schemas, a seeded runtime, the real server and Teams activities.

Its fixtures (``connector``, ``teams_runtime``, ``server``) are registered by tests/conftest.py
(``pytest_plugins``): test modules ask for them by name and import only the helpers they call.
"""
from __future__ import annotations

import functools
import itertools
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from jsonschema import Draft6Validator, Draft7Validator

from bot.app import Runtime, create_app
from bot.clock import FixedClock
from bot.config import Config
from bot.content import load_content
from bot.settings import Settings
from bot.store import RosterEntry, Store
from fakes.bot_connector import FakeBotConnector, Member

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "tests" / "data" / "schemas"
"""Official schemas vendored for the tests, with their origin (ORIGIN.md there)."""
TEAMS_NOW = datetime(2026, 5, 12, 14, 0, tzinfo=UTC)
"""Tuesday 12 May 2026, 10:00 in New York; ASCO 2026 starts 17 days later."""
ADMIN = "maria.lopez@riverside.example"
PHYSICIAN = "jane.rivera@riverside.example"
STRANGER_EMAIL = "visitor@elsewhere.example"
TENANT = "tenant-1"
BOT = {"id": "28:social-rounds-bot", "name": "Social Rounds"}
JANE = Member("29:jane", "Dr. Jane Rivera", "aad-jane", PHYSICIAN, TENANT)
MARIA = Member("29:maria", "Maria Lopez", "aad-maria", ADMIN, TENANT)
STRANGER = Member("29:visitor", "Visiting Doctor", "aad-visitor", STRANGER_EMAIL, TENANT)
PERSONAL_JANE = "a:personal-jane"
CHANNEL = "19:marketing@thread.tacv2"
TEAM = "19:general@thread.tacv2"
TEAMS_ENV_KEYS = ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID", "MICROSOFT_APP_TYPE",
                  "ROUNDS_TEAMS_ANONYMOUS")


@functools.cache
def card_validator() -> Draft6Validator:
    schema = json.loads((SCHEMAS / "adaptivecards/adaptive-card-1.5.schema.json").read_text("utf-8"))
    return Draft6Validator(schema)


@functools.cache
def manifest_validator() -> Draft7Validator:
    """Draft 7, not the declared draft 4 (which ignores ``const``): see bot/channels/teams/schemas/ORIGIN.md."""
    schema = json.loads((ROOT / "bot/channels/teams/schemas/teams-manifest-1.19.schema.json").read_text("utf-8"))
    return Draft7Validator(schema)


def card_errors(card: dict[str, Any]) -> list[str]:
    """Schema errors of a card, checked as is (no Teams-only ``msteams`` extension to strip)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in card_validator().iter_errors(card)]


ROSTER = (
    RosterEntry(ADMIN, "Maria Lopez", "Marketing", "Marketing manager", "admin"),
    RosterEntry(PHYSICIAN, "Dr. Jane Rivera", "Cardiology", "Cardiologist"),
    RosterEntry("omar.haddad@riverside.example", "Dr. Omar Haddad", "Oncology", "Medical Oncologist",
                x_handle="OmarHaddadMD"),
)


async def seeded_runtime(tmp_path: Path) -> Runtime:
    """A fresh SQLite store with the small roster and the real content."""
    store = Store.open(f"sqlite:///{tmp_path}/t.db")
    await store.upgrade()
    clock = FixedClock(TEAMS_NOW)
    await store.people.upsert(ROSTER, clock.now())
    config = Config(admins=(ADMIN,), teams_marketing_channel=CHANNEL)
    content = load_content(ROOT / "prompts")
    return Runtime.of(config, content, store, clock)


def clear_teams_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in TEAMS_ENV_KEYS:
        monkeypatch.delenv(key, raising=False)


@dataclass
class Server:
    """The real Social Rounds server on 127.0.0.1 and a client to post activities to it."""

    url: str
    runtime: Runtime
    session: aiohttp.ClientSession

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        response = await self.session.post(f"{self.url}/api/messages", json=activity, headers=headers or {})
        await response.read()
        return response


async def start_server(runtime: Runtime) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(create_app(Settings.from_env(os.environ), runtime, webchat=False, background=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    fake = FakeBotConnector()
    for member in (JANE, MARIA, STRANGER):
        fake.add_member(member)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def teams_runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = await seeded_runtime(tmp_path)
    try:
        yield runtime
    finally:
        await runtime.store.close()


@pytest.fixture
async def server(teams_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Server]:
    """The server in anonymous mode (no app id), as with the Bot Framework Emulator."""
    clear_teams_env(monkeypatch)
    monkeypatch.setenv("ROUNDS_TEAMS_ANONYMOUS", "1")
    runner, url = await start_server(teams_runtime)
    async with aiohttp.ClientSession() as session:
        try:
            yield Server(url, teams_runtime, session)
        finally:
            await runner.shutdown()
            await runner.cleanup()


# -- Teams activities ------------------------------------------------------------------------------------
_ids = itertools.count(1)


def _base(kind: str, service_url: str, member: Member, conversation: dict[str, Any],
          channel_data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind, "id": f"incoming-{next(_ids)}", "channelId": "msteams", "serviceUrl": service_url,
        "timestamp": "2026-05-12T14:00:00.000Z", "locale": "en-US",
        "from": {"id": member.id, "name": member.name, "aadObjectId": member.aad_object_id},
        "recipient": dict(BOT), "conversation": conversation, "channelData": channel_data,
    }


def personal(member: Member) -> tuple[dict[str, Any], dict[str, Any]]:
    conversation = {"id": f"a:personal-{member.id.split(':')[1]}", "conversationType": "personal",
                    "tenantId": TENANT}
    return conversation, {"tenant": {"id": TENANT}}


def channel_thread(thread: str = "1747058400000") -> tuple[dict[str, Any], dict[str, Any]]:
    conversation = {"id": f"{CHANNEL};messageid={thread}", "conversationType": "channel", "isGroup": True,
                    "tenantId": TENANT}
    return conversation, {"tenant": {"id": TENANT}, "team": {"id": TEAM, "name": "Riverside"},
                          "channel": {"id": CHANNEL, "name": "Marketing"}}


def message(service_url: str, member: Member, text: str, *, where: tuple[dict, dict] | None = None,
            timezone_name: str | None = "America/Chicago", mention: bool = False,
            value: dict[str, Any] | None = None, reply_to: str | None = None) -> dict[str, Any]:
    conversation, channel_data = where or personal(member)
    activity = _base("message", service_url, member, conversation, channel_data)
    activity["text"] = text
    activity["textFormat"] = "plain"
    if timezone_name:
        activity["localTimezone"] = timezone_name
    if mention:
        activity["entities"] = [{"type": "mention", "text": f"<at>{BOT['name']}</at>", "mentioned": dict(BOT)}]
    if value is not None:
        activity["value"] = value
    if reply_to:
        activity["replyToId"] = reply_to
    return activity


def execute_invoke(service_url: str, member: Member, action: str, *, card_id: str = "card-1",
                   where: tuple[dict, dict] | None = None) -> dict[str, Any]:
    conversation, channel_data = where or personal(member)
    activity = _base("invoke", service_url, member, conversation, channel_data)
    activity.update(name="adaptiveCard/action", replyToId=card_id, value={
        "action": {"type": "Action.Execute", "verb": "rounds", "data": {"action": action}}, "trigger": "manual"})
    return activity


def bot_added(service_url: str, member: Member, *, where: tuple[dict, dict] | None = None) -> dict[str, Any]:
    conversation, channel_data = where or personal(member)
    activity = _base("conversationUpdate", service_url, member, conversation, channel_data)
    activity["membersAdded"] = [dict(BOT)]
    return activity


def installation(service_url: str, member: Member, action: str, *,
                 where: tuple[dict, dict] | None = None) -> dict[str, Any]:
    conversation, channel_data = where or personal(member)
    activity = _base("installationUpdate", service_url, member, conversation, channel_data)
    activity["action"] = action
    return activity


def team_general() -> tuple[dict[str, Any], dict[str, Any]]:
    conversation = {"id": TEAM, "conversationType": "channel", "isGroup": True, "tenantId": TENANT}
    return conversation, {"tenant": {"id": TENANT}, "team": {"id": TEAM, "name": "Riverside"}}


def cards(call_body: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["content"] for a in call_body.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"]


def card_text(card: dict[str, Any]) -> str:
    """Every ``text`` and ``title`` in a card, joined: for assertions on what a person sees."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "value"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return "\n".join(found)


def card_actions(card: dict[str, Any]) -> list[str]:
    """Every coach action carried by an ``Action.Execute`` in the card."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append(node["data"]["action"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return found
