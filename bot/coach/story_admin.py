"""Marketing's side of the content library: adding a story through the form (``library add``) and
what became of the stories (``library report``), both admin-only.

A submitted form is checked twice before anything is saved: what the form alone can tell (dates,
time zone, who it is for; :mod:`bot.core.story_form`), then the story's own rules, the draft
checker's blocking findings among them (:meth:`StoryAdmin.check`, the same check as an imported
file's). Every problem comes back at its input with the form's values kept, so nothing has to be
typed again.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.actions import Stale
from bot.coach.base import Caller, Feature, from_rendered
from bot.core.commands import BadArguments
from bot.core.forms import FORMS, STORY_FORM
from bot.core.library import Problem, Story, StoryTally, problems
from bot.core.story_form import Roster, StoryProblems, form_field, story_from_form
from bot.core.words import Say, say
from bot.forms import build_form
from bot.messages import Button, Reply, Table, inert
from bot.store import Store

REPORT_STORIES = 40
"""Stories listed in ``library report`` (the newest lifts first)."""


class StoryAdmin(Feature):
    """``library add`` (the form), its submission, and ``library report [department]``."""

    # -- adding a story ---------------------------------------------------------------------------------
    async def add(self, caller: Caller, rest: str) -> list[Reply]:
        if not caller.is_admin:
            return [self.reply("not_admin", "error", command="library add")]
        if rest.strip():
            raise BadArguments("story_add_usage")
        return [self.story_form()]

    def story_form(self, values: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None,
                   **extra: object) -> Reply:
        form = build_form(STORY_FORM, self.content, values, errors)
        rendered = self.content.render("story_form", zone=self.config.timezone)
        return from_rendered(rendered, "form", form=form, **extra)

    async def submit_form(self, caller: Caller, form_id: str, values: Mapping[str, str]) -> list[Reply]:
        """The add-a-story form, submitted: saved, or back with every problem at its input."""
        if FORMS.get(form_id) is not STORY_FORM:
            raise Stale("", "library")
        if not caller.is_admin:
            return [self.reply("not_admin", "error", command="library add", replace_original=True)]
        now = self.clock.now()
        try:
            story = story_from_form(values, hospital_zone=self.config.timezone, now=now, roster=await self._roster())
        except StoryProblems as exc:
            return [self._form_error(values, exc.problems)]
        found = [(form_field(p), p.say) for p in (await self.check([story])).get(story.key, ())]
        if await self.store.library.get(story.key, now, admin=True) is not None:
            found.append(("title", Say("story_form_key_taken", {"key": story.key})))
        if found:
            return [self._form_error(values, found)]
        [saved] = await self.store.library.save([story], now)
        return [self._added(saved)]

    async def check(self, batch: Sequence[Story]) -> dict[str, tuple[Problem, ...]]:
        """Per story key, what keeps it from being saved (the draft checker's blocking findings, X length,
        fields, meetings that do not exist); empty when the whole batch may be saved. The form and the
        import (:meth:`bot.coach.library.Library.save`) both check here."""
        now = self.clock.now()
        found: dict[str, tuple[Problem, ...]] = {}
        for story in batch:
            unknown = await self.store.library.unknown_meetings(story.audience.meetings)
            own = problems(story, self.content.preflight, now) + tuple(
                Problem("audience.meetings", say("library_unknown_meeting", key=key)) for key in unknown)
            if own:
                found[story.key] = own
        return found

    def _form_error(self, values: Mapping[str, str], found: Sequence[tuple[str, Say]]) -> Reply:
        errors: dict[str, str] = {}
        for field, said in found:
            text = inert(self.content.words.of(said))
            errors[field] = f"{errors[field]} {text}" if field in errors else text
        message = self.say("story_form_fix", count=len(found)) + " " + " ".join(errors.values())
        form = self.story_form(values, errors, replace_original=True)
        return replace(form, kind="error", title=self.say("error_title"), text=message, body=message)

    def _added(self, story: Story) -> Reply:
        now = self.clock.now()
        return self.reply("story_added", "notice", story=story, lifted=story.lifted(now),
                          lift=story.lifts_at.astimezone(ZoneInfo(story.lift_zone)), replace_original=True,
                          buttons=(Button(self.say("button_library_report"), "cmd:library report"),))

    async def _roster(self) -> Roster:
        people = await self.store.people.all(role="physician")
        meetings = await self.store.meetings.all(ending_on_or_after=self.today(None))
        return Roster(frozenset(p.department for p in people if p.department),
                      frozenset(p.specialty for p in people if p.specialty),
                      frozenset(m.key for m in meetings))

    # -- what became of the stories ---------------------------------------------------------------------
    async def report(self, caller: Caller, rest: str) -> list[Reply]:
        if not caller.is_admin:
            return [self.reply("not_admin", "error", command="library report")]
        now = self.clock.now()
        stories = {s.id: s for s in await self.store.library.by_lift(now, admin=True)}  # expired ones too
        tallies = [t for t in await self.store.library.tallies(stories) if t.story_id in stories]
        department = rest.strip()
        if department:
            return [self._department_report(department, stories, tallies)]
        shown = sorted(tallies, key=lambda t: stories[t.story_id].lifts_at, reverse=True)[:REPORT_STORIES]
        table = Table(self.columns("columns_library_report"), tuple(
            (inert(stories[t.story_id].title), str(t.offered), _pct(t.tapped, t.offered), _pct(t.shared, t.offered),
             _pct(t.declined, t.offered)) for t in shown)) if shown else None
        departments = _by_department(tallies)
        rendered = self.content.render("library_report", stories=[(stories[t.story_id], t) for t in shown],
                                       departments=departments, total=_total(tallies))
        buttons = tuple(Button(name, f"cmd:library report {name}") for name in list(departments)[:10])
        return [from_rendered(rendered, "report", table=table, buttons=buttons)]

    def _department_report(self, department: str, stories: Mapping[int, Story],
                           tallies: Sequence[StoryTally]) -> Reply:
        departments = _by_department(tallies)
        match = next((name for name in departments if name.casefold() == department.casefold()), None)
        if match is None:
            raise BadArguments("library_report_unknown_department", department=department,
                               departments=", ".join(departments) or "-")
        rows = [(stories[t.story_id], t.by_department[match]) for t in tallies if match in t.by_department]
        table = Table(self.columns("columns_library_report"), tuple(
            (inert(story.title), str(c[0]), _pct(c[1], c[0]), _pct(c[2], c[0]), _pct(c[3], c[0])) for story, c in rows))
        rendered = self.content.render("library_report_department", department=match, counts=departments[match],
                                       stories=len(rows))
        return from_rendered(rendered, "report", table=table)


async def stories_of_week(store: Store, zone: ZoneInfo, week: str, now: datetime) -> list[tuple[Story, StoryTally]]:
    """The stories whose embargo lifted in the ISO ``week`` (``2026-W20``, in the hospital's zone) by
    ``now``, with what physicians did with them so far: the digest's "stories this week"."""
    monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
    start = datetime.combine(monday, time(0, 0), zone)
    end = datetime.combine(monday + timedelta(days=7), time(0, 0), zone)
    stories = await store.library.by_lift(now, admin=False, since=start, before=end)
    tallies = {t.story_id: t for t in await store.library.tallies([s.id for s in stories])} if stories else {}
    return [(s, tallies.get(s.id, StoryTally(s.id))) for s in stories]


def _pct(part: int, whole: int) -> str:
    return f"{part} ({round(100 * part / whole)}%)" if whole else str(part)


def _by_department(tallies: Sequence[StoryTally]) -> dict[str, tuple[int, int, int, int]]:
    """Department → (offered, tapped, shared, declined) over every story, departments by name."""
    found: dict[str, tuple[int, int, int, int]] = {}
    for tally in tallies:
        for name, counts in tally.by_department.items():
            old = found.get(name, (0, 0, 0, 0))
            found[name] = (old[0] + counts[0], old[1] + counts[1], old[2] + counts[2], old[3] + counts[3])
    return dict(sorted(found.items(), key=lambda item: item[0].casefold()))


def _total(tallies: Sequence[StoryTally]) -> tuple[int, int, int, int]:
    return (sum(t.offered for t in tallies), sum(t.tapped for t in tallies), sum(t.shared for t in tallies),
            sum(t.declined for t in tallies))
