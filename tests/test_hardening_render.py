"""A link someone typed is echoed back as text, never as a live link, on Slack, Teams and the local chat."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.app import create_app
from bot.messages import inert
from bot.settings import Settings
from fakes.bot_connector import FakeBotConnector
from fakes.slack_api import FakeSlackApi
from slack_fixtures import (
    JANE as SLACK_JANE,
    MARIA as SLACK_MARIA,
    SlackServer,
    seeded_runtime as slack_runtime_for,
    slack_env,
    start_server as start_slack,
)
from teams_fixtures import JANE, Server, card_text, cards, message

EVIL = "[Click](https://evil.example/x)"
LIVE_MARKDOWN = re.compile(r"\]\(https://evil")
LIVE_SLACK = re.compile(r"<https://evil[^>]*\|")


def test_inert_keeps_the_text_and_breaks_the_link() -> None:
    assert inert(EVIL).replace("\u200b", "") == EVIL
    assert not LIVE_MARKDOWN.search(inert(EVIL)) and "]\u200b:" in inert("[a]: https://evil.example")


async def test_slack_replies_show_a_typed_link_as_text(
        tmp_path: Path, slack_api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch) -> None:
    slack_env(monkeypatch, slack_api)
    runtime = await slack_runtime_for(tmp_path)
    runner, url = await start_slack(runtime)
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackServer(url, runtime, slack_api, session)
            await slack.command(SLACK_JANE, f"meetings join {EVIL}")
            await slack.command(SLACK_MARIA, f"meetings add asco 2026-12-01 name={EVIL}")
            await slack.command(SLACK_MARIA, "meetings")
            answers = await slack_api.wait_for("response_url", 3)
        sent = json.dumps([a.args for a in answers], ensure_ascii=False)
        assert "Click" in sent and "evil.example" in sent
        assert not LIVE_SLACK.search(sent), sent
    finally:
        await runner.cleanup()
        await runtime.store.close()


async def test_teams_cards_show_a_typed_link_as_text(server: Server, connector: FakeBotConnector) -> None:
    response = await server.post(message(connector.url, JANE, f"meetings join {EVIL}"))
    assert response.status == 200
    texts = [card_text(card) for call in connector.sent() for card in cards(call.body)]
    shown = " ".join(texts) + " ".join(str(call.body.get("text")) for call in connector.sent())
    assert "Click" in shown and "evil.example" in shown
    assert not LIVE_MARKDOWN.search(shown), shown


async def test_the_local_chat_shows_a_typed_link_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "MICROSOFT_APP_ID", "ROUNDS_TEAMS_ANONYMOUS"):
        monkeypatch.delenv(key, raising=False)
    runtime = await slack_runtime_for(tmp_path)
    runner = web.AppRunner(create_app(Settings.from_env(os.environ), runtime, webchat=True, background=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as session, session.post(f"{url}/chat/api/message", json={
                "persona": "jane.rivera@riverside.example", "text": f"meetings join {EVIL}"}) as response:
            assert response.status == 200
            shown = json.dumps(await response.json(), ensure_ascii=False)
        assert "Click" in shown and "evil.example" in shown
        assert not LIVE_MARKDOWN.search(shown), shown
    finally:
        await runner.cleanup()
        await runtime.store.close()
