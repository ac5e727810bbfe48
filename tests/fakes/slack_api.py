"""A fake Slack on 127.0.0.1: the Web API methods Social Rounds calls, ``response_url`` and Socket Mode.

Implements ``auth.test``, ``users.info``, ``users.lookupByEmail``, ``chat.postMessage``,
``chat.postEphemeral``, ``chat.update``, ``views.publish``, ``views.open``, ``conversations.open``,
``conversations.history`` (with message metadata) and ``apps.connections.open`` (whose WebSocket speaks enough Socket Mode for Bolt). Every call is
recorded with its arguments; ``fail_next`` makes the next N calls (optionally of one method)
answer 429 with ``Retry-After``, a 5xx, ``ok: false`` with an error code, or drop the connection.

With ``limits`` set it enforces Slack's rate limits as Slack does: ``chat.postMessage`` at most
``per_channel`` a second in a channel and ``workspace_per_second`` across the workspace, every other
method its tier's calls a minute (any sliding window), answering 429 with ``Retry-After``. It
records every call that came while a Retry-After it gave was still running (``ignored_retry_after``)
and ``over_limit`` for every call it refused. ``flaky`` methods answer 429 at random.
Also ``users.list`` (paginated) and ``dnd.teamInfo``.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass
class Call:
    method: str
    """Web API method, or ``response_url`` for posts to a response URL."""
    args: dict[str, Any]
    token: str | None = None
    status: int = 200
    """HTTP status answered; 0 when the connection was dropped instead."""
    path: str = ""
    response: dict[str, Any] = field(default_factory=dict)
    """What the fake answered (e.g. the ``ts`` of a posted message)."""
    at: float = field(default_factory=time.monotonic)
    connection: int = 0
    """Which TCP connection the call came on (numbered in order of first use; 0 unknown)."""


@dataclass
class _Failure:
    status: int
    retry_after: str | None
    error: str | None
    method: str | None


TIERS_PER_MINUTE = {"users.list": 20, "dnd.teamInfo": 20, "users.lookupByEmail": 50, "conversations.open": 50,
                    "conversations.history": 50, "views.publish": 100, "users.info": 100}
"""Slack's published tiers: Tier 2 20/min, Tier 3 50/min, Tier 4 100/min."""


@dataclass
class Limits:
    per_channel: int = 1
    """chat.postMessage a second in one channel."""
    workspace_per_second: int = 25
    """chat.postMessage a second across the workspace."""
    tiers: dict[str, int] = field(default_factory=lambda: dict(TIERS_PER_MINUTE))


@dataclass
class FakeSlackApi:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channel_errors: dict[str, str] = field(default_factory=dict)
    """chat.postMessage to one of these channels answers ``ok: false`` with the error code."""
    calls: list[Call] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _failures: list[_Failure] = field(default_factory=list)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Posted messages per channel, oldest first, as ``conversations.history`` returns them."""
    _changed: asyncio.Condition | None = None
    _connections: dict[Any, int] = field(default_factory=dict)
    limits: Limits | None = None
    flaky: dict[str, float] = field(default_factory=dict)
    """method → share of calls answered 429 (Retry-After: 1) whatever the limits say."""
    over_limit: list[tuple[str, str, float]] = field(default_factory=list)
    """(method, scope, when) of every call refused for going over a limit."""
    ignored_retry_after: list[tuple[str, str, float]] = field(default_factory=list)
    """(method, scope, seconds after the 429) of every call that came while a Retry-After given for its
    scope ran, later than ``reaction_seconds`` after it."""
    dnd: dict[str, tuple[int, int]] = field(default_factory=dict)
    """user id → (next_dnd_start_ts, next_dnd_end_ts) for dnd.teamInfo; others have DND off."""
    snoozed: dict[str, int] = field(default_factory=dict)
    """user id → snooze_endtime of a snooze the user turned on by hand."""
    _windows: dict[str, deque] = field(default_factory=dict)
    _paused: dict[str, tuple[float, float]] = field(default_factory=dict)
    """scope → (when the pause began, when it ends)."""
    reaction_seconds: float = 1.0
    """Calls that arrive this soon after a 429 were on their way before the client could know of it."""

    # -- control ------------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/response/{name}"

    def add_user(self, user_id: str, email: str | None, name: str, tz: str = "America/New_York",
                 deleted: bool = False) -> None:
        profile: dict[str, Any] = {"real_name": name, "display_name": name.split()[-1]}
        if email:
            profile["email"] = email
        self.users[user_id] = {"id": user_id, "team_id": "T1", "name": name.lower().replace(" ", "."),
                               "real_name": name, "deleted": deleted, "tz": tz, "tz_label": tz,
                               "is_bot": False, "profile": profile}

    def fail_next(self, count: int = 1, *, status: int = 429, retry_after: str | None = "1",
                  error: str | None = None, method: str | None = None) -> None:
        """The next ``count`` calls (of ``method``, if given) fail: ``status`` 429 (with ``retry_after``),
        5xx, or 0 to drop the connection; ``error`` means 200 with ``ok: false`` and that code."""
        for _ in range(count):
            self._failures.append(_Failure(200 if error else status, retry_after if status == 429 else None,
                                           error, method))

    def open_connections(self) -> int:
        """Client connections (keep-alive included) that are still open."""
        return sum(1 for transport in self._connections if not transport.is_closing())

    def _connection(self, request: web.Request) -> int:
        transport = request.transport
        if transport is None:
            return 0
        return self._connections.setdefault(transport, len(self._connections) + 1)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:
        """Until ``done()`` holds, checked after every recorded call."""
        assert self._changed is not None, "start() the fake first"
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(done), timeout)

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Until at least ``count`` successful calls of ``method`` were made; returns them all."""
        def succeeded() -> list[Call]:
            return [c for c in self.calls_to(method) if c.status == 200]

        await self.wait_until(lambda: len(succeeded()) >= count, timeout)
        return succeeded()

    async def start(self) -> FakeSlackApi:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- Socket Mode ----------------------------------------------------------------------------------
    async def socket_send(self, envelope: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Push one envelope to the connected app and wait for its acknowledgement."""
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._sockets)), timeout)
        await self._sockets[-1].send_str(json.dumps(envelope))
        wanted = envelope["envelope_id"]
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(
                lambda: any(a.get("envelope_id") == wanted for a in self.socket_acks)), timeout)
        return next(a for a in self.socket_acks if a.get("envelope_id") == wanted)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                          "connection_info": {"app_id": "A1"}}))
        await self._notify(lambda: self._sockets.append(socket))
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    data = json.loads(message.data)
                    await self._notify(lambda data=data: self.socket_acks.append(data))
        finally:
            await self._notify(lambda: self._sockets.remove(socket) if socket in self._sockets else None)
        return socket

    # -- HTTP -------------------------------------------------------------------------------------
    async def _notify(self, change: Any) -> None:
        assert self._changed is not None
        async with self._changed:
            change()
            self._changed.notify_all()

    def _failure_for(self, method: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method in (None, method):
                self._failures.remove(failure)
                return failure
        return None

    async def _record(self, call: Call) -> None:
        await self._notify(lambda: self.calls.append(call))

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        failure = self._failure_for("response_url")
        call = Call("response_url", body, path=request.match_info["name"], status=failure.status if failure else 200,
                    connection=self._connection(request))
        await self._record(call)
        if failure:
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            return web.Response(status=failure.status, text="rate_limited", headers=headers)
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or args.pop("token", None)
        failure = self._failure_for(method)
        if failure is not None:
            await self._record(Call(method, args, token, failure.status, connection=self._connection(request)))
            if failure.status == 0:
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)
            if failure.error:
                return web.json_response({"ok": False, "error": failure.error})
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            if failure.status == 429:
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
            return web.Response(status=failure.status, text="upstream trouble", headers=headers)
        refused = self._enforce(method, args)
        if refused is not None:
            await self._record(Call(method, args, token, 429, connection=self._connection(request)))
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(refused)})
        answer = self._answer(method, args)
        await self._record(Call(method, args, token, response=answer, connection=self._connection(request)))
        return web.json_response(answer)

    def _pause(self, scope: str, now: float, seconds: int) -> None:
        given, until = self._paused.get(scope, (now, 0.0))
        self._paused[scope] = (given if until > now else now, max(until, now + seconds))

    def _enforce(self, method: str, args: dict[str, Any]) -> int | None:
        """None to answer, or the Retry-After seconds of a 429."""
        now = time.monotonic()
        if self.limits is None and not self.flaky:
            return None
        scopes: list[tuple[str, int, float]] = []  # (scope, limit, window seconds)
        if self.limits is not None:
            if method == "chat.postMessage":
                scopes = [(f"chat.postMessage:{_dm(str(args.get('channel', '')))}", self.limits.per_channel, 1.0),
                          ("chat.postMessage", self.limits.workspace_per_second, 1.0)]
            elif method in self.limits.tiers:
                scopes = [(method, self.limits.tiers[method], 60.0)]
        for scope, _, _ in scopes:
            given, until = self._paused.get(scope, (0.0, 0.0))
            if given + self.reaction_seconds < now < until:
                self.ignored_retry_after.append((method, scope, now - given))
        if method in self.flaky and random.random() < self.flaky[method]:
            self._pause(method, now, 1)
            return 1
        for scope, limit, window in scopes:
            calls = self._windows.setdefault(scope, deque())
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) >= limit:
                retry_after = max(1, math.ceil(calls[0] + window - now))
                self._pause(scope, now, retry_after)
                self.over_limit.append((method, scope, now))
                return retry_after
        for scope, _, _ in scopes:
            self._windows[scope].append(now)
        return None

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://riverside.slack.com/", "team": "Riverside", "user": "rounds",
                    "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT", "is_enterprise_install": False}
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            email = str(args.get("email", "")).lower()
            user = next((u for u in self.users.values() if u["profile"].get("email", "").lower() == email), None)
            return {"ok": True, "user": user} if user else {"ok": False, "error": "users_not_found"}
        if method == "users.list":
            members = sorted(self.users.values(), key=lambda u: u["id"])
            start = int(str(args.get("cursor") or "0").removeprefix("page-") or 0)
            limit = min(int(args.get("limit") or 100), 1000)
            page = members[start:start + limit]
            cursor = f"page-{start + limit}" if start + limit < len(members) else ""
            return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}
        if method == "dnd.teamInfo":
            ids = [u for u in str(args.get("users", "")).split(",") if u]
            if not ids:
                return {"ok": False, "error": "no_users_provided"}
            if len(ids) > 50:
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "users": {u: self._dnd_status(u) for u in ids}}
        if method == "conversations.open":
            user = str(args.get("users", "")).split(",")[0]
            return {"ok": True, "channel": {"id": _dm(user)}}
        if method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            if channel in self.channel_errors:
                return {"ok": False, "error": self.channel_errors[channel]}
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            message = {"type": "message", "ts": self._next_ts(), "text": args.get("text"), "blocks": args.get("blocks")}
            metadata = _json(args.get("metadata"))
            if metadata:
                message["metadata"] = metadata
            self.history.setdefault(_dm(channel), []).append(message)
            return {"ok": True, "channel": _dm(channel), "ts": message["ts"], "message": message}
        if method == "conversations.history":
            messages = list(reversed(self.history.get(str(args.get("channel", "")), [])))
            oldest = str(args.get("oldest") or "")
            if oldest:
                messages = [m for m in messages if m["ts"] > oldest]
            if str(args.get("include_all_metadata", "")).lower() not in ("true", "1"):
                messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
            limit = int(args.get("limit") or 100)
            return {"ok": True, "messages": messages[:limit], "has_more": len(messages) > limit}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method in ("views.publish", "views.open"):
            return {"ok": True, "view": {"id": f"V{next(self._ts)}", **_json(args.get("view"))}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}
        return {"ok": False, "error": "unknown_method"}

    def _dnd_status(self, user_id: str) -> dict[str, Any]:
        start, end = self.dnd.get(user_id, (1, 1))
        status: dict[str, Any] = {"dnd_enabled": user_id in self.dnd, "next_dnd_start_ts": start,
                                  "next_dnd_end_ts": end, "snooze_enabled": user_id in self.snoozed}
        if user_id in self.snoozed:
            status["snooze_endtime"] = self.snoozed[user_id]
        return status

    def _next_ts(self) -> str:
        return f"1767225600.{next(self._ts):06d}"


def _dm(channel: str) -> str:
    return "D" + channel[1:] if channel.startswith("U") else channel


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return json.loads(value)
    return value if isinstance(value, dict) else {}
