"""Readiness aggregation for marketing: hospital, departments, one department's physicians,
meetings, the follow-back worklist and the weekly digest."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.digest import SELF_REPORTED_HEADLINES, build_digest, digest_due_at, iso_week, previous_week
from bot.core.models import CampItem, CampPhase, Meeting
from bot.core.numbers import Marks, changes, marks_of
from bot.core.readiness import CampProgress, PhysicianProgress
from bot.core.reports import (
    Aggregate,
    MeetingReadiness,
    RosterRow,
    aggregate,
    department_rows,
    followback_worklist,
    hospital_report,
    meeting_readiness,
)
from bot.core.snapshot import CampCount, Enrollment, PersonSnapshot, camp_counts
from bot.core.verified import Physician, verified_report

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def physician(r: RosterRow) -> Physician:
    """A roster row as the verified numbers see it: handles self-reported, nothing checked yet."""
    return Physician(r.physician_id, r.name, r.department, "", {"x": r.x_handle, "bluesky": None}, {})


def row(pid: int, name: str, department: str, **p: object) -> RosterRow:
    values: dict[str, object] = dict(has_handle=False, profile_done=0, profile_total=4, follows_hospital=False,
                                     followed_back=False, core_done=0, core_total=8, camp=None, video_posted=False)
    values.update(p)
    return RosterRow(pid, name, f"{name.split()[-1].lower()}@x.example", department,
                     "H" if values["has_handle"] else None, PhysicianProgress(**values))  # type: ignore[arg-type]


ROWS = [
    # score 0
    row(1, "Dr. Ada Zed", "Cardiology"),
    # 20 + 15 + 15 + 10 + 25 = 85 of 85 → 100
    row(2, "Dr. Ben Young", "Cardiology", has_handle=True, profile_done=4, follows_hospital=True,
        followed_back=True, core_done=8),
    # 20 + 15·1/4 + 15 = 38.75 of 85 → 46 (Tweet Camp is measured per meeting, not in the score)
    row(3, "Dr. Cy Xu", "oncology", has_handle=True, profile_done=1, follows_hospital=True,
        camp=CampProgress("ASCO 2026", 0, 24)),
    # 20 + 15 + 25 = 60 of 85 → 71
    row(4, "Dr. Di West", "oncology", has_handle=True, profile_done=4, core_done=8,
        camp=CampProgress("ASCO 2026", 24, 24)),
    # score 0, like Dr. Ada Zed: ties are broken by name
    row(5, "Dr. Al Vance", "Cardiology"),
]


def test_aggregate_counts():
    a = aggregate("Riverside", ROWS)
    assert a == Aggregate(label="Riverside", physicians=5, with_profile=3, profile_complete=2, following=2,
                          followed_back=1, core_lessons_done=2, camp_registered=2, camp_done=1,
                          score_total=0 + 100 + 46 + 71 + 0)
    assert a.average_score == 43  # 217 / 5 = 43.4
    assert a.pct(a.with_profile) == 60
    assert a.pct(a.followed_back) == 20
    assert a.pct(1, of=3) == 33
    assert a.camp_pct == 50


def test_empty_aggregate_has_no_division_by_zero():
    a = aggregate("Nobody", [])
    assert (a.physicians, a.average_score, a.pct(0), a.camp_pct) == (0, 0, 0, 0)


def test_camp_with_zero_items_is_registered_but_not_done():
    a = aggregate("X", [row(1, "Dr. A B", "D", camp=CampProgress("M", 0, 0))])
    assert (a.camp_registered, a.camp_done) == (1, 0)


def test_profile_complete_needs_a_handle():
    a = aggregate("X", [row(1, "Dr. A B", "D", profile_done=4)])
    assert (a.with_profile, a.profile_complete) == (0, 0)


def test_hospital_report_sorts_departments_case_insensitively():
    report = hospital_report("Riverside", ROWS)
    assert [d.label for d in report.departments] == ["Cardiology", "oncology"]
    cardio, onco = report.departments
    assert (cardio.physicians, cardio.score_total, cardio.average_score) == (3, 100, 33)
    assert (onco.physicians, onco.score_total, onco.average_score, onco.camp_pct) == (2, 117, 58, 50)
    assert report.overall.physicians == 5


def test_department_rows_lowest_score_first_then_name():
    rows = department_rows(ROWS, "  CARDIOLOGY ")
    assert [(r.name, readiness.score) for r, readiness in rows] == [
        ("Dr. Ada Zed", 0), ("Dr. Al Vance", 0), ("Dr. Ben Young", 100)]
    assert [r.name for r, _ in department_rows(ROWS, "Oncology")] == ["Dr. Cy Xu", "Dr. Di West"]
    assert department_rows(ROWS, "Radiology") == []


# -- meetings and the follow-back worklist ---------------------------------------------------------------------

def _meeting(mid: int, starts: date, ends: date) -> Meeting:
    return Meeting(mid, f"m-{mid}", f"Meeting {mid}", "Oncology", starts, ends, "Chicago", "#M", "")


def _snapshot(pid: int, name: str, *enrollments: Enrollment) -> PersonSnapshot:
    return PersonSnapshot(pid, name, f"{pid}@x.example", "Oncology", None, False, False, False,
                          frozenset(), frozenset(), enrollments)


def test_meeting_readiness():
    items = frozenset({"a", "b", "c", "d"})
    past = _meeting(1, date(2026, 2, 1), date(2026, 2, 3))
    late = _meeting(2, date(2026, 5, 1), date(2026, 5, 3))
    soon = _meeting(3, date(2026, 3, 20), date(2026, 3, 24))
    empty = _meeting(4, date(2026, 4, 1), date(2026, 4, 1))
    phases = (CampPhase("before", -7, "Before", tuple(CampItem(i, i, "") for i in sorted(items))),)
    snapshots = [
        _snapshot(1, "A", Enrollment(soon, frozenset({"a", "b", "c", "d"})), Enrollment(late, frozenset({"a"}))),
        _snapshot(2, "B", Enrollment(soon, frozenset({"a", "gone-item"}))),  # an item the content no longer has
        _snapshot(3, "C", Enrollment(past, frozenset({"a", "b", "c", "d"}))),
        _snapshot(4, "D"),
    ]
    enrollments = [count for s in snapshots for count in camp_counts(s.enrollments, phases)]
    assert enrollments[2] == CampCount(soon, 1)
    result = meeting_readiness(enrollments, [late, past, empty, soon], len(items), date(2026, 3, 2))
    assert result == [
        MeetingReadiness(soon, attendees=2, camp_done=1, items_done=5, items_total=8),
        MeetingReadiness(empty, attendees=0, camp_done=0, items_done=0, items_total=0),
        MeetingReadiness(late, attendees=1, camp_done=0, items_done=1, items_total=4),
    ]
    assert [m.items_pct for m in result] == [62, 0, 25]  # 5/8 = 62.5 → 62 (half to even)
    # A meeting on its last day is still upcoming; the day after it is not.
    assert [m.meeting.id for m in meeting_readiness(enrollments, [soon], len(items), date(2026, 3, 24))] == [3]
    assert meeting_readiness(enrollments, [soon], len(items), date(2026, 3, 25)) == []


def test_followback_worklist():
    rows = [
        row(1, "Dr. zoe Adams", "Cardiology", has_handle=True, follows_hospital=True),
        row(2, "Dr. Ben Young", "Cardiology", has_handle=True, follows_hospital=True, followed_back=True),
        row(3, "Dr. Ann Cole", "Oncology", has_handle=True, follows_hospital=True),
        row(4, "Dr. No Handle", "Oncology", follows_hospital=True),
        row(5, "Dr. Not Following", "Oncology", has_handle=True),
    ]
    assert [r.physician_id for r in followback_worklist(rows)] == [3, 1]


# -- the weekly digest -------------------------------------------------------------------------------------------

def agg(label: str, physicians: int, with_profile: int = 0, following: int = 0, followed_back: int = 0,
        core: int = 0, score_total: int = 0) -> Aggregate:
    return Aggregate(label, physicians, with_profile, 0, following, followed_back, core, 0, 0, score_total)


@pytest.mark.parametrize("day, week", [
    (date(2026, 3, 2), "2026-W10"),
    (date(2026, 3, 8), "2026-W10"),   # Sunday belongs to the week that began on Monday
    (date(2026, 1, 1), "2026-W01"),
    (date(2027, 1, 1), "2026-W53"),
    (date(2024, 12, 30), "2025-W01"),
])
def test_iso_week(day, week):
    assert iso_week(day) == week


@pytest.mark.parametrize("week, before", [
    ("2026-W10", "2026-W09"), ("2026-W01", "2025-W52"), ("2027-W01", "2026-W53"), ("2026-W53", "2026-W52")])
def test_previous_week(week, before):
    assert previous_week(week) == before


def test_digest_due_at_follows_daylight_saving_time():
    ny = ZoneInfo("America/New_York")
    # Monday 09:00 in New York: 14:00 UTC in winter, 13:00 UTC after Sun 8 Mar 2026.
    assert digest_due_at(date(2026, 3, 8), 0, time(9, 0), ny) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert digest_due_at(date(2026, 3, 9), 0, time(9, 0), ny) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert digest_due_at(date(2026, 3, 13), 0, time(9, 0), ny) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    # Thursday 16:45 of the week of Wed 28 Oct 2026 (still EDT) and of Wed 4 Nov 2026 (EST again).
    assert digest_due_at(date(2026, 10, 28), 3, time(16, 45), ny) == \
        datetime(2026, 10, 29, 20, 45, tzinfo=UTC)
    assert digest_due_at(date(2026, 11, 4), 3, time(16, 45), ny) == datetime(2026, 11, 5, 21, 45, tzinfo=UTC)


def test_build_digest_with_last_week():
    report = hospital_report("Riverside", ROWS)
    last_week = {1: Marks(frozenset(), 0), 2: Marks(frozenset({"with_profile", "following", "followed_back"}), 60),
                 3: Marks(frozenset({"with_profile"}), 24)}  # 4 and 5 are new on the roster
    week = changes({r.physician_id: (r.department, marks_of(r.progress)) for r in ROWS}, last_week,
                   [m.key for m in SELF_REPORTED_HEADLINES])
    history = {
        "2026-W08": {"": agg("Riverside", 5, with_profile=1, score_total=50)},
        "2026-W09": {"": agg("Riverside", 5, with_profile=2, score_total=100)},
        "2026-W10": {"": agg("Riverside", 5, with_profile=5, score_total=500)},  # this week: replaced by live numbers
        "2026-W07": {"Cardiology": agg("Cardiology", 3)},  # no hospital line: left out of the trend
    }
    soon = MeetingReadiness(_meeting(3, date(2026, 3, 20), date(2026, 3, 24)), 2, 1, 5, 8)
    nobody = MeetingReadiness(_meeting(4, date(2026, 4, 1), date(2026, 4, 1)), 0, 0, 0, 0)
    verified = verified_report("Riverside", [physician(r) for r in ROWS], NOON, timedelta(days=7))
    digest = build_digest("Riverside", "2026-W10", report, ROWS, verified, week, history, [soon, nobody], 1)
    assert digest.week == "2026-W10"
    assert digest.overall == report.overall
    # Levels over all 5 now; changes over the 3 counted both weeks (Ada, Ben, Cy): Cy started following,
    # Ben finished the core lessons.
    assert [(h.metric.key, h.count, h.pct, h.change.cohort, h.change.delta, h.change.pts)
            for h in digest.headlines[4:]] == [
        ("with_profile", 3, 60, 3, 0, 0), ("following", 2, 40, 3, 1, 33), ("followed_back", 1, 20, 3, 0, 0),
        ("core_lessons_done", 2, 40, 3, 1, 33)]
    assert digest.joined == 2
    # Cardiology: Al is new, so the cohort is Ada and Ben; Ben 60 → 100 is +40 over 2, +20 on average.
    # Oncology: Di is new; Cy 24 → 46.
    assert [(d.current.label, d.current.average_score, d.change("with_profile").pts, d.change("score").average)
            for d in digest.departments] == [("Cardiology", 33, 0, 20), ("oncology", 58, 0, 22)]
    hospital = digest.hospital_line
    assert (hospital.change("with_profile").cohort, hospital.change("score").delta) == (3, 40 + 22)
    assert hospital.change("x_profile") is None, "verified keys were not asked for"
    assert digest.meetings == (soon,)
    assert [(r.name, score) for r, score in digest.needs_nudge] == [("Dr. Ada Zed", 0), ("Dr. Al Vance", 0)]
    assert digest.followback == 1
    assert digest.history == (("2026-W08", 10, 20), ("2026-W09", 20, 40), ("2026-W10", 43, 60))


def test_build_digest_first_week_and_limits():
    rows = [row(i, f"Dr. P{i:02d} Q", "Radiology") for i in range(15)]
    report = hospital_report("Riverside", rows)
    history = {f"2026-W{w:02d}": {"": agg("Riverside", 15)} for w in range(1, 15)}
    verified = verified_report("Riverside", [physician(r) for r in rows], NOON, timedelta(days=7))
    digest = build_digest("Riverside", "2026-W20", report, rows, verified, None, history, [], 0)
    assert [h.change for h in digest.headlines] == [None] * 8
    assert [d.changes for d in (*digest.departments, digest.hospital_line)] == [None] * 2
    assert digest.joined == 0
    assert len(digest.needs_nudge) == 10
    assert digest.needs_nudge[0][0].name == "Dr. P00 Q"
    assert len(digest.history) == 12
    assert digest.history[0][0] == "2026-W04"
    assert digest.history[-1] == ("2026-W20", 0, 0)
    assert digest.followback == 0
