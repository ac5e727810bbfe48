"""The reminder policy over simulated weeks: time zones, DST, quiet hours, snooze, stop, caps."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.models import CampItem, CampPhase, Meeting
from bot.core.reminders import (
    NUDGE_PRIORITY,
    Cadence,
    Kind,
    Planned,
    Planner,
    PlanState,
    Respect,
    _at_local,
    escalation_step,
    local_today,
    may_send,
    next_check,
    plan,
)
from bot.core.tweetcamp import timeline

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


def reference_plan(state: PlanState, cadence: Cadence, phases: tuple[CampPhase, ...], now: datetime) -> list[Planned]:
    """The policy as written before physicians were planned in batches, one at a time: the planner must
    give exactly this."""
    respect = state.respect
    if not may_send(respect, now):
        return []
    zone = respect.zone
    today = local_today(now, zone)
    pid = state.person_id
    morning = _at_local(today, cadence.lesson_time, zone)
    candidates: dict[Kind, Planned] = {}

    step = escalation_step(state.joined_at, now, zone)
    if step is not None and not (state.has_handle and state.profile_complete):
        candidates["profile"] = Planned(pid, "profile", f"{pid}:profile:{step}", now, {"step": step})
    if step is not None and state.has_handle and not state.follows_hospital:
        candidates["follow"] = Planned(pid, "follow", f"{pid}:follow:{step}", now, {"step": step})
    if state.next_lesson and today.weekday() in cadence.lesson_weekdays and now >= morning:
        candidates["lesson"] = Planned(pid, "lesson", f"{pid}:lesson:{today.isoformat()}", morning,
                                       {"lesson": state.next_lesson})
    if state.reviews_due:
        lesson_id, attempts = state.reviews_due[0]
        candidates["review"] = Planned(pid, "review", f"{pid}:review:{lesson_id}:{attempts}", now,
                                       {"lesson": lesson_id})

    if state.stories:
        story_id, lift = state.stories[0]
        candidates["story"] = Planned(pid, "story", f"{pid}:story:{story_id}:{lift}", now, {"story": story_id})

    room = max(0, cadence.max_nudges_per_day - state.nudges_today)
    chosen = [candidates[kind] for kind in NUDGE_PRIORITY if kind in candidates][:room]
    for meeting in state.meetings:
        for entry in timeline(phases, meeting.starts_on, meeting.ends_on, today):
            if entry.state != "open":
                continue
            if entry.phase.every_meeting_day:  # late-breakers run all week: a reminder each meeting day
                if meeting.starts_on <= today <= meeting.ends_on and now >= morning:
                    day = (today - meeting.starts_on).days + 1
                    chosen.append(Planned(pid, "camp", f"{pid}:camp:{meeting.id}:{entry.phase.id}:{today.isoformat()}",
                                          now, {"meeting": meeting.id, "phase": entry.phase.id, "day": day}))
            elif now >= min(morning, _at_local(entry.due_on, cadence.lesson_time, zone)):
                chosen.append(Planned(pid, "camp", f"{pid}:camp:{meeting.id}:{entry.phase.id}",
                                      now, {"meeting": meeting.id, "phase": entry.phase.id}))
    return chosen



def _random_states(rng: random.Random, now: datetime, count: int) -> list[PlanState]:
    """Physicians drawn from few values of every planning input, so many share all of them."""
    zones = [ZoneInfo(z) for z in ("America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Adelaide")]
    quiet = [(time(19, 0), time(8, 0)), (time(12, 0), time(13, 30)), (time(0, 0), time(0, 0)), (time(9, 0), time(17, 0))]
    meetings = [Meeting(m, f"m{m}", f"M{m}", "Oncology", now.date() + timedelta(days=start),
                        now.date() + timedelta(days=start + 3), "Chicago", "#M", "")
                for m, start in ((1, -2), (2, 1), (3, 14), (4, -5))]
    lessons = ["why-show-up", "twelve-word-rule", None]
    next_lift = rng.choice((None, now + timedelta(minutes=rng.choice((3, 500, 3000)))))  # one for everyone
    states = []
    for pid in range(1, count + 1):
        zone = rng.choice(zones)
        start, end = rng.choice(quiet)
        snooze = rng.choice([None] * 8 + [now + timedelta(hours=rng.choice((-3, 2, 30, 200)))])
        review_in = rng.choice([None, None, 1, 5, 11, 13, 30, 60 * 24 * 3, 60 * 24 * 12])
        states.append(PlanState(
            person_id=pid,
            joined_at=now - timedelta(days=rng.choice((0, 1, 2, 3, 6, 7, 13, 14, 15, 44, 45, 200)),
                                      minutes=rng.choice((0, 17, 600, 1439))),
            respect=Respect(zone, quiet_start=start, quiet_end=end, weekends_off=rng.random() < 0.7,
                            snoozed_until=snooze, stopped=rng.random() < 0.03),
            has_handle=rng.random() < 0.6, profile_complete=rng.random() < 0.5,
            follows_hospital=rng.random() < 0.5, next_lesson=rng.choice(lessons),
            reviews_due=rng.choice(((), (), (("why-show-up", 1),), (("disclosures", 2), ("why-show-up", 1)))),
            next_review_at=None if review_in is None else now + timedelta(minutes=review_in),
            meetings=tuple(rng.sample(meetings, rng.choice((0, 0, 0, 1, 2)))),
            nudges_today=rng.choice((0, 0, 0, 1)),
            stories=rng.choice(((), (), ((4, 1772000000),), ((4, 1772000000), (9, 1772100000)))),
            next_story_at=next_lift,
        ))
    return states


@pytest.mark.parametrize("now", [
    datetime(2026, 3, 3, 13, 45, tzinfo=UTC),   # a Tuesday morning in New York (lesson day)
    datetime(2026, 3, 8, 6, 30, tzinfo=UTC),    # New York springs forward that night
    datetime(2026, 3, 28, 23, 59, tzinfo=UTC),  # London springs forward the next night; a Saturday
    datetime(2026, 4, 4, 16, 0, tzinfo=UTC),    # Adelaide falls back that night
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),   # New York falls back (its repeated hour)
])
def test_the_planner_plans_each_physician_as_plan_and_next_check_do(now: datetime) -> None:
    """Batch planning (physicians with identical inputs planned once) is exact: for every physician
    the planner gives what ``plan`` and ``next_check`` give for them alone."""
    rng = random.Random(now.timestamp())
    states = _random_states(rng, now, 1500)
    cadences = (Cadence(), Cadence(lesson_time=time(7, 15)), Cadence(lesson_weekdays=(0, 1, 2, 3, 4), max_nudges_per_day=2))
    planner = Planner(PHASES, now)
    shared = 0
    for s in states:
        cadence = cadences[s.person_id % len(cadences)]
        expected = reference_plan(s, cadence, PHASES, now)
        assert planner.plan(s, cadence) == expected, s
        assert plan(s, cadence, PHASES, now) == expected, s
        assert planner.next_check(s, cadence) == next_check(s, cadence, now), s
        shared += bool(expected)
    assert shared > 100  # the draw plans something for many physicians


def test_physicians_with_identical_inputs_share_a_plan_and_no_one_else_is_swept_in() -> None:
    now = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # Tuesday 09:00 in New York: a lesson day
    planner = Planner(PHASES, now)
    first = state(joined_at=now - timedelta(days=3, hours=2), next_lesson="why-show-up", reviews_due=(("disclosures", 1),))
    twin = replace(first, person_id=8, joined_at=now - timedelta(days=4))  # the same escalation step
    assert [p.dedup_key for p in planner.plan(first, Cadence(max_nudges_per_day=3))] == [
        "7:review:disclosures:1", "7:lesson:2026-03-03", "7:profile:1"]
    twin_plan = planner.plan(twin, Cadence(max_nudges_per_day=3))
    assert [(p.person_id, p.dedup_key) for p in twin_plan] == [
        (8, "8:review:disclosures:1"), (8, "8:lesson:2026-03-03"), (8, "8:profile:1")]
    assert twin_plan == plan(twin, Cadence(max_nudges_per_day=3), PHASES, now)
    others = [
        replace(twin, joined_at=now - timedelta(days=7)),  # the next escalation step
        replace(twin, next_lesson="disclosures"),
        replace(twin, reviews_due=(("why-show-up", 2),)),
        replace(twin, has_handle=True, profile_complete=True),
        replace(twin, nudges_today=1),
        replace(twin, stories=((4, 1772000000),)),
        replace(twin, respect=Respect(ZoneInfo("Asia/Kolkata"))),  # 19:30 there: quiet hours
        replace(twin, respect=Respect(NY, snoozed_until=now + timedelta(hours=1))),
        replace(twin, meetings=(Meeting(3, "asco", "ASCO", "Oncology", date(2026, 3, 3), date(2026, 3, 5), "Chicago",
                                        "#ASCO", ""),)),
    ]
    for other in others:
        assert planner.plan(other, Cadence(max_nudges_per_day=3)) == plan(other, Cadence(max_nudges_per_day=3), PHASES, now)
        assert planner.plan(other, Cadence(max_nudges_per_day=3)) != twin_plan
    assert planner.plan(twin, Cadence(max_nudges_per_day=3, lesson_time=time(10, 0))) == [
        p for p in twin_plan if p.kind != "lesson"]  # before this cadence's lesson time
