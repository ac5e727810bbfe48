"""A physician's stored state, as the core sees it, and the progress derived from it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


def next_enrollment(enrollments: tuple[Enrollment, ...], today: date) -> Enrollment | None:
    """The registered meeting that has not ended yet and starts soonest."""
    current = [e for e in enrollments if e.meeting.ends_on >= today]
    return min(current, key=lambda e: (e.meeting.starts_on, e.meeting.id), default=None)


def progress_of(snapshot: PersonSnapshot, curriculum: Curriculum, profile_items: tuple[ProfileItem, ...],
                camp_phases: tuple[CampPhase, ...], today: date) -> PhysicianProgress:
    known_profile = {item.id for item in profile_items}
    core_done, core_total = core_progress(curriculum, snapshot.lessons_done)
    enrollment = next_enrollment(snapshot.enrollments, today)
    camp = None
    if enrollment is not None:
        item_ids = {item.id for item in all_items(camp_phases)}
        camp = CampProgress(enrollment.meeting.name, len(enrollment.camp_done & item_ids), len(item_ids))
    return PhysicianProgress(
        has_handle=snapshot.x_handle is not None,
        profile_done=len(snapshot.profile_done & known_profile),
        profile_total=len(known_profile),
        follows_hospital=snapshot.follows_hospital,
        followed_back=snapshot.followed_back,
        core_done=core_done,
        core_total=core_total,
        camp=camp,
        video_posted=snapshot.video_posted,
    )
