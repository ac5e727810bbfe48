"""When reminders may reach a physician: ``snooze``, ``settings``, ``stop`` and ``start``."""
from __future__ import annotations

from collections.abc import Mapping

from bot.coach.base import Caller, Feature, from_rendered, show_moment
from bot.core.commands import Command, parse_settings, parse_snooze
from bot.messages import Button, Reply


class Preferences(Feature):
    """The reminder preferences; the ``snooze:<length>`` press."""

    async def snooze(self, caller: Caller, command: Command) -> list[Reply]:
        now = self.clock.now()
        until = parse_snooze(command.rest, now, caller.zone)
        await self.store.preferences.snooze(caller.person.id, until, now)
        return [self.reply("snoozed", "settings", until=show_moment(until, caller.zone),
                           buttons=(Button(self.say("button_resume_now"), "cmd:start"),))]

    async def snooze_pressed(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        return await self.snooze(caller, Command("snooze", (arg,), arg))

    async def settings(self, caller: Caller, command: Command) -> list[Reply]:
        person = caller.person
        if command.rest:
            changes = parse_settings(command.rest)
            await self.store.preferences.change(person.id, changes, self.clock.now())
            person = await self.store.people.get(person.id) or person
        hospital = self.config.quiet_hours
        rendered = self.content.render(
            "settings", changed=bool(command.rest),
            quiet=f"{person.quiet_start or f'{hospital.start:%H:%M}'}–{person.quiet_end or f'{hospital.end:%H:%M}'}",
            quiet_own=person.quiet_start is not None,
            weekends_off=hospital.weekends if person.weekends_off is None else person.weekends_off,
            lessons=person.lesson_time or f"{self.config.lessons.time:%H:%M}", lessons_own=person.lesson_time is not None,
            zone=person.timezone or self.config.timezone, snoozed_until=show_moment(person.snoozed_until, caller.zone)
            if person.snoozed_until and person.snoozed_until > self.clock.now() else "",
            stopped=person.stopped_at is not None)
        return [from_rendered(rendered, "settings", buttons=(Button(self.say("button_snooze_1_week"), "snooze:1w"),))]

    async def stop(self, caller: Caller, command: Command) -> list[Reply]:
        await self.store.preferences.stop(caller.person.id, self.clock.now())
        return [self.reply("stopped", "settings", hospital=self.hospital(),
                           buttons=(Button(self.say("button_resume_reminders"), "cmd:start"),))]

    async def start(self, caller: Caller, command: Command) -> list[Reply]:
        await self.store.preferences.start(caller.person.id, self.clock.now())
        return [self.reply("started", "settings", hospital=self.hospital(),
                           buttons=(Button(self.say("button_next_lesson"), "cmd:lesson", "primary"),))]
