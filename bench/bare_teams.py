"""Baselines for the Teams measurement: the BotBuilder echo bot (the SDK's own sample, minimal).

A ``CloudAdapter`` without an app id (authentication off, as the product's
``ROUNDS_TEAMS_ANONYMOUS=1``) and an ``ActivityHandler`` that sends the text back through the
activity's ``serviceUrl`` (the bench's fake Bot Connector).

By default the adapter builds a new Bot Connector client (and HTTP session) for every turn, as
the SDK's sample does. With ``--keep-client`` the echo bot keeps one client per service URL and
audience, and one user-token client, for the whole process, as the product does: the strongest
baseline (the product's ``status`` is compared with this one).
``python -m bench.bare_teams --port P [--keep-client]``.
"""
from __future__ import annotations

import argparse
import logging

from aiohttp import web
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)


class _Config:
    APP_ID = None
    APP_PASSWORD = None
    APP_TENANTID = None
    APP_TYPE = "MultiTenant"


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))


class _KeptFactory(ConnectorFactory):
    def __init__(self, inner: ConnectorFactory, kept: dict[tuple[str, str | None], ConnectorClient]) -> None:
        self._inner = inner
        self._kept = kept

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        client = self._kept.get((service_url, audience))
        if client is None:
            client = self._kept.setdefault((service_url, audience), await self._inner.create(service_url, audience))
        return client


class KeepingAuthentication(ConfigurationBotFrameworkAuthentication):
    """The SDK's authentication, handing out one kept client per service URL and audience."""

    def __init__(self) -> None:
        super().__init__(_Config())
        self._kept: dict[tuple[str, str | None], ConnectorClient] = {}
        self._user_token: UserTokenClient | None = None

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _KeptFactory(result.connector_factory, self._kept)
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _KeptFactory(super().create_connector_factory(claims_identity), self._kept)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        if self._user_token is None:
            self._user_token = await super().create_user_token_client(claims_identity)
        return self._user_token


def create_app(*, keep_client: bool = False) -> web.Application:
    authentication = KeepingAuthentication() if keep_client else ConfigurationBotFrameworkAuthentication(_Config())
    adapter = CloudAdapter(authentication)
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
    parser.add_argument("--keep-client", action="store_true",
                        help="keep one Bot Connector client for the whole process (as the product does)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(create_app(keep_client=args.keep_client), host="127.0.0.1", port=args.port, print=None,
                access_log=None)
