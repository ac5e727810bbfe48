"""The weekly digest for marketing: headline numbers with week-over-week change, departments,
upcoming meetings, who needs a nudge, the follow-back worklist, and the trend over recent weeks."""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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
    label: str
    count: int
    pct: int
    change: int | None
    """Percentage points since last week; None when there is no stored previous week."""


@dataclass(frozen=True)
class DepartmentLine:
    current: Aggregate
    change: int | None
    """Average-score change since last week."""


@dataclass(frozen=True)
class Digest:
    week: str
    hospital: str
    overall: Aggregate
    headlines: tuple[Headline, ...]
    departments: tuple[DepartmentLine, ...]
    meetings: tuple[MeetingReadiness, ...]
    needs_nudge: tuple[tuple[RosterRow, int], ...]
    """Lowest readiness first, with their score."""
    followback: int
    history: tuple[tuple[str, int, int], ...]
    """(week, average score, % with a profile), oldest first, ending with this week."""


def _change(now: int, before: int | None) -> int | None:
    return None if before is None else now - before


def build_digest(hospital: str, week: str, report: HospitalReport, rows: list[RosterRow],
                 previous: dict[str, Aggregate] | None, history: dict[str, dict[str, Aggregate]],
                 meetings: list[MeetingReadiness]) -> Digest:
    """Pure assembly; ``previous`` is last week's stored snapshot by department ("" = hospital)."""
    o = report.overall
    before = (previous or {}).get("")

    def headline(label: str, attr: str) -> Headline:
        pct = o.pct(getattr(o, attr))
        return Headline(label, getattr(o, attr), pct, _change(pct, before.pct(getattr(before, attr)) if before else None))

    headlines = (
        headline("Have a professional profile", "with_profile"),
        headline("Follow the hospital", "following"),
        headline("Followed back", "followed_back"),
        headline("Finished the core lessons", "core_lessons_done"),
    )
    departments = tuple(DepartmentLine(a, _change(a.average_score, (previous or {})[a.label].average_score)
                                       if previous and a.label in previous else None)
                        for a in report.departments)
    low = [(score, row.name, index) for index, row in enumerate(rows)
           if (score := assess(row.progress).score) < NEEDS_NUDGE_SCORE]
    needs = tuple((rows[index], score) for score, _, index in heapq.nsmallest(NEEDS_NUDGE_LIMIT, low))
    trend = [(w, weeks[""].average_score, weeks[""].pct(weeks[""].with_profile))
             for w, weeks in sorted(history.items()) if "" in weeks and w != week]
    trend.append((week, o.average_score, o.pct(o.with_profile)))
    return Digest(week=week, hospital=hospital, overall=o, headlines=headlines, departments=departments,
                  meetings=tuple(m for m in meetings if m.attendees), needs_nudge=needs,
                  followback=len(followback_worklist(rows)), history=tuple(trend[-12:]))
