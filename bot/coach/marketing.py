"""What marketing managers see: readiness reports, the roster, the follow-back worklist and the
weekly digest (also sent to a channel, and stored once a week so trends are facts)."""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.actions import Stale
from bot.coach.base import Caller, Feature, Kit, from_rendered, show_date
from bot.coach.meetings import Meetings
from bot.coach.story_admin import stories_of_week
from bot.core import reasons
from bot.core.commands import BadArguments, Command
from bot.core.digest import HEADLINES, Digest, build_digest, iso_week, previous_week
from bot.core.digest_chart import trend_png
from bot.core.numbers import Marks, changes, marks_of
from bot.core.presence import VERIFIED_NETWORKS
from bot.core.reports import (
    RosterRow,
    department_rows,
    followback_worklist,
    hospital_report,
    meeting_readiness,
)
from bot.core.snapshot import RosterCounts, Totals, camp_counts, progress_of_counts
from bot.core.tweetcamp import all_items
from bot.core.verified import (
    Physician,
    followback_worklist as verified_worklist,
    follows_verified,
    profile_metric,
    verified_flags,
    verified_report,
)
from bot.messages import Button, Image, Reply, Table, inert

MAX_TEAMS_ROWS = 200
"""People without a Teams chat listed by name in `roster` (the counts by reason cover everyone;
`rounds teams install` lists them all)."""


class Marketing(Feature):
    """``report``, ``roster``, ``followback`` and ``digest`` (admin only); the ``followback:`` press."""

    def __init__(self, kit: Kit, meetings: Meetings) -> None:
        super().__init__(kit)
        self.meetings = meetings

    async def roster_rows(self, today: date) -> list[RosterRow]:
        """Every active physician's readiness, by department and name."""
        return [row for row, _ in await self._roster(today)]

    def _totals(self) -> Totals:
        c = self.content
        return Totals.of(c.curriculum, c.profile_items, c.camp_phases)

    async def _roster(self, today: date) -> list[tuple[RosterRow, RosterCounts]]:
        return self._rows(await self._counts(today), today)

    async def _counts(self, today: date) -> list[RosterCounts]:
        c = self.content
        return await self.store.readiness.roster_counts(today, c.curriculum.core_ids,
                                                        (item.id for item in c.profile_items),
                                                        (item.id for item in all_items(c.camp_phases)))

    def _rows(self, counts: list[RosterCounts], today: date) -> list[tuple[RosterRow, RosterCounts]]:
        totals = self._totals()
        return [(RosterRow(s.person_id, s.name, s.email, s.department, s.x_handle,
                           progress_of_counts(s, totals, today)), s)
                for s in counts]

    async def report(self, caller: Caller, command: Command) -> list[Reply]:
        if command.args and command.args[0].lower() == "meeting":
            return await self._report_meeting(caller, command.rest.split(None, 1)[1] if len(command.args) > 1 else "")
        rows = await self.roster_rows(self.today(caller))
        if command.rest:
            members = department_rows(rows, command.rest)
            if not members:
                departments = sorted({row.department for row in rows})
                raise BadArguments("report_unknown_department", department=command.rest,
                                   departments=", ".join(departments))
            table = Table(self.columns("columns_report_department"), tuple(
                (inert(row.name), f"@{row.x_handle}" if row.x_handle else "—", str(r.score),
                 self.content.words.of(r.reached.label) if r.reached else self.say("stage_getting_started"),
                 self.content.words.of(r.next_step.todo) if r.next_step else self.say("next_step_all_done"))
                for row, r in members))
            rendered = self.content.render("report_department", department=members[0][0].department, rows=members)
            return [from_rendered(rendered, "report", table=table)]
        report = hospital_report(self.config.hospital_name, rows)
        now = self.clock.now()
        physicians, _ = await self._verified(now)
        verified = verified_report(self.config.hospital_name,
                                   [physicians[r.physician_id] for r in rows if r.physician_id in physicians],
                                   now, self.stale_after)
        table = Table(self.columns("columns_report"), tuple(
            (inert(a.label), str(a.physicians), f"{a.pct(a.with_profile)}%", f"{a.pct(a.following)}%",
             f"{a.pct(a.followed_back)}%", f"{a.pct(a.core_lessons_done)}%",
             f"{a.camp_done}/{a.camp_registered}", str(a.average_score))
            for a in (*report.departments, report.overall)))
        rendered = self.content.render("report", report=report, verified=verified.hospital, hospital=self.hospital(),
                                       stale_days=self.stale_after.days)
        buttons = tuple(Button(a.label, f"cmd:report {a.label}") for a in report.departments[:10])
        return [from_rendered(rendered, "report", table=table, buttons=buttons)]

    async def _report_meeting(self, caller: Caller, query: str) -> list[Reply]:
        if not query:
            raise BadArguments("report_which_meeting")
        meeting = await self.meetings.find_meeting(query)
        today = self.today(caller)
        snapshots = await self.store.readiness.attendee_snapshots(meeting.id)
        total = self._totals().camp
        attendees = sorted(((s, next(e for e in camp_counts(s.enrollments, self.content.camp_phases)
                                     if e.meeting.id == meeting.id)) for s in snapshots),
                           key=lambda pair: pair[0].name.lower())
        attendance = meeting_readiness((e for _, e in attendees), [meeting], total, today)[0]
        rows = [(inert(s.name), inert(s.department), f"@{s.x_handle}" if s.x_handle else "—", f"{e.done}/{total}",
                 self.say("attendee_ready") if e.done >= total else self.say("attendee_in_progress"))
                for s, e in attendees]
        rendered = self.content.render("report_meeting", meeting=meeting, attendance=attendance,
                                       today=show_date(today))
        table = Table(self.columns("columns_report_meeting"), tuple(rows)) if rows else None
        return [from_rendered(rendered, "report", table=table)]

    async def followback(self, caller: Caller, command: Command) -> list[Reply]:
        """The follow-back worklist: verified from the hospital account's real lists, then the physicians
        whose follows no network has checked yet, as they reported them."""
        now = self.clock.now()
        physicians, _ = await self._verified(now)
        verified = verified_worklist(physicians.values(), now, self.stale_after)
        checked = {pid for pid, p in physicians.items() if follows_verified(p)}
        rows = [r for r in followback_worklist(await self.roster_rows(self.today(caller)))
                if r.physician_id not in checked]
        conflicts = await self.store.profile.handle_conflicts()
        rendered = self.content.render("followback", rows=rows, verified=verified, hospital=self.hospital(),
                                       conflicts=conflicts, stale_days=self.stale_after.days)
        buttons = tuple(Button(self.say("button_followed_back", handle=r.x_handle), f"followback:{r.physician_id}") for r in rows[:20])
        networks = {"x": self.say("network_x"), "bluesky": self.say("network_bluesky")}
        table_rows = [(inert(v.name), inert(v.department), networks[v.network], f"[{inert(v.handle)}]({v.url})",
                       self._checked(v.verified_at, v.stale, caller)) for v in verified]
        table_rows += [(inert(r.name), inert(r.department), self.say("network_x"),
                        f"[@{r.x_handle}](https://x.com/{r.x_handle})", self.say("fact_self_reported")) for r in rows]
        table = Table(self.columns("columns_followback"), tuple(table_rows)) if table_rows else None
        return [from_rendered(rendered, "report", table=table, buttons=buttons)]

    def _checked(self, at: datetime | None, stale: bool, caller: Caller) -> str:
        day = show_date(at.astimezone(caller.zone).date()) if at else ""
        return self.say("fact_verified_stale", date=day) if stale else self.say("fact_verified", date=day)

    async def mark_followed_back(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        """``followback:<person id>``: the hospital account followed this physician back."""
        if not caller.is_admin:
            return [self.reply("not_admin", "error", command="followback")]
        person = await self.store.people.get(int(arg)) if arg.isdigit() else None
        if person is None:
            raise Stale(self.say("followback_gone"), "followback")
        await self.store.profile.set_followed_back(person.id, self.clock.now())
        replies = await self.followback(caller, Command("followback", (), ""))
        return [replace(replies[0], replace_original=True)]

    async def digest(self, caller: Caller, command: Command) -> list[Reply]:
        return [await self.digest_reply(self.clock.now())]

    async def roster(self, caller: Caller, command: Command) -> list[Reply]:
        physicians = await self.store.people.all(role="physician", active_only=False)
        active = [p for p in physicians if p.active]
        departments: dict[str, int] = {}
        for p in active:
            departments[p.department] = departments.get(p.department, 0) + 1
        unreachable = await self.store.outbox.unreachable()
        failing = {person_id for person_id, *_ in unreachable}
        unreachable += [(person_id, name, reasons.NO_SLACK_ACCOUNT, since)
                        for person_id, name, since in await self.store.slack_directory.missing_people()
                        if person_id not in failing]
        unreachable.sort(key=lambda row: row[1])
        rows = [(inert(name), self._reason(error), show_date(when.date())) for _, name, error, when in unreachable]
        teams_reached, teams_reasons = 0, dict[str, int]()
        if self.kit.teams_reach:
            reach = await self.store.teams_installs.reach()
            teams_reached = reach.reached
            listed = {person_id for person_id, *_ in unreachable}
            shown = 0
            for person_id, name, stored, when in reach.unreached:
                reason = self._reason(stored)  # an older row's English and today's code count together
                teams_reasons[reason] = teams_reasons.get(reason, 0) + 1
                if person_id not in listed and shown < MAX_TEAMS_ROWS:
                    rows.append((inert(name), self.say("roster_teams_reason", reason=reason),
                                 show_date(when.date()) if when else ""))
                    shown += 1
        parked = [dict(platform={"slack": "Slack", "teams": "Teams"}.get(t.platform, t.platform),
                       everywhere=t.address == "*", reason=self._reason(t.reason),
                       since=show_date(t.since.astimezone(caller.zone).date()), messages=t.messages)
                  for t in await self.store.outbox.parked()]
        rendered = self.content.render("roster", active=len(active), inactive=len(physicians) - len(active),
                                       departments=sorted(departments.items()), unreachable=unreachable,
                                       teams=self.kit.teams_reach, teams_reached=teams_reached,
                                       teams_reasons=sorted(teams_reasons.items(), key=lambda item: -item[1]),
                                       parked=parked)
        table = Table(self.columns("columns_roster"), tuple(rows)) if rows else None
        return [from_rendered(rendered, "report", table=table)]

    def _reason(self, stored: str) -> str:
        """A reason stored in the database, in the words of prompts/words.yaml (unknown text as it is)."""
        return reasons.said(stored, self.say)

    # -- the weekly digest -----------------------------------------------------------------------------
    @property
    def stale_after(self) -> timedelta:
        """Verified facts older than this are shown as stale (``verify.stale_days`` in rounds.yaml)."""
        return timedelta(days=self.config.verify.stale_days)

    async def _verified(self, now: datetime) -> tuple[dict[int, Physician], dict[int, frozenset[str]]]:
        """Every active physician's handles and verified facts; and the verified keys of each (weekly marks)."""
        presence = await self.store.presence.of()
        handles = await self.store.readiness.handles()

        def build() -> tuple[dict[int, Physician], dict[int, frozenset[str]]]:
            physicians = {pid: Physician(pid, name, department, specialty, {"x": x, "bluesky": bluesky},
                                         presence.get(pid, {}))
                          for pid, name, department, specialty, x, bluesky in handles}
            return physicians, {pid: verified_flags(p.presence) for pid, p in physicians.items()}
        return await asyncio.to_thread(build)  # one object per physician: off the event loop

    async def _marks(self, rows: list[RosterRow], now: datetime) -> tuple[dict[int, Physician], dict[int, Marks]]:
        physicians, flags = await self._verified(now)
        none: frozenset[str] = frozenset()
        # Pure work over every physician: in a thread, so the event loop (Slack acks) is not kept waiting.
        return physicians, await asyncio.to_thread(
            lambda: {row.physician_id: marks_of(row.progress, flags.get(row.physician_id, none)) for row in rows})

    async def build_digest(self, now: datetime, week: str | None = None) -> Digest:
        """This week's digest, or the digest of ``week`` (numbers as of ``now``, trend up to ``week``)."""
        today = now.astimezone(self.config.zone).date()
        week = week or iso_week(today)
        roster = await self._roster(today)
        rows = [row for row, _ in roster]
        report = hospital_report(self.config.hospital_name, rows)
        physicians, marks = await self._marks(rows, now)
        on_roster = [physicians[row.physician_id] for row in rows if row.physician_id in physicians]
        verified = verified_report(self.config.hospital_name, on_roster, now, self.stale_after)
        history = {w: numbers for w, numbers in (await self.store.weekly.weeks(14)).items() if w <= week}
        before = await self.store.weekly.marks(previous_week(week))
        week_changes = changes({row.physician_id: (row.department, marks[row.physician_id]) for row in rows}, before,
                               (metric.key for metric in HEADLINES)) if before else None
        meetings = meeting_readiness((e for _, counts in roster for e in counts.enrollments),
                                     await self.store.meetings.all(ending_on_or_after=today),
                                     self._totals().camp, today)
        checked = {p.person_id for p in on_roster if follows_verified(p)}
        followback = len(verified_worklist(on_roster, now, self.stale_after)) + sum(
            1 for r in followback_worklist(rows) if r.physician_id not in checked)
        return build_digest(self.config.hospital_name, week, report, rows, verified, week_changes, history, meetings,
                            followback)

    async def save_weekly_snapshot(self, now: datetime) -> bool:
        """Store this week's readiness once (first writer wins), so trends are facts."""
        today = now.astimezone(self.config.zone).date()
        if await self.store.weekly.has_week(iso_week(today)):
            return False
        counts = await self._counts(today)
        # Readiness of every physician is pure work over what was read: in a thread, so a scheduler
        # tick that stores the week's snapshot does not keep the event loop (Slack acks) waiting.
        rows = await asyncio.to_thread(lambda: [row for row, _ in self._rows(counts, today)])
        report = await asyncio.to_thread(hospital_report, self.config.hospital_name, rows)
        _, marks = await self._marks(rows, now)
        return await self.store.weekly.save_week(iso_week(today), report, now, marks)

    async def digest_reply(self, now: datetime, week: str | None = None) -> Reply:
        digest = await self.build_digest(now, week)
        stories = await stories_of_week(self.store, self.config.zone, digest.week, now)
        rendered = self.content.render("digest", digest=digest, hospital=self.hospital(), stale_days=self.stale_after.days,
                                       stories=[(inert(story.title), tally) for story, tally in stories])
        table = Table(self.columns("columns_digest"), tuple(
            (inert(d.current.label), str(d.current.physicians),
             *(f"{d.verified.networks[net].pct(d.verified.networks[net].verified)}%" for net in VERIFIED_NETWORKS),
             *(f"{d.verified.networks[net].pct(d.verified.networks[net].follows)}%" for net in VERIFIED_NETWORKS),
             f"{d.current.pct(d.current.with_profile)}%", str(d.current.average_score),
             *(_signed(c.pts if (c := d.change(profile_metric(net).key)) else None) for net in VERIFIED_NETWORKS),
             _signed(c.average if (c := d.change("score")) else None))
            for d in (*digest.departments, digest.hospital_line)))
        chart = trend_png(digest.history, self.say("digest_chart_title", hospital=self.config.hospital_name),
                          (self.say("digest_chart_legend_bars"), self.say("digest_chart_legend_line")))
        image = Image(chart,
                      alt=rendered.exports.get("chart_alt", self.say("digest_chart_alt")), name=f"digest-{digest.week}.png")
        return from_rendered(rendered, "digest", table=table, image=image, ephemeral=False,
                             buttons=(Button(self.say("button_follow_back_worklist"), "cmd:followback"),
                                      Button(self.say("button_full_report"), "cmd:report")))


def _signed(change: int | None) -> str:
    return "—" if change is None else f"{change:+d}"
