"""The Tweet Camp countdown: phase dates, open/upcoming/past states, items due, offset wording."""
from __future__ import annotations

from datetime import date

import pytest

from bot.core.models import CampItem, CampPhase
from bot.core.tweetcamp import all_items, describe_offset, items_due, phase_date, timeline

# ASCO-like meeting: Friday 20 March to Tuesday 24 March 2026.
START, END = date(2026, 3, 20), date(2026, 3, 24)


def phase(pid: str, offset: int, *items: str) -> CampPhase:
    return CampPhase(pid, offset, pid.title(), tuple(CampItem(i, i.title(), "") for i in items))


def states(phases, today, starts=START, ends=END):
    return [(e.phase.id, e.due_on, e.state) for e in timeline(phases, starts, ends, today)]


def test_real_phase_dates(content):
    assert [(p.id, p.offset_days) for p in content.camp_phases] == [
        ("t-14", -14), ("t-7", -7), ("t-1", -1), ("day-of", 0), ("day-after", 1)]
    assert [phase_date(p, START, END) for p in content.camp_phases] == [
        date(2026, 3, 6), date(2026, 3, 13), date(2026, 3, 19), date(2026, 3, 20), date(2026, 3, 25)]


def test_everything_is_upcoming_before_two_weeks_out(content):
    assert [s for _, _, s in states(content.camp_phases, date(2026, 3, 5))] == ["upcoming"] * 5


def test_phase_opens_on_its_date_and_closes_when_the_next_opens(content):
    assert states(content.camp_phases, date(2026, 3, 6)) == [
        ("t-14", date(2026, 3, 6), "open"),
        ("t-7", date(2026, 3, 13), "upcoming"),
        ("t-1", date(2026, 3, 19), "upcoming"),
        ("day-of", date(2026, 3, 20), "upcoming"),
        ("day-after", date(2026, 3, 25), "upcoming"),
    ]
    assert [s for _, _, s in states(content.camp_phases, date(2026, 3, 12))] == \
        ["open", "upcoming", "upcoming", "upcoming", "upcoming"]
    assert [s for _, _, s in states(content.camp_phases, date(2026, 3, 13))] == \
        ["past", "open", "upcoming", "upcoming", "upcoming"]
    assert [s for _, _, s in states(content.camp_phases, date(2026, 3, 19))] == \
        ["past", "past", "open", "upcoming", "upcoming"]


def test_meeting_days_keep_the_day_of_phase_open(content):
    for today in (date(2026, 3, 20), date(2026, 3, 22), date(2026, 3, 24)):
        assert [s for _, _, s in states(content.camp_phases, today)] == ["past", "past", "past", "open", "upcoming"]


def test_the_last_phase_stays_open_after_the_meeting(content):
    for today in (date(2026, 3, 25), date(2026, 12, 31)):
        assert [s for _, _, s in states(content.camp_phases, today)] == ["past", "past", "past", "past", "open"]


def test_phase_dates_across_daylight_saving_changes(content):
    # Dates are calendar dates: the switch to EDT (Sun 8 Mar 2026) and back to EST (Sun 1 Nov 2026)
    # neither shifts nor skips a day.
    spring = timeline(content.camp_phases, date(2026, 3, 22), date(2026, 3, 25), date(2026, 3, 8))
    assert [(e.phase.id, e.due_on, e.state) for e in spring][:2] == [
        ("t-14", date(2026, 3, 8), "open"), ("t-7", date(2026, 3, 15), "upcoming")]
    autumn = timeline(content.camp_phases, date(2026, 11, 15), date(2026, 11, 15), date(2026, 11, 1))
    assert [e.due_on for e in autumn] == [
        date(2026, 11, 1), date(2026, 11, 8), date(2026, 11, 14), date(2026, 11, 15), date(2026, 11, 16)]
    assert autumn[0].state == "open"


def test_one_day_meeting():
    phases = (phase("before", -1, "x"), phase("day", 0, "y"), phase("after", 1, "z"))
    day = date(2026, 6, 10)
    assert [e.due_on for e in timeline(phases, day, day, day)] == [date(2026, 6, 9), day, date(2026, 6, 11)]


def test_positive_offsets_count_from_the_last_day():
    assert phase_date(phase("p", 3), START, END) == date(2026, 3, 27)
    assert phase_date(phase("p", 0), START, END) == START
    assert phase_date(phase("p", -30), START, END) == date(2026, 2, 18)


def test_timeline_sorts_phases_by_offset():
    phases = (phase("after", 1, "z"), phase("early", -14, "x"), phase("late", -2, "y"))
    assert [e.phase.id for e in timeline(phases, START, END, START)] == ["early", "late", "after"]
    assert [i.id for i in all_items(phases)] == ["x", "y", "z"]


def test_items_due(content):
    assert items_due(content.camp_phases, START, END, date(2026, 3, 5)) == []
    due = [i.id for i in items_due(content.camp_phases, START, END, date(2026, 3, 13))]
    assert due == ["official-hashtag", "read-meeting-policies", "calendar-lift-times", "refresh-profile",
                   "goals-and-comms", "coauthor-handles", "simultaneous-publication", "build-schedule",
                   "private-meeting-list", "draft-templates", "mark-your-slides", "announce-coverage", "plan-for-abuse"]
    assert len(items_due(content.camp_phases, START, END, date(2026, 3, 25))) == 31


def test_all_items(content):
    items = all_items(content.camp_phases)
    assert len(items) == 31
    assert (items[0].id, items[-1].id) == ("official-hashtag", "fix-and-save")


@pytest.mark.parametrize("offset, words", [
    (-14, "2 weeks before"),
    (-7, "1 week before"),
    (-21, "3 weeks before"),
    (-10, "10 days before"),
    (-3, "3 days before"),
    (-1, "the day before"),
    (0, "first day"),
    (1, "the day after it ends"),
    (2, "2 days after"),
    (7, "1 week after"),
    (14, "2 weeks after"),
])
def test_describe_offset(offset, words, content):
    assert content.words.of(describe_offset(offset)) == words
