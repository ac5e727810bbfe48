"""X API v2, app-only (``X_BEARER_TOKEN``): accounts by username, the hospital's followers and following.

- ``GET users/by?usernames=a,b,…`` (100 a call) with ``user.fields`` description, profile_image_url,
  url, pinned_tweet_id, protected, public_metrics. Unknown and suspended usernames come back in
  ``errors`` (``Not Found Error``; ``Forbidden`` with "User has been suspended").
- ``GET users/:id/followers`` and ``users/:id/following`` (``max_results=1000``, ``pagination_token``
  from ``meta.next_token``).

Budgets (shared by every instance): ``x:users/by`` and one per list, ``x:followers`` and
``x:following``, at the rates ``rounds.yaml`` gives (``verify:``), corrected by X's own
``x-rate-limit-*`` headers.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.presence import Account, Profile
from bot.delivery.ports import Rate
from bot.networks.http import JsonApi

USERS_PER_CALL = 100
PAGE_SIZE = 1000
USER_FIELDS = "description,profile_image_url,url,pinned_tweet_id,protected,public_metrics"
DEFAULT_IMAGE = "default_profile_images/"
"""X's stock picture lives under this path: an account with it has no photo of its own."""


@dataclass(frozen=True)
class XRates:
    lookups: Rate
    follow_pages: Rate

    @classmethod
    def per_window(cls, lookups_per_15min: int, pages_per_15min: int) -> XRates:
        return cls(Rate(lookups_per_15min / 900.0, float(lookups_per_15min)),
                   Rate(pages_per_15min / 900.0, float(pages_per_15min)))


@dataclass(frozen=True)
class Page:
    """One page of a follower or following list: the accounts' ids, and the token of the next page."""

    ids: tuple[str, ...]
    next_token: str | None


class XClient:
    network = "x"
    per_call = USERS_PER_CALL

    def __init__(self, api: JsonApi, rates: XRates) -> None:
        self.api = api
        self.rates = rates

    async def accounts(self, usernames: Sequence[str]) -> dict[str, Account]:
        """What X says about each username (lower case → Account); every username asked gets an answer."""
        if not usernames:
            return {}
        if len(usernames) > USERS_PER_CALL:
            raise ValueError(f"at most {USERS_PER_CALL} usernames a call")
        body = await self.api.get("users/by", [("usernames", ",".join(usernames)), ("user.fields", USER_FIELDS)],
                                  "x:users/by", self.rates.lookups)
        found: dict[str, Account] = {}
        for user in body.get("data") or []:
            found[str(user.get("username", "")).lower()] = _account(user)
        for error in body.get("errors") or []:
            name = str(error.get("value") or error.get("resource_id") or "").lower()
            if name and name not in found:
                suspended = "suspended" in str(error.get("detail", "")).lower()
                found[name] = Account(name, Profile.SUSPENDED if suspended else Profile.NOT_FOUND)
        return {name.lower(): found.get(name.lower(), Account(name, Profile.NOT_FOUND)) for name in usernames}

    async def page(self, user_id: str, which: Literal["followers", "following"], token: str | None) -> Page:
        params = [("max_results", str(PAGE_SIZE))]
        if token:
            params.append(("pagination_token", token))
        body = await self.api.get(f"users/{user_id}/{which}", params, f"x:{which}", self.rates.follow_pages)
        ids = tuple(str(user["id"]) for user in body.get("data") or [] if "id" in user)
        return Page(ids, (body.get("meta") or {}).get("next_token"))


def _account(user: dict[str, Any]) -> Account:
    image = str(user.get("profile_image_url") or "")
    return Account(handle=str(user.get("username", "")),
                   profile=Profile.PROTECTED if user.get("protected") else Profile.FOUND,
                   account_id=str(user["id"]) if user.get("id") else None,
                   photo=bool(image) and DEFAULT_IMAGE not in image,
                   bio=str(user.get("description") or ""),
                   link=bool(user.get("url")),
                   pinned=bool(user.get("pinned_tweet_id")))
