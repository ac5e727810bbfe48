"""What a Teams turn no longer repeats, end to end against the fake Bot Connector on 127.0.0.1.

- The conversation reference is written when it (or the physician it belongs to) changed, not on
  every message: observed in the database (``updated_at``) and through ``Store.addresses``.
- The Bot Connector client is kept between activities: its connections are reused, and closed
  when the server stops.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import Runtime
from bot.store import RosterEntry
from bot.store.schema import conversation_refs
from fakes.bot_connector import FakeBotConnector, Member
from teams_fixtures import JANE, STRANGER, STRANGER_EMAIL, Server, clear_teams_env, installation, message, start_server


async def _written_at(runtime: Runtime, address: str) -> datetime | None:
    async with runtime.store.engine.connect() as conn:
        return (await conn.execute(select(conversation_refs.c.updated_at).where(
            conversation_refs.c.platform == "teams", conversation_refs.c.address == address))).scalar()


async def test_an_unchanged_reference_is_not_written_again(server: Server, connector: FakeBotConnector) -> None:
    clock = server.runtime.clock
    await server.post(message(connector.url, JANE, "help"))
    first = await _written_at(server.runtime, JANE.aad_object_id)
    assert first is not None

    clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    for text in ("status", "profile"):
        response = await server.post(message(connector.url, JANE, text))
        assert response.status == 200
    assert len(connector.sent()) == 3
    assert await _written_at(server.runtime, JANE.aad_object_id) == first, "same reference, same physician"

    renamed = Member(JANE.id, "Dr. Jane Rivera-Stone", JANE.aad_object_id, JANE.email)
    await server.post(message(connector.url, renamed, "status"))
    assert await _written_at(server.runtime, JANE.aad_object_id) == clock.now(), "a changed reference is written"
    stored = json.loads(await server.runtime.store.conversations.ref("teams", JANE.aad_object_id) or "{}")
    assert stored["user"]["name"] == "Dr. Jane Rivera-Stone"


async def test_a_reference_gets_the_physician_who_joined_the_roster_later(
        server: Server, connector: FakeBotConnector) -> None:
    store, clock = server.runtime.store, server.runtime.clock
    await server.post(message(connector.url, STRANGER, "help"))
    assert await store.conversations.ref("teams", STRANGER.aad_object_id) is not None
    await store.people.upsert([RosterEntry(STRANGER_EMAIL, "Dr. Visiting Doctor", "Cardiology", "Cardiologist")],
                              clock.now())
    person = await store.people.by_email(STRANGER_EMAIL)
    assert person is not None
    assert "teams" not in (await store.conversations.addresses([person.id])).get(person.id, {})

    await server.post(message(connector.url, STRANGER, "help"))  # the same reference as before
    assert (await store.conversations.addresses([person.id]))[person.id]["teams"] == STRANGER.aad_object_id


async def test_an_uninstall_and_reinstall_store_the_reference_again(
        server: Server, connector: FakeBotConnector) -> None:
    store = server.runtime.store
    await server.post(message(connector.url, JANE, "help"))
    await server.post(installation(connector.url, JANE, "remove"))
    assert await store.conversations.ref("teams", JANE.aad_object_id) is None
    await server.post(message(connector.url, JANE, "status"))
    assert await store.conversations.ref("teams", JANE.aad_object_id) is not None, "forgotten, so written again"

    await store.conversations.delete_ref("teams", JANE.aad_object_id)  # e.g. removed through another instance
    await server.post(installation(connector.url, JANE, "add"))
    assert await store.conversations.ref("teams", JANE.aad_object_id) is not None, "an installation always writes"


async def test_the_connector_client_is_kept_and_closed_at_shutdown(
        teams_runtime: Runtime, connector: FakeBotConnector, monkeypatch: pytest.MonkeyPatch) -> None:
    clear_teams_env(monkeypatch)
    monkeypatch.setenv("ROUNDS_TEAMS_ANONYMOUS", "1")
    runner, url = await start_server(teams_runtime)
    try:
        async with aiohttp.ClientSession() as session:
            server = Server(url, teams_runtime, session)
            for text in ("help", "status", "profile", "status"):
                response = await server.post(message(connector.url, JANE, text))
                assert response.status == 200
        assert len(connector.sent()) == 4
        per_connection = Counter(call.connection for call in connector.calls)
        assert 0 not in per_connection
        assert len(per_connection) == 1, f"one kept-alive connection for every activity, got {per_connection}"
        assert connector.open_connections() == 1
    finally:
        await runner.shutdown()
        await runner.cleanup()
    deadline = time.monotonic() + 5
    while connector.open_connections() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert connector.open_connections() == 0, "the server closes its Bot Connector connections when it stops"
