"""A fake Microsoft Graph and its token authority (Microsoft identity platform) on 127.0.0.1.

Speaks the HTTP shapes Social Rounds uses:

- ``POST /{tenant}/oauth2/v2.0/token`` (client credentials, form-encoded): a bearer token, or
  ``401 invalid_client`` for a wrong id or secret;
- ``GET /v1.0/users/{id | userPrincipalName}`` and ``GET /v1.0/users?$filter=mail eq '…'``;
- ``GET /v1.0/appCatalogs/teamsApps?$filter=externalId eq '…'``;
- ``POST /v1.0/users/{id}/teamwork/installedApps`` with ``teamsApp@odata.bind``: 201, 409 when
  installed, 403 for a missing permission or a blocking policy, 404 for a user without Teams;
- ``GET /v1.0/users/{id}/teamwork/installedApps?$expand=teamsApp&$filter=teamsApp/id eq '…'``;
- ``GET /v1.0/users/{id}/teamwork/installedApps/{installationId}/chat``.

Every request needs the token it issued. ``fail_next`` makes the next matching calls answer 429
(with ``Retry-After``) or 5xx; ``deny`` takes a permission away. Every call is recorded with
its arrival time.
"""
from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web


@dataclass
class GraphUser:
    id: str
    upn: str
    mail: str = ""
    teams: bool = True
    """Licensed for Teams; without it installing answers 404."""
    blocked: bool = False
    """A Teams app permission policy blocks the app for this user (403)."""


@dataclass
class GraphCall:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    at: float


@dataclass
class _Failure:
    status: int
    retry_after: str | None
    path_part: str
    delay: float = 0.0


FILTER = re.compile(r"^(\S+) eq '((?:[^']|'')*)'$")


@dataclass
class FakeGraph:
    tenant: str = "tenant-1"
    client_id: str = "app-id"
    client_secret: str = "app-secret"
    external_id: str = "app-id"
    catalog_id: str = field(default_factory=lambda: f"catalog-{uuid.uuid4().hex[:8]}")
    users: dict[str, GraphUser] = field(default_factory=dict)
    installed: dict[str, str] = field(default_factory=dict)
    """user id → installation id of our app."""
    denied: set[str] = field(default_factory=set)
    """Permissions not granted: "User.Read.All", "TeamsAppInstallation.ReadWriteSelfForUser.All", "AppCatalog.Read.All"."""
    calls: list[GraphCall] = field(default_factory=list)
    tokens_issued: int = 0
    _failures: list[_Failure] = field(default_factory=list)
    _token: str = field(default_factory=lambda: uuid.uuid4().hex)
    _runner: web.AppRunner | None = None
    url: str = ""

    # -- control --------------------------------------------------------------------------------------
    def add_user(self, user: GraphUser) -> GraphUser:
        self.users[user.id] = user
        return user

    def fail_next(self, count: int, status: int, retry_after: str | None = None, path_part: str = "") -> None:
        """The next ``count`` Graph calls whose path contains ``path_part`` answer ``status``."""
        self._failures.extend(_Failure(status, retry_after, path_part) for _ in range(count))

    def delay_next(self, count: int, seconds: float, path_part: str = "") -> None:
        """The next ``count`` matching calls answer only after ``seconds`` (a client timeout test)."""
        self._failures.extend(_Failure(200, None, path_part, seconds) for _ in range(count))

    def deny(self, permission: str) -> None:
        self.denied.add(permission)

    def chat_id(self, user_id: str) -> str:
        return f"19:{user_id}_{self.client_id}@unq.gbl.spaces"

    def posts(self) -> list[GraphCall]:
        return [c for c in self.calls if c.method == "POST" and c.path.endswith("/installedApps")]

    @property
    def graph_url(self) -> str:
        return f"{self.url}v1.0/"

    @property
    def login_url(self) -> str:
        return self.url

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._issue_token)
        app.router.add_route("*", "/v1.0/{path:.*}", self._graph)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- token authority ---------------------------------------------------------------------------------
    async def _issue_token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.calls.append(GraphCall("POST", request.path, {}, None, 0, time.monotonic()))
        if request.match_info["tenant"] != self.tenant:
            return self._record_status(web.json_response({"error": "invalid_request", "error_description":
                                                          "AADSTS90002: Tenant not found."}, status=400))
        if form.get("grant_type") != "client_credentials" or not str(form.get("scope", "")).endswith("/.default"):
            return self._record_status(web.json_response({"error": "invalid_request"}, status=400))
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self._record_status(web.json_response({"error": "invalid_client", "error_description":
                                                          "AADSTS7000215: Invalid client secret provided."},
                                                         status=401))
        self.tokens_issued += 1
        return self._record_status(web.json_response(
            {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": self._token}))

    def _record_status(self, response: web.Response) -> web.Response:
        self.calls[-1].status = response.status
        return response

    # -- Graph -------------------------------------------------------------------------------------------
    async def _graph(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        call = GraphCall(request.method, request.path, dict(request.query), body, 0, time.monotonic())
        self.calls.append(call)
        delay = self._delay(request)
        if delay:
            await asyncio.sleep(delay)
        response = self._answer(request, body)
        call.status = response.status
        return response

    def _delay(self, request: web.Request) -> float:
        for index, failure in enumerate(self._failures):
            if failure.path_part in request.path:
                if failure.delay:
                    del self._failures[index]
                    return failure.delay
                return 0.0
        return 0.0

    def _answer(self, request: web.Request, body: Any) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self._token}":
            return _error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
        for index, failure in enumerate(self._failures):
            if failure.path_part in request.path:
                del self._failures[index]
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                code = "TooManyRequests" if failure.status == 429 else "ServiceNotAvailable"
                return _error(failure.status, code, "fake Graph answered this on purpose", headers)
        parts = [unquote(p) for p in request.match_info["path"].split("/")]
        query = request.query
        if parts == ["users"] and request.method == "GET":
            return self._need("User.Read.All") or self._list_users(query.get("$filter", ""))
        if len(parts) == 2 and parts[0] == "users" and request.method == "GET":
            return self._need("User.Read.All") or self._get_user(parts[1])
        if parts == ["appCatalogs", "teamsApps"] and request.method == "GET":
            return self._need("AppCatalog.Read.All") or self._catalog(query.get("$filter", ""))
        if len(parts) >= 4 and parts[0] == "users" and parts[2:4] == ["teamwork", "installedApps"]:
            denied = self._need("TeamsAppInstallation.ReadWriteSelfForUser.All")
            if denied is not None:
                return denied
            user = self.users.get(parts[1])
            if user is None:
                return _error(404, "NotFound", f"User '{parts[1]}' was not found.")
            if len(parts) == 4 and request.method == "POST":
                return self._install(user, body)
            if len(parts) == 4 and request.method == "GET":
                return self._installations(user, query)
            if len(parts) == 6 and parts[5] == "chat" and request.method == "GET":
                if self.installed.get(user.id) != parts[4]:
                    return _error(404, "NotFound", "Installation not found.")
                return web.json_response({"id": self.chat_id(user.id), "chatType": "oneOnOne",
                                          "tenantId": self.tenant})
        return _error(400, "BadRequest", f"fake Graph does not know {request.method} {request.path}")

    def _need(self, permission: str) -> web.Response | None:
        if permission not in self.denied:
            return None
        if permission == "User.Read.All":
            return _error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        return _error(403, "Forbidden", f"Missing role permissions on the request. API requires one of "
                                        f"'{permission}'. Roles on the request ''.")

    def _get_user(self, key: str) -> web.Response:
        for user in self.users.values():
            if key.lower() in (user.id.lower(), user.upn.lower()):
                return web.json_response({"id": user.id, "userPrincipalName": user.upn, "mail": user.mail or None})
        return _error(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist or one of its queried "
                                                       "reference-property objects are not present.")

    def _list_users(self, expression: str) -> web.Response:
        match = FILTER.match(expression)
        if match is None or match.group(1) != "mail":
            return _error(400, "Request_UnsupportedQuery", "Unsupported query.")
        wanted = match.group(2).replace("''", "'").lower()
        found = [{"id": u.id} for u in self.users.values() if u.mail and u.mail.lower() == wanted]
        return web.json_response({"value": found})

    def _catalog(self, expression: str) -> web.Response:
        match = FILTER.match(expression)
        if match is None or match.group(1) != "externalId":
            return _error(400, "BadRequest", "Unsupported query.")
        apps = [{"id": self.catalog_id, "externalId": self.external_id, "displayName": "Social Rounds",
                 "distributionMethod": "organization"}] if match.group(2) == self.external_id else []
        return web.json_response({"value": apps})

    def _install(self, user: GraphUser, body: Any) -> web.Response:
        binding = body.get("teamsApp@odata.bind", "") if isinstance(body, dict) else ""
        if not binding.endswith(f"/appCatalogs/teamsApps/{self.catalog_id}"):
            return _error(400, "BadRequest", "teamsApp@odata.bind must name an app in the catalog.")
        if not user.teams:
            return _error(404, "NotFound", "The user is not enabled for Microsoft Teams.")
        if user.blocked:
            return _error(403, "Forbidden", "App installation is blocked by the user's app permission policy.")
        if user.id in self.installed:
            return _error(409, "Conflict", "The app is already installed for this user.")
        self.installed[user.id] = f"inst-{uuid.uuid4().hex[:10]}"
        return web.Response(status=201)

    def _installations(self, user: GraphUser, query: Any) -> web.Response:
        match = FILTER.match(query.get("$filter", ""))
        if match is None or match.group(1) != "teamsApp/id" or query.get("$expand") != "teamsApp":
            return _error(400, "BadRequest", "Unsupported query.")
        installation = self.installed.get(user.id)
        value = [{"id": installation, "teamsApp": {"id": self.catalog_id, "externalId": self.external_id,
                                                    "displayName": "Social Rounds"}}] \
            if installation and match.group(2) == self.catalog_id else []
        return web.json_response({"value": value})


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message,
                                        "innerError": {"request-id": uuid.uuid4().hex}}},
                             status=status, headers=headers or {})
