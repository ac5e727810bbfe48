"""The Bot Framework ``CloudAdapter``, keeping the Bot Connector clients it builds for reuse."""
from __future__ import annotations

import logging

from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)

from bot.settings import TeamsSettings

log = logging.getLogger(__package__)
"""Every module of the Teams channel logs under ``bot.channels.teams``."""

MAX_CONNECTORS = 64
"""Bot Connector clients kept per adapter (one per app id, service URL and audience; Teams uses a few)."""
CONNECTOR_TIMEOUT_SECONDS = 5
"""Each call to the Bot Connector (a reply, a member lookup, a proactive send) gives up after this."""


class _SdkConfiguration:
    """The attribute names ``ConfigurationBotFrameworkAuthentication`` reads."""

    def __init__(self, settings: TeamsSettings) -> None:
        self.APP_ID = settings.app_id or None
        self.APP_PASSWORD = settings.app_password or None
        self.APP_TENANTID = settings.tenant_id or None
        self.APP_TYPE = settings.app_type


class ReusingAuthentication(ConfigurationBotFrameworkAuthentication):
    """botbuilder's authentication, keeping the clients it builds for outbound calls.

    ``CloudAdapter`` asks for a new Bot Connector client and a new user-token client for every
    activity and every proactive send. Building one costs ~6 ms of CPU (msrest's retry policy
    builds its status list with a quadratic scan: 70% of the server's CPU under Teams load) and a
    new HTTP session, so no connection to the Bot Connector is ever reused. A client holds
    nothing of one activity: app id, service URL, audience and credentials (which renew their
    own token). So one is kept per (app id, service URL, audience), as botbuilder's older
    ``BotFrameworkAdapter`` did, and closed at shutdown (:meth:`close`).
    """

    def __init__(self, settings: TeamsSettings) -> None:
        super().__init__(_SdkConfiguration(settings))
        self._connectors: dict[tuple[str | None, str, str | None], ConnectorClient] = {}
        self._user_tokens: dict[str | None, UserTokenClient] = {}

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _ReusingConnectorFactory(self, result.connector_factory,
                                                                _app_id(result.claims_identity))
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _ReusingConnectorFactory(self, super().create_connector_factory(claims_identity),
                                        _app_id(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = _app_id(claims_identity)
        client = self._user_tokens.get(app_id)
        if client is None:
            client = await super().create_user_token_client(claims_identity)
            client = self._user_tokens.setdefault(app_id, client)
        return client

    async def connector(self, factory: ConnectorFactory, app_id: str | None, service_url: str,
                        audience: str | None) -> ConnectorClient:
        key = (app_id, service_url, audience)
        client = self._connectors.get(key)
        if client is None:
            client = await factory.create(service_url, audience)
            client.config.connection.timeout = CONNECTOR_TIMEOUT_SECONDS
            if len(self._connectors) < MAX_CONNECTORS:  # beyond that (never in Teams), one per call as before
                client = self._connectors.setdefault(key, client)
        return client

    async def close(self) -> None:
        connectors, self._connectors = list(self._connectors.values()), {}
        self._user_tokens = {}
        for client in connectors:
            try:
                await client.__aexit__(None, None, None)  # closes its HTTP session
            except Exception as exc:  # closing at shutdown is best effort
                log.warning("teams connector close failed error=%s", type(exc).__name__)


class _ReusingConnectorFactory(ConnectorFactory):
    def __init__(self, owner: ReusingAuthentication, inner: ConnectorFactory, app_id: str | None) -> None:
        self._owner = owner
        self._inner = inner
        self._app_id = app_id

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        return await self._owner.connector(self._inner, self._app_id, service_url, audience)


def _app_id(claims_identity: ClaimsIdentity) -> str | None:
    """The bot's app id in the claims, as botbuilder reads it (audience, else app id claim)."""
    return (claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
            or claims_identity.get_claim_value(AuthenticationConstants.APP_ID_CLAIM))


def build_adapter(settings: TeamsSettings) -> CloudAdapter:
    """A CloudAdapter that validates Teams' JWTs; with no app id, authentication is disabled."""
    return CloudAdapter(ReusingAuthentication(settings))


async def close_adapter(adapter: CloudAdapter) -> None:
    """Close the Bot Connector clients the adapter kept."""
    authentication = adapter.bot_framework_authentication
    if isinstance(authentication, ReusingAuthentication):
        await authentication.close()
