"""A turn's calls to the Bot Connector REST API, on the server's shared HTTP session.

``TurnContext.send_activity`` answers through botframework-connector's msrest client: it deep-copies
the activity, serialises it (and the Adaptive Card inside) with msrest's model walker, sends it
with ``requests`` in the default thread pool, and deserialises the answer into a model. Under
Teams load that was most of a turn's CPU. A turn's replies are plain Bot Framework JSON already
(:func:`~bot.channels.teams.render.message_payload`), so they are posted as such:

- ``POST {serviceUrl}/v3/conversations/{conversation}/activities/{replyToId}`` (or
  ``…/activities`` when the incoming activity has no id), the addressing ``TurnContext`` applies
  (from the bot, to the sender, in the activity's conversation, channel and locale);
- ``GET {serviceUrl}/v3/conversations/{conversation}/members/{member}`` for the sender's email
  (as ``TeamsInfo.get_member`` asks);
- with the bot's bearer token from the turn's Bot Connector credentials (botbuilder's
  ``MicrosoftAppCredentials``: its MSAL cache; no token without an app id), kept here for
  :data:`TOKEN_REUSE_SECONDS` and fetched off the event loop;
- each call with a timeout of :data:`CONNECTOR_TIMEOUT_SECONDS`.

A refusal raises :class:`ConnectorRefused` naming the status only (the turn's error handler logs
it by type and apologises). A 429 or 503 whose ``Retry-After`` is at most
:data:`MAX_RETRY_AFTER_SECONDS`, and a connection that could not be opened, are tried once more.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
from botbuilder.core import TurnContext
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticationConstants

from bot.channels.teams.activities import model_json
from bot.channels.teams.adapter import CONNECTOR_TIMEOUT_SECONDS
from bot.delivery.transport import retry_after_seconds

TOKEN_REUSE_SECONDS = 240.0
"""How long a bearer token from the credentials is reused. MSAL hands out a cached token only while
it has more than five minutes left, so one kept for four minutes is never sent expired."""
MAX_RETRY_AFTER_SECONDS = 2.0
"""A throttled reply is tried once more when the Bot Connector asks to wait at most this long
(the turn has about 12 seconds in all)."""
RETRIED_STATUSES = frozenset({429, 503})


class ConnectorRefused(Exception):
    """The Bot Connector answered a turn's call with an error status (no body is kept)."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"{status} from the Bot Connector")
        self.status = status
        self.retry_after = retry_after


def addressed_reply(incoming: Activity, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` (a message activity's JSON) addressed as a reply to ``incoming``: what
    ``TurnContext.apply_conversation_reference`` sets, without a model round trip."""
    reply = dict(payload)
    reply.update({"channelId": incoming.channel_id, "serviceUrl": incoming.service_url,
                  "conversation": model_json(incoming.conversation), "from": model_json(incoming.recipient),
                  "recipient": model_json(incoming.from_property)})
    if incoming.locale and not reply.get("locale"):
        reply["locale"] = incoming.locale
    if incoming.id:
        reply["replyToId"] = incoming.id
    return {key: value for key, value in reply.items() if value is not None}


def conversation_url(incoming: Activity, *parts: str) -> str:
    """``{serviceUrl}/v3/conversations/{conversation}/…`` with every path part quoted, as msrest does."""
    path = "/".join(quote(part, safe="") for part in (incoming.conversation.id, *parts))
    return f"{incoming.service_url.rstrip('/')}/v3/conversations/{path}"


class TurnConnector:
    """Replies and member lookups of the turn being handled; ``session``: the server's shared one."""

    def __init__(self, session: Callable[[], aiohttp.ClientSession]) -> None:
        self._session = session
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._timeout = aiohttp.ClientTimeout(total=CONNECTOR_TIMEOUT_SECONDS)

    async def reply(self, turn_context: TurnContext, payload: dict[str, Any]) -> str | None:
        """Send ``payload`` as a reply to the turn's activity; the id the Bot Connector gave it."""
        incoming = turn_context.activity
        parts = ("activities", incoming.id) if incoming.id else ("activities",)
        answer = await self._call(turn_context, "POST", conversation_url(incoming, *parts),
                                  addressed_reply(incoming, payload))
        turn_context.responded = True
        found = answer.get("id") if isinstance(answer, dict) else None
        return found if isinstance(found, str) else None

    async def member(self, turn_context: TurnContext, member_id: str) -> dict[str, Any]:
        """The conversation member ``member_id`` as the Bot Connector describes them (Teams: email, UPN)."""
        answer = await self._call(turn_context, "GET", conversation_url(turn_context.activity, "members", member_id))
        return answer if isinstance(answer, dict) else {}

    async def _call(self, turn_context: TurnContext, method: str, url: str, body: dict[str, Any] | None = None
                    ) -> Any:
        headers = await self._authorization(turn_context)
        for attempt in (1, 2):
            try:
                async with self._session().request(method, url, json=body, headers=headers,
                                                   timeout=self._timeout) as response:
                    if response.status < 300:
                        if response.content_type == "application/json":
                            return await response.json()
                        await response.read()
                        return None
                    await response.read()
                    status, wait = response.status, retry_after_seconds(response.headers.get("Retry-After"))
            except aiohttp.ClientConnectorError:  # nothing was sent: safe to try again
                if attempt == 2:
                    raise
                continue
            if status == 401:
                self._tokens.clear()  # fetched afresh on the next call
            if attempt == 1 and status in RETRIED_STATUSES and wait is not None and wait <= MAX_RETRY_AFTER_SECONDS:
                await asyncio.sleep(wait)
                continue
            raise ConnectorRefused(status, wait)
        raise AssertionError("two attempts at most")

    async def _authorization(self, turn_context: TurnContext) -> dict[str, str]:
        """The bot's bearer token for the turn's Bot Connector (none when authentication is off)."""
        connector = turn_context.turn_state.get(turn_context.adapter.BOT_CONNECTOR_CLIENT_KEY)
        credentials = getattr(getattr(connector, "config", None), "credentials", None)
        app_id = getattr(credentials, "microsoft_app_id", None)
        if credentials is None or not app_id or app_id == AuthenticationConstants.ANONYMOUS_SKILL_APP_ID:
            return {}
        key = (app_id, str(getattr(credentials, "oauth_scope", "")))
        kept = self._tokens.get(key)
        now = time.monotonic()
        if kept is None or kept[1] <= now:
            # MSAL's cache answers at once; a renewal asks Azure AD over blocking HTTP, so off the loop
            token = await asyncio.get_running_loop().run_in_executor(None, credentials.get_access_token)
            kept = self._tokens[key] = (f"Bearer {token}", now + TOKEN_REUSE_SECONDS)
        return {"Authorization": kept[0]}
