"""Readiness: how far a physician is on the path to a confident professional presence.

Stages in order: profile created, profile complete, follows the hospital, followed back,
core lessons done, Tweet Camp done for the next registered meeting, and a bonus for video.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from bot.core.words import Say, say


class Stage(Enum):
    PROFILE_CREATED = "profile_created"
    PROFILE_COMPLETE = "profile_complete"
    FOLLOWS_HOSPITAL = "follows_hospital"
    FOLLOWED_BACK = "followed_back"
    CORE_LESSONS = "core_lessons"
    TWEET_CAMP = "tweet_camp"
    VIDEO = "video"

    @property
    def label(self) -> Say:
        """The stage reached, in words (``prompts/words.yaml``)."""
        return _LABELS[self]

    @property
    def todo(self) -> Say:
        """The stage as a thing to do, for "next step" columns."""
        return _TODOS[self]


_LABELS = {
    Stage.PROFILE_CREATED: say("readiness_profile_created"),
    Stage.PROFILE_COMPLETE: say("readiness_profile_complete"),
    Stage.FOLLOWS_HOSPITAL: say("readiness_follows_hospital"),
    Stage.FOLLOWED_BACK: say("readiness_followed_back"),
    Stage.CORE_LESSONS: say("readiness_core_lessons"),
    Stage.TWEET_CAMP: say("readiness_tweet_camp"),
    Stage.VIDEO: say("readiness_video"),
}

_TODOS = {
    Stage.PROFILE_CREATED: say("readiness_todo_profile_created"),
    Stage.PROFILE_COMPLETE: say("readiness_todo_profile_complete"),
    Stage.FOLLOWS_HOSPITAL: say("readiness_todo_follows_hospital"),
    Stage.FOLLOWED_BACK: say("readiness_todo_followed_back"),
    Stage.CORE_LESSONS: say("readiness_todo_core_lessons"),
    Stage.TWEET_CAMP: say("readiness_todo_tweet_camp"),
    Stage.VIDEO: say("readiness_todo_video"),
}

WEIGHTS = {
    Stage.PROFILE_CREATED: 20,
    Stage.PROFILE_COMPLETE: 15,
    Stage.FOLLOWS_HOSPITAL: 15,
    Stage.FOLLOWED_BACK: 10,
    Stage.CORE_LESSONS: 25,
}
"""The score's stages. Tweet Camp is not one: it is measured per meeting over its attendees, so an
invitation to a meeting, or its end, does not move anyone's score (README "Numbers")."""
VIDEO_BONUS = 5
MARKETING_STAGES = frozenset({Stage.FOLLOWED_BACK})
"""Stages the hospital completes, not the physician: never offered as a next step."""


@dataclass(frozen=True)
class CampProgress:
    meeting_name: str
    done: int
    total: int


@dataclass(frozen=True)
class PhysicianProgress:
    """Everything readiness depends on, gathered from the store."""

    has_handle: bool
    profile_done: int
    profile_total: int
    follows_hospital: bool
    followed_back: bool
    core_done: int
    core_total: int
    camp: CampProgress | None
    """Tweet Camp of the next registered meeting; None when none is registered."""
    video_posted: bool = False


@dataclass(frozen=True)
class StageStatus:
    stage: Stage
    fraction: float
    """0.0–1.0 of this stage done."""
    applicable: bool = True

    @property
    def done(self) -> bool:
        return self.applicable and self.fraction >= 1.0


@dataclass(frozen=True)
class Readiness:
    score: int
    stages: tuple[StageStatus, ...]
    reached: Stage | None
    """The last stage completed with every earlier applicable stage completed too."""
    next_step: Stage | None
    """The first stage the physician can act on that is not done; None when all are."""

    def status(self, stage: Stage) -> StageStatus:
        return next(s for s in self.stages if s.stage is stage)


def _fraction(done: int, total: int) -> float:
    if total <= 0:
        return 1.0
    return max(0.0, min(1.0, done / total))


@lru_cache(maxsize=16_384)
def assess(progress: PhysicianProgress) -> Readiness:
    """Score (0–100), stage reached and the single next step."""
    camp = progress.camp
    stages = (
        StageStatus(Stage.PROFILE_CREATED, 1.0 if progress.has_handle else 0.0),
        StageStatus(Stage.PROFILE_COMPLETE,
                    _fraction(progress.profile_done, progress.profile_total) if progress.has_handle else 0.0),
        StageStatus(Stage.FOLLOWS_HOSPITAL, 1.0 if progress.follows_hospital else 0.0),
        StageStatus(Stage.FOLLOWED_BACK, 1.0 if progress.followed_back else 0.0),
        StageStatus(Stage.CORE_LESSONS, _fraction(progress.core_done, progress.core_total)),
        StageStatus(Stage.TWEET_CAMP, _fraction(camp.done, camp.total) if camp else 0.0,
                    applicable=camp is not None),
        StageStatus(Stage.VIDEO, 1.0 if progress.video_posted else 0.0),
    )
    applicable = [s for s in stages if s.applicable and s.stage in WEIGHTS]
    earned = sum(WEIGHTS[s.stage] * s.fraction for s in applicable)
    possible = sum(WEIGHTS[s.stage] for s in applicable)
    score = round(100 * earned / possible)
    if progress.video_posted:
        score = min(100, score + VIDEO_BONUS)

    reached = None
    for status in stages:
        if not status.applicable:
            continue
        if not status.done:
            break
        reached = status.stage
    next_step = next((s.stage for s in stages
                      if s.applicable and not s.done and s.stage not in MARKETING_STAGES), None)
    return Readiness(score=score, stages=stages, reached=reached, next_step=next_step)
