"""Specialty meetings and their Tweet Camp: the calendar, joining and leaving, adding a meeting
(typed or through the form), and the countdown checklist."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from bot.actions import Stale
from bot.coach.base import Caller, Feature, from_rendered, show_date
from bot.core.commands import BadArguments, Command, meeting_form_arguments, parse_meeting_request
from bot.core.forms import FORMS, MEETING_FORM
from bot.core.models import CampPhase, Meeting
from bot.core.snapshot import next_enrollment
from bot.core.tweetcamp import describe_phase, timeline
from bot.forms import build_form
from bot.messages import Button, Checklist, ChecklistItem, Reply, inert


class Meetings(Feature):
    """``meetings`` (and the admin's ``meetings add``) and ``camp``; the ``meeting:``, ``camp:`` and
    ``form:`` presses."""

    async def meetings(self, caller: Caller, command: Command) -> list[Reply]:
        args = command.rest.split(None, 1)
        if args and args[0].lower() == "add":
            if not caller.is_admin:
                return [self.reply("not_admin", "error", command="meetings add")]
            if len(args) == 1:
                return [self._meeting_form()]
            return await self._add_meeting(caller, args[1])
        if args and args[0].lower() in ("join", "leave"):
            if len(args) < 2:
                raise BadArguments("meetings_which", verb=args[0].lower())
            meeting = await self.find_meeting(args[1])
            return await self._set_attending(caller, str(meeting.id), args[0].lower() == "join")
        if args:
            raise BadArguments("meetings_usage")
        return [await self.meetings_reply(caller)]

    async def attending_pressed(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        """``meeting:join:<id>`` or ``meeting:leave:<id>``."""
        what, _, meeting_id = arg.partition(":")
        return await self._set_attending(caller, meeting_id, what == "join")

    async def _add_meeting(self, caller: Caller, text: str) -> list[Reply]:
        request = parse_meeting_request(text, self.content.catalog, self.config.zone,
                                        self.say("meeting_default_embargo"))
        today = self.today(None)
        if request.meeting.ends_on < today:
            raise BadArguments("meeting_already_over", name=request.meeting.name,
                               ended=show_date(request.meeting.ends_on), today=show_date(today)).at("start")
        if await self.store.meetings.by_key(request.meeting.key):
            raise BadArguments("meeting_already_added", name=request.meeting.name).at("name")
        meeting = await self.store.meetings.add(request.meeting, self.clock.now())
        invited = 0
        if request.attendees:
            emails = {a.lower() for a in request.attendees if "@" in a}
            departments = {a.lower() for a in request.attendees if "@" not in a}
            for person in await self.store.people.all(role="physician"):
                if person.email in emails or person.department.lower() in departments:
                    invited += await self.store.meetings.set_attending(person.id, meeting.id, True, self.clock.now())
        return [self.reply("meeting_added", "meetings", meeting=meeting, invited=invited,
                           buttons=(Button(self.say("button_meetings"), "cmd:meetings"),))]

    def _meeting_form(self, values: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None,
                      **extra: object) -> Reply:
        """The add-a-meeting form (:data:`~bot.core.forms.MEETING_FORM`), holding ``values`` and showing
        ``errors`` at their fields when a submission comes back."""
        form = build_form(MEETING_FORM, self.content, values, errors)
        return from_rendered(self.content.render("meeting_form"), "form", form=form, **extra)

    async def submit_form(self, caller: Caller, form_id: str, values: Mapping[str, str]) -> list[Reply]:
        """A submitted form runs as its typed command (``meetings add key=value …``); the answer takes
        the form's place.

        An error comes back with the form, its values kept, so nothing has to be typed again, and the
        message at the field it is about.
        """
        if FORMS.get(form_id) is not MEETING_FORM:
            raise Stale("", "meetings")
        if not caller.is_admin:
            return [self.reply("not_admin", "error", command="meetings add", replace_original=True)]
        try:
            replies = await self._add_meeting(caller, meeting_form_arguments(values))
        except BadArguments as exc:
            message = inert(self.kit.explain(exc))
            error = self._meeting_form(values, {exc.field: message} if exc.field else {}, replace_original=True)
            return [replace(error, kind="error", title=self.say("error_title"), text=message, body=message)]
        return [replace(replies[0], replace_original=True), *replies[1:]]

    async def meetings_reply(self, caller: Caller, replace_original: bool = False) -> Reply:
        today = self.today(caller)
        upcoming = await self.store.meetings.all(ending_on_or_after=today)
        attending = await self.store.meetings.attending(caller.person.id)
        listed = [dict(meeting=m, joined=m.id in attending) for m in upcoming]
        rendered = self.content.render("meetings", meetings=listed, hospital=self.hospital())
        buttons = tuple(
            Button(self.say("button_leave_meeting", meeting=m.name), f"meeting:leave:{m.id}") if m.id in attending
            else Button(self.say("button_join_meeting", meeting=m.name), f"meeting:join:{m.id}", "primary")
            for m in upcoming[:12])
        return from_rendered(rendered, "meetings", buttons=buttons, replace_original=replace_original)

    async def find_meeting(self, query: str) -> Meeting:
        """The upcoming meeting whose key, name or hashtag contains ``query`` (letters and digits only)."""
        wanted = re.sub(r"[^a-z0-9]", "", query.lower())
        upcoming = await self.store.meetings.all(ending_on_or_after=self.today(None))
        for meeting in upcoming:
            if any(wanted and wanted in re.sub(r"[^a-z0-9]", "", n.lower())
                   for n in (meeting.key, meeting.name, meeting.hashtag)):
                return meeting
        listed = ", ".join(m.name for m in upcoming[:8]) or self.say("meetings_none_scheduled")
        raise BadArguments("meeting_unknown", query=query, upcoming=listed)

    async def _set_attending(self, caller: Caller, meeting_id: str, attending: bool) -> list[Reply]:
        meeting = await self._meeting(meeting_id)
        was_registered = meeting.id in await self.store.meetings.attending(caller.person.id)
        await self.store.meetings.set_attending(caller.person.id, meeting.id, attending, self.clock.now())
        confirmation = self.reply("meeting_joined", "meetings", meeting=meeting, joined=attending,
                                  was_registered=was_registered,
                                  buttons=(Button(self.say("button_open_tweet_camp"), f"cmd:camp {meeting.key}", "primary"),)
                                  if attending else ())
        return [confirmation, await self.meetings_reply(caller, replace_original=True)]

    async def _meeting(self, meeting_id: str) -> Meeting:
        meetings = {str(m.id): m for m in await self.store.meetings.all()}
        if meeting_id not in meetings:
            raise Stale(self.say("meeting_gone"), "meetings")
        return meetings[meeting_id]

    async def camp(self, caller: Caller, command: Command) -> list[Reply]:
        today = self.today(caller)
        if command.rest:
            meeting = await self.find_meeting(command.rest)
        else:
            snapshot = await self.store.readiness.snapshot(caller.person.id)
            enrollment = next_enrollment(snapshot.enrollments, today) if snapshot else None
            if enrollment is None:
                upcoming = await self.store.meetings.all(ending_on_or_after=today)
                buttons = tuple(Button(self.say("button_join_meeting", meeting=m.name), f"meeting:join:{m.id}")
                                for m in upcoming[:5])
                return [self.reply("no_meeting", "camp", upcoming=upcoming, buttons=buttons)]
            meeting = enrollment.meeting
        return [await self.camp_reply(caller, meeting)]

    async def camp_reply(self, caller: Caller, meeting: Meeting, replace_original: bool = False) -> Reply:
        today = self.today(caller)
        done = await self.store.meetings.camp_done(caller.person.id, meeting.id)
        entries = timeline(self.content.camp_phases, meeting.starts_on, meeting.ends_on, today)
        when = self.content.words.of
        phases = [dict(entry=e, when=when(describe_phase(e.phase)), date=_phase_dates(e.phase, e.due_on, meeting))
                  for e in entries]
        item_count = sum(len(e.phase.items) for e in entries)
        done_count = sum(1 for e in entries for i in e.phase.items if i.id in done)
        rendered = self.content.render("camp", meeting=meeting, phases=phases, done=done_count,
                                       total=item_count, today=show_date(today))
        items = tuple(
            ChecklistItem(item.id, item.title, item.id in done, f"camp:{meeting.id}:{item.id}", item.detail,
                          due=f"{when(describe_phase(e.phase))} ({_phase_dates(e.phase, e.due_on, meeting)})")
            for e in entries for item in e.phase.items)
        checklist = Checklist(self.say("camp_checklist_title", meeting=inert(meeting.name)), items)
        return from_rendered(rendered, "camp", checklist=checklist, replace_original=replace_original)

    async def toggle_camp(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        """``camp:<meeting id>:<item>`` ticks or unticks a Tweet Camp item (and registers for the meeting)."""
        meeting_id, _, item_id = arg.partition(":")
        meeting = await self._meeting(meeting_id)
        known = {item.id for phase in self.content.camp_phases for item in phase.items}
        if item_id not in known:
            raise Stale(self.say("camp_item_gone"), "camp")
        pid = caller.person.id
        if meeting.id not in await self.store.meetings.attending(pid):
            await self.store.meetings.set_attending(pid, meeting.id, True, self.clock.now())
        done = item_id not in await self.store.meetings.camp_done(pid, meeting.id)
        await self.store.meetings.set_camp_item(pid, meeting.id, item_id, done, self.clock.now())
        return [await self.camp_reply(caller, meeting, replace_original=True)]


def _phase_dates(phase: CampPhase, due_on: date, meeting: Meeting) -> str:
    """A phase's date, or the meeting's days for a phase that repeats each meeting day."""
    if phase.every_meeting_day and meeting.ends_on > meeting.starts_on:
        return f"{show_date(meeting.starts_on)} to {show_date(meeting.ends_on)}"
    return show_date(due_on)
