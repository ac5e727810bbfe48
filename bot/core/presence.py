"""Verified presence: what X and Bluesky say about a physician's account, and how it reads.

Pure. The sync (``bot.networks``) asks the networks and the store (``store.presence``) keeps one
:class:`Presence` per physician and network; this module says what a network's answer means (is
the bio about the specialty? is the photo the default one?), when a fact is stale, and the value
each fact has in the roster export and the reports (``verified``, ``not_found``, ``no``,
``self_reported`` or empty).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

VERIFIED_NETWORKS: tuple[str, ...] = ("x", "bluesky")
"""Networks whose facts the bot checks itself (LinkedIn has no public API for it: self-reported)."""


class Profile(StrEnum):
    """What a network said about a handle the last time it was asked."""

    FOUND = "found"
    """The account exists and is public."""
    PROTECTED = "protected"
    """It exists, but only approved followers see its posts (X)."""
    NOT_FOUND = "not_found"
    SUSPENDED = "suspended"
    """Suspended or taken down by the network."""


class Fact(StrEnum):
    """A fact's value as the export and the reports show it."""

    VERIFIED = "verified"
    NOT_FOUND = "not_found"
    NO = "no"
    SELF_REPORTED = "self_reported"
    UNKNOWN = ""


@dataclass(frozen=True)
class Account:
    """One account as a network describes it (the bio's text is read, never kept)."""

    handle: str
    """The handle asked about, as registered (an X username, a Bluesky handle or DID)."""
    profile: Profile
    account_id: str | None = None
    """The network's stable id: X user id, Bluesky DID (follows are matched by it)."""
    photo: bool = False
    """A picture of one's own (not the network's default)."""
    bio: str = ""
    link: bool = False
    """A website link on the profile (X ``url``; Bluesky: a link in the bio)."""
    pinned: bool = False


@dataclass(frozen=True)
class ProfileFacts:
    """What the store keeps of an :class:`Account`: booleans, never the bio's text."""

    handle: str
    profile: Profile
    account_id: str | None = None
    photo: bool = False
    bio_names: bool = False
    """The bio names the physician's specialty or the hospital."""
    link: bool = False
    pinned: bool = False


@dataclass(frozen=True)
class Presence:
    """Everything known about one physician on one network, each fact with when it was last verified.

    ``None`` means never verified (for the handle as it is now: a changed handle starts over)."""

    person_id: int
    network: str
    handle: str
    account_id: str | None = None
    profile: Profile | None = None
    photo: bool | None = None
    bio_names: bool | None = None
    link: bool | None = None
    pinned: bool | None = None
    profile_verified_at: datetime | None = None
    follows_hospital: bool | None = None
    follows_verified_at: datetime | None = None
    followed_back: bool | None = None
    followed_back_verified_at: datetime | None = None
    failed_at: datetime | None = None
    """The latest sync that could not ask about this account (rate limit, network error); facts stay."""
    failure: str = ""

    @property
    def exists(self) -> bool:
        """The network showed the account (public or protected) the last time it was asked."""
        return self.profile in (Profile.FOUND, Profile.PROTECTED)

    @property
    def verified_at(self) -> datetime | None:
        """The oldest of the facts' verification instants (what the export's ``<network>_verified_at`` shows)."""
        stamps = [t for t in (self.profile_verified_at, self.follows_verified_at, self.followed_back_verified_at)
                  if t is not None]
        return min(stamps) if stamps else None

    def stale(self, now: datetime, max_age: timedelta) -> bool:
        """Some fact is older than ``max_age`` (or the profile was never verified)."""
        at = self.verified_at
        return at is None or now - at > max_age


def profile_fact(presence: Presence | None, handle: str | None) -> Fact:
    """``<network>_profile``: verified (the account exists), not_found (or suspended), self_reported (a
    handle nobody checked yet), or empty (no handle)."""
    if presence is not None and presence.profile is not None:
        return Fact.VERIFIED if presence.exists else Fact.NOT_FOUND
    return Fact.SELF_REPORTED if handle else Fact.UNKNOWN


def follow_fact(verified: bool | None, self_reported: bool) -> Fact:
    """``<network>_follows_hospital`` / ``<network>_followed_back``: the network's answer when there is
    one, else what the physician or marketing said."""
    if verified is not None:
        return Fact.VERIFIED if verified else Fact.NO
    return Fact.SELF_REPORTED if self_reported else Fact.UNKNOWN


def facts_of(account: Account, specialty: str, hospital_name: str, hospital_handle: str) -> ProfileFacts:
    """The booleans kept of what the network said."""
    return ProfileFacts(account.handle, account.profile, account.account_id, account.photo,
                        bio_names(account.bio, specialty, hospital_name, hospital_handle),
                        account.link, account.pinned)


_WORD = re.compile(r"[a-z0-9]+")
_GENERIC = frozenset({"and", "of", "the", "medicine", "medical", "physician", "doctor", "md", "dr", "hospital",
                      "university", "center", "centre", "health", "clinic", "surgery", "general", "for"})
"""Words too common to prove a bio names *this* specialty or hospital."""


def _stem(word: str) -> str:
    """Cardiology, cardiologist, cardiologists → cardiolog; oncology → oncolog."""
    for suffix in ("ists", "ist", "ics", "ic", "ies", "y", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 5:
            return word[:-len(suffix)]
    return word


def _keywords(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if len(w) >= 4 and w not in _GENERIC}


def bio_names(bio: str, specialty: str, hospital_name: str, hospital_handle: str) -> bool:
    """The bio names the specialty (a distinctive word of it, in any form: "cardiologist", "cardiology")
    or the hospital (its handle, or every distinctive word of its name)."""
    if not bio.strip():
        return False
    text = bio.lower()
    if hospital_handle and re.search(r"@?\b" + re.escape(hospital_handle.lower()) + r"\b", text):
        return True
    words = _keywords(bio)
    hospital = _keywords(hospital_name)
    if hospital and hospital <= words:
        return True
    return bool(_keywords(specialty) & words)
