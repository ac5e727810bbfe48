"""Bluesky's public AppView (no authentication): profiles, and follows both ways with the hospital.

- ``app.bsky.actor.getProfiles?actors=…`` (25 a call): ``{"profiles": [profileViewDetailed …]}``;
  actors that do not exist, are deactivated or taken down are left out, so each one left out is
  asked alone with ``app.bsky.actor.getProfile``, whose 400 says why (``AccountTakedown``: suspended;
  anything else: not found).
- ``app.bsky.graph.getRelationships?actor=<hospital>&others=…`` (30 a call): per DID, ``following``
  (the hospital follows them: followed back) and ``followedBy`` (they follow the hospital).

One budget, ``bluesky:appview``, at the rate ``rounds.yaml`` gives, corrected by the AppView's
``ratelimit-*`` headers.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.presence import Account, Profile
from bot.delivery.ports import Rate
from bot.networks.http import JsonApi, NetworkError

ACTORS_PER_CALL = 25
OTHERS_PER_CALL = 30
KEY = "bluesky:appview"
_LINK = re.compile(r"https?://\S+|\bwww\.\S+", re.IGNORECASE)
_SUSPENDED_LABELS = frozenset({"!takedown", "!suspend"})


@dataclass(frozen=True)
class Relationship:
    did: str
    follows_hospital: bool
    followed_back: bool


class BlueskyClient:
    network = "bluesky"
    per_call = ACTORS_PER_CALL

    def __init__(self, api: JsonApi, rate: Rate) -> None:
        self.api = api
        self.rate = rate

    async def accounts(self, actors: Sequence[str]) -> dict[str, Account]:
        """What Bluesky says about each handle or DID (lower case → Account); every actor gets an answer."""
        if not actors:
            return {}
        if len(actors) > ACTORS_PER_CALL:
            raise ValueError(f"at most {ACTORS_PER_CALL} actors a call")
        body = await self.api.get("app.bsky.actor.getProfiles", [("actors", a) for a in actors], KEY, self.rate)
        found: dict[str, Account] = {}
        for profile in body.get("profiles") or []:
            account = _account(profile)
            found[str(profile.get("handle", "")).lower()] = account
            found[str(profile.get("did", "")).lower()] = account
        answers: dict[str, Account] = {}
        for actor in actors:
            key = actor.lower()
            known = found.get(key)
            answers[key] = Account(actor, known.profile, *_rest(known)) if known else await self._alone(actor)
        return answers

    async def _alone(self, actor: str) -> Account:
        """One actor getProfiles left out: taken down (suspended) or simply not there."""
        try:
            profile = await self.api.get("app.bsky.actor.getProfile", [("actor", actor)], KEY, self.rate)
        except NetworkError as exc:
            if exc.status != 400:
                raise
            suspended = exc.body.get("error") == "AccountTakedown"
            return Account(actor, Profile.SUSPENDED if suspended else Profile.NOT_FOUND)
        account = _account(profile)
        return Account(actor, account.profile, *_rest(account))

    async def relationships(self, hospital: str, dids: Sequence[str]) -> list[Relationship]:
        """Follows between the hospital (handle or DID) and each DID; actors Bluesky does not know are left out."""
        if not dids:
            return []
        if len(dids) > OTHERS_PER_CALL:
            raise ValueError(f"at most {OTHERS_PER_CALL} others a call")
        body = await self.api.get("app.bsky.graph.getRelationships",
                                  [("actor", hospital), *(("others", did) for did in dids)], KEY, self.rate)
        found = []
        for item in body.get("relationships") or []:
            if item.get("notFound") or "did" not in item:
                continue
            found.append(Relationship(str(item["did"]), bool(item.get("followedBy")), bool(item.get("following"))))
        return found


def _rest(account: Account) -> tuple[Any, ...]:
    return account.account_id, account.photo, account.bio, account.link, account.pinned


def _account(profile: dict[str, Any]) -> Account:
    labels = {str(label.get("val", "")) for label in profile.get("labels") or [] if isinstance(label, dict)}
    bio = str(profile.get("description") or "")
    return Account(handle=str(profile.get("handle", "")),
                   profile=Profile.SUSPENDED if labels & _SUSPENDED_LABELS else Profile.FOUND,
                   account_id=str(profile["did"]) if profile.get("did") else None,
                   photo=bool(profile.get("avatar")),
                   bio=bio,
                   link=bool(_LINK.search(bio)),
                   pinned=bool(profile.get("pinnedPost")))
