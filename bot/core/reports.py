"""Readiness aggregation for marketing: the hospital, each department, one department's people."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.core.models import Meeting
from bot.core.readiness import PhysicianProgress, Readiness, assess
from bot.core.snapshot import CampCount


@dataclass(frozen=True)
class RosterRow:
    physician_id: int
    name: str
    email: str
    department: str
    x_handle: str | None
    progress: PhysicianProgress


@dataclass(frozen=True)
class Aggregate:
    """Counts for one group of physicians; percentages are derived, never stored."""

    label: str
    physicians: int
    with_profile: int
    profile_complete: int
    following: int
    followed_back: int
    core_lessons_done: int
    camp_registered: int
    """Physicians registered for an upcoming meeting."""
    camp_done: int
    """Of those, how many finished its Tweet Camp."""
    score_total: int

    def pct(self, count: int, of: int | None = None) -> int:
        base = self.physicians if of is None else of
        return round(100 * count / base) if base else 0

    @property
    def average_score(self) -> int:
        return round(self.score_total / self.physicians) if self.physicians else 0

    @property
    def camp_pct(self) -> int:
        return self.pct(self.camp_done, self.camp_registered)


@dataclass(frozen=True)
class HospitalReport:
    overall: Aggregate
    departments: tuple[Aggregate, ...]
    """Sorted by department name."""


def aggregate(label: str, rows: Iterable[RosterRow]) -> Aggregate:
    counts = dict(physicians=0, with_profile=0, profile_complete=0, following=0, followed_back=0,
                  core_lessons_done=0, camp_registered=0, camp_done=0, score_total=0)
    for row in rows:
        p = row.progress
        counts["physicians"] += 1
        counts["with_profile"] += p.has_handle
        counts["profile_complete"] += p.has_handle and p.profile_done >= p.profile_total
        counts["following"] += p.follows_hospital
        counts["followed_back"] += p.followed_back
        counts["core_lessons_done"] += p.core_total > 0 and p.core_done >= p.core_total
        if p.camp is not None:
            counts["camp_registered"] += 1
            counts["camp_done"] += p.camp.total > 0 and p.camp.done >= p.camp.total
        counts["score_total"] += assess(p).score
    return Aggregate(label=label, **{k: int(v) for k, v in counts.items()})


def combine(label: str, parts: Iterable[Aggregate]) -> Aggregate:
    """One aggregate of several groups: every field is a count, so they add up."""
    names = [name for name in Aggregate.__dataclass_fields__ if name != "label"]
    totals = dict.fromkeys(names, 0)
    for part in parts:
        for name in names:
            totals[name] += getattr(part, name)
    return Aggregate(label=label, **totals)


def hospital_report(hospital: str, rows: Iterable[RosterRow]) -> HospitalReport:
    by_department: dict[str, list[RosterRow]] = {}
    for row in rows:
        by_department.setdefault(row.department, []).append(row)
    departments = tuple(aggregate(name, members) for name, members in
                        sorted(by_department.items(), key=lambda item: item[0].lower()))
    return HospitalReport(overall=combine(hospital, departments), departments=departments)


def department_rows(rows: Iterable[RosterRow], department: str) -> list[tuple[RosterRow, Readiness]]:
    """One department's physicians with their readiness, lowest score first (who needs help)."""
    wanted = department.strip().lower()
    members = [(row, assess(row.progress)) for row in rows if row.department.lower() == wanted]
    return sorted(members, key=lambda pair: (pair[1].score, pair[0].name.lower()))


@dataclass(frozen=True)
class MeetingReadiness:
    meeting: Meeting
    attendees: int
    camp_done: int
    """Attendees who finished the whole Tweet Camp checklist."""
    items_done: int
    items_total: int

    @property
    def items_pct(self) -> int:
        return round(100 * self.items_done / self.items_total) if self.items_total else 0


def meeting_readiness(enrollments: Iterable[CampCount], meetings: Iterable[Meeting], items_total: int,
                      today: date) -> list[MeetingReadiness]:
    """Per upcoming meeting, how far its registered attendees are with Tweet Camp."""
    done_by_meeting: dict[int, list[int]] = {}
    for enrollment in enrollments:
        done_by_meeting.setdefault(enrollment.meeting.id, []).append(enrollment.done)
    result = []
    for meeting in sorted((m for m in meetings if m.ends_on >= today), key=lambda m: (m.starts_on, m.id)):
        done = done_by_meeting.get(meeting.id, [])
        result.append(MeetingReadiness(
            meeting=meeting, attendees=len(done),
            camp_done=sum(1 for count in done if items_total and count >= items_total),
            items_done=sum(done), items_total=items_total * len(done)))
    return result


def followback_worklist(rows: Iterable[RosterRow]) -> list[RosterRow]:
    """Physicians who follow the hospital and have a handle but are not followed back, by name."""
    return sorted((r for r in rows if r.progress.follows_hospital and not r.progress.followed_back and r.x_handle),
                  key=lambda r: r.name.lower())
