"""A physician's stored state, as the core sees it, and the progress derived from it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import NamedTuple, TypeVar

from bot.core.curriculum import core_progress
from bot.core.models import CampPhase, Curriculum, Meeting, ProfileItem
from bot.core.readiness import CampProgress, PhysicianProgress
from bot.core.tweetcamp import all_items


@dataclass(frozen=True)
class Enrollment:
    meeting: Meeting
    camp_done: frozenset[str]


@dataclass(frozen=True)
class PersonSnapshot:
    person_id: int
    name: str
    email: str
    department: str
    x_handle: str | None
    follows_hospital: bool
    followed_back: bool
    video_posted: bool
    profile_done: frozenset[str]
    lessons_done: frozenset[str]
    enrollments: tuple[Enrollment, ...]


@dataclass(frozen=True)
class CampCount:
    """A registered meeting and how many of its Tweet Camp items (known to the content) are done."""

    meeting: Meeting
    done: int


class RosterCounts(NamedTuple):
    """One physician as the whole-roster reports need them: flags and counts instead of sets.

    The digest, reports and exports read one for every physician, so the store counts in SQL,
    and a tuple is built several times faster than a frozen dataclass.
    """

    person_id: int
    name: str
    email: str
    department: str
    x_handle: str | None
    follows_hospital: bool
    followed_back: bool
    video_posted: bool
    profile_done: int
    """Profile checklist items done, of those the content knows."""
    core_done: int
    """Core lessons done, of those the curriculum holds."""
    enrollments: tuple[CampCount, ...]
    """Registered meetings that have not ended."""


E = TypeVar("E", Enrollment, CampCount)


def next_enrollment(enrollments: tuple[E, ...], today: date) -> E | None:
    """The registered meeting that has not ended yet and starts soonest."""
    if not enrollments:
        return None
    current = [e for e in enrollments if e.meeting.ends_on >= today]
    return min(current, key=lambda e: (e.meeting.starts_on, e.meeting.id), default=None)


def camp_counts(enrollments: tuple[Enrollment, ...], camp_phases: tuple[CampPhase, ...]) -> tuple[CampCount, ...]:
    item_ids = {item.id for item in all_items(camp_phases)}
    return tuple(CampCount(e.meeting, len(e.camp_done & item_ids)) for e in enrollments)


@dataclass(frozen=True)
class Totals:
    """How many items each stage has in the content (what "done" is measured against)."""

    profile: int
    core: int
    camp: int

    @classmethod
    def of(cls, curriculum: Curriculum, profile_items: tuple[ProfileItem, ...],
           camp_phases: tuple[CampPhase, ...]) -> Totals:
        return cls(profile=len({item.id for item in profile_items}), core=len(curriculum.core_ids),
                   camp=len({item.id for item in all_items(camp_phases)}))


def progress_of(snapshot: PersonSnapshot, curriculum: Curriculum, profile_items: tuple[ProfileItem, ...],
                camp_phases: tuple[CampPhase, ...], today: date) -> PhysicianProgress:
    known_profile = {item.id for item in profile_items}
    core_done, _ = core_progress(curriculum, snapshot.lessons_done)
    counts = RosterCounts(
        snapshot.person_id, snapshot.name, snapshot.email, snapshot.department, snapshot.x_handle,
        snapshot.follows_hospital, snapshot.followed_back, snapshot.video_posted,
        profile_done=len(snapshot.profile_done & known_profile), core_done=core_done,
        enrollments=camp_counts(snapshot.enrollments, camp_phases))
    return progress_of_counts(counts, Totals.of(curriculum, profile_items, camp_phases), today)


def progress_of_counts(counts: RosterCounts, totals: Totals, today: date) -> PhysicianProgress:
    enrollment = next_enrollment(counts.enrollments, today)
    return _progress(counts.x_handle is not None, counts.profile_done, totals.profile, counts.follows_hospital,
                     counts.followed_back, counts.core_done, totals.core,
                     enrollment.meeting.name if enrollment else None, enrollment.done if enrollment else 0,
                     totals.camp, counts.video_posted)


@lru_cache(maxsize=65_536)
def _progress(has_handle: bool, profile_done: int, profile_total: int, follows_hospital: bool, followed_back: bool,
              core_done: int, core_total: int, meeting: str | None, camp_done: int, camp_total: int,
              video_posted: bool) -> PhysicianProgress:
    """One shared instance per distinct progress: a roster of 50,000 has a few thousand, and
    building frozen dataclasses costs more than looking them up (as does hashing them for ``assess``)."""
    return PhysicianProgress(
        has_handle=has_handle, profile_done=profile_done, profile_total=profile_total,
        follows_hospital=follows_hospital, followed_back=followed_back, core_done=core_done, core_total=core_total,
        camp=CampProgress(meeting, camp_done, camp_total) if meeting is not None else None,
        video_posted=video_posted)
