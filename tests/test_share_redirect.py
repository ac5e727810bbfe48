"""``GET /s/<token>`` on ``public_url``: a share button's tap is counted and sent on to the network's
composer; a malformed, forged or unknown token is answered 404, never a server error."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from bot.app import Runtime, create_app
from bot.core.library import Audience, Story
from bot.core.models import NewMessage
from bot.core.share import SHARE_SECRET_SETTING, ShareRef, intent_url, read_token, share_token
from bot.settings import Settings
from slack_fixtures import PHYSICIAN, SLACK_NOW, seeded_runtime

PUBLIC = "https://rounds.example.org"


class Server:
    def __init__(self, runtime: Runtime, url: str, session: aiohttp.ClientSession) -> None:
        self.runtime, self.url, self.session = runtime, url, session

    async def secret(self) -> str:
        return await self.runtime.store.settings.secret(SHARE_SECRET_SETTING)

    async def get(self, path: str, **headers: str) -> aiohttp.ClientResponse:
        async with self.session.get(self.url + path, allow_redirects=False, headers=headers) as response:
            await response.read()
            return response


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    runtime = await seeded_runtime(tmp_path)
    runtime.config = replace(runtime.config, public_url=PUBLIC)
    runtime.coach.kit.config = runtime.config
    runner = web.AppRunner(create_app(Settings(), runtime, webchat=False, background=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    session = aiohttp.ClientSession()
    try:
        yield Server(runtime, f"http://127.0.0.1:{runner.addresses[0][1]}", session)
    finally:
        await session.close()
        await runner.cleanup()
        await runtime.store.close()


async def test_the_share_secret_is_made_once_and_kept(server: Server) -> None:
    first = await server.secret()
    assert len(first) >= 40
    assert await server.secret() == first
    assert await server.runtime.store.settings.get(SHARE_SECRET_SETTING) == first


@pytest.mark.parametrize("path", [
    "/s/", "/s/x", "/s/" + "A" * 44, "/s/" + "a" * 45, "/s/%00%00", "/s/..%2f..%2fetc%2fpasswd",
    "/s/" + "é" * 44, "/s/" + "A" * 43 + "=", "/s/" + "A" * 5000,
])
async def test_a_malformed_token_is_not_found(server: Server, path: str) -> None:
    response = await server.get(path)
    assert response.status == 404
    assert "Location" not in response.headers


async def test_a_forged_token_is_not_found(server: Server) -> None:
    ref = ShareRef(1, "x", 1)
    forged = share_token("not the installation's secret", ref)
    response = await server.get("/s/" + forged)
    assert response.status == 404
    assert response.headers["Cache-Control"] == "no-store"
    real = share_token(await server.secret(), ref)
    for i in range(0, 44, 3):
        changed = real[:i] + ("B" if real[i] != "B" else "C") + real[i + 1:]
        assert (await server.get("/s/" + changed)).status == 404


async def test_a_signed_token_for_an_unknown_story_is_not_found(server: Server) -> None:
    token = share_token(await server.secret(), ShareRef(999_999, "bluesky", 888_888))
    response = await server.get("/s/" + token)
    assert response.status == 404


TEXT = "Heart week 🫀: #CardioTwitter & friends, “quoted” — 心臓"
LINK = "https://news.riverside.example/heart?week=1&lang=en"


async def _offer(runtime: Runtime, *, lifts_at=SLACK_NOW - timedelta(hours=1), kind: str = "story",
                 key: str = "heart-week") -> tuple[Story, int, int]:
    """A saved story and a share suggestion of it in Jane's outbox: (story, message id, Jane's id)."""
    [story] = await runtime.store.library.save([Story(
        key=key, title="Heart week", link=LINK, posts={"x": TEXT, "linkedin": "Proud of the team."},
        audience=Audience(everyone=True), lifts_at=lifts_at, lift_zone="America/New_York")], SLACK_NOW)
    jane = await runtime.store.people.by_email(PHYSICIAN)
    assert jane is not None
    lift = int(lifts_at.timestamp())
    await runtime.store.outbox.add([NewMessage(f"{jane.id}:{kind}:{story.id}:{lift}", jane.id, "slack", "UJANE01",
                                               kind, {"story": story.id}, SLACK_NOW)], SLACK_NOW)
    [message] = [m for m in await runtime.store.outbox.list(["pending"])
                 if m.dedup_key == f"{jane.id}:{kind}:{story.id}:{lift}"]
    return story, message.id, jane.id


async def test_a_tap_is_counted_for_the_recipient_and_opens_the_composer(server: Server) -> None:
    story, message_id, jane = await _offer(server.runtime)
    token = share_token(await server.secret(), ShareRef(story.id, "x", message_id))

    preview = await server.get("/s/" + token, **{"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"})
    assert preview.status == 302
    assert (await server.runtime.store.library.state(story.id, jane)).tapped_at is None, "an unfurler is no tap"

    response = await server.get("/s/" + token)
    assert response.status == 302
    location = response.headers["Location"]
    assert location == intent_url("x", TEXT, LINK)
    assert parse_qs(urlsplit(location).query) == {"text": [TEXT], "url": [LINK]}
    assert (response.headers["Cache-Control"], response.headers["Referrer-Policy"]) == ("no-store", "no-referrer")
    assert (await server.runtime.store.library.state(story.id, jane)).tapped_at == SLACK_NOW
    assert [t.tapped for t in await server.runtime.store.library.tallies([story.id])] == [1]

    again = await server.get("/s/" + share_token(await server.secret(), ShareRef(story.id, "linkedin", message_id)))
    assert again.status == 302
    assert parse_qs(urlsplit(again.headers["Location"]).query) == {"url": [LINK]}
    assert [t.tapped for t in await server.runtime.store.library.tallies([story.id])] == [1], "one physician"


async def test_a_token_for_what_the_message_did_not_offer_is_not_found(server: Server) -> None:
    story, message_id, jane = await _offer(server.runtime)
    other, other_message, _ = await _offer(server.runtime, key="cancer-week")
    _, lesson_message, _ = await _offer(server.runtime, key="lesson-week", kind="lesson")
    embargoed, embargoed_message, _ = await _offer(server.runtime, key="embargoed",
                                                   lifts_at=SLACK_NOW + timedelta(seconds=1))
    secret = await server.secret()
    for ref in (ShareRef(story.id, "bluesky", message_id),  # no Bluesky post
                ShareRef(story.id, "x", other_message),  # another story's message
                ShareRef(other.id, "x", message_id),
                ShareRef(story.id, "x", lesson_message),  # not a share suggestion
                ShareRef(embargoed.id, "x", embargoed_message),  # one second before the lift
                ShareRef(story.id, "x", 2**31), ShareRef(2**63, "x", message_id)):
        assert (await server.get("/s/" + share_token(secret, ref))).status == 404, ref
    assert (await server.runtime.store.library.state(story.id, jane)).tapped_at is None
    assert (await server.runtime.store.library.state(embargoed.id, jane)).tapped_at is None


async def test_without_public_url_there_is_no_share_route(tmp_path: Path) -> None:
    runtime = await seeded_runtime(tmp_path)
    app = create_app(Settings(), runtime, webchat=False, background=False)
    try:
        assert not any(getattr(r.resource, "canonical", "") == "/s/{token}" for r in app.router.routes())
    finally:
        await runtime.store.close()


async def test_a_share_suggestion_carries_counted_one_tap_links(server: Server) -> None:
    """The suggestion as the sender renders it: each network's link is the signed redirect for this
    outbox message; following it counts the tap and opens the composer with the exact text and link."""
    import re
    story, message_id, jane = await _offer(server.runtime)
    reply = await server.runtime.coach.reminder(jane, "story", {"story": story.id})
    assert reply is not None
    links = dict(re.findall(r"\[([^\]]+)\]\((" + re.escape(PUBLIC) + r"/s/[^)]+)\)", reply.body))
    assert len(links) == 2, reply.body  # X and LinkedIn: the story has no Bluesky post
    secret = await server.secret()
    refs = {read_token(secret, url.rsplit("/", 1)[1]) for url in links.values()}
    assert refs == {ShareRef(story.id, "x", message_id), ShareRef(story.id, "linkedin", message_id)}
    x_link = next(url for url in links.values() if read_token(secret, url.rsplit("/", 1)[1]).network == "x")
    response = await server.get(x_link.removeprefix(PUBLIC))
    assert response.status == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"text": [TEXT], "url": [LINK]}
    assert (await server.runtime.store.library.state(story.id, jane)).tapped_at == SLACK_NOW


async def test_without_public_url_the_links_open_the_network_directly(tmp_path: Path) -> None:
    runtime = await seeded_runtime(tmp_path)
    try:
        story, _, jane = await _offer(runtime)
        reply = await runtime.coach.reminder(jane, "story", {"story": story.id})
        assert reply is not None and f"]({intent_url('x', TEXT, LINK)})" in reply.body
    finally:
        await runtime.store.close()
