"""The reminder policy over simulated weeks: time zones, DST, quiet hours, snooze, stop, caps."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.models import CampItem, CampPhase, Meeting
from bot.core.reminders import (
    Cadence,
    Planned,
    PlanState,
    Respect,
    escalation_step,
    local_today,
    may_send,
    next_check,
    plan,
)

NY = ZoneInfo("America/New_York")
PHASES = (
    CampPhase("t-14", -14, "Two weeks before", (CampItem("hashtag", "Confirm the hashtag", ""),)),
    CampPhase("t-1", -1, "The day before", (CampItem("pin", "Pin an intro post", ""),)),
    CampPhase("day-after", 1, "After the meeting", (CampItem("recap", "Post a recap", ""),)),
)


def state(zone: ZoneInfo = NY, **changes) -> PlanState:
    base = PlanState(person_id=7, joined_at=datetime(2026, 3, 2, 15, 0, tzinfo=UTC), respect=Respect(zone),
                     has_handle=False, profile_complete=False, follows_hospital=False, next_lesson="why-show-up")
    return replace(base, **changes)


DEFAULT_CADENCE = Cadence()


def simulate(start: datetime, days: int, make_state, cadence: Cadence = DEFAULT_CADENCE,
             step: timedelta = timedelta(minutes=15), phases: tuple[CampPhase, ...] = PHASES) -> list[Planned]:
    """Tick every ``step`` like the scheduler, with an outbox that keeps each key once.

    Runs twice: planning the physician at every tick, and planning them only when their state
    changed or ``next_check`` said so (as the scheduler does); both must plan the same.
    """
    every_tick = _simulate(start, days, make_state, cadence, step, wake_up=False, phases=phases)
    assert _simulate(start, days, make_state, cadence, step, wake_up=True, phases=phases) == every_tick
    return every_tick


def _simulate(start: datetime, days: int, make_state, cadence: Cadence, step: timedelta,
              wake_up: bool, phases: tuple[CampPhase, ...] = PHASES) -> list[Planned]:
    outbox: dict[str, Planned] = {}
    now = start
    planned_state, wake = None, start
    while now < start + timedelta(days=days):
        current = make_state(now)
        stored = replace(current, reviews_due=(), next_review_at=None)  # these follow from the clock
        if not wake_up or stored != planned_state or (wake is not None and now >= wake):
            zone = current.respect.zone
            today = local_today(now, zone)
            capped = sum(1 for p in outbox.values() if p.kind != "camp" and local_today(p.due_at, zone) == today)
            for planned in plan(replace(current, nudges_today=capped), cadence, phases, now):
                outbox.setdefault(planned.dedup_key, replace(planned, due_at=now))
            planned_state, wake = stored, next_check(current, cadence, now)
            assert wake is None or wake > now
        now += step
    return sorted(outbox.values(), key=lambda p: p.due_at)


def test_quiet_hours_wrap_midnight_and_weekends() -> None:
    respect = Respect(NY)
    assert may_send(respect, datetime(2026, 3, 4, 13, 0, tzinfo=UTC))      # Wed 08:00 local
    assert not may_send(respect, datetime(2026, 3, 4, 12, 59, tzinfo=UTC))  # Wed 07:59
    assert not may_send(respect, datetime(2026, 3, 5, 0, 0, tzinfo=UTC))    # Wed 19:00
    assert not may_send(respect, datetime(2026, 3, 7, 16, 0, tzinfo=UTC))   # Saturday 11:00
    assert may_send(replace(respect, weekends_off=False), datetime(2026, 3, 7, 16, 0, tzinfo=UTC))
    daytime_quiet = Respect(NY, quiet_start=time(12, 0), quiet_end=time(13, 0))
    assert not may_send(daytime_quiet, datetime(2026, 3, 4, 17, 30, tzinfo=UTC))  # 12:30
    assert may_send(daytime_quiet, datetime(2026, 3, 4, 18, 0, tzinfo=UTC))       # 13:00


def test_snooze_and_stop_silence_everything() -> None:
    now = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    snoozed = state(respect=Respect(NY, snoozed_until=now + timedelta(hours=1)))
    assert plan(snoozed, Cadence(), PHASES, now) == []
    assert plan(snoozed, Cadence(), PHASES, now + timedelta(hours=1)) != []
    assert plan(state(respect=Respect(NY, stopped=True)), Cadence(), PHASES, now) == []


def test_escalation_steps_day_0_3_7_14_then_monthly() -> None:
    joined = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    steps = [escalation_step(joined, joined + timedelta(days=d), NY) for d in (0, 2, 3, 6, 7, 13, 14, 43, 44, 74)]
    assert steps == [0, 0, 1, 1, 2, 2, 3, 3, 4, 5]
    assert escalation_step(joined, joined - timedelta(days=1), NY) is None


def test_profile_nudges_escalate_then_go_monthly() -> None:
    start = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # Monday; the physician joined that day
    make = lambda now: state(next_lesson=None, follows_hospital=True)  # noqa: E731
    sent = simulate(start, 80, make)
    assert [p.dedup_key for p in sent] == [f"7:profile:{n}" for n in range(6)]
    # day 0, 3, 7, 14, 44, 74 in New York, each at the first minute out of quiet hours
    assert [p.due_at.astimezone(NY).strftime("%a %d %b %H:%M") for p in sent] == [
        "Mon 02 Mar 08:00", "Thu 05 Mar 08:00", "Mon 09 Mar 08:00", "Mon 16 Mar 08:00",
        "Wed 15 Apr 08:00", "Fri 15 May 08:00"]


def test_profile_nudges_stop_once_the_profile_is_done() -> None:
    start = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    done_at = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

    def make(now: datetime) -> PlanState:
        return state(next_lesson=None, has_handle=now >= done_at, profile_complete=now >= done_at,
                     follows_hospital=True)

    assert [p.dedup_key for p in simulate(start, 80, make)] == ["7:profile:0", "7:profile:1", "7:profile:2"]


def test_follow_nudges_start_after_the_handle_is_registered() -> None:
    start = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    make = lambda now: state(next_lesson=None, has_handle=True, profile_complete=True)  # noqa: E731
    sent = simulate(start, 15, make)
    assert [p.dedup_key for p in sent] == ["7:follow:0", "7:follow:1", "7:follow:2", "7:follow:3"]


def test_lesson_drip_two_a_week_in_local_morning_across_dst() -> None:
    # US DST starts Sun 8 Mar 2026: 08:30 local is 13:30 UTC before and 12:30 UTC after.
    start = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    make = lambda now: state(has_handle=True, profile_complete=True, follows_hospital=True)  # noqa: E731
    sent = simulate(start, 21, make)
    lessons = [p for p in sent if p.kind == "lesson"]
    assert [p.due_at.astimezone(NY).strftime("%a %d %H:%M") for p in lessons] == [
        "Tue 03 08:30", "Thu 05 08:30", "Tue 10 08:30", "Thu 12 08:30", "Tue 17 08:30", "Thu 19 08:30"]
    assert [p.due_at.astimezone(UTC).hour for p in lessons] == [13, 13, 12, 12, 12, 12]


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Europe/London", "America/Los_Angeles", "Australia/Sydney"])
def test_lessons_follow_each_physicians_zone(zone: str) -> None:
    tz = ZoneInfo(zone)
    make = lambda now: state(zone=tz, has_handle=True, profile_complete=True, follows_hospital=True)  # noqa: E731
    sent = simulate(datetime(2026, 3, 23, 0, 0, tzinfo=UTC), 14, make)
    lessons = [p.due_at.astimezone(tz) for p in sent if p.kind == "lesson"]
    assert len(lessons) == 4
    assert {(t.strftime("%a"), t.hour, t.minute) for t in lessons} == {("Tue", 8, 30), ("Thu", 8, 30)}


def test_europe_dst_autumn_change_does_not_double_or_skip() -> None:
    # EU DST ends Sun 25 Oct 2026; Tue 27 Oct 08:30 London is 08:30 UTC, Thu 22 Oct is 07:30 UTC.
    london = ZoneInfo("Europe/London")
    make = lambda now: state(zone=london, has_handle=True, profile_complete=True, follows_hospital=True)  # noqa: E731
    sent = simulate(datetime(2026, 10, 19, 0, 0, tzinfo=UTC), 14, make, step=timedelta(minutes=10))
    lessons = [p for p in sent if p.kind == "lesson"]
    assert [p.dedup_key.split(":")[-1] for p in lessons] == ["2026-10-20", "2026-10-22", "2026-10-27", "2026-10-29"]
    assert [p.due_at.hour for p in lessons] == [7, 7, 8, 8]


def test_daily_cap_counts_nudges_not_meeting_countdowns() -> None:
    meeting = Meeting(3, "asco-2026", "ASCO 2026", "Oncology", date(2026, 3, 19), date(2026, 3, 21), "Chicago", "#ASCO26", "")
    now = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)  # Thu 09:00 NY, a lesson day and profile step 1, T-14
    busy = state(reviews_due=(("twelve-word-rule", 1),), meetings=(meeting,))
    kinds = [p.kind for p in plan(busy, Cadence(), PHASES, now)]
    assert kinds == ["review", "camp"]
    assert [p.kind for p in plan(busy, Cadence(max_nudges_per_day=3), PHASES, now)] == ["review", "lesson", "profile", "camp"]
    assert [p.kind for p in plan(replace(busy, nudges_today=1), Cadence(), PHASES, now)] == ["camp"]


def test_camp_countdown_sends_each_phase_once_on_its_day() -> None:
    meeting = Meeting(3, "asco-2026", "ASCO 2026", "Oncology", date(2026, 3, 30), date(2026, 4, 1), "Chicago", "#ASCO26", "")
    make = lambda now: state(next_lesson=None, has_handle=True, profile_complete=True,  # noqa: E731
                             follows_hospital=True, meetings=(meeting,),
                             respect=Respect(NY, weekends_off=False))
    sent = [p for p in simulate(datetime(2026, 3, 10, 0, 0, tzinfo=UTC), 30, make) if p.kind == "camp"]
    assert [(p.spec["phase"], p.due_at.astimezone(NY).strftime("%d %b %H:%M")) for p in sent] == [
        ("t-14", "16 Mar 08:30"), ("t-1", "29 Mar 08:30"), ("day-after", "02 Apr 08:30")]


def test_the_meeting_day_phase_reminds_on_every_day_of_a_five_day_meeting() -> None:
    daily = CampPhase("day-of", 0, "Each meeting day", (CampItem("lift", "Check lift times", ""),), every_meeting_day=True)
    phases = (PHASES[0], PHASES[1], daily, PHASES[2])
    meeting = Meeting(3, "aan-2026", "AAN 2026", "Neurology", date(2026, 3, 30), date(2026, 4, 3), "Chicago", "#AANAM", "")
    make = lambda now: state(next_lesson=None, has_handle=True, profile_complete=True,  # noqa: E731
                             follows_hospital=True, meetings=(meeting,), respect=Respect(NY, weekends_off=False))
    sent = [p for p in simulate(datetime(2026, 3, 10, 0, 0, tzinfo=UTC), 30, make, phases=phases) if p.kind == "camp"]
    assert [(p.spec["phase"], p.spec.get("day"), p.due_at.astimezone(NY).strftime("%d %b %H:%M")) for p in sent] == [
        ("t-14", None, "16 Mar 08:30"), ("t-1", None, "29 Mar 08:30"),
        ("day-of", 1, "30 Mar 08:30"), ("day-of", 2, "31 Mar 08:30"), ("day-of", 3, "01 Apr 08:30"),
        ("day-of", 4, "02 Apr 08:30"), ("day-of", 5, "03 Apr 08:30"), ("day-after", None, "04 Apr 08:30")]
    assert len({p.dedup_key for p in sent}) == len(sent)


def test_repeated_planning_yields_the_same_keys() -> None:
    now = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    first = plan(state(), Cadence(max_nudges_per_day=5), PHASES, now)
    later = plan(state(), Cadence(max_nudges_per_day=5), PHASES, now + timedelta(hours=3))
    assert {p.dedup_key for p in first} == {p.dedup_key for p in later} == {"7:lesson:2026-03-03", "7:profile:0"}


def test_clock_skew_backwards_replans_nothing_new() -> None:
    make = lambda now: state(has_handle=True, profile_complete=True, follows_hospital=True)  # noqa: E731
    forward = simulate(datetime(2026, 3, 3, 12, 0, tzinfo=UTC), 1, make)
    keys = {p.dedup_key for p in forward}
    skewed = plan(make(None), Cadence(), PHASES, datetime(2026, 3, 3, 13, 50, tzinfo=UTC))
    assert {p.dedup_key for p in skewed} <= keys


def test_spring_forward_gap_lesson_time_moves_to_a_real_instant() -> None:
    cadence = Cadence(lesson_weekdays=(6,), lesson_time=time(2, 30))  # Sunday 02:30 does not exist on 8 Mar
    respect = Respect(NY, quiet_start=time(23, 0), quiet_end=time(1, 0), weekends_off=False)
    now = datetime(2026, 3, 8, 8, 0, tzinfo=UTC)  # 04:00 EDT
    planned = plan(state(respect=respect, has_handle=True, profile_complete=True, follows_hospital=True),
                   cadence, PHASES, now)
    assert [p.due_at.astimezone(NY).strftime("%H:%M %Z") for p in planned] == ["03:30 EDT"]


# -- when to plan a physician again ------------------------------------------------------------------------------

def test_next_check_is_the_next_instant_plan_could_change() -> None:
    cadence = Cadence()
    wed_0900 = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # Wed 09:00 New York, messages allowed
    assert next_check(state(), cadence, wed_0900) == datetime(2026, 3, 5, 13, 0, tzinfo=UTC)  # Thu 08:00
    no_quiet_hours = state(respect=Respect(NY, quiet_start=time(0, 0), quiet_end=time(0, 0)))
    assert next_check(no_quiet_hours, cadence, wed_0900) == datetime(2026, 3, 5, 5, 0, tzinfo=UTC)  # Thu 00:00
    wed_0700 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # quiet until 08:00
    assert next_check(state(), cadence, wed_0700) == datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
    tue_0815 = datetime(2026, 3, 3, 13, 15, tzinfo=UTC)  # a lesson day, lesson time 08:30 still to come
    assert next_check(state(), cadence, tue_0815) == datetime(2026, 3, 3, 13, 30, tzinfo=UTC)
    review_at = datetime(2026, 3, 4, 16, 20, tzinfo=UTC)
    assert next_check(state(next_review_at=review_at), cadence, wed_0900) == review_at


def test_next_check_skips_to_when_messages_are_allowed_again() -> None:
    cadence = Cadence()
    friday_evening = datetime(2026, 3, 7, 0, 30, tzinfo=UTC)  # Fri 19:30 New York
    assert next_check(state(), cadence, friday_evening) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # Mon 08:00 EDT
    snoozed = state(respect=Respect(NY, snoozed_until=datetime(2026, 3, 11, 15, 7, tzinfo=UTC)))
    assert next_check(snoozed, cadence, datetime(2026, 3, 4, 14, 0, tzinfo=UTC)) == datetime(2026, 3, 11, 15, 7,
                                                                                              tzinfo=UTC)
    night_snooze = state(respect=Respect(NY, snoozed_until=datetime(2026, 3, 11, 3, 0, tzinfo=UTC)))  # 23:00
    assert next_check(night_snooze, cadence, datetime(2026, 3, 4, 14, 0, tzinfo=UTC)) == datetime(
        2026, 3, 11, 12, 0, tzinfo=UTC)
    assert next_check(state(respect=Respect(NY, stopped=True)), cadence, friday_evening) is None
    review_next_week = state(respect=Respect(NY, quiet_start=time(0, 0), quiet_end=time(0, 0)),
                             next_review_at=datetime(2026, 3, 12, 15, 0, tzinfo=UTC))
    assert next_check(review_next_week, cadence, datetime(2026, 3, 6, 15, 0, tzinfo=UTC)) == datetime(
        2026, 3, 9, 4, 0, tzinfo=UTC)  # Monday 00:00, not the review
    long_snooze = Respect(NY, snoozed_until=datetime(2026, 6, 1, tzinfo=UTC))  # beyond the week looked at
    assert next_check(state(respect=long_snooze), cadence, friday_evening) == datetime(2026, 6, 1, tzinfo=UTC)
    one_minute_a_day = Respect(NY, quiet_start=time(0, 0), quiet_end=time(23, 59))
    assert next_check(state(respect=one_minute_a_day), cadence, friday_evening) == datetime(2026, 3, 7, 4, 59,
                                                                                            tzinfo=UTC)  # Fri 23:59


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Adelaide"])
@pytest.mark.parametrize("quiet", [(time(19, 0), time(8, 0)), (time(12, 0), time(13, 30)), (time(0, 0), time(0, 0))])
def test_planning_only_when_due_plans_what_every_tick_would(zone: str, quiet: tuple[time, time]) -> None:
    """A physician whose state changes over six weeks across a DST change, with reviews, a meeting,
    a snooze and a cap: ``simulate`` checks that planning only at ``next_check`` (or on a change)
    plans exactly what planning at every tick does."""
    tz = ZoneInfo(zone)
    start = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    meeting = Meeting(3, "asco-2026", "ASCO 2026", "Oncology", date(2026, 3, 30), date(2026, 4, 1), "Chicago",
                      "#ASCO26", "")
    lessons = ["why-show-up", "twelve-word-rule", "patient-privacy", "disclosures", None]

    def make(now: datetime) -> PlanState:
        days = (now - start).days
        reviews = (("why-show-up", 1),) if datetime(2026, 3, 20, 17, 45, tzinfo=UTC) <= now < datetime(
            2026, 3, 23, 15, 0, tzinfo=UTC) else ()
        return state(
            zone=tz, joined_at=start + timedelta(hours=3),
            respect=Respect(tz, quiet_start=quiet[0], quiet_end=quiet[1], weekends_off=days < 21,
                            snoozed_until=datetime(2026, 3, 12, 9, 15, tzinfo=UTC)),
            has_handle=days >= 5, profile_complete=days >= 12, follows_hospital=days >= 30,
            next_lesson=lessons[min(days // 9, 4)], reviews_due=reviews,
            next_review_at=None if reviews or now >= datetime(2026, 3, 20, 17, 45, tzinfo=UTC)
            else datetime(2026, 3, 20, 17, 45, tzinfo=UTC),
            meetings=(meeting,) if days >= 10 else ())

    sent = simulate(start, 42, make, Cadence(lesson_time=time(8, 45)))
    assert {p.kind for p in sent} == {"profile", "follow", "lesson", "review", "camp"}
