"""Verified numbers: what the daily sync found on X and Bluesky, counted for marketing.

Pure. Per group (a department, a specialty, the hospital) and network: how many physicians have a
verified profile (the network showed the account), how many registered handles were not found or
never checked, how many verified facts are stale, verified follows of the hospital and follow-backs;
and the follow-back worklist from the hospital account's real lists ("they follow us, we don't
follow them back"). Definitions: README "Numbers marketing sees".
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from bot.core.numbers import Metric, Source
from bot.core.presence import VERIFIED_NETWORKS, Presence

PROFILE_URLS = {"x": "https://x.com/{handle}", "bluesky": "https://bsky.app/profile/{handle}"}


def profile_url(network: str, handle: str) -> str:
    return PROFILE_URLS[network].format(handle=handle)


def profile_metric(network: str) -> Metric:
    """A verified profile on ``network`` (the digest's headline number, one per network)."""
    return Metric(f"{network}_profile", Source.VERIFIED)


def follows_metric(network: str) -> Metric:
    """A verified follow of the hospital's account on ``network``."""
    return Metric(f"{network}_follows", Source.VERIFIED)


def followed_back_metric(network: str) -> Metric:
    return Metric(f"{network}_followed_back", Source.VERIFIED)


VERIFIED_METRICS = tuple(m for net in VERIFIED_NETWORKS
                         for m in (profile_metric(net), follows_metric(net), followed_back_metric(net)))


@dataclass(frozen=True)
class Physician:
    """One active physician as the verified numbers need them."""

    person_id: int
    name: str
    department: str
    specialty: str
    handles: Mapping[str, str | None]
    """Network → the handle registered now (self-reported until a sync checks it)."""
    presence: Mapping[str, Presence]
    """Network → what the last sync said about that handle (absent: never checked)."""


def verified_flags(presence: Mapping[str, Presence]) -> frozenset[str]:
    """The verified metric keys that hold (for the weekly marks, so their change takes the same cohort)."""
    flags = set()
    for net, p in presence.items():
        if p.exists:
            flags.add(profile_metric(net).key)
        if p.follows_hospital:
            flags.add(follows_metric(net).key)
        if p.followed_back:
            flags.add(followed_back_metric(net).key)
    return frozenset(flags)


@dataclass(frozen=True)
class NetworkCounts:
    """One group's verified facts on one network; every field a count, so groups add up."""

    physicians: int = 0
    handles: int = 0
    """Physicians with a handle registered on this network (self-reported)."""
    verified: int = 0
    """The network showed the account (public or protected) the last time it was asked."""
    not_found: int = 0
    """The network said not found or suspended."""
    unchecked: int = 0
    """A handle no sync has checked yet (or could not: rate limit, error)."""
    stale: int = 0
    """Checked profiles last checked longer ago than the stale age (still counted as last known)."""
    follows_stale: int = 0
    """Known follows of the hospital last checked longer ago than the stale age."""
    follows: int = 0
    """Verified: follows the hospital's account."""
    followed_back: int = 0
    """Verified: the hospital's account follows them."""

    def pct(self, count: int) -> int:
        return round(100 * count / self.physicians) if self.physicians else 0

    def __add__(self, other: NetworkCounts) -> NetworkCounts:
        return NetworkCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class VerifiedGroup:
    label: str
    networks: Mapping[str, NetworkCounts]

    @property
    def physicians(self) -> int:
        return next(iter(self.networks.values())).physicians if self.networks else 0


def _old(at: datetime | None, now: datetime, max_age: timedelta) -> bool:
    return at is None or now - at > max_age


_UNCHECKED = (1, 1, 0, 0, 1, 0, 0, 0, 0)
_NO_HANDLE = (1, 0, 0, 0, 0, 0, 0, 0, 0)


def _count(physician: Physician, network: str, now: datetime, max_age: timedelta) -> tuple[int, ...]:
    """The physician's contribution to each field of :class:`NetworkCounts`, in field order."""
    handle = bool(physician.handles.get(network))
    p = physician.presence.get(network)
    if p is None:
        return _UNCHECKED if handle else _NO_HANDLE
    checked = p.profile is not None
    exists = p.exists
    return (1, int(handle), int(exists), int(checked and not exists), int(handle and not checked),
            int(checked and _old(p.profile_verified_at, now, max_age)),
            int(p.follows_hospital is not None and _old(p.follows_verified_at, now, max_age)),
            int(bool(p.follows_hospital)), int(bool(p.followed_back)))


def _groups(label_of: str, physicians: Iterable[Physician], now: datetime, max_age: timedelta
            ) -> list[VerifiedGroup]:
    """Physicians are tallied by their (few distinct) contributions, then the tallies added up: a
    dataclass, or a loop over fields, per physician costs more than the counting."""
    tally: Counter[tuple[str, str, tuple[int, ...]]] = Counter()
    for physician in physicians:
        label = getattr(physician, label_of)
        for net in VERIFIED_NETWORKS:
            tally[(label, net, _count(physician, net, now, max_age))] += 1
    width = len(fields(NetworkCounts))
    totals: dict[str, dict[str, list[int]]] = {}
    for (label, net, contribution), times in tally.items():
        counts = totals.setdefault(label, {n: [0] * width for n in VERIFIED_NETWORKS})[net]
        for index, value in enumerate(contribution):
            counts[index] += value * times
    return [VerifiedGroup(label, {net: NetworkCounts(*counts) for net, counts in group.items()})
            for label, group in sorted(totals.items(), key=lambda i: i[0].lower())]


@dataclass(frozen=True)
class VerifiedReport:
    hospital: VerifiedGroup
    """Every count the sum of the departments' (and of the specialties')."""
    departments: tuple[VerifiedGroup, ...]
    specialties: tuple[VerifiedGroup, ...]
    """Largest first (then by name)."""


def combine(label: str, groups: Iterable[VerifiedGroup]) -> VerifiedGroup:
    totals = {net: NetworkCounts() for net in VERIFIED_NETWORKS}
    for group in groups:
        for net in VERIFIED_NETWORKS:
            totals[net] = totals[net] + group.networks[net]
    return VerifiedGroup(label, totals)


def verified_report(hospital: str, physicians: Iterable[Physician], now: datetime,
                    max_age: timedelta) -> VerifiedReport:
    everyone = list(physicians)
    departments = _groups("department", everyone, now, max_age)
    specialties = sorted(_groups("specialty", everyone, now, max_age), key=lambda g: (-g.physicians, g.label.lower()))
    return VerifiedReport(combine(hospital, departments), tuple(departments), tuple(specialties))


@dataclass(frozen=True)
class FollowBack:
    """A physician who follows the hospital on a network without the hospital following back."""

    person_id: int
    name: str
    department: str
    network: str
    handle: str
    url: str
    verified_at: datetime | None
    """When the older of the two follow facts was verified."""
    stale: bool


def followback_worklist(physicians: Iterable[Physician], now: datetime, max_age: timedelta) -> list[FollowBack]:
    """From the hospital account's real lists: they follow us (verified), we don't follow them (verified).
    By network, then name."""
    rows = []
    for physician in physicians:
        for net in VERIFIED_NETWORKS:
            p = physician.presence.get(net)
            if p is None or not p.exists or p.follows_hospital is not True or p.followed_back is not False:
                continue
            stamps = [t for t in (p.follows_verified_at, p.followed_back_verified_at) if t is not None]
            at = min(stamps) if stamps else None
            rows.append(FollowBack(physician.person_id, physician.name, physician.department, net, p.handle,
                                   profile_url(net, p.handle), at, at is None or now - at > max_age))
    return sorted(rows, key=lambda r: (VERIFIED_NETWORKS.index(r.network), r.name.lower()))


def follows_verified(physician: Physician) -> bool:
    """Some network has checked this physician's follows (then their self-reported follow is not the word)."""
    return any(p.follows_hospital is not None for p in physician.presence.values())
