"""Baseline for the Teams measurement: the BotBuilder echo bot (the SDK's own sample, minimal).

A ``CloudAdapter`` without an app id (authentication off, as the product's
``ROUNDS_TEAMS_ANONYMOUS=1``) and an ``ActivityHandler`` that sends the text back through the
activity's ``serviceUrl`` (the bench's fake Bot Connector). ``python -m bench.bare_teams --port P``.
"""
from __future__ import annotations

import argparse
import logging

from aiohttp import web
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication


class _Config:
    APP_ID = None
    APP_PASSWORD = None
    APP_TENANTID = None
    APP_TYPE = "MultiTenant"


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))


def create_app() -> web.Application:
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_Config()))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)
