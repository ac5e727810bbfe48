"""Uninstalls in the middle of a fan-out: Slack's ``app_uninstalled`` (signed, over HTTP) and Teams'
``installationUpdate`` remove (over HTTP to ``/api/messages``) park what is still pending there
with the reason, nothing more is sent there, nothing is lost for the others, ``roster`` says so,
and installing again sends the parked messages, each once.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import budget_for, slack_transport, teams_transport
from bot.config import DeliverySettings, RateLimit
from bot.delivery.sender import Sender
from bot.messages import Incoming
from bot.settings import Settings
from bot.store import RosterEntry
from bot.store.outbox import NewMessage
from fakes.bot_connector import FakeBotConnector, Member
from fakes.slack_api import FakeSlackApi
from slack_fixtures import ADMIN, SlackServer, seeded_runtime, slack_env, start_server
from teams_fixtures import BOT, TENANT, installation

SLACK_PEOPLE = 40
TEAMS_PEOPLE = 20
PACED = DeliverySettings(slack=RateLimit(per_conversation_per_second=1, per_second=10),
                         teams=RateLimit(per_conversation_per_second=5, per_second=5), max_attempts=3)


def teams_member(i: int) -> Member:
    return Member(f"29:t{i:03d}", f"Dr. Teams {i:03d}", f"aad-t{i:03d}", f"teams{i:03d}@riverside.example", TENANT)


@pytest.fixture
async def world(slack_api: FakeSlackApi, connector: FakeBotConnector, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[SlackServer, FakeBotConnector, Sender]]:
    runtime = await seeded_runtime(tmp_path)
    runtime.config = replace(runtime.config, delivery=PACED)
    slack_env(monkeypatch, slack_api)
    monkeypatch.setenv("ROUNDS_TEAMS_ANONYMOUS", "1")
    store, now = runtime.store, runtime.clock.now()
    roster = [RosterEntry(f"slack{i:03d}@riverside.example", f"Dr. Slack {i:03d}", "Cardiology", "Cardiologist")
              for i in range(SLACK_PEOPLE)]
    roster += [RosterEntry(teams_member(i).email, teams_member(i).name, "Oncology", "Oncologist")
               for i in range(TEAMS_PEOPLE)]
    await store.people.upsert(roster, now)
    messages = []
    for i in range(SLACK_PEOPLE):
        person = await store.people.by_email(f"slack{i:03d}@riverside.example")
        user = f"USLACK{i:03d}"
        await store.people.link_identity("slack", user, person.id, now)
        messages.append(NewMessage(f"lesson:slack:{i}", person.id, "slack", user, "lesson", {}, now))
    for i in range(TEAMS_PEOPLE):
        member = teams_member(i)
        connector.add_member(member)
        person = await store.people.by_email(member.email)
        await store.people.link_identity("teams", member.aad_object_id, person.id, now)
        reference = {"bot": BOT, "user": {"id": member.id, "name": member.name, "aadObjectId": member.aad_object_id},
                     "conversation": {"id": f"a:personal-t{i:03d}", "conversationType": "personal",
                                      "tenantId": TENANT},
                     "channelId": "msteams", "serviceUrl": connector.url}
        await store.conversations.save_ref("teams", member.aad_object_id, json.dumps(reference), person.id, now)
        messages.append(NewMessage(f"lesson:teams:{i}", person.id, "teams", member.aad_object_id, "lesson", {}, now))
    await store.outbox.add(messages, now)
    runner, url = await start_server(runtime)
    settings = Settings.from_env(os.environ)
    slack, teams = slack_transport(settings, runtime), teams_transport(settings, runtime)
    assert slack is not None and teams is not None
    sender = Sender(store, runtime.coach, runtime.clock, {"slack": slack, "teams": teams}, PACED,
                    budget=budget_for(store))
    session = aiohttp.ClientSession()
    try:
        yield SlackServer(url, runtime, slack_api, session), connector, sender
    finally:
        await session.close()
        await teams.close()
        await runner.cleanup()
        await store.close()


def slack_posts(api: FakeSlackApi) -> list[Any]:
    return [c for c in api.calls_to("chat.postMessage") if c.status == 200]


def teams_posts(connector: FakeBotConnector) -> Counter:
    return Counter(c.conversation_id for c in connector.sent())


async def post_teams(server: SlackServer, activity: dict[str, Any]) -> int:
    async with server.session.post(f"{server.url}/api/messages", json=activity) as response:
        return response.status


async def test_an_uninstall_mid_fan_out_parks_that_workspace_and_loses_nothing_elsewhere(
        world: tuple[SlackServer, FakeBotConnector, Sender]) -> None:
    server, connector, sender = world
    store = server.runtime.store
    fan_out = asyncio.create_task(sender.drain_once())
    await server.api.wait_until(lambda: len(slack_posts(server.api)) >= 5, timeout=20)

    # Slack: the workspace uninstalls the app; Teams: one physician removes the app from their chat.
    removed = teams_member(TEAMS_PEOPLE - 1)
    body = server.event_body({"type": "app_uninstalled", "event_ts": "1767225000.1"}, "EvUNINSTALL1")
    status, _ = await server.post(json.dumps(body), "application/json")
    assert status == 200
    uninstalled_at = time.monotonic()
    sent_before = len(slack_posts(server.api))
    removal = installation(connector.url, removed, "remove")
    assert await post_teams(server, removal) == 200
    removed_chat = f"a:personal-t{TEAMS_PEOPLE - 1:03d}"
    assert teams_posts(connector)[removed_chat] == 0  # the fan-out had not reached it yet

    await asyncio.wait_for(fan_out, timeout=60)
    late = [c for c in slack_posts(server.api) if c.at > uninstalled_at + 0.2]
    assert late == []  # at most a send already under way when the uninstall arrived
    assert SLACK_PEOPLE > len(slack_posts(server.api)) >= sent_before
    statuses = Counter(m.status for m in await store.outbox.list(["pending", "sending", "dead", "parked", "sent"],
                                                                 limit=1000))
    slack_sent = len(slack_posts(server.api))
    assert statuses["dead"] == 0 and statuses["pending"] == 0 and statuses["sending"] == 0
    parked = await store.outbox.list(["parked"], limit=1000)
    assert len([m for m in parked if m.platform == "slack"]) == SLACK_PEOPLE - slack_sent
    assert {m.last_error for m in parked if m.platform == "slack"} == {"slack_app_uninstalled:T1"}
    assert [(m.address, m.last_error) for m in parked if m.platform == "teams"] == [
        (removed.aad_object_id, "teams_app_uninstalled")]
    # Nothing lost for the others: every other Teams physician got their message, once.
    delivered = teams_posts(connector)
    others = {f"a:personal-t{i:03d}" for i in range(TEAMS_PEOPLE - 1)}
    assert {c: n for c, n in delivered.items() if c in others} == {c: 1 for c in others}
    assert delivered[removed_chat] == 0

    # roster says so
    [roster] = [r for r in await server.runtime.coach.handle(Incoming("web", ADMIN, text="roster"))]
    assert "Sending to Slack is paused: app uninstalled from Slack workspace T1." in roster.text
    assert f"Slack: app uninstalled from Slack workspace T1 since Tue 12 May 2026; {SLACK_PEOPLE - slack_sent} " \
        "messages waiting." in roster.body
    assert "Teams (one chat or team): the Teams app was uninstalled here since Tue 12 May 2026; 1 message " \
        "waiting." in roster.body

    # Installing again resumes: a request from the workspace, the Teams app added back.
    status, _ = await server.event({"type": "app_home_opened", "user": "USLACK000", "tab": "home",
                                    "channel": "D1"})
    assert status == 200
    assert await post_teams(server, installation(connector.url, removed, "add")) == 200
    await sender.drain_once()
    keys = Counter(m["metadata"]["event_payload"]["dedup_key"] for messages in server.api.history.values()
                   for m in messages)
    assert keys == Counter({f"lesson:slack:{i}": 1 for i in range(SLACK_PEOPLE)})
    assert teams_posts(connector) == Counter({f"a:personal-t{i:03d}": 1 for i in range(TEAMS_PEOPLE)})
    assert await store.outbox.list(["parked", "dead", "pending"]) == []
    assert await store.outbox.parked() == []


async def test_a_revoked_user_token_parks_nothing_and_a_revoked_bot_token_parks_slack(
        world: tuple[SlackServer, FakeBotConnector, Sender]) -> None:
    server, _, _ = world
    store = server.runtime.store
    status, _ = await server.event({"type": "tokens_revoked", "tokens": {"oauth": ["USLACK001"], "bot": []}})
    assert status == 200 and await store.outbox.parked() == []
    status, _ = await server.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}})
    assert status == 200
    [target] = await store.outbox.parked()
    assert (target.platform, target.address, target.messages) == ("slack", "*", SLACK_PEOPLE)
    assert target.reason == "slack_token_revoked:T1"
