"""The physician's profile: X handle, profile checklist, following the hospital, the first video."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from bot.actions import Stale
from bot.coach.base import Caller, Feature, from_rendered
from bot.core.commands import BadArguments, Command
from bot.core.handles import InvalidHandle, normalize_bluesky, normalize_handle, normalize_linkedin
from bot.core.presence import Presence, Profile as ProfileState
from bot.messages import Button, Checklist, ChecklistItem, Reply
from bot.store import Person

log = logging.getLogger(__name__)

NETWORK_WORDS = {"x": "x", "twitter": "x", "bluesky": "bluesky", "bsky": "bluesky", "linkedin": "linkedin"}
"""``profile <network> <handle>``: the first word names the network (none: X, or what the handle looks like)."""
VERIFIED_ITEMS = {"photo": "photo", "bio": "bio_names", "link": "link", "pinned": "pinned"}
"""Checklist items a network can tell, and the fact that tells it."""
NETWORK_NAMES = {"x": "X", "bluesky": "Bluesky", "linkedin": "LinkedIn"}


class Profile(Feature):
    """``profile``, ``follow`` and ``video``; the ``profile:``, ``follow:`` and ``video:`` presses."""

    async def profile(self, caller: Caller, command: Command) -> list[Reply]:
        args = [a for a in command.args if a.lower() not in ("handle", "set")]
        if args and args[0].lower() in ("done", "undo"):
            if len(args) < 2:
                raise BadArguments("profile_which_item", items=", ".join(i.id for i in self.content.profile_items))
            return await self._toggle(caller, args[1].lower(), done=args[0].lower() == "done")
        if args:
            network = NETWORK_WORDS.get(args[0].lower())
            if network is not None and len(args) > 1:
                return await self._register(caller, network, " ".join(args[1:]))
            return await self._register(caller, _looks_like(" ".join(args)), " ".join(args))
        return [await self.profile_reply(caller)]

    async def toggle_item(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        """``profile:<item>`` ticks or unticks a checklist item."""
        if arg not in {item.id for item in self.content.profile_items}:
            raise Stale(self.say("profile_item_gone"), "profile")
        return await self._toggle(caller, arg)

    async def _register(self, caller: Caller, network: str, text: str) -> list[Reply]:
        """Save an X or Bluesky handle (unique to one physician) or a LinkedIn profile address."""
        if network == "x":
            return await self._set_handle(caller, text)
        person, now = caller.person, self.clock.now()
        try:
            value = normalize_bluesky(text) if network == "bluesky" else normalize_linkedin(text)
        except InvalidHandle as exc:
            return [self.reply("handle_invalid", "error", reason=self.content.words.of(exc.say),
                               network=NETWORK_NAMES[network])]
        if network == "linkedin":
            previous = person.linkedin_url
            await self.store.presence.set_linkedin(person.id, value, now)
        else:
            previous = person.bluesky_handle
            if await self.store.presence.claim(person.id, "bluesky", value, now) is not None:
                log.info("bluesky handle refused person=%s: held by another physician", person.id)
                return [self.reply("handle_taken", "error", handle=value, network="Bluesky")]
        saved = self.reply("handle_saved", "profile", handle=value, previous=previous, network=NETWORK_NAMES[network])
        caller = replace(caller, person=await self.store.people.get(person.id) or person)
        return [saved, await self.profile_reply(caller)]

    async def _set_handle(self, caller: Caller, text: str) -> list[Reply]:
        try:
            handle = normalize_handle(text)
        except InvalidHandle as exc:
            return [self.reply("handle_invalid", "error", reason=self.content.words.of(exc.say))]
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
        """The checklist ticks itself where X can tell (verified, with when); the rest is what the physician
        ticked, labelled self-reported. Bluesky's and LinkedIn's handles are shown with what is known."""
        person = caller.person
        ticked = await self.store.profile.items_done(person.id)
        facts = await self.store.presence.get(person.id)
        items = self.content.profile_items
        x = facts.get("x")
        done: set[str] = set()
        labels = {}
        for item in items:
            is_done, label = self._item(item.id, item.id in ticked, x, caller)
            labels[item.id] = f"{item.title} — {label}" if label else item.title
            if is_done:
                done.add(item.id)
        bluesky = facts.get("bluesky")
        rendered = self.content.render(
            "profile", handle=person.x_handle, items=items, done=len(done), total=len(items), hospital=self.hospital(),
            x_state=self._state(x, "x", caller) if person.x_handle else "",
            x_follows=self._follows(x, caller), bluesky=person.bluesky_handle,
            bluesky_state=self._state(bluesky, "bluesky", caller) if person.bluesky_handle else "",
            bluesky_follows=self._follows(bluesky, caller), linkedin=person.linkedin_url)
        checklist = Checklist(rendered.exports.get("checklist_title", self.say("profile_checklist_title")), tuple(
            ChecklistItem(item.id, labels[item.id], item.id in done, f"profile:{item.id}", item.detail)
            for item in items))
        return from_rendered(rendered, "profile", checklist=checklist, replace_original=replace_original)

    # -- what the networks said, in words ------------------------------------------------------------------
    def _when(self, at: datetime | None, caller: Caller) -> str:
        return f"{at.astimezone(caller.zone):%-d %b}" if at else ""

    def _stale(self, at: datetime | None) -> bool:
        return at is not None and self.clock.now() - at > timedelta(days=self.config.verify.stale_days)

    def _item(self, item_id: str, ticked: bool, x: Presence | None, caller: Caller) -> tuple[bool, str]:
        """Done or not, and the label that says who says so."""
        fact = VERIFIED_ITEMS.get(item_id)
        value = getattr(x, fact) if fact and x is not None and x.exists else None
        if value is None:
            return ticked, self.say("profile_item_self_reported") if ticked else ""
        assert x is not None
        when = self._when(x.profile_verified_at, caller)
        status = self.say("profile_item_verified", network="X", when=when) if value else \
            self.say("profile_item_not_seen", network="X", when=when) if ticked else ""
        if status and self._stale(x.profile_verified_at):
            status = self.say("profile_item_stale", status=status, when=when)
        return bool(value) or ticked, status

    def _state(self, fact: Presence | None, network: str, caller: Caller) -> str:
        name = NETWORK_NAMES[network]
        if network == "x" and fact is None and not self.config.verify.hours:
            return self.say("presence_unverifiable", network=name)
        if fact is None or fact.profile is None:
            return self.say("presence_unverified")
        when = self._when(fact.profile_verified_at, caller)
        state = {ProfileState.FOUND: self.say("presence_found", network=name, when=when),
                 ProfileState.PROTECTED: self.say("presence_protected", network=name, when=when),
                 ProfileState.NOT_FOUND: self.say("presence_not_found", network=name, when=when),
                 ProfileState.SUSPENDED: self.say("presence_suspended", network=name, when=when)}[fact.profile]
        return self.say("profile_item_stale", status=state, when=when) if self._stale(fact.profile_verified_at) else state

    def _follows(self, fact: Presence | None, caller: Caller) -> str:
        if fact is None or not fact.exists or fact.follows_hospital is None:
            return ""
        when = self._when(fact.follows_verified_at, caller)
        if fact.follows_hospital:
            return self.say("presence_follows", when=when)
        return self.say("presence_not_following", when=when)

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


def _looks_like(text: str) -> str:
    """The network a bare ``profile <handle>`` is about: a LinkedIn address, a ``….bsky.social`` handle, a DID or
    a ``bsky.app`` link; anything else is X's (a custom-domain Bluesky handle needs ``profile bluesky …``)."""
    lowered = text.strip().lower()
    if "linkedin.com/" in lowered:
        return "linkedin"
    bare = lowered.lstrip("@")
    if "bsky.app/" in lowered or bare.startswith("did:") or bare.endswith(".bsky.social"):
        return "bluesky"
    return "x"
