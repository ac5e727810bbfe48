"""Plain data types of the coaching domain, shared by the pure core functions."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, NamedTuple, TypedDict


@dataclass(frozen=True)
class Source:
    title: str
    url: str


@dataclass(frozen=True)
class Quiz:
    question: str
    choices: tuple[str, ...]
    answer: int
    """0-based index of the right choice."""
    explanation: str


@dataclass(frozen=True)
class Lesson:
    id: str
    track: str
    title: str
    core: bool
    minutes: int
    body: str
    takeaway: str
    quiz: Quiz
    sources: tuple[Source, ...]
    networks: tuple[str, ...] = ()
    """Networks the lesson is about (``x``, ``bluesky``, ``linkedin``, ``threads``); empty: every network."""

    def applies_to(self, chosen: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
        """True when the lesson is for every network or for one the physician uses."""
        return not self.networks or any(network in chosen for network in self.networks)


NETWORKS: dict[str, str] = {"x": "X", "bluesky": "Bluesky", "linkedin": "LinkedIn", "threads": "Threads"}
"""Networks a physician can choose, by id, with their display names."""
DEFAULT_NETWORKS: tuple[str, ...] = ("x",)
"""What a physician who has not chosen is coached on (the hospital's reputation work is on X)."""


def networks_of(stored: str | None) -> tuple[str, ...]:
    """A stored choice ("x,bluesky") as known network ids; nothing stored or known: the default."""
    chosen = tuple(n for n in (stored or "").split(",") if n in NETWORKS)
    return chosen or DEFAULT_NETWORKS


class PreferenceChange(TypedDict, total=False):
    """A physician's own reminder settings as the ``settings`` command changes them; None: the hospital's."""

    quiet_start: str | None
    quiet_end: str | None
    weekends_off: bool | None
    lesson_time: str | None
    timezone: str


@dataclass(frozen=True)
class Track:
    id: str
    title: str
    order: int


@dataclass(frozen=True)
class Curriculum:
    tracks: tuple[Track, ...]
    lessons: tuple[Lesson, ...]
    """All lessons in teaching order: tracks by ``order``, lessons in file order."""
    _by_id: dict[str, Lesson] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({lesson.id: lesson for lesson in self.lessons})

    def lesson(self, lesson_id: str) -> Lesson | None:
        return self._by_id.get(lesson_id)

    @cached_property
    def core_ids(self) -> frozenset[str]:
        return frozenset(lesson.id for lesson in self.lessons if lesson.core)

    @cached_property
    def learning_order(self) -> tuple[Lesson, ...]:
        """The order new lessons are offered in: core lessons first, then teaching order."""
        return tuple(sorted(self.lessons, key=lambda lesson: not lesson.core))

    def for_networks(self, chosen: frozenset[str] | set[str] | tuple[str, ...]) -> tuple[Lesson, ...]:
        """The lessons that apply to a physician on ``chosen`` networks, in teaching order."""
        return tuple(lesson for lesson in self.lessons if lesson.applies_to(chosen))

    def track(self, track_id: str) -> Track | None:
        return next((track for track in self.tracks if track.id == track_id), None)


@dataclass(frozen=True)
class ProfileItem:
    id: str
    title: str
    detail: str


@dataclass(frozen=True)
class CampItem:
    id: str
    title: str
    detail: str
    sources: tuple[Source, ...] = ()
    """Where a fact in the item comes from (advice alone needs none)."""


@dataclass(frozen=True)
class CampPhase:
    id: str
    offset_days: int
    """Days relative to the meeting's first day (-14 = two weeks before)."""
    title: str
    items: tuple[CampItem, ...]
    every_meeting_day: bool = False
    """A meeting-day phase that comes back on each day of a multi-day meeting (late-breakers run all week)."""


@dataclass(frozen=True)
class CatalogMeeting:
    """A recurring specialty meeting from the content catalog."""

    key: str
    name: str
    society: str
    specialty: str
    hashtag_pattern: str
    usual_month: int
    days: int
    embargo: str
    sources: tuple[Source, ...] = ()
    """Where the month, length and embargo description come from."""
    dates_note: str = ""
    """When the usual month moves (e.g. RSNA alternates weeks), in words."""

    def hashtag_for(self, year: int) -> str:
        return self.hashtag_pattern.replace("{yyyy}", f"{year:04d}").replace("{yy}", f"{year % 100:02d}")


@dataclass(frozen=True)
class Meeting:
    """A concrete meeting the hospital tracks (an edition of a catalog meeting, or ad hoc)."""

    id: int
    key: str
    name: str
    specialty: str
    starts_on: date
    ends_on: date
    city: str
    hashtag: str
    embargo: str
    embargo_lifts_at: datetime | None = None
    """When late-breaking results may be posted; drafts naming the meeting are checked against it."""


@dataclass(frozen=True)
class RosterEntry:
    """One person as a roster import or the demo seed gives them."""

    email: str
    name: str
    department: str = ""
    specialty: str = ""
    role: str | None = None
    """``None``: keep the stored role (a new person is a physician)."""
    x_handle: str | None = None
    bluesky_handle: str | None = None
    """A Bluesky domain handle (lower case) or DID."""
    linkedin_url: str | None = None


# -- delivery's records: planned and claimed messages, planning rows, rate budgets --------------------------

EVERYWHERE = "*"
"""The parked address that stands for every address of a platform (a whole Slack workspace)."""


@dataclass(frozen=True)
class NewMessage:
    dedup_key: str
    person_id: int | None
    platform: str
    address: str
    kind: str
    spec: dict[str, Any]
    due_at: datetime


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    dedup_key: str
    person_id: int | None
    platform: str
    address: str
    kind: str
    spec: dict[str, Any]
    status: str
    attempts: int
    due_at: datetime
    next_attempt_at: datetime
    last_error: str | None
    message_id: str | None
    sent_at: datetime | None
    in_doubt: bool = False
    """It may have been delivered (a sender's lease ran out mid-send, or a send timed out after the
    request was written): send it only after the platform says it is not there."""


class PlanningPerson(NamedTuple):
    """The ``people`` columns planning reads (a slice of a person), and the state version."""

    id: int
    email: str
    timezone: str | None
    x_handle: str | None
    follows_hospital: bool
    snoozed_until: datetime | None
    created_at: datetime
    quiet_start: str | None
    quiet_end: str | None
    weekends_off: bool | None
    lesson_time: str | None
    state_version: int
    networks: str | None


@dataclass(frozen=True)
class PlanningInputs:
    """What the scheduler reads about a batch of physicians besides their ``people`` rows."""

    profile_done: dict[int, int]
    """Profile checklist items done, of those given."""
    lessons_done: dict[int, frozenset[str]]
    reviews_due: dict[int, list[tuple[str, int]]]
    """(lesson id, attempts) of quiz questions due, longest overdue first."""
    next_review_at: dict[int, datetime]
    """When the next question not yet due comes due."""
    meetings: dict[int, list[Meeting]]
    """Registered meetings that have not ended (give or take a day for time zones)."""
    addresses: dict[int, dict[str, str]]
    stories: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    """Library stories to suggest: (story id, lift as epoch seconds) of live stories for each physician
    not yet planned, shared or declined, oldest lift first (embargoed ones are never here)."""
    next_lift: datetime | None = None
    """The next embargo lift of a story, after now: when planning must look again."""


@dataclass(frozen=True)
class Rate:
    """A budget: ``per_second`` on average, at most ``burst`` at once."""

    per_second: float
    burst: float = 1.0

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError(f"a rate needs per_second > 0 and burst >= 1, not {self}")

    @classmethod
    def per_minute(cls, count: float, burst: float = 1.0) -> Rate:
        return cls(count / 60.0, burst)

    @property
    def tolerance(self) -> float:
        """Seconds ``tat`` may run ahead of now before a caller waits (the burst)."""
        return (self.burst - 1.0) / self.per_second


@dataclass(frozen=True)
class BudgetState:
    """One budget as ``rounds outbox`` shows it."""

    key: str
    rate: Rate
    booked_seconds: float
    """How far ahead the budget is already given out (a new caller waits about this long)."""
    paused_seconds: float
    """Seconds left of a platform's Retry-After pause; 0 when none is active."""
