"""Every number marketing sees, defined once: what is counted, where the fact comes from, and how
the week-over-week change is taken.

A *level* (the share shown today) counts over every active physician of the group now. A *change*
counts over the same physicians both weeks: those who were on last week's stored marks and are
active now, each in their current department. So a roster import of new people, a meeting
invitation or a department nobody touched shows no change; new physicians join the change the
week after their first stored week. README "Numbers" is the table of these definitions.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from bot.core.readiness import PhysicianProgress, assess


class Source(Enum):
    """Where a fact comes from; every number says which."""

    VERIFIED = "verified"
    """Checked on the network by the daily sync."""
    SELF_REPORTED = "self_reported"
    """Typed or ticked by a person (a physician, or marketing for follow-backs)."""
    IN_BOT = "in_bot"
    """Done in the bot itself (lessons answered, Tweet Camp items ticked)."""
    MIXED = "mixed"
    """A composite of facts of several sources (the readiness score)."""


@dataclass(frozen=True)
class Metric:
    key: str
    source: Source


WITH_PROFILE = Metric("with_profile", Source.SELF_REPORTED)
PROFILE_COMPLETE = Metric("profile_complete", Source.SELF_REPORTED)
FOLLOWING = Metric("following", Source.SELF_REPORTED)
FOLLOWED_BACK = Metric("followed_back", Source.SELF_REPORTED)
CORE_LESSONS = Metric("core_lessons_done", Source.IN_BOT)
SCORE = Metric("score", Source.MIXED)

FLAGS = (WITH_PROFILE, PROFILE_COMPLETE, FOLLOWING, FOLLOWED_BACK, CORE_LESSONS)
"""The yes/no facts counted per physician (a share of the group)."""


@dataclass(frozen=True)
class Marks:
    """One physician's countable facts at one moment: the flag keys that hold, and the score."""

    flags: frozenset[str]
    score: int


def marks_of(progress: PhysicianProgress, extra: frozenset[str] = frozenset()) -> Marks:
    """The facts of ``FLAGS`` that hold for this physician (plus ``extra`` keys, e.g. verified facts)."""
    return _marks(progress, extra)


@lru_cache(maxsize=65_536)
def _marks(progress: PhysicianProgress, extra: frozenset[str]) -> Marks:
    """One shared instance per distinct progress and verified keys (a roster has a few thousand)."""
    flags = {WITH_PROFILE.key} if progress.has_handle else set()
    if progress.has_handle and progress.profile_done >= progress.profile_total:
        flags.add(PROFILE_COMPLETE.key)
    if progress.follows_hospital:
        flags.add(FOLLOWING.key)
    if progress.followed_back:
        flags.add(FOLLOWED_BACK.key)
    if progress.core_total > 0 and progress.core_done >= progress.core_total:
        flags.add(CORE_LESSONS.key)
    flags.update(extra)
    return Marks(frozenset(flags), assess(progress).score)


@dataclass(frozen=True)
class Change:
    """A week-over-week change over one cohort: the same physicians counted both weeks."""

    cohort: int
    """Physicians counted both weeks."""
    before: int
    """Last week: how many had the fact (for the score, the sum of scores)."""
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before

    @property
    def pts(self) -> int:
        """Percentage points of the cohort (for the score: points of the average)."""
        return round(100 * self.delta / self.cohort) if self.cohort else 0

    @property
    def average(self) -> int:
        """For the score: the change of the cohort's average score."""
        return round(self.delta / self.cohort) if self.cohort else 0


@dataclass(frozen=True)
class WeekChanges:
    """Changes by department and metric key, and for the whole hospital."""

    departments: Mapping[str, Mapping[str, Change]]
    hospital: Mapping[str, Change]
    joined: int
    """Active physicians now without last week's marks (new on the roster): in no change yet."""

    def of(self, department: str | None, key: str) -> Change | None:
        """One department's change (``None`` for the hospital's)."""
        return (self.hospital if department is None else self.departments.get(department, {})).get(key)


def changes(now: Mapping[int, tuple[str, Marks]], before: Mapping[int, Marks], keys: Iterable[str]) -> WeekChanges:
    """Changes of each flag in ``keys`` and of the score (key ``score``), per department and for the hospital.

    ``now``: person → (current department, marks now) for every active physician; ``before``: person →
    last week's marks. The cohort is the persons in both; each is counted in their current department
    both weeks, so the hospital's change is the sum of its departments' changes.
    """
    wanted = tuple(dict.fromkeys(keys))

    def empty() -> dict[str, list[int]]:
        return {key: [0, 0, 0] for key in (*wanted, SCORE.key)}

    departments: dict[str, dict[str, list[int]]] = {}
    hospital = empty()
    joined = 0
    for person, (department, current) in now.items():
        bucket = departments.setdefault(department, empty())
        then = before.get(person)
        if then is None:
            joined += 1
            continue
        for tally in (bucket, hospital):
            for key in wanted:
                counts = tally[key]
                counts[0] += 1
                counts[1] += key in then.flags
                counts[2] += key in current.flags
            score = tally[SCORE.key]
            score[0] += 1
            score[1] += then.score
            score[2] += current.score

    def freeze(tally: dict[str, list[int]]) -> dict[str, Change]:
        return {key: Change(*counts) for key, counts in tally.items()}

    return WeekChanges({name: freeze(tally) for name, tally in departments.items()}, freeze(hospital), joined)
