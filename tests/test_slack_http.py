"""The Slack side's HTTP and App Home economy, end to end against the fake Slack on 127.0.0.1.

- Every Web API call and ``response_url`` post goes through one shared HTTP session: kept-alive
  connections are reused, and they are closed when the server shuts down.
- The App Home is redrawn after a turn that may have changed it, not after a read-only one.
- A burst of commands larger than the answers started at once is answered completely, and each
  person's answers come in the order of their commands.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import pytest

from bot.app import Runtime
from bot.channels.slack.answers import STARTED_AT_MOST as ANSWERS_STARTED
from bot.channels.slack.app import action_reads_only, reads_only
from fakes.slack_api import FakeSlackApi
from slack_fixtures import JANE, MARIA, OMAR, STRANGER, SlackServer, slack_env, start_server, texts, view_of


async def _answered(server: SlackServer, user: str, text: str) -> None:
    before = len(server.api.calls_to("response_url"))
    status, _, _ = await server.command(user, text)
    assert status == 200
    await server.api.wait_until(lambda: len(server.api.calls_to("response_url")) > before)


async def _quiet(server: SlackServer, seconds: float = 0.3) -> None:
    """Long enough for a Home publish that would follow an answer to arrive."""
    await asyncio.sleep(seconds)


async def test_calls_reuse_one_session_whose_connections_close_at_shutdown(
        slack_api: FakeSlackApi, slack_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    slack_env(monkeypatch, slack_api)
    runner, url = await start_server(slack_runtime)
    try:
        async with aiohttp.ClientSession() as session:
            server = SlackServer(url, slack_runtime, slack_api, session)
            for text in ("status", "follow", "status", "help"):
                await _answered(server, JANE, text)
            await _quiet(server)
        calls = slack_api.calls
        assert {c.method for c in calls} >= {"users.info", "response_url", "views.publish"}
        per_connection = Counter(c.connection for c in calls)
        assert 0 not in per_connection
        assert len(per_connection) < len(calls), "a new connection for every call"
        assert max(per_connection.values()) >= 4, "Web API calls and response_url posts share kept-alive connections"
        assert slack_api.open_connections() >= 1, "kept alive between calls"
    finally:
        await runner.cleanup()
    deadline = time.monotonic() + 5
    while slack_api.open_connections() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert slack_api.open_connections() == 0, "the server closes its Slack connections when it stops"


async def test_a_read_only_command_leaves_the_home_as_it_is(slack: SlackServer) -> None:
    await _answered(slack, JANE, "status")
    [first] = await slack.api.wait_for("views.publish")
    assert first.args["user_id"] == JANE, "the first turn links Jane to the roster: her Home changes"
    for text in ("status", "help", "follow", "check Great talk at #HS26 today", "bogus words"):
        await _answered(slack, JANE, text)
    await _quiet(slack)
    assert len(slack.api.calls_to("views.publish")) == 1, "nothing changed, nothing to redraw"


async def test_a_change_redraws_the_home(slack: SlackServer) -> None:
    await _answered(slack, JANE, "status")
    await slack.api.wait_for("views.publish")
    await _answered(slack, JANE, "follow done")
    homes = await slack.api.wait_for("views.publish", 2)
    assert homes[-1].args["user_id"] == JANE and view_of(homes[-1])["type"] == "home"
    assert texts(view_of(homes[0])["blocks"]) != texts(view_of(homes[-1])["blocks"]), "the Home shows the change"


async def test_a_new_slack_time_zone_redraws_the_home(slack: SlackServer) -> None:
    await _answered(slack, JANE, "status")
    await slack.api.wait_for("views.publish")
    person = await slack.runtime.store.people.by_identity("slack", JANE)
    assert person is not None and person.timezone == "America/Chicago"
    await slack.runtime.store.preferences.set_timezone(person.id, "Europe/Lisbon", slack.runtime.clock.now())
    await _answered(slack, JANE, "status")
    await slack.api.wait_for("views.publish", 2)
    person = await slack.runtime.store.people.by_identity("slack", JANE)
    assert person is not None and person.timezone == "America/Chicago", "Slack's time zone is stored again"


async def test_a_burst_is_answered_completely_and_in_order_per_person(slack: SlackServer) -> None:
    async def flood() -> list[str]:  # more commands at once than answers are started at once
        acks = await asyncio.gather(*(slack.command(STRANGER, "help") for _ in range(ANSWERS_STARTED + 16)))
        assert all(status == 200 for status, _, _ in acks)
        return [name for _, _, name in acks]

    async def one_by_one(person: str) -> list[str]:
        names = []
        for i in range(8):
            status, _, name = await slack.command(person, "status" if i % 2 else "help")
            assert status == 200
            names.append(name)
        return names

    flooded, *streams = await asyncio.gather(flood(), *(one_by_one(p) for p in (JANE, MARIA, OMAR)))
    expected = len(flooded) + sum(map(len, streams))
    answers = await slack.api.wait_for("response_url", expected, timeout=60)
    assert sorted(a.path for a in answers) == sorted(flooded + [n for names in streams for n in names])
    order = [a.path for a in answers]
    for names in streams:
        assert [n for n in order if n in names] == names, "a person's answers came out of order"


@pytest.mark.parametrize(("text", "only_shows"), [
    ("status", True), ("/rounds status", True), ("help snooze", True), ("check my draft", True),
    ("lesson", True), ("quiz", True), ("report Cardiology", True), ("digest", True), ("not a command", True),
    ("follow", True), ("meetings", True), ("settings", True), ("profile", True),
    ("follow done", False), ("meetings join ASCO", False), ("join ASCO", False), ("settings quiet 21:00-07:00", False),
    ("profile @DrJaneRivera", False), ("@DrJaneRivera", False), ("snooze 1w", False), ("stop", False),
    ("start", False), ("video done", False),
])
def test_which_typed_commands_only_show(text: str, only_shows: bool) -> None:
    assert reads_only(text) is only_shows


@pytest.mark.parametrize(("action", "only_shows"), [
    ("cmd:status", True), ("cmd:report Cardiology", True), ("cmd:follow done", False),
    ("quiz:why-show-up:2", False), ("profile:photo", False), ("follow:done", False), ("meeting:join:1", False),
])
def test_which_buttons_only_show(action: str, only_shows: bool) -> None:
    assert action_reads_only(action) is only_shows
