"""The coach's network choice and learning transcript: which lessons apply, and what was completed."""
from __future__ import annotations

from collections.abc import Mapping

from bot.coach.base import Caller, Feature, from_rendered
from bot.core.commands import Command, parse_networks
from bot.core.models import NETWORKS, networks_of
from bot.messages import Button, Reply, Table


class Networks(Feature):
    """``networks`` and ``transcript``; the ``networks:<network>`` press."""

    async def networks(self, caller: Caller, command: Command) -> list[Reply]:
        person = caller.person
        changed = bool(command.rest)
        if changed:
            chosen = parse_networks(command.rest)
            await self.store.preferences.set_networks(person.id, chosen, self.clock.now())
            person = await self.store.people.get(person.id) or person
        return [self._networks_reply(person.networks, changed)]

    async def toggle(self, caller: Caller, network: str, values: Mapping[str, str]) -> list[Reply]:
        if network not in NETWORKS:
            return await self.networks(caller, Command("networks", (), ""))
        current = list(networks_of(caller.person.networks))
        chosen = [n for n in current if n != network] if network in current else [*current, network]
        await self.store.preferences.set_networks(caller.person.id, chosen, self.clock.now())
        person = await self.store.people.get(caller.person.id) or caller.person
        return [self._networks_reply(person.networks, True, replace_original=True)]

    def _networks_reply(self, stored: str | None, changed: bool, replace_original: bool = False) -> Reply:
        chosen = networks_of(stored)
        skipped = len(self.content.curriculum.lessons) - len(self.content.curriculum.for_networks(chosen))
        rendered = self.content.render("networks", chosen=[NETWORKS[n] for n in chosen], changed=changed,
                                       is_default=not stored, skipped=skipped)
        buttons = tuple(Button(("✓ " if n in chosen else "") + label, f"networks:{n}",
                               "primary" if n in chosen else "default") for n, label in NETWORKS.items())
        return from_rendered(rendered, "networks", buttons=buttons, replace_original=replace_original)

    async def transcript(self, caller: Caller, command: Command) -> list[Reply]:
        completed = await self.store.progress.lessons_completed(caller.person.id)
        curriculum = self.content.curriculum
        rows = []
        total = 0
        for lesson_id, when in completed:
            lesson = curriculum.lesson(lesson_id)
            if lesson is None:
                continue  # a lesson since removed from the content
            track = curriculum.track(lesson.track)
            rows.append((lesson.title, track.title if track else lesson.track,
                         f"{when.astimezone(caller.zone):%Y-%m-%d}", f"{lesson.minutes} min"))
            total += lesson.minutes
        rendered = self.content.render("transcript", rows=rows, total_minutes=total)
        table = Table(self.columns("columns_transcript"), tuple(rows)) if rows else None
        return [from_rendered(rendered, "transcript", table=table,
                           buttons=(Button(self.say("button_next_lesson"), "cmd:lesson", "primary"),))]
