"""Messages the bot starts: planned reminders rendered at send time, and channel broadcasts."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from bot.coach.base import Caller, Feature, Kit, caller_for, from_rendered
from bot.coach.lessons import Lessons
from bot.coach.library import Library
from bot.coach.marketing import Marketing
from bot.coach.profile import Profile
from bot.coach.safety import Safety
from bot.core import curriculum as cur
from bot.core.models import networks_of
from bot.core.tweetcamp import describe_phase
from bot.messages import Button, Checklist, ChecklistItem, Reply, inert
from bot.store.reminder_facts import ReminderFacts

log = logging.getLogger(__name__)


class Proactive(Feature):
    def __init__(self, kit: Kit, lessons: Lessons, profile: Profile, marketing: Marketing, safety: Safety,
                 library: Library) -> None:
        super().__init__(kit)
        self.library = library
        self.lessons = lessons
        self.profile = profile
        self.marketing = marketing
        self.safety = safety

    async def reminder(self, person_id: int, kind: str, spec: dict) -> Reply | None:
        """Render a planned reminder at send time; None when it is no longer relevant."""
        return (await self.reminders([(person_id, kind, spec)]))[0]

    async def reminders(self, planned: Sequence[tuple[int, str, dict]]) -> list[Reply | None]:
        """Render planned reminders (person id, kind, spec) at send time, reading what they need for
        all of them at once; None for each that is no longer relevant."""
        facts = await self.store.reminder_facts.read([pid for pid, _, _ in planned], [kind for _, kind, _ in planned])
        return [await self._reminder(facts, person_id, kind, spec) for person_id, kind, spec in planned]

    async def _reminder(self, facts: ReminderFacts, person_id: int, kind: str, spec: dict) -> Reply | None:
        person = facts.people.get(person_id)
        if person is None or not person.active:
            return None
        caller = caller_for(person, self.config)
        if kind == "digest":
            week = str(spec.get("week") or "") or None
            return await self.marketing.digest_reply(self.clock.now(), week) if caller.is_admin else None
        reply = await self._reminder_body(caller, kind, spec, facts)
        if reply is None:
            return None
        buttons = (*reply.buttons, *self._reminder_buttons())
        footer = self._reminder_footer()
        return replace(reply, buttons=buttons, footer="\n".join(x for x in (reply.footer, footer) if x),
                       ephemeral=False, replace_original=False)

    def _reminder_buttons(self) -> tuple[Button, ...]:
        return (Button(self.say("button_snooze_1_week"), "snooze:1w"), Button(self.say("button_stop_reminders"), "cmd:stop"))

    def _reminder_footer(self) -> str:
        return self.content.render("reminder_footer").body

    async def broadcast(self, kind: str, spec: dict) -> Reply | None:
        """Render a message to a channel rather than a person (the weekly digest)."""
        if kind == "digest":
            return await self.marketing.digest_reply(self.clock.now(), str(spec.get("week") or "") or None)
        if kind in ("safety_case", "safety_handled"):
            return await self.safety.safety_broadcast(kind, spec)
        log.warning("unknown broadcast kind=%s", kind)
        return None

    async def _reminder_body(self, caller: Caller, kind: str, spec: dict, facts: ReminderFacts) -> Reply | None:
        pid = caller.person.id
        if kind == "profile":
            done = facts.profile_done.get(pid, frozenset())
            missing = [i for i in self.content.profile_items if i.id not in done]
            if caller.person.x_handle and not missing:
                return None
            profile = await self.profile.profile_reply(caller)
            rendered = self.content.render("reminder_profile", handle=caller.person.x_handle, missing=missing,
                                           step=int(spec.get("step", 0)), hospital=self.hospital())
            return replace(from_rendered(rendered, "reminder"), checklist=profile.checklist)
        if kind == "follow":
            if caller.person.follows_hospital_at is not None:
                return None
            rendered = self.content.render("reminder_follow", hospital=self.hospital(), step=int(spec.get("step", 0)))
            return from_rendered(rendered, "reminder", buttons=(
                Button(self.say("button_i_follow", handle=self.config.hospital_handle), "follow:done", "primary"),))
        if kind == "lesson":
            done = facts.lessons_done.get(pid, frozenset())
            networks = networks_of(caller.person.networks)
            if cur.next_lesson(self.content.curriculum, done, networks) is None:
                return None  # everything that applies to them is done (or they changed networks)
            replies = self.lessons.next_lesson(caller, done, facts.reviews.get(pid, {}))
            return replies[0] if replies[0].kind in ("lesson", "quiz") else None
        if kind == "review":
            lesson = self.content.curriculum.lesson(str(spec.get("lesson")))
            reviews = facts.reviews.get(pid, {})
            if lesson is None or lesson.id not in cur.due_reviews(reviews, self.clock.now()):
                return None
            return self.lessons.quiz_reply(lesson, review=True)
        if kind == "camp":
            meeting = facts.meetings.get(int(spec.get("meeting", 0)))
            if meeting is None or meeting.id not in facts.attending.get(pid, frozenset()):
                return None
            phase = next((p for p in self.content.camp_phases if p.id == spec.get("phase")), None)
            if phase is None:
                return None
            done = facts.camp_done.get((pid, meeting.id), frozenset())
            if not phase.every_meeting_day and all(item.id in done for item in phase.items):
                return None  # a meeting-day phase reminds every day: its habits are daily
            days = (meeting.ends_on - meeting.starts_on).days + 1
            rendered = self.content.render("reminder_camp", meeting=meeting, phase=phase,
                                           when=self.content.words.of(describe_phase(phase)), day=int(spec.get("day", 0)),
                                           days=days)
            checklist = Checklist(self.say("camp_phase_checklist_title", phase=phase.title, meeting=inert(meeting.name)), tuple(
                ChecklistItem(item.id, item.title, item.id in done, f"camp:{meeting.id}:{item.id}", item.detail)
                for item in phase.items))
            return from_rendered(rendered, "reminder", checklist=checklist,
                                 buttons=(Button(self.say("button_full_checklist"), f"cmd:camp {meeting.key}"),))
        if kind == "story":
            return await self.library.suggestion(caller, spec)
        log.warning("unknown reminder kind=%s person=%s", kind, pid)
        return None
