"""Numbers marketing can trust: each number defined once (bot/core/numbers.py, README "Numbers"),
the hospital line the sum of its departments, and a change nobody made shows no change."""
from __future__ import annotations

import random
from datetime import timedelta

from bot.core.digest import SELF_REPORTED_HEADLINES as HEADLINES
from bot.core.numbers import Marks, changes, marks_of
from bot.core.readiness import CampProgress, PhysicianProgress, assess
from bot.core.reports import RosterRow, hospital_report
from bot.core.roster_csv import parse_roster
from bot.roster import import_roster
from conftest import NEUROLOGIST_EMAIL, NOW, ONCOLOGIST_EMAIL, WORDS, Chat


def one(replies):
    [reply] = replies
    return reply


async def seed(chat: Chat, admin_chat: Chat) -> None:
    """Jane (Cardiology) sets up a profile and follows; Lena (Neurology) goes to a meeting this week."""
    await chat.say("profile @JaneRiveraMD")
    await chat.press("profile:photo")
    await chat.press("follow:done")
    await chat.press("quiz:why-show-up:2")
    added = one(await admin_chat.say(f"meetings add name=\"Neuro Day 2026\" start=2026-03-04 end=2026-03-06 attendees={NEUROLOGIST_EMAIL}"))
    assert "Neuro Day 2026" in added.body, added.body
    lena = Chat(chat.coach, NEUROLOGIST_EMAIL)
    await lena.press(one(await lena.say("camp")).checklist.items[0].action)


def columns(reply, name):
    index = reply.table.headers.index(name)
    return {row[0]: row[index] for row in reply.table.rows}


async def test_a_change_nobody_made_shows_no_change(coach, clock, store, chat, admin_chat):
    """As found: the headlines said +0 while departments nobody touched moved, and a meeting invitation
    made two departments drop. Last week's digest is stored; this week marketing invites Oncology and
    Neurology to a meeting, a roster import brings two new cardiologists, Lena's meeting ended, and
    no physician did anything."""
    await seed(chat, admin_chat)
    assert await coach.save_weekly_snapshot(clock.now())
    last_week = one(await admin_chat.say("digest"))
    clock.advance(timedelta(days=7))
    await admin_chat.say("meetings add asco 2026-03-27 attendees=Oncology,Neurology")
    roster = (b"name,email,department\n"
              b"Dr. New One,new.one@riverside.example,Cardiology\n"
              b"Dr. New Two,new.two@riverside.example,Cardiology\n")
    summary = await import_roster(store, parse_roster(roster, "new.csv", WORDS), clock.now())
    assert summary.added == 2

    digest = one(await admin_chat.say("digest"))
    assert "2026-W11" in digest.title
    for headline in ("Have a professional profile (self-reported)", "Follow the hospital (self-reported)",
                     "Followed back (self-reported)", "Finished the core lessons (done in the bot)"):
        assert f"- {headline}: " in digest.body
    assert digest.body.count("+0 pts since last week") == 8  # and four verified rows
    assert "Changes compare the same 3 physicians both weeks; 2 new on the roster since last week count " \
           "from next week." in digest.body
    for column in ("X profile change, pts", "Bluesky profile change, pts", "Score change"):
        assert columns(digest, column) == {
            "Cardiology": "+0", "Neurology": "+0", "Oncology": "+0", "Riverside University Hospital": "+0"}
    assert columns(digest, "Score change") == {
        "Cardiology": "+0", "Neurology": "+0", "Oncology": "+0", "Riverside University Hospital": "+0"}
    # The invited departments' readiness did not drop, nor did Lena's rise when her meeting ended.
    before, after = columns(last_week, "Avg score"), columns(digest, "Avg score")
    assert (after["Oncology"], after["Neurology"]) == (before["Oncology"], before["Neurology"])
    # Levels count everyone active now: the two new cardiologists have no profile yet.
    assert columns(digest, "Profile (self-reported)")["Cardiology"] == "33%"
    assert columns(last_week, "Profile (self-reported)")["Cardiology"] == "100%"


async def test_a_change_somebody_made_shows_in_their_department_and_the_hospital(coach, clock, chat, admin_chat):
    await seed(chat, admin_chat)
    assert await coach.save_weekly_snapshot(clock.now())
    clock.advance(timedelta(days=7))
    omar = Chat(coach, ONCOLOGIST_EMAIL)
    await omar.press("follow:done")
    digest = one(await admin_chat.say("digest"))
    assert "- Follow the hospital (self-reported): 2 (67%, +33 pts since last week)" in digest.body
    assert "- Have a professional profile (self-reported): 2 (67%, +0 pts since last week)" in digest.body
    score = columns(digest, "Score change")
    assert score["Cardiology"] == score["Neurology"] == "+0"
    assert score["Oncology"] == "+17"  # 20/85 of 100 → 24, then 35/85 → 41
    assert score["Riverside University Hospital"] == "+6"  # 17 points over 3 physicians


def progress(rng: random.Random) -> PhysicianProgress:
    camp = CampProgress("ASCO", rng.randint(0, 31), 31) if rng.random() < 0.3 else None
    has_handle = rng.random() < 0.6
    return PhysicianProgress(has_handle=has_handle, profile_done=rng.randint(0, 5), profile_total=5,
                             follows_hospital=rng.random() < 0.4, followed_back=rng.random() < 0.2,
                             core_done=rng.randint(0, 8), core_total=8, camp=camp, video_posted=rng.random() < 0.1)


def test_the_hospital_line_is_the_weighted_sum_of_its_departments():
    rng = random.Random(18)
    departments = ["Cardiology", "Oncology", "Neurology", "Radiology", "Pediatrics"]
    rows = [RosterRow(i, f"Dr. {i}", f"{i}@x.example", rng.choice(departments), None, progress(rng))
            for i in range(1, 400)]
    report = hospital_report("Riverside", rows)
    o, parts = report.overall, report.departments
    for field in ("physicians", "with_profile", "profile_complete", "following", "followed_back",
                  "core_lessons_done", "camp_registered", "camp_done", "score_total"):
        assert getattr(o, field) == sum(getattr(a, field) for a in parts), field
    # Shares: the hospital's is the departments' weighted by their size (exact in counts, ±0.5 shown).
    for key in (m.key for m in HEADLINES):
        weighted = sum(a.physicians * getattr(a, key) / a.physicians for a in parts) / o.physicians
        assert abs(o.pct(getattr(o, key)) - 100 * weighted) <= 0.5
    # Changes: last week's marks of most of them (some are new), the same physicians both weeks.
    before = {row.physician_id: Marks(frozenset(k for k in (m.key for m in HEADLINES) if rng.random() < 0.4),
                                      rng.randint(0, 100)) for row in rows if rng.random() < 0.9}
    now = {row.physician_id: (row.department, marks_of(row.progress)) for row in rows}
    week = changes(now, before, (m.key for m in HEADLINES))
    assert week.joined == len(rows) - len(before)
    for key in (*(m.key for m in HEADLINES), "score"):
        hospital = week.hospital[key]
        for part in ("cohort", "before", "after"):
            assert getattr(hospital, part) == sum(getattr(week.departments[d][key], part) for d in departments)
        weighted = sum(week.departments[d][key].cohort * week.departments[d][key].delta / week.departments[d][key].cohort
                       for d in departments) / hospital.cohort
        assert abs(hospital.pts - 100 * weighted) <= 0.5


def test_a_meeting_invitation_or_its_end_leaves_the_score_alone():
    base = PhysicianProgress(has_handle=True, profile_done=2, profile_total=4, follows_hospital=True,
                             followed_back=False, core_done=3, core_total=8, camp=None)
    invited = PhysicianProgress(**{**base.__dict__, "camp": CampProgress("ASCO", 0, 31)})
    halfway = PhysicianProgress(**{**base.__dict__, "camp": CampProgress("ASCO", 15, 31)})
    assert assess(base).score == assess(invited).score == assess(halfway).score
    assert marks_of(base) == marks_of(invited)


def test_changes_without_the_same_physicians_are_zero():
    now = {1: ("Cardiology", Marks(frozenset({"with_profile"}), 40))}
    week = changes(now, {}, ["with_profile"])
    assert week.joined == 1
    assert week.hospital["with_profile"].cohort == 0 and week.hospital["with_profile"].pts == 0
    assert week.of("Cardiology", "with_profile") == week.hospital["with_profile"]
    assert NOW.weekday() == 0
