"""A fake Bot Connector (the Teams side of the Bot Framework REST API) on 127.0.0.1.

Implements what Social Rounds calls: send to a conversation, reply to an activity, update an
activity, get one member (``TeamsInfo.get_member``) and create a conversation. Every call is
recorded; ``fail_next`` makes the next N calls answer with an error status (429 with
``Retry-After``, 500, 403 …).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str
    path: str
    conversation_id: str
    activity_id: str | None
    body: dict[str, Any] | None
    status: int = 200
    connection: int = 0
    """Which TCP connection the call came on (numbered in order of first use; 0 unknown)."""
    authorization: str | None = None
    """The ``Authorization`` header the call carried."""


@dataclass
class Member:
    """A Teams user as ``GET /v3/conversations/{id}/members/{userId}`` returns them."""

    id: str
    name: str
    aad_object_id: str
    email: str
    tenant_id: str = "tenant-1"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad_object_id, "email": self.email,
                "userPrincipalName": self.email, "tenantId": self.tenant_id, "userRole": "user"}


@dataclass
class _Failure:
    status: int
    retry_after: str | None


@dataclass
class FakeBotConnector:
    members: dict[str, Member] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    _connections: dict[Any, int] = field(default_factory=dict)
    url: str = ""

    # -- control -------------------------------------------------------------------------------------
    def add_member(self, member: Member) -> None:
        self.members[member.id] = member
        self.members[member.aad_object_id] = member

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None:
        """The next ``count`` calls answer ``status`` (with ``Retry-After`` when given)."""
        self._failures.extend(_Failure(status, retry_after) for _ in range(count))

    def sent(self) -> list[Call]:
        """Successful calls that delivered or changed a message (send, reply, update)."""
        return [c for c in self.calls if c.status < 300 and c.body is not None and c.body.get("type") == "message"]

    def clear(self) -> None:
        self.calls.clear()

    def open_connections(self) -> int:
        """Client connections (keep-alive included) that are still open."""
        return sum(1 for transport in self._connections if not transport.is_closing())

    # -- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._reply)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- handlers ----------------------------------------------------------------------------------------
    async def _record(self, request: web.Request) -> tuple[Call, web.Response | None]:
        body = await request.json() if request.can_read_body else None
        connection = self._connections.setdefault(request.transport, len(self._connections) + 1) \
            if request.transport is not None else 0
        call = Call(request.method, request.path, request.match_info.get("conversation", ""),
                    request.match_info.get("activity"), body, connection=connection,
                    authorization=request.headers.get("Authorization"))
        self.calls.append(call)
        if self._failures:
            failure = self._failures.pop(0)
            call.status = failure.status
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            error = {"error": {"code": "Throttled" if failure.status == 429 else "ServiceError",
                               "message": f"fake connector answered {failure.status}"}}
            return call, web.json_response(error, status=failure.status, headers=headers)
        return call, None

    async def _send(self, request: web.Request) -> web.Response:
        call, failure = await self._record(request)
        if failure is not None:
            return failure
        call.status = 201
        return web.json_response({"id": f"activity-{next(self._ids)}"}, status=201)

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._send(request)

    async def _update(self, request: web.Request) -> web.Response:
        call, failure = await self._record(request)
        if failure is not None:
            return failure
        return web.json_response({"id": call.activity_id})

    async def _member(self, request: web.Request) -> web.Response:
        call, failure = await self._record(request)
        if failure is not None:
            return failure
        member = self.members.get(request.match_info["member"])
        if member is None:
            call.status = 404
            return web.json_response({"error": {"code": "MemberNotFoundInConversation", "message": "not found"}},
                                     status=404)
        return web.json_response(member.to_json())

    async def _create(self, request: web.Request) -> web.Response:
        call, failure = await self._record(request)
        if failure is not None:
            return failure
        members = (call.body or {}).get("members") or [{}]
        call.status = 201
        return web.json_response({"id": f"a:personal-{members[0].get('id', 'unknown')}",
                                  "activityId": f"activity-{next(self._ids)}"}, status=201)
