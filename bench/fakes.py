"""Light fakes of the Slack Web API and the Teams Bot Connector for load runs, on 127.0.0.1.

Unlike ``tests/fakes`` they keep counters and a compact send log instead of every call, and the
fake Slack enforces rate limits on ``chat.postMessage`` the way Slack does: a message to a
channel sooner than 0.9 s after the last one accepted there, or beyond the workspace budget (a
token bucket of ``per_second`` with a quarter second of burst), is refused with HTTP 429 and
``Retry-After: 1``. Users come from the synthetic roster's id patterns (bench/roster.py).
"""
from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bench import roster


@dataclass
class Post:
    channel: str
    ts: str
    at: float


@dataclass
class RateLimits:
    per_second: float = 0.0
    """Workspace-wide chat.postMessage budget; 0 turns enforcement off."""
    per_channel_interval: float = 0.9
    burst_seconds: float = 0.25


@dataclass
class FakeSlack:
    limits: RateLimits = field(default_factory=RateLimits)
    calls: Counter = field(default_factory=Counter)
    posts: list[Post] = field(default_factory=list)
    refused: int = 0
    refused_by: Counter = field(default_factory=Counter)
    """429s by the limit that refused them: ``channel`` or ``workspace``."""
    users: int = 0
    """Workspace members for ``users.list``: the synthetic roster's first ``users`` physicians."""
    answered_at: list[float] = field(default_factory=list)
    """Arrival instants of response_url posts (each is one answered slash command)."""
    url: str = ""
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    _last_in_channel: dict[str, float] = field(default_factory=dict)
    _tokens: float = 0.0
    _filled_at: float = 0.0
    _runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/response/{name}"

    def reset(self) -> None:
        self.calls.clear()
        self.posts.clear()
        self.answered_at.clear()
        self.refused = 0
        self.refused_by.clear()
        self._last_in_channel.clear()
        self._tokens = self._capacity()
        self._filled_at = time.monotonic()

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self.reset()
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _capacity(self) -> float:
        return max(1.0, self.limits.per_second * self.limits.burst_seconds)

    def _admit(self, channel: str, now: float) -> bool:
        if self.limits.per_second <= 0:
            return True
        last = self._last_in_channel.get(channel)
        if last is not None and now - last < self.limits.per_channel_interval:
            self.refused_by["channel"] += 1
            return False
        self._tokens = min(self._capacity(), self._tokens + (now - self._filled_at) * self.limits.per_second)
        self._filled_at = now
        if self._tokens < 1.0:
            self.refused_by["workspace"] += 1
            return False
        self._tokens -= 1.0
        self._last_in_channel[channel] = now
        return True

    async def _response_url(self, request: web.Request) -> web.Response:
        await request.read()
        self.calls["response_url"] += 1
        self.answered_at.append(time.monotonic())
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        self.calls[method] += 1
        if method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            now = time.monotonic()
            if not self._admit(channel, now):
                self.refused += 1
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                         headers={"Retry-After": "1"})
            ts = f"1767225600.{next(self._ts):06d}"
            dm = "D" + channel[1:] if channel.startswith("U") else channel
            self.posts.append(Post(dm, ts, now))
            return web.json_response({"ok": True, "channel": dm, "ts": ts})
        return web.json_response(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://bench.slack.com/", "team": "Bench", "user": "rounds",
                    "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT", "is_enterprise_install": False}
        if method == "users.info":
            index = roster.index_of_slack_user(str(args.get("user", "")))
            return {"ok": True, "user": _user(index)} if index else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            index = roster.index_of_email(str(args.get("email", "")).lower())
            return {"ok": True, "user": _user(index)} if index else {"ok": False, "error": "users_not_found"}
        if method == "users.list":
            start = int(str(args.get("cursor") or "0") or 0)
            limit = min(int(args.get("limit") or 100), 1000)
            end = min(self.users, start + limit)
            return {"ok": True, "members": [_user(i) for i in range(start + 1, end + 1)],
                    "response_metadata": {"next_cursor": str(end) if end < self.users else ""}}
        if method in ("views.publish", "views.open"):
            return {"ok": True, "view": {"id": f"V{next(self._ts)}"}}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1767225600.{next(self._ts):06d}"}
        if method == "dnd.teamInfo":  # nobody is in Do Not Disturb
            users = [u for u in str(args.get("users", "")).split(",") if u][:50]
            return {"ok": True, "users": {u: {"dnd_enabled": False, "next_dnd_start_ts": 1, "next_dnd_end_ts": 1,
                                              "snooze_enabled": False} for u in users}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "U"))[1:]}}
        return {"ok": False, "error": "unknown_method"}


def _user(index: int) -> dict[str, Any]:
    name = f"Physician {index}"
    return {"id": roster.slack_user(index), "team_id": "T1", "name": f"physician{index}", "real_name": name,
            "deleted": False, "tz": "America/New_York", "is_bot": False,
            "profile": {"real_name": name, "display_name": name, "email": roster.email(index)}}


@dataclass
class FakeConnector:
    """The Bot Connector REST API as Teams turns and proactive sends call it."""

    calls: Counter = field(default_factory=Counter)
    url: str = ""
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    async def start(self) -> FakeConnector:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._send)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _send(self, request: web.Request) -> web.Response:
        await request.read()
        self.calls["send"] += 1
        return web.json_response({"id": f"activity-{next(self._ids)}"}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        await request.read()
        self.calls["update"] += 1
        return web.json_response({"id": request.match_info["activity"]})

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls["create"] += 1
        member = ((body or {}).get("members") or [{}])[0].get("id", "unknown")
        return web.json_response({"id": f"a:personal-{member}", "activityId": f"activity-{next(self._ids)}"},
                                 status=201)

    async def _member(self, request: web.Request) -> web.Response:
        self.calls["member"] += 1
        member = request.match_info["member"]
        index = int(member.rsplit("-", 1)[-1]) if member.rsplit("-", 1)[-1].isdigit() else None
        if index is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)
        return web.json_response({"id": roster.teams_user(index), "name": f"Physician {index}",
                                  "aadObjectId": roster.aad_id(index), "email": roster.email(index),
                                  "userPrincipalName": roster.email(index), "tenantId": roster.TENANT})


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
