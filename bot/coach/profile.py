"""The physician's profile: X handle, profile checklist, following the hospital, the first video."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from bot.actions import Stale
from bot.coach.base import Caller, Feature, from_rendered
from bot.core.commands import BadArguments, Command
from bot.core.handles import InvalidHandle, normalize_handle
from bot.messages import Button, Checklist, ChecklistItem, Reply
from bot.store import Person

log = logging.getLogger(__name__)


class Profile(Feature):
    """``profile``, ``follow`` and ``video``; the ``profile:``, ``follow:`` and ``video:`` presses."""

    async def profile(self, caller: Caller, command: Command) -> list[Reply]:
        args = [a for a in command.args if a.lower() not in ("handle", "set")]
        if args and args[0].lower() in ("done", "undo"):
            if len(args) < 2:
                raise BadArguments("profile_which_item", items=", ".join(i.id for i in self.content.profile_items))
            return await self._toggle(caller, args[1].lower(), done=args[0].lower() == "done")
        if args:
            return await self._set_handle(caller, " ".join(args))
        return [await self.profile_reply(caller)]

    async def toggle_item(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        """``profile:<item>`` ticks or unticks a checklist item."""
        if arg not in {item.id for item in self.content.profile_items}:
            raise Stale(self.say("profile_item_gone"), "profile")
        return await self._toggle(caller, arg)

    async def _set_handle(self, caller: Caller, text: str) -> list[Reply]:
        try:
            handle = normalize_handle(text)
        except InvalidHandle as exc:
            return [self.reply("handle_invalid", "error", reason=str(exc))]
        previous = caller.person.x_handle
        if await self.store.profile.claim_x_handle(caller.person.id, handle, self.clock.now()) is not None:
            log.info("x handle refused person=%s: held by another physician", caller.person.id)
            return [self.reply("handle_taken", "error", handle=handle)]
        saved = self.reply("handle_saved", "profile", handle=handle, previous=previous)
        caller = replace(caller, person=await self.store.people.get(caller.person.id) or caller.person)
        return [saved, await self.profile_reply(caller)]

    async def _toggle(self, caller: Caller, item_id: str, done: bool | None = None) -> list[Reply]:
        known = {item.id for item in self.content.profile_items}
        if item_id not in known:
            raise BadArguments("profile_unknown_item", item=item_id, items=", ".join(sorted(known)))
        pid = caller.person.id
        if done is None:
            done = item_id not in await self.store.profile.items_done(pid)
        await self.store.profile.set_item(pid, item_id, done, self.clock.now())
        return [await self.profile_reply(caller, replace_original=True)]

    async def profile_reply(self, caller: Caller, replace_original: bool = False) -> Reply:
        done = await self.store.profile.items_done(caller.person.id)
        items = self.content.profile_items
        rendered = self.content.render("profile", handle=caller.person.x_handle, items=items,
                                       done=len(done & {i.id for i in items}), total=len(items),
                                       hospital=self.hospital())
        checklist = Checklist(rendered.exports.get("checklist_title", self.say("profile_checklist_title")), tuple(
            ChecklistItem(item.id, item.title, item.id in done, f"profile:{item.id}", item.detail)
            for item in items))
        return from_rendered(rendered, "profile", checklist=checklist, replace_original=replace_original)

    async def follow(self, caller: Caller, command: Command) -> list[Reply]:
        arg = command.args[0].lower() if command.args else ""
        if arg in ("done", "yes", "undo", "no"):
            return await self._set_follow(caller, arg in ("done", "yes"))
        if arg:
            raise BadArguments("follow_usage")
        return [self._follow_reply(caller.person)]

    async def follow_pressed(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        """``follow:done`` or ``follow:undo``."""
        return await self._set_follow(caller, arg == "done")

    async def _set_follow(self, caller: Caller, follows: bool) -> list[Reply]:
        now = self.clock.now()
        await self.store.profile.set_follows_hospital(caller.person.id, follows, now)
        person = await self.store.people.get(caller.person.id) or caller.person
        return [self._follow_reply(person, replace_original=True)]

    def _follow_reply(self, person: Person, replace_original: bool = False) -> Reply:
        follows = person.follows_hospital_at is not None
        rendered = self.content.render("follow", hospital=self.hospital(), follows=follows,
                                       followed_back=person.followed_back_at is not None, handle=person.x_handle)
        button = Button(self.say("button_follow_undo"), "follow:undo") if follows else \
            Button(self.say("button_i_follow", handle=self.config.hospital_handle), "follow:done", "primary")
        return from_rendered(rendered, "follow", buttons=(button,), replace_original=replace_original)

    async def video(self, caller: Caller, command: Command) -> list[Reply]:
        arg = command.args[0].lower() if command.args else ""
        if arg not in ("", "done", "undo"):
            raise BadArguments("video_usage")
        if arg:
            return await self._set_video(caller, arg == "done")
        return [self.reply("video", "status", posted=caller.person.video_posted_at is not None,
                           buttons=(Button(self.say("button_i_posted_a_video"), "video:done", "primary"),))]

    async def video_pressed(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        """``video:done`` or ``video:undo``."""
        return await self._set_video(caller, arg == "done")

    async def _set_video(self, caller: Caller, posted: bool) -> list[Reply]:
        now = self.clock.now()
        await self.store.profile.set_video_posted(caller.person.id, posted, now)
        return [self.reply("video", "status", posted=posted, replace_original=True)]
