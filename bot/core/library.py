"""The content library: stories the hospital publishes and physicians share, and the pure rules about them.

A story has a title, a link, a suggested post per network, who it is for, an embargo lift instant
and an expiry. Before the lift only admins may see it; after the expiry nobody is offered it. The
suggested posts are screened by the draft checker when a story is saved: a finding that would block
a physician's own post blocks the story (:func:`problems`). Pure: time is a parameter.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.core.preflight import DraftContext, PreflightRules, check_draft, x_weighted_length
from bot.core.words import Say, say

SHARE_NETWORKS: tuple[str, ...] = ("x", "bluesky", "linkedin")
"""Networks a story suggests a post for, in the order they are shown."""
LINKEDIN_MAX_CHARS = 3000
"""LinkedIn's limit on a post's length."""
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
"""A story's key: what ``library <story>`` and the import file name it by."""
LINK_PATTERN = re.compile(r"https?://[^\s/?#]+\.[^\s/?#]+[^\s]*", re.IGNORECASE)
Event = Literal["offered", "tapped", "shared", "declined"]
EVENTS: tuple[Event, ...] = ("offered", "tapped", "shared", "declined")
"""What a physician did with a story, each remembered once with its first instant."""
AudienceKind = Literal["everyone", "department", "specialty", "meeting"]


@dataclass(frozen=True)
class Audience:
    """Who a story is for: everyone, or anyone in one of the departments or specialties, or
    attending one of the meetings (by key). Names compare without regard to case."""

    everyone: bool = False
    departments: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()
    meetings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.everyone or self.departments or self.specialties or self.meetings)

    def includes(self, department: str, specialty: str, meeting_keys: Iterable[str] = ()) -> bool:
        if self.everyone:
            return True
        if _folded(department) in {_folded(d) for d in self.departments}:
            return True
        if _folded(specialty) in {_folded(s) for s in self.specialties}:
            return True
        return bool(set(self.meetings) & set(meeting_keys))

    def rows(self) -> list[tuple[AudienceKind, str]]:
        """The audience as (kind, value) rows, as the store keeps it."""
        found: list[tuple[AudienceKind, str]] = [("everyone", "")] if self.everyone else []
        found += [("department", d) for d in self.departments]
        found += [("specialty", s) for s in self.specialties]
        found += [("meeting", m) for m in self.meetings]
        return found

    @classmethod
    def of_rows(cls, rows: Iterable[tuple[str, str]]) -> Audience:
        kinds: dict[str, list[str]] = {"everyone": [], "department": [], "specialty": [], "meeting": []}
        for kind, value in rows:
            kinds.setdefault(kind, []).append(value)
        return cls(bool(kinds["everyone"]), tuple(sorted(kinds["department"])), tuple(sorted(kinds["specialty"])),
                   tuple(sorted(kinds["meeting"])))


@dataclass(frozen=True)
class Story:
    """A story in the library. ``id`` is 0 until the store has saved it."""

    key: str
    title: str
    link: str
    posts: Mapping[str, str]
    """Suggested post per network id of :data:`SHARE_NETWORKS`; a network left out is not suggested."""
    audience: Audience
    lifts_at: datetime
    """The embargo lift: nobody but admins sees the story before this instant (aware)."""
    lift_zone: str
    """The time zone the lift was given in (shown back to admins in it)."""
    expires_at: datetime | None = None
    alt_text: str = ""
    """Alt text for the story's image, for physicians who attach it."""
    id: int = 0
    created_at: datetime | None = None

    def post(self, network: str) -> str:
        return self.posts.get(network, "")

    @property
    def networks(self) -> tuple[str, ...]:
        return tuple(n for n in SHARE_NETWORKS if self.posts.get(n, "").strip())

    def lifted(self, now: datetime) -> bool:
        return self.lifts_at <= now

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def live(self, now: datetime) -> bool:
        """Lifted and not expired: physicians may be offered it and share it."""
        return self.lifted(now) and not self.expired(now)

    def visible(self, now: datetime, *, admin: bool) -> bool:
        """Whether a caller may see the story at all at ``now``: admins always, others once it lifted."""
        return admin or self.lifted(now)

    def countdown(self, now: datetime) -> timedelta:
        """Time left until the lift (zero once lifted)."""
        return max(timedelta(0), self.lifts_at - now)


@dataclass(frozen=True)
class StoryState:
    """What one physician did with one story: the first instant of each event, or None."""

    offered_at: datetime | None = None
    tapped_at: datetime | None = None
    shared_at: datetime | None = None
    declined_at: datetime | None = None

    @property
    def settled(self) -> bool:
        """Shared or declined: not offered again and not listed as one to share."""
        return self.shared_at is not None or self.declined_at is not None


@dataclass(frozen=True)
class Problem:
    """Why a story cannot be saved: the field it is about (``title``, ``posts.x`` …) and what to say."""

    field: str
    say: Say
    rule_id: str = ""
    """The draft checker's rule behind it, when there is one."""


@dataclass(frozen=True)
class StoryTally:
    """How one story did: physicians offered it, who tapped a share button, said they shared, declined."""

    story_id: int
    offered: int = 0
    tapped: int = 0
    shared: int = 0
    declined: int = 0
    by_department: Mapping[str, tuple[int, int, int, int]] = field(default_factory=dict)
    """Per department: (offered, tapped, shared, declined)."""


def countdown_parts(left: timedelta) -> tuple[int, int, int]:
    """(days, hours, minutes) of a countdown, minutes rounded up so a lift is never shown as past."""
    minutes = -(-int(left.total_seconds()) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return days, hours, minutes


def x_text(story: Story) -> str:
    """The post as X's composer receives it: the suggested text and the link (unless the text has it)."""
    text = story.post("x").strip()
    return text if story.link in text else f"{text} {story.link}".strip()


def problems(story: Story, rules: PreflightRules, now: datetime) -> tuple[Problem, ...]:
    """Everything that keeps ``story`` from being saved at ``now``; empty when it may be saved.

    Each suggested post runs through the draft checker as a physician's own post would: a finding
    that would block their post blocks the story, naming the network, the finding and its fix. The
    X post (with the link, as X's composer gets it) must fit X's weighted length.
    """
    found: list[Problem] = []
    if not KEY_PATTERN.fullmatch(story.key):
        found.append(Problem("key", say("library_bad_key", key=story.key)))
    if not story.title.strip():
        found.append(Problem("title", say("library_no_title")))
    if not LINK_PATTERN.fullmatch(story.link):
        found.append(Problem("link", say("library_bad_link", link=story.link)))
    if story.lifts_at.tzinfo is None:
        found.append(Problem("embargo_lifts", say("library_naive_lift")))
    elif story.expires_at is not None and story.expires_at <= story.lifts_at:
        found.append(Problem("expires", say("library_expires_before_lift")))
    if story.audience.empty:
        found.append(Problem("audience", say("library_no_audience")))
    unknown = sorted(set(story.posts) - set(SHARE_NETWORKS))
    for network in unknown:
        found.append(Problem(f"posts.{network}", say("library_unknown_network", network=network,
                                                     known=", ".join(SHARE_NETWORKS))))
    if not story.networks:
        found.append(Problem("posts", say("library_no_posts")))
    context = DraftContext(now=now, has_image=bool(story.alt_text))
    for network in story.networks:
        text = story.post(network)
        for finding in check_draft(text, rules, context).findings:
            if finding.severity == "block":
                found.append(Problem(f"posts.{network}", say(
                    "library_blocked_finding", network=network, excerpt=finding.excerpt.strip(),
                    why=finding.why, fix=finding.fix), finding.rule_id))
    if "x" in story.networks:
        length, _ = x_weighted_length(x_text(story), rules.x_limit)
        if length > rules.x_limit:
            found.append(Problem("posts.x", say("library_x_too_long", length=length, limit=rules.x_limit)))
    if "linkedin" in story.networks and len(story.post("linkedin")) > LINKEDIN_MAX_CHARS:
        found.append(Problem("posts.linkedin", say("library_linkedin_too_long", length=len(story.post("linkedin")),
                                                   limit=LINKEDIN_MAX_CHARS)))
    return tuple(found)


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()
