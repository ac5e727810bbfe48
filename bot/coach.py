"""The coach: one entry point from a platform-neutral Incoming to platform-neutral Replies.

Command parsing, identity, permissions and every decision live here, once, for all platforms;
the pure rules live in ``bot.core``; state lives in the store.
"""
from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.actions import Stale, current, topic
from bot.clock import Clock
from bot.core.commands import (
    EMBARGO_LIFT_DATE, EMBARGO_LIFT_TIME, SPEC_BY_NAME, SPECS, BadArguments, Command, Unknown,
    meeting_form_arguments, parse, parse_meeting_request, parse_settings, parse_snooze,
)
from bot.coach_networks import NetworksMixin
from bot.coach_safety import SafetyMixin
from bot.config import Config
from bot.content import Content, Rendered
from bot.core import curriculum as cur
from bot.core.handles import InvalidHandle, normalize_handle
from bot.core.models import Lesson, Meeting, networks_of
from bot.core.preflight import DraftContext, MeetingWindow, check_draft
from bot.core.readiness import Readiness, Stage, assess
from bot.charts import trend_png
from bot.core.digest import Digest, build_digest, iso_week, previous_week
from bot.core.reports import (
    RosterRow, department_rows, followback_worklist, hospital_report, meeting_readiness,
)
from bot.core.snapshot import (
    PersonSnapshot, RosterCounts, Totals, camp_counts, next_enrollment, progress_of, progress_of_counts,
)
from bot.core.tweetcamp import all_items, describe_phase, timeline
from bot.preflight_rules import preflight_reply, too_long_reply
from bot.messages import (
    Button, Checklist, ChecklistItem, Form, FormField, Image, Incoming, Progress, Reply, Table, inert,
)
from bot.store import Person, Store

log = logging.getLogger(__name__)

NEXT_STEP_ACTIONS = {
    Stage.PROFILE_CREATED: ("Set up my profile", "cmd:profile"),
    Stage.PROFILE_COMPLETE: ("Profile checklist", "cmd:profile"),
    Stage.FOLLOWS_HOSPITAL: ("Follow the hospital", "cmd:follow"),
    Stage.CORE_LESSONS: ("Next lesson", "cmd:lesson"),
    Stage.TWEET_CAMP: ("Tweet Camp checklist", "cmd:camp"),
    Stage.VIDEO: ("I posted a video", "video:done"),
}
MEETING_FORM = "meetings-add"
"""Id of the add-a-meeting form; its submission is the action ``form:meetings-add``."""
MEETING_FORM_FIELDS = (
    FormField("name", "Name", required=True, placeholder="Heart Summit 2027"),
    FormField("start", "Starts", "date", required=True),
    FormField("end", "Ends (leave empty for a one-day meeting)", "date"),
    FormField("city", "City", placeholder="Chicago"),
    FormField("hashtag", "Hashtag", placeholder="#HS27"),
    FormField("embargo", "Embargo rules", "multiline", placeholder="Abstracts are embargoed until presented."),
    FormField(EMBARGO_LIFT_DATE, "Embargo lifts on (optional)", "date"),
    FormField(EMBARGO_LIFT_TIME, "Embargo lifts at (hospital time)", "time"),
    FormField("attendees", "Invite (departments or emails, comma-separated)",
              placeholder="Cardiology, ana.ortiz@hospital.org"),
)


@dataclass(frozen=True)
class Caller:
    person: Person
    is_admin: bool
    zone: ZoneInfo
    platform: str = "web"
    """Where this turn came from (a safety alert prefers the recipients' address there)."""


MAX_TEAMS_ROWS = 200
"""People without a Teams chat listed by name in `roster` (the counts by reason cover everyone;
`rounds teams install` lists them all)."""


class Coach(NetworksMixin, SafetyMixin):
    def __init__(self, store: Store, content: Content, config: Config, clock: Clock) -> None:
        self.store = store
        self.content = content
        self.config = config
        self.clock = clock
        self.teams_reach = False
        """Teams is configured: ``roster`` also says who has no Teams chat with the bot, and why."""

    # -- entry point ------------------------------------------------------------------------
    async def handle(self, incoming: Incoming) -> list[Reply]:
        caller = await self._identify(incoming)
        if caller is None:
            log.info("unknown user platform=%s user=%s", incoming.platform, incoming.user_id)
            return [self._reply("onboarding", "onboarding", hospital=self.config.hospital_name,
                                name=incoming.display_name or "")]
        log.info("turn platform=%s person=%s kind=%s", incoming.platform, caller.person.id,
                 "action" if incoming.action else "text")
        try:
            if incoming.action:
                action = current(incoming.action, incoming.action_version)
                if action is None:
                    raise Stale("", topic(incoming.action))
                return await self._action(caller, action, incoming.values)
            return await self._command(caller, parse(incoming.text or ""))
        except Stale as exc:
            return await self._stale(caller, exc)
        except BadArguments as exc:
            message = inert(str(exc))  # it may quote what the person typed
            return [Reply(kind="error", text=message, title="Let's try that again", body=message)]

    async def _stale(self, caller: Caller, stale: Stale) -> list[Reply]:
        """A press of something that changed or is gone: say so, and show how things stand now."""
        log.info("stale action person=%s topic=%s", caller.person.id, stale.topic.split(" ", 1)[0])
        note = self._reply("stale_action", "notice", note=str(stale))
        try:
            return [note, *await self._command(caller, parse(stale.topic))]
        except BadArguments:
            return [note]

    async def home(self, incoming: Incoming) -> list[Reply]:
        """Everything a personal home screen shows (Slack App Home, Teams welcome card)."""
        caller = await self._identify(incoming)
        if caller is None:
            return [self._reply("onboarding", "onboarding", hospital=self.config.hospital_name,
                                name=incoming.display_name or "")]
        snapshot = await self.store.snapshot(caller.person.id)
        replies = await self._cmd_status(caller, Command("status", (), ""), snapshot)
        replies.append(await self._profile_reply(caller))
        enrollment = next_enrollment(snapshot.enrollments, self._today(caller)) if snapshot else None
        if enrollment is not None:
            replies.append(await self._camp_reply(caller, enrollment.meeting))
        replies.append(await self._meetings_reply(caller))
        if caller.is_admin:
            replies.extend(await self._cmd_report(caller, Command("report", (), "")))
        return replies

    async def _identify(self, incoming: Incoming) -> Caller | None:
        person = await self.store.person_by_identity(incoming.platform, incoming.user_id)
        now = self.clock.now()
        if person is not None and not person.active:
            return None  # left the roster: no coaching, no data
        if person is None:
            email = incoming.email or (incoming.user_id if incoming.platform == "web" else None)
            person = await self.store.person_by_email(email) if email else None
            if person is None or not person.active:
                return None
            await self.store.link_identity(incoming.platform, incoming.user_id, person.id, now)
        if incoming.timezone and incoming.timezone != person.timezone and _valid_zone(incoming.timezone):
            await self.store.update_person(person.id, now, timezone=incoming.timezone)
            person = await self.store.person(person.id) or person
        zone = ZoneInfo(person.timezone) if person.timezone and _valid_zone(person.timezone) else self.config.zone
        return Caller(person, person.is_admin or self.config.is_admin(person.email), zone, incoming.platform)

    async def _command(self, caller: Caller, command: Command | Unknown) -> list[Reply]:
        if isinstance(command, Unknown):
            return [self._reply("unknown_command", "error", text=command.text, suggestion=command.suggestion)]
        spec = SPEC_BY_NAME[command.name]
        if spec.admin and not caller.is_admin:
            return [self._reply("not_admin", "error", command=command.name)]
        handler = getattr(self, f"_cmd_{command.name}")
        return await handler(caller, command)

    async def _action(self, caller: Caller, action: str, values: tuple[tuple[str, str], ...] = ()) -> list[Reply]:
        verb, _, arg = action.partition(":")
        if verb == "cmd":
            command = parse(arg)
            try:
                return await self._command(caller, command)
            except BadArguments as exc:  # e.g. the meeting the button named is over: show the current list
                raise Stale(str(exc), command.name if isinstance(command, Command) else "help") from None
        if verb == "form":
            return await self._submit_form(caller, arg, dict(values))
        if verb == "quiz":
            lesson_id, _, choice = arg.rpartition(":")
            return await self._answer(caller, lesson_id, choice)
        if verb == "profile":
            if arg not in {item.id for item in self.content.profile_items}:
                raise Stale("That item is no longer on the profile checklist.", "profile")
            return await self._toggle_profile(caller, arg)
        if verb == "follow":
            return await self._set_follow(caller, arg == "done")
        if verb == "video":
            return await self._set_video(caller, arg == "done")
        if verb == "meeting":
            what, _, meeting_id = arg.partition(":")
            return await self._set_attending(caller, meeting_id, what == "join")
        if verb == "camp":
            meeting_id, _, item_id = arg.partition(":")
            return await self._toggle_camp(caller, meeting_id, item_id)
        if verb == "followback":
            return await self._mark_followed_back(caller, arg)
        if verb == "snooze":
            return await self._cmd_snooze(caller, Command("snooze", (arg,), arg))
        if verb == "networks":
            return await self._toggle_network(caller, arg)
        if verb == "safety":
            return await self._safety_action(caller, arg)
        raise Stale("", topic(action))

    # -- help -----------------------------------------------------------------------------------
    async def _cmd_help(self, caller: Caller, command: Command) -> list[Reply]:
        topic = SPEC_BY_NAME.get(command.args[0].lower()) if command.args else None
        if command.args and topic is None:
            raise BadArguments(f"I don't have a command called “{command.args[0]}”. Type `help` for the list.")
        specs = [s for s in SPECS if caller.is_admin or not s.admin]
        rendered = self.content.render("help", hospital=self._hospital(), is_admin=caller.is_admin, topic=topic)
        if topic is None:
            rows = tuple((s.usage, s.summary) for s in specs)
            table = Table(("Command", "What it does"), rows)
        else:
            table = None
        buttons = (Button("Next lesson", "cmd:lesson", "primary"), Button("My status", "cmd:status"),
                   Button("Profile", "cmd:profile"))
        return [self._from(rendered, "help", buttons=buttons, table=table)]

    # -- lessons and quizzes -----------------------------------------------------------------------
    async def _cmd_lesson(self, caller: Caller, command: Command) -> list[Reply]:
        pid = caller.person.id
        done = await self.store.lessons_done(pid)
        reviews = await self.store.reviews(pid)
        networks = networks_of(caller.person.networks)
        item = cur.next_item(self.content.curriculum, done, reviews, self.clock.now(), networks)
        lessons = self.content.curriculum.for_networks(networks)  # "lesson 3 of 27" counts only theirs
        if item is None:
            return [self._reply("curriculum_done", "lesson", done=len(done), total=len(lessons),
                                buttons=(Button("My status", "cmd:status"), Button("My networks", "cmd:networks")))]
        if item.kind == "review":
            return [self._quiz_reply(item.lesson, review=True)]
        number = lessons.index(item.lesson) + 1
        track = self.content.curriculum.track(item.lesson.track)
        rendered = self.content.render("lesson", lesson=item.lesson, track=track, number=number,
                                       total=len(lessons), review=False)
        return [self._from(rendered, "lesson", buttons=self._choice_buttons(item.lesson),
                           footer=_sources_line(item.lesson))]

    async def _cmd_quiz(self, caller: Caller, command: Command) -> list[Reply]:
        reviews = await self.store.reviews(caller.person.id)
        due = cur.due_reviews(reviews, self.clock.now())
        lesson = self.content.curriculum.lesson(due[0]) if due else None
        if lesson is None:
            upcoming = [s.due_at for s in reviews.values() if not s.retired and s.due_at is not None]
            return [self._reply("quiz_none", "quiz", next_due=_day(min(upcoming), caller.zone) if upcoming else "",
                                buttons=(Button("Next lesson", "cmd:lesson", "primary"),))]
        return [self._quiz_reply(lesson, review=True)]

    def _quiz_reply(self, lesson: Lesson, review: bool) -> Reply:
        rendered = self.content.render("quiz", lesson=lesson, review=review)
        return self._from(rendered, "quiz", buttons=self._choice_buttons(lesson))

    @staticmethod
    def _choice_buttons(lesson: Lesson) -> tuple[Button, ...]:
        return tuple(Button(f"{chr(65 + i)}. {choice}", f"quiz:{lesson.id}:{i + 1}")
                     for i, choice in enumerate(lesson.quiz.choices))

    async def _answer(self, caller: Caller, lesson_id: str, choice_text: str) -> list[Reply]:
        lesson = self.content.curriculum.lesson(lesson_id)
        if lesson is None or not choice_text.isdigit() or not 1 <= int(choice_text) <= len(lesson.quiz.choices):
            raise Stale("That quiz is no longer available. Type `lesson` for your next one.", "lesson")
        now = self.clock.now()
        pid = caller.person.id
        reviews = await self.store.reviews(pid)
        state = reviews.get(lesson_id)
        if state is not None and (state.retired or (state.due_at and state.due_at > now)):
            when = "It is retired: you answered it right twice in a row." if state.retired else \
                f"It comes back for review on {_day(state.due_at, caller.zone)}."
            raise Stale(f"You already answered this question. {when}", "lesson")
        choice = int(choice_text) - 1
        try:
            correct = cur.grade(lesson, choice)
        except ValueError as exc:
            raise BadArguments(str(exc)) from None
        new_state = cur.record_answer(state, lesson_id, correct, now)
        await self.store.save_review(pid, new_state, now)
        await self.store.mark_lesson_done(pid, lesson_id, now)
        rendered = self.content.render(
            "quiz_result", lesson=lesson, correct=correct, chosen=lesson.quiz.choices[choice],
            right_choice=lesson.quiz.choices[lesson.quiz.answer], retired=new_state.retired,
            next_due=_day(new_state.due_at, caller.zone) if new_state.due_at else "")
        return [self._from(rendered, "quiz_result", replace_original=True, footer=_sources_line(lesson),
                           buttons=(Button("Next lesson", "cmd:lesson", "primary"),
                                    Button("My status", "cmd:status")))]

    # -- profile, follow, video ------------------------------------------------------------------------
    async def _cmd_profile(self, caller: Caller, command: Command) -> list[Reply]:
        args = [a for a in command.args if a.lower() not in ("handle", "set")]
        if args and args[0].lower() in ("done", "undo"):
            if len(args) < 2:
                raise BadArguments("Say which item, e.g. `profile done photo`. Items: " +
                                   ", ".join(i.id for i in self.content.profile_items) + ".")
            return await self._toggle_profile(caller, args[1].lower(), done=args[0].lower() == "done")
        if args:
            return await self._set_handle(caller, " ".join(args))
        return [await self._profile_reply(caller)]

    async def _set_handle(self, caller: Caller, text: str) -> list[Reply]:
        try:
            handle = normalize_handle(text)
        except InvalidHandle as exc:
            return [self._reply("handle_invalid", "error", reason=str(exc))]
        previous = caller.person.x_handle
        if await self.store.claim_x_handle(caller.person.id, handle, self.clock.now()) is not None:
            log.info("x handle refused person=%s: held by another physician", caller.person.id)
            return [self._reply("handle_taken", "error", handle=handle)]
        saved = self._reply("handle_saved", "profile", handle=handle, previous=previous)
        caller = Caller(await self.store.person(caller.person.id) or caller.person, caller.is_admin, caller.zone)
        return [saved, await self._profile_reply(caller)]

    async def _toggle_profile(self, caller: Caller, item_id: str, done: bool | None = None) -> list[Reply]:
        known = {item.id for item in self.content.profile_items}
        if item_id not in known:
            raise BadArguments(f"“{item_id}” is not on the profile checklist; items: {', '.join(sorted(known))}.")
        pid = caller.person.id
        if done is None:
            done = item_id not in await self.store.profile_done(pid)
        await self.store.set_profile_item(pid, item_id, done, self.clock.now())
        return [await self._profile_reply(caller, replace_original=True)]

    async def _profile_reply(self, caller: Caller, replace_original: bool = False) -> Reply:
        done = await self.store.profile_done(caller.person.id)
        items = self.content.profile_items
        rendered = self.content.render("profile", handle=caller.person.x_handle, items=items,
                                       done=len(done & {i.id for i in items}), total=len(items),
                                       hospital=self._hospital())
        checklist = Checklist(rendered.exports.get("checklist_title", "Profile checklist"), tuple(
            ChecklistItem(item.id, item.title, item.id in done, f"profile:{item.id}", item.detail)
            for item in items))
        return self._from(rendered, "profile", checklist=checklist, replace_original=replace_original)

    async def _cmd_follow(self, caller: Caller, command: Command) -> list[Reply]:
        arg = command.args[0].lower() if command.args else ""
        if arg in ("done", "yes", "undo", "no"):
            return await self._set_follow(caller, arg in ("done", "yes"))
        if arg:
            raise BadArguments("Use `follow` to see how, `follow done` once you follow the hospital, "
                               "or `follow undo` to take it back.")
        return [self._follow_reply(caller.person)]

    async def _set_follow(self, caller: Caller, follows: bool) -> list[Reply]:
        now = self.clock.now()
        await self.store.update_person(caller.person.id, now, follows_hospital_at=now if follows else None)
        person = await self.store.person(caller.person.id) or caller.person
        return [self._follow_reply(person, replace_original=True)]

    def _follow_reply(self, person: Person, replace_original: bool = False) -> Reply:
        follows = person.follows_hospital_at is not None
        rendered = self.content.render("follow", hospital=self._hospital(), follows=follows,
                                       followed_back=person.followed_back_at is not None, handle=person.x_handle)
        button = Button("Undo: I don't follow yet", "follow:undo") if follows else \
            Button(f"I follow @{self.config.hospital_handle}", "follow:done", "primary")
        return self._from(rendered, "follow", buttons=(button,), replace_original=replace_original)

    async def _cmd_video(self, caller: Caller, command: Command) -> list[Reply]:
        arg = command.args[0].lower() if command.args else ""
        if arg not in ("", "done", "undo"):
            raise BadArguments("Use `video done` once you have posted a professional video, or `video undo`.")
        if arg:
            return await self._set_video(caller, arg == "done")
        return [self._reply("video", "status", posted=caller.person.video_posted_at is not None,
                            buttons=(Button("I posted a video", "video:done", "primary"),))]

    async def _set_video(self, caller: Caller, posted: bool) -> list[Reply]:
        now = self.clock.now()
        await self.store.update_person(caller.person.id, now, video_posted_at=now if posted else None)
        return [self._reply("video", "status", posted=posted, replace_original=True)]

    # -- meetings and Tweet Camp -----------------------------------------------------------------------
    async def _cmd_meetings(self, caller: Caller, command: Command) -> list[Reply]:
        args = command.rest.split(None, 1)
        if args and args[0].lower() == "add":
            if not caller.is_admin:
                return [self._reply("not_admin", "error", command="meetings add")]
            if len(args) == 1:
                return [self._meeting_form()]
            return await self._add_meeting(caller, args[1])
        if args and args[0].lower() in ("join", "leave"):
            if len(args) < 2:
                raise BadArguments(f"Say which meeting, e.g. `meetings {args[0].lower()} ASCO`.")
            meeting = await self._find_meeting(args[1])
            return await self._set_attending(caller, str(meeting.id), args[0].lower() == "join")
        if args:
            raise BadArguments("Use `meetings` for the list, `meetings join <meeting>` or `meetings leave <meeting>`.")
        return [await self._meetings_reply(caller)]

    async def _add_meeting(self, caller: Caller, text: str) -> list[Reply]:
        request = parse_meeting_request(text, self.content.catalog, self.config.zone)
        today = self._today(None)
        if request.meeting.ends_on < today:
            raise BadArguments(f"{request.meeting.name} ended on {_date(request.meeting.ends_on)}, before today "
                               f"({_date(today)}): add upcoming meetings, whose Tweet Camp can still count down. "
                               "Check the year of the start date.")
        if await self.store.meeting_by_key(request.meeting.key):
            raise BadArguments(f"{request.meeting.name} is already on the calendar.")
        meeting = await self.store.add_meeting(request.meeting, self.clock.now())
        invited = 0
        if request.attendees:
            emails = {a.lower() for a in request.attendees if "@" in a}
            departments = {a.lower() for a in request.attendees if "@" not in a}
            for person in await self.store.people(role="physician"):
                if person.email in emails or person.department.lower() in departments:
                    invited += await self.store.set_attending(person.id, meeting.id, True, self.clock.now())
        return [self._reply("meeting_added", "meetings", meeting=meeting, invited=invited,
                            buttons=(Button("Meetings", "cmd:meetings"),))]

    def _meeting_form(self, values: dict[str, str] | None = None, **extra: object) -> Reply:
        """The add-a-meeting form, holding ``values`` when a submission comes back with an error."""
        values = values or {}
        form = Form(tuple(replace(f, value=values.get(f.id, "").strip()) for f in MEETING_FORM_FIELDS),
                    f"form:{MEETING_FORM}", "Add meeting")
        return self._from(self.content.render("meeting_form"), "form", form=form, **extra)

    async def _submit_form(self, caller: Caller, form_id: str, values: dict[str, str]) -> list[Reply]:
        """A submitted form runs as its typed command (``meetings add key=value …``); the answer takes
        the form's place.

        An error comes back with the form, its values kept, so nothing has to be typed again.
        """
        if form_id != MEETING_FORM:
            raise Stale("", "meetings")
        if not caller.is_admin:
            return [self._reply("not_admin", "error", command="meetings add", replace_original=True)]
        try:
            replies = await self._add_meeting(caller, meeting_form_arguments(values))
        except BadArguments as exc:
            error = self._meeting_form(values, replace_original=True)
            message = inert(str(exc))
            return [replace(error, kind="error", title="Let's try that again", text=message, body=message)]
        return [replace(replies[0], replace_original=True), *replies[1:]]

    async def _meetings_reply(self, caller: Caller, replace_original: bool = False) -> Reply:
        today = self._today(caller)
        upcoming = await self.store.meetings(ending_on_or_after=today)
        attending = await self.store.attending(caller.person.id)
        listed = [dict(meeting=m, joined=m.id in attending) for m in upcoming]
        rendered = self.content.render("meetings", meetings=listed, hospital=self._hospital())
        buttons = tuple(
            Button(f"Leave {m.name}", f"meeting:leave:{m.id}") if m.id in attending
            else Button(f"Join {m.name}", f"meeting:join:{m.id}", "primary")
            for m in upcoming[:12])
        return self._from(rendered, "meetings", buttons=buttons, replace_original=replace_original)

    async def _find_meeting(self, query: str) -> Meeting:
        wanted = re.sub(r"[^a-z0-9]", "", query.lower())
        upcoming = await self.store.meetings(ending_on_or_after=self._today(None))
        for meeting in upcoming:
            names = (meeting.key, meeting.name, meeting.hashtag)
            if any(wanted and wanted in re.sub(r"[^a-z0-9]", "", n.lower()) for n in names):
                return meeting
        names = ", ".join(m.name for m in upcoming[:8]) or "none are scheduled yet"
        raise BadArguments(f"I don't know an upcoming meeting called “{query}”. Upcoming: {names}.")

    async def _set_attending(self, caller: Caller, meeting_id: str, attending: bool) -> list[Reply]:
        meeting = await self._meeting(meeting_id)
        was_registered = meeting.id in await self.store.attending(caller.person.id)
        await self.store.set_attending(caller.person.id, meeting.id, attending, self.clock.now())
        confirmation = self._reply("meeting_joined", "meetings", meeting=meeting, joined=attending,
                                   was_registered=was_registered,
                                   buttons=(Button("Open Tweet Camp", f"cmd:camp {meeting.key}", "primary"),)
                                   if attending else ())
        return [confirmation, await self._meetings_reply(caller, replace_original=True)]

    async def _meeting(self, meeting_id: str) -> Meeting:
        meetings = {str(m.id): m for m in await self.store.meetings()}
        if meeting_id not in meetings:
            raise Stale("That meeting is no longer on the calendar. Type `meetings` for the current list.", "meetings")
        return meetings[meeting_id]

    async def _cmd_camp(self, caller: Caller, command: Command) -> list[Reply]:
        today = self._today(caller)
        if command.rest:
            meeting = await self._find_meeting(command.rest)
        else:
            snapshot = await self.store.snapshot(caller.person.id)
            enrollment = next_enrollment(snapshot.enrollments, today) if snapshot else None
            if enrollment is None:
                upcoming = await self.store.meetings(ending_on_or_after=today)
                buttons = tuple(Button(f"Join {m.name}", f"meeting:join:{m.id}") for m in upcoming[:5])
                return [self._reply("no_meeting", "camp", upcoming=upcoming, buttons=buttons)]
            meeting = enrollment.meeting
        return [await self._camp_reply(caller, meeting)]

    async def _camp_reply(self, caller: Caller, meeting: Meeting, replace_original: bool = False) -> Reply:
        today = self._today(caller)
        done = await self.store.camp_done(caller.person.id, meeting.id)
        entries = timeline(self.content.camp_phases, meeting.starts_on, meeting.ends_on, today)
        phases = [dict(entry=e, when=describe_phase(e.phase), date=_phase_dates(e.phase, e.due_on, meeting))
                  for e in entries]
        item_count = sum(len(e.phase.items) for e in entries)
        done_count = sum(1 for e in entries for i in e.phase.items if i.id in done)
        rendered = self.content.render("camp", meeting=meeting, phases=phases, done=done_count,
                                       total=item_count, today=_date(today))
        items = tuple(
            ChecklistItem(item.id, item.title, item.id in done, f"camp:{meeting.id}:{item.id}", item.detail,
                          due=f"{describe_phase(e.phase)} ({_phase_dates(e.phase, e.due_on, meeting)})")
            for e in entries for item in e.phase.items)
        checklist = Checklist(f"Tweet Camp: {inert(meeting.name)}", items)
        return self._from(rendered, "camp", checklist=checklist, replace_original=replace_original)

    async def _toggle_camp(self, caller: Caller, meeting_id: str, item_id: str) -> list[Reply]:
        meeting = await self._meeting(meeting_id)
        known = {item.id for phase in self.content.camp_phases for item in phase.items}
        if item_id not in known:
            raise Stale("That checklist item no longer exists. Type `camp` for the current checklist.", "camp")
        pid = caller.person.id
        if meeting.id not in await self.store.attending(pid):
            await self.store.set_attending(pid, meeting.id, True, self.clock.now())
        done = item_id not in await self.store.camp_done(pid, meeting.id)
        await self.store.set_camp_item(pid, meeting.id, item_id, done, self.clock.now())
        return [await self._camp_reply(caller, meeting, replace_original=True)]

    # -- status ------------------------------------------------------------------------------------------
    async def readiness(self, person_id: int, today: date) -> Readiness | None:
        snapshot = await self.store.snapshot(person_id)
        if snapshot is None:
            return None
        c = self.content
        return assess(progress_of(snapshot, c.curriculum, c.profile_items, c.camp_phases, today))

    async def _cmd_status(self, caller: Caller, command: Command,
                          snapshot: PersonSnapshot | None = None) -> list[Reply]:
        today = self._today(caller)
        snapshot = snapshot or await self.store.snapshot(caller.person.id)
        assert snapshot is not None
        c = self.content
        progress = progress_of(snapshot, c.curriculum, c.profile_items, c.camp_phases, today)
        readiness = assess(progress)
        stages = [dict(label=s.stage.label, done=s.done, applicable=s.applicable, percent=round(100 * s.fraction),
                       stage=s.stage.value) for s in readiness.stages]
        rendered = self.content.render(
            "status", readiness=readiness, stages=stages,
            next_step=readiness.next_step.value if readiness.next_step else None,
            camp=progress.camp, hospital=self._hospital(), handle=caller.person.x_handle)
        reached = readiness.reached.label if readiness.reached else "Getting started"
        next_text = rendered.exports.get("next_line", "")
        buttons = ()
        if readiness.next_step in NEXT_STEP_ACTIONS:
            label, action = NEXT_STEP_ACTIONS[readiness.next_step]
            buttons = (Button(label, action, "primary"),)
        fields = tuple((s["label"], _stage_value(s)) for s in stages)
        return [self._from(rendered, "status", progress=Progress(readiness.score, reached, next_text),
                           buttons=buttons, fields=fields)]

    # -- draft check -------------------------------------------------------------------------------------
    async def _cmd_check(self, caller: Caller, command: Command) -> list[Reply]:
        """Check a draft in memory; the text is never stored or logged.

        A draft longer than the checker reads gets a clear reply and is not checked. The check
        runs in a worker thread so a long draft cannot hold up other requests on the event loop.
        """
        rules = self.content.preflight
        if len(command.rest) > rules.max_chars:
            return [too_long_reply(rules, len(command.rest))]
        now = self.clock.now()
        today = self._today(caller)
        meetings = await self.store.meetings(ending_on_or_after=today - timedelta(days=1))
        windows = tuple(MeetingWindow(m.name, m.hashtag, m.starts_on, m.ends_on,
                                      m.embargo_lifts_at.astimezone(caller.zone) if m.embargo_lifts_at else None)
                        for m in meetings)
        context = DraftContext(now=now, meetings=windows)
        report = await asyncio.to_thread(check_draft, command.rest, rules, context)
        return [preflight_reply(report, command.rest)]

    # -- reminders preferences -------------------------------------------------------------------------
    async def _cmd_snooze(self, caller: Caller, command: Command) -> list[Reply]:
        now = self.clock.now()
        until = parse_snooze(command.rest, now, caller.zone)
        await self.store.update_person(caller.person.id, now, snoozed_until=until)
        return [self._reply("snoozed", "settings", until=_moment(until, caller.zone),
                            buttons=(Button("Resume now", "cmd:start"),))]

    async def _cmd_settings(self, caller: Caller, command: Command) -> list[Reply]:
        person = caller.person
        if command.rest:
            changes = parse_settings(command.rest)
            await self.store.update_person(person.id, self.clock.now(), **changes)
            person = await self.store.person(person.id) or person
        hospital = self.config.quiet_hours
        rendered = self.content.render(
            "settings", changed=bool(command.rest),
            quiet=f"{person.quiet_start or f'{hospital.start:%H:%M}'}–{person.quiet_end or f'{hospital.end:%H:%M}'}",
            quiet_own=person.quiet_start is not None,
            weekends_off=hospital.weekends if person.weekends_off is None else person.weekends_off,
            lessons=person.lesson_time or f"{self.config.lessons.time:%H:%M}", lessons_own=person.lesson_time is not None,
            zone=person.timezone or self.config.timezone, snoozed_until=_moment(person.snoozed_until, caller.zone)
            if person.snoozed_until and person.snoozed_until > self.clock.now() else "",
            stopped=person.stopped_at is not None)
        return [self._from(rendered, "settings", buttons=(Button("Snooze 1 week", "snooze:1w"),))]

    async def _cmd_stop(self, caller: Caller, command: Command) -> list[Reply]:
        await self.store.update_person(caller.person.id, self.clock.now(), stopped_at=self.clock.now())
        return [self._reply("stopped", "settings", hospital=self._hospital(),
                            buttons=(Button("Resume reminders", "cmd:start"),))]

    async def _cmd_start(self, caller: Caller, command: Command) -> list[Reply]:
        await self.store.update_person(caller.person.id, self.clock.now(), stopped_at=None, snoozed_until=None)
        return [self._reply("started", "settings", hospital=self._hospital(),
                            buttons=(Button("Next lesson", "cmd:lesson", "primary"),))]

    # -- marketing ---------------------------------------------------------------------------------------
    async def roster_rows(self, today: date) -> list[RosterRow]:
        """Every active physician's readiness, by department and name."""
        return [row for row, _ in await self._roster(today)]

    def _totals(self) -> Totals:
        c = self.content
        return Totals.of(c.curriculum, c.profile_items, c.camp_phases)

    async def _roster(self, today: date) -> list[tuple[RosterRow, RosterCounts]]:
        c = self.content
        counts = await self.store.roster_counts(today, c.curriculum.core_ids, (item.id for item in c.profile_items),
                                                (item.id for item in all_items(c.camp_phases)))
        totals = self._totals()
        return [(RosterRow(s.person_id, s.name, s.email, s.department, s.x_handle,
                           progress_of_counts(s, totals, today)), s)
                for s in counts]

    async def _cmd_report(self, caller: Caller, command: Command) -> list[Reply]:
        if command.args and command.args[0].lower() == "meeting":
            return await self._report_meeting(caller, command.rest.split(None, 1)[1] if len(command.args) > 1 else "")
        rows = await self.roster_rows(self._today(caller))
        if command.rest:
            members = department_rows(rows, command.rest)
            if not members:
                departments = sorted({row.department for row in rows})
                raise BadArguments(f"No department called “{command.rest}”. Departments: {', '.join(departments)}.")
            table = Table(("Physician", "X handle", "Score", "Stage", "Next step"), tuple(
                (inert(row.name), f"@{row.x_handle}" if row.x_handle else "—", str(r.score),
                 r.reached.label if r.reached else "Getting started",
                 r.next_step.todo if r.next_step else "All done")
                for row, r in members))
            rendered = self.content.render("report_department", department=members[0][0].department, rows=members)
            return [self._from(rendered, "report", table=table)]
        report = hospital_report(self.config.hospital_name, rows)
        table = Table(("Department", "Physicians", "Profile", "Follow us", "Followed back", "Core lessons",
                       "Meeting ready", "Avg score"), tuple(
            (inert(a.label), str(a.physicians), f"{a.pct(a.with_profile)}%", f"{a.pct(a.following)}%",
             f"{a.pct(a.followed_back)}%", f"{a.pct(a.core_lessons_done)}%",
             f"{a.camp_done}/{a.camp_registered}", str(a.average_score))
            for a in (*report.departments, report.overall)))
        rendered = self.content.render("report", report=report, hospital=self._hospital())
        buttons = tuple(Button(a.label, f"cmd:report {a.label}") for a in report.departments[:10])
        return [self._from(rendered, "report", table=table, buttons=buttons)]

    # -- proactive messages -------------------------------------------------------------------------
    async def reminder(self, person_id: int, kind: str, spec: dict) -> Reply | None:
        """Render a planned reminder at send time; None when it is no longer relevant."""
        person = await self.store.person(person_id)
        if person is None or not person.active:
            return None
        zone = ZoneInfo(person.timezone) if person.timezone and _valid_zone(person.timezone) else self.config.zone
        caller = Caller(person, person.is_admin or self.config.is_admin(person.email), zone)
        if kind == "digest":
            week = str(spec.get("week") or "") or None
            return await self.digest_reply(self.clock.now(), week) if caller.is_admin else None
        reply = await self._reminder_body(caller, kind, spec)
        if reply is None:
            return None
        buttons = reply.buttons + (Button("Snooze 1 week", "snooze:1w"), Button("Stop reminders", "cmd:stop"))
        footer = self.content.render("reminder_footer").body
        return replace(reply, buttons=buttons, footer="\n".join(x for x in (reply.footer, footer) if x),
                       ephemeral=False, replace_original=False)

    async def broadcast(self, kind: str, spec: dict) -> Reply | None:
        """Render a message to a channel rather than a person (the weekly digest)."""
        if kind == "digest":
            return await self.digest_reply(self.clock.now(), str(spec.get("week") or "") or None)
        if kind in ("safety_case", "safety_handled"):
            return await self.safety_broadcast(kind, spec)
        log.warning("unknown broadcast kind=%s", kind)
        return None

    async def _reminder_body(self, caller: Caller, kind: str, spec: dict) -> Reply | None:
        pid = caller.person.id
        if kind == "profile":
            done = await self.store.profile_done(pid)
            missing = [i for i in self.content.profile_items if i.id not in done]
            if caller.person.x_handle and not missing:
                return None
            profile = await self._profile_reply(caller)
            rendered = self.content.render("reminder_profile", handle=caller.person.x_handle, missing=missing,
                                           step=int(spec.get("step", 0)), hospital=self._hospital())
            return replace(self._from(rendered, "reminder"), checklist=profile.checklist)
        if kind == "follow":
            if caller.person.follows_hospital_at is not None:
                return None
            rendered = self.content.render("reminder_follow", hospital=self._hospital(), step=int(spec.get("step", 0)))
            return self._from(rendered, "reminder", buttons=(
                Button(f"I follow @{self.config.hospital_handle}", "follow:done", "primary"),))
        if kind == "lesson":
            done = await self.store.lessons_done(pid)
            networks = networks_of(caller.person.networks)
            if cur.next_lesson(self.content.curriculum, done, networks) is None:
                return None  # everything that applies to them is done (or they changed networks)
            replies = await self._cmd_lesson(caller, Command("lesson", (), ""))
            return replies[0] if replies[0].kind in ("lesson", "quiz") else None
        if kind == "review":
            lesson = self.content.curriculum.lesson(str(spec.get("lesson")))
            reviews = await self.store.reviews(pid)
            if lesson is None or lesson.id not in cur.due_reviews(reviews, self.clock.now()):
                return None
            return self._quiz_reply(lesson, review=True)
        if kind == "camp":
            meetings = {m.id: m for m in await self.store.meetings()}
            meeting = meetings.get(int(spec.get("meeting", 0)))
            if meeting is None or meeting.id not in await self.store.attending(pid):
                return None
            phase = next((p for p in self.content.camp_phases if p.id == spec.get("phase")), None)
            if phase is None:
                return None
            done = await self.store.camp_done(pid, meeting.id)
            if not phase.every_meeting_day and all(item.id in done for item in phase.items):
                return None  # a meeting-day phase reminds every day: its habits are daily
            days = (meeting.ends_on - meeting.starts_on).days + 1
            rendered = self.content.render("reminder_camp", meeting=meeting, phase=phase,
                                           when=describe_phase(phase), day=int(spec.get("day", 0)), days=days)
            checklist = Checklist(f"{phase.title}: {inert(meeting.name)}", tuple(
                ChecklistItem(item.id, item.title, item.id in done, f"camp:{meeting.id}:{item.id}", item.detail)
                for item in phase.items))
            return self._from(rendered, "reminder", checklist=checklist,
                              buttons=(Button("Full checklist", f"cmd:camp {meeting.key}"),))
        log.warning("unknown reminder kind=%s person=%s", kind, pid)
        return None

    async def _report_meeting(self, caller: Caller, query: str) -> list[Reply]:
        if not query:
            raise BadArguments("Say which meeting, e.g. `report meeting ASCO`.")
        meeting = await self._find_meeting(query)
        today = self._today(caller)
        snapshots = await self.store.attendee_snapshots(meeting.id)
        total = self._totals().camp
        attendees = sorted(((s, next(e for e in camp_counts(s.enrollments, self.content.camp_phases)
                                     if e.meeting.id == meeting.id)) for s in snapshots),
                           key=lambda pair: pair[0].name.lower())
        attendance = meeting_readiness((e for _, e in attendees), [meeting], total, today)[0]
        rows = [(inert(s.name), inert(s.department), f"@{s.x_handle}" if s.x_handle else "—", f"{e.done}/{total}",
                 "ready" if e.done >= total else "in progress") for s, e in attendees]
        rendered = self.content.render("report_meeting", meeting=meeting, attendance=attendance, today=_date(today))
        table = Table(("Physician", "Department", "X handle", "Tweet Camp", "Status"), tuple(rows)) if rows else None
        return [self._from(rendered, "report", table=table)]

    async def _cmd_followback(self, caller: Caller, command: Command) -> list[Reply]:
        rows = followback_worklist(await self.roster_rows(self._today(caller)))
        conflicts = await self.store.handle_conflicts()
        rendered = self.content.render("followback", rows=rows, hospital=self._hospital(), conflicts=conflicts)
        buttons = tuple(Button(f"Followed back @{r.x_handle}", f"followback:{r.physician_id}") for r in rows[:20])
        table = Table(("Physician", "Department", "X handle"), tuple(
            (inert(r.name), inert(r.department), f"[@{r.x_handle}](https://x.com/{r.x_handle})") for r in rows)) \
            if rows else None
        return [self._from(rendered, "report", table=table, buttons=buttons)]

    async def _mark_followed_back(self, caller: Caller, person_id: str) -> list[Reply]:
        if not caller.is_admin:
            return [self._reply("not_admin", "error", command="followback")]
        person = await self.store.person(int(person_id)) if person_id.isdigit() else None
        if person is None:
            raise Stale("That physician is no longer on the roster.", "followback")
        await self.store.update_person(person.id, self.clock.now(), followed_back_at=self.clock.now())
        replies = await self._cmd_followback(caller, Command("followback", (), ""))
        return [replace(replies[0], replace_original=True)]

    async def _cmd_digest(self, caller: Caller, command: Command) -> list[Reply]:
        return [await self.digest_reply(self.clock.now())]

    async def _cmd_roster(self, caller: Caller, command: Command) -> list[Reply]:
        physicians = await self.store.people(role="physician", active_only=False)
        active = [p for p in physicians if p.active]
        departments: dict[str, int] = {}
        for p in active:
            departments[p.department] = departments.get(p.department, 0) + 1
        unreachable = await self.store.outbox.unreachable()
        failing = {person_id for person_id, *_ in unreachable}
        unreachable += [(person_id, name, "no Slack account with this email", since)
                        for person_id, name, since in await self.store.slack_directory.missing_people()
                        if person_id not in failing]
        unreachable.sort(key=lambda row: row[1])
        rows = [(inert(name), error, _date(when.date())) for _, name, error, when in unreachable]
        teams_reached, teams_reasons = 0, {}
        if self.teams_reach:
            reach = await self.store.teams_installs.reach()
            teams_reached = reach.reached
            listed = {person_id for person_id, *_ in unreachable}
            shown = 0
            for person_id, name, reason, when in reach.unreached:
                teams_reasons[reason] = teams_reasons.get(reason, 0) + 1
                if person_id not in listed and shown < MAX_TEAMS_ROWS:
                    rows.append((inert(name), f"Teams: {reason}", _date(when.date()) if when else ""))
                    shown += 1
        parked = [dict(platform={"slack": "Slack", "teams": "Teams"}.get(t.platform, t.platform),
                       everywhere=t.address == "*", reason=t.reason, since=_date(t.since.astimezone(caller.zone).date()),
                       messages=t.messages)
                  for t in await self.store.outbox.parked()]
        rendered = self.content.render("roster", active=len(active), inactive=len(physicians) - len(active),
                                       departments=sorted(departments.items()), unreachable=unreachable,
                                       teams=self.teams_reach, teams_reached=teams_reached,
                                       teams_reasons=sorted(teams_reasons.items(), key=lambda item: -item[1]),
                                       parked=parked)
        table = Table(("Physician", "Why messages fail", "Since"), tuple(rows)) if rows else None
        return [self._from(rendered, "report", table=table)]

    # -- the weekly digest -----------------------------------------------------------------------------
    async def build_digest(self, now: datetime, week: str | None = None) -> Digest:
        """This week's digest, or the digest of ``week`` (numbers as of ``now``, trend up to ``week``)."""
        today = now.astimezone(self.config.zone).date()
        week = week or iso_week(today)
        roster = await self._roster(today)
        rows = [row for row, _ in roster]
        report = hospital_report(self.config.hospital_name, rows)
        history = {w: numbers for w, numbers in (await self.store.weekly.weeks(14)).items() if w <= week}
        previous = history.get(previous_week(week))
        meetings = meeting_readiness((e for _, counts in roster for e in counts.enrollments),
                                     await self.store.meetings(ending_on_or_after=today),
                                     self._totals().camp, today)
        return build_digest(self.config.hospital_name, week, report, rows, previous, history, meetings)

    async def save_weekly_snapshot(self, now: datetime) -> bool:
        """Store this week's readiness once (first writer wins), so trends are facts."""
        today = now.astimezone(self.config.zone).date()
        if await self.store.weekly.has_week(iso_week(today)):
            return False
        report = hospital_report(self.config.hospital_name, await self.roster_rows(today))
        return await self.store.weekly.save_week(iso_week(today), report, now)

    async def digest_reply(self, now: datetime, week: str | None = None) -> Reply:
        digest = await self.build_digest(now, week)
        rendered = self.content.render("digest", digest=digest, hospital=self._hospital())
        table = Table(("Department", "Physicians", "Profile", "Follow us", "Core lessons", "Avg score", "Change"), tuple(
            (inert(d.current.label), str(d.current.physicians), f"{d.current.pct(d.current.with_profile)}%",
             f"{d.current.pct(d.current.following)}%", f"{d.current.pct(d.current.core_lessons_done)}%",
             str(d.current.average_score), _signed(d.change)) for d in digest.departments))
        image = Image(trend_png(digest.history, f"Readiness at {self.config.hospital_name}, by week"),
                      alt=rendered.exports.get("chart_alt", "Readiness by week"), name=f"digest-{digest.week}.png")
        return self._from(rendered, "digest", table=table, image=image, ephemeral=False,
                          buttons=(Button("Follow-back worklist", "cmd:followback"), Button("Full report", "cmd:report")))

    # -- helpers -------------------------------------------------------------------------------------------
    def _hospital(self) -> dict[str, str]:
        return {"name": self.config.hospital_name, "handle": self.config.hospital_handle}

    def _today(self, caller: Caller | None) -> date:
        zone = caller.zone if caller else self.config.zone
        return self.clock.now().astimezone(zone).date()

    def _reply(self, template: str, kind: str, *, buttons: tuple[Button, ...] = (),
               replace_original: bool = False, **context: object) -> Reply:
        return self._from(self.content.render(template, **context), kind, buttons=buttons,
                          replace_original=replace_original)

    @staticmethod
    def _from(rendered: Rendered, kind: str, **extra: object) -> Reply:
        return Reply(kind=kind, text=rendered.summary, title=rendered.title, body=rendered.body,  # type: ignore[arg-type]
                     **extra)  # type: ignore[arg-type]


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _date(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _day(instant: datetime | None, zone: ZoneInfo) -> str:
    return _date(instant.astimezone(zone).date()) if instant else ""


def _moment(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{_date(local.date())}, {local:%H:%M} {local.tzname()}"


def _stage_value(stage: dict) -> str:
    if not stage["applicable"]:
        return "no meeting yet"
    if stage["done"]:
        return "✓ done"
    if stage["stage"] == "followed_back":
        return "marketing's step"
    return f"{stage['percent']}%" if stage["percent"] else "to do"


def _phase_dates(phase, due_on: date, meeting: Meeting) -> str:
    """A phase's date, or the meeting's days for a phase that repeats each meeting day."""
    if phase.every_meeting_day and meeting.ends_on > meeting.starts_on:
        return f"{_date(meeting.starts_on)} to {_date(meeting.ends_on)}"
    return _date(due_on)


def _signed(change: int | None) -> str:
    return "—" if change is None else f"{change:+d}"


def _sources_line(lesson: Lesson) -> str:
    return "Sources: " + "; ".join(f"[{s.title}]({s.url})" for s in lesson.sources)
