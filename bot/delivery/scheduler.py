"""Plans due reminders from stored state into the outbox (no in-memory timer list).

A tick plans only the physicians who are due for it: each has a ``plan_after`` instant, the next
time the pure policy could give them something new (``next_check``), and any change to what the
policy reads about them clears it. So a tick over a large roster reads a page or two of people
most of the time, and everyone only when the day turns in their zone. Planned messages enter
the outbox under deduplication keys before ``plan_after`` moves on: running a tick twice, on
several instances at once, or again after a crash plans nothing twice and loses nothing.

Planning runs in passes of about half a second (:meth:`Scheduler.plan_pass`): when the day turns for a
large roster, the service runs pass after pass until nobody due is left, and the sender starts on the
first page's messages while the rest is planned. No pass holds the event loop or the database for
long. The week's readiness snapshot, which the digest needs, is stored beside the passes, not inside one.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time as timer
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Config
from bot.content import Content
from bot.core.curriculum import next_lesson
from bot.core.digest import digest_due_at, iso_week
from bot.core.models import networks_of
from bot.core.reminders import NUDGE_PRIORITY, Cadence, Planner, PlanState, Respect, local_today
from bot.delivery.ports import DeliveryCoach, DeliveryStore, NewMessage, PlanningInputs, PlanningPerson

log = logging.getLogger(__name__)
PAGE = 1000
"""Physicians planned per batch (one set of queries, one outbox insert)."""
PASS_SECONDS = 0.5
"""A planning pass takes no new page after this long; the next pass goes on at once."""
SLICE = 200
"""Physicians planned between two turns of the event loop (a page's planning yields this often)."""
POLICY_SETTING = "scheduler.policy"
NOTHING: frozenset[str] = frozenset()
MAX_PLATFORM_SETS = 8
"""Platform sets remembered under one policy (there are only so many combinations of platforms)."""


@dataclass(frozen=True)
class Pass:
    """What one planning pass did."""

    added: int
    """New messages in the outbox."""
    more: bool
    """Physicians due now are left for the next pass."""


class Scheduler:
    def __init__(self, store: DeliveryStore, content: Content, config: Config, platforms: tuple[str, ...],
                 coach: DeliveryCoach, *, demo: bool = False, ready: Callable[[], None] | None = None,
                 page: int = PAGE, pass_seconds: float = PASS_SECONDS) -> None:
        self.store = store
        self.page = page
        self.pass_seconds = pass_seconds
        self.coach = coach
        self.content = content
        self.config = config
        self.platforms = platforms
        """Platforms that can deliver, in order of preference."""
        self.demo = demo
        self.cadence = Cadence(lesson_weekdays=config.lessons.weekdays, lesson_time=config.lessons.time,
                               max_nudges_per_day=config.max_nudges_per_day)
        self.profile_ids = frozenset(item.id for item in content.profile_items)
        self.policy = self._policy_fingerprint()
        self.ready = ready
        """Called when work started beside a pass (the week's snapshot) is done: plan again now."""
        self._snapshot: tuple[str, asyncio.Task[None]] | None = None

    async def tick(self, now: datetime) -> int:
        """Plan everything due at ``now``, pass after pass, and the week's digest once its snapshot is
        stored; returns how many new messages entered the outbox."""
        added = await self._passes(now)
        if await self.settle():
            added += await self._passes(now)
        return added

    async def settle(self) -> bool:
        """Wait for work started beside the passes (the week's snapshot); True when there was some."""
        if self._snapshot is None or self._snapshot[1].done():
            return False
        await asyncio.wait([self._snapshot[1]])
        return True

    async def _passes(self, now: datetime) -> int:
        added = 0
        while True:
            done = await self.plan_pass(now)
            added += done.added
            if not done.more:
                return added
            await asyncio.sleep(0)

    async def plan_pass(self, now: datetime) -> Pass:
        """Plan physicians due at ``now`` for about ``pass_seconds``, a page at a time, then the week's
        digest once nobody due is left; ``more`` when some are left for the next pass."""
        started = timer.perf_counter()
        stored = await self.store.settings.get(POLICY_SETTING)
        if self.policy not in (stored or "").split(","):
            replanned = await self.store.planning.replan_everyone()
            await self.store.settings.set(POLICY_SETTING, _policies_after(stored, self.policy, self.shared_policy))
            log.info("reminder settings or content changed: planning all %d physicians again", replanned)
        added = planned = checked = 0
        after = 0
        tick = _Tick(self, now)
        while page := await self.store.planning.due(now, after, self.page):
            after = page[-1].id
            messages, wakes = await self._plan_page(page, now, tick)
            added += await self.store.outbox.add(messages, now)  # before plan_after moves: nothing lost
            await self.store.planning.set_plan_after(wakes)
            planned += len(messages)
            checked += len(page)
            if timer.perf_counter() - started >= self.pass_seconds:
                log.debug("planning pass: %d new messages, %d physicians checked; more to plan", added, checked)
                return Pass(added, more=True)
            await asyncio.sleep(0)  # let Slack acks (3 s limit) through
        digests = await self._digest(now)
        added += await self.store.outbox.add(digests, now)
        if added:
            log.info("planned %d new messages (%d due, %d physicians checked)", added, planned + len(digests), checked)
        return Pass(added, more=False)

    async def close(self) -> None:
        """Stop work started beside the passes (a snapshot not yet stored is stored by a later tick)."""
        if self._snapshot is not None:
            task = self._snapshot[1]
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            self._snapshot = None

    async def _plan_page(self, page: list[PlanningPerson], now: datetime,
                         tick: _Tick) -> tuple[list[NewMessage], list[tuple[int, int, datetime]]]:
        ids = [person.id for person in page]
        inputs = await self.store.planning.inputs(ids, now, self.profile_ids)
        recent = await self.store.outbox.capped_since(now - timedelta(days=2), NUDGE_PRIORITY, ids)
        messages: list[NewMessage] = []
        wakes: list[tuple[int, int, datetime]] = []
        planner = tick.planner
        for index, person in enumerate(page):
            if index and not index % SLICE:
                await asyncio.sleep(0)  # let Slack acks (3 s limit) through during a long tick
            state = self._state(person, inputs, recent.get(person.id, ()), tick)
            cadence = tick.cadence(person.lesson_time)
            target = self._address(person.id, person.email, inputs.addresses)
            if target is not None:
                platform, address = target
                messages.extend(NewMessage(dedup_key=p.dedup_key, person_id=p.person_id, platform=platform,
                                           address=address, kind=p.kind, spec=p.spec, due_at=p.due_at)
                                for p in planner.plan(state, cadence))
            wake = planner.next_check(state, cadence)
            if wake is not None:
                wakes.append((person.id, person.state_version, wake))
        return messages, wakes

    def _state(self, person: PlanningPerson, inputs: PlanningInputs, recent: tuple[datetime, ...] | list[datetime],
               tick: _Tick) -> PlanState:
        respect = tick.respect(person)
        zone = respect.zone
        today = tick.today(zone)
        meetings = inputs.meetings.get(person.id)
        return PlanState(
            person_id=person.id,
            joined_at=person.created_at,
            respect=respect,
            has_handle=person.x_handle is not None,
            profile_complete=inputs.profile_done.get(person.id, 0) >= len(self.profile_ids),
            follows_hospital=person.follows_hospital,
            next_lesson=tick.next_lesson(inputs.lessons_done.get(person.id, NOTHING), person.networks),
            reviews_due=tuple(inputs.reviews_due.get(person.id, ())),
            next_review_at=inputs.next_review_at.get(person.id),
            meetings=tuple(m for m in meetings if m.ends_on >= today) if meetings else (),
            nudges_today=sum(1 for due in recent if local_today(due, zone) == today) if recent else 0,
            stories=inputs.stories.get(person.id, ()),
            next_story_at=inputs.next_lift,
        )

    def _policy_fingerprint(self) -> str:
        """What planning reads besides each physician's own state: ``<shared>.<platforms>``. When this
        instance's is not among those stored (new settings or content, or a platform set not planned
        for yet), every physician is planned again.

        Instances sharing a database may deliver on different platforms (one Slack only, one Slack and
        Teams). Each platform set seen under the same settings and content is remembered beside the
        others, so such instances do not take turns planning everyone on every tick."""
        c = self.content
        lessons = [lesson.id for lesson in c.curriculum.learning_order]
        parts = (self.cadence, self.config.quiet_hours, self.config.zone.key, self.demo, lessons,
                 [(phase.id, phase.offset_days) for phase in c.camp_phases], sorted(self.profile_ids))
        self.shared_policy = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
        platforms = hashlib.sha256(repr(self.platforms).encode()).hexdigest()[:8]
        return f"{self.shared_policy}.{platforms}"

    async def _digest(self, now: datetime) -> list[NewMessage]:
        """This week's digest to the marketing channels and each marketing manager, once it is due."""
        config = self.config
        today = local_today(now, config.zone)
        if now < digest_due_at(today, config.digest.weekday, config.digest.time, config.zone):
            return []
        week = iso_week(today)
        if not self._snapshot_stored(week, now):
            return []
        spec = {"week": week}
        messages = [NewMessage(f"digest:{week}:{platform}:{channel}", None, platform, channel, "digest", spec, now)
                    for platform, channel in (("slack", config.slack_marketing_channel),
                                              ("teams", config.teams_marketing_channel))
                    if channel and platform in self.platforms]
        managers = await self.store.people.managers(config.admins)
        addresses = await self.store.conversations.addresses([manager.id for manager in managers])
        for manager in managers:
            target = self._address(manager.id, manager.email, addresses)
            if target is not None:
                messages.append(NewMessage(f"digest:{week}:person:{manager.id}", manager.id, target[0], target[1],
                                           "digest", spec, now))
        return messages

    def _snapshot_stored(self, week: str, now: datetime) -> bool:
        """Whether this week's readiness snapshot is stored (the digest compares with it). If not, storing
        it starts beside the planning passes; ``ready`` is called when it is done."""
        if self._snapshot is None or self._snapshot[0] != week:
            self._snapshot = (week, asyncio.create_task(self._store_snapshot(week, now), name=f"snapshot {week}"))
            return False
        task = self._snapshot[1]
        if not task.done():
            return False
        if task.cancelled() or task.exception() is not None:
            self._snapshot = None  # the next pass tries again
            return False
        return True

    async def _store_snapshot(self, week: str, now: datetime) -> None:
        try:
            if await self.coach.save_weekly_snapshot(now):
                log.info("stored readiness snapshot for %s", week)
        except Exception:
            log.exception("storing the readiness snapshot for %s failed; the next tick tries again", week)
            raise
        if self.ready is not None:
            self.ready()

    def _address(self, person_id: int, email: str, addresses: dict[int, dict[str, str]]) -> tuple[str, str] | None:
        known = addresses.get(person_id, {})
        for platform in self.platforms:
            if platform in known:
                return platform, known[platform]
        if "slack" in self.platforms:
            return "slack", f"email:{email}"  # resolved with users.lookupByEmail at send time
        if self.demo and "web" in self.platforms:
            return "web", email
        return None

    def _zone(self, name: str | None) -> ZoneInfo:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return self.config.zone


class _Tick:
    """What one tick works out once and shares between physicians: zones, quiet hours, cadences,
    next lessons, and the policy's planner (what depends only on a zone, the quiet hours, the lesson
    time or a meeting is worked out once per instant; each physician is still planned on their own)."""

    def __init__(self, scheduler: Scheduler, now: datetime) -> None:
        self.scheduler = scheduler
        self.now = now
        self.planner = Planner(scheduler.content.camp_phases, now)
        self._respects: dict[tuple[object, ...], Respect] = {}
        self._cadences: dict[str | None, Cadence] = {}
        self._lessons: dict[tuple[frozenset[str], str | None], str | None] = {}
        self._today: dict[ZoneInfo, date] = {}

    def respect(self, person: PlanningPerson) -> Respect:
        """The hospital's quiet hours and weekends, unless the physician chose their own."""
        key = (person.timezone, person.quiet_start, person.quiet_end, person.weekends_off, person.snoozed_until)
        found = self._respects.get(key)
        if found is None:
            hospital = self.scheduler.config.quiet_hours
            found = self._respects[key] = Respect(
                self.scheduler._zone(person.timezone),
                quiet_start=_clock(person.quiet_start) or hospital.start,
                quiet_end=_clock(person.quiet_end) or hospital.end,
                weekends_off=hospital.weekends if person.weekends_off is None else person.weekends_off,
                snoozed_until=person.snoozed_until,
            )  # stopped physicians are not due for planning
        return found

    def cadence(self, lesson_time: str | None) -> Cadence:
        found = self._cadences.get(lesson_time)
        if found is None:
            clock = _clock(lesson_time)
            base = self.scheduler.cadence
            found = self._cadences[lesson_time] = replace(base, lesson_time=clock) if clock else base
        return found

    def next_lesson(self, done: frozenset[str], networks: str | None) -> str | None:
        key = (done, networks)
        if key not in self._lessons:
            lesson = next_lesson(self.scheduler.content.curriculum, done, networks_of(networks))
            self._lessons[key] = lesson.id if lesson else None
        return self._lessons[key]

    def today(self, zone: ZoneInfo) -> date:
        found = self._today.get(zone)
        if found is None:
            found = self._today[zone] = local_today(self.now, zone)
        return found



def _policies_after(stored: str | None, policy: str, shared: str) -> str:
    """The stored fingerprints plus ``policy``, keeping only those of the same settings and content."""
    kept = [p for p in (stored or "").split(",") if p.startswith(shared + ".")]
    return ",".join([*kept[-(MAX_PLATFORM_SETS - 1):], policy])


def _clock(value: str | None) -> time | None:
    """A stored "HH:MM" preference, or None."""
    if not value:
        return None
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes))
