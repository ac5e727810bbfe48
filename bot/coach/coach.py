"""The coach: one entry point from a platform-neutral Incoming to platform-neutral Replies.

Identity, permissions and dispatch live here, once, for all platforms; each command and press is
answered by a feature module, named in :attr:`Coach.commands` and :attr:`Coach.actions`. The pure
rules live in ``bot.core``; state lives in the store.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime

from bot.actions import Stale, current, topic
from bot.clock import Clock
from bot.coach.base import ActionHandler, Caller, CommandHandler, Kit, caller_for, valid_zone
from bot.coach.draftcheck import DraftCheck
from bot.coach.help import Help
from bot.coach.lessons import Lessons
from bot.coach.library import Library
from bot.coach.marketing import Marketing
from bot.coach.meetings import Meetings
from bot.coach.networks import Networks
from bot.coach.preferences import Preferences
from bot.coach.proactive import Proactive
from bot.coach.profile import Profile
from bot.coach.safety import Safety
from bot.coach.status import Status
from bot.coach.story_admin import StoryAdmin
from bot.config import Config
from bot.content import Content
from bot.core.commands import SPEC_BY_NAME, BadArguments, Command, Unknown, parse
from bot.core.digest import Digest
from bot.core.forms import STORY_FORM
from bot.core.readiness import Readiness
from bot.core.reports import RosterRow
from bot.core.snapshot import next_enrollment
from bot.messages import Incoming, Reply, inert
from bot.store import Person, Store

log = logging.getLogger(__name__)


class Coach:
    def __init__(self, store: Store, content: Content, config: Config, clock: Clock) -> None:
        self.kit = Kit(store, content, config, clock)
        kit = self.kit
        self.help = Help(kit)
        self.lessons = Lessons(kit)
        self.profile = Profile(kit)
        self.meetings = Meetings(kit)
        self.status = Status(kit)
        self.draft_check = DraftCheck(kit)
        self.preferences = Preferences(kit)
        self.networks = Networks(kit)
        self.safety = Safety(kit)
        self.marketing = Marketing(kit, self.meetings)
        self.story_admin = StoryAdmin(kit)
        self.library = Library(kit, self.story_admin)
        self.proactive = Proactive(kit, self.lessons, self.profile, self.marketing, self.safety, self.library)
        self.commands: dict[str, CommandHandler] = {
            "help": self.help.help,
            "lesson": self.lessons.lesson,
            "quiz": self.lessons.quiz,
            "profile": self.profile.profile,
            "follow": self.profile.follow,
            "video": self.profile.video,
            "meetings": self.meetings.meetings,
            "camp": self.meetings.camp,
            "status": self.status.status,
            "check": self.draft_check.check,
            "networks": self.networks.networks,
            "transcript": self.networks.transcript,
            "library": self.library.library,
            "harassment": self.safety.harassment,
            "settings": self.preferences.settings,
            "snooze": self.preferences.snooze,
            "stop": self.preferences.stop,
            "start": self.preferences.start,
            "report": self.marketing.report,
            "followback": self.marketing.followback,
            "digest": self.marketing.digest,
            "roster": self.marketing.roster,
        }
        """Every command of the grammar (:data:`bot.core.commands.SPECS`) and what answers it."""
        self.actions: dict[str, ActionHandler] = {
            "cmd": self._command_pressed,
            "form": self._submit_form,
            "quiz": self.lessons.answer,
            "profile": self.profile.toggle_item,
            "follow": self.profile.follow_pressed,
            "video": self.profile.video_pressed,
            "meeting": self.meetings.attending_pressed,
            "camp": self.meetings.toggle_camp,
            "followback": self.marketing.mark_followed_back,
            "snooze": self.preferences.snooze_pressed,
            "networks": self.networks.toggle,
            "safety": self.safety.handled_pressed,
            "story": self.library.pressed,
        }
        """Per action verb (``verb:argument``, see :mod:`bot.actions`): what answers a press."""

    async def _submit_form(self, caller: Caller, form_id: str, values: Mapping[str, str]) -> list[Reply]:
        """``form:<form id>``: the feature that owns the form answers its submission."""
        owner = self.story_admin if form_id == STORY_FORM.id else self.meetings
        return await owner.submit_form(caller, form_id, values)

    # -- what the platforms and the delivery read and replace ------------------------------------------
    @property
    def store(self) -> Store:
        return self.kit.store

    @store.setter
    def store(self, store: Store) -> None:
        self.kit.store = store

    @property
    def content(self) -> Content:
        return self.kit.content

    @property
    def config(self) -> Config:
        return self.kit.config

    @property
    def clock(self) -> Clock:
        return self.kit.clock

    @property
    def teams_reach(self) -> bool:
        """Teams is configured: ``roster`` also says who has no Teams chat with the bot, and why."""
        return self.kit.teams_reach

    @teams_reach.setter
    def teams_reach(self, reach: bool) -> None:
        self.kit.teams_reach = reach

    # -- entry points ----------------------------------------------------------------------------------
    async def handle(self, incoming: Incoming, known: object | None = None) -> list[Reply]:
        """Answer one thing a person did; ``known``: the physician the channel already read for
        ``incoming``'s identity this turn (not read again)."""
        caller = await self._identify(incoming, known if isinstance(known, Person) else None)
        if caller is None:
            log.info("unknown user platform=%s user=%s", incoming.platform, incoming.user_id)
            return [self._onboarding(incoming)]
        log.info("turn platform=%s person=%s kind=%s", incoming.platform, caller.person.id,
                 "action" if incoming.action else "text")
        try:
            if incoming.action:
                action = current(incoming.action, incoming.action_version)
                if action is None:
                    raise Stale("", topic(incoming.action))
                return await self._action(caller, action, dict(incoming.values))
            return await self._command(caller, parse(incoming.text or ""))
        except Stale as exc:
            return await self._stale(caller, exc)
        except BadArguments as exc:
            message = inert(self.kit.explain(exc))  # it may quote what the person typed
            return [Reply(kind="error", text=message, title=self.kit.say("error_title"), body=message)]

    async def home(self, incoming: Incoming) -> list[Reply]:
        """Everything a personal home screen shows (Slack App Home, Teams welcome card)."""
        caller = await self._identify(incoming)
        if caller is None:
            return [self._onboarding(incoming)]
        snapshot = await self.store.readiness.snapshot(caller.person.id, caller.person)
        replies = await self.status.status_of(caller, snapshot)
        replies.append(await self.profile.profile_reply(caller))
        enrollment = next_enrollment(snapshot.enrollments, self.kit.today(caller)) if snapshot else None
        if enrollment is not None:
            replies.append(await self.meetings.camp_reply(caller, enrollment.meeting))
        replies.append(await self.meetings.meetings_reply(caller))
        if caller.is_admin:
            replies.extend(await self.marketing.report(caller, Command("report", (), "")))
        return replies

    async def reminder(self, person_id: int, kind: str, spec: dict) -> Reply | None:
        """Render a planned reminder at send time; None when it is no longer relevant."""
        return await self.proactive.reminder(person_id, kind, spec)

    async def reminders(self, planned: Sequence[tuple[int, str, dict]]) -> list[Reply | None]:
        """Render many planned reminders (person id, kind, spec) at once: what they read is read together."""
        return await self.proactive.reminders(planned)

    async def broadcast(self, kind: str, spec: dict) -> Reply | None:
        """Render a message to a channel rather than a person (the weekly digest, safety alerts)."""
        return await self.proactive.broadcast(kind, spec)

    async def readiness(self, person_id: int, today: date) -> Readiness | None:
        return await self.status.readiness(person_id, today)

    async def roster_rows(self, today: date) -> list[RosterRow]:
        """Every active physician's readiness, by department and name."""
        return await self.marketing.roster_rows(today)

    async def build_digest(self, now: datetime, week: str | None = None) -> Digest:
        """This week's digest, or the digest of ``week`` (numbers as of ``now``, trend up to ``week``)."""
        return await self.marketing.build_digest(now, week)

    async def save_weekly_snapshot(self, now: datetime) -> bool:
        """Store this week's readiness once (first writer wins), so trends are facts."""
        return await self.marketing.save_weekly_snapshot(now)

    async def digest_reply(self, now: datetime, week: str | None = None) -> Reply:
        return await self.marketing.digest_reply(now, week)

    # -- dispatch --------------------------------------------------------------------------------------
    def _onboarding(self, incoming: Incoming) -> Reply:
        return self.kit.reply("onboarding", "onboarding", hospital=self.config.hospital_name,
                              name=incoming.display_name or "")

    async def _identify(self, incoming: Incoming, known: Person | None = None) -> Caller | None:
        person = known or await self.store.people.by_identity(incoming.platform, incoming.user_id)
        now = self.clock.now()
        if person is not None and not person.active:
            return None  # left the roster: no coaching, no data
        if person is None:
            email = incoming.email or (incoming.user_id if incoming.platform == "web" else None)
            person = await self.store.people.by_email(email) if email else None
            if person is None or not person.active:
                return None
            await self.store.people.link_identity(incoming.platform, incoming.user_id, person.id, now)
        if incoming.timezone and incoming.timezone != person.timezone and valid_zone(incoming.timezone):
            await self.store.preferences.set_timezone(person.id, incoming.timezone, now)
            person = replace(person, timezone=incoming.timezone)  # what a read would return now
        return caller_for(person, self.config, incoming.platform)

    async def _stale(self, caller: Caller, stale: Stale) -> list[Reply]:
        """A press of something that changed or is gone: say so, and show how things stand now."""
        log.info("stale action person=%s topic=%s", caller.person.id, stale.topic.split(" ", 1)[0])
        note = self.kit.reply("stale_action", "notice", note=str(stale))
        try:
            return [note, *await self._command(caller, parse(stale.topic))]
        except BadArguments:
            return [note]

    async def _command(self, caller: Caller, command: Command | Unknown) -> list[Reply]:
        if isinstance(command, Unknown):
            return [self.kit.reply("unknown_command", "error", text=command.text, suggestion=command.suggestion)]
        if SPEC_BY_NAME[command.name].admin and not caller.is_admin:
            return [self.kit.reply("not_admin", "error", command=command.name)]
        return await self.commands[command.name](caller, command)

    async def _action(self, caller: Caller, action: str, values: Mapping[str, str]) -> list[Reply]:
        verb, _, arg = action.partition(":")
        handler = self.actions.get(verb)
        if handler is None:
            raise Stale("", topic(action))
        return await handler(caller, arg, values)

    async def _command_pressed(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        """``cmd:<typed command>``: a button that runs a command."""
        command = parse(arg)
        try:
            return await self._command(caller, command)
        except BadArguments as exc:  # e.g. the meeting the button named is over: show the current list
            raise Stale(self.kit.explain(exc), command.name if isinstance(command, Command) else "help") from None
