"""Reminder policy: given a physician's state and an instant, which messages are due.

Pure and deterministic. Every message carries a deduplication key built from the physician,
the kind and the period (a cadence step, a local date, a meeting phase), so planning the same
instant twice, or two instances planning at once, yields the same keys: the outbox stores each
key once. Periods are local dates or steps, never "now", so clock skew and DST changes cannot
double or skip a day.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from bot.core.models import CampPhase, Meeting
from bot.core.tweetcamp import timeline

Kind = Literal["profile", "follow", "lesson", "review", "camp", "story"]
NUDGE_PRIORITY: tuple[Kind, ...] = ("story", "review", "lesson", "profile", "follow")
"""Counted against the daily cap, most valuable first (a library story is news: it goes first);
``camp`` countdowns are not capped."""
ESCALATION_DAYS = (0, 3, 7, 14)
MONTHLY_DAYS = 30


@dataclass(frozen=True)
class Respect:
    """When a physician may be messaged."""

    zone: ZoneInfo
    quiet_start: time = time(19, 0)
    quiet_end: time = time(8, 0)
    weekends_off: bool = True
    snoozed_until: datetime | None = None
    stopped: bool = False


@dataclass(frozen=True)
class Cadence:
    lesson_weekdays: tuple[int, ...] = (1, 3)
    lesson_time: time = time(8, 30)
    max_nudges_per_day: int = 1


@dataclass(frozen=True)
class PlanState:
    """What the policy needs to know about one physician."""

    person_id: int
    joined_at: datetime
    respect: Respect
    has_handle: bool
    profile_complete: bool
    follows_hospital: bool
    next_lesson: str | None
    """Id of the next new lesson, or None when the curriculum is done."""
    reviews_due: tuple[tuple[str, int], ...] = ()
    """(lesson id, attempts so far) of quiz questions due for review."""
    next_review_at: datetime | None = None
    """When the next quiz question not yet due becomes due."""
    meetings: tuple[Meeting, ...] = ()
    """Registered meetings that have not ended."""
    nudges_today: int = 0
    """Capped nudges already planned for this physician's local today."""
    stories: tuple[tuple[int, int], ...] = ()
    """Library stories to suggest: (story id, lift as epoch seconds), live and not yet planned for them."""
    next_story_at: datetime | None = None
    """The next embargo lift of a library story (a story may be for them once it lifts)."""


@dataclass(frozen=True)
class Planned:
    person_id: int
    kind: Kind
    dedup_key: str
    due_at: datetime
    spec: dict[str, str | int] = field(default_factory=dict)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def may_send(respect: Respect, now: datetime) -> bool:
    """Outside quiet hours and weekends, not snoozed, not stopped."""
    if respect.stopped or (respect.snoozed_until is not None and now < respect.snoozed_until):
        return False
    local = now.astimezone(respect.zone)
    if respect.weekends_off and local.weekday() >= 5:
        return False
    start, end, at = respect.quiet_start, respect.quiet_end, local.time()
    in_quiet = (start <= at or at < end) if start > end else (start <= at < end)  # start == end: none
    return not in_quiet


def escalation_step(joined_at: datetime, now: datetime, zone: ZoneInfo) -> int | None:
    """Index of the latest nudge step reached: day 0, 3, 7, 14, then every 30 days (local days)."""
    return _step_after((local_today(now, zone) - local_today(joined_at, zone)).days)


def _step_after(days: int) -> int | None:
    """``escalation_step`` for a physician who joined ``days`` local days ago."""
    if days < 0:
        return None
    if days < ESCALATION_DAYS[-1]:
        return max(i for i, d in enumerate(ESCALATION_DAYS) if d <= days)
    return len(ESCALATION_DAYS) - 1 + (days - ESCALATION_DAYS[-1]) // MONTHLY_DAYS


MIDNIGHT = time(0, 0)


@lru_cache(maxsize=16_384)
def _at_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant of a local wall-clock time; a time skipped by DST moves to the next valid one."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone)
    roundtrip = aware.astimezone(ZoneInfo("UTC")).astimezone(zone)
    if roundtrip.replace(tzinfo=None) != naive:  # in a spring-forward gap
        aware = (naive + timedelta(hours=1)).replace(tzinfo=zone)
    return aware.astimezone(ZoneInfo("UTC"))


def plan(state: PlanState, cadence: Cadence, phases: tuple[CampPhase, ...], now: datetime) -> list[Planned]:
    """Messages due for one physician at ``now``; empty when they may not be messaged now."""
    return Planner(phases, now).plan(state, cadence)


CHECK_HORIZON_DAYS = 8
"""How far ahead ``next_check`` looks for an instant messages are allowed again (a week and a day)."""


def next_check(state: PlanState, cadence: Cadence, now: datetime) -> datetime | None:
    """The earliest instant after ``now`` at which ``plan`` could give something it does not give now.

    Holds while the physician's state stays as it is: any change to it (or to the policy) must
    plan them again at once. ``plan`` changes only at a local midnight (new day: escalation step,
    lesson day, Tweet Camp phase, the daily cap), at the lesson time, when quiet hours end, when a
    snooze ends, when a quiz question comes due and when a library story's embargo lifts; and only the first of those at which messages
    are allowed matters, since ``plan`` gives nothing while they are not. None: never (stopped).
    """
    respect = state.respect
    if respect.stopped:
        return None
    zone = respect.zone
    today = local_today(now, zone)

    def ahead(days: int) -> tuple[list[datetime], datetime]:
        """Candidate instants up to the end of ``days`` days from today, and that end."""
        end = _at_local(today + timedelta(days=days + 1), MIDNIGHT, zone)
        found = [respect.snoozed_until, state.next_review_at, state.next_story_at]
        for offset in range(days + 1):
            day = today + timedelta(days=offset)
            found += [_at_local(day, MIDNIGHT, zone), _at_local(day, cadence.lesson_time, zone),
                      _at_local(day, respect.quiet_end, zone)]
        return sorted(at for at in found if at is not None and now < at < end), end

    for days in (1, CHECK_HORIZON_DAYS):  # tomorrow usually settles it
        instants, end = ahead(days)
        allowed = next((at for at in instants if may_send(respect, at)), None)
        if allowed is not None:
            return allowed
    return max(end, respect.snoozed_until or end)  # a long snooze: nothing before it ends


class Planner:
    """``plan`` and ``next_check`` for one instant, for one physician or many (one scheduler tick).

    What depends only on the zone, the quiet hours, the lesson time or a meeting (whether messages
    are allowed now, today's date and lesson instant, which Tweet Camp phases are open) is worked
    out once and shared by every physician with the same values; each physician then costs a few
    lookups. ``next_check`` likewise: the instants it looks at are worked out once per zone, quiet
    hours, snooze and lesson time, and a physician's next quiz review is compared with them.
    Keep one planner for one instant and one set of ``phases``.
    """

    def __init__(self, phases: tuple[CampPhase, ...], now: datetime) -> None:
        self.phases = phases
        self.now = now
        self._allowed: dict[Respect, bool] = {}
        self._days: dict[tuple[ZoneInfo, Cadence], tuple[date, datetime, bool]] = {}
        self._camps: dict[tuple[object, ...], tuple[tuple[str, dict[str, str | int]], ...]] = {}
        self._checks: dict[tuple[Respect, Cadence, datetime | None], datetime | None] = {}

    def plan(self, state: PlanState, cadence: Cadence) -> list[Planned]:
        """Messages due for one physician at this instant; empty when they may not be messaged now."""
        respect, now = state.respect, self.now
        allowed = self._allowed.get(respect)
        if allowed is None:
            allowed = self._allowed[respect] = may_send(respect, now)
        if not allowed:
            return []
        zone = respect.zone
        day = self._days.get((zone, cadence)) or self._day(zone, cadence)
        today, morning, lesson_now = day
        pid = state.person_id
        chosen: list[Planned] = []
        room = cadence.max_nudges_per_day - state.nudges_today  # in the order of NUDGE_PRIORITY
        if room > 0 and state.stories:
            story_id, lift = state.stories[0]
            chosen.append(Planned(pid, "story", f"{pid}:story:{story_id}:{lift}", now, {"story": story_id}))
        if len(chosen) < room and state.reviews_due:
            lesson_id, attempts = state.reviews_due[0]
            chosen.append(Planned(pid, "review", f"{pid}:review:{lesson_id}:{attempts}", now, {"lesson": lesson_id}))
        if len(chosen) < room and lesson_now and state.next_lesson:
            chosen.append(Planned(pid, "lesson", f"{pid}:lesson:{today.isoformat()}", morning,
                                  {"lesson": state.next_lesson}))
        if len(chosen) < room:
            step = _step_after((today - local_today(state.joined_at, zone)).days)
            if step is not None and not (state.has_handle and state.profile_complete):
                chosen.append(Planned(pid, "profile", f"{pid}:profile:{step}", now, {"step": step}))
            if step is not None and len(chosen) < room and state.has_handle and not state.follows_hospital:
                chosen.append(Planned(pid, "follow", f"{pid}:follow:{step}", now, {"step": step}))
        for meeting in state.meetings:
            camp = self._camps.get((meeting.id, meeting.starts_on, meeting.ends_on, zone, cadence))
            if camp is None:
                camp = self._camp(meeting, zone, cadence, day)
            chosen.extend(Planned(pid, "camp", f"{pid}:camp:{suffix}", now, dict(spec)) for suffix, spec in camp)
        return chosen

    def _day(self, zone: ZoneInfo, cadence: Cadence) -> tuple[date, datetime, bool]:
        """(local today, today's lesson instant, whether a lesson is due now) in ``zone``."""
        today = local_today(self.now, zone)
        morning = _at_local(today, cadence.lesson_time, zone)
        day = self._days[(zone, cadence)] = (today, morning,
                                             today.weekday() in cadence.lesson_weekdays and self.now >= morning)
        return day

    def _camp(self, meeting: Meeting, zone: ZoneInfo, cadence: Cadence,
              day: tuple[date, datetime, bool]) -> tuple[tuple[str, dict[str, str | int]], ...]:
        """(dedup key after the person, spec) of the Tweet Camp reminders due now for ``meeting``."""
        today, morning, _ = day
        now = self.now
        due: list[tuple[str, dict[str, str | int]]] = []
        for entry in timeline(self.phases, meeting.starts_on, meeting.ends_on, today):
            if entry.state != "open":
                continue
            if entry.phase.every_meeting_day:  # late-breakers run all week: a reminder each meeting day
                if meeting.starts_on <= today <= meeting.ends_on and now >= morning:
                    number = (today - meeting.starts_on).days + 1
                    due.append((f"{meeting.id}:{entry.phase.id}:{today.isoformat()}",
                                {"meeting": meeting.id, "phase": entry.phase.id, "day": number}))
            elif now >= min(morning, _at_local(entry.due_on, cadence.lesson_time, zone)):
                due.append((f"{meeting.id}:{entry.phase.id}", {"meeting": meeting.id, "phase": entry.phase.id}))
        camp = self._camps[(meeting.id, meeting.starts_on, meeting.ends_on, zone, cadence)] = tuple(due)
        return camp

    def next_check(self, state: PlanState, cadence: Cadence) -> datetime | None:
        """``next_check(state, cadence, self.now)``.

        The instant for the physician's quiet hours, zone, snooze, lesson time and the next story lift
        without their next review is shared; the review only matters when it comes before that instant at a time
        messages are allowed (``next_check`` takes the first allowed instant of them all)."""
        respect = state.respect
        key = (respect, cadence, state.next_story_at)
        if key in self._checks:
            base = self._checks[key]
        else:
            base = self._checks[key] = next_check(replace(state, next_review_at=None), cadence, self.now)
        review = state.next_review_at
        if base is None or review is None or not self.now < review < base or not may_send(respect, review):
            return base
        return review
