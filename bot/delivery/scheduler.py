"""Plans due reminders from stored state into the outbox (no in-memory timer list).

A tick reads every active physician's state, asks the pure policy what is due at this
instant, and adds those messages to the outbox under their deduplication keys. Running a
tick twice, or on several instances at once, plans nothing twice.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.coach import Coach
from bot.config import Config
from bot.content import Content
from bot.core.curriculum import next_lesson
from bot.core.digest import digest_due_at, iso_week
from bot.core.reminders import NUDGE_PRIORITY, Cadence, PlanState, Planned, Respect, local_today, plan
from bot.store import Person, Store
from bot.store.outbox import NewMessage

log = logging.getLogger(__name__)
YIELD_EVERY = 500
"""Physicians planned between two yields to the event loop."""


class Scheduler:
    def __init__(self, store: Store, content: Content, config: Config, platforms: tuple[str, ...],
                 coach: Coach, *, demo: bool = False) -> None:
        self.store = store
        self.coach = coach
        self.content = content
        self.config = config
        self.platforms = platforms
        """Platforms that can deliver, in order of preference."""
        self.demo = demo
        self.cadence = Cadence(lesson_weekdays=config.lessons.weekdays, lesson_time=config.lessons.time,
                               max_nudges_per_day=config.max_nudges_per_day)

    async def tick(self, now: datetime) -> int:
        """Plan everything due at ``now``; returns how many new messages entered the outbox."""
        people = await self.store.people(role="physician")
        snapshots = {s.person_id: s for s in await self.store.snapshots()}
        reviews = await self.store.due_reviews(now)
        addresses = await self.store.addresses()
        recent = await self.store.outbox.capped_since(now - timedelta(days=2), NUDGE_PRIORITY)
        profile_ids = {item.id for item in self.content.profile_items}
        planned: list[NewMessage] = []
        for index, person in enumerate(people):
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let Slack acks (3 s limit) through during a long tick
            snapshot = snapshots.get(person.id)
            target = self._address(person.id, person.email, addresses)
            if snapshot is None or target is None:
                continue
            zone = self._zone(person.timezone)
            today = local_today(now, zone)
            state = PlanState(
                person_id=person.id,
                joined_at=person.created_at,
                respect=self._respect(person, zone),
                has_handle=person.x_handle is not None,
                profile_complete=profile_ids <= snapshot.profile_done,
                follows_hospital=person.follows_hospital_at is not None,
                next_lesson=(lesson.id if (lesson := next_lesson(self.content.curriculum, snapshot.lessons_done))
                             else None),
                reviews_due=tuple(reviews.get(person.id, ())),
                meetings=tuple(e.meeting for e in snapshot.enrollments if e.meeting.ends_on >= today),
                nudges_today=sum(1 for due in recent.get(person.id, ()) if local_today(due, zone) == today),
            )
            platform, address = target
            cadence = replace(self.cadence, lesson_time=_clock(person.lesson_time) or self.cadence.lesson_time)
            planned.extend(self._message(p, platform, address) for p in
                           plan(state, cadence, self.content.camp_phases, now))
        planned.extend(await self._digest(now, people, addresses))
        added = await self.store.outbox.add(planned, now)
        if added:
            log.info("planned %d new messages (%d due)", added, len(planned))
        return added

    async def _digest(self, now: datetime, people: list, addresses: dict[int, dict[str, str]]) -> list[NewMessage]:
        """This week's digest to the marketing channels and each marketing manager, once it is due."""
        config = self.config
        today = local_today(now, config.zone)
        if now < digest_due_at(today, config.digest.weekday, config.digest.time, config.zone):
            return []
        week = iso_week(today)
        if await self.coach.save_weekly_snapshot(now):
            log.info("stored readiness snapshot for %s", week)
        spec = {"week": week}
        messages = [NewMessage(f"digest:{week}:{platform}:{channel}", None, platform, channel, "digest", spec, now)
                    for platform, channel in (("slack", config.slack_marketing_channel),
                                              ("teams", config.teams_marketing_channel))
                    if channel and platform in self.platforms]
        managers = await self.store.people(role="admin")
        managers += [p for p in people if config.is_admin(p.email)]
        for manager in managers:
            target = self._address(manager.id, manager.email, addresses)
            if target is not None:
                messages.append(NewMessage(f"digest:{week}:person:{manager.id}", manager.id, target[0], target[1],
                                           "digest", spec, now))
        return messages

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

    def _respect(self, person: Person, zone: ZoneInfo) -> Respect:
        """The hospital's quiet hours and weekends, unless the physician chose their own."""
        hospital = self.config.quiet_hours
        return Respect(
            zone,
            quiet_start=_clock(person.quiet_start) or hospital.start,
            quiet_end=_clock(person.quiet_end) or hospital.end,
            weekends_off=hospital.weekends if person.weekends_off is None else person.weekends_off,
            snoozed_until=person.snoozed_until,
            stopped=person.stopped_at is not None,
        )

    def _zone(self, name: str | None) -> ZoneInfo:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return self.config.zone

    @staticmethod
    def _message(p: Planned, platform: str, address: str) -> NewMessage:
        return NewMessage(dedup_key=p.dedup_key, person_id=p.person_id, platform=platform, address=address,
                          kind=p.kind, spec=dict(p.spec), due_at=p.due_at)


def _clock(value: str | None) -> time | None:
    """A stored "HH:MM" preference, or None."""
    if not value:
        return None
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes))
