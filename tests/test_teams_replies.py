"""A turn's replies and member lookups, sent by ``TurnConnector`` to the fake Bot Connector on 127.0.0.1:
addressing, the bot's bearer token (reused, fetched again after a 401), and what a refusal does."""
from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationReference
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import AppCredentials

from bot.channels.teams.activities import reference_json
from bot.channels.teams.adapter import build_adapter
from bot.channels.teams.replies import ConnectorRefused, TurnConnector
from bot.settings import TeamsSettings
from fakes.bot_connector import FakeBotConnector
from teams_fixtures import JANE, message

APP_ID = "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11"


class CountingCredentials(AppCredentials):
    """Credentials as botbuilder's extension point defines them: ``get_access_token`` gives the token."""

    def __init__(self) -> None:
        super().__init__(app_id=APP_ID)
        self.fetched = 0

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.fetched += 1
        return f"token-{self.fetched}"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


def turn(connector_url: str, credentials: AppCredentials | None, text: str = "status") -> TurnContext:
    activity = Activity().deserialize(message(connector_url, JANE, text))
    context = TurnContext(build_adapter(TeamsSettings(anonymous=True)), activity)
    if credentials is not None:
        context.turn_state[context.adapter.BOT_CONNECTOR_CLIENT_KEY] = ConnectorClient(credentials, connector_url)
    return context


async def test_a_reply_is_addressed_to_the_turn_and_carries_the_reused_token(
        connector: FakeBotConnector, session: aiohttp.ClientSession) -> None:
    credentials = CountingCredentials()
    sender = TurnConnector(lambda: session)
    first = turn(connector.url, credentials)
    sent_id = await sender.reply(first, {"type": "message", "text": "one"})
    await sender.reply(turn(connector.url, credentials), {"type": "message", "text": "two"})

    assert sent_id == "activity-1" and first.responded
    call = connector.calls[0]
    incoming = first.activity
    assert call.path == f"/v3/conversations/{incoming.conversation.id}/activities/{incoming.id}"
    assert call.body == {"type": "message", "text": "one", "channelId": "msteams", "serviceUrl": connector.url,
                         "conversation": {"id": incoming.conversation.id, "conversationType": "personal"},
                         "from": {"id": incoming.recipient.id, "name": incoming.recipient.name},
                         "recipient": {"id": JANE.id, "name": JANE.name, "aadObjectId": JANE.aad_object_id},
                         "locale": "en-US", "replyToId": incoming.id}
    assert [c.authorization for c in connector.calls] == ["Bearer token-1", "Bearer token-1"]
    assert credentials.fetched == 1, "the token is reused, not asked for on every call"


async def test_without_an_app_id_no_token_is_sent(connector: FakeBotConnector, session: aiohttp.ClientSession) -> None:
    await TurnConnector(lambda: session).reply(turn(connector.url, None), {"type": "message", "text": "hi"})
    assert connector.calls[0].authorization is None


async def test_a_rejected_token_is_fetched_again_on_the_next_call(
        connector: FakeBotConnector, session: aiohttp.ClientSession) -> None:
    credentials = CountingCredentials()
    sender = TurnConnector(lambda: session)
    connector.fail_next(1, 401)
    with pytest.raises(ConnectorRefused) as refused:
        await sender.reply(turn(connector.url, credentials), {"type": "message", "text": "one"})
    assert refused.value.status == 401 and "fake connector" not in str(refused.value), "no body in the error"
    await sender.reply(turn(connector.url, credentials), {"type": "message", "text": "two"})
    assert [c.authorization for c in connector.calls] == ["Bearer token-1", "Bearer token-2"]


async def test_a_short_retry_after_is_waited_out_once(connector: FakeBotConnector,
                                                      session: aiohttp.ClientSession) -> None:
    sender = TurnConnector(lambda: session)
    connector.fail_next(1, 429, "1")
    started = time.monotonic()
    await sender.reply(turn(connector.url, None), {"type": "message", "text": "hi"})
    assert [c.status for c in connector.calls] == [429, 201]
    assert time.monotonic() - started >= 0.95

    connector.clear()
    connector.fail_next(2, 503, "1")
    with pytest.raises(ConnectorRefused) as refused:
        await sender.reply(turn(connector.url, None), {"type": "message", "text": "hi"})
    assert refused.value.status == 503 and [c.status for c in connector.calls] == [503, 503]


async def test_other_refusals_and_long_waits_are_not_retried(connector: FakeBotConnector,
                                                             session: aiohttp.ClientSession) -> None:
    sender = TurnConnector(lambda: session)
    for status, retry_after in ((500, None), (429, "30"), (403, None)):
        connector.clear()
        connector.fail_next(1, status, retry_after)
        with pytest.raises(ConnectorRefused) as refused:
            await sender.reply(turn(connector.url, None), {"type": "message", "text": "hi"})
        assert (refused.value.status, len(connector.calls)) == (status, 1)


async def test_a_member_lookup_reads_the_conversation_member(connector: FakeBotConnector,
                                                             session: aiohttp.ClientSession) -> None:
    context = turn(connector.url, CountingCredentials())
    member = await TurnConnector(lambda: session).member(context, JANE.id)
    assert member["email"] == JANE.email
    assert connector.calls[0].path == f"/v3/conversations/{context.activity.conversation.id}/members/{JANE.id}"
    assert connector.calls[0].authorization == "Bearer token-1"


def test_a_stored_reference_is_what_msrest_writes_and_reads_back_whole() -> None:
    reference = ConversationReference(
        activity_id="1", user=ChannelAccount(id="29:jane", name="Jane", aad_object_id="aad-jane"),
        bot=ChannelAccount(id="28:app", name="Rounds"),
        conversation=ConversationAccount(id="a:1", conversation_type="personal", tenant_id="tenant-1", is_group=False),
        channel_id="msteams", locale="en-US", service_url="https://smba.example/")
    stored = json.loads(reference_json(reference))
    assert stored == reference.serialize()  # tenantID, botbuilder's spelling, among them
    back = ConversationReference().deserialize(stored)
    assert back.conversation.tenant_id == "tenant-1" and back.user.aad_object_id == "aad-jane"
