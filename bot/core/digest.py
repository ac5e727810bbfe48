"""The weekly digest for marketing: headline numbers with week-over-week change, departments,
upcoming meetings, who needs a nudge, the follow-back worklist, and the trend over recent weeks."""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.numbers import CORE_LESSONS, FOLLOWED_BACK, FOLLOWING, WITH_PROFILE, Change, Metric, WeekChanges
from bot.core.readiness import assess
from bot.core.reports import Aggregate, HospitalReport, MeetingReadiness, RosterRow, followback_worklist

NEEDS_NUDGE_SCORE = 30
NEEDS_NUDGE_LIMIT = 10


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def previous_week(week: str) -> str:
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    return iso_week(monday - timedelta(days=7))


def digest_due_at(day: date, weekday: int, at: time, zone: ZoneInfo) -> datetime:
    """The instant this ISO week's digest is due (its configured weekday and local time)."""
    monday = day - timedelta(days=day.weekday())
    return datetime.combine(monday + timedelta(days=weekday), at, zone).astimezone(ZoneInfo("UTC"))


@dataclass(frozen=True)
class Headline:
    metric: Metric
    """What is counted (its key names its words in the digest template) and where the fact comes from."""
    count: int
    pct: int
    """Of every active physician now."""
    change: Change | None
    """Over the physicians counted both weeks; None when last week's marks are not stored."""


@dataclass(frozen=True)
class DepartmentLine:
    current: Aggregate
    change: Change | None
    """The change of the first headline (the share with a profile) over the same physicians both weeks."""
    score_change: Change | None
    """The change of the average score over the same physicians both weeks."""


HEADLINES = (WITH_PROFILE, FOLLOWING, FOLLOWED_BACK, CORE_LESSONS)
"""The digest's headline rows, the first one being the headline number."""


@dataclass(frozen=True)
class Digest:
    week: str
    hospital: str
    overall: Aggregate
    headlines: tuple[Headline, ...]
    departments: tuple[DepartmentLine, ...]
    hospital_line: DepartmentLine
    """The hospital's line: every count the sum of the departments' (changes too)."""
    joined: int
    """Physicians new since last week's stored marks, counted in levels but not yet in changes."""
    meetings: tuple[MeetingReadiness, ...]
    needs_nudge: tuple[tuple[RosterRow, int], ...]
    """Lowest readiness first, with their score."""
    followback: int
    history: tuple[tuple[str, int, int], ...]
    """(week, average score, % with a profile), oldest first, ending with this week."""


def build_digest(hospital: str, week: str, report: HospitalReport, rows: list[RosterRow],
                 changes: WeekChanges | None, history: dict[str, dict[str, Aggregate]],
                 meetings: list[MeetingReadiness]) -> Digest:
    """Pure assembly; ``changes`` over the same physicians as last week's stored marks, if stored."""
    o = report.overall

    def line(a: Aggregate, department: str | None) -> DepartmentLine:
        if changes is None:
            return DepartmentLine(a, None, None)
        return DepartmentLine(a, changes.of(department, WITH_PROFILE.key), changes.of(department, "score"))

    headlines = tuple(Headline(m, getattr(o, m.key), o.pct(getattr(o, m.key)),
                               changes.of(None, m.key) if changes else None) for m in HEADLINES)
    departments = tuple(line(a, a.label) for a in report.departments)
    low = [(score, row.name, index) for index, row in enumerate(rows)
           if (score := assess(row.progress).score) < NEEDS_NUDGE_SCORE]
    needs = tuple((rows[index], score) for score, _, index in heapq.nsmallest(NEEDS_NUDGE_LIMIT, low))
    trend = [(w, weeks[""].average_score, weeks[""].pct(weeks[""].with_profile))
             for w, weeks in sorted(history.items()) if "" in weeks and w != week]
    trend.append((week, o.average_score, o.pct(o.with_profile)))
    return Digest(week=week, hospital=hospital, overall=o, headlines=headlines, departments=departments,
                  hospital_line=line(o, None), joined=changes.joined if changes else 0,
                  meetings=tuple(m for m in meetings if m.attendees), needs_nudge=needs,
                  followback=len(followback_worklist(rows)), history=tuple(trend[-12:]))
