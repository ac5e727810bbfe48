"""The content library in chat: ``library`` (the stories a physician may share now; admins also see
embargoed ones with a countdown), ``library <story>`` (one story with its suggested posts), the share
suggestion delivery sends at the lift, and its "I shared it" / "Not for me" presses.

The embargo is the store's: every read passes the caller's instant and admin flag, so nothing here
can show a physician a story before its lift.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.actions import Stale
from bot.coach.base import Caller, Feature, Kit, show_moment
from bot.coach.story_admin import StoryAdmin
from bot.core.commands import BadArguments, Command
from bot.core.library import Problem, Story, StoryState, countdown_parts
from bot.core.models import NETWORKS
from bot.core.share import NETWORKS as SHARE_TARGETS, SHARE_SECRET_SETTING, Network, ShareRef, intent_urls, share_url
from bot.messages import Button, Reply, inert

log = logging.getLogger(__name__)


class Library(Feature):
    """``library`` and ``library <story>`` (``library add`` and ``library report`` are marketing's, in
    :mod:`bot.coach.story_admin`); the ``story:`` presses; the ``story`` suggestion."""

    def __init__(self, kit: Kit, admin: StoryAdmin) -> None:
        super().__init__(kit)
        self.admin = admin

    async def library(self, caller: Caller, command: Command) -> list[Reply]:
        now = self.clock.now()
        word, _, rest = command.rest.strip().partition(" ")
        if word.lower() == "add":
            return await self.admin.add(caller, rest)
        if word.lower() == "report":
            return await self.admin.report(caller, rest)
        if command.rest.strip():
            story = await self._find(caller, command.rest.strip(), now)
            return [await self.story_reply(caller, story, now)]
        if caller.is_admin:
            shown = await self.store.library.listing(now, admin=True)
        else:
            shown = await self.store.library.for_person(caller.person.id, now)
        rows = []
        for story in shown:
            state = await self.store.library.state(story.id, caller.person.id)
            rows.append(dict(key=story.key, title=inert(story.title), embargoed=not story.lifted(now),
                             countdown=self._countdown(story, now), lifts=self._lift(story),
                             expires=show_moment(story.expires_at, caller.zone) if story.expires_at else "",
                             done=self._state_words(state) if state.settled else ""))
        buttons = tuple(Button(self.say("library_button_story", title=_short(story.title)), f"cmd:library {story.key}")
                        for story in shown[:5])
        return [self.reply("library", "library", stories=rows, admin=caller.is_admin, buttons=buttons)]

    async def story_reply(self, caller: Caller, story: Story, now: datetime, *, suggestion: bool = False,
                          message_id: int | None = None) -> Reply:
        """One story: its link, suggested posts and alt text; admins before the lift see the countdown.
        A physician gets "I shared it" and "Not for me" (unless already done)."""
        state = await self.store.library.state(story.id, caller.person.id)
        embargoed = not story.lifted(now)
        buttons: tuple[Button, ...] = ()
        if not embargoed and not state.settled:
            buttons = (Button(self.say("library_button_shared"), f"story:shared:{story.id}", "primary"),
                       Button(self.say("library_button_decline"), f"story:declined:{story.id}"))
        posts = [(NETWORKS[n], inert(story.post(n))) for n in story.networks]
        shares = [(NETWORKS[n], url) for n, url in (await self._share_links(story, now, message_id)).items()]
        return self.reply("story", "library", story=_Shown(story), posts=posts, alt_text=inert(story.alt_text),
                          shares=shares,
                          embargoed=embargoed, countdown=self._countdown(story, now), lifts=self._lift(story),
                          state=self._state_words(state) if state.settled else "", suggestion=suggestion,
                          hospital=self.hospital(), buttons=buttons)

    async def suggestion(self, caller: Caller, spec: Mapping[str, object]) -> Reply | None:
        """The share suggestion planned at the lift, rendered at send time; None when it no longer
        applies (embargo moved later, expired, shared or declined meanwhile). Sending it counts as offered."""
        now = self.clock.now()
        story = await self.store.library.get(str(spec.get("story", "")), now, admin=False)
        if story is None or not story.live(now):
            return None
        if (await self.store.library.state(story.id, caller.person.id)).settled:
            return None
        await self.store.library.mark(story.id, caller.person.id, "offered", now)
        message = await self.store.outbox.by_key(f"{caller.person.id}:story:{story.id}:{int(story.lifts_at.timestamp())}")
        return await self.story_reply(caller, story, now, suggestion=True, message_id=message.id if message else None)

    async def _share_links(self, story: Story, now: datetime, message_id: int | None) -> dict[Network, str]:
        """One-tap links that open each network's composer with the post filled in: through the counted,
        signed redirect on ``public_url`` for a share suggestion, else straight to the network."""
        if not story.live(now):
            return {}
        direct = intent_urls({n: story.post(n) for n in SHARE_TARGETS if n in story.networks}, story.link)
        if message_id is None or not self.config.public_url:
            return dict(direct)
        secret = await self.store.settings.secret(SHARE_SECRET_SETTING)
        return {n: share_url(self.config.public_url, secret, ShareRef(story.id, n, message_id)) for n in direct}

    async def pressed(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        """``story:shared:<id>`` or ``story:declined:<id>`` ("Not for me", remembered)."""
        event, _, story_id = arg.partition(":")
        now = self.clock.now()
        story = await self.store.library.get(story_id, now, admin=False) if story_id.isdigit() else None
        if event not in ("shared", "declined") or story is None:
            raise Stale(self.say("library_story_gone"), "library")
        await self.store.library.mark(story.id, caller.person.id, "offered", now)
        await self.store.library.mark(story.id, caller.person.id, "shared" if event == "shared" else "declined", now)
        log.info("story %s person=%s story=%s", event, caller.person.id, story.id)
        title = inert(story.title)
        note = self.say("library_thanks_shared", title=title) if event == "shared" else \
            self.say("library_declined", title=title)
        return [Reply(kind="notice", text=note, title=inert(story.title), replace_original=True,
                      buttons=(Button(self.say("library_button_more"), "cmd:library"),))]

    # -- saving (the import; the add-a-story form saves through :class:`StoryAdmin`, with the same check) --
    async def save(self, batch: Sequence[Story]) -> tuple[list[Story], dict[str, tuple[Problem, ...]]]:
        """Save every story of ``batch``, or none when any has a problem: (saved, problems by key)."""
        found = await self.admin.check(batch)
        if found:
            return [], found
        return await self.store.library.save(batch, self.clock.now()), {}

    def problems_reply(self, found: Mapping[str, tuple[Problem, ...]]) -> Reply:
        """Why stories could not be saved, each problem with what to do about it."""
        lines = [self.say("library_problem_line", key=key, problem=self.content.words.of(problem.say))
                 for key, own in found.items() for problem in own]
        text = self.say("library_not_saved", n=len(found))
        return Reply(kind="error", text=text, title=self.say("library_not_saved_title"), body="\n".join(lines))

    # -- helpers -----------------------------------------------------------------------------------
    async def _find(self, caller: Caller, name: str, now: datetime) -> Story:
        story = await self.store.library.get(name, now, admin=caller.is_admin)
        if story is not None:
            return story
        found = await self.store.library.search(name, now, admin=caller.is_admin)
        if len(found) == 1:
            return found[0]
        raise BadArguments("library_no_such_story", name=name)

    def _countdown(self, story: Story, now: datetime) -> str:
        days, hours, minutes = countdown_parts(story.countdown(now))
        return self.say("library_countdown", days=days, hours=hours, minutes=minutes)

    def _lift(self, story: Story) -> str:
        try:
            zone = ZoneInfo(story.lift_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = self.config.zone
        return show_moment(story.lifts_at, zone)

    def _state_words(self, state: StoryState) -> str:
        return self.say("library_state_shared") if state.shared_at else self.say("library_state_declined")


class _Shown:
    """A story as templates read it: its title made inert (marketing typed it), its link as given."""

    def __init__(self, story: Story) -> None:
        self.key = story.key
        self.title = inert(story.title)
        self.link = story.link


def _short(title: str, limit: int = 40) -> str:
    return title if len(title) <= limit else title[:limit - 1] + "…"
