"""The content library's store on both backends: the embargo holds in every read, a later lift cancels what
was planned, and what each physician did with a story is remembered."""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.core.library import Audience, Story
from bot.core.models import Meeting, NewMessage
from conftest import NEUROLOGIST_EMAIL, NOW, ONCOLOGIST_EMAIL, PHYSICIAN_EMAIL

LIFT = NOW + timedelta(hours=2)
SECOND = timedelta(seconds=1)


CARDIOLOGY = Audience(departments=("Cardiology",))


def story(key: str = "heart-week", audience: Audience = CARDIOLOGY, **changes) -> Story:
    values = dict(key=key, title="Riverside opens a heart failure clinic",
                  link="https://riverside.example/news/heart-clinic",
                  posts={"x": "Our new heart failure clinic opens today.", "linkedin": "Proud of the team."},
                  audience=audience, lifts_at=LIFT, lift_zone="America/New_York")
    values.update(changes)
    return Story(**values)


async def test_nothing_embargoed_is_returned_to_physicians_one_second_before_the_lift(store, people):
    [saved] = await store.library.save([story()], NOW)
    cardiologist = people[PHYSICIAN_EMAIL].id
    before = LIFT - SECOND
    assert await store.library.get("heart-week", before, admin=False) is None
    assert await store.library.get(str(saved.id), before, admin=False) is None
    assert await store.library.listing(before, admin=False) == []
    assert await store.library.search("heart", before, admin=False) == []
    assert await store.library.for_person(cardiologist, before) == []
    inputs = await store.planning.inputs([cardiologist], before, ())
    assert inputs.stories == {} and inputs.next_lift == LIFT
    # Admins see it before the lift (with the instant it lifts, for a countdown).
    shown = await store.library.get("heart-week", before, admin=True)
    assert shown is not None and shown.lifts_at == LIFT and shown.countdown(before) == SECOND
    assert [s.key for s in await store.library.listing(before, admin=True)] == ["heart-week"]
    assert [s.key for s in await store.library.search("HEART", before, admin=True)] == ["heart-week"]
    # At the lift, everyone sees it, and planning offers it to its audience only.
    assert (await store.library.get("heart-week", LIFT, admin=False)) == saved
    assert [s.key for s in await store.library.for_person(cardiologist, LIFT)] == ["heart-week"]
    assert await store.library.for_person(people[ONCOLOGIST_EMAIL].id, LIFT) == []
    inputs = await store.planning.inputs(sorted(p.id for p in people.values()), LIFT, ())
    assert inputs.stories == {cardiologist: ((saved.id, int(LIFT.timestamp())),)} and inputs.next_lift is None


async def test_expired_stories_are_offered_to_nobody(store, people):
    await store.library.save([story(expires_at=LIFT + timedelta(days=1))], NOW)
    after = LIFT + timedelta(days=1)
    assert await store.library.listing(after, admin=True) == []
    assert await store.library.for_person(people[PHYSICIAN_EMAIL].id, after) == []
    assert (await store.planning.inputs([people[PHYSICIAN_EMAIL].id], after, ())).stories == {}


async def test_audience_by_specialty_meeting_and_everyone(store, people, clock):
    meeting = await store.meetings.add(Meeting(0, "asco-2026", "ASCO 2026", "Oncology", date(2026, 5, 29),
                                               date(2026, 6, 2), "Chicago", "#ASCO26", ""), NOW)
    await store.meetings.set_attending(people[NEUROLOGIST_EMAIL].id, meeting.id, True, NOW)
    await store.library.save([story("by-specialty", Audience(specialties=("medical oncologist",))),
                              story("by-meeting", Audience(meetings=("asco-2026",))),
                              story("for-all", Audience(everyone=True))], NOW)
    assert {p.email: [s.key for s in await store.library.for_person(p.id, LIFT)] for p in people.values()} == {
        "maria.lopez@riverside.example": ["for-all"],
        PHYSICIAN_EMAIL: ["for-all"],
        ONCOLOGIST_EMAIL: ["by-specialty", "for-all"],
        NEUROLOGIST_EMAIL: ["by-meeting", "for-all"],
    }
    assert await store.library.unknown_meetings(["asco-2026", "esc-2031"]) == ["esc-2031"]


async def test_saving_again_replaces_by_key_and_a_later_lift_cancels_what_was_planned(store, people):
    [first] = await store.library.save([story()], NOW)
    pid = people[PHYSICIAN_EMAIL].id
    planned = NewMessage(f"{pid}:story:{first.id}:{int(LIFT.timestamp())}", pid, "web", PHYSICIAN_EMAIL, "story",
                         {"story": first.id}, LIFT)
    assert await store.outbox.add([planned], LIFT) == 1
    assert (await store.planning.inputs([pid], LIFT, ())).stories == {}  # planned once: not again
    later = LIFT + timedelta(days=1)
    [moved] = await store.library.save([story(title="New title", lifts_at=later)], LIFT)
    assert moved.id == first.id and moved.created_at == NOW
    assert [m.status for m in await store.outbox.list(["cancelled"])] == ["cancelled"]
    assert await store.library.get("heart-week", LIFT, admin=False) is None  # embargoed again
    assert (await store.planning.inputs([pid], later, ())).stories == {pid: ((first.id, int(later.timestamp())),)}
    # Moving it earlier (or keeping it) cancels nothing.
    await store.outbox.add([NewMessage(f"{pid}:story:{first.id}:{int(later.timestamp())}", pid, "web",
                                       PHYSICIAN_EMAIL, "story", {"story": first.id}, later)], later)
    await store.library.save([story(lifts_at=later)], later)
    assert len(await store.outbox.list(["pending"])) == 1


async def test_what_a_physician_did_is_remembered_once_and_not_for_me_is_kept(store, people):
    [saved] = await store.library.save([story()], NOW)
    pid = people[PHYSICIAN_EMAIL].id
    assert await store.library.mark(saved.id, pid, "offered", LIFT) is True
    assert await store.library.mark(saved.id, pid, "offered", LIFT + SECOND) is False
    assert (await store.library.state(saved.id, pid)).offered_at == LIFT
    assert [s.key for s in await store.library.for_person(pid, LIFT)] == ["heart-week"]  # offered: still to share
    assert await store.library.mark(saved.id, pid, "declined", LIFT) is True
    assert await store.library.for_person(pid, LIFT) == []
    assert (await store.planning.inputs([pid], LIFT, ())).stories == {}
    # Saving the story again does not bring it back.
    await store.library.save([story(title="Updated")], LIFT)
    assert await store.library.for_person(pid, LIFT) == []
    [tally] = await store.library.tallies()
    assert (tally.offered, tally.tapped, tally.shared, tally.declined) == (1, 0, 0, 1)
    assert tally.by_department == {"Cardiology": (1, 0, 0, 1)}


async def test_stories_by_lift_are_selected_at_the_bounds_in_lift_order(store, people):
    """``by_lift``: the lift at ``since`` is in, the lift at ``before`` is out, the embargo holds at ``now``
    (a lift at ``now`` is in), expired stories are in; soonest lift first, then the oldest story. The
    same stories, in the same order, as filtering every story the caller may see."""
    micro = timedelta(microseconds=1)
    start = NOW.astimezone(ZoneInfo("America/New_York"))  # bounds in any zone compare as instants
    end = start + timedelta(days=7)
    tie = start + timedelta(days=1)
    lifts = [("tie-b", tie), ("before-start", start - micro), ("at-start", start), ("tie-a", tie),
             ("last", end - micro), ("at-end", end), ("later", end + timedelta(days=1))]
    await store.library.save([story(key, lifts_at=lift, expires_at=lift + timedelta(hours=1) if key == "at-start"
                                    else None) for key, lift in lifts], NOW - timedelta(days=1))

    async def keys(now, *, admin=False, **bounds) -> list[str]:
        return [s.key for s in await store.library.by_lift(now, admin=admin, **bounds)]

    assert await keys(end, since=start, before=end) == ["at-start", "tie-b", "tie-a", "last"]
    assert await keys(end - micro, since=start, before=end) == ["at-start", "tie-b", "tie-a", "last"]
    assert await keys(end - 2 * micro, since=start, before=end) == ["at-start", "tie-b", "tie-a"]
    assert await keys(tie, since=start, before=end) == ["at-start", "tie-b", "tie-a"], "a lift at now is in"
    assert await keys(tie - micro, since=start, before=end) == ["at-start"], "expired, still in"
    assert await keys(start - micro, since=start, before=end) == []
    assert await keys(start - micro, admin=True, since=start, before=end) == ["at-start", "tie-b", "tie-a", "last"]
    assert await keys(NOW, admin=True, since=end) == ["at-end", "later"]
    assert await keys(NOW, admin=True, before=start) == ["before-start"]
    everything = ["before-start", "at-start", "tie-b", "tie-a", "last", "at-end", "later"]
    assert await keys(NOW, admin=True) == everything
    for now in (start - micro, start, tie - micro, tie, end - micro, end, end + timedelta(days=2)):
        for admin in (False, True):
            every = await store.library.search("", now, admin=admin)
            assert await store.library.by_lift(now, admin=admin) == every
            assert await store.library.by_lift(now, admin=admin, since=start, before=end) == \
                [s for s in every if start <= s.lifts_at < end]
