"""A story and its "I shared it" / "Not for me" buttons on Slack and Teams (through their real endpoints)
and on the local chat (its HTTP API); the press is remembered."""
from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.app import Runtime, create_app
from bot.core.library import Audience, Story
from bot.settings import Settings
from platforms import Platform
from slack_fixtures import PHYSICIAN, seeded_runtime as slack_runtime_for


async def lifted_story(runtime: Runtime) -> Story:
    """A story for everyone whose embargo lifted an hour ago."""
    now = runtime.clock.now()
    [story] = await runtime.store.library.save([Story(
        key="heart-clinic", title="Riverside opens a heart failure clinic",
        link="https://riverside.example/news/heart-clinic?from=bot&lang=en",
        posts={"x": "Our new heart failure clinic opens today. #HeartHealth", "linkedin": "Proud of the team."},
        audience=Audience(everyone=True), lifts_at=now - timedelta(hours=1), lift_zone="America/New_York",
        alt_text="The clinic's front desk")], now)
    return story


async def test_a_story_shows_its_posts_and_buttons_and_not_for_me_is_remembered(platform: Platform) -> None:
    story = await lifted_story(platform.runtime)
    [shown] = await platform.say("jane", "library heart-clinic")
    assert "Riverside opens a heart failure clinic" in shown.shown
    assert "Our new heart failure clinic opens today." in shown.shown and "The clinic's front desk" in shown.shown
    assert f"story:shared:{story.id}" in shown.actions and f"story:declined:{story.id}" in shown.actions
    answer = await platform.press("jane", shown, f"story:declined:{story.id}")
    assert "won't suggest it again" in (answer.text + answer.shown)
    jane = await platform.runtime.store.people.by_email(PHYSICIAN)
    assert jane is not None
    assert (await platform.runtime.store.library.state(story.id, jane.id)).declined_at is not None
    [listing] = await platform.say("jane", "library")
    assert "No stories to share right now" in listing.text


async def test_the_local_chat_shows_a_story_with_its_buttons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "MICROSOFT_APP_ID", "ROUNDS_TEAMS_ANONYMOUS"):
        monkeypatch.delenv(key, raising=False)
    runtime = await slack_runtime_for(tmp_path)
    story = await lifted_story(runtime)
    runner = web.AppRunner(create_app(Settings.from_env(os.environ), runtime, webchat=True, background=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/chat/api/message"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json={"persona": PHYSICIAN, "text": "library heart-clinic"}) as response:
                assert response.status == 200
                shown = json.dumps(await response.json(), ensure_ascii=False)
            assert "Riverside opens a heart failure clinic" in shown
            assert f'"story:shared:{story.id}"' in shown and f'"story:declined:{story.id}"' in shown
            async with session.post(url, json={"persona": PHYSICIAN, "action": f"story:shared:{story.id}"}) as response:
                assert response.status == 200
                assert "Thank you for sharing" in json.dumps(await response.json(), ensure_ascii=False)
        jane = await runtime.store.people.by_email(PHYSICIAN)
        assert jane is not None and (await runtime.store.library.state(story.id, jane.id)).shared_at is not None
    finally:
        await runner.cleanup()
        await runtime.store.close()
