"""One driver per platform, so a behaviour both platforms share is one test run on each.

``platform`` (a fixture registered by tests/conftest.py, parametrised ``slack`` and ``teams``) talks
to the real server through the platform's own HTTP endpoint (signed Slack requests to
``/slack/events``, Bot Framework activities to ``/api/messages``) and reads what the bot sent from
that platform's fake (the fake Slack Web API, the fake Bot Connector). A test speaks of people
(``"jane"``, ``"maria"``, ``"stranger"``) and of what they see; what only one platform has stays in
that platform's test module.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from bot.app import Runtime
from bot.store import Person
from corpora import CORPUS, corpus, drained, kind, replay
from fakes.bot_connector import FakeBotConnector
from slack_fixtures import JANE, JANE_DM, MARIA, STRANGER, SlackServer, blocks_of, elements, texts
from teams_fixtures import (
    JANE as TEAMS_JANE,
    MARIA as TEAMS_MARIA,
    STRANGER as TEAMS_STRANGER,
    Server,
    card_actions,
    card_errors,
    card_text,
    cards,
    channel_thread,
    execute_invoke,
    message,
)


@dataclass
class Said:
    """One message the bot sent (or the message a press turned into)."""

    text: str
    """The plain-text notification sent with it."""
    shown: str
    """Everything it shows, for ``in`` assertions (Block Kit as JSON, a card's texts)."""
    actions: list[str]
    """The coach actions its buttons, menus and checkboxes carry."""
    raw: Any
    """The fake's record: a Slack ``Call``, or a Bot Connector call or invoke answer."""


SLACK_USERS = {"jane": JANE, "maria": MARIA, "stranger": STRANGER}
SLACK_DMS = {"jane": JANE_DM, "maria": "DMARIA01", "stranger": "DSTRANGER"}
TEAMS_USERS = {"jane": TEAMS_JANE, "maria": TEAMS_MARIA, "stranger": TEAMS_STRANGER}


@dataclass
class Answer:
    """How the server answered one request of a platform's corpus."""

    what: str
    status: int
    expected: int
    seconds: float


class SlackPlatform:
    name = "slack"
    users = SLACK_USERS
    dms = SLACK_DMS

    def __init__(self, slack: SlackServer) -> None:
        self.slack = slack
        self.runtime: Runtime = slack.runtime

    def _posts(self, who: str) -> list[Any]:
        return [c for c in self.slack.api.calls_to("chat.postMessage")
                if c.status == 200 and c.args.get("channel") == self.dms[who]]

    async def say(self, who: str, text: str) -> list[Said]:
        """A direct message; what the bot posted back in that conversation."""
        before = len(self._posts(who))
        status, _ = await self.slack.dm(self.users[who], text, channel=self.dms[who])
        assert status == 200
        await self.slack.api.wait_until(lambda: len(self._posts(who)) > before)
        return [self._said(call) for call in self._posts(who)[before:]]

    def _said(self, call: Any) -> Said:
        blocks = blocks_of(call)
        actions = [str(option["value"]) for _, element in elements(blocks)
                   for option in [element, *element.get("options", [])] if "value" in option]
        return Said(call.args.get("text", ""), texts(blocks), actions, call)

    async def press(self, who: str, said: Said, action: str) -> Said:
        """Press the element of ``said`` carrying ``action``; the message it is replaced by, in place."""
        call = said.raw
        blocks = blocks_of(call)
        [(block, element)] = [(b, e) for b, e in elements(blocks)
                              if e.get("value") == action or any(o.get("value") == action
                                                                 for o in e.get("options", []))]
        if element["type"] == "checkboxes":
            [option] = [o for o in element["options"] if o["value"] == action]
            element = {**element, "selected_options": [option]}
        channel, ts = call.args["channel"], call.response["ts"]
        container = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
        updates = len(self.slack.api.calls_to("chat.update"))
        status, _ = await self.slack.press(self.users[who], element, block_id=block.get("block_id"),
                                           container=container, message={"ts": ts, "blocks": blocks},
                                           response_url=self.slack.api.response_url("press"))
        assert status == 200
        update = (await self.slack.api.wait_for("chat.update", updates + 1))[updates]
        assert (update.args["channel"], update.args["ts"]) == (channel, ts), "the pressed message is updated"
        return self._said(update)

    async def mention(self, who: str, text: str) -> Said:
        """``@Social Rounds text`` in a channel; the answer only ``who`` sees."""
        before = len(self.slack.api.calls_to("chat.postEphemeral"))
        ts = f"1767225000.{self.slack.next_id():06d}"
        status, _ = await self.slack.event({"type": "app_mention", "user": self.users[who], "text": f"<@UBOT> {text}",
                                            "ts": ts, "channel": "C0GENERAL", "event_ts": ts})
        assert status == 200
        return self._said((await self.slack.api.wait_for("chat.postEphemeral", before + 1))[before])

    def fail_next_reply(self) -> None:
        self.slack.api.fail_next(1, status=500, method="chat.postMessage")

    async def replay_corpus(self) -> list[Answer]:
        """Every payload of the Slack corpus, signed; all expect 200."""
        answers = []
        for number, entry in enumerate(CORPUS):
            status, text, seconds = await replay(self.slack, number, entry["body"])
            answers.append(Answer(f"{kind(entry['body'])} ({entry['origin']}): {text[:80]}", status, 200, seconds))
        await drained(self.slack.channel)
        return answers

    async def person(self, who: str) -> Person | None:
        return await self.runtime.store.people.by_identity("slack", self.users[who])

    def logged_id(self, who: str) -> str:
        """How the logs name ``who``."""
        return self.users[who]


class TeamsPlatform:
    name = "teams"
    users = TEAMS_USERS

    def __init__(self, server: Server, connector: FakeBotConnector) -> None:
        self.server = server
        self.connector = connector
        self.runtime: Runtime = server.runtime

    async def say(self, who: str, text: str) -> list[Said]:
        """A message in the personal chat; what the bot sent back (every card valid)."""
        before = len(self.connector.sent())
        response = await self.server.post(message(self.connector.url, self.users[who], text))
        assert response.status == 200
        return [self._said(call.body, call) for call in self.connector.sent()[before:]]

    @staticmethod
    def _said(activity: dict[str, Any], raw: Any) -> Said:
        found = cards(activity)
        for card in found:
            assert card_errors(card) == []
        return Said(activity.get("text", ""), "\n".join(card_text(card) for card in found),
                    [action for card in found for action in card_actions(card)], raw)

    async def press(self, who: str, said: Said, action: str) -> Said:
        """``Action.Execute`` on a card of ``said``: the card Teams shows in its place (nothing posted)."""
        assert action in said.actions
        before = len(self.connector.sent())
        response = await self.server.post(execute_invoke(self.connector.url, self.users[who], action,
                                                         card_id="activity-1"))
        assert response.status == 200
        answer = await response.json()
        assert answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.card.adaptive"
        assert self.connector.sent()[before:] == [], "the answer replaces the card instead of posting a new message"
        card = answer["value"]
        return self._said({"text": "", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}, answer)

    async def mention(self, who: str, text: str) -> Said:
        """``@Social Rounds text`` in a channel thread; the answer in ``who``'s personal chat.

        ``raw`` is (the activity, the private message, the note left in the thread)."""
        before = len(self.connector.sent())
        activity = message(self.connector.url, self.users[who], f"<at>Social Rounds</at>&nbsp;{text}",
                           where=channel_thread(), mention=True)
        assert (await self.server.post(activity)).status == 200
        private, note = self.connector.sent()[before:]
        assert private.conversation_id == f"a:personal-{self.users[who].id}"
        said = self._said(private.body, (activity, private, note))
        return said

    def fail_next_reply(self) -> None:
        self.connector.fail_next(1, 500)

    async def replay_corpus(self) -> list[Answer]:
        """Every activity of the Teams corpus, with the status each expects."""
        answers = []
        for what, activity, expected in corpus(self.connector.url):
            started = time.monotonic()
            response = await self.server.post(activity)
            answers.append(Answer(what, response.status, expected, time.monotonic() - started))
        return answers

    async def person(self, who: str) -> Person | None:
        return await self.runtime.store.people.by_identity("teams", self.users[who].aad_object_id)

    def logged_id(self, who: str) -> str:
        return self.users[who].aad_object_id


Platform = SlackPlatform | TeamsPlatform


@pytest.fixture(params=["slack", "teams"])
def platform(request: pytest.FixtureRequest) -> Platform:
    """The real server behind one platform's endpoint, with that platform's fake."""
    if request.param == "slack":
        return SlackPlatform(request.getfixturevalue("slack"))
    return TeamsPlatform(request.getfixturevalue("server"), request.getfixturevalue("connector"))

