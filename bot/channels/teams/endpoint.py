"""``POST /api/messages``: checks, authenticates and runs each Teams activity within Teams' deadline."""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter

from bot.channels.http_guard import Rejected, json_object, log_rejected, read_body, utf8
from bot.channels.teams.activities import activity_of, conversation_id
from bot.channels.teams.handler import TeamsBot, TurnErrorHandler, turn_error_handler
from bot.settings import TeamsSettings

log = logging.getLogger(__package__)
"""Every module of the Teams channel logs under ``bot.channels.teams``."""

ROUTE = "/api/messages"
MAX_BODY_BYTES = 256 * 1024
TURN_DEADLINE_SECONDS = 12
"""An activity is answered within this, whatever its outbound calls do (Teams waits about 15 s)."""


class TeamsEndpoint:
    """``POST /api/messages``: authenticate, run the turn, answer with the invoke response ourselves.

    ``CloudAdapter.process`` answers 500 to invokes whose response has a body, so this handler
    calls ``process_activity`` and writes the status and body itself. A turn that fails is logged
    and apologised for here (not by the adapter's ``on_turn_error``: the adapter is shared with the
    proactive sends, whose failures the sender must see).
    """

    def __init__(self, adapter: CloudAdapter, bot: TeamsBot, on_error: TurnErrorHandler) -> None:
        self.adapter = adapter
        self.bot = bot
        self.on_error = on_error

    async def _turn(self, turn_context: TurnContext) -> None:
        try:
            await self.bot.on_turn(turn_context)
        except Exception as error:
            await self.on_error(turn_context, error)

    async def handle(self, request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "send the activity as application/json"}, status=415)
        try:
            activity = activity_of(json_object(utf8(await read_body(request, MAX_BODY_BYTES))))
        except Rejected as rejected:
            log_rejected("teams", request, rejected)
            return rejected.response()
        auth_header = request.headers.get("Authorization", "")
        try:
            authenticated = await self.adapter.bot_framework_authentication.authenticate_request(activity, auth_header)
        except Exception as exc:  # PermissionError, malformed or foreign JWT: all mean "not authenticated"
            log.warning("teams request rejected type=%s channel=%s reason=%s", activity.type, activity.channel_id,
                        type(exc).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            async with asyncio.timeout(TURN_DEADLINE_SECONDS):  # (wait_for would run the turn as one more task)
                invoke_response = await self.adapter.process_activity(authenticated, activity, self._turn)
        except TimeoutError:  # the Bot Connector did not answer in time; answered so Teams does not resend
            log.warning("teams turn timed out type=%s conversation=%s after=%ss", activity.type,
                        conversation_id(activity), TURN_DEADLINE_SECONDS)
            return web.Response(status=200)
        except Exception as exc:  # a failure after authentication; the turn's error handler has logged it
            log.error("teams activity failed type=%s conversation=%s error=%s", activity.type,
                      conversation_id(activity), type(exc).__name__)
            return web.json_response({"error": "internal error"}, status=500)
        if invoke_response is None:
            return web.Response(status=200)
        if invoke_response.body is None:
            return web.Response(status=invoke_response.status)
        return web.json_response(invoke_response.body, status=invoke_response.status)


def mount_teams(app: web.Application, settings: TeamsSettings | None, adapter: CloudAdapter | None,
                bot: TeamsBot | None, apology: str) -> str | None:
    """Mount ``POST /api/messages`` when Teams is configured; a one-line description, or None.

    ``adapter``: the process's one ``CloudAdapter`` (the composition root closes it); ``apology``:
    what a person is told when their turn failed on our side."""
    if settings is None or adapter is None or bot is None:
        log.debug("Teams: not mounted (MICROSOFT_APP_ID is not set; ROUNDS_TEAMS_ANONYMOUS=1 mounts it "
                  "without authentication for local testing)")
        return None
    app.router.add_post(ROUTE, TeamsEndpoint(adapter, bot, turn_error_handler(apology)).handle)
    if settings.anonymous:
        log.warning("!!! Teams: %s is mounted WITHOUT AUTHENTICATION (ROUNDS_TEAMS_ANONYMOUS=1). Anyone who can "
                    "reach this port can act as any user. Use it only for local testing. !!!", ROUTE)
        return f"Teams: {ROUTE} without authentication (ROUNDS_TEAMS_ANONYMOUS=1, local testing only)"
    return f"Teams: {ROUTE} for app {settings.app_id} ({settings.app_type})"
