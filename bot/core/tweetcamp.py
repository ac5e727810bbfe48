"""The Tweet Camp countdown: checklist phases placed on a meeting's calendar."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from bot.core.models import CampItem, CampPhase
from bot.core.words import Say, say

PhaseState = Literal["upcoming", "open", "past"]


@dataclass(frozen=True)
class TimelineEntry:
    phase: CampPhase
    due_on: date
    state: PhaseState
    """``open`` is the phase whose date has come and whose next phase has not."""


def phase_date(phase: CampPhase, starts_on: date, ends_on: date) -> date:
    """Offsets up to 0 count from the first day; positive ones from the last day."""
    anchor = starts_on if phase.offset_days <= 0 else ends_on
    return anchor + timedelta(days=phase.offset_days)


def timeline(phases: tuple[CampPhase, ...], starts_on: date, ends_on: date,
             today: date) -> list[TimelineEntry]:
    """Each phase with its date for a meeting from ``starts_on`` to ``ends_on``, seen on ``today``."""
    ordered = sorted(phases, key=lambda phase: phase.offset_days)
    dates = [phase_date(phase, starts_on, ends_on) for phase in ordered]
    entries = []
    for index, (phase, due_on) in enumerate(zip(ordered, dates, strict=True)):
        next_due = dates[index + 1] if index + 1 < len(dates) else None
        if today < due_on:
            state: PhaseState = "upcoming"
        elif next_due is None or today < next_due:
            state = "open"
        else:
            state = "past"
        entries.append(TimelineEntry(phase, due_on, state))
    return entries


def all_items(phases: tuple[CampPhase, ...]) -> list[CampItem]:
    return [item for phase in sorted(phases, key=lambda p: p.offset_days) for item in phase.items]


def items_due(phases: tuple[CampPhase, ...], starts_on: date, ends_on: date,
              today: date) -> list[CampItem]:
    """Items whose phase date has come (open or past)."""
    return [item for entry in timeline(phases, starts_on, ends_on, today) if entry.state != "upcoming"
            for item in entry.phase.items]


def describe_phase(phase: CampPhase) -> Say:
    """When a phase is due, in words: a repeating meeting-day phase is "each meeting day"."""
    return say("camp_when_each_meeting_day") if phase.every_meeting_day else describe_offset(phase.offset_days)


def describe_offset(offset_days: int) -> Say:
    """``-14`` → "2 weeks before", ``0`` → "first day", ``1`` → "the day after it ends" (the words are
    ``camp_when_*`` in ``prompts/words.yaml``)."""
    if offset_days == 0:
        return say("camp_when_first_day")
    if offset_days == -1:
        return say("camp_when_day_before")
    if offset_days == 1:
        return say("camp_when_day_after")
    span, before = abs(offset_days), offset_days < 0
    if span % 7:
        return say("camp_when_days_before", n=span) if before else say("camp_when_days_after", n=span)
    if span == 7:
        return say("camp_when_week_before", n=1) if before else say("camp_when_week_after", n=1)
    return say("camp_when_weeks_before", n=span // 7) if before else say("camp_when_weeks_after", n=span // 7)
