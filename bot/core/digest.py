"""The weekly digest for marketing: headline numbers with week-over-week change, departments,
upcoming meetings, who needs a nudge, the follow-back worklist, and the trend over recent weeks."""
from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.numbers import (
    CORE_LESSONS,
    FOLLOWED_BACK,
    FOLLOWING,
    WITH_PROFILE,
    Change,
    Metric,
    Source,
    WeekChanges,
)
from bot.core.presence import VERIFIED_NETWORKS
from bot.core.readiness import assess
from bot.core.reports import Aggregate, HospitalReport, MeetingReadiness, RosterRow
from bot.core.verified import VerifiedGroup, VerifiedReport, follows_metric, profile_metric

NEEDS_NUDGE_SCORE = 30
NEEDS_NUDGE_LIMIT = 10
SPECIALTY_LIMIT = 8


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
    stale: int | None = None
    """Verified numbers: how many of the physicians' facts on that network are stale."""


@dataclass(frozen=True)
class DepartmentLine:
    current: Aggregate
    verified: VerifiedGroup
    changes: Mapping[str, Change] | None
    """Metric key → change over the same physicians both weeks (``score``: the average score's)."""

    def change(self, key: str) -> Change | None:
        return self.changes.get(key) if self.changes is not None else None


SELF_REPORTED_HEADLINES = (WITH_PROFILE, FOLLOWING, FOLLOWED_BACK, CORE_LESSONS)
HEADLINES = (*(profile_metric(net) for net in VERIFIED_NETWORKS), *(follows_metric(net) for net in VERIFIED_NETWORKS),
             *SELF_REPORTED_HEADLINES)
"""The digest's headline rows: first the share with a verified profile per network (the headline number)."""


@dataclass(frozen=True)
class Digest:
    week: str
    hospital: str
    overall: Aggregate
    headlines: tuple[Headline, ...]
    departments: tuple[DepartmentLine, ...]
    hospital_line: DepartmentLine
    """The hospital's line: every count the sum of the departments' (changes too)."""
    specialties: tuple[VerifiedGroup, ...]
    """The largest specialties' verified numbers."""
    joined: int
    """Physicians new since last week's stored marks, counted in levels but not yet in changes."""
    meetings: tuple[MeetingReadiness, ...]
    needs_nudge: tuple[tuple[RosterRow, int], ...]
    """Lowest readiness first, with their score."""
    followback: int
    history: tuple[tuple[str, int, int], ...]
    """(week, average score, % with a profile), oldest first, ending with this week."""


def build_digest(hospital: str, week: str, report: HospitalReport, rows: list[RosterRow], verified: VerifiedReport,
                 changes: WeekChanges | None, history: dict[str, dict[str, Aggregate]],
                 meetings: list[MeetingReadiness], followback: int) -> Digest:
    """Pure assembly; ``changes`` over the same physicians as last week's stored marks, if stored;
    ``followback``: how many are on the follow-back worklist (verified and self-reported)."""
    o = report.overall
    by_department = {g.label: g for g in verified.departments}

    def line(a: Aggregate, group: VerifiedGroup, department: str | None) -> DepartmentLine:
        if changes is None:
            return DepartmentLine(a, group, None)
        return DepartmentLine(a, group, {key: change for key in (*(m.key for m in HEADLINES), "score")
                                         if (change := changes.of(department, key)) is not None})

    def headline(metric: Metric) -> Headline:
        change = changes.of(None, metric.key) if changes else None
        if metric.source is not Source.VERIFIED:
            return Headline(metric, getattr(o, metric.key), o.pct(getattr(o, metric.key)), change)
        net, _, what = metric.key.partition("_")
        counts = verified.hospital.networks[net]
        count = counts.verified if what == "profile" else counts.follows
        return Headline(metric, count, counts.pct(count), change,
                        counts.stale if what == "profile" else counts.follows_stale)

    departments = tuple(line(a, by_department[a.label], a.label) for a in report.departments)
    low = [(score, row.name, index) for index, row in enumerate(rows)
           if (score := assess(row.progress).score) < NEEDS_NUDGE_SCORE]
    needs = tuple((rows[index], score) for score, _, index in heapq.nsmallest(NEEDS_NUDGE_LIMIT, low))
    trend = [(w, weeks[""].average_score, weeks[""].pct(weeks[""].with_profile))
             for w, weeks in sorted(history.items()) if "" in weeks and w != week]
    trend.append((week, o.average_score, o.pct(o.with_profile)))
    return Digest(week=week, hospital=hospital, overall=o, headlines=tuple(headline(m) for m in HEADLINES),
                  departments=departments, hospital_line=line(o, verified.hospital, None),
                  specialties=verified.specialties[:SPECIALTY_LIMIT], joined=changes.joined if changes else 0,
                  meetings=tuple(m for m in meetings if m.attendees), needs_nudge=needs,
                  followback=followback, history=tuple(trend[-12:]))
