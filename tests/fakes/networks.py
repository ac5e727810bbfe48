"""Fake X API v2 and Bluesky public AppView on 127.0.0.1, speaking the HTTP shapes the sync uses.

X (``/2/``, bearer token required, else 401):

- ``GET /2/users/by?usernames=a,b&user.fields=…``: ``{"data": [user …], "errors": [problem …]}``; an
  unknown username is a ``Not Found Error``, a suspended one ``Forbidden`` with "User has been
  suspended: [name]."; only the fields asked for are in each user; more than 100 names is a 400;
- ``GET /2/users/:id/followers`` and ``/following`` with ``max_results`` (≤ 1000) and
  ``pagination_token``: ``{"data": [{"id", "name", "username"} …], "meta": {"result_count", "next_token"}}``.

Bluesky (``/xrpc/``, no authentication):

- ``app.bsky.actor.getProfiles?actors=…`` (≤ 25): ``{"profiles": [profileViewDetailed …]}``, leaving out
  actors that do not exist or were taken down;
- ``app.bsky.actor.getProfile?actor=…``: the profile, or 400 ``{"error": "AccountTakedown"}`` /
  ``{"error": "InvalidRequest", "message": "Profile not found"}``;
- ``app.bsky.graph.getRelationships?actor=…&others=…`` (≤ 30): ``{"actor", "relationships": [
  {"$type": "app.bsky.graph.defs#relationship", "did", "following"?, "followedBy"?} |
  {"$type": "app.bsky.graph.defs#notFoundActor", "actor", "notFound": true}]}``.

Both send their rate headers on every answer (X ``x-rate-limit-limit/remaining/reset``, Bluesky
``ratelimit-limit/remaining/reset/policy``), resets in epoch seconds, per fixed window, and answer
429 when a window is used up. ``fail_next(path_part, status, count)`` makes the next matching calls
answer 5xx or 429; ``delay`` slows every answer. Calls are counted per endpoint.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web

DEFAULT_IMAGE = "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png"


@dataclass
class _Window:
    limit: int
    seconds: float
    used: int = 0
    started: float = 0.0

    def take(self, now: float) -> tuple[bool, int, int]:
        """(allowed, remaining, reset epoch)."""
        if now - self.started >= self.seconds:
            self.started, self.used = now, 0
        reset = math.ceil(self.started + self.seconds)
        if self.used >= self.limit:
            return False, 0, reset
        self.used += 1
        return True, self.limit - self.used, reset


@dataclass
class _Failure:
    path_part: str
    status: int
    count: int
    reset_in: float = 2.0


class _Fake:
    prefix = ""
    header = ""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.delay = 0.0
        self.windows: dict[str, _Window] = {}
        self._failures: list[_Failure] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def limit(self, endpoint: str, count: int, seconds: float) -> None:
        """At most ``count`` calls of ``endpoint`` per window of ``seconds``."""
        self.windows[endpoint] = _Window(count, seconds)

    def fail_next(self, path_part: str, status: int, count: int = 1, reset_in: float = 2.0) -> None:
        self._failures.append(_Failure(path_part, status, count, reset_in))

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get(self.prefix + "{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}{self.prefix}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        endpoint = self.endpoint(tail)
        self.calls[endpoint] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        now = time.time()
        for failure in self._failures:
            if failure.count > 0 and failure.path_part in request.path_qs:
                failure.count -= 1
                headers = {}
                if failure.status == 429:
                    headers = {self.header + "limit": "1", self.header + "remaining": "0",
                               self.header + "reset": str(math.ceil(now + failure.reset_in))}
                return web.json_response({"title": "Too Many Requests"} if failure.status == 429 else
                                         {"error": "InternalServerError"}, status=failure.status, headers=headers)
        headers: dict[str, str] = {}
        window = self.windows.get(endpoint)
        if window is not None:
            allowed, remaining, reset = window.take(now)
            headers = {self.header + "limit": str(window.limit), self.header + "remaining": str(remaining),
                       self.header + "reset": str(reset)}
            if not allowed:
                return web.json_response({"title": "Too Many Requests", "status": 429}, status=429, headers=headers)
        status, body = self.answer(request, tail)
        return web.json_response(body, status=status, headers=headers)

    def endpoint(self, tail: str) -> str:
        raise NotImplementedError

    def answer(self, request: web.Request, tail: str) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


# -- X --------------------------------------------------------------------------------------------------------

@dataclass
class XUser:
    id: str
    username: str
    description: str = ""
    photo: bool = True
    url: str = ""
    pinned: bool = False
    protected: bool = False
    suspended: bool = False


class FakeX(_Fake):
    prefix = "/2/"
    header = "x-rate-limit-"

    def __init__(self, token: str = "test-bearer") -> None:
        super().__init__()
        self.token = token
        self.users: dict[str, XUser] = {}
        """lower-case username → user"""
        self.followers: dict[str, list[str]] = {}
        """user id → ids of its followers, in the order the API lists them"""
        self.following: dict[str, list[str]] = {}

    def add(self, user: XUser) -> XUser:
        self.users[user.username.lower()] = user
        return user

    def endpoint(self, tail: str) -> str:
        if tail.startswith("users/by"):
            return "users/by"
        return "followers" if tail.endswith("/followers") else "following" if tail.endswith("/following") else tail

    def answer(self, request: web.Request, tail: str) -> tuple[int, dict[str, Any]]:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
        if tail == "users/by":
            return self._users_by(request)
        parts = tail.split("/")
        if len(parts) == 3 and parts[0] == "users" and parts[2] in ("followers", "following"):
            return self._list(request, parts[1], parts[2])
        return 404, {"title": "Not Found Error", "detail": f"no route {tail}"}

    def _users_by(self, request: web.Request) -> tuple[int, dict[str, Any]]:
        names = [n for n in request.query.get("usernames", "").split(",") if n]
        if not names or len(names) > 100:
            return 400, {"errors": [{"parameters": {"usernames": [request.query.get("usernames", "")]},
                                     "message": "The number of values in the `usernames` query parameter list "
                                                "[" + str(len(names)) + "] is not between 1 and 100"}],
                         "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                         "type": "https://api.twitter.com/2/problems/invalid-request"}
        fields = set(request.query.get("user.fields", "").split(","))
        data, errors = [], []
        for name in names:
            user = self.users.get(name.lower())
            if user is None:
                errors.append({"value": name, "detail": f"Could not find user with usernames: [{name}].",
                               "title": "Not Found Error", "resource_type": "user", "parameter": "usernames",
                               "resource_id": name, "type": "https://api.twitter.com/2/problems/resource-not-found"})
            elif user.suspended:
                errors.append({"value": name, "detail": f"User has been suspended: [{name}].", "title": "Forbidden",
                               "resource_type": "user", "parameter": "usernames", "resource_id": name,
                               "type": "https://api.twitter.com/2/problems/resource-not-found"})
            else:
                data.append(self._user(user, fields))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return 200, body

    def _user(self, user: XUser, fields: set[str]) -> dict[str, Any]:
        full: dict[str, Any] = {
            "id": user.id, "name": user.username.title(), "username": user.username,
            "description": user.description, "url": user.url, "protected": user.protected,
            "profile_image_url": (f"https://pbs.twimg.com/profile_images/{user.id}/me_normal.jpg" if user.photo
                                  else DEFAULT_IMAGE),
            "public_metrics": {"followers_count": 10, "following_count": 20, "tweet_count": 30, "listed_count": 0,
                               "like_count": 5},
        }
        if user.pinned:
            full["pinned_tweet_id"] = str(10 ** 18 + int(user.id))
        return {k: v for k, v in full.items() if k in ("id", "name", "username") or k in fields}

    def _list(self, request: web.Request, user_id: str, which: str) -> tuple[int, dict[str, Any]]:
        ids = (self.followers if which == "followers" else self.following).get(user_id)
        if ids is None:
            return 200, {"errors": [{"value": user_id, "detail": f"Could not find user with id: [{user_id}].",
                                     "title": "Not Found Error", "resource_type": "user", "parameter": "id",
                                     "resource_id": user_id,
                                     "type": "https://api.twitter.com/2/problems/resource-not-found"}]}
        size = min(1000, max(1, int(request.query.get("max_results", "100"))))
        token = request.query.get("pagination_token")
        start = int(token, 16) if token else 0
        page = ids[start:start + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if start + size < len(ids):
            meta["next_token"] = format(start + size, "x").upper().rjust(16, "0")
        if start:
            meta["previous_token"] = format(max(0, start - size), "x").upper().rjust(16, "0")
        if not page:
            return 200, {"meta": meta}
        by_id = {u.id: u for u in self.users.values()} if len(page) < 50 else None
        data = []
        for user_id_ in page:
            user = by_id.get(user_id_) if by_id else None
            data.append({"id": user_id_, "name": user.username.title() if user else f"User {user_id_}",
                         "username": user.username if user else f"user{user_id_}"})
        return 200, {"data": data, "meta": meta}


# -- Bluesky ------------------------------------------------------------------------------------------------------

@dataclass
class BskyActor:
    did: str
    handle: str
    description: str = ""
    avatar: bool = True
    pinned: bool = False
    taken_down: bool = False
    follows_hospital: bool = False
    followed_back: bool = False


class FakeBluesky(_Fake):
    prefix = "/xrpc/"
    header = "ratelimit-"

    def __init__(self, hospital: str = "riversideuh.bsky.social",
                 hospital_did: str = "did:plc:riversidehospital000000") -> None:
        super().__init__()
        self.hospital, self.hospital_did = hospital, hospital_did
        self.actors: dict[str, BskyActor] = {}
        self.by_did: dict[str, BskyActor] = {}
        self.add(BskyActor(self.hospital_did, self.hospital, "Riverside University Hospital"))

    def add(self, actor: BskyActor) -> BskyActor:
        self.actors[actor.handle.lower()] = actor
        self.by_did[actor.did] = actor
        return actor

    def endpoint(self, tail: str) -> str:
        return tail

    def _find(self, actor: str) -> BskyActor | None:
        return self.by_did.get(actor) if actor.startswith("did:") else self.actors.get(actor.lower())

    def answer(self, request: web.Request, tail: str) -> tuple[int, dict[str, Any]]:
        if tail == "app.bsky.actor.getProfiles":
            actors = request.query.getall("actors", [])
            if not actors or len(actors) > 25:
                return 400, {"error": "InvalidRequest", "message": "Error: actors must not have more than 25 elements"}
            found = [self._find(a) for a in actors]
            return 200, {"profiles": [self._profile(a) for a in found if a is not None and not a.taken_down]}
        if tail == "app.bsky.actor.getProfile":
            actor = self._find(request.query.get("actor", ""))
            if actor is None:
                return 400, {"error": "InvalidRequest", "message": "Profile not found"}
            if actor.taken_down:
                return 400, {"error": "AccountTakedown", "message": "Account has been suspended"}
            return 200, self._profile(actor)
        if tail == "app.bsky.graph.getRelationships":
            hospital = self._find(request.query.get("actor", ""))
            others = request.query.getall("others", [])
            if hospital is None:
                return 400, {"error": "InvalidRequest", "message": "Actor not found"}
            if len(others) > 30:
                return 400, {"error": "InvalidRequest", "message": "Error: others must not have more than 30 elements"}
            relationships = []
            for did in others:
                actor = self._find(did)
                if actor is None or actor.taken_down:
                    relationships.append({"$type": "app.bsky.graph.defs#notFoundActor", "actor": did, "notFound": True})
                    continue
                item: dict[str, Any] = {"$type": "app.bsky.graph.defs#relationship", "did": actor.did}
                if actor.followed_back:
                    item["following"] = f"at://{hospital.did}/app.bsky.graph.follow/3k{actor.did[-6:]}"
                if actor.follows_hospital:
                    item["followedBy"] = f"at://{actor.did}/app.bsky.graph.follow/3k{hospital.did[-6:]}"
                relationships.append(item)
            return 200, {"actor": hospital.did, "relationships": relationships}
        return 501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}

    def _profile(self, actor: BskyActor) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "did": actor.did, "handle": actor.handle, "displayName": actor.handle.split(".")[0].title(),
            "description": actor.description, "followersCount": 3, "followsCount": 4, "postsCount": 5,
            "indexedAt": "2026-01-01T00:00:00.000Z", "createdAt": "2025-01-01T00:00:00.000Z",
            "labels": [], "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False},
            "viewer": {"muted": False, "blockedBy": False},
        }
        if actor.avatar:
            profile["avatar"] = f"https://cdn.bsky.app/img/avatar/plain/{actor.did}/bafkrei@jpeg"
        if actor.pinned:
            profile["pinnedPost"] = {"uri": f"at://{actor.did}/app.bsky.feed.post/3kpinned",
                                     "cid": "bafyreipinned"}
        return profile
