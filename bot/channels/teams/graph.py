"""Microsoft Graph, app-only: find a user by email, install the Teams app for them, read the chat id.

Plain aiohttp (no Graph SDK). The token comes from the Microsoft identity platform's client
credentials flow (``MICROSOFT_LOGIN_URL``, tenant ``MICROSOFT_APP_TENANT_ID``, the bot's app id
and password) and is kept until shortly before it expires. Every call has a timeout; a 429 pauses
the tenant's Graph budget for its ``Retry-After`` (every caller of the budget waits, not only this
one), 5xx answers and network faults are retried with exponential back-off, and a call that keeps
failing raises :class:`GraphUnavailable`. Logs carry user ids and status codes only.

The calls are those Company Communicator makes to reach every user of a tenant:
``POST /users/{id}/teamwork/installedApps`` with the catalog app bound, then
``GET /users/{id}/teamwork/installedApps?$expand=teamsApp&$filter=teamsApp/id eq '{app}'`` and
``GET …/installedApps/{installation}/chat`` for the chat id the bot can message.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

import aiohttp

from bot.core import reasons
from bot.delivery.budget import Budget, LocalBudget, Rate
from bot.delivery.transport import retry_after_seconds
from bot.outbound import OutboundSession
from bot.settings import GraphSettings

log = logging.getLogger(__package__)

DEFAULT_SERVICE_URL = "https://smba.trafficmanager.net/teams/"
TIMEOUT_SECONDS = 15.0
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
TOKEN_MARGIN_SECONDS = 300
RETRYABLE = frozenset({500, 502, 503, 504})

# Why a physician cannot be reached: stored codes (bot/core/reasons.py), said in `roster`
NO_TEAMS_USER = reasons.NO_TEAMS_USER
BLOCKED = reasons.TEAMS_BLOCKED


class GraphError(Exception):
    """Graph answered something that retrying will not change; ``reason`` is stored (a code of
    :mod:`bot.core.reasons`, or the status and Graph's error code)."""

    def __init__(self, reason: str, status: int = 0, code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code


class GraphDenied(GraphError):
    """403: a permission the app registration lacks (the whole run stops), or a policy (this user)."""

    @property
    def permission_missing(self) -> bool:
        return self.reason.startswith(f"{reasons.GRAPH_PERMISSION_MISSING}:")


class GraphCredentialsRejected(GraphError):
    """The token authority refused the app id, password or tenant: nothing works until fixed."""


class GraphUnavailable(Exception):
    """Throttled, 5xx or unreachable after every retry: try again on a later run."""


# -- rate budget -------------------------------------------------------------------------------------------
GRAPH_RATE = Rate(per_second=10.0, burst=10.0)
"""Requests a second to Graph per tenant (key ``graph:<tenant>``); Microsoft's Teams service limits
for Graph are far higher (https://learn.microsoft.com/graph/throttling-limits), this keeps us polite.
The budget is shared by every instance on PostgreSQL (:mod:`bot.delivery.budget`)."""
LOGIN_RATE = Rate(per_second=1.0, burst=5.0)
"""Token requests (one an hour normally; more only when Graph rejects a token)."""


# -- the client --------------------------------------------------------------------------------------------
class GraphResponse(NamedTuple):
    status: int
    body: dict[str, Any]


class GraphClient:
    """Graph calls for one tenant, on a shared aiohttp session (or its own when none is given), under a
    rate budget (:func:`bot.app.budget_for` the store: shared by all instances on PostgreSQL)."""

    def __init__(self, settings: GraphSettings, *, session: Callable[[], aiohttp.ClientSession | None] | None = None,
                 budget: Budget | None = None, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.budget: Budget = budget or LocalBudget()
        self.key = f"graph:{settings.tenant_id}"
        """The tenant's Graph budget (Graph throttles per app and tenant)."""
        self.login_key = f"login:{settings.tenant_id}"
        self._sleep = sleep
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = OutboundSession(session, self._timeout)
        self._token: tuple[str, float] | None = None
        host = urlsplit(settings.graph_url)
        self.scope = f"{host.scheme}://{host.netloc}/.default"
        self.calls = 0
        """Requests sent (tokens included): for the run summary."""

    async def close(self) -> None:
        await self._session.close()

    # -- token -------------------------------------------------------------------------------------------
    async def _access_token(self, refresh: bool = False) -> str:
        if self._token and not refresh and self._token[1] > time.monotonic():
            return self._token[0]
        url = f"{self.settings.login_url}{quote(self.settings.tenant_id, safe='')}/oauth2/v2.0/token"
        form = {"client_id": self.settings.app_id, "client_secret": self.settings.app_password,
                "scope": self.scope, "grant_type": "client_credentials"}
        response = await self._send("POST", url, data=form, what="token", key=self.login_key, rate=LOGIN_RATE)
        if response.status != 200 or not response.body.get("access_token"):
            code = str(response.body.get("error") or response.status)
            raise GraphCredentialsRejected(f"Microsoft sign-in refused the app's credentials ({code}); check "
                                           "MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD and MICROSOFT_APP_TENANT_ID",
                                           response.status, code)
        lifetime = float(response.body.get("expires_in") or 3599)
        self._token = (str(response.body["access_token"]),
                       time.monotonic() + max(30.0, lifetime - TOKEN_MARGIN_SECONDS))
        return self._token[0]

    # -- one call, retried ---------------------------------------------------------------------------------
    async def call(self, method: str, path: str, *, params: dict[str, str] | None = None,
                   body: dict[str, Any] | None = None) -> GraphResponse:
        """One Graph call with the app's token; retries 429/5xx/network faults; returns other answers."""
        url = self.settings.graph_url + path
        token = await self._access_token()
        response = await self._send(method, url, token=token, params=params, json=body, what=path.split("/", 1)[0])
        if response.status == 401:  # the token was revoked or expired early: one fresh token
            token = await self._access_token(refresh=True)
            response = await self._send(method, url, token=token, params=params, json=body, what=path.split("/", 1)[0])
        return response

    async def _send(self, method: str, url: str, *, what: str, token: str | None = None, key: str = "",
                    rate: Rate = GRAPH_RATE, **kwargs: Any) -> GraphResponse:
        key = key or self.key
        last = ""
        for attempt in range(MAX_ATTEMPTS):
            wait = await self.budget.acquire(key, rate)
            if wait > 0:
                await self._sleep(wait)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            self.calls += 1
            try:
                async with self._session().request(method, url, headers=headers, timeout=self._timeout,
                                                   **kwargs) as raw:
                    status = raw.status
                    retry_after = retry_after_seconds(raw.headers.get("Retry-After"))
                    try:
                        payload = await raw.json(content_type=None) if raw.content_length != 0 else {}
                    except ValueError:
                        payload = {}
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                last = f"network error ({type(exc).__name__})"
                log.info("graph %s %s attempt=%d %s", method, what, attempt + 1, last)
                await self._sleep(_backoff(attempt))
                continue
            body = payload if isinstance(payload, dict) else {}
            if status == 429:
                last = "429 throttled"
                seconds = retry_after if retry_after is not None else _backoff(attempt)
                log.info("graph %s %s throttled retry_after=%.1fs", method, what, seconds)
                await self.budget.pause(key, seconds)
                continue
            if status in RETRYABLE:
                last = f"{status} from Graph"
                log.info("graph %s %s status=%d attempt=%d", method, what, status, attempt + 1)
                await self._sleep(retry_after if retry_after is not None else _backoff(attempt))
                continue
            return GraphResponse(status, body)
        raise GraphUnavailable(f"Graph unavailable after {MAX_ATTEMPTS} attempts ({last})")

    # -- what the installer needs ----------------------------------------------------------------------------
    async def find_user(self, email: str) -> str | None:
        """The Entra object id of the user with this UPN or email, or None."""
        response = await self.call("GET", f"users/{quote(email, safe='@')}", params={"$select": "id"})
        if response.status == 200 and response.body.get("id"):
            return str(response.body["id"])
        if response.status not in (400, 404):
            raise _failure(response, "User.Read.All")
        literal = email.replace("'", "''")
        response = await self.call("GET", "users", params={"$filter": f"mail eq '{literal}'", "$select": "id"})
        if response.status != 200:
            raise _failure(response, "User.Read.All")
        found = response.body.get("value") or []
        return str(found[0]["id"]) if found and isinstance(found[0], dict) and found[0].get("id") else None

    async def catalog_app_id(self, external_id: str) -> str | None:
        """The catalog id of the app whose manifest id is ``external_id`` (needs AppCatalog.Read.All)."""
        literal = external_id.replace("'", "''")
        response = await self.call("GET", "appCatalogs/teamsApps",
                                   params={"$filter": f"externalId eq '{literal}'", "$select": "id,externalId"})
        if response.status != 200:
            raise _failure(response, "AppCatalog.Read.All")
        found = response.body.get("value") or []
        return str(found[0]["id"]) if found and isinstance(found[0], dict) and found[0].get("id") else None

    async def install(self, user_id: str, app_id: str) -> bool:
        """Install the app in the user's personal scope: True when installed now, False when it already was."""
        binding = f"{self.settings.graph_url}appCatalogs/teamsApps/{app_id}"
        response = await self.call("POST", f"users/{quote(user_id, safe='')}/teamwork/installedApps",
                                   body={"teamsApp@odata.bind": binding})
        if response.status in (200, 201, 204):
            return True
        if response.status == 409:
            return False
        raise _failure(response, "TeamsAppInstallation.ReadWriteSelfForUser.All")

    async def installation_chat(self, user_id: str, app_id: str) -> str | None:
        """The id of the personal chat between the user and the installed app, or None if not installed."""
        user = quote(user_id, safe="")
        literal = app_id.replace("'", "''")
        response = await self.call("GET", f"users/{user}/teamwork/installedApps",
                                   params={"$expand": "teamsApp", "$filter": f"teamsApp/id eq '{literal}'"})
        if response.status != 200:
            raise _failure(response, "TeamsAppInstallation.ReadWriteSelfForUser.All")
        installations = [i for i in response.body.get("value") or [] if isinstance(i, dict) and i.get("id")]
        if not installations:
            return None
        installation = quote(str(installations[0]["id"]), safe="")
        response = await self.call("GET", f"users/{user}/teamwork/installedApps/{installation}/chat")
        if response.status == 404:
            return None
        if response.status != 200:
            raise _failure(response, "TeamsAppInstallation.ReadWriteSelfForUser.All")
        chat = response.body.get("id")
        return str(chat) if chat else None


def _failure(response: GraphResponse, permission: str) -> GraphError:
    """A Graph error answer as an exception whose reason a marketing manager can act on."""
    found = response.body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    code = str(error.get("code") or "")
    message = str(error.get("message") or "").lower()
    if response.status == 403:
        if "polic" in message or "blocked" in message:
            return GraphDenied(BLOCKED, 403, code)
        return GraphDenied(reasons.coded(reasons.GRAPH_PERMISSION_MISSING, permission), 403, code)
    if response.status == 401:
        return GraphCredentialsRejected("Graph refused the app's token (401)", 401, code)
    if response.status == 404:
        return GraphError(NO_TEAMS_USER, 404, code)
    return GraphError(reasons.coded(reasons.GRAPH_ERROR, f"{response.status}:{code}" if code else response.status),
                      response.status, code)


def _backoff(attempt: int) -> float:
    return min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2 ** attempt) * (0.5 + random.random() / 2)


